//! The Streamable HTTP MCP endpoint (`/mcp`): transport checks, era selection, sessions and
//! response framing. Method semantics live in [`dispatch`] and [`crate::features`].

pub(crate) mod dispatch;
mod stateful;
pub(crate) mod stateless;
pub(crate) mod versions;

use std::sync::Arc;

use http::header::{HeaderName, ALLOW};
use http::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::config::{EraSupport, ResponseMode};
use crate::http_util::{
    accepts, finish, full, is_json_content_type, json, json_with_headers, rpc_error, sse,
    status_only, text, Body,
};
use crate::jsonrpc::{code, Incoming, RpcError};
use crate::router::HttpRequest;
use crate::sse::StreamKind;
use crate::state::{lock, State};
use dispatch::{CallCtx, Emitter, Era};
use versions::{META_PROTOCOL_VERSION, STATELESS_VERSIONS};

/// The MCP endpoint path.
pub(crate) const PATH: &str = "/mcp";

/// `Mcp-Session-Id`.
pub(crate) const SESSION_HEADER: &str = "mcp-session-id";
/// `MCP-Protocol-Version`.
pub(crate) const VERSION_HEADER: &str = "mcp-protocol-version";
/// `Mcp-Method`.
pub(crate) const METHOD_HEADER: &str = "mcp-method";
/// `Mcp-Name`.
pub(crate) const NAME_HEADER: &str = "mcp-name";
/// `Last-Event-ID`.
pub(crate) const LAST_EVENT_ID: &str = "last-event-id";

/// Handles every request to [`PATH`].
pub(crate) async fn handle(state: Arc<State>, req: HttpRequest) -> Response<Body> {
    if state.config.validate_origin && !origin_allowed(&req.parts.headers) {
        return rpc_error(
            StatusCode::FORBIDDEN,
            &Value::Null,
            RpcError::new(code::INVALID_REQUEST, "Forbidden: Origin not allowed"),
        );
    }
    match req.parts.method {
        Method::POST => post(&state, &req).await,
        Method::GET => get(&state, &req),
        Method::DELETE => delete(&state, &req),
        _ => method_not_allowed(&state),
    }
}

/// The host part of `host[:port]`, `[v6]:port` or `scheme://authority[/…]`.
fn host_of(value: &str) -> &str {
    let authority = value.split_once("://").map_or(value, |(_, rest)| rest);
    let authority = authority.split('/').next().unwrap_or("");
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().unwrap_or("");
    }
    authority
        .rsplit_once(':')
        .map_or(authority, |(host, _)| host)
}

/// DNS-rebinding protection: an `Origin`, when present, must be a loopback host or the host the
/// request was addressed to.
fn origin_allowed(headers: &http::HeaderMap) -> bool {
    let Some(origin) = headers.get(http::header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let origin_host = host_of(origin).to_ascii_lowercase();
    if origin_host == "localhost" || origin_host == "::1" || origin_host.starts_with("127.") {
        return true;
    }
    headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|host| {
            !origin_host.is_empty() && host_of(host).eq_ignore_ascii_case(&origin_host)
        })
}

fn method_not_allowed(state: &State) -> Response<Body> {
    let allow = match state.config.era {
        EraSupport::StatelessOnly => "POST",
        _ => "GET, POST, DELETE",
    };
    finish(
        Response::builder()
            .status(StatusCode::METHOD_NOT_ALLOWED)
            .header(ALLOW, allow),
        full("Method Not Allowed"),
    )
}

fn status_override(status: u16, body: &str) -> Response<Body> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match serde_json::from_str::<Value>(body) {
        Ok(value) => json(status, &value),
        Err(_) => text(status, body),
    }
}

