//! WebSocket at `/ws` with the `datagrout-jsonrpc.v1` subprotocol (other subprotocols are
//! refused with 400): JSON-RPC requests served concurrently, `subscribe` / `unsubscribe`, topic
//! events published with [`TestGateway::publish`](crate::TestGateway::publish), and switches to
//! drop every connection or to stop answering (pings included). Every frame received is logged
//! in the request log with `http_method` `"WS"`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use http::header::{
    CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL, UPGRADE,
};
use http::{Response, StatusCode};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::http_util::{empty, finish, text, Body};
use crate::jsonrpc::{error_response, result_response, Incoming, RpcError};
use crate::jsonrpc_endpoint;
use crate::router::HttpRequest;
use crate::state::{lock, State};

/// The endpoint path.
pub(crate) const PATH: &str = "/ws";
/// The only subprotocol accepted.
pub(crate) const SUBPROTOCOL: &str = "datagrout-jsonrpc.v1";

enum Out {
    Frame(Value),
    Kill,
}

struct Conn {
    tx: mpsc::UnboundedSender<Out>,
    /// subscription id → topic pattern
    subs: HashMap<String, String>,
}

/// Every open WebSocket connection of one gateway.
#[derive(Default)]
pub(crate) struct Hub {
    conns: Mutex<HashMap<u64, Conn>>,
    next_conn: AtomicU64,
    next_sub: AtomicU64,
    unresponsive: AtomicBool,
    accepted: AtomicU64,
}

impl Hub {
    /// Sends an event to every subscription whose pattern matches `topic`; returns how many
    /// subscriptions got it.
    pub(crate) fn publish(&self, topic: &str, event: &str, data: &Value) -> usize {
        let conns = lock(&self.conns);
        let mut sent = 0;
        for conn in conns.values() {
            for (sub, pattern) in &conn.subs {
                if topic_matches(pattern, topic) {
                    let frame = json!({
                        "jsonrpc": "2.0",
                        "method": "notification",
                        "params": { "subscription": sub, "event": event, "data": data }
                    });
                    if conn.tx.send(Out::Frame(frame)).is_ok() {
                        sent += 1;
                    }
                }
            }
        }
        sent
    }

    /// Drops every connection abruptly (no close frame); returns how many there were.
    pub(crate) fn drop_all(&self) -> usize {
        let mut conns = lock(&self.conns);
        let n = conns.len();
        for (_, conn) in conns.drain() {
            let _ = conn.tx.send(Out::Kill);
        }
        n
    }

    pub(crate) fn set_unresponsive(&self, on: bool) {
        self.unresponsive.store(on, Ordering::Release);
    }

    pub(crate) fn open_connections(&self) -> usize {
        lock(&self.conns).len()
    }

    pub(crate) fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Acquire)
    }

    pub(crate) fn subscriptions(&self) -> Vec<String> {
        lock(&self.conns)
            .values()
            .flat_map(|c| c.subs.values().cloned())
            .collect()
    }
}

/// `*` as a segment matches any one segment; a trailing `*` matches one or more segments.
fn topic_matches(pattern: &str, topic: &str) -> bool {
    let p: Vec<&str> = pattern.split('.').collect();
    let t: Vec<&str> = topic.split('.').collect();
    for (i, seg) in p.iter().enumerate() {
        if *seg == "*" && i == p.len() - 1 {
            return t.len() > i;
        }
        match t.get(i) {
            Some(ts) if *seg == "*" || seg == ts => {}
            _ => return false,
        }
    }
    p.len() == t.len()
}

/// Handles the upgrade request.
pub(crate) async fn handle(state: Arc<State>, mut req: HttpRequest) -> Response<Body> {
    let headers = &req.parts.headers;
    let is_upgrade = headers
        .get(UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let Some(key) = headers.get(SEC_WEBSOCKET_KEY).cloned() else {
        return text(
            StatusCode::BAD_REQUEST,
            "Bad Request: not a WebSocket upgrade",
        );
    };
    if !is_upgrade {
        return text(
            StatusCode::BAD_REQUEST,
            "Bad Request: not a WebSocket upgrade",
        );
    }
    let offered = headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == SUBPROTOCOL);
    if !offered {
        return text(
            StatusCode::BAD_REQUEST,
            format!("Bad Request: the {SUBPROTOCOL} subprotocol is required"),
        );
    }
    let Some(on_upgrade) = req.parts.extensions.remove::<OnUpgrade>() else {
        return text(
            StatusCode::BAD_REQUEST,
            "Bad Request: the connection cannot be upgraded",
        );
    };
    let mut log_headers = http::HeaderMap::new();
    for (n, v) in &req.parts.headers {
        log_headers.append(n.clone(), v.clone());
    }
    let task_state = Arc::clone(&state);
    state.spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let socket =
                    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None)
                        .await;
                serve(task_state, socket, log_headers).await;
            }
            Err(err) => tracing::debug!(%err, "WebSocket upgrade failed"),
        }
    });
    finish(
        Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header(CONNECTION, "Upgrade")
            .header(UPGRADE, "websocket")
            .header(SEC_WEBSOCKET_ACCEPT, derive_accept_key(key.as_bytes()))
            .header(SEC_WEBSOCKET_PROTOCOL, SUBPROTOCOL),
        empty(),
    )
}

