//! Responses that arrive on a stream other than their request's own `POST` response: the
//! background `GET` stream, or another request's SSE stream — before or after the request's own
//! response head. The transport registers a waiter only when another stream is being read or
//! its own answer is an SSE stream; these tests pin that nothing is lost either way.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use conduit_http::{HttpClient, HttpConfig};
use conduit_protocol::jsonrpc::{Outcome, Request, RequestId, Response};
use conduit_testkit::fault_server::{FaultRequest, FaultServer, Step};
use conduit_transport::{Era, Inbound, RequestContext, Transport};
use conduit_transport_http::{StreamableHttp, StreamableHttpConfig};
use serde_json::{json, Value};
use tokio::sync::mpsc::Receiver;

/// A bound on each exchange so that a lost response fails the test instead of hanging it.
const GUARD: Duration = Duration::from_secs(20);

/// The transport, and the receiver of what the server sends on its own (kept alive by the
/// caller).
fn transport(server: &FaultServer, listen_stream: bool) -> (StreamableHttp, Receiver<Inbound>) {
    let http = HttpClient::new(HttpConfig::builder().build().unwrap()).unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let config = StreamableHttpConfig {
        listen_stream,
        ..StreamableHttpConfig::default()
    };
    (
        StreamableHttp::new(http, &server.url(), config, tx).unwrap(),
        rx,
    )
}

fn ctx() -> RequestContext {
    RequestContext::new(Era::Stateful).with_protocol_version(Some("2025-11-25".into()))
}

fn result(id: i64, via: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": {"via": via}})
}

fn via(response: &Response) -> String {
    match &response.outcome {
        Outcome::Result(v) => v["via"].as_str().unwrap_or_default().to_owned(),
        Outcome::Error(e) => panic!("unexpected error {e:?}"),
    }
}

fn initialize_answer(req: &FaultRequest) -> Vec<Step> {
    let body = json!({"jsonrpc": "2.0", "id": req.rpc_id(), "result": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "serverInfo": {"name": "scripted", "version": "0"}
    }});
    vec![Step::status(
        200,
        &[
            ("content-type", "application/json"),
            ("mcp-session-id", "scripted-session"),
        ],
        &body.to_string(),
    )]
}

