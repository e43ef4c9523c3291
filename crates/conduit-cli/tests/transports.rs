//! `--transport jsonrpc|ws` and `conduit subscribe` against the test gateway.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use conduit_testkit::{GatewayConfig, TestGateway};
use serde_json::{json, Value};

async fn conduit(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_conduit"))
            .args(&args)
            .env_remove("CONDUIT_URL")
            .env_remove("CONDUIT_TOKEN")
            .output()
            .expect("the binary runs")
    })
    .await
    .unwrap()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn tools_call_over_jsonrpc_and_ws() {
    let gw = TestGateway::start(GatewayConfig::default()).await.unwrap();
    let ws_url = format!("{}/ws", gw.base_url());
    for (transport, url) in [
        ("jsonrpc", gw.url()),
        ("ws", ws_url.clone()),
        ("websocket", ws_url),
    ] {
        let out = conduit(args(&[
            "--url",
            &url,
            "--transport",
            transport,
            "--json",
            "tools",
            "call",
            "add",
            "--args",
            r#"{"a":40,"b":2}"#,
        ]))
        .await;
        assert!(
            out.status.success(),
            "{transport}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["structuredContent"]["sum"], json!(42), "{transport}");
    }
    assert!(gw
        .requests()
        .iter()
        .any(|r| r.path == "/rpc/" && r.is_rpc("tools/call")));
    assert!(gw
        .requests()
        .iter()
        .any(|r| r.http_method == "WS" && r.is_rpc("tools/call")));
    assert_eq!(gw.requests_for("initialize").len(), 0);
}

#[tokio::test]
async fn unknown_transport_is_a_usage_error() {
    let out = conduit(args(&[
        "--url",
        "http://127.0.0.1:9/mcp",
        "--transport",
        "grpc",
        "ping",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test]
async fn subscribe_streams_json_lines_and_survives_a_reconnect() {
    let gw = TestGateway::start(GatewayConfig::default()).await.unwrap();
    let url = format!("{}/ws", gw.base_url());
    let mut child = Command::new(env!("CARGO_BIN_EXE_conduit"))
        .args([
            "--url",
            &url,
            "--transport",
            "ws",
            "--json",
            "subscribe",
            "tasks.7.*",
            "--count",
            "2",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let limit = Duration::from_secs(30);
    let result = tokio::time::timeout(limit, async {
        while gw.ws_subscriptions().is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            gw.publish("tasks.7.started", "started", json!({"step": 1})),
            1
        );
        let first: Value = serde_json::from_str(&rx.recv().await.unwrap()).unwrap();
        assert_eq!(
            first,
            json!({"topic": "tasks.7.*", "event": "started", "data": {"step": 1}})
        );

        gw.drop_ws_connections();
        let marker: Value = serde_json::from_str(&rx.recv().await.unwrap()).unwrap();
        assert_eq!(marker["reconnected"], json!(true));
        while gw.ws_subscriptions().is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(gw.publish("tasks.7.done", "done", json!(null)), 1);
        let last: Value = serde_json::from_str(&rx.recv().await.unwrap()).unwrap();
        assert_eq!(last["event"], json!("done"));
    })
    .await;
    if result.is_err() {
        let _ = child.kill();
        panic!("subscribe did not stream within {limit:?}");
    }
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn subscribe_over_http_is_a_clear_error() {
    let gw = TestGateway::start(GatewayConfig::default()).await.unwrap();
    let out = conduit(args(&["--url", &gw.url(), "subscribe", "agents.a.events"])).await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not supported by this transport"), "{err}");
}
