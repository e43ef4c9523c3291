//! Wire-level faults against a scripted server: every call ends with a result or a typed error
//! within its deadline, and nothing that may have run is sent twice without an opt-in.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use conduit::transport::TransportError;
use conduit::{CallOptions, Client, Error, LifecycleMode};
use conduit_testkit::fault_server::{FaultRequest, FaultServer, Step};
use serde_json::{json, Value};

fn discover(req: &FaultRequest) -> Step {
    Step::json_result(
        req,
        json!({"resultType": "complete", "supportedVersions": ["2026-07-28"], "capabilities": {"tools": {}}}),
    )
}

fn tools(req: &FaultRequest) -> Step {
    Step::json_result(
        req,
        json!({"tools": [{"name": "t", "inputSchema": {"type": "object"}}]}),
    )
}

fn call_ok(req: &FaultRequest) -> Step {
    Step::json_result(req, json!({"content": [{"type": "text", "text": "ok"}]}))
}

/// A server that answers discover normally and hands every other request, with its per-method
/// attempt number (0 for the first), to `script`.
async fn server<F>(script: F) -> FaultServer
where
    F: Fn(&FaultRequest, usize) -> Vec<Step> + Send + Sync + 'static,
{
    let attempts = Arc::new(std::sync::Mutex::new(std::collections::HashMap::<
        String,
        usize,
    >::new()));
    FaultServer::start(move |req| {
        let method = req.rpc_method().unwrap_or("").to_owned();
        if method == "server/discover" {
            return vec![discover(req)];
        }
        let n = {
            let mut a = attempts.lock().unwrap();
            let n = a.entry(method).or_insert(0);
            *n += 1;
            *n - 1
        };
        script(req, n)
    })
    .await
    .unwrap()
}

async fn client(url: &str) -> Client {
    Client::builder(url)
        .lifecycle(LifecycleMode::Stateless)
        .timeout(Duration::from_secs(10))
        .connect()
        .await
        .unwrap()
}

#[tokio::test]
async fn rate_limits_and_unavailability_are_retried_honouring_retry_after() {
    let srv = server(|req, n| match (req.rpc_method(), n) {
        (Some("tools/list"), 0) => vec![Step::status(503, &[("retry-after", "0")], "busy")],
        (Some("tools/list"), _) => vec![tools(req)],
        (Some("tools/call"), 0) => vec![Step::status(429, &[], "slow down")],
        (Some("tools/call"), _) => vec![call_ok(req)],
        _ => vec![Step::Close],
    })
    .await;
    let c = client(&srv.url()).await;
    assert_eq!(c.list_tools().await.unwrap().len(), 1);
    assert_eq!(srv.count("tools/list"), 2);
    // 429 means the server refused the call: retrying cannot run the tool twice.
    c.call_tool("t", json!({})).await.unwrap();
    assert_eq!(srv.count("tools/call"), 2);
}

#[tokio::test]
async fn a_lost_call_is_not_resent_unless_declared_idempotent() {
    let srv = server(|req, n| match (req.rpc_method(), n) {
        (Some("tools/call"), 0 | 1) => vec![Step::Close],
        (Some("tools/call"), _) => vec![call_ok(req)],
        _ => vec![Step::Close],
    })
    .await;
    let c = client(&srv.url()).await;
    let err = c.call_tool("t", json!({})).await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err}");
    assert_eq!(
        srv.count("tools/call"),
        1,
        "the tool may have run: not resent"
    );

    let ok = c
        .call_tool_raw("t", json!({}), CallOptions::default().with_idempotent(true))
        .await
        .unwrap();
    assert_eq!(ok.is_error, None);
    assert_eq!(
        srv.count("tools/call"),
        3,
        "idempotent: resent after the lost connection"
    );
}

