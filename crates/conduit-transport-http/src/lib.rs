//! The MCP Streamable HTTP transport.
//!
//! One endpoint URL; every message is a `POST` of one JSON-RPC message with
//! `Accept: application/json, text/event-stream`. The server answers a request either with a JSON
//! body or with an SSE stream that may carry its own requests and notifications before the
//! response; both are handled, the stream incrementally (never buffered whole).
//!
//! * **Stateful era** (2025-11-25 and earlier): the `Mcp-Session-Id` the server issues is kept and
//!   sent on every later request; `MCP-Protocol-Version` is sent once negotiated; after the session
//!   is established a background `GET` stream receives server-initiated messages (a `405` means
//!   the server offers none); a response stream that breaks after an event id was seen is resumed
//!   with `GET` + `Last-Event-ID`, after the `retry:` delay the server asked for; a `404` to a
//!   request carrying a session id is reported as [`TransportError::SessionExpired`] so that the
//!   client can start a new session; [`Transport::close`] sends `DELETE`.
//! * **Stateless era** (2026-07-28): no session; every `POST` carries `MCP-Protocol-Version`,
//!   `Mcp-Method` and, for `tools/call`, `resources/read` and `prompts/get`, `Mcp-Name` (Base64
//!   sentinel-encoded when the value is not plain ASCII).
//!
//! The transport knows nothing of MCP methods beyond these headers: lifecycle and retries of
//! whole calls belong to the client.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod headers;
pub mod legacy;
mod pending;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use conduit_http::{Body, HttpClient, HttpError};
use conduit_protocol::jsonrpc::{Message, Notification, Request, RequestId, Response};
use conduit_transport::sse::SseParser;
use conduit_transport::{
    BoxFuture, Era, Inbound, InboundSender, RequestContext, Transport, TransportError,
};
use http::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};
use http::{Method, StatusCode, Uri};
use pending::{Pending, Registration, Waiter};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use headers::encode_header_value;

/// The `Mcp-Session-Id` header.
pub const SESSION_HEADER: &str = "mcp-session-id";
/// The `MCP-Protocol-Version` header.
pub const PROTOCOL_VERSION_HEADER: &str = "mcp-protocol-version";
/// The `Mcp-Method` header (2026-07-28).
pub const METHOD_HEADER: &str = "mcp-method";
/// The `Mcp-Name` header (2026-07-28).
pub const NAME_HEADER: &str = "mcp-name";
/// The `Last-Event-ID` header used to resume an SSE stream.
pub const LAST_EVENT_ID_HEADER: &str = "last-event-id";

const ACCEPT_BOTH: &str = "application/json, text/event-stream";

// The per-request header names and constant values, built once (a `&str` header name that is
// not a standard one is parsed and copied on every request otherwise).
const SESSION_NAME: HeaderName = HeaderName::from_static(SESSION_HEADER);
const VERSION_NAME: HeaderName = HeaderName::from_static(PROTOCOL_VERSION_HEADER);
const METHOD_NAME: HeaderName = HeaderName::from_static(METHOD_HEADER);
const NAME_NAME: HeaderName = HeaderName::from_static(NAME_HEADER);
const LAST_EVENT_ID_NAME: HeaderName = HeaderName::from_static(LAST_EVENT_ID_HEADER);
const ACCEPT_BOTH_VALUE: HeaderValue = HeaderValue::from_static(ACCEPT_BOTH);
const ACCEPT_SSE_VALUE: HeaderValue = HeaderValue::from_static("text/event-stream");
const JSON_VALUE: HeaderValue = HeaderValue::from_static("application/json");

/// `MCP-Protocol-Version` values of the versions Conduit speaks, so that the common case is a
/// copy of a static value rather than a validated, allocated one per request.
const KNOWN_VERSIONS: [(&str, HeaderValue); 5] = {
    use conduit_protocol::version::{
        V2024_11_05, V2025_03_26, V2025_06_18, V2025_11_25, V2026_07_28,
    };
    [
        (V2025_11_25, HeaderValue::from_static(V2025_11_25)),
        (V2026_07_28, HeaderValue::from_static(V2026_07_28)),
        (V2025_06_18, HeaderValue::from_static(V2025_06_18)),
        (V2025_03_26, HeaderValue::from_static(V2025_03_26)),
        (V2024_11_05, HeaderValue::from_static(V2024_11_05)),
    ]
};

