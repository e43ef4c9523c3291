//! A tiny raw HTTP/1.1 client (hyper's low-level connection API; no Conduit crates) and MCP
//! request builders for the gateway tests.
#![allow(dead_code)]

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpStream;

pub const MODERN: &str = "2026-07-28";
const TIMEOUT: Duration = Duration::from_secs(5);

/// A fully read response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn events(&self) -> Vec<Event> {
        parse_events(&self.body)
    }
    /// The JSON-RPC message of a JSON body or the last data event of an SSE body.
    pub fn message(&self) -> Value {
        if self
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/event-stream"))
        {
            let events = self.events();
            let last = events
                .iter()
                .rev()
                .find(|e| !e.data.is_empty())
                .expect("an event with data");
            serde_json::from_str(&last.data).expect("JSON data")
        } else {
            self.json()
        }
    }
}

/// One SSE event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: Option<String>,
    pub retry: Option<u64>,
    pub data: String,
}

impl Event {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).expect("event data is JSON")
    }
}

pub fn parse_events(text: &str) -> Vec<Event> {
    text.split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut ev = Event {
                id: None,
                retry: None,
                data: String::new(),
            };
            for line in block.lines() {
                let (field, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "id" => ev.id = Some(value.to_owned()),
                    "retry" => ev.retry = value.parse().ok(),
                    "data" => ev.data.push_str(value),
                    _ => {}
                }
            }
            ev
        })
        .collect()
}

async fn send(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> hyper::Response<Incoming> {
    let uri: http::Uri = url.parse().expect("url");
    let authority = uri.authority().expect("authority").to_string();
    let stream = TcpStream::connect(&authority).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut builder = Request::builder()
        .method(method)
        .uri(uri.path())
        .header("host", authority);
    for (n, v) in headers {
        builder = builder.header(*n, *v);
    }
    let req = builder
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .expect("request");
    tokio::time::timeout(TIMEOUT, sender.send_request(req))
        .await
        .expect("response in time")
        .expect("response")
}

/// Sends a request and reads the whole body.
pub async fn request(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> Resp {
    let resp = send(method, url, headers, body).await;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = tokio::time::timeout(TIMEOUT, resp.into_body().collect())
        .await
        .expect("body in time")
        .expect("body")
        .to_bytes();
    Resp {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).expect("utf-8 body"),
    }
}

/// A POST with the standard Accept and Content-Type headers plus `extra`.
pub async fn post(url: &str, extra: &[(&str, &str)], body: &Value) -> Resp {
    let mut headers = vec![
        ("accept", "application/json, text/event-stream"),
        ("content-type", "application/json"),
    ];
    headers.extend_from_slice(extra);
    request(Method::POST, url, &headers, Some(body.to_string())).await
}

/// An open SSE response read incrementally.
pub struct Stream {
    pub status: u16,
    pub headers: HeaderMap,
    body: Incoming,
    buf: String,
}

impl Stream {
    /// The next event, or `None` if the stream ended or nothing arrived within `wait`.
    pub async fn next_event(&mut self, wait: Duration) -> Option<Event> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(pos) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..pos + 2).collect();
                return parse_events(&block).into_iter().next();
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame())
                .await
                .ok()??
                .ok()?;
            if let Ok(data) = frame.into_data() {
                self.buf
                    .push_str(std::str::from_utf8(&data).expect("utf-8"));
            }
        }
    }

    /// Whether the body has ended (within `wait`), discarding anything else.
    pub async fn ended(&mut self, wait: Duration) -> bool {
        matches!(
            tokio::time::timeout(wait, self.body.frame()).await,
            Ok(None)
        )
    }
}

pub async fn open(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> Stream {
    let resp = send(method, url, headers, body).await;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    Stream {
        status,
        headers,
        body: resp.into_body(),
        buf: String::new(),
    }
}

// ---- stateful era ----

/// A stateful session driven by hand.
pub struct Legacy {
    pub url: String,
    pub session: String,
    pub version: String,
    next_id: u64,
}

pub fn init_body(version: &str) -> Value {
    json!({
        "jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": { "protocolVersion": version, "capabilities": {}, "clientInfo": { "name": "raw-test", "version": "0" } }
    })
}

impl Legacy {
    pub async fn connect(url: &str, version: &str) -> Legacy {
        let resp = post(url, &[], &init_body(version)).await;
        assert_eq!(resp.status, 200, "{}", resp.body);
        let session = resp
            .header("mcp-session-id")
            .expect("session id")
            .to_owned();
        let negotiated = resp.message()["result"]["protocolVersion"]
            .as_str()
            .expect("version")
            .to_owned();
        let legacy = Legacy {
            url: url.to_owned(),
            session,
            version: negotiated,
            next_id: 1,
        };
        let ack = legacy.notify("notifications/initialized", json!({})).await;
        assert_eq!(ack.status, 202);
        legacy
    }

    pub fn headers(&self) -> Vec<(&str, &str)> {
        let mut h = vec![("mcp-session-id", self.session.as_str())];
        if self.version.as_str() >= "2025-06-18" {
            h.push(("mcp-protocol-version", self.version.as_str()));
        }
        h
    }

    pub async fn notify(&self, method: &str, params: Value) -> Resp {
        post(
            &self.url,
            &self.headers(),
            &json!({ "jsonrpc": "2.0", "method": method, "params": params }),
        )
        .await
    }

    pub async fn call(&mut self, method: &str, params: Value) -> Resp {
        self.next_id += 1;
        let body =
            json!({ "jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params });
        post(&self.url, &self.headers(), &body).await
    }
}

// ---- stateless era ----

pub fn meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientInfo": { "name": "raw-test", "version": "0" },
        "io.modelcontextprotocol/clientCapabilities": {}
    })
}

/// A well-formed stateless request body.
pub fn modern_body(method: &str, mut params: Value) -> Value {
    params["_meta"] = meta();
    json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params })
}

/// Sends a well-formed stateless request (headers derived from the body).
pub async fn modern(url: &str, method: &str, params: Value) -> Resp {
    let name = params
        .get("name")
        .or_else(|| params.get("uri"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let body = modern_body(method, params);
    let mut headers = vec![("mcp-protocol-version", MODERN), ("mcp-method", method)];
    if let Some(name) = name.as_deref() {
        headers.push(("mcp-name", name));
    }
    post(url, &headers, &body).await
}