#[tokio::test]
async fn a_truncated_list_is_fetched_again() {
    let srv = server(|req, n| match (req.rpc_method(), n) {
        (Some("tools/list"), 0) => vec![
            Step::truncated_json(500, "{\"jsonrpc\":\"2.0\",\"id\""),
            Step::Close,
        ],
        (Some("tools/list"), _) => vec![tools(req)],
        _ => vec![Step::Close],
    })
    .await;
    let c = client(&srv.url()).await;
    assert_eq!(c.list_tools().await.unwrap().len(), 1);
    assert_eq!(srv.count("tools/list"), 2);
}

#[tokio::test]
async fn a_reset_in_the_middle_of_an_sse_stream_is_a_typed_error() {
    let srv = server(|req, _| match req.rpc_method() {
        Some("tools/call") => vec![
            Step::sse_head(),
            Step::Write(b"data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":1}}\n\ndata: {\"jsonrpc\":".to_vec()),
            Step::Sleep(Duration::from_millis(20)),
            Step::Reset,
        ],
        _ => vec![Step::Close],
    })
    .await;
    let c = client(&srv.url()).await;
    let err = c.call_tool("t", json!({})).await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err}");
    assert_eq!(srv.count("tools/call"), 1);
}

#[tokio::test]
async fn malformed_replies_name_what_was_wrong() {
    let srv = server(|req, n| match (req.rpc_method(), n) {
        (Some("tools/call"), 0) => vec![Step::json_text("{not json")],
        (Some("tools/call"), 1) => {
            let mut wrong = req.clone();
            wrong.body = Some(json!({"id": 424242}));
            vec![call_ok(&wrong)]
        }
        (Some("tools/call"), _) => vec![Step::status(
            500,
            &[("content-type", "text/html")],
            "<html><body>Internal Server Error</body></html>",
        )],
        _ => vec![Step::Close],
    })
    .await;
    let c = client(&srv.url()).await;
    let err = c.call_tool("t", json!({})).await.unwrap_err();
    assert!(
        matches!(err, Error::Transport(TransportError::Malformed(ref m)) if m.contains("not valid JSON")),
        "{err}"
    );
    let err = c.call_tool("t", json!({})).await.unwrap_err();
    assert!(
        matches!(err, Error::Transport(TransportError::Malformed(ref m)) if m.contains("424242")),
        "{err}"
    );
    let err = c.call_tool("t", json!({})).await.unwrap_err();
    assert_eq!(err.status(), Some(500), "{err}");
    assert!(err.to_string().contains("Internal Server Error"), "{err}");
    assert_eq!(srv.count("tools/call"), 3, "none of these was retried");
}

#[tokio::test]
async fn a_duplicate_response_is_ignored() {
    let srv = server(|req, _| match req.rpc_method() {
        Some("tools/call") => {
            let first = json!({"jsonrpc": "2.0", "id": req.rpc_id(), "result": {"content": [{"type": "text", "text": "first"}]}});
            let second = json!({"jsonrpc": "2.0", "id": req.rpc_id(), "result": {"content": [{"type": "text", "text": "second"}]}});
            vec![Step::sse_head(), Step::sse_event(Some("1"), &first), Step::sse_event(Some("2"), &second), Step::Close]
        }
        _ => vec![Step::Close],
    })
    .await;
    let c = client(&srv.url()).await;
    let result = c.call_tool("t", json!({})).await.unwrap();
    let text = serde_json::to_value(&result.content).unwrap();
    assert_eq!(text[0]["text"], "first");
}

#[tokio::test]
async fn an_oversized_reply_is_refused() {
    let srv = server(|req, _| match req.rpc_method() {
        Some("tools/call") => {
            let big = "x".repeat(64 * 1024);
            vec![Step::json_result(
                req,
                json!({"content": [{"type": "text", "text": big}]}),
            )]
        }
        _ => vec![Step::Close],
    })
    .await;
    let c = Client::builder(srv.url())
        .lifecycle(LifecycleMode::Stateless)
        .max_response_bytes(16 * 1024)
        .connect()
        .await
        .unwrap();
    let err = c.call_tool("t", json!({})).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport(TransportError::TooLarge { limit: 16384 })
        ),
        "{err}"
    );
}