/// Settings of the Streamable HTTP transport.
#[derive(Clone, Debug)]
pub struct StreamableHttpConfig {
    /// The largest JSON body or SSE event accepted, in bytes (default 16 MiB).
    pub max_message_bytes: usize,
    /// How many times one broken response stream is resumed before giving up (default 5).
    pub max_resume_attempts: u32,
    /// The reconnection delay when the server sent no `retry:` field (default 1 s).
    pub default_retry: Duration,
    /// The longest reconnection delay honoured from `retry:` (default 60 s).
    pub max_retry: Duration,
    /// Whether to open the server-to-client `GET` stream in the stateful era (default true).
    pub listen_stream: bool,
    /// How long `close` waits for the `DELETE` (default 5 s).
    pub close_timeout: Duration,
    /// The read-idle timeout of long-lived streams — the server-to-client `GET` stream and
    /// `subscriptions/listen` — instead of the HTTP client's (default 5 min). When it fires the
    /// stream is opened again; a quiet server never makes the client give the stream up.
    pub stream_idle_timeout: Duration,
}

impl Default for StreamableHttpConfig {
    fn default() -> Self {
        StreamableHttpConfig {
            max_message_bytes: 16 * 1024 * 1024,
            max_resume_attempts: 5,
            default_retry: Duration::from_secs(1),
            max_retry: Duration::from_secs(60),
            listen_stream: true,
            close_timeout: Duration::from_secs(5),
            stream_idle_timeout: Duration::from_secs(300),
        }
    }
}

/// The Streamable HTTP transport. Cheap to clone; all clones share one session.
#[derive(Clone)]
pub struct StreamableHttp {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for StreamableHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamableHttp")
            .field("url", &self.inner.url)
            .field("has_session", &self.inner.session().is_some())
            .finish_non_exhaustive()
    }
}

struct Inner {
    http: HttpClient,
    url: Uri,
    config: StreamableHttpConfig,
    inbound: InboundSender,
    /// The session id and, ready to send, its header value.
    session: Mutex<Option<(Arc<str>, HeaderValue)>>,
    protocol_version: Mutex<Option<Arc<str>>>,
    /// Requests whose response may arrive on another stream (the `GET` stream).
    pending: Pending,
    listener: Mutex<Option<JoinHandle<()>>>,
    /// `false` while a new server-to-client stream is being opened: requests wait (boundedly)
    /// for it, as a server may send its requests only on that stream and drop them when it
    /// is not open yet.
    listen_settled: tokio::sync::watch::Sender<bool>,
    /// Which opening of the server-to-client stream `listen_settled` is about.
    listen_generation: std::sync::atomic::AtomicU64,
    closed: AtomicBool,
}

/// Whether an error body says the session it was sent with is unknown, expired or invalid
/// (a JSON-RPC error message or plain text, matched case-insensitively).
fn names_an_unknown_session(body: &[u8]) -> bool {
    let text = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => v
            .pointer("/error/message")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| v.to_string()),
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    }
    .to_ascii_lowercase();
    text.contains("session")
        && [
            "not found",
            "unknown",
            "expired",
            "invalid",
            "no valid",
            "does not exist",
        ]
        .iter()
        .any(|phrase| text.contains(phrase))
}

/// How long the first requests of a session wait for the server-to-client stream to open.
const LISTEN_SETTLE_WAIT: Duration = Duration::from_secs(2);

impl Drop for Inner {
    fn drop(&mut self) {
        if let Ok(mut listener) = self.listener.lock() {
            if let Some(task) = listener.take() {
                task.abort();
            }
        }
    }
}

impl StreamableHttp {
    /// A transport for the MCP endpoint `url`, sending through `http` and delivering the
    /// server's own requests and notifications to `inbound`.
    pub fn new(
        http: HttpClient,
        url: &str,
        config: StreamableHttpConfig,
        inbound: InboundSender,
    ) -> Result<Self, TransportError> {
        let url: Uri = url
            .parse()
            .map_err(|e| TransportError::other(format!("invalid MCP endpoint URL {url:?}: {e}")))?;
        match url.scheme_str() {
            Some("http") | Some("https") => {}
            _ => {
                return Err(TransportError::other(format!(
                    "the MCP endpoint URL must be http:// or https://, got {url}"
                )))
            }
        }
        Ok(StreamableHttp {
            inner: Arc::new(Inner {
                http,
                url,
                config,
                inbound,
                session: Mutex::new(None),
                protocol_version: Mutex::new(None),
                pending: Pending::default(),
                listener: Mutex::new(None),
                listen_settled: tokio::sync::watch::Sender::new(true),
                listen_generation: std::sync::atomic::AtomicU64::new(0),
                closed: AtomicBool::new(false),
            }),
        })
    }

    /// The session id the server issued, if any.
    pub fn session_id(&self) -> Option<Arc<str>> {
        self.inner.session()
    }
}

