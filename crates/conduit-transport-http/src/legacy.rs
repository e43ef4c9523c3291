//! The legacy **HTTP+SSE** transport of MCP 2024-11-05, and the spec's backwards-compatible
//! fallback to it.
//!
//! The wire: the client opens one `GET` on the SSE URL (`Accept: text/event-stream`). The
//! server's first event is `event: endpoint`, whose data is the URI (relative to the SSE URL,
//! or absolute on the same origin) where the client `POST`s every message it sends; the server
//! answers those posts with `202 Accepted` (any 2xx is taken). Every server message — the
//! responses to our requests, its own requests and notifications — arrives as an
//! `event: message` on that one stream.
//!
//! * [`LegacySse::connect`] opens the stream and waits for `endpoint` for at most
//!   [`LegacySseConfig::endpoint_timeout`]. A first event that is not `endpoint` is
//!   [`TransportError::Malformed`]; a stream that ends first is
//!   [`TransportError::StreamEnded`]; an endpoint on another origin (scheme, host or port) is
//!   refused with [`TransportError::Malformed`], so that no message and no credential is ever
//!   posted elsewhere.
//! * Responses are matched to their callers by id; server requests and notifications go to the
//!   client's inbound channel. Events larger than [`LegacySseConfig::max_message_bytes`] end the
//!   stream with [`TransportError::TooLarge`]; data that is not JSON-RPC is logged and skipped.
//! * **When the stream drops**, the session is gone (the old transport has no resumption): every
//!   request in flight fails at once with [`TransportError::ConnectionLost`] (whether the server
//!   ran it is unknown, so it is never resent). The next message the client sends gets
//!   [`TransportError::SessionExpired`] *without being sent*; the `conduit` client answers that
//!   by starting a new session ([`Transport::reset_session`], which makes the next send open a
//!   new stream and wait for a new `endpoint`, then `initialize`) and resends that one call —
//!   safe, because it certainly was not delivered. Nothing is replayed automatically.
//! * [`Transport::close`] aborts the stream task (dropping the connection) and fails pending
//!   calls with [`TransportError::Closed`]; it does no network I/O and cannot hang.
//!
//! [`WithLegacyFallback`] wraps a [`StreamableHttp`] transport and can switch, when the client's
//! lifecycle asks it to ([`Transport::legacy_fallback`]), to a [`LegacySse`] transport on the
//! same URL — the spec's backwards-compatibility procedure (an `initialize` POST refused with
//! HTTP 400, 404 or 405, then a `GET` expecting `endpoint`). The decision belongs to the client's
//! lifecycle; this module only carries it out.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use conduit_http::{Body, HttpClient};
use conduit_protocol::jsonrpc::{Message, Notification, Request, RequestId, Response};
use conduit_transport::sse::{SseError, SseParser};
use conduit_transport::{
    BoxFuture, Inbound, InboundSender, RequestContext, StatelessCancellation, Transport,
    TransportError,
};
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{Method, StatusCode, Uri};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::{map_http_error, StreamableHttp};

/// Settings of the legacy HTTP+SSE transport.
#[derive(Clone, Debug)]
pub struct LegacySseConfig {
    /// The largest SSE event accepted, in bytes (default 16 MiB).
    pub max_message_bytes: usize,
    /// How long [`LegacySse::connect`] (and a reconnection) waits for the `endpoint` event,
    /// response headers included (default 10 s).
    pub endpoint_timeout: Duration,
    /// How long the SSE stream may stay silent before it counts as dropped (default `None`:
    /// old servers send nothing while idle, so silence alone never ends the session; each
    /// call still has the client's deadline).
    pub stream_idle_timeout: Option<Duration>,
}

impl Default for LegacySseConfig {
    fn default() -> Self {
        LegacySseConfig {
            max_message_bytes: 16 * 1024 * 1024,
            endpoint_timeout: Duration::from_secs(10),
            stream_idle_timeout: None,
        }
    }
}

