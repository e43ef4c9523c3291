//! `conduit tools call`: progress on stderr and Ctrl-C cancellation, against the test gateway.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use conduit_testkit::{EraSupport, GatewayConfig, ResponseMode, TestGateway};
use serde_json::Value;

fn conduit() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_conduit"));
    cmd.env_remove("CONDUIT_URL").env_remove("CONDUIT_TOKEN");
    cmd
}

#[tokio::test]
async fn json_progress_lines_on_stderr_in_both_eras() {
    for era in [EraSupport::Both, EraSupport::StatefulOnly] {
        let gw = TestGateway::start(
            GatewayConfig::default()
                .era(era)
                .response_mode(ResponseMode::Sse),
        )
        .await
        .unwrap();
        let url = gw.url();
        let out = tokio::task::spawn_blocking(move || {
            conduit()
                .args([
                    "--url",
                    &url,
                    "--json",
                    "tools",
                    "call",
                    "slow",
                    "--args",
                    r#"{"steps":3,"delay_ms":100}"#,
                ])
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{era:?}: {stderr}");
        let result: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
        assert_eq!(result["content"][0]["text"], "done", "{result}");
        let lines: Vec<Value> = stderr
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .collect();
        // The last notification is written right before the response: the client still
        // delivers it before the call returns.
        assert_eq!(
            lines.len(),
            3,
            "{era:?}: one line per notification: {stderr}"
        );
        for (i, line) in lines.iter().enumerate() {
            let step = i as u64 + 1;
            assert_eq!(line["progress"], step, "{line}");
            assert_eq!(line["total"], 3, "{line}");
            assert_eq!(line["message"], format!("step {step} of 3"), "{line}");
        }
    }
}

#[tokio::test]
async fn without_json_a_non_terminal_stderr_gets_no_progress_noise() {
    let gw = TestGateway::start(GatewayConfig::default().response_mode(ResponseMode::Sse))
        .await
        .unwrap();
    let url = gw.url();
    let out = tokio::task::spawn_blocking(move || {
        conduit()
            .args([
                "--url",
                &url,
                "tools",
                "call",
                "slow",
                "--args",
                r#"{"steps":2,"delay_ms":5}"#,
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("done"));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn sigint_mid_call_cancels_it_and_exits_130() {
    let gw = TestGateway::start(
        GatewayConfig::default()
            .era(EraSupport::StatefulOnly)
            .response_mode(ResponseMode::Sse),
    )
    .await
    .unwrap();
    let url = gw.url();
    let mut child = conduit()
        .args([
            "--url",
            &url,
            "--json",
            "tools",
            "call",
            "slow",
            "--args",
            r#"{"steps":200,"delay_ms":100}"#,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    // The first progress line proves the call is in flight.
    let (first, rest) = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stderr).lines();
        let first = lines.next().and_then(Result::ok);
        (first, lines)
    })
    .await
    .unwrap();
    let first = first.expect("a progress line before the call ends");
    let first: Value = serde_json::from_str(&first).expect("a JSON progress line");
    assert_eq!(first["progress"], 1, "{first}");

    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();

    let status = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    })
    .await
    .unwrap()
    .expect("conduit exits after SIGINT");
    let rest: Vec<String> = rest.map_while(Result::ok).collect();
    assert!(!status.success(), "{rest:?}");
    assert_eq!(status.code(), Some(130), "{rest:?}");
    assert!(
        rest.iter().any(|l| l.contains("interrupted")),
        "says why: {rest:?}"
    );

    let calls = gw.requests_for("tools/call");
    assert_eq!(calls.len(), 1);
    let call_id = calls[0].body.as_ref().unwrap()["id"].clone();
    let cancels = gw.requests_for("notifications/cancelled");
    assert_eq!(cancels.len(), 1, "the call was cancelled on the wire");
    assert_eq!(
        cancels[0].body.as_ref().unwrap()["params"]["requestId"],
        call_id
    );
}