impl Inner {
    fn session(&self) -> Option<Arc<str>> {
        self.session
            .lock()
            .ok()
            .and_then(|s| s.as_ref().map(|(id, _)| id.clone()))
    }

    /// The session id with its header value.
    fn session_entry(&self) -> Option<(Arc<str>, HeaderValue)> {
        self.session.lock().ok().and_then(|s| s.clone())
    }

    fn set_session(&self, value: Option<(Arc<str>, HeaderValue)>) {
        if let Ok(mut s) = self.session.lock() {
            *s = value;
        }
    }

    /// Forgets the session if it is still `session`.
    fn forget_session(&self, session: &str) {
        if let Ok(mut s) = self.session.lock() {
            if s.as_ref().is_some_and(|(id, _)| &**id == session) {
                *s = None;
            }
        }
    }

    fn protocol_version(&self) -> Option<Arc<str>> {
        self.protocol_version.lock().ok().and_then(|s| s.clone())
    }

    fn check_open(&self) -> Result<(), TransportError> {
        if self.closed.load(Ordering::Acquire) {
            Err(TransportError::Closed)
        } else {
            Ok(())
        }
    }

    /// A request to the endpoint with room for `headers` headers, carrying the session header
    /// when there is a session.
    fn request(
        &self,
        method: Method,
        session: Option<&HeaderValue>,
        body: Bytes,
        headers: usize,
    ) -> http::Request<Bytes> {
        let mut request = http::Request::new(body);
        *request.method_mut() = method;
        *request.uri_mut() = self.url.clone();
        let map = request.headers_mut();
        // A hint only: `reserve` would panic past the map's limit, `try_reserve` does not (the
        // headers themselves are then refused in `add_extra_headers`).
        let _ = map.try_reserve(headers.saturating_add(1));
        if let Some(session) = session {
            map.insert(SESSION_NAME, session.clone());
        }
        request
    }

    /// POSTs one message and returns the response head and body, mapping transport failures.
    async fn post(
        &self,
        body: Vec<u8>,
        ctx: &RequestContext,
        method: &str,
        session: Option<&HeaderValue>,
    ) -> Result<http::Response<Body>, TransportError> {
        let mut request = self.request(
            Method::POST,
            session,
            Bytes::from(body),
            4 + ctx.extra_headers.len(),
        );
        let headers = request.headers_mut();
        headers.insert(CONTENT_TYPE, JSON_VALUE);
        headers.insert(ACCEPT, ACCEPT_BOTH_VALUE);
        match &ctx.protocol_version {
            Some(version) => {
                headers.insert(VERSION_NAME, version_value(version)?);
            }
            // Stateful requests after negotiation carry the negotiated version.
            None if ctx.era == Era::Stateful => {
                if let Some(version) = self.protocol_version() {
                    headers.insert(VERSION_NAME, version_value(&version)?);
                }
            }
            None => {}
        }
        if ctx.era == Era::Stateless {
            headers.insert(METHOD_NAME, header_value(method)?);
            if let Some(name) = &ctx.name {
                headers.insert(NAME_NAME, header_value(&encode_header_value(name))?);
            }
        }
        add_extra_headers(headers, &ctx.extra_headers)?;
        let response = self.http.send(request).await.map_err(map_http_error)?;
        self.note_session(response.headers());
        Ok(response)
    }

    /// Keeps the session id the server issued in a response, if it is a new one.
    fn note_session(&self, headers: &HeaderMap) {
        let Some(value) = headers.get(SESSION_NAME) else {
            return;
        };
        let Ok(id) = value.to_str() else { return };
        let trimmed = id.trim();
        if trimmed.is_empty() {
            return;
        }
        let Ok(mut session) = self.session.lock() else {
            return;
        };
        if session
            .as_ref()
            .is_some_and(|(current, _)| &**current == trimmed)
        {
            return;
        }
        // The header value as received is valid; a trimmed one is re-validated.
        let header = if trimmed.len() == id.len() {
            Some(value.clone())
        } else {
            HeaderValue::from_str(trimmed).ok()
        };
        if let Some(header) = header {
            tracing::debug!("server issued a session id");
            *session = Some((Arc::from(trimmed), header));
        }
    }

    /// Turns a non-success status into the matching error.
    async fn status_error(
        &self,
        response: http::Response<Body>,
        session: Option<&str>,
    ) -> TransportError {
        match self.status_outcome(response, session, None).await {
            Ok(_) => TransportError::other("unreachable: no request id to match"),
            Err(e) => e,
        }
    }