fn record_frame(state: &State, headers: &http::HeaderMap, body: &Value) {
    let mut builder = http::Request::builder().uri(PATH);
    if let Ok(method) = http::Method::from_bytes(b"WS") {
        builder = builder.method(method);
    }
    if let Ok(req) = builder.body(()) {
        let (mut parts, ()) = req.into_parts();
        parts.headers = headers.clone();
        state.record(&parts, Some(body.clone()));
    }
}

async fn serve<S>(state: Arc<State>, socket: WebSocketStream<S>, headers: http::HeaderMap)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let hub = &state.ws;
    hub.accepted.fetch_add(1, Ordering::AcqRel);
    let id = hub.next_conn.fetch_add(1, Ordering::Relaxed);
    let (tx, mut rx) = mpsc::unbounded_channel();
    lock(&hub.conns).insert(
        id,
        Conn {
            tx: tx.clone(),
            subs: HashMap::new(),
        },
    );
    let (mut sink, mut stream) = socket.split();
    let shutdown_state = Arc::clone(&state);
    let shutdown = shutdown_state.until_shutdown();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            out = rx.recv() => match out {
                None | Some(Out::Kill) => {
                    // Abrupt: no close frame, the TCP connection just ends.
                    lock(&hub.conns).remove(&id);
                    return;
                }
                Some(Out::Frame(v)) => {
                    if sink.send(Message::text(v.to_string())).await.is_err() {
                        break;
                    }
                }
            },
            frame = stream.next(), if !hub.unresponsive.load(Ordering::Acquire) => match frame {
                None | Some(Err(_)) => break,
                // A frame read just as the switch went on is swallowed, like a black hole would.
                Some(Ok(Message::Text(_))) if hub.unresponsive.load(Ordering::Acquire) => {}
                Some(Ok(Message::Text(t))) => {
                    let Ok(body) = serde_json::from_str::<Value>(t.as_str()) else {
                        let e = error_response(&Value::Null, &RpcError::new(crate::jsonrpc::code::PARSE_ERROR, "Parse error"));
                        let _ = tx.send(Out::Frame(e));
                        continue;
                    };
                    record_frame(&state, &headers, &body);
                    on_message(&state, id, body, &tx);
                }
                Some(Ok(Message::Close(_))) => break,
                Some(Ok(_)) => {}
            },
            // Wake up now and then to notice the unresponsive switch changing.
            () = tokio::time::sleep(std::time::Duration::from_millis(25)) => {}
        }
    }
    lock(&hub.conns).remove(&id);
    let _ = sink.close().await;
}

fn on_message(state: &Arc<State>, conn: u64, body: Value, tx: &mpsc::UnboundedSender<Out>) {
    let hub = &state.ws;
    match Incoming::classify(&body) {
        Ok(Incoming::Request { id, method, params }) if method == "subscribe" => {
            let reply = match params.get("topic").and_then(Value::as_str) {
                Some(topic) if !topic.is_empty() => {
                    let sub = format!("sub-{}", hub.next_sub.fetch_add(1, Ordering::Relaxed) + 1);
                    if let Some(c) = lock(&hub.conns).get_mut(&conn) {
                        c.subs.insert(sub.clone(), topic.to_owned());
                    }
                    result_response(&id, json!({ "subscription": sub }))
                }
                _ => error_response(
                    &id,
                    &RpcError::invalid_params("subscribe requires a non-empty string \"topic\""),
                ),
            };
            let _ = tx.send(Out::Frame(reply));
        }
        Ok(Incoming::Request { id, method, params }) if method == "unsubscribe" => {
            let sub = params
                .get("subscription")
                .and_then(Value::as_str)
                .unwrap_or("");
            let removed = lock(&hub.conns)
                .get_mut(&conn)
                .and_then(|c| c.subs.remove(sub))
                .is_some();
            let reply = if removed {
                result_response(&id, json!({ "unsubscribed": true }))
            } else {
                error_response(
                    &id,
                    &RpcError::invalid_params(format!("unknown subscription {sub:?}")),
                )
            };
            let _ = tx.send(Out::Frame(reply));
        }
        _ => {
            // Served concurrently: a slow tool does not hold up other requests.
            let state = Arc::clone(state);
            let tx = tx.clone();
            tokio::spawn(async move {
                if let Some(reply) = jsonrpc_endpoint::answer(&state, &body).await {
                    let _ = tx.send(Out::Frame(reply));
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::topic_matches;

    #[test]
    fn patterns() {
        assert!(topic_matches("tasks.1.*", "tasks.1.done"));
        assert!(topic_matches("tasks.1.*", "tasks.1.step.2"));
        assert!(!topic_matches("tasks.1.*", "tasks.1"));
        assert!(topic_matches("agents.a.events", "agents.a.events"));
        assert!(!topic_matches("agents.a.events", "agents.b.events"));
        assert!(topic_matches("agents.*.events", "agents.b.events"));
    }
}