/// "Silent forever" for the stream's read-idle timer (a year; `Instant` arithmetic stays
/// far from overflow).
const NO_IDLE_LIMIT: Duration = Duration::from_secs(365 * 24 * 3600);

type Waiter = oneshot::Sender<Result<Response, TransportError>>;

/// One SSE connection and the endpoint it announced.
struct Link {
    endpoint: Uri,
    /// Whether a message was posted on this link (an unused link survives `reset_session`).
    used: bool,
    reader: JoinHandle<()>,
    generation: u64,
}

#[derive(Default)]
struct State {
    link: Option<Link>,
    pending: HashMap<RequestId, Waiter>,
    /// Why the last link ended, until the client starts a new session.
    lost: Option<String>,
    generation: u64,
}

struct Inner {
    /// Posts messages (the caller's client: pool, auth, mTLS, timeouts).
    http: HttpClient,
    /// Carries the long-lived stream (same settings, but the stream's own idle limit).
    stream_http: HttpClient,
    url: Uri,
    config: LegacySseConfig,
    inbound: InboundSender,
    state: Mutex<State>,
    /// Serialises opening a stream.
    connecting: tokio::sync::Mutex<()>,
    closed: AtomicBool,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Ok(mut s) = self.state.lock() {
            if let Some(link) = s.link.take() {
                link.reader.abort();
            }
        }
    }
}

/// The legacy HTTP+SSE transport (MCP 2024-11-05). Cheap to clone; clones share the stream.
/// See the [module docs](self).
#[derive(Clone)]
pub struct LegacySse {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for LegacySse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LegacySse")
            .field("url", &self.inner.url)
            .field("endpoint", &self.endpoint())
            .finish_non_exhaustive()
    }
}

impl LegacySse {
    /// Opens the SSE stream at `url` and waits for its `endpoint` event. Messages are posted
    /// through `http` (its authorizer, mTLS identity and timeouts apply to the stream too);
    /// server requests and notifications go to `inbound`.
    pub async fn connect(
        http: HttpClient,
        url: &str,
        config: LegacySseConfig,
        inbound: InboundSender,
    ) -> Result<Self, TransportError> {
        let url: Uri = url
            .parse()
            .map_err(|e| TransportError::other(format!("invalid SSE URL {url:?}: {e}")))?;
        match url.scheme_str() {
            Some("http") | Some("https") => {}
            _ => {
                return Err(TransportError::other(format!(
                    "the SSE URL must be http:// or https://, got {url}"
                )))
            }
        }
        let idle = config.stream_idle_timeout.unwrap_or(NO_IDLE_LIMIT);
        let stream_config = http
            .config()
            .to_builder()
            .read_idle_timeout(idle)
            .build()
            .map_err(map_http_error)?;
        let mut stream_http = HttpClient::new(stream_config).map_err(map_http_error)?;
        if let Some(authorizer) = http.authorizer() {
            stream_http = stream_http.with_authorizer(Arc::clone(authorizer));
        }
        let inner = Arc::new(Inner {
            http,
            stream_http,
            url,
            config,
            inbound,
            state: Mutex::new(State::default()),
            connecting: tokio::sync::Mutex::new(()),
            closed: AtomicBool::new(false),
        });
        inner.link().await?;
        if let Ok(mut s) = inner.state.lock() {
            if let Some(link) = s.link.as_mut() {
                // Opened ahead of the client's first handshake: not part of a session yet.
                link.used = false;
            }
        }
        Ok(LegacySse { inner })
    }

    /// The endpoint the server announced for the current stream, if one is open.
    pub fn endpoint(&self) -> Option<String> {
        self.inner
            .state
            .lock()
            .ok()
            .and_then(|s| s.link.as_ref().map(|l| l.endpoint.to_string()))
    }

