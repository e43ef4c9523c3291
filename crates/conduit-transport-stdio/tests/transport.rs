//! The stdio transport against the `echo_server` example process: framing, multiplexing by
//! id, inbound routing, process death, oversized lines, and the shutdown sequence.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use conduit_protocol::jsonrpc::{Notification, Outcome, Request, RequestId, Response};
use conduit_transport::{
    Era, Inbound, InboundReceiver, RequestContext, StatelessCancellation, Transport, TransportError,
};
use conduit_transport_stdio::{ShutdownOutcome, StdioConfig, StdioTransport};
use serde_json::{json, Value};

fn ctx() -> RequestContext {
    RequestContext::new(Era::Stateful)
}

fn start(config: StdioConfig) -> (StdioTransport, InboundReceiver) {
    let (tx, rx) = tokio::sync::mpsc::channel(conduit_transport::INBOUND_CAPACITY);
    (StdioTransport::spawn(config, tx).unwrap(), rx)
}

fn echo() -> StdioConfig {
    StdioConfig::new(support::echo_server())
}

async fn call(
    t: &StdioTransport,
    id: i64,
    tool: &str,
    args: Value,
) -> Result<Value, TransportError> {
    let request = Request::new(
        RequestId::Number(id),
        "tools/call",
        Some(json!({"name": tool, "arguments": args})),
    );
    let response = t.request(request, ctx()).await?;
    assert_eq!(response.id, Some(RequestId::Number(id)));
    match response.outcome {
        Outcome::Result(v) => Ok(v),
        Outcome::Error(e) => panic!("tool {tool} failed: {e:?}"),
    }
}

fn text(v: &Value) -> &str {
    v.pointer("/content/0/text")
        .and_then(Value::as_str)
        .unwrap()
}

#[tokio::test]
async fn concurrent_requests_are_matched_by_id() {
    let (t, _rx) = start(echo());
    assert_eq!(
        t.stateless_cancellation(),
        StatelessCancellation::Notification
    );
    // The slowest request is sent first, so responses arrive in another order than requests.
    let calls = (0..16).map(|i| {
        let t = &t;
        async move {
            let ms = (16 - i) * 15;
            let slow = call(t, 1000 + i, "slow", json!({"ms": ms}));
            let echo = call(t, 2000 + i, "echo", json!({"message": format!("m{i}")}));
            let (slow, echo) = tokio::join!(slow, echo);
            assert_eq!(text(&slow.unwrap()), "done");
            assert_eq!(text(&echo.unwrap()), format!("m{i}"));
        }
    });
    futures_join_all(calls).await;
    assert!(matches!(t.shutdown().await.unwrap(), ShutdownOutcome::Exited(s) if s.success()));
}

async fn futures_join_all<F: std::future::Future<Output = ()>>(futures: impl Iterator<Item = F>) {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    for f in set {
        f.await;
    }
}

#[tokio::test]
async fn unknown_ids_are_dropped_and_stderr_is_not_an_error() {
    let (t, mut rx) = start(echo());
    // `stray` first writes a response with an id nobody asked for.
    let v = call(&t, 1, "stray", json!({})).await.unwrap();
    assert_eq!(text(&v), "after the stray response");
    // `chatty` writes to stderr and sends a notification before answering.
    let v = call(&t, 2, "chatty", json!({})).await.unwrap();
    assert_eq!(text(&v), "chatted");
    let inbound = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap();
    match inbound {
        Inbound::Notification(n) => assert_eq!(n.method, "notifications/message"),
        other => panic!("expected a notification, got {other:?}"),
    }
    t.shutdown().await.unwrap();
}