    /// A non-success status. When the body is the JSON-RPC error answer to request `id` (servers
    /// of the stateless era answer unsupported versions and header mismatches with HTTP 400 and
    /// a JSON-RPC error), that answer is returned so the caller sees the server's code.
    async fn status_outcome(
        &self,
        response: http::Response<Body>,
        session: Option<&str>,
        id: Option<&RequestId>,
    ) -> Result<Response, TransportError> {
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            if let Some(session) = session {
                // Forget the dead session so that nothing else uses it.
                self.forget_session(session);
                return Err(TransportError::SessionExpired {
                    session: session.to_owned(),
                });
            }
        }
        let is_json = matches!(content_kind(response.headers()), ContentKind::Json);
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let location = status
            .is_redirection()
            .then(|| response.headers().get(http::header::LOCATION))
            .flatten()
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = response
            .into_body()
            .collect_limited(64 * 1024)
            .await
            .unwrap_or_default();
        if let Some(session) = session {
            if matches!(status.as_u16(), 400 | 410) && names_an_unknown_session(&bytes) {
                // Not the spec's 404, but servers do answer a dead session this way ("Session
                // not found" with 400, or 410 Gone): treated as the expiry it is.
                tracing::debug!(%status, "the server no longer knows the session");
                self.forget_session(session);
                return Err(TransportError::SessionExpired {
                    session: session.to_owned(),
                });
            }
        }
        if let Some(location) = location {
            // Redirects are never followed, so credentials never reach another origin.
            let body = format!("redirect to {location} not followed");
            return Err(TransportError::Status {
                status: status.as_u16(),
                body,
                retry_after,
            });
        }
        if let (Some(id), true) = (id, is_json) {
            if let Ok(Message::Response(r)) = Message::parse(&bytes) {
                let ours = r.id.is_none() || r.id.as_ref() == Some(id);
                if ours && matches!(r.outcome, conduit_protocol::jsonrpc::Outcome::Error(_)) {
                    return Ok(Response {
                        id: Some(id.clone()),
                        outcome: r.outcome,
                    });
                }
            }
        }
        let body = conduit_http::body_excerpt(&bytes, 512);
        Err(TransportError::Status {
            status: status.as_u16(),
            body,
            retry_after,
        })
    }

    async fn send_request(
        &self,
        request: &Request,
        ctx: &RequestContext,
    ) -> Result<Response, TransportError> {
        self.check_open()?;
        if !*self.listen_settled.borrow() {
            self.wait_for_listen_stream().await;
        }
        // Serialising these types cannot fail: every map key is a string.
        let body = serde_json::to_vec(request).unwrap_or_default();
        let Request { id, method, .. } = request;
        let (session, session_header) = self.session_entry().unzip();
        // While another SSE stream is being read, the response may come on it at any moment:
        // wait for it from the start. Otherwise only an SSE answer registers (see `pending`).
        let early = self
            .pending
            .streams_open()
            .then(|| self.pending.register(id));
        let _waiter = early.is_some().then(|| Waiter {
            pending: &self.pending,
            id: id.clone(),
        });
        let response = self
            .post(body, ctx, method, session_header.as_ref())
            .await?;
        let status = response.status();
        if !status.is_success() {
            return self
                .status_outcome(response, session.as_deref(), Some(id))
                .await;
        }
        if status == StatusCode::ACCEPTED || status == StatusCode::NO_CONTENT {
            return Err(TransportError::Malformed(format!(
                "the server answered the request `{method}` with HTTP {status} and no response"
            )));
        }
        match content_kind(response.headers()) {
            ContentKind::Json => {
                let bytes = response
                    .into_body()
                    .collect_limited(self.config.max_message_bytes)
                    .await
                    .map_err(map_http_error)?;
                match Message::parse(&bytes) {
                    Ok(Message::Response(r)) if r.id.as_ref() == Some(id) => Ok(r),
                    Ok(Message::Response(r)) if r.id.is_none() => Err(error_without_id(r)),
                    Ok(Message::Response(r)) => Err(TransportError::Malformed(format!(
                        "the response to request {id} carries id {}",
                        r.id.map(|i| i.to_string()).unwrap_or_else(|| "null".into())
                    ))),
                    Ok(other) => Err(TransportError::Malformed(format!(
                        "expected the response to request {id}, got a {}",
                        kind_name(&other)
                    ))),
                    Err(e) => Err(TransportError::Malformed(format!(
                        "the response to request {id} is not valid JSON-RPC: {e}"
                    ))),
                }
            }
            ContentKind::EventStream => {
                let _reading = self.pending.reading();
                let (_late, registration) = match early {
                    Some(registration) => (None, registration),
                    None => (
                        Some(Waiter {
                            pending: &self.pending,
                            id: id.clone(),
                        }),
                        self.pending.register(id),
                    ),
                };
                let elsewhere = match registration {
                    Registration::Arrived(response) => return Ok(response),
                    Registration::Waiting(rx) => rx,
                };
                let mut body = response.into_body();
                if method == "subscriptions/listen" {
                    body.set_idle_timeout(self.config.stream_idle_timeout);
                }
                let mut stream = EventStream::new(self, body);
                stream
                    .until_response(id, ctx.era, session.as_deref(), elsewhere)
                    .await
            }
            ContentKind::Other(ct) => Err(TransportError::Malformed(format!(
                "unexpected Content-Type {ct:?} in the response to `{method}`"
            ))),
        }
    }

    /// Waits (at most [`LISTEN_SETTLE_WAIT`]) until the server-to-client stream being opened
    /// is open or refused; gives up waiting for good after that.
    async fn wait_for_listen_stream(&self) {
        let mut settled = self.listen_settled.subscribe();
        let waited = tokio::time::timeout(LISTEN_SETTLE_WAIT, settled.wait_for(|s| *s)).await;
        if waited.is_err() {
            tracing::debug!("the server-to-client stream is slow to open; not waiting for it");
            self.listen_settled.send_replace(true);
        }
    }

    async fn send_one_way(
        &self,
        message: Message,
        ctx: RequestContext,
    ) -> Result<(), TransportError> {
        self.check_open()?;
        let method = match &message {
            Message::Notification(n) => n.method.clone(),
            _ => String::new(),
        };
        let (session, session_header) = self.session_entry().unzip();
        let body = message.to_vec();
        let response = self
            .post(body, &ctx, &method, session_header.as_ref())
            .await?;
        if response.status().is_success() {
            // Drain a small body, if any, so that the connection can be reused.
            let _ = response.into_body().collect_limited(64 * 1024).await;
            Ok(())
        } else {
            Err(self.status_error(response, session.as_deref()).await)
        }
    }

    /// Opens a `GET` SSE stream on the endpoint, optionally resuming after `last_event_id`.
    async fn get_stream(
        &self,
        session: Option<&str>,
        last_event_id: Option<&str>,
    ) -> Result<http::Response<Body>, TransportError> {
        let session = session.map(header_value).transpose()?;
        let mut request = self.request(Method::GET, session.as_ref(), Bytes::new(), 3);
        let headers = request.headers_mut();
        headers.insert(ACCEPT, ACCEPT_SSE_VALUE);
        if let Some(version) = self.protocol_version() {
            headers.insert(VERSION_NAME, version_value(&version)?);
        }
        if let Some(id) = last_event_id {
            headers.insert(LAST_EVENT_ID_NAME, header_value(id)?);
        }
        self.http.send(request).await.map_err(map_http_error)
    }

    /// Routes one message that arrived on a stream. Returns the response if it is the one
    /// `wanted`.
    async fn route(&self, data: &[u8], wanted: Option<&RequestId>) -> Option<Response> {
        match Message::parse(data) {
            Ok(Message::Response(r)) => {
                if r.id.is_some() && r.id.as_ref() == wanted {
                    return Some(r);
                }
                self.pending.deliver(r);
                None
            }
            Ok(Message::Request(r)) => {
                if self.inbound.send(Inbound::Request(r)).await.is_err() {
                    tracing::debug!("inbound channel closed; server request dropped");
                }
                None
            }
            Ok(Message::Notification(n)) => {
                if self.inbound.send(Inbound::Notification(n)).await.is_err() {
                    tracing::debug!("inbound channel closed; notification dropped");
                }
                None
            }
            Err(e) => {
                tracing::debug!(error = %e, "skipping an SSE event that is not a JSON-RPC message");
                None
            }
        }
    }

    fn retry_delay(&self, parser_retry: Option<u64>) -> Duration {
        parser_retry
            .map(Duration::from_millis)
            .unwrap_or(self.config.default_retry)
            .min(self.config.max_retry)
    }

    /// The pause before reopening the server-to-client stream after `failures` failures in a
    /// row: the `retry:` delay, doubled per failure, at most `max_retry`.
    fn backoff(&self, parser_retry: Option<u64>, failures: u32) -> Duration {
        let base = self.retry_delay(parser_retry);
        base.saturating_mul(1u32 << failures.saturating_sub(1).min(10))
            .min(self.config.max_retry.max(base))
    }
}