    async fn request_inner(
        &self,
        request: Request,
        _ctx: RequestContext,
    ) -> Result<Response, TransportError> {
        let endpoint = self.inner.link().await?;
        let inner = &*self.inner;
        let id = request.id.clone();
        let (tx, rx) = oneshot::channel();
        {
            let mut s = inner.lock()?;
            if s.link.is_none() {
                // The stream ended between finding the endpoint and now: nothing was sent.
                drop(s);
                return Err(if inner.closed.load(Ordering::Acquire) {
                    TransportError::Closed
                } else {
                    TransportError::SessionExpired {
                        session: format!("legacy SSE stream {} (lost)", inner.url),
                    }
                });
            }
            if s.pending.contains_key(&id) {
                return Err(TransportError::other(format!(
                    "a request with id {id} is already in flight"
                )));
            }
            s.pending.insert(id.clone(), tx);
        }
        let _guard = PendingGuard {
            inner,
            id: Some(id),
        };
        inner.post(&endpoint, Message::Request(request)).await?;
        match rx.await {
            Ok(outcome) => outcome,
            Err(_) => Err(TransportError::ConnectionLost {
                reason: "the SSE stream ended".into(),
            }),
        }
    }

    async fn send_one_way(&self, message: Message) -> Result<(), TransportError> {
        let endpoint = self.inner.link().await?;
        self.inner.post(&endpoint, message).await
    }
}

/// Removes a pending entry when its request future ends, however it ends.
struct PendingGuard<'a> {
    inner: &'a Inner,
    id: Option<RequestId>,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            if let Ok(mut s) = self.inner.state.lock() {
                s.pending.remove(&id);
            }
        }
    }
}

impl Inner {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, State>, TransportError> {
        self.state
            .lock()
            .map_err(|_| TransportError::other("the legacy SSE transport state is poisoned"))
    }