#[tokio::test]
async fn server_requests_reach_the_inbound_channel_and_can_be_answered() {
    let (t, mut rx) = start(echo());
    let call = call(&t, 7, "ask_client", json!({}));
    let answer = async {
        let inbound = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .unwrap()
            .unwrap();
        let Inbound::Request(r) = inbound else {
            panic!("expected a request, got {inbound:?}")
        };
        assert_eq!(r.method, "ping");
        t.respond(Response::result(r.id.clone(), json!({})), ctx())
            .await
            .unwrap();
    };
    let (result, ()) = tokio::join!(call, answer);
    assert!(text(&result.unwrap()).starts_with("client answered"));
    t.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_crash_fails_pending_and_later_calls_with_a_typed_error() {
    let (t, _rx) = start(echo());
    let pending = call(&t, 1, "slow", json!({"ms": 60_000}));
    let crash = async {
        // Let the slow request reach the server first.
        tokio::time::sleep(Duration::from_millis(50)).await;
        call(&t, 2, "crash", json!({"code": 3})).await
    };
    let (pending, crash) = tokio::time::timeout(Duration::from_secs(20), async {
        tokio::join!(pending, crash)
    })
    .await
    .expect("pending calls fail promptly when the process dies");
    for outcome in [pending, crash] {
        match outcome {
            Err(TransportError::ProcessExited { status, .. }) => {
                assert_eq!(status, "exited with status 3")
            }
            other => panic!("expected ProcessExited, got {other:?}"),
        }
    }
    let later = t
        .notify(Notification::new("notifications/initialized", None), ctx())
        .await;
    assert!(
        matches!(later, Err(TransportError::ProcessExited { .. })),
        "{later:?}"
    );
    assert!(
        matches!(t.shutdown().await.unwrap(), ShutdownOutcome::Exited(s) if s.code() == Some(3))
    );
}

#[tokio::test]
async fn an_oversized_line_is_a_clear_error() {
    let (t, _rx) = start(echo().max_line_bytes(4096));
    assert_eq!(
        text(&call(&t, 1, "big", json!({"bytes": 1000})).await.unwrap()).len(),
        1000
    );
    match call(&t, 2, "big", json!({"bytes": 100_000})).await {
        Err(e @ TransportError::TooLarge { limit: 4096 }) => {
            assert!(e.to_string().contains("4096"), "{e}")
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    // The transport is unusable afterwards, and says why.
    assert!(matches!(
        call(&t, 3, "echo", json!({"message": "x"})).await,
        Err(TransportError::TooLarge { .. })
    ));
    t.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutdown_closes_stdin_then_terminates_then_kills() {
    let grace = (Duration::from_millis(300), Duration::from_millis(300));
    // Exits when stdin closes.
    let (t, _rx) = start(echo().shutdown_grace(grace.0, grace.1));
    call(&t, 1, "echo", json!({"message": "hi"})).await.unwrap();
    assert!(matches!(t.shutdown().await.unwrap(), ShutdownOutcome::Exited(s) if s.success()));
    assert_eq!(
        t.shutdown().await.unwrap(),
        ShutdownOutcome::AlreadyShutDown
    );
    assert!(matches!(
        call(&t, 2, "echo", json!({})).await,
        Err(TransportError::Closed)
    ));

    // Ignores stdin closing: SIGTERM ends it.
    let (t, _rx) = start(
        echo()
            .arg("--ignore-stdin-close")
            .shutdown_grace(grace.0, grace.1),
    );
    call(&t, 1, "echo", json!({"message": "hi"})).await.unwrap();
    match t.shutdown().await.unwrap() {
        ShutdownOutcome::Terminated(s) => assert!(!s.success()),
        other => panic!("expected Terminated, got {other:?}"),
    }

    // Ignores SIGTERM too (inherited across exec): SIGKILL ends it.
    let script = format!(
        "trap '' TERM; exec '{}' --ignore-stdin-close",
        support::echo_server().display()
    );
    let (t, _rx) = start(
        StdioConfig::new("sh")
            .arg("-c")
            .arg(script)
            .shutdown_grace(grace.0, grace.1),
    );
    call(&t, 1, "echo", json!({"message": "hi"})).await.unwrap();
    match t.shutdown().await.unwrap() {
        ShutdownOutcome::Killed(s) => assert!(!s.success()),
        other => panic!("expected Killed, got {other:?}"),
    }
}

#[tokio::test]
async fn dropping_the_transport_kills_the_process() {
    let (t, _rx) = start(echo().arg("--ignore-stdin-close"));
    call(&t, 1, "echo", json!({"message": "hi"})).await.unwrap();
    let pid = t.pid().unwrap();
    drop(t);
    // Gone or a zombie awaiting the runtime's reaper: either way, no longer running.
    let stat = format!("/proc/{pid}/stat");
    let mut running = true;
    for _ in 0..500 {
        running = match std::fs::read_to_string(&stat) {
            Err(_) => false,
            Ok(s) => !s
                .rsplit(')')
                .next()
                .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        };
        if !running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        !running,
        "process {pid} still runs after the transport was dropped"
    );
}

#[tokio::test]
async fn a_missing_program_is_a_connect_error() {
    let (tx, _rx) = tokio::sync::mpsc::channel(8);
    let err = StdioTransport::spawn(StdioConfig::new("/nonexistent/mcp-server"), tx).unwrap_err();
    assert!(matches!(err, TransportError::Connect { .. }), "{err:?}");
    assert!(err.to_string().contains("/nonexistent/mcp-server"), "{err}");
    assert!(StdioConfig::from_command_line("  ").is_err());
    assert!(StdioConfig::from_command_line("node 'unterminated").is_err());
}

#[test]
fn debug_output_hides_environment_values() {
    let config = StdioConfig::new("server").env("API_KEY", "s3cr3t-value");
    let shown = format!("{config:?}");
    assert!(shown.contains("API_KEY"));
    assert!(!shown.contains("s3cr3t-value"));
}
