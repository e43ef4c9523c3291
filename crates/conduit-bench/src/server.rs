//! The benchmark server: a minimal hyper HTTP/1.1 server on 127.0.0.1 that answers MCP requests
//! with canned bytes, so that the server is never the bottleneck.
//!
//! Endpoints (all MCP Streamable HTTP, stateful era):
//! * `/json` — answers with `application/json`;
//! * `/sse` — answers with `text/event-stream` (one event);
//! * `/big` — `tools/call` answers with one SSE event whose result carries a large text
//!   content (its size is set when the server starts).
//!
//! `GET` is refused with 405 (no server-to-client stream), `DELETE` is accepted, notifications get
//! 202. The server runs on its own thread with its own single-threaded runtime.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::net::TcpListener;

/// The text every `tools/call` on `/json` and `/sse` returns.
pub const CANNED_TEXT: &str = "ok";

/// A running benchmark server.
pub struct Server {
    /// Its address.
    pub addr: SocketAddr,
    /// Requests answered so far.
    pub requests: Arc<AtomicU64>,
}

impl Server {
    /// The URL of one endpoint (`json`, `sse` or `big`).
    pub fn url(&self, endpoint: &str) -> String {
        format!("http://{}/{endpoint}", self.addr)
    }
}

struct State {
    sessions: AtomicU64,
    requests: Arc<AtomicU64>,
    /// The text of the `/big` result, already JSON-escaped (plain ASCII).
    big_text: Bytes,
}

/// Starts the server on its own thread; `big_bytes` is the size of the `/big` result's text.
pub fn start(big_bytes: usize) -> std::io::Result<Server> {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    std_listener.set_nonblocking(true)?;
    let addr = std_listener.local_addr()?;
    let requests = Arc::new(AtomicU64::new(0));
    let state = Arc::new(State {
        sessions: AtomicU64::new(0),
        requests: requests.clone(),
        big_text: Bytes::from(vec![b'x'; big_bytes]),
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("bench-server".into())
        .spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = TcpListener::from_std(std_listener) else {
                    return;
                };
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    let state = state.clone();
                    tokio::spawn(async move {
                        let service = service_fn(move |req| handle(state.clone(), req));
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
        })?;
    Ok(Server { addr, requests })
}

#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    params: Option<ProbeParams>,
}

#[derive(Deserialize)]
struct ProbeParams {
    #[serde(rename = "protocolVersion", default)]
    protocol_version: Option<String>,
}

type Reply = Response<Full<Bytes>>;

fn empty(status: StatusCode) -> Reply {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = status;
    r
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Reply, Infallible> {
    state.requests.fetch_add(1, Ordering::Relaxed);
    match *req.method() {
        Method::POST => {}
        Method::DELETE => return Ok(empty(StatusCode::OK)),
        _ => return Ok(empty(StatusCode::METHOD_NOT_ALLOWED)),
    }
    let endpoint = match req.uri().path() {
        "/json" => Endpoint::Json,
        "/sse" => Endpoint::Sse,
        "/big" => Endpoint::Big,
        _ => return Ok(empty(StatusCode::NOT_FOUND)),
    };
    let Ok(body) = req.into_body().collect().await else {
        return Ok(empty(StatusCode::BAD_REQUEST));
    };
    let body = body.to_bytes();
    let Ok(probe) = serde_json::from_slice::<Probe>(&body) else {
        return Ok(empty(StatusCode::BAD_REQUEST));
    };
    let (Some(id), Some(method)) = (probe.id, probe.method) else {
        // A notification or a response.
        return Ok(empty(StatusCode::ACCEPTED));
    };
    let id = id.to_string();
    let mut session = None;
    let result: Bytes = match method.as_str() {
        "initialize" => {
            let version = probe
                .params
                .and_then(|p| p.protocol_version)
                .unwrap_or_else(|| "2025-11-25".into());
            let n = state.sessions.fetch_add(1, Ordering::Relaxed);
            session = Some(format!("bench-session-{n}"));
            let result = serde_json::json!({
                "protocolVersion": version,
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "conduit-bench-server", "version": "0"}
            });
            Bytes::from(result.to_string())
        }
        "tools/call" if endpoint == Endpoint::Big => {
            let mut out = BytesMut::with_capacity(state.big_text.len() + 64);
            out.extend_from_slice(br#"{"content":[{"type":"text","text":""#);
            out.extend_from_slice(&state.big_text);
            out.extend_from_slice(br#""}],"isError":false}"#);
            out.freeze()
        }
        "tools/call" => Bytes::from_static(
            br#"{"content":[{"type":"text","text":"ok"}],"isError":false}"#,
        ),
        "tools/list" => Bytes::from_static(
            br#"{"tools":[{"name":"echo","description":"Echoes its input","inputSchema":{"type":"object","properties":{"message":{"type":"string"}}}},{"name":"add","description":"Adds two numbers","inputSchema":{"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"}}}}]}"#,
        ),
        "ping" => Bytes::from_static(b"{}"),
        _ => {
            let body = format!(
                r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":-32601,"message":"Method not found"}}}}"#
            );
            return Ok(reply(endpoint, Bytes::from(body), None));
        }
    };
    let mut message = BytesMut::with_capacity(result.len() + id.len() + 40);
    message.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    message.extend_from_slice(id.as_bytes());
    message.extend_from_slice(br#","result":"#);
    message.extend_from_slice(&result);
    message.extend_from_slice(b"}");
    Ok(reply(endpoint, message.freeze(), session))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Json,
    Sse,
    Big,
}

fn reply(endpoint: Endpoint, message: Bytes, session: Option<String>) -> Reply {
    let (content_type, body) = match endpoint {
        Endpoint::Json => ("application/json", message),
        Endpoint::Sse | Endpoint::Big => {
            let mut out = BytesMut::with_capacity(message.len() + 24);
            out.extend_from_slice(b"event: message\ndata: ");
            out.extend_from_slice(&message);
            out.extend_from_slice(b"\n\n");
            ("text/event-stream", out.freeze())
        }
    };
    let mut response = Response::new(Full::new(body));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    if let Some(session) = session {
        if let Ok(value) = http::HeaderValue::from_str(&session) {
            response.headers_mut().insert("mcp-session-id", value);
        }
    }
    response
}