    /// The endpoint of the live stream, opening one when the client started a new session.
    async fn link(self: &Arc<Self>) -> Result<Uri, TransportError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(TransportError::Closed);
        }
        if let Some(endpoint) = self.current()? {
            return Ok(endpoint);
        }
        let _one = self.connecting.lock().await;
        if let Some(endpoint) = self.current()? {
            return Ok(endpoint);
        }
        let deadline = self.config.endpoint_timeout;
        let (endpoint, body, parser) =
            tokio::time::timeout(deadline, self.open())
                .await
                .map_err(|_| TransportError::Timeout {
                    phase: format!(
                    "waiting for the `endpoint` event of the SSE stream {} (after {deadline:?})",
                    self.url
                ),
                })??;
        if self.closed.load(Ordering::Acquire) {
            return Err(TransportError::Closed);
        }
        let mut s = self.lock()?;
        s.generation += 1;
        let generation = s.generation;
        let reader = tokio::spawn(read_stream(Arc::downgrade(self), body, parser, generation));
        s.link = Some(Link {
            endpoint: endpoint.clone(),
            used: true,
            reader,
            generation,
        });
        s.lost = None;
        tracing::debug!(%endpoint, "legacy SSE stream open");
        Ok(endpoint)
    }

    /// A live link's endpoint (marking the link used); `SessionExpired` when the stream was
    /// lost and the client has not started a new session yet; `None` when a stream must be
    /// opened.
    fn current(&self) -> Result<Option<Uri>, TransportError> {
        let mut s = self.lock()?;
        if let Some(link) = s.link.as_mut() {
            link.used = true;
            return Ok(Some(link.endpoint.clone()));
        }
        if let Some(reason) = &s.lost {
            return Err(TransportError::SessionExpired {
                session: format!("legacy SSE stream {} ({reason})", self.url),
            });
        }
        Ok(None)
    }

    /// Opens the stream and reads up to the `endpoint` event.
    async fn open(&self) -> Result<(Uri, Body, SseParser), TransportError> {
        let request = http::Request::builder()
            .method(Method::GET)
            .uri(self.url.clone())
            .header(ACCEPT, "text/event-stream")
            .body(Bytes::new())
            .map_err(|e| TransportError::other(format!("could not build the request: {e}")))?;
        let response = self
            .stream_http
            .send(request)
            .await
            .map_err(map_http_error)?;
        let status = response.status();
        if !status.is_success() {
            let bytes = response
                .into_body()
                .collect_limited(64 * 1024)
                .await
                .unwrap_or_default();
            return Err(TransportError::Status {
                status: status.as_u16(),
                body: conduit_http::body_excerpt(&bytes, 512),
                retry_after: None,
            });
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let essence = content_type.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case("text/event-stream") {
            return Err(TransportError::Malformed(format!(
                "GET {} answered with Content-Type {content_type:?}, not an SSE stream",
                self.url
            )));
        }
        let mut body = response.into_body();
        let mut parser = SseParser::new(self.config.max_message_bytes);
        loop {
            match parser.next_event() {
                Ok(Some(event)) => {
                    // Comments and empty keep-alive events carry no data.
                    if event.data.is_empty() && event.event.is_none() {
                        continue;
                    }
                    if event.event.as_deref() != Some("endpoint") {
                        return Err(TransportError::Malformed(format!(
                            "the first event of the SSE stream {} is `{}`, not `endpoint`: this is not a 2024-11-05 HTTP+SSE server",
                            self.url,
                            event.event.as_deref().unwrap_or("message")
                        )));
                    }
                    let endpoint = resolve_endpoint(&self.url, &event.data)?;
                    return Ok((endpoint, body, parser));
                }
                Ok(None) => {}
                Err(SseError::TooLarge { limit }) => {
                    return Err(TransportError::TooLarge { limit })
                }
            }
            match body.chunk().await {
                Some(Ok(bytes)) => parser.push(&bytes),
                Some(Err(e)) => return Err(map_http_error(e)),
                None => return Err(TransportError::StreamEnded { resumed: false }),
            }
        }
    }

    /// Posts one message to the endpoint.
    async fn post(&self, endpoint: &Uri, message: Message) -> Result<(), TransportError> {
        let request = http::Request::builder()
            .method(Method::POST)
            .uri(endpoint.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream")
            .body(Bytes::from(message.to_vec()))
            .map_err(|e| TransportError::other(format!("could not build the request: {e}")))?;
        let response = self.http.send(request).await.map_err(map_http_error)?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect_limited(64 * 1024)
            .await
            .unwrap_or_default();
        if status.is_success() {
            return Ok(());
        }
        if status == StatusCode::NOT_FOUND {
            // The server no longer knows the session: nothing was processed.
            let reason = format!("POST {endpoint} answered 404");
            self.lose(None, reason.clone(), None);
            return Err(TransportError::SessionExpired {
                session: format!("legacy SSE stream {} ({reason})", self.url),
            });
        }
        Err(TransportError::Status {
            status: status.as_u16(),
            body: conduit_http::body_excerpt(&bytes, 512),
            retry_after: None,
        })
    }

    /// The stream of `generation` (or the current one, when `None`) ended: fail every pending
    /// call and remember why, until the client starts a new session.
    fn lose(&self, generation: Option<u64>, reason: String, too_large: Option<usize>) {
        let waiters: Vec<Waiter> = match self.state.lock() {
            Ok(mut s) => {
                let current = s.link.as_ref().map(|l| l.generation);
                if generation.is_some() && current != generation {
                    return;
                }
                if let Some(link) = s.link.take() {
                    link.reader.abort();
                }
                s.lost = Some(reason.clone());
                s.pending.drain().map(|(_, w)| w).collect()
            }
            Err(_) => Vec::new(),
        };
        if !waiters.is_empty() {
            tracing::warn!(url = %self.url, %reason, pending = waiters.len(), "legacy SSE stream lost; failing calls in flight");
        }
        for w in waiters {
            let error = match too_large {
                Some(limit) => TransportError::TooLarge { limit },
                None => TransportError::ConnectionLost {
                    reason: reason.clone(),
                },
            };
            let _ = w.send(Err(error));
        }
    }
}

/// Resolves the `endpoint` event's data against the SSE URL and refuses another origin.
fn resolve_endpoint(base: &Uri, data: &[u8]) -> Result<Uri, TransportError> {
    let text = std::str::from_utf8(data)
        .map_err(|_| TransportError::Malformed("the `endpoint` event is not UTF-8".into()))?
        .trim();
    if text.is_empty() {
        return Err(TransportError::Malformed(
            "the `endpoint` event names no URI".into(),
        ));
    }
    let base_url = url::Url::parse(&base.to_string())
        .map_err(|e| TransportError::other(format!("invalid SSE URL {base}: {e}")))?;
    let joined = base_url.join(text).map_err(|e| {
        TransportError::Malformed(format!("the `endpoint` event {text:?} is not a URI: {e}"))
    })?;
    if joined.origin() != base_url.origin() {
        return Err(TransportError::Malformed(format!(
            "the `endpoint` event names {joined}, on another origin than the SSE stream {base}; refusing to post there"
        )));
    }
    joined.as_str().parse::<Uri>().map_err(|e| {
        TransportError::Malformed(format!("the `endpoint` event {text:?} is not a URI: {e}"))
    })
}

/// Reads the stream after `endpoint`: responses to their callers, the rest to `inbound`.
async fn read_stream(
    inner: std::sync::Weak<Inner>,
    mut body: Body,
    mut parser: SseParser,
    generation: u64,
) {
    let inbound = match inner.upgrade() {
        Some(i) => i.inbound.clone(),
        None => return,
    };
    let mut too_large = None;
    let reason = 'read: loop {
        loop {
            match parser.next_event() {
                Ok(Some(event)) => {
                    deliver(&inner, &inbound, event.event.as_deref(), &event.data).await;
                }
                Ok(None) => break,
                Err(SseError::TooLarge { limit }) => {
                    too_large = Some(limit);
                    break 'read format!("an event exceeded the limit of {limit} bytes");
                }
            }
        }
        match body.chunk().await {
            Some(Ok(bytes)) => parser.push(&bytes),
            Some(Err(e)) => break format!("the SSE stream failed: {}", map_http_error(e)),
            None => break "the server closed the SSE stream".to_owned(),
        }
    };
    if let Some(inner) = inner.upgrade() {
        inner.lose(Some(generation), reason, too_large);
    }
}