async fn post(state: &Arc<State>, req: &HttpRequest) -> Response<Body> {
    let faults = state.faults();
    if let Some((status, body)) = &faults.status_override {
        return status_override(*status, body);
    }
    if faults.stall {
        state.until_shutdown().await;
        return status_only(StatusCode::SERVICE_UNAVAILABLE);
    }
    let headers = &req.parts.headers;
    if !(accepts(headers, "application/json") && accepts(headers, "text/event-stream")) {
        return rpc_error(
            StatusCode::NOT_ACCEPTABLE,
            &Value::Null,
            RpcError::new(
                code::INVALID_REQUEST,
                "Not Acceptable: the Accept header must list both application/json and text/event-stream",
            ),
        );
    }
    if !is_json_content_type(headers) {
        return rpc_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &Value::Null,
            RpcError::new(
                code::INVALID_REQUEST,
                "Unsupported Media Type: Content-Type must be application/json",
            ),
        );
    }
    let Some(body) = &req.json else {
        return rpc_error(
            StatusCode::BAD_REQUEST,
            &Value::Null,
            RpcError::new(code::PARSE_ERROR, "Parse error: the body is not valid JSON"),
        );
    };
    let msg = match Incoming::classify(body) {
        Ok(msg) => msg,
        Err(rejected) => {
            let (id, err) = *rejected;
            return rpc_error(StatusCode::BAD_REQUEST, &id, err);
        }
    };
    if matches!(msg, Incoming::Response) {
        // A client's answer to a server-to-client request (see `features::client_asks`).
        crate::features::client_asks::deliver(state, body);
    }
    let is_discover = msg.method() == Some("server/discover");
    // `initialize` always selects the legacy era, whatever `_meta` it carries.
    let has_meta_version = msg.method() != Some("initialize")
        && msg
            .params()
            .and_then(|p| p.get("_meta"))
            .and_then(|m| m.get(META_PROTOCOL_VERSION))
            .is_some();
    match state.config.era {
        EraSupport::Both if is_discover || has_meta_version => stateless::post(state, headers, msg).await,
        EraSupport::Both => stateful::post(state, headers, msg).await,
        EraSupport::StatefulOnly if is_discover => stateful::reject_discover(state, &msg).await,
        EraSupport::StatefulOnly => stateful::post(state, headers, msg).await,
        EraSupport::StatelessOnly if msg.method() == Some("initialize") => rpc_error(
            StatusCode::NOT_FOUND,
            &msg.id(),
            RpcError::new(
                code::METHOD_NOT_FOUND,
                format!(
                    "Method not found: initialize. This server speaks only protocol version(s) {} with per-request _meta",
                    STATELESS_VERSIONS.join(", ")
                ),
            )
            .with_data(json!({ "supported": STATELESS_VERSIONS })),
        ),
        EraSupport::StatelessOnly => stateless::post(state, headers, msg).await,
    }
}

/// What to answer with.
pub(crate) enum Work {
    /// Run the method.
    Dispatch { method: String, params: Value },
    /// A response computed by the transport (e.g. `initialize`).
    Ready(Value),
}

/// One request to answer in the configured [`ResponseMode`].
pub(crate) struct Answer {
    pub(crate) id: Value,
    pub(crate) work: Work,
    pub(crate) era: Era,
    /// Stateful session, if any (makes the SSE stream resumable by that session).
    pub(crate) session: Option<String>,
    pub(crate) extra_headers: Vec<(HeaderName, String)>,
    /// Whether the `drop_sse_after_first_event` fault applies.
    pub(crate) droppable: bool,
}

pub(crate) async fn answer(state: &Arc<State>, a: Answer) -> Response<Body> {
    if state.is_shutting_down() {
        return status_only(StatusCode::SERVICE_UNAVAILABLE);
    }
    let faults = state.faults();
    let drop = a.droppable && a.session.is_some() && faults.drop_sse_after_first_event;
    if !drop && state.config.response_mode == ResponseMode::Json {
        let ctx = CallCtx {
            state: Arc::clone(state),
            era: a.era,
            emitter: None,
        };
        let response = run(&ctx, &a.id, a.work).await;
        return json_with_headers(StatusCode::OK, &response, &a.extra_headers);
    }
    let (stream, rx) = {
        let mut streams = lock(&state.streams);
        let (stream, rx) = streams.open(a.session.clone(), StreamKind::Request);
        if drop {
            streams.emit(&stream, None, faults.sse_retry_ms);
            streams.detach(&stream);
        } else if state.config.sse_priming {
            streams.emit(&stream, None, None);
        }
        (stream, rx)
    };
    let ctx = CallCtx {
        state: Arc::clone(state),
        era: a.era,
        emitter: Some(Emitter {
            state: Arc::clone(state),
            stream: stream.clone(),
        }),
    };
    let id = a.id;
    let work = a.work;
    let shared = Arc::clone(state);
    state.spawn(async move {
        let response = run(&ctx, &id, work).await;
        let mut streams = lock(&shared.streams);
        streams.emit(&stream, Some(&response), None);
        streams.finish(&stream);
    });
    sse(rx, &a.extra_headers)
}