/// An SSE response stream being read, with what is needed to resume it.
struct EventStream<'a> {
    inner: &'a Inner,
    body: Body,
    parser: SseParser,
}

impl<'a> EventStream<'a> {
    fn new(inner: &'a Inner, body: Body) -> Self {
        EventStream {
            inner,
            body,
            parser: SseParser::new(inner.config.max_message_bytes),
        }
    }

    /// Reads events until the response to `id` arrives, resuming the stream when it breaks.
    async fn until_response(
        &mut self,
        id: &RequestId,
        era: Era,
        session: Option<&str>,
        mut elsewhere: oneshot::Receiver<Response>,
    ) -> Result<Response, TransportError> {
        let mut attempts = 0u32;
        loop {
            let chunk = tokio::select! {
                chunk = self.body.chunk() => chunk,
                Ok(response) = &mut elsewhere => return Ok(response),
            };
            let failure = match chunk {
                Some(Ok(bytes)) => {
                    self.parser.push(&bytes);
                    loop {
                        match self.parser.next_event() {
                            Ok(Some(event)) => {
                                if event.data.is_empty() {
                                    continue;
                                }
                                if let Some(r) = self.inner.route(&event.data, Some(id)).await {
                                    return Ok(r);
                                }
                            }
                            Ok(None) => break,
                            Err(e) => {
                                return Err(TransportError::TooLarge {
                                    limit: match e {
                                        conduit_transport::sse::SseError::TooLarge { limit } => {
                                            limit
                                        }
                                    },
                                })
                            }
                        }
                    }
                    continue;
                }
                Some(Err(e)) => map_http_error(e),
                None => TransportError::StreamEnded {
                    resumed: attempts > 0,
                },
            };
            // The stream broke or ended without the response. Resume it if the server gave us
            // an event id to resume from (stateful era only; 2026-07-28 removed resumption).
            let Some(last_id) = self.parser.last_event_id().map(str::to_owned) else {
                return Err(failure);
            };
            if era != Era::Stateful || attempts >= self.inner.config.max_resume_attempts {
                return Err(failure);
            }
            attempts += 1;
            let delay = self.inner.retry_delay(self.parser.retry_ms());
            tracing::debug!(
                %id, attempt = attempts, delay_ms = delay.as_millis() as u64,
                "response stream ended early; resuming with Last-Event-ID"
            );
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                Ok(response) = &mut elsewhere => return Ok(response),
            }
            let response = self.inner.get_stream(session, Some(&last_id)).await?;
            if !response.status().is_success() {
                return Err(self.inner.status_error(response, session).await);
            }
            if !matches!(content_kind(response.headers()), ContentKind::EventStream) {
                return Err(TransportError::Malformed(
                    "the resumed stream is not text/event-stream".into(),
                ));
            }
            self.body = response.into_body();
            let retry = self.parser.retry_ms();
            self.parser = SseParser::new(self.inner.config.max_message_bytes);
            self.parser.seed(Some(last_id), retry);
        }
    }
}