/// Routes one event of the stream.
async fn deliver(
    inner: &std::sync::Weak<Inner>,
    inbound: &InboundSender,
    event: Option<&str>,
    data: &[u8],
) {
    match event {
        None | Some("message") => {}
        Some("endpoint") => {
            tracing::debug!("ignoring a repeated `endpoint` event");
            return;
        }
        Some(other) => {
            tracing::debug!(event = other, "ignoring an SSE event of unknown type");
            return;
        }
    }
    if data.is_empty() {
        return;
    }
    match Message::parse(data) {
        Ok(Message::Response(r)) => {
            let Some(inner) = inner.upgrade() else { return };
            let waiter = r.id.as_ref().and_then(|id| {
                inner
                    .state
                    .lock()
                    .ok()
                    .and_then(|mut s| s.pending.remove(id))
            });
            match waiter {
                Some(w) => {
                    let _ = w.send(Ok(r));
                }
                None => {
                    tracing::warn!(id = ?r.id, "dropping a response that matches no request in flight")
                }
            }
        }
        Ok(Message::Request(r)) => {
            if inbound.send(Inbound::Request(r)).await.is_err() {
                tracing::debug!("inbound channel closed; server request dropped");
            }
        }
        Ok(Message::Notification(n)) => {
            if inbound.send(Inbound::Notification(n)).await.is_err() {
                tracing::debug!("inbound channel closed; notification dropped");
            }
        }
        Err(e) => tracing::warn!(error = %e, "skipping an SSE message that is not JSON-RPC"),
    }
}

impl Transport for LegacySse {
    fn handshake(&self) -> conduit_transport::Handshake {
        // A 2024-11-05 server: `server/discover` would only cost a refused (or unanswered)
        // probe, so `LifecycleMode::Auto` goes straight to `initialize`.
        conduit_transport::Handshake::InitializeOnly
    }