async fn run(ctx: &CallCtx, id: &Value, work: Work) -> Value {
    match work {
        Work::Dispatch { method, params } => dispatch::respond(ctx, id, &method, &params).await,
        Work::Ready(response) => response,
    }
}

fn get(state: &Arc<State>, req: &HttpRequest) -> Response<Body> {
    if state.config.era == EraSupport::StatelessOnly || !state.config.get_stream {
        return method_not_allowed(state);
    }
    let headers = &req.parts.headers;
    if !accepts(headers, "text/event-stream") {
        return rpc_error(
            StatusCode::NOT_ACCEPTABLE,
            &Value::Null,
            RpcError::new(
                code::INVALID_REQUEST,
                "Not Acceptable: the Accept header must list text/event-stream",
            ),
        );
    }
    let (session_id, _) = match stateful::check_session(state, headers, &Value::Null) {
        Ok(found) => found,
        Err(resp) => return *resp,
    };
    match crate::http_util::header_str(headers, LAST_EVENT_ID) {
        Ok(Some(last)) => match lock(&state.streams).resume(&session_id, last) {
            Ok(rx) => sse(rx, &[]),
            Err(_) => rpc_error(
                StatusCode::BAD_REQUEST,
                &Value::Null,
                RpcError::new(
                    code::BAD_REQUEST,
                    format!("Bad Request: unknown Last-Event-ID {last:?}"),
                ),
            ),
        },
        Ok(None) => {
            let mut streams = lock(&state.streams);
            let (stream, rx) = streams.open(Some(session_id), StreamKind::Listener);
            if state.config.sse_priming {
                streams.emit(&stream, None, None);
            }
            sse(rx, &[])
        }
        Err(()) => rpc_error(
            StatusCode::BAD_REQUEST,
            &Value::Null,
            RpcError::new(code::BAD_REQUEST, "Bad Request: malformed Last-Event-ID"),
        ),
    }
}

fn delete(state: &Arc<State>, req: &HttpRequest) -> Response<Body> {
    if state.config.era == EraSupport::StatelessOnly || !state.config.session_delete {
        return method_not_allowed(state);
    }
    match stateful::check_session(state, &req.parts.headers, &Value::Null) {
        Ok((session_id, _)) => {
            state.end_session(&session_id);
            status_only(StatusCode::OK)
        }
        Err(resp) => *resp,
    }
}

/// Sends `message` on every open listener (GET) stream; returns how many received it.
pub(crate) fn push_to_listeners(state: &State, message: &Value) -> usize {
    let mut streams = lock(&state.streams);
    let ids = streams.attached_listeners();
    for id in &ids {
        streams.emit(id, Some(message), None);
    }
    ids.len()
}

#[cfg(test)]
mod tests {
    use super::{host_of, origin_allowed};
    use http::HeaderMap;

    fn headers(origin: &str, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("origin", origin.parse().unwrap_or_else(|_| unreachable!()));
        h.insert("host", host.parse().unwrap_or_else(|_| unreachable!()));
        h
    }

    #[test]
    fn origin_checks() {
        assert_eq!(host_of("http://[::1]:8080"), "::1");
        assert_eq!(host_of("https://example.com"), "example.com");
        assert_eq!(host_of("example.com:443"), "example.com");
        assert!(origin_allowed(&HeaderMap::new()));
        assert!(origin_allowed(&headers(
            "http://localhost:3000",
            "127.0.0.1:1"
        )));
        assert!(origin_allowed(&headers("https://gw.test", "gw.test:8443")));
        assert!(!origin_allowed(&headers(
            "https://evil.example",
            "127.0.0.1:1"
        )));
        assert!(!origin_allowed(&headers("null", "127.0.0.1:1")));
    }
}
