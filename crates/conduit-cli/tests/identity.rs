//! `conduit identity …` and the global mTLS options against the test gateway's CA.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Output;

use conduit_testkit::{GatewayConfig, TestCa, TestGateway};
use serde_json::Value;

async fn conduit(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_conduit"))
            .args(&args)
            .env_remove("CONDUIT_URL")
            .env_remove("CONDUIT_TOKEN")
            .env_remove("CONDUIT_IDENTITY_DIR")
            .env_remove("CONDUIT_MTLS_CERT")
            .env_remove("CONDUIT_MTLS_KEY")
            .output()
            .expect("the binary runs")
    })
    .await
    .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test]
async fn bootstrap_show_and_mtls_calls() {
    let ca = TestCa::new().unwrap();
    ca.accept_token("cli-token");
    let gw = TestGateway::start(GatewayConfig::default().mtls(ca.clone()))
        .await
        .unwrap();
    let https = gw.https_url().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("id");
    let dir_s = dir.display().to_string();

    let out = conduit(&[
        "--url",
        &https,
        "--json",
        "identity",
        "bootstrap",
        "--token",
        "cli-token",
        "--name",
        "cli-agent",
        "--dir",
        &dir_s,
        "--endpoint",
        &gw.identity_endpoint(),
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["subject"], "CN=cli-agent");
    let fingerprint = shown["fingerprint"].as_str().unwrap().to_owned();

    let out = conduit(&["--identity-dir", &dir_s, "--json", "identity", "show"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["fingerprint"], fingerprint.as_str());
    assert!(shown["daysLeft"].as_i64().unwrap() >= 29);
    assert!(shown["source"].as_str().unwrap().contains("identity_dir"));

    let out = conduit(&[
        "--url",
        &https,
        "--identity-dir",
        &dir_s,
        "tools",
        "call",
        "add",
        "--args",
        r#"{"a":1,"b":2}"#,
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(ca
        .mtls_requests()
        .iter()
        .any(|r| r.path == "/mcp" && r.client_fingerprint == fingerprint));

    // --cert/--key/--ca-cert work the same as the directory.
    let out = conduit(&[
        "--url",
        &https,
        "--cert",
        &dir.join("identity.pem").display().to_string(),
        "--key",
        &dir.join("identity_key.pem").display().to_string(),
        "--ca-cert",
        &dir.join("ca.pem").display().to_string(),
        "ping",
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));

    // --no-mtls really turns it off: the listener refuses.
    let out = conduit(&[
        "--url",
        &https,
        "--identity-dir",
        &dir_s,
        "--ca-cert",
        &dir.join("ca.pem").display().to_string(),
        "--no-mtls",
        "ping",
    ])
    .await;
    // (With TLS 1.3 the refusal arrives after the client's handshake, so the message is either
    // the server's `CertificateRequired` alert or a closed connection: only failure is certain.)
    assert!(!out.status.success());
    assert!(ca
        .mtls_requests()
        .iter()
        .all(|r| r.client_fingerprint == fingerprint));
}