#[tokio::test]
async fn redirects_are_not_followed_so_credentials_stay_home() {
    let elsewhere_hits = Arc::new(AtomicUsize::new(0));
    let hits = Arc::clone(&elsewhere_hits);
    let elsewhere = FaultServer::start(move |req| {
        hits.fetch_add(1, Ordering::SeqCst);
        vec![Step::json_result(req, json!({}))]
    })
    .await
    .unwrap();
    let target = elsewhere.url();
    let srv = server(move |req, _| match req.rpc_method() {
        Some("tools/list") => vec![Step::status(307, &[("location", target.as_str())], "")],
        _ => vec![Step::Close],
    })
    .await;
    let c = Client::builder(srv.url())
        .lifecycle(LifecycleMode::Stateless)
        .bearer("secret-token")
        .connect()
        .await
        .unwrap();
    let err = c.list_tools().await.unwrap_err();
    assert_eq!(err.status(), Some(307), "{err}");
    assert!(err.to_string().contains("not followed"), "{err}");
    assert!(!err.to_string().contains("secret-token"));
    assert_eq!(
        elsewhere_hits.load(Ordering::SeqCst),
        0,
        "the other origin saw nothing"
    );
    assert_eq!(
        srv.requests()[1].header("authorization"),
        Some("Bearer secret-token")
    );
}

#[tokio::test]
async fn a_stalled_server_cannot_outlive_the_deadline() {
    // Slow-loris: the head arrives, the body never does.
    let srv = server(|req, _| match req.rpc_method() {
        Some("tools/call") => vec![
            Step::Write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{".to_vec()),
            Step::Stall,
        ],
        Some("tools/list") => vec![Step::Stall],
        _ => vec![Step::Close],
    })
    .await;
    let c = client(&srv.url()).await;
    let err = c
        .call_tool_raw(
            "t",
            json!({}),
            CallOptions::timeout(Duration::from_millis(300)),
        )
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    // Retries of an idempotent list stay inside the same deadline.
    let err = c
        .request_with(
            "tools/list",
            None,
            CallOptions::timeout(Duration::from_millis(300)),
        )
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
}

#[tokio::test]
async fn retry_after_longer_than_the_deadline_ends_in_a_timeout() {
    let srv = server(|req, _| match req.rpc_method() {
        Some("tools/list") => vec![Step::status(503, &[("retry-after", "5")], "later")],
        _ => vec![Step::Close],
    })
    .await;
    let c = client(&srv.url()).await;
    let err = c
        .request_with(
            "tools/list",
            None,
            CallOptions::timeout(Duration::from_millis(300)),
        )
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    let value: Value = json!(srv.count("tools/list"));
    assert_eq!(value, json!(1));
}

#[tokio::test]
async fn the_in_flight_limit_holds_calls_back_within_their_deadline() {
    let srv = server(|req, _| match req.rpc_method() {
        Some("tools/call") => vec![Step::Stall],
        _ => vec![Step::Close],
    })
    .await;
    let c = Client::builder(srv.url())
        .lifecycle(LifecycleMode::Stateless)
        .max_in_flight(2)
        .connect()
        .await
        .unwrap();
    // Two calls take both slots and stall on the server.
    let holders: Vec<_> = (0..2)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move {
                c.call_tool_raw("t", json!({}), CallOptions::timeout(Duration::from_secs(3)))
                    .await
            })
        })
        .collect();
    for _ in 0..300 {
        if srv.count("tools/call") == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(srv.count("tools/call"), 2);
    // A third call waits for a slot and times out within its own deadline, unsent.
    let err = c
        .call_tool_raw(
            "t",
            json!({}),
            CallOptions::timeout(Duration::from_millis(200)),
        )
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert_eq!(
        srv.count("tools/call"),
        2,
        "the third call never got a slot"
    );
    for holder in holders {
        let err = holder.await.unwrap().unwrap_err();
        assert!(err.is_timeout(), "{err}");
    }
}

