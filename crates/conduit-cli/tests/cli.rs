//! The `conduit` binary against the test gateway.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Output;

use conduit_testkit::{EraSupport, GatewayConfig, TestGateway};
use serde_json::Value;

async fn conduit(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_conduit"))
            .args(&args)
            .env_remove("CONDUIT_URL")
            .env_remove("CONDUIT_TOKEN")
            .output()
            .expect("the binary runs")
    })
    .await
    .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test]
async fn tools_list_and_call_in_both_eras() {
    for era in [EraSupport::Both, EraSupport::StatefulOnly] {
        let gw = TestGateway::start(GatewayConfig::default().era(era))
            .await
            .unwrap();
        let url = gw.url();

        let out = conduit(&["--url", &url, "--json", "tools", "list"]).await;
        assert!(out.status.success(), "{}", stderr(&out));
        let tools: Value = serde_json::from_str(&stdout(&out)).expect("one JSON document");
        let names: Vec<&str> = tools
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|t| t["name"].as_str())
            .collect();
        assert!(
            names.contains(&"echo") && names.contains(&"add"),
            "{names:?}"
        );
        assert!(
            tools[0]["inputSchema"].is_object(),
            "tools as the server sent them"
        );

        let out = conduit(&[
            "--url",
            &url,
            "tools",
            "call",
            "add",
            "--args",
            r#"{"a":2,"b":3}"#,
        ])
        .await;
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains('5'), "{}", stdout(&out));

        let out = conduit(&[
            "--url",
            &url,
            "--json",
            "tools",
            "call",
            "echo",
            "--args",
            r#"{"message":"hey"}"#,
        ])
        .await;
        assert!(out.status.success(), "{}", stderr(&out));
        let result: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(result["structuredContent"]["message"], "hey");
    }
}

#[tokio::test]
async fn failures_exit_non_zero_with_a_message() {
    let gw = TestGateway::start(GatewayConfig::default()).await.unwrap();
    let url = gw.url();

    let out = conduit(&["--url", &url, "tools", "call", "fail"]).await;
    assert!(!out.status.success(), "an isError result exits non-zero");
    assert!(stderr(&out).contains("fail"), "{}", stderr(&out));

    let out = conduit(&["--url", &url, "tools", "call", "add", "--args", "{nope"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--args"), "{}", stderr(&out));

    let out = conduit(&["tools", "list"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--url"), "{}", stderr(&out));

    let out = conduit(&["--url", "http://127.0.0.1:9/mcp", "--timeout", "5", "ping"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("127.0.0.1:9"), "{}", stderr(&out));
}

#[tokio::test]
async fn resources_prompts_and_ping() {
    let gw = TestGateway::start(GatewayConfig::default().page_size(2))
        .await
        .unwrap();
    let url = gw.url();
    let out = conduit(&["--url", &url, "--json", "resources", "list"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let list: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(list.as_array().unwrap().len() >= 5, "all pages");

    let out = conduit(&["--url", &url, "resources", "read", "test://text/1"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stdout(&out).trim().is_empty());

    let out = conduit(&[
        "--url",
        &url,
        "prompts",
        "get",
        "greeting",
        "--args",
        r#"{"name":"Ada"}"#,
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("Ada"), "{}", stdout(&out));

    let out = conduit(&["--url", &url, "--json", "ping"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let ping: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(ping["ok"], true);
}

#[tokio::test]
async fn demo_help_and_completions() {
    let out = conduit(&["demo"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("Done."), "{}", stdout(&out));

    for cmd in [
        &["tools", "call", "--help"][..],
        &["ping", "--help"],
        &["gateway", "--help"],
    ] {
        let out = conduit(cmd).await;
        assert!(out.status.success());
        assert!(stdout(&out).contains("Example:"), "{cmd:?}");
    }
    let out = conduit(&["completions", "bash"]).await;
    assert!(out.status.success());
    assert!(stdout(&out).contains("conduit"));
}