/// Counts the open `GET` stream as a stream being read (see [`Pending`]) until dropped, also
/// when the listening task is aborted.
struct ListenerReading(std::sync::Weak<Inner>);

impl Drop for ListenerReading {
    fn drop(&mut self) {
        if let Some(inner) = self.0.upgrade() {
            inner.pending.readers_add(-1);
        }
    }
}

/// The background task that keeps the server-to-client `GET` stream open.
/// Marks the opening of the server-to-client stream settled when dropped, however `listen`
/// got there (stream open, refused, failed, or the task ended).
struct Settled(std::sync::Weak<Inner>, u64);

impl Settled {
    fn now(&mut self) {
        if let Some(inner) = self.0.upgrade() {
            // An aborted older listener must not settle the opening of a newer one.
            if inner.listen_generation.load(Ordering::Acquire) == self.1 {
                inner.listen_settled.send_replace(true);
            }
        }
        self.0 = std::sync::Weak::new();
    }
}

impl Drop for Settled {
    fn drop(&mut self) {
        self.now();
    }
}

async fn listen(inner: std::sync::Weak<Inner>, generation: u64) {
    let mut settled = Settled(inner.clone(), generation);
    let mut last_id: Option<String> = None;
    let mut retry: Option<u64> = None;
    let mut failures = 0u32;
    loop {
        let Some(this) = inner.upgrade() else { return };
        if this.closed.load(Ordering::Acquire) {
            return;
        }
        let session = this.session();
        let response = match this
            .get_stream(session.as_deref(), last_id.as_deref())
            .await
        {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(error = %e, "could not open the server-to-client stream");
                settled.now();
                // The server may be restarting or the network down for a while: keep trying
                // (backing off) for as long as the transport lives.
                failures = failures.saturating_add(1);
                let delay = this.backoff(retry, failures);
                drop(this);
                tokio::time::sleep(delay).await;
                continue;
            }
        };
        let status = response.status();
        if status == StatusCode::METHOD_NOT_ALLOWED {
            tracing::debug!("the server offers no server-to-client stream (405)");
            return;
        }
        if !status.is_success()
            || !matches!(content_kind(response.headers()), ContentKind::EventStream)
        {
            tracing::debug!(%status, "the server refused the server-to-client stream");
            return;
        }
        let mut body = response.into_body();
        body.set_idle_timeout(this.config.stream_idle_timeout);
        let mut parser = SseParser::new(this.config.max_message_bytes);
        parser.seed(last_id.clone(), retry);
        // Do not keep the transport alive while idling on the stream.
        let weak = Arc::downgrade(&this);
        this.pending.readers_add(1);
        let reading = ListenerReading(weak.clone());
        // Open, and counted as a stream a response may come on: requests may go now.
        settled.now();
        drop(this);
        let mut delivered = false;
        // A stream that stayed open until the idle timeout was healthy, only quiet.
        let mut went_quiet = false;
        loop {
            let bytes = match body.chunk().await {
                Some(Ok(bytes)) => bytes,
                Some(Err(e)) => {
                    went_quiet = matches!(e, conduit_http::HttpError::Timeout { .. });
                    break;
                }
                None => break,
            };
            let Some(this) = weak.upgrade() else { return };
            parser.push(&bytes);
            while let Ok(Some(event)) = parser.next_event() {
                if !event.data.is_empty() {
                    delivered = true;
                    this.route(&event.data, None).await;
                }
            }
        }
        drop(reading);
        last_id = parser.last_event_id().map(str::to_owned);
        retry = parser.retry_ms();
        if delivered || went_quiet {
            failures = 0;
        } else {
            // Opened and ended at once: back off so such a server is not hammered.
            failures = failures.saturating_add(1);
        }
        let Some(this) = weak.upgrade() else { return };
        let delay = this.backoff(retry, failures);
        drop(this);
        tokio::time::sleep(delay).await;
    }
}