async fn wait_for(server: &FaultServer, what: impl Fn(&FaultRequest) -> bool) {
    tokio::time::timeout(GUARD, async {
        while !server.requests().iter().any(&what) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the server saw the request");
}

async fn start_session(transport: &StreamableHttp) {
    let init = Request::new(0, "initialize", Some(json!({})));
    tokio::time::timeout(GUARD, transport.request(init, ctx()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        transport.session_id().as_deref(),
        Some("scripted-session"),
        "the session id was kept"
    );
    transport.session_established("2025-11-25");
}

#[tokio::test]
async fn a_response_on_the_get_stream_reaches_its_request() {
    // The request's own SSE stream never carries its response; the GET stream does.
    let server = FaultServer::start(|req| match (req.method.as_str(), req.rpc_method()) {
        ("POST", Some("initialize")) => initialize_answer(req),
        ("POST", Some("tools/call")) => vec![Step::sse_head(), Step::Stall],
        ("GET", _) => vec![
            Step::sse_head(),
            Step::Sleep(Duration::from_millis(200)),
            Step::sse_event(Some("g1"), &result(7, "get")),
            Step::Stall,
        ],
        _ => vec![Step::accepted()],
    })
    .await
    .unwrap();
    let (transport, _inbound) = transport(&server, true);
    start_session(&transport).await;
    wait_for(&server, |r| r.method == "GET").await;

    let call = Request::new(7, "tools/call", Some(json!({"name": "slow"})));
    let response = tokio::time::timeout(GUARD, transport.request(call, ctx()))
        .await
        .expect("the response on the GET stream reached the request")
        .unwrap();
    assert_eq!(response.id, Some(RequestId::Number(7)));
    assert_eq!(via(&response), "get");
    let get = server
        .requests()
        .into_iter()
        .find(|r| r.method == "GET")
        .unwrap();
    assert_eq!(get.header("mcp-session-id"), Some("scripted-session"));
    assert_eq!(get.header("mcp-protocol-version"), Some("2025-11-25"));
}

#[tokio::test]
async fn a_response_that_arrives_before_its_own_stream_opens_is_kept() {
    // No GET stream. Request 1's answer head is delayed; meanwhile request 2's SSE stream carries
    // request 1's response (before request 1 knows it will read a stream), then its own.
    let server = FaultServer::start(|req| match req.rpc_id().as_i64() {
        Some(1) => vec![
            Step::Sleep(Duration::from_millis(400)),
            Step::sse_head(),
            Step::Stall,
        ],
        Some(2) => vec![
            Step::sse_head(),
            Step::sse_event(None, &result(1, "stream of 2")),
            Step::sse_event(None, &result(2, "own")),
            Step::Close,
        ],
        _ => vec![Step::accepted()],
    })
    .await
    .unwrap();
    let (transport, _inbound) = transport(&server, false);

    let first = {
        let transport = transport.clone();
        tokio::spawn(async move {
            let call = Request::new(1, "tools/call", Some(json!({"name": "a"})));
            tokio::time::timeout(GUARD, transport.request(call, ctx())).await
        })
    };
    wait_for(&server, |r| r.rpc_id().as_i64() == Some(1)).await;
    let call = Request::new(2, "tools/call", Some(json!({"name": "b"})));
    let second = tokio::time::timeout(GUARD, transport.request(call, ctx()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(via(&second), "own");
    let first = first
        .await
        .unwrap()
        .expect("request 1 got the response that came on request 2's stream")
        .unwrap();
    assert_eq!(first.id, Some(RequestId::Number(1)));
    assert_eq!(via(&first), "stream of 2");
}

#[tokio::test]
async fn a_response_on_another_requests_stream_reaches_a_waiting_request() {
    // No GET stream. Request 1 is already reading its (silent) SSE stream when request 2's
    // stream carries request 1's response.
    let server = FaultServer::start(|req| match req.rpc_id().as_i64() {
        Some(1) => vec![Step::sse_head(), Step::Stall],
        Some(2) => vec![
            Step::sse_head(),
            Step::Sleep(Duration::from_millis(100)),
            Step::sse_event(None, &result(1, "stream of 2")),
            Step::sse_event(None, &result(2, "own")),
            Step::Close,
        ],
        _ => vec![Step::accepted()],
    })
    .await
    .unwrap();
    let (transport, _inbound) = transport(&server, false);

    let first = {
        let transport = transport.clone();
        tokio::spawn(async move {
            let call = Request::new(1, "tools/call", Some(json!({"name": "a"})));
            tokio::time::timeout(GUARD, transport.request(call, ctx())).await
        })
    };
    wait_for(&server, |r| r.rpc_id().as_i64() == Some(1)).await;
    let call = Request::new(2, "tools/call", Some(json!({"name": "b"})));
    let second = tokio::time::timeout(GUARD, transport.request(call, ctx()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(via(&second), "own");
    let first = first
        .await
        .unwrap()
        .expect("request 1 got the response that came on request 2's stream")
        .unwrap();
    assert_eq!(via(&first), "stream of 2");
}

#[tokio::test]
async fn per_session_headers_are_sent_on_every_kind_of_request() {
    // The cached header values (session id, protocol version) appear on POST, and the session
    // id is replaced when the server issues a new one.
    let server = FaultServer::start(|req| match req.rpc_method() {
        Some("initialize") => initialize_answer(req),
        Some("rotate") => vec![Step::status(
            200,
            &[
                ("content-type", "application/json"),
                ("mcp-session-id", "rotated-session"),
            ],
            &result(req.rpc_id().as_i64().unwrap_or(0), "json").to_string(),
        )],
        Some(_) => vec![Step::json_result(req, json!({"via": "json"}))],
        None => vec![Step::accepted()],
    })
    .await
    .unwrap();
    let (transport, _inbound) = transport(&server, false);
    start_session(&transport).await;
    for (id, method) in [(1, "ping"), (2, "rotate"), (3, "ping")] {
        let response = tokio::time::timeout(
            GUARD,
            transport.request(Request::new(id, method, None), ctx()),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(via(&response), "json");
    }
    let posts: Vec<FaultRequest> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 4);
    assert_eq!(posts[0].header("mcp-session-id"), None);
    for post in &posts {
        assert_eq!(post.header("mcp-protocol-version"), Some("2025-11-25"));
        assert_eq!(post.header("content-type"), Some("application/json"));
        assert_eq!(
            post.header("accept"),
            Some("application/json, text/event-stream")
        );
    }
    assert_eq!(posts[1].header("mcp-session-id"), Some("scripted-session"));
    assert_eq!(posts[2].header("mcp-session-id"), Some("scripted-session"));
    assert_eq!(posts[3].header("mcp-session-id"), Some("rotated-session"));
    assert_eq!(transport.session_id().as_deref(), Some("rotated-session"));
}
