//! Per-request headers derived from what a server declared are bounded: too many is a typed
//! error, never a panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use conduit_http::{HttpClient, HttpConfig};
use conduit_protocol::jsonrpc::Request;
use conduit_testkit::fault_server::{FaultServer, Step};
use conduit_transport::{Era, RequestContext, Transport, TransportError};
use conduit_transport_http::{StreamableHttp, StreamableHttpConfig};
use serde_json::json;

#[tokio::test]
async fn too_many_extra_headers_is_an_error_not_a_panic() {
    let server = FaultServer::start(|req| vec![Step::json_result(req, json!({}))])
        .await
        .unwrap();
    let http = HttpClient::new(HttpConfig::builder().build().unwrap()).unwrap();
    let (tx, _rx) = tokio::sync::mpsc::channel(4);
    let transport =
        StreamableHttp::new(http, &server.url(), StreamableHttpConfig::default(), tx).unwrap();
    // More than an `http::HeaderMap` can hold (32,768 entries).
    let extra: Vec<(String, String)> = (0..40_000)
        .map(|i| (format!("mcp-param-p{i}"), "v".to_owned()))
        .collect();
    let ctx = RequestContext::new(Era::Stateless)
        .with_protocol_version(Some("2026-07-28".into()))
        .with_extra_headers(extra);
    let err = transport
        .request(
            Request::new(1, "tools/call", Some(json!({"name": "t"}))),
            ctx,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, TransportError::Other { message, .. } if message.contains("too many HTTP headers")),
        "{err:?}"
    );
    assert!(server.requests().is_empty(), "nothing was sent");
}