    fn request(
        &self,
        request: Request,
        ctx: RequestContext,
    ) -> BoxFuture<'_, Result<Response, TransportError>> {
        Box::pin(self.request_inner(request, ctx))
    }

    fn notify(
        &self,
        notification: Notification,
        _ctx: RequestContext,
    ) -> BoxFuture<'_, Result<(), TransportError>> {
        Box::pin(self.send_one_way(Message::Notification(notification)))
    }

    fn respond(
        &self,
        response: Response,
        _ctx: RequestContext,
    ) -> BoxFuture<'_, Result<(), TransportError>> {
        Box::pin(self.send_one_way(Message::Response(response)))
    }

    fn reset_session(&self) {
        // A new session needs a new stream — except the one just opened and not used yet
        // (the client resets before its first handshake).
        if let Ok(mut s) = self.inner.state.lock() {
            if s.link.as_ref().is_some_and(|l| !l.used) {
                return;
            }
            if let Some(link) = s.link.take() {
                link.reader.abort();
            }
            s.lost = None;
            for (_, w) in s.pending.drain() {
                let _ = w.send(Err(TransportError::ConnectionLost {
                    reason: "the client started a new session".into(),
                }));
            }
        }
    }

    fn stateless_cancellation(&self) -> StatelessCancellation {
        StatelessCancellation::Notification
    }

    fn close(&self) -> BoxFuture<'_, Result<(), TransportError>> {
        Box::pin(async move {
            if self.inner.closed.swap(true, Ordering::AcqRel) {
                return Ok(());
            }
            if let Ok(mut s) = self.inner.state.lock() {
                if let Some(link) = s.link.take() {
                    link.reader.abort();
                }
                for (_, w) in s.pending.drain() {
                    let _ = w.send(Err(TransportError::Closed));
                }
            }
            Ok(())
        })
    }
}

/// A [`StreamableHttp`] transport that can switch to a [`LegacySse`] transport on the same URL
/// when the client's lifecycle finds a 2024-11-05 server ([`Transport::legacy_fallback`]).
/// Until then it is exactly the wrapped transport.
pub struct WithLegacyFallback {
    modern: StreamableHttp,
    legacy: RwLock<Option<LegacySse>>,
    http: HttpClient,
    url: String,
    config: LegacySseConfig,
    inbound: InboundSender,
}

impl std::fmt::Debug for WithLegacyFallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WithLegacyFallback")
            .field("modern", &self.modern)
            .field("legacy", &self.current_legacy())
            .finish_non_exhaustive()
    }
}

impl WithLegacyFallback {
    /// Wraps `modern`; a fallback opens a [`LegacySse`] stream on `url` through `http`,
    /// delivering to `inbound` (give both transports the same inbound channel).
    pub fn new(
        modern: StreamableHttp,
        http: HttpClient,
        url: impl Into<String>,
        config: LegacySseConfig,
        inbound: InboundSender,
    ) -> Self {
        WithLegacyFallback {
            modern,
            legacy: RwLock::new(None),
            http,
            url: url.into(),
            config,
            inbound,
        }
    }

    /// The legacy transport, once the fallback happened.
    pub fn current_legacy(&self) -> Option<LegacySse> {
        self.legacy.read().ok().and_then(|l| l.clone())
    }
}

