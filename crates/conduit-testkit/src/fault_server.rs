//! A scripted HTTP/1.1 server for wire-level faults that a well-behaved server never produces:
//! connections closed or reset mid-response, truncated bodies, malformed JSON, wrong or duplicate
//! ids, oversized bodies, redirects, rate limits with `Retry-After`, slow-loris stalls.
//!
//! Each request is answered by a script — a list of [`Step`]s — chosen by the test's handler
//! from the request's number on the server and its parsed JSON-RPC body. Everything is raw bytes on
//! a `TcpStream`, so the faults are exactly what the client sees.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use conduit_testkit::fault_server::{FaultServer, Step};
//! let server = FaultServer::start(|req| {
//!     if req.index == 0 {
//!         vec![Step::status(503, &[("retry-after", "0")], "busy")]
//!     } else {
//!         vec![Step::json_result(req, serde_json::json!({}))]
//!     }
//! })
//! .await?;
//! println!("{}", server.url());
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// One request as the fault server read it.
#[derive(Clone, Debug)]
pub struct FaultRequest {
    /// 0 for the first request the server received, 1 for the next, …
    pub index: usize,
    /// `GET`, `POST`, …
    pub method: String,
    /// The request target, e.g. `/mcp`.
    pub path: String,
    /// Header names (lower case) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON, when it is JSON.
    pub body: Option<Value>,
}

impl FaultRequest {
    /// A header's value (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The JSON-RPC method of the body.
    pub fn rpc_method(&self) -> Option<&str> {
        self.body.as_ref()?.get("method")?.as_str()
    }

    /// The JSON-RPC id of the body (`null` when absent).
    pub fn rpc_id(&self) -> Value {
        self.body
            .as_ref()
            .and_then(|b| b.get("id"))
            .cloned()
            .unwrap_or(Value::Null)
    }
}

/// One thing the server does while answering.
#[derive(Clone, Debug)]
pub enum Step {
    /// Write these bytes.
    Write(Vec<u8>),
    /// Wait this long.
    Sleep(Duration),
    /// Close the connection gracefully (FIN).
    Close,
    /// Abort the connection (RST): the client sees a reset, not an orderly end.
    Reset,
    /// Never answer and never close (until the server is dropped).
    Stall,
}

fn response_head(status: u16, headers: &[(&str, &str)], content_length: Option<usize>) -> String {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(len) = content_length {
        head.push_str(&format!("content-length: {len}\r\n"));
    }
    head.push_str("\r\n");
    head
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        307 => "Temporary Redirect",
        400 => "Bad Request",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

impl Step {
    /// A complete response with a body and a correct `Content-Length`.
    pub fn status(status: u16, headers: &[(&str, &str)], body: &str) -> Step {
        let mut bytes = response_head(status, headers, Some(body.len())).into_bytes();
        bytes.extend_from_slice(body.as_bytes());
        Step::Write(bytes)
    }

    /// A `200 application/json` response with this exact body text.
    pub fn json_text(body: &str) -> Step {
        Step::status(200, &[("content-type", "application/json")], body)
    }

    /// A `200 application/json` JSON-RPC result answering `req`.
    pub fn json_result(req: &FaultRequest, result: Value) -> Step {
        let body = json!({"jsonrpc": "2.0", "id": req.rpc_id(), "result": result});
        Step::json_text(&body.to_string())
    }

    /// A `202 Accepted` with no body (for notifications).
    pub fn accepted() -> Step {
        Step::status(202, &[], "")
    }

    /// The head of a `200 text/event-stream` response without a length (the connection carries
    /// the stream; follow with [`Step::sse_event`]s and a [`Step::Close`] or [`Step::Reset`]).
    pub fn sse_head() -> Step {
        Step::Write(
            response_head(
                200,
                &[
                    ("content-type", "text/event-stream"),
                    ("connection", "close"),
                ],
                None,
            )
            .into_bytes(),
        )
    }

    /// One SSE event carrying `data` (and `id:` when given).
    pub fn sse_event(id: Option<&str>, data: &Value) -> Step {
        let mut event = String::new();
        if let Some(id) = id {
            event.push_str(&format!("id: {id}\n"));
        }
        event.push_str(&format!("data: {data}\n\n"));
        Step::Write(event.into_bytes())
    }

    /// A response head announcing `announced` bytes of JSON, followed by only `sent` of them
    /// (the caller closes or resets next).
    pub fn truncated_json(announced: usize, sent: &str) -> Step {
        let mut bytes = response_head(
            200,
            &[("content-type", "application/json")],
            Some(announced),
        )
        .into_bytes();
        bytes.extend_from_slice(sent.as_bytes());
        Step::Write(bytes)
    }
}

/// What a test gives the server: the script for each request.
pub type FaultHandler = Arc<dyn Fn(&FaultRequest) -> Vec<Step> + Send + Sync>;

/// The running fault server. Dropping it stops it and releases stalled connections.
pub struct FaultServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<FaultRequest>>>,
    stop: watch::Sender<bool>,
}

