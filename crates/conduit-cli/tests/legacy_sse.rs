//! `--transport legacy-sse` (and the default transport's fallback) against the test gateway's
//! 2024-11-05 HTTP+SSE endpoint.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

use conduit_testkit::{GatewayConfig, LegacyEndpoint, TestGateway};
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

#[tokio::test]
async fn tools_call_over_the_legacy_transport_and_the_fallback() {
    let gw = TestGateway::start(
        GatewayConfig::default().legacy_sse(LegacyEndpoint::enabled().at_mcp_path(true)),
    )
    .await
    .unwrap();
    let sse_url = format!("{}/sse", gw.base_url().trim_end_matches('/'));
    for (transport, url) in [
        ("legacy-sse", sse_url.clone()),
        ("sse", sse_url),
        ("mcp", gw.url()),
    ] {
        gw.clear_requests();
        let args: Vec<String> = [
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
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let out = conduit(args).await;
        assert!(
            out.status.success(),
            "{transport}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["structuredContent"]["sum"], json!(42), "{transport}");
        assert!(
            gw.requests()
                .iter()
                .any(|r| r.path == "/message" && r.is_rpc("tools/call")),
            "{transport}: the call went over the legacy transport"
        );
    }
}