impl Transport for WithLegacyFallback {
    fn request(
        &self,
        request: Request,
        ctx: RequestContext,
    ) -> BoxFuture<'_, Result<Response, TransportError>> {
        match self.current_legacy() {
            Some(legacy) => Box::pin(async move { legacy.request(request, ctx).await }),
            None => self.modern.request(request, ctx),
        }
    }

    fn request_ref<'a>(
        &'a self,
        request: &'a Request,
        ctx: &'a RequestContext,
    ) -> BoxFuture<'a, Result<Response, TransportError>> {
        match self.current_legacy() {
            Some(legacy) => Box::pin(async move { legacy.request_ref(request, ctx).await }),
            None => self.modern.request_ref(request, ctx),
        }
    }

    fn notify(
        &self,
        notification: Notification,
        ctx: RequestContext,
    ) -> BoxFuture<'_, Result<(), TransportError>> {
        match self.current_legacy() {
            Some(legacy) => Box::pin(async move { legacy.notify(notification, ctx).await }),
            None => self.modern.notify(notification, ctx),
        }
    }

    fn respond(
        &self,
        response: Response,
        ctx: RequestContext,
    ) -> BoxFuture<'_, Result<(), TransportError>> {
        match self.current_legacy() {
            Some(legacy) => Box::pin(async move { legacy.respond(response, ctx).await }),
            None => self.modern.respond(response, ctx),
        }
    }

    fn session_established(&self, protocol_version: &str) {
        match self.current_legacy() {
            Some(legacy) => legacy.session_established(protocol_version),
            None => self.modern.session_established(protocol_version),
        }
    }

    fn reset_session(&self) {
        match self.current_legacy() {
            Some(legacy) => legacy.reset_session(),
            None => self.modern.reset_session(),
        }
    }

    fn stateless_cancellation(&self) -> StatelessCancellation {
        match self.current_legacy() {
            Some(legacy) => legacy.stateless_cancellation(),
            None => self.modern.stateless_cancellation(),
        }
    }

    fn close(&self) -> BoxFuture<'_, Result<(), TransportError>> {
        Box::pin(async move {
            let legacy = self.current_legacy();
            let modern = self.modern.close().await;
            match legacy {
                Some(legacy) => legacy.close().await.and(modern),
                None => modern,
            }
        })
    }

    fn legacy_fallback(&self) -> BoxFuture<'_, Result<bool, TransportError>> {
        Box::pin(async move {
            if self.current_legacy().is_some() {
                return Ok(true);
            }
            let legacy = LegacySse::connect(
                self.http.clone(),
                &self.url,
                self.config.clone(),
                self.inbound.clone(),
            )
            .await?;
            tracing::info!(url = %self.url, "the server speaks the 2024-11-05 HTTP+SSE transport; switching to it");
            if let Ok(mut slot) = self.legacy.write() {
                if let Some(previous) = slot.replace(legacy) {
                    tokio::spawn(async move {
                        let _ = previous.close().await;
                    });
                }
            }
            // The Streamable HTTP side holds no session with this server.
            self.modern.reset_session();
            Ok(true)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::resolve_endpoint;
    use conduit_transport::TransportError;

    fn base() -> http::Uri {
        "http://127.0.0.1:8080/servers/a/sse?x=1".parse().unwrap()
    }

    #[test]
    fn endpoints_resolve_against_the_sse_url() {
        let ok = |data: &str| {
            resolve_endpoint(&base(), data.as_bytes())
                .unwrap()
                .to_string()
        };
        assert_eq!(
            ok("/message?sessionId=abc"),
            "http://127.0.0.1:8080/message?sessionId=abc"
        );
        assert_eq!(
            ok("messages?sessionId=1"),
            "http://127.0.0.1:8080/servers/a/messages?sessionId=1"
        );
        assert_eq!(ok(" http://127.0.0.1:8080/m \n"), "http://127.0.0.1:8080/m");
    }

    #[test]
    fn other_origins_and_garbage_are_refused() {
        for data in [
            "http://127.0.0.1:8081/message",
            "https://127.0.0.1:8080/message",
            "http://evil.example/message",
            "//evil.example/message",
            "",
            "   ",
            "http://[::1",
        ] {
            match resolve_endpoint(&base(), data.as_bytes()) {
                Err(TransportError::Malformed(_)) => {}
                other => panic!("{data:?}: {other:?}"),
            }
        }
        assert!(matches!(
            resolve_endpoint(&base(), b"\xff\xfe"),
            Err(TransportError::Malformed(_))
        ));
    }
}
