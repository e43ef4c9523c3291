//! The legacy HTTP+SSE transport of MCP 2024-11-05 (enabled by [`GatewayConfig::legacy_sse`]):
//! `GET /sse` opens a session whose first event is `event: endpoint` naming
//! `/message?sessionId=…`; every message the client `POST`s there is answered `202 Accepted`,
//! and every answer, server request and notification travels as `event: message` on the one
//! SSE stream. Method semantics are the `/mcp` endpoint's own (stateful era, the version the
//! client offered if the gateway knows it).
//!
//! With [`LegacyEndpoint::at_mcp_path`] the MCP path itself behaves like a 2024-11-05 server:
//! `POST /mcp` answers `405` and `GET /mcp` opens the legacy stream — what a client's
//! backwards-compatible fallback meets.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::http_util::{sse, status_only, text, Body};
use crate::jsonrpc::{error_response, result_response, Incoming};
use crate::mcp::dispatch::{self, CallCtx, Emitter, Era};
use crate::router::HttpRequest;
use crate::sse::StreamKind;
use crate::state::{lock, State};

/// The SSE path.
pub(crate) const SSE_PATH: &str = "/sse";
/// The path messages are posted to.
pub(crate) const MESSAGE_PATH: &str = "/message";

/// What the legacy stream does first, for fault tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum LegacyFirstEvent {
    /// `event: endpoint` with a relative URI (the normal case).
    #[default]
    Endpoint,
    /// `event: endpoint` with an absolute URI on this gateway's origin.
    AbsoluteEndpoint,
    /// `event: endpoint` naming another origin (`http://other.invalid:9/message`).
    ForeignEndpoint,
    /// An `event: message` first (not a legacy server).
    Message,
    /// The stream ends before any event.
    Close,
    /// No event at all: the stream stays open and silent.
    Silent,
}

/// Settings of the legacy HTTP+SSE endpoint. Off by default.
#[derive(Clone, Debug, Default)]
pub struct LegacyEndpoint {
    pub(crate) enabled: bool,
    pub(crate) at_mcp_path: bool,
    pub(crate) first_event: LegacyFirstEvent,
    pub(crate) drop_on_tool: Option<String>,
    pub(crate) garbage: bool,
}

impl LegacyEndpoint {
    /// Serves `GET /sse` and `POST /message`.
    pub fn enabled() -> Self {
        LegacyEndpoint {
            enabled: true,
            ..LegacyEndpoint::default()
        }
    }

    /// Also makes the MCP path a 2024-11-05 server: `POST` answers 405, `GET` opens the legacy
    /// stream.
    #[must_use]
    pub fn at_mcp_path(mut self, on: bool) -> Self {
        self.at_mcp_path = on;
        self
    }

    /// What the stream sends first (see [`LegacyFirstEvent`]).
    #[must_use]
    pub fn first_event(mut self, first: LegacyFirstEvent) -> Self {
        self.first_event = first;
        self
    }

    /// Sends junk right after `endpoint`: data that is not JSON, an event of an unknown type, a
    /// response to no request, a second `endpoint` and a comment. A client must skip all of it.
    #[must_use]
    pub fn garbage_after_endpoint(mut self, on: bool) -> Self {
        self.garbage = on;
        self
    }

    /// Ends the session's SSE stream when a `tools/call` of this tool arrives, before
    /// answering it (a stream dropped mid-call).
    #[must_use]
    pub fn drop_stream_on_tool(mut self, tool: impl Into<String>) -> Self {
        self.drop_on_tool = Some(tool.into());
        self
    }
}

/// Handles the legacy routes; `None` when the request is not one of them.
pub(crate) fn route(state: &Arc<State>, req: &HttpRequest) -> Option<Response<Body>> {
    let config = &state.config.legacy;
    if !config.enabled {
        return None;
    }
    let path = req.parts.uri.path();
    let mcp_path = config.at_mcp_path && path == crate::mcp::PATH;
    match (&req.parts.method, path) {
        (&Method::GET, SSE_PATH) => Some(open(state, req)),
        (&Method::GET, _) if mcp_path => Some(open(state, req)),
        (&Method::POST, MESSAGE_PATH) => Some(post(state, req)),
        (_, _) if mcp_path => Some(
            Response::builder()
                .status(StatusCode::METHOD_NOT_ALLOWED)
                .header(http::header::ALLOW, "GET")
                .body(crate::http_util::full("Method Not Allowed"))
                .unwrap_or_else(|_| status_only(StatusCode::METHOD_NOT_ALLOWED)),
        ),
        _ => None,
    }
}