impl Transport for StreamableHttp {
    fn request(
        &self,
        request: Request,
        ctx: RequestContext,
    ) -> BoxFuture<'_, Result<Response, TransportError>> {
        Box::pin(async move { self.inner.send_request(&request, &ctx).await })
    }

    /// Only serialises the request: nothing is copied.
    fn request_ref<'a>(
        &'a self,
        request: &'a Request,
        ctx: &'a RequestContext,
    ) -> BoxFuture<'a, Result<Response, TransportError>> {
        Box::pin(self.inner.send_request(request, ctx))
    }

    fn notify(
        &self,
        notification: Notification,
        ctx: RequestContext,
    ) -> BoxFuture<'_, Result<(), TransportError>> {
        Box::pin(
            self.inner
                .send_one_way(Message::Notification(notification), ctx),
        )
    }

    fn respond(
        &self,
        response: Response,
        ctx: RequestContext,
    ) -> BoxFuture<'_, Result<(), TransportError>> {
        Box::pin(self.inner.send_one_way(Message::Response(response), ctx))
    }

    fn session_established(&self, protocol_version: &str) {
        if let Ok(mut v) = self.inner.protocol_version.lock() {
            *v = Some(Arc::from(protocol_version));
        }
        if !self.inner.config.listen_stream || self.inner.session().is_none() {
            return;
        }
        if let Ok(mut listener) = self.inner.listener.lock() {
            if let Some(old) = listener.take() {
                old.abort();
            }
            let generation = self.inner.listen_generation.fetch_add(1, Ordering::AcqRel) + 1;
            self.inner.listen_settled.send_replace(false);
            *listener = Some(tokio::spawn(listen(
                Arc::downgrade(&self.inner),
                generation,
            )));
        }
    }

    fn reset_session(&self) {
        self.inner.set_session(None);
        self.inner.pending.clear_stash();
        if let Ok(mut v) = self.inner.protocol_version.lock() {
            *v = None;
        }
        if let Ok(mut listener) = self.inner.listener.lock() {
            if let Some(task) = listener.take() {
                task.abort();
            }
            // Nothing is being opened any more: no request waits for it.
            self.inner.listen_generation.fetch_add(1, Ordering::AcqRel);
            self.inner.listen_settled.send_replace(true);
        }
    }

    fn close(&self) -> BoxFuture<'_, Result<(), TransportError>> {
        Box::pin(async move {
            if self.inner.closed.swap(true, Ordering::AcqRel) {
                return Ok(());
            }
            if let Ok(mut listener) = self.inner.listener.lock() {
                if let Some(task) = listener.take() {
                    task.abort();
                }
            }
            let Some((_, session)) = self.inner.session_entry() else {
                return Ok(());
            };
            let mut request = self
                .inner
                .request(Method::DELETE, Some(&session), Bytes::new(), 1);
            if let Some(version) = self.inner.protocol_version() {
                request
                    .headers_mut()
                    .insert(VERSION_NAME, version_value(&version)?);
            }
            let sent = tokio::time::timeout(
                self.inner.config.close_timeout,
                self.inner.http.send(request),
            )
            .await;
            self.inner.set_session(None);
            match sent {
                Ok(Ok(r))
                    if r.status().is_success() || r.status() == StatusCode::METHOD_NOT_ALLOWED =>
                {
                    Ok(())
                }
                Ok(Ok(r)) => {
                    tracing::debug!(status = %r.status(), "DELETE of the session was refused");
                    Ok(())
                }
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "DELETE of the session failed");
                    Ok(())
                }
                Err(_) => Err(TransportError::Timeout {
                    phase: "waiting for the session DELETE".into(),
                }),
            }
        })
    }
}