#[tokio::test]
async fn secrets_never_reach_debug_output_or_errors() {
    let builder = Client::builder("http://127.0.0.1:9/mcp").bearer("tok-very-secret");
    let debug = format!("{builder:?}");
    assert!(!debug.contains("tok-very-secret"), "{debug}");
    let srv = server(|req, _| match req.rpc_method() {
        Some("tools/list") => vec![Step::status(
            401,
            &[("www-authenticate", "Bearer error=\"invalid_token\"")],
            "no",
        )],
        _ => vec![Step::Close],
    })
    .await;
    let c = Client::builder(srv.url())
        .lifecycle(LifecycleMode::Stateless)
        .bearer("tok-very-secret")
        .connect()
        .await
        .unwrap();
    let err = c.list_tools().await.unwrap_err();
    assert!(err.is_auth_required(), "{err}");
    assert!(err.www_authenticate()[0].contains("invalid_token"));
    assert!(!err.to_string().contains("tok-very-secret"));
    assert!(!format!("{err:?}").contains("tok-very-secret"));
    assert!(!format!("{c:?}").contains("tok-very-secret"));
}

/// The same faults over the plain JSON-RPC transport (no handshake; same HTTP layer).
#[tokio::test]
async fn the_fault_matrix_holds_on_the_jsonrpc_transport() {
    let srv = server(|req, n| match (req.rpc_method(), n) {
        (Some("tools/list"), 0) => vec![Step::status(503, &[("retry-after", "0")], "busy")],
        (Some("tools/list"), 1) => vec![tools(req)],
        (Some("tools/list"), _) => vec![Step::Stall],
        (Some("tools/call"), 0) => vec![Step::Close],
        (Some("tools/call"), 1) => vec![Step::json_text("{not json")],
        (Some("tools/call"), 2) => vec![Step::status(
            500,
            &[("content-type", "text/html")],
            "<html>boom</html>",
        )],
        (Some("tools/call"), 3) => vec![Step::status(
            307,
            &[("location", "http://127.0.0.1:9/elsewhere")],
            "",
        )],
        (Some("tools/call"), _) => vec![call_ok(req)],
        _ => vec![Step::Close],
    })
    .await;
    let c = Client::builder(srv.url())
        .transport(conduit::TransportKind::JsonRpc)
        .bearer("tok")
        .connect()
        .await
        .unwrap();
    // 503 is retried; the list arrives.
    assert_eq!(c.list_tools().await.unwrap().len(), 1);
    assert_eq!(srv.count("tools/list"), 2);
    // A lost call is not resent.
    let err = c.call_tool("t", json!({})).await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err}");
    assert_eq!(srv.count("tools/call"), 1);
    // Malformed JSON, an HTML 500 and a redirect are typed errors, none retried.
    let err = c.call_tool("t", json!({})).await.unwrap_err();
    assert!(
        matches!(err, Error::Transport(TransportError::Malformed(_))),
        "{err}"
    );
    let err = c.call_tool("t", json!({})).await.unwrap_err();
    assert_eq!(err.status(), Some(500), "{err}");
    let err = c.call_tool("t", json!({})).await.unwrap_err();
    assert_eq!(err.status(), Some(307), "{err}");
    assert_eq!(srv.count("tools/call"), 4);
    c.call_tool("t", json!({})).await.unwrap();
    // A stalled server cannot outlive the deadline.
    let err = c
        .request_with(
            "tools/list",
            None,
            CallOptions::timeout(Duration::from_millis(300)),
        )
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    // Every request went to the JSON-RPC path, with no MCP handshake.
    assert!(srv.requests().iter().all(|r| r.path.starts_with("/rpc")));
    assert_eq!(srv.count("server/discover") + srv.count("initialize"), 0);
}