/// `GET /sse`: a new session and its stream, `endpoint` first.
fn open(state: &Arc<State>, req: &HttpRequest) -> Response<Body> {
    let session = state.create_session("2024-11-05");
    let (stream, rx) = lock(&state.streams).open(Some(session.clone()), StreamKind::Listener);
    let path = format!("{MESSAGE_PATH}?sessionId={session}&stream={stream}");
    let host = req
        .parts
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_owned();
    let first = match &state.config.legacy.first_event {
        LegacyFirstEvent::Endpoint => Some(format!("event: endpoint\ndata: {path}\n\n")),
        LegacyFirstEvent::AbsoluteEndpoint => {
            Some(format!("event: endpoint\ndata: http://{host}{path}\n\n"))
        }
        LegacyFirstEvent::ForeignEndpoint => Some(format!(
            "event: endpoint\ndata: http://other.invalid:9{path}\n\n"
        )),
        LegacyFirstEvent::Message => Some(format!(
            "event: message\ndata: {}\n\n",
            json!({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "hello"}})
        )),
        LegacyFirstEvent::Close => {
            lock(&state.streams).finish(&stream);
            None
        }
        LegacyFirstEvent::Silent => None,
    };
    let (tx, merged) = tokio::sync::mpsc::unbounded_channel::<Bytes>();
    if let Some(first) = first {
        let _ = tx.send(Bytes::from(first));
        if state.config.legacy.garbage {
            let junk = concat!(
                "event: message\ndata: this is not json\n\n",
                "event: surprise\ndata: {}\n\n",
                "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":\"nobody\",\"result\":{}}\n\n",
                "event: endpoint\ndata: /elsewhere\n\n",
                ": a comment\n\n",
                "data: [1,2,3]\n\n",
            );
            let _ = tx.send(Bytes::from_static(junk.as_bytes()));
        }
    }
    if state.config.legacy.first_event != LegacyFirstEvent::Close {
        // Relay the logical stream's events, each marked `event: message`.
        let mut rx = rx;
        state.spawn(async move {
            while let Some(event) = rx.recv().await {
                let mut framed = b"event: message\n".to_vec();
                framed.extend_from_slice(&event);
                if tx.send(Bytes::from(framed)).is_err() {
                    return;
                }
            }
        });
    }
    sse(merged, &[])
}

/// Query parameter `name` of the request.
fn query<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.parts.uri.query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then_some(v)
    })
}

/// `POST /message?sessionId=…&stream=…`: accepted at once, answered on the stream.
fn post(state: &Arc<State>, req: &HttpRequest) -> Response<Body> {
    let (Some(session), Some(stream)) = (query(req, "sessionId"), query(req, "stream")) else {
        return text(StatusCode::BAD_REQUEST, "Bad Request: no sessionId");
    };
    let Some(version) = state.session(session).map(|s| s.protocol_version) else {
        return text(StatusCode::NOT_FOUND, "Not Found: unknown session");
    };
    if !lock(&state.streams).is_live(stream) {
        return text(
            StatusCode::NOT_FOUND,
            "Not Found: the session's stream is closed",
        );
    }
    let Some(body) = &req.json else {
        return text(StatusCode::BAD_REQUEST, "Bad Request: the body is not JSON");
    };
    let msg = match Incoming::classify(body) {
        Ok(msg) => msg,
        Err(rejected) => {
            let (id, err) = *rejected;
            lock(&state.streams).emit(stream, Some(&error_response(&id, &err)), None);
            return status_only(StatusCode::ACCEPTED);
        }
    };
    let (id, method, params) = match msg {
        Incoming::Response => {
            crate::features::client_asks::deliver(state, body);
            return status_only(StatusCode::ACCEPTED);
        }
        Incoming::Notification { .. } => return status_only(StatusCode::ACCEPTED),
        Incoming::Request { id, method, params } => (id, method, params),
    };
    let stream = stream.to_owned();
    if method == "initialize" {
        let offered = params.get("protocolVersion").and_then(Value::as_str);
        // A server of this transport's era: 2025-03-26 when offered, else 2024-11-05.
        let version = match offered {
            Some("2025-03-26") => "2025-03-26",
            _ => "2024-11-05",
        };
        state.update_session(session, |s| s.protocol_version = version.to_owned());
        let response = result_response(&id, dispatch::initialize_result(state, version));
        lock(&state.streams).emit(&stream, Some(&response), None);
        return status_only(StatusCode::ACCEPTED);
    }
    let drop_now = method == "tools/call"
        && state.config.legacy.drop_on_tool.as_deref()
            == params.get("name").and_then(Value::as_str);
    if drop_now {
        lock(&state.streams).finish(&stream);
        return status_only(StatusCode::ACCEPTED);
    }
    let ctx = CallCtx {
        state: Arc::clone(state),
        era: Era::Stateful { version },
        emitter: Some(Emitter {
            state: Arc::clone(state),
            stream: stream.clone(),
        }),
    };
    let shared = Arc::clone(state);
    state.spawn(async move {
        let response = dispatch::respond(&ctx, &id, &method, &params).await;
        lock(&shared.streams).emit(&stream, Some(&response), None);
    });
    status_only(StatusCode::ACCEPTED)
}