enum ContentKind {
    Json,
    EventStream,
    Other(String),
}

fn content_kind(headers: &http::HeaderMap) -> ContentKind {
    let Some(ct) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return ContentKind::Other(String::new());
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => ContentKind::Json,
        "text/event-stream" => ContentKind::EventStream,
        _ => ContentKind::Other(ct.to_owned()),
    }
}

/// The `MCP-Protocol-Version` value: a static one for the versions Conduit speaks.
fn version_value(version: &str) -> Result<HeaderValue, TransportError> {
    match KNOWN_VERSIONS.iter().find(|(known, _)| *known == version) {
        Some((_, value)) => Ok(value.clone()),
        None => header_value(version),
    }
}

/// Adds the context's extra headers (`Mcp-Param-*`), validating names and values.
fn add_extra_headers(
    headers: &mut HeaderMap,
    extra: &[(String, String)],
) -> Result<(), TransportError> {
    for (name, value) in extra {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            TransportError::other(format!("{name:?} is not a valid HTTP header name"))
        })?;
        headers
            .try_append(name, header_value(value)?)
            .map_err(|_| TransportError::other("too many HTTP headers for one request"))?;
    }
    Ok(())
}

fn header_value(value: &str) -> Result<HeaderValue, TransportError> {
    HeaderValue::from_str(value)
        .map_err(|_| TransportError::other(format!("{value:?} cannot be sent in an HTTP header")))
}

fn kind_name(m: &Message) -> &'static str {
    match m {
        Message::Request(_) => "request",
        Message::Notification(_) => "notification",
        Message::Response(_) => "response",
    }
}

fn error_without_id(r: Response) -> TransportError {
    match r.into_result() {
        Err(e) => TransportError::Malformed(format!("the server answered with an error: {e}")),
        Ok(_) => TransportError::Malformed("a result without an id".into()),
    }
}

/// Maps an HTTP-layer failure to the transport error it means.
pub fn map_http_error(e: HttpError) -> TransportError {
    match e {
        HttpError::Unauthorized {
            status,
            www_authenticate,
            body_excerpt,
            ..
        } => TransportError::Unauthorized {
            status: status.as_u16(),
            www_authenticate,
            body: body_excerpt,
        },
        HttpError::TooLarge { limit, .. } => TransportError::TooLarge { limit },
        HttpError::Timeout { phase, host, after } => TransportError::Timeout {
            phase: format!("{phase} {host} (after {after:?})"),
        },
        HttpError::Connect { host, source } => TransportError::Connect {
            target: host,
            source,
        },
        HttpError::Tls { host, source } => TransportError::Connect {
            target: host,
            source: Box::new(source),
        },
        e => {
            let mut message = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                message.push_str(": ");
                message.push_str(&c.to_string());
                cause = c.source();
            }
            TransportError::Other {
                message,
                source: Some(Box::new(e)),
            }
        }
    }
}

#[cfg(test)]
mod session_tests {
    use super::names_an_unknown_session;

    #[test]
    fn unknown_session_bodies_are_recognised() {
        for body in [
            &br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Session not found"}}"#[..],
            b"Bad Request: No valid session ID provided",
            b"session expired",
            br#"{"error":"unknown session"}"#,
        ] {
            assert!(names_an_unknown_session(body), "{}", String::from_utf8_lossy(body));
        }
        for body in [
            &br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"invalid params"}}"#[..],
            b"not found",
            b"",
            b"session ok, but the tool failed",
        ] {
            assert!(
                !names_an_unknown_session(body),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
