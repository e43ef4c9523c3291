//! A server-to-client `GET` stream that stays quiet, or keeps ending without a message, is
//! opened again for as long as the transport lives: a quiet server never makes the client give
//! its notifications up.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use conduit_http::{HttpClient, HttpConfig};
use conduit_protocol::jsonrpc::Request;
use conduit_testkit::fault_server::{FaultRequest, FaultServer, Step};
use conduit_transport::{Era, RequestContext, Transport};
use conduit_transport_http::{StreamableHttp, StreamableHttpConfig};
use serde_json::json;

fn initialize_answer(req: &FaultRequest) -> Vec<Step> {
    let body = json!({"jsonrpc": "2.0", "id": req.rpc_id(), "result": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "serverInfo": {"name": "scripted", "version": "0"}
    }});
    vec![Step::status(
        200,
        &[
            ("content-type", "application/json"),
            ("mcp-session-id", "quiet-session"),
        ],
        &body.to_string(),
    )]
}

async fn gets_reach(server: &FaultServer, n: usize) {
    let reached = tokio::time::timeout(Duration::from_secs(30), async {
        while server
            .requests()
            .iter()
            .filter(|r| r.method == "GET")
            .count()
            < n
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(
        reached.is_ok(),
        "only {} GETs",
        server
            .requests()
            .iter()
            .filter(|r| r.method == "GET")
            .count()
    );
}

/// A transport with an established session, and its (unused) inbound receiver.
async fn session(
    server: &FaultServer,
    config: StreamableHttpConfig,
) -> (
    StreamableHttp,
    tokio::sync::mpsc::Receiver<conduit_transport::Inbound>,
) {
    let http = HttpClient::new(HttpConfig::builder().build().unwrap()).unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let transport = StreamableHttp::new(http, &server.url(), config, tx).unwrap();
    let ctx = RequestContext::new(Era::Stateful).with_protocol_version(Some("2025-11-25".into()));
    let init = Request::new(0, "initialize", Some(json!({})));
    transport.request(init, ctx).await.unwrap();
    transport.session_established("2025-11-25");
    (transport, rx)
}

#[tokio::test]
async fn a_quiet_stream_is_reopened_after_each_idle_timeout() {
    let server = FaultServer::start(|req| match req.method.as_str() {
        // Opens the stream, then says nothing.
        "GET" => vec![Step::sse_head(), Step::Stall],
        _ => initialize_answer(req),
    })
    .await
    .unwrap();
    let config = StreamableHttpConfig {
        stream_idle_timeout: Duration::from_millis(50),
        default_retry: Duration::from_millis(10),
        ..StreamableHttpConfig::default()
    };
    let (_transport, _inbound) = session(&server, config).await;
    // Far more quiet periods than the three the transport once gave up after.
    gets_reach(&server, 6).await;
}

#[tokio::test]
async fn a_stream_that_keeps_ending_is_reopened_with_backoff() {
    let server = FaultServer::start(|req| match req.method.as_str() {
        // Opens the stream and ends it at once, every time.
        "GET" => vec![Step::sse_head(), Step::Close],
        _ => initialize_answer(req),
    })
    .await
    .unwrap();
    let config = StreamableHttpConfig {
        default_retry: Duration::from_millis(5),
        max_retry: Duration::from_millis(40),
        ..StreamableHttpConfig::default()
    };
    let (_transport, _inbound) = session(&server, config).await;
    gets_reach(&server, 6).await;
}