impl std::fmt::Debug for FaultServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl FaultServer {
    /// Starts on 127.0.0.1 with a free port.
    pub async fn start<F>(handler: F) -> std::io::Result<FaultServer>
    where
        F: Fn(&FaultRequest) -> Vec<Step> + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (stop, stopped) = watch::channel(false);
        let handler: FaultHandler = Arc::new(handler);
        let counter = Arc::new(AtomicUsize::new(0));
        let log = Arc::clone(&requests);
        tokio::spawn(async move {
            let mut stopped_accept = stopped.clone();
            loop {
                tokio::select! {
                    _ = stopped_accept.changed() => return,
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let conn = Connection {
                            handler: Arc::clone(&handler),
                            counter: Arc::clone(&counter),
                            log: Arc::clone(&log),
                            stopped: stopped.clone(),
                        };
                        tokio::spawn(conn.serve(stream));
                    }
                }
            }
        });
        Ok(FaultServer {
            addr,
            requests,
            stop,
        })
    }

    /// `http://127.0.0.1:PORT/mcp`.
    pub fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    /// The listening address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<FaultRequest> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// How many requests carried this JSON-RPC method.
    pub fn count(&self, rpc_method: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.rpc_method() == Some(rpc_method))
            .count()
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

struct Connection {
    handler: FaultHandler,
    counter: Arc<AtomicUsize>,
    log: Arc<Mutex<Vec<FaultRequest>>>,
    stopped: watch::Receiver<bool>,
}

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 8 * 1024 * 1024;

impl Connection {
    async fn serve(mut self, mut stream: TcpStream) {
        let mut buf = Vec::new();
        loop {
            let Some(req) = read_request(&mut stream, &mut buf, &self.counter).await else {
                return;
            };
            if let Ok(mut log) = self.log.lock() {
                log.push(req.clone());
            }
            let steps = (self.handler)(&req);
            for step in steps {
                match step {
                    Step::Write(bytes) => {
                        if stream.write_all(&bytes).await.is_err() {
                            return;
                        }
                        let _ = stream.flush().await;
                    }
                    Step::Sleep(d) => tokio::time::sleep(d).await,
                    Step::Close => {
                        let _ = stream.shutdown().await;
                        return;
                    }
                    Step::Reset => {
                        let _ = stream.set_zero_linger();
                        return;
                    }
                    Step::Stall => {
                        let _ = self.stopped.changed().await;
                        return;
                    }
                }
            }
        }
    }
}

/// Reads one HTTP/1.1 request (head + `Content-Length` body). `None` when the peer closed or sent
/// something unreadable.
async fn read_request(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    counter: &AtomicUsize,
) -> Option<FaultRequest> {
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let path = request_line.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    if len > MAX_BODY {
        return None;
    }
    let body_start = head_end + 4;
    while buf.len() < body_start + len {
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body_bytes: Vec<u8> = buf[body_start..body_start + len].to_vec();
    buf.drain(..body_start + len);
    let body = serde_json::from_slice(&body_bytes).ok();
    let index = counter.fetch_add(1, Ordering::SeqCst);
    Some(FaultRequest {
        index,
        method,
        path,
        headers,
        body,
    })
}
