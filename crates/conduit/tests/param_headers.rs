//! `Mcp-Param-*` headers (2026-07-28) against the test gateway: a tool whose `x-mcp-header`
//! declarations change after the client listed it, and a server that keeps refusing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use conduit::{Client, Era, Error};
use conduit_testkit::{GatewayConfig, RecordedRequest, TestGateway};
use serde_json::json;

async fn gateway() -> TestGateway {
    TestGateway::start(GatewayConfig::default())
        .await
        .expect("gateway starts")
}

/// The JSON-RPC methods of the logged POSTs, in order.
fn methods(log: &[RecordedRequest]) -> Vec<String> {
    log.iter()
        .filter(|r| r.http_method == "POST")
        .filter_map(|r| r.rpc_method.clone())
        .collect()
}

fn calls(log: &[RecordedRequest]) -> Vec<&RecordedRequest> {
    log.iter().filter(|r| r.is_rpc("tools/call")).collect()
}

#[tokio::test]
async fn a_stale_declaration_is_relisted_and_the_call_retried_once() {
    let gw = gateway().await;
    // One request in flight at a time: the re-list must not wait for the call's own slot.
    let client = Client::builder(gw.url())
        .max_in_flight(1)
        .connect()
        .await
        .unwrap();
    assert_eq!(client.era(), Some(Era::Stateless));
    let tools = client.list_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "route"));

    let ok = client
        .call_tool("route", json!({"region": "eu-west", "query": "q"}))
        .await
        .unwrap();
    assert!(format!("{:?}", ok.content).contains("eu-west"));
    let log = gw.requests();
    assert_eq!(calls(&log)[0].header("mcp-param-region"), Some("eu-west"));

    // The server changes the tool: `region` is no longer mirrored, `tenant` is (as `Tenant`).
    gw.declare_param_header("region", None);
    gw.declare_param_header("tenant", Some("Tenant"));
    gw.clear_requests();

    let result = client
        .call_tool(
            "route",
            json!({"region": "eu-west", "tenant": "Zürich AG", "query": "q"}),
        )
        .await
        .unwrap();
    assert_eq!(result.is_error, None);

    let log = gw.requests();
    assert_eq!(
        methods(&log),
        ["tools/call", "tools/list", "tools/call"],
        "one refused call, one re-list, one retry"
    );
    let sent = calls(&log);
    // The first attempt carried the stale header and was refused.
    assert_eq!(sent[0].header("mcp-param-region"), Some("eu-west"));
    assert_eq!(sent[0].header("mcp-param-tenant"), None);
    // The retry carries the new header (non-ASCII: Base64 sentinel) and not the old one.
    assert_eq!(sent[1].header("mcp-param-region"), None);
    assert_eq!(
        sent[1].header("mcp-param-tenant"),
        Some("=?base64?WsO8cmljaCBBRw==?=")
    );

    // The client keeps the learned declarations: the next call goes through at once.
    gw.clear_requests();
    client
        .call_tool("route", json!({"tenant": "acme", "query": "q"}))
        .await
        .unwrap();
    let log = gw.requests();
    assert_eq!(methods(&log), ["tools/call"]);
    assert_eq!(calls(&log)[0].header("mcp-param-tenant"), Some("acme"));
    client.close().await.unwrap();
    gw.shutdown().await;
}

#[tokio::test]
async fn a_persistent_mismatch_is_a_typed_error_after_one_retry() {
    let gw = gateway().await;
    let client = Client::connect(gw.url()).await.unwrap();
    client.list_tools().await.unwrap();
    // The server enforces `Zone` but its listing still says `Region`: no retry can satisfy it.
    gw.enforce_param_header("region", Some("Zone"));
    gw.clear_requests();

    let err = client
        .call_tool("route", json!({"region": "eu", "query": "q"}))
        .await
        .unwrap_err();
    match &err {
        Error::HeaderMismatch {
            method,
            name,
            message,
            relisted,
            ..
        } => {
            assert_eq!(method, "tools/call");
            assert_eq!(name.as_deref(), Some("route"));
            assert!(message.contains("Mcp-Param-Zone"), "{message}");
            assert!(*relisted);
        }
        other => panic!("expected HeaderMismatch, got {other:?}"),
    }
    assert_eq!(err.rpc_code(), Some(-32020));
    assert!(err.to_string().contains("re-fetched tools/list"), "{err}");
    assert_eq!(
        methods(&gw.requests()),
        ["tools/call", "tools/list", "tools/call"],
        "exactly one re-list and one retry, no loop"
    );

    // A client that never listed the tool sends no Mcp-Param-* at all; it learns, retries once,
    // and still gets the typed error.
    let fresh = Client::connect(gw.url()).await.unwrap();
    gw.clear_requests();
    let err = fresh
        .call_tool("route", json!({"region": "eu", "query": "q"}))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::HeaderMismatch { relisted: true, .. }),
        "{err:?}"
    );
    let log = gw.requests();
    assert_eq!(methods(&log), ["tools/call", "tools/list", "tools/call"]);
    assert_eq!(calls(&log)[0].header("mcp-param-region"), None);
    assert_eq!(calls(&log)[1].header("mcp-param-region"), Some("eu"));
    client.close().await.unwrap();
    fresh.close().await.unwrap();
    gw.shutdown().await;
}
