//! The MCP client: lifecycle, requests, pagination, server-initiated messages.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use conduit_protocol::jsonrpc::{Notification, Outcome, Request, RequestId, Response};
use conduit_protocol::mcp::{
    CallToolResult, GetPromptResult, Implementation, ProgressNotificationParams, Prompt,
    ReadResourceResult, Resource, ResourceTemplate, ServerCapabilities, Tool,
};
use conduit_transport::{
    Era, Inbound, InboundReceiver, RequestContext, StatelessCancellation, Transport, TransportError,
};
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};
use tokio::task::JoinHandle;

use crate::builder::ClientBuilder;
use crate::handler::ClientHandler;
use crate::lifecycle::{self, LifecycleMode, Negotiated};
use crate::notifications::Hub;
use crate::progress::{with_deadline, CancelHandle, ProgressSink, Stop};
use crate::Error;

/// A page of a paginated list.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// The cursor of the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Per-call options.
#[derive(Clone, Debug, Default)]
pub struct CallOptions {
    /// Overrides the client's default request timeout for this call.
    pub timeout: Option<Duration>,
    /// Receives the call's progress notifications (`params` of `notifications/progress`). A
    /// progress token is attached to the request when this is set (or when
    /// `reset_timeout_on_progress` is). Updates that the receiver is too slow to take are
    /// dropped rather than stalling the response stream.
    pub progress: Option<tokio::sync::mpsc::Sender<ProgressNotificationParams>>,
    /// Called with each of the call's progress notifications, in order (also attaches a
    /// progress token). Runs on the client's dispatcher: keep it quick.
    pub on_progress: Option<crate::progress::ProgressCallback>,
    /// Declares a `tools/call` safe to execute twice, so that it may be retried after a failure
    /// that might have reached the server (a timeout, a lost connection, HTTP 502/504), and
    /// resent by a reconnecting transport (WebSocket) instead of failing with
    /// `TransportError::ConnectionLost`. Lists, reads, gets and ping are always treated as
    /// idempotent; no other call is ever retried unless it certainly was not delivered or the
    /// server refused it (429/503).
    pub idempotent: bool,
    /// Each progress notification restarts the call's timeout (the spec's MAY), still bounded
    /// by `max_total_timeout`.
    pub reset_timeout_on_progress: bool,
    /// The overall limit when `reset_timeout_on_progress` is on (default: 10 × the timeout).
    pub max_total_timeout: Option<Duration>,
    /// Cancels the call from elsewhere (see [`CancelHandle`]).
    pub cancel: Option<CancelHandle>,
}

impl CallOptions {
    /// Options with the given timeout.
    pub fn timeout(timeout: Duration) -> Self {
        CallOptions {
            timeout: Some(timeout),
            ..CallOptions::default()
        }
    }

    /// Declares the call idempotent (see [`CallOptions::idempotent`]).
    pub fn with_idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// Sets the progress receiver.
    pub fn with_progress(
        mut self,
        sender: tokio::sync::mpsc::Sender<ProgressNotificationParams>,
    ) -> Self {
        self.progress = Some(sender);
        self
    }

    /// Calls `f` with each progress notification of the call (see
    /// [`CallOptions::on_progress`](CallOptions#structfield.on_progress)).
    pub fn on_progress(
        mut self,
        f: impl Fn(ProgressNotificationParams) + Send + Sync + 'static,
    ) -> Self {
        self.on_progress = Some(crate::progress::ProgressCallback::new(f));
        self
    }

    /// Restarts the timeout on each progress notification, up to `max_total` in all.
    pub fn reset_timeout_on_progress(mut self, max_total: Option<Duration>) -> Self {
        self.reset_timeout_on_progress = true;
        self.max_total_timeout = max_total;
        self
    }

    /// Cancels the call when `handle` is cancelled.
    pub fn with_cancel(mut self, handle: CancelHandle) -> Self {
        self.cancel = Some(handle);
        self
    }
}

/// An MCP client connected to one server. Cheap to clone: clones share the connection, the
/// session and the request counter.
///
/// ```no_run
/// # async fn run() -> Result<(), conduit::Error> {
/// let client = conduit::Client::builder("http://127.0.0.1:8080/mcp").connect().await?;
/// for tool in client.list_tools().await? {
///     println!("{}", tool.name);
/// }
/// let result = client.call_tool("echo", serde_json::json!({"message": "hi"})).await?;
/// println!("{:?}", result.content);
/// client.close().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<ClientInner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.inner.url)
            .field("negotiated", &self.inner.negotiated())
            .finish_non_exhaustive()
    }
}

pub(crate) struct ClientSettings {
    pub(crate) url: String,
    pub(crate) timeout: Duration,
    pub(crate) client_info: Implementation,
    pub(crate) lifecycle: LifecycleMode,
    /// The deadline of `LifecycleMode::Auto`'s `server/discover` probe.
    pub(crate) discover_timeout: Duration,
    pub(crate) stateful_version: String,
    pub(crate) capabilities: Value,
    pub(crate) use_intelligent_interface: bool,
    pub(crate) max_in_flight: Option<usize>,
    pub(crate) budget: Option<f64>,
    /// The keep-alive interval, when on (see [`crate::keepalive`]).
    pub(crate) keepalive: Option<Duration>,
    /// Answers what the server asks of the client.
    pub(crate) handler: Arc<dyn ClientHandler>,
    /// `handler.capabilities()`, typed, as advertised.
    pub(crate) client_capabilities: conduit_protocol::mcp::ClientCapabilities,
    /// The mTLS identity and its rotation task, if any.
    #[cfg(feature = "identity")]
    pub(crate) identity: Option<crate::builder::mtls::IdentityRuntime>,
}

pub(crate) struct ClientInner {
    pub(crate) url: String,
    pub(crate) transport: Arc<dyn Transport>,
    pub(crate) settings: ClientSettings,
    next_id: AtomicI64,
    progress_tokens: AtomicI64,
    /// Shared, so that a call takes a reference count instead of cloning the capabilities.
    negotiated: Mutex<Option<Arc<Negotiated>>>,
    /// Serialises session (re-)establishment so concurrent 404s share one new session.
    session_lock: tokio::sync::Mutex<u64>,
    /// Generation of the current session, bumped at each (re-)establishment.
    generation: AtomicI64,
    progress: Mutex<HashMap<String, ProgressSink>>,
    dispatcher: Mutex<Option<JoinHandle<()>>>,
    /// Bounds the requests in flight, when configured.
    in_flight: Option<Arc<tokio::sync::Semaphore>>,
    /// The DataGrout cost ledger and budget.
    costs: crate::datagrout::ledger::CostState,
    /// `x-mcp-header` declarations of listed tools (see `param_headers`).
    pub(crate) tool_headers: crate::param_headers::ToolHeaders,
    pub(crate) closed: AtomicBool,
    /// Notification subscribers.
    pub(crate) hub: Hub,
    /// Server requests being answered, by id, so that the server can cancel them.
    server_requests: Mutex<HashMap<String, tokio::task::AbortHandle>>,
    /// The log level set with `set_level` (sent in `_meta` in the stateless era).
    pub(crate) log_level: Mutex<Option<conduit_protocol::mcp::LoggingLevel>>,
    /// Cached lists (see [`crate::subscriptions`]).
    pub(crate) cache: crate::subscriptions::ListCache,
    /// `notifications/cancelled` being sent; [`Client::close`] waits (boundedly) for them.
    cancels_pending: tokio::sync::watch::Sender<usize>,
    /// The transport's inbound channel, for flush markers (weak: the channel still closes when
    /// the transport lets go of it).
    inbound_tx: Option<tokio::sync::mpsc::WeakSender<Inbound>>,
    /// Flush markers waiting for the dispatcher, by number.
    flushes: Mutex<HashMap<u64, tokio::sync::oneshot::Sender<()>>>,
    next_flush: std::sync::atomic::AtomicU64,
    /// What the keep-alive probes found.
    health: crate::keepalive::HealthSender,
    /// Tools listed as requiring a task (see [`crate::tasks`]).
    pub(crate) task_tools: crate::tasks::TaskTools,
    /// The `outputSchema`s of listed tools (see [`crate::output_schema`]).
    pub(crate) output_schemas: crate::output_schema::OutputSchemas,
    /// URL elicitations the server reported complete (see [`crate::url_elicitation`]).
    pub(crate) url_elicitations: crate::url_elicitation::Completions,
}

impl Drop for ClientInner {
    fn drop(&mut self) {
        if let Ok(mut d) = self.dispatcher.lock() {
            if let Some(task) = d.take() {
                task.abort();
            }
        }
    }
}

impl ClientInner {
    pub(crate) fn negotiated(&self) -> Option<Negotiated> {
        self.negotiated
            .lock()
            .ok()
            .and_then(|n| n.as_deref().cloned())
    }

    /// Waits (at most [`FLUSH_LIMIT`]) until the dispatcher has handled every message the
    /// transport delivered before this call: transports queue a request's notifications before
    /// they resolve its response, so after a response this lets its last progress updates
    /// through before the progress route goes away.
    pub(crate) async fn flush_inbound(&self) {
        let Some(tx) = self.inbound_tx.as_ref().and_then(|w| w.upgrade()) else {
            return;
        };
        let n = self.next_flush.fetch_add(1, Ordering::Relaxed);
        let (done, flushed) = tokio::sync::oneshot::channel();
        if let Ok(mut f) = self.flushes.lock() {
            f.insert(n, done);
        }
        let marker =
            Inbound::Notification(Notification::new(FLUSH_METHOD, Some(json!({ "flush": n }))));
        let waited = tokio::time::timeout(FLUSH_LIMIT, async move {
            if tx.send(marker).await.is_ok() {
                let _ = flushed.await;
            }
        })
        .await;
        if waited.is_err() {
            tracing::debug!("inbound flush timed out; late progress updates may be dropped");
        }
        if let Ok(mut f) = self.flushes.lock() {
            f.remove(&n);
        }
    }

    /// The negotiated state without cloning it (the request hot path).
    fn negotiated_shared(&self) -> Option<Arc<Negotiated>> {
        self.negotiated.lock().ok().and_then(|n| n.clone())
    }

    fn set_negotiated(&self, n: Option<Negotiated>) {
        if let Ok(mut slot) = self.negotiated.lock() {
            *slot = n.map(Arc::new);
        }
    }

    pub(crate) fn next_id(&self) -> RequestId {
        RequestId::Number(self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    pub(crate) fn context(&self, negotiated: &Negotiated, name: Option<String>) -> RequestContext {
        RequestContext::new(negotiated.era)
            .with_protocol_version(Some(negotiated.protocol_version.clone()))
            .with_name(name)
    }
}

/// `{name, arguments?}` params of `tools/call` and `prompts/get`; the arguments must be a JSON
/// object (or null for none).
pub(crate) fn named_params(
    kind: &str,
    name: &str,
    arguments: Value,
) -> Result<Map<String, Value>, Error> {
    let mut params = Map::new();
    params.insert("name".into(), Value::String(name.to_owned()));
    match arguments {
        Value::Null => {}
        Value::Object(_) => {
            params.insert("arguments".into(), arguments);
        }
        _ => {
            return Err(Error::Config(format!(
                "the arguments of {kind} `{name}` must be a JSON object"
            )))
        }
    }
    Ok(params)
}

/// Methods that are safe to send twice.
fn is_idempotent(method: &str) -> bool {
    matches!(
        method,
        "ping"
            | "server/discover"
            | "tools/list"
            | "resources/list"
            | "resources/templates/list"
            | "resources/read"
            | "prompts/list"
            | "prompts/get"
            | "completion/complete"
            | "tasks/get"
            | "tasks/list"
    )
}

/// The methods whose `Mcp-Name` header is taken from the params.
fn mcp_name(method: &str, params: Option<&Value>) -> Option<String> {
    let key = match method {
        "tools/call" | "prompts/get" => "name",
        "resources/read" => "uri",
        _ => return None,
    };
    params
        .and_then(|p| p.get(key))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

impl Client {
    /// Starts building a client for the MCP endpoint `url`.
    pub fn builder(url: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(url)
    }

    /// Connects with default settings (see [`ClientBuilder`]).
    pub async fn connect(url: impl Into<String>) -> Result<Client, Error> {
        ClientBuilder::new(url).connect().await
    }

    pub(crate) async fn start(
        transport: Arc<dyn Transport>,
        inbound: InboundReceiver,
        inbound_tx: Option<tokio::sync::mpsc::WeakSender<Inbound>>,
        settings: ClientSettings,
    ) -> Result<Client, Error> {
        let settings_in_flight = settings.max_in_flight;
        let inner = Arc::new(ClientInner {
            costs: crate::datagrout::ledger::CostState::new(settings.budget),
            url: settings.url.clone(),
            transport,
            settings,
            next_id: AtomicI64::new(1),
            progress_tokens: AtomicI64::new(1),
            negotiated: Mutex::new(None),
            session_lock: tokio::sync::Mutex::new(0),
            generation: AtomicI64::new(0),
            progress: Mutex::new(HashMap::new()),
            dispatcher: Mutex::new(None),
            closed: AtomicBool::new(false),
            in_flight: settings_in_flight.map(|n| Arc::new(tokio::sync::Semaphore::new(n))),
            tool_headers: Default::default(),
            hub: Hub::default(),
            cancels_pending: tokio::sync::watch::Sender::new(0),
            server_requests: Mutex::new(HashMap::new()),
            log_level: Mutex::new(None),
            cache: Default::default(),
            inbound_tx,
            flushes: Mutex::new(HashMap::new()),
            next_flush: std::sync::atomic::AtomicU64::new(0),
            health: crate::keepalive::HealthSender::new(Default::default()),
            task_tools: Default::default(),
            output_schemas: Default::default(),
            url_elicitations: Default::default(),
        });
        let task = tokio::spawn(dispatch(Arc::downgrade(&inner), inbound));
        if let Ok(mut d) = inner.dispatcher.lock() {
            *d = Some(task);
        }
        let client = Client { inner };
        client.establish(0).await?;
        if let Some(interval) = client.inner.settings.keepalive {
            crate::keepalive::spawn(&client.inner, interval);
        }
        Ok(client)
    }

    /// The server's name and version, as it announced them.
    pub fn server_info(&self) -> Option<Implementation> {
        self.inner.negotiated().and_then(|n| n.server_info)
    }

    /// The server's capabilities.
    pub fn server_capabilities(&self) -> Option<ServerCapabilities> {
        self.inner.negotiated().map(|n| n.capabilities)
    }

    /// The server's instructions, if it gave any.
    pub fn instructions(&self) -> Option<String> {
        self.inner.negotiated().and_then(|n| n.instructions)
    }

    /// The protocol version in use.
    pub fn protocol_version(&self) -> Option<String> {
        self.inner
            .negotiated_shared()
            .map(|n| n.protocol_version.to_string())
    }

    /// The era in use: stateful (`initialize`) or stateless (`server/discover`).
    pub fn era(&self) -> Option<Era> {
        self.inner.negotiated_shared().map(|n| n.era)
    }

    /// The endpoint URL.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// Whether `list_tools` keeps only DataGrout's own tools (see the builder option).
    pub fn uses_intelligent_interface(&self) -> bool {
        self.inner.settings.use_intelligent_interface
    }

    /// Establishes a session (or re-establishes it, when `seen_generation` is the current one).
    async fn establish(&self, seen_generation: i64) -> Result<(), Error> {
        let mut guard = self.inner.session_lock.lock().await;
        if self.inner.generation.load(Ordering::Acquire) != seen_generation {
            // Another caller already re-established the session.
            return Ok(());
        }
        self.inner.transport.reset_session();
        self.inner.set_negotiated(None);
        let negotiated = lifecycle::establish(self).await?;
        if negotiated.era == Era::Stateful {
            self.inner
                .transport
                .session_established(&negotiated.protocol_version);
        }
        self.inner.set_negotiated(Some(negotiated));
        *guard += 1;
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// Sends one request during the lifecycle handshake (no session retry, no `_meta` filling
    /// beyond what the caller put in).
    pub(crate) async fn handshake_request(
        &self,
        method: &str,
        params: Value,
        ctx: RequestContext,
    ) -> Result<Value, Error> {
        let id = self.inner.next_id();
        let request = Request::new(id, method, Some(params));
        let timeout = self.inner.settings.timeout;
        match tokio::time::timeout(timeout, self.inner.transport.request(request, ctx)).await {
            Err(_) => Err(Error::Timeout {
                method: method.to_owned(),
                after: timeout,
            }),
            Ok(Err(e)) => Err(Error::Transport(e)),
            Ok(Ok(response)) => match response.outcome {
                Outcome::Result(v) => Ok(v),
                Outcome::Error(e) => Err(Error::rpc(method, e)),
            },
        }
    }

    pub(crate) async fn handshake_notify(
        &self,
        method: &str,
        params: Option<Value>,
        ctx: RequestContext,
    ) -> Result<(), Error> {
        let timeout = self.inner.settings.timeout;
        let n = Notification::new(method, params);
        match tokio::time::timeout(timeout, self.inner.transport.notify(n, ctx)).await {
            Err(_) => Err(Error::Timeout {
                method: method.to_owned(),
                after: timeout,
            }),
            Ok(r) => r.map_err(Error::Transport),
        }
    }

    pub(crate) fn settings(&self) -> &ClientSettings {
        &self.inner.settings
    }

    pub(crate) fn transport(&self) -> &Arc<dyn Transport> {
        &self.inner.transport
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    pub(crate) fn from_inner(inner: Arc<ClientInner>) -> Client {
        Client { inner }
    }

    /// Where the keep-alive task publishes the connection's health.
    pub(crate) fn health_sender(&self) -> &crate::keepalive::HealthSender {
        &self.inner.health
    }

    pub(crate) fn inner(&self) -> &Arc<ClientInner> {
        &self.inner
    }

    /// Sends a request and returns its raw result.
    ///
    /// In the stateless era the per-request `_meta` keys (protocol version, client info and
    /// capabilities) are filled in here; callers never add them. A stateful session that the
    /// server expired (HTTP 404) is re-established once and the request sent again: the 404
    /// means the server did not process it.
    pub async fn request(&self, method: &str, params: Option<Value>) -> Result<Value, Error> {
        self.request_with(method, params, CallOptions::default())
            .await
    }

    /// [`Client::request`] with per-call options.
    pub async fn request_with(
        &self,
        method: &str,
        mut params: Option<Value>,
        options: CallOptions,
    ) -> Result<Value, Error> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        let timeout = options.timeout.unwrap_or(self.inner.settings.timeout);
        // One deadline for the whole call: waiting for a slot, retries and session renewal.
        let deadline = tokio::time::Instant::now() + timeout;
        let mut slot = self.in_flight_slot(method, deadline, timeout).await?;
        let max_total = if options.reset_timeout_on_progress {
            Some(options.max_total_timeout.unwrap_or(timeout * 10))
        } else {
            None
        };
        let mut reestablished = false;
        let mut version_retried = false;
        let mut relisted = false;
        let mut url_elicitation_retried = false;
        let mut retry: Option<crate::mrtr::Retry> = None;
        let mut rounds = 0usize;
        loop {
            if options
                .cancel
                .as_ref()
                .is_some_and(CancelHandle::is_cancelled)
            {
                return Err(Error::Cancelled {
                    method: method.to_owned(),
                });
            }
            let generation = self.inner.generation.load(Ordering::Acquire);
            let negotiated = self.inner.negotiated_shared().ok_or(Error::Closed)?;
            // When the attempt sends the caller's params as they are (no input-required answers
            // to apply, no stateless `_meta`, no progress token), they are lent to the request
            // and taken back after it, instead of being copied for every attempt.
            let lent = retry.is_none()
                && negotiated.era != Era::Stateless
                && options.progress.is_none()
                && options.on_progress.is_none()
                && !options.reset_timeout_on_progress;
            let attempt = match &retry {
                Some(r) => r.apply(params.clone()),
                None if lent => params.take(),
                None => params.clone(),
            };
            let mut attempt = lifecycle::decorate_params(self, &negotiated, attempt);
            let (activity_tx, activity_rx) = if options.reset_timeout_on_progress {
                let (tx, rx) = tokio::sync::watch::channel(());
                (Some(Arc::new(tx)), Some(rx))
            } else {
                (None, None)
            };
            let progress_route = if options.progress.is_some()
                || options.on_progress.is_some()
                || activity_tx.is_some()
            {
                let token = format!(
                    "conduit-{}",
                    self.inner.progress_tokens.fetch_add(1, Ordering::Relaxed)
                );
                attempt = Some(with_progress_token(attempt, &token));
                Some(self.register_progress(
                    token_key(&Value::String(token)),
                    ProgressSink {
                        user: options.progress.clone(),
                        callback: options.on_progress.clone(),
                        activity: activity_tx,
                    },
                ))
            } else {
                None
            };
            // Only the stateless era sends `Mcp-Name`.
            let name = match negotiated.era {
                Era::Stateless => mcp_name(method, attempt.as_ref()),
                Era::Stateful => None,
            };
            let ctx = self
                .inner
                .context(&negotiated, name)
                .with_idempotent(options.idempotent || is_idempotent(method))
                .with_extra_headers(
                    self.inner
                        .tool_headers
                        .for_request(method, attempt.as_ref())?,
                );
            let id = self.inner.next_id();
            crate::subscriptions::note_request_id(&id);
            let request = Request::new(id.clone(), method, attempt);
            let mut cancel = CancelOnDrop::new(self, id.clone(), &negotiated);
            // Without reset-on-progress the call keeps its one deadline across attempts; with
            // it, each attempt gets the timeout afresh, bounded by the overall maximum.
            let attempt_timeout = if options.reset_timeout_on_progress {
                timeout
            } else {
                deadline.saturating_duration_since(tokio::time::Instant::now())
            };
            let outcome = with_deadline(
                self.inner.transport.request_ref(&request, &ctx),
                attempt_timeout,
                activity_rx,
                max_total,
                options.cancel.as_ref(),
            )
            .await;
            if lent {
                params = request.params;
            }
            match outcome {
                Err(Stop::Timeout(after)) => {
                    cancel.reason = "timeout";
                    return Err(Error::Timeout {
                        method: method.to_owned(),
                        after,
                    });
                }
                Err(Stop::Cancelled) => {
                    cancel.reason = "cancelled by the caller";
                    return Err(Error::Cancelled {
                        method: method.to_owned(),
                    });
                }
                Ok(Err(TransportError::SessionExpired { .. }))
                    if negotiated.era == Era::Stateful && !reestablished =>
                {
                    cancel.disarm();
                    tracing::info!(method, "session expired; starting a new one and resending");
                    reestablished = true;
                    self.establish(generation).await?;
                    continue;
                }
                Ok(Err(e)) => {
                    cancel.disarm();
                    return Err(Error::Transport(e));
                }
                Ok(Ok(response)) => {
                    cancel.disarm();
                    if progress_route.is_some() {
                        // Progress the server sent before its response is in the inbound
                        // queue ahead of the marker: once the marker is through, every such
                        // update has reached the caller's receiver.
                        self.inner.flush_inbound().await;
                    }
                    drop(progress_route);
                    let value = match response.outcome {
                        Outcome::Result(v) => v,
                        Outcome::Error(e)
                            if e.code == conduit_protocol::jsonrpc::codes::HEADER_MISMATCH =>
                        {
                            let name = mcp_name(method, params.as_ref());
                            // A stale tool listing: learn the tool's current `x-mcp-header`
                            // declarations and retry once (2026-07-28 transport, SHOULD).
                            if negotiated.era != Era::Stateless
                                || method != "tools/call"
                                || relisted
                            {
                                return Err(Error::header_mismatch(method, name, e, relisted));
                            }
                            relisted = true;
                            tracing::info!(method, tool = ?name, message = %e.message,
                                "header mismatch; re-fetching tools/list and retrying once");
                            // The listing needs a slot of its own.
                            drop(slot.take());
                            let until = if options.reset_timeout_on_progress {
                                tokio::time::Instant::now() + timeout
                            } else {
                                deadline
                            };
                            match self.refresh_tool_headers(until).await {
                                Ok(()) => {}
                                Err(list) if list.is_timeout() => {
                                    return Err(Error::Timeout {
                                        method: method.to_owned(),
                                        after: timeout,
                                    })
                                }
                                Err(list) => {
                                    tracing::warn!(error = %list, "could not re-fetch tools/list after a header mismatch");
                                    return Err(Error::header_mismatch(method, name, e, false));
                                }
                            }
                            slot = self.in_flight_slot(method, deadline, timeout).await?;
                            continue;
                        }
                        Outcome::Error(e) => {
                            let e = Error::rpc(method, e);
                            if e.rpc_code()
                                == Some(conduit_protocol::jsonrpc::codes::URL_ELICITATION_REQUIRED)
                            {
                                let e = crate::url_elicitation::typed(e);
                                if !url_elicitation_retried
                                    && crate::url_elicitation::answerable(self, &e)
                                {
                                    url_elicitation_retried = true;
                                    crate::url_elicitation::answer(self, e, deadline).await?;
                                    continue;
                                }
                                return Err(e);
                            }
                            if negotiated.era == Era::Stateless
                                && !version_retried
                                && lifecycle::retry_with_supported_version(&e)
                            {
                                version_retried = true;
                                continue;
                            }
                            return Err(e);
                        }
                    };
                    if negotiated.era != Era::Stateless {
                        return Ok(value);
                    }
                    match conduit_protocol::mcp::result_type_of(&value) {
                        conduit_protocol::mcp::ResultType::InputRequired => {
                            rounds += 1;
                            if rounds > crate::mrtr::MAX_ROUNDS {
                                return Err(Error::protocol(
                                    method,
                                    format!(
                                        "the server still wanted input after {} rounds",
                                        crate::mrtr::MAX_ROUNDS
                                    ),
                                ));
                            }
                            let settings = &self.inner.settings;
                            retry = Some(
                                crate::mrtr::answer(
                                    method,
                                    value,
                                    settings.handler.as_ref(),
                                    &settings.client_capabilities,
                                )
                                .await?,
                            );
                            continue;
                        }
                        conduit_protocol::mcp::ResultType::Other(kind) => {
                            return Err(Error::protocol(
                                method,
                                format!("unknown resultType {kind:?}"),
                            ))
                        }
                        _ => return Ok(value),
                    }
                }
            }
        }
    }

    /// A slot of the in-flight limit, if one is configured, waited for until `deadline`.
    async fn in_flight_slot(
        &self,
        method: &str,
        deadline: tokio::time::Instant,
        timeout: Duration,
    ) -> Result<Option<tokio::sync::OwnedSemaphorePermit>, Error> {
        let Some(limit) = &self.inner.in_flight else {
            return Ok(None);
        };
        match tokio::time::timeout_at(deadline, Arc::clone(limit).acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Some(permit)),
            Ok(Err(_)) => Err(Error::Closed),
            Err(_) => Err(Error::Timeout {
                method: method.to_owned(),
                after: timeout,
            }),
        }
    }

    /// Sends a notification.
    pub async fn notify(&self, method: &str, params: Option<Value>) -> Result<(), Error> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        let negotiated = self.inner.negotiated().ok_or(Error::Closed)?;
        let ctx = self.inner.context(&negotiated, None);
        let n = Notification::new(method, params);
        let timeout = self.inner.settings.timeout;
        match tokio::time::timeout(timeout, self.inner.transport.notify(n, ctx)).await {
            Err(_) => Err(Error::Timeout {
                method: method.to_owned(),
                after: timeout,
            }),
            Ok(r) => r.map_err(Error::Transport),
        }
    }

    /// Sends a request and deserialises its result.
    pub async fn request_typed<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Option<Value>,
    ) -> Result<T, Error> {
        let value = self.request(method, params).await?;
        serde_json::from_value(value).map_err(|e| Error::protocol(method, e.to_string()))
    }

    /// One page of a list method.
    pub async fn list_page<T: DeserializeOwned>(
        &self,
        method: &str,
        field: &str,
        cursor: Option<&str>,
    ) -> Result<Page<T>, Error> {
        let params = cursor.map(|c| json!({ "cursor": c }));
        let mut result = self.request(method, params).await?;
        let items = match result.get_mut(field).map(Value::take) {
            Some(v @ Value::Array(_)) => serde_json::from_value(v)
                .map_err(|e| Error::protocol(method, format!("malformed `{field}`: {e}")))?,
            Some(Value::Null) | None => {
                return Err(Error::protocol(
                    method,
                    format!("the result has no `{field}` array"),
                ))
            }
            Some(_) => {
                return Err(Error::protocol(
                    method,
                    format!("`{field}` is not an array"),
                ))
            }
        };
        let next_cursor = match result.get("nextCursor") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(Error::protocol(method, "`nextCursor` is not a string")),
        };
        Ok(Page { items, next_cursor })
    }

    /// Every item of a list method, following `nextCursor` to the end. A repeated cursor stops
    /// with [`Error::CursorLoop`] instead of looping.
    pub async fn list_all<T: DeserializeOwned>(
        &self,
        method: &str,
        field: &str,
    ) -> Result<Vec<T>, Error> {
        let mut items = Vec::new();
        let mut seen = HashSet::new();
        let mut cursor: Option<String> = None;
        loop {
            let page: Page<T> = self.list_page(method, field, cursor.as_deref()).await?;
            items.extend(page.items);
            match page.next_cursor {
                None => return Ok(items),
                Some(next) => {
                    if !seen.insert(next.clone()) {
                        return Err(Error::CursorLoop {
                            method: method.to_owned(),
                            cursor: next,
                        });
                    }
                    cursor = Some(next);
                }
            }
        }
    }

    /// Every tool the server offers (all pages). With the intelligent interface on, only
    /// DataGrout's own tools are kept (names without `@`, or starting with `data-grout@` or
    /// `data-grout/`), as the reference SDK does. Served from the
    /// [list cache](Client::cached_list) while the server's `ttlMs` hint allows.
    pub async fn list_tools(&self) -> Result<Vec<Tool>, Error> {
        let tools: Vec<Tool> = self.cached_list("tools/list", "tools").await?;
        self.inner.task_tools.learn(&tools, true);
        self.inner.output_schemas.learn(&tools, true);
        let tools = self
            .inner
            .tool_headers
            .learn(tools, true, self.era() == Some(Era::Stateless));
        if self.inner.settings.use_intelligent_interface {
            Ok(tools
                .into_iter()
                .filter(|t| crate::is_dg_native_tool(&t.name))
                .collect())
        } else {
            Ok(tools)
        }
    }

    /// One page of `tools/list`.
    pub async fn list_tools_page(&self, cursor: Option<&str>) -> Result<Page<Tool>, Error> {
        let page: Page<Tool> = self.list_page("tools/list", "tools", cursor).await?;
        self.inner.task_tools.learn(&page.items, false);
        self.inner.output_schemas.learn(&page.items, false);
        Ok(Page {
            items: self.inner.tool_headers.learn(
                page.items,
                false,
                self.era() == Some(Era::Stateless),
            ),
            next_cursor: page.next_cursor,
        })
    }

    /// Calls a tool. A result with `isError: true` is returned as [`Error::Tool`], carrying the
    /// whole result, so that a failed tool can never pass for a success; a result that breaks
    /// the `outputSchema` the tool was listed with is [`Error::OutputSchema`] (see
    /// [`crate::output_schema`]).
    pub async fn call_tool(&self, name: &str, arguments: Value) -> Result<CallToolResult, Error> {
        let result = self
            .call_tool_raw(name, arguments, CallOptions::default())
            .await?;
        if result.is_error == Some(true) {
            return Err(Error::Tool {
                name: name.to_owned(),
                result: Box::new(result),
            });
        }
        if let Some(schema) = self.inner.output_schemas.get(name) {
            if let Err(problem) =
                crate::output_schema::check_result(result.structured_content.as_ref(), &schema)
            {
                return Err(Error::OutputSchema {
                    name: name.to_owned(),
                    problem,
                    result: Box::new(result),
                });
            }
        }
        Ok(result)
    }

    /// Calls a tool and returns its result as it is, `isError` included. Its receipt, if
    /// any, updates the [ledger](Client::ledger); with a [budget](ClientBuilder::budget) the
    /// call is estimated first and refused when over budget.
    pub async fn call_tool_raw(
        &self,
        name: &str,
        arguments: Value,
        options: CallOptions,
    ) -> Result<CallToolResult, Error> {
        let _reservation = crate::datagrout::ledger::before_call(self, name, &arguments).await?;
        self.send_tool_call(name, arguments, options).await
    }

    /// The DataGrout cost ledger and budget.
    pub(crate) fn costs(&self) -> &crate::datagrout::ledger::CostState {
        &self.inner.costs
    }

    /// `tools/call` without the budget check (the estimate itself goes through here).
    pub(crate) async fn send_tool_call(
        &self,
        name: &str,
        arguments: Value,
        options: CallOptions,
    ) -> Result<CallToolResult, Error> {
        let ledger_key = crate::datagrout::ledger::ledger_key(name, &arguments);
        if self.inner.task_tools.requires_task(name) {
            // Listed with `taskSupport: "required"`: through a task (see `crate::tasks`).
            let value = crate::tasks::call_through_task(self, name, arguments, options).await?;
            let result: CallToolResult = serde_json::from_value(value)
                .map_err(|e| Error::protocol("tools/call", e.to_string()))?;
            crate::datagrout::ledger::after_call(self, ledger_key, &result);
            return Ok(result);
        }
        let params = named_params("tool", name, arguments)?;
        let timeout = options.timeout.unwrap_or(self.inner.settings.timeout);
        let started = tokio::time::Instant::now();
        let value = self
            .request_with("tools/call", Some(Value::Object(params)), options)
            .await?;
        // A 2026 server may answer with a task (tasks extension): wait on it transparently.
        let value = if self.era() == Some(Era::Stateless) && crate::tasks::is_task_result(&value) {
            // The task's wait shares the call's one deadline.
            let left = timeout.saturating_sub(started.elapsed());
            let task = crate::tasks::TaskHandle::from_detailed(self, name, value, left)?;
            serde_json::to_value(task.wait().await?)
                .map_err(|e| Error::protocol("tools/call", e.to_string()))?
        } else {
            value
        };
        let result = crate::decode::call_tool_result(value)
            .map_err(|e| Error::protocol("tools/call", e.to_string()))?;
        crate::datagrout::ledger::after_call(self, ledger_key, &result);
        Ok(result)
    }

    /// Every resource (all pages). Served from the [list cache](Client::cached_list) while
    /// the server's `ttlMs` hint allows.
    pub async fn list_resources(&self) -> Result<Vec<Resource>, Error> {
        self.cached_list("resources/list", "resources").await
    }

    /// One page of `resources/list`.
    pub async fn list_resources_page(&self, cursor: Option<&str>) -> Result<Page<Resource>, Error> {
        self.list_page("resources/list", "resources", cursor).await
    }

    /// Every resource template (all pages). Served from the [list cache](Client::cached_list) while
    /// the server's `ttlMs` hint allows.
    pub async fn list_resource_templates(&self) -> Result<Vec<ResourceTemplate>, Error> {
        self.cached_list("resources/templates/list", "resourceTemplates")
            .await
    }

    /// Reads a resource.
    pub async fn read_resource(&self, uri: &str) -> Result<ReadResourceResult, Error> {
        self.request_typed("resources/read", Some(json!({ "uri": uri })))
            .await
    }

    /// Every prompt (all pages). Served from the [list cache](Client::cached_list) while
    /// the server's `ttlMs` hint allows.
    pub async fn list_prompts(&self) -> Result<Vec<Prompt>, Error> {
        self.cached_list("prompts/list", "prompts").await
    }

    /// Gets a prompt with its arguments (`Value::Null` for none).
    pub async fn get_prompt(&self, name: &str, arguments: Value) -> Result<GetPromptResult, Error> {
        let params = named_params("prompt", name, arguments)?;
        self.request_typed("prompts/get", Some(Value::Object(params)))
            .await
    }

    /// Checks that the server is alive: `ping` in the stateful era; the stateless era dropped
    /// `ping`, so there it asks `server/discover`.
    pub async fn ping(&self) -> Result<(), Error> {
        self.ping_with(CallOptions::default()).await
    }

    /// [`Client::ping`] with per-call options (the keep-alive probe's own deadline).
    pub(crate) async fn ping_with(&self, options: CallOptions) -> Result<(), Error> {
        let method = match self.era() {
            Some(Era::Stateless) => "server/discover",
            _ => "ping",
        };
        self.request_with(method, None, options).await.map(|_| ())
    }

    /// Ends the session (HTTP: `DELETE`) and stops background work. Later calls fail with
    /// [`Error::Closed`]. `notifications/cancelled` of calls cancelled or dropped just before
    /// are let out first (waiting at most a few seconds).
    pub async fn close(&self) -> Result<(), Error> {
        if self.inner.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        // Let cancellation notices of abandoned calls go out first (each is itself bounded).
        let mut pending = self.inner.cancels_pending.subscribe();
        let _ = tokio::time::timeout(CANCEL_FLUSH, pending.wait_for(|n| *n == 0)).await;
        let result = self.inner.transport.close().await;
        if let Ok(mut d) = self.inner.dispatcher.lock() {
            if let Some(task) = d.take() {
                task.abort();
            }
        }
        result.map_err(Error::Transport)
    }

    /// Routes progress notifications carrying `token` to `sender` until the returned guard is
    /// dropped.
    pub(crate) fn register_progress(&self, token: String, sink: ProgressSink) -> ProgressRoute {
        if let Ok(mut p) = self.inner.progress.lock() {
            p.insert(token.clone(), sink);
        }
        ProgressRoute {
            client: Arc::downgrade(&self.inner),
            token,
        }
    }
}

/// Unregisters a progress route on drop.
pub(crate) struct ProgressRoute {
    client: Weak<ClientInner>,
    token: String,
}

impl Drop for ProgressRoute {
    fn drop(&mut self) {
        if let Some(c) = self.client.upgrade() {
            if let Ok(mut p) = c.progress.lock() {
                p.remove(&self.token);
            }
        }
    }
}

/// Sends `notifications/cancelled` when a request is abandoned (its future dropped or timed
/// out) in the stateful era, and in the stateless era on transports without a per-request
/// stream (stdio: [`StatelessCancellation::Notification`]). Over Streamable HTTP in the
/// stateless era closing the response stream is the signal, which dropping the transport
/// future already does.
/// How long [`Client::close`] waits for pending `notifications/cancelled` to go out.
const CANCEL_FLUSH: Duration = Duration::from_secs(3);

struct CancelOnDrop {
    client: Weak<ClientInner>,
    id: Option<RequestId>,
    negotiated: Arc<Negotiated>,
    reason: &'static str,
}

impl CancelOnDrop {
    fn new(client: &Client, id: RequestId, negotiated: &Arc<Negotiated>) -> Self {
        CancelOnDrop {
            client: Arc::downgrade(&client.inner),
            id: Some(id),
            negotiated: negotiated.clone(),
            reason: "the caller abandoned the request",
        }
    }

    fn disarm(&mut self) {
        self.id = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        let Some(id) = self.id.take() else { return };
        let Some(inner) = self.client.upgrade() else {
            return;
        };
        if self.negotiated.era != Era::Stateful
            && inner.transport.stateless_cancellation() != StatelessCancellation::Notification
        {
            return;
        }
        if inner.closed.load(Ordering::Acquire) {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let ctx = inner.context(&self.negotiated, None);
        let params = json!({ "requestId": id, "reason": self.reason });
        inner.cancels_pending.send_modify(|n| *n += 1);
        handle.spawn(async move {
            let n = Notification::new("notifications/cancelled", Some(params));
            let sent =
                tokio::time::timeout(Duration::from_secs(5), inner.transport.notify(n, ctx)).await;
            if !matches!(sent, Ok(Ok(()))) {
                tracing::debug!("could not deliver notifications/cancelled");
            }
            inner
                .cancels_pending
                .send_modify(|n| *n = n.saturating_sub(1));
        });
    }
}

/// Handles what the server sends on its own: answers its requests, routes notifications.
async fn dispatch(client: Weak<ClientInner>, mut inbound: InboundReceiver) {
    while let Some(message) = inbound.recv().await {
        let Some(inner) = client.upgrade() else {
            return;
        };
        match message {
            Inbound::Request(request) => {
                let Some(negotiated) = inner.negotiated() else {
                    continue;
                };
                let ctx = inner.context(&negotiated, None);
                let key = token_key(&serde_json::to_value(&request.id).unwrap_or(Value::Null));
                let weak = Arc::downgrade(&inner);
                let task_key = key.clone();
                // Held while spawning so the task's own removal cannot run before the insert.
                let mut registry = match inner.server_requests.lock() {
                    Ok(m) => m,
                    Err(poisoned) => poisoned.into_inner(),
                };
                let task = tokio::spawn(async move {
                    let Some(inner) = weak.upgrade() else { return };
                    let response = answer(&inner, request).await;
                    if let Ok(mut m) = inner.server_requests.lock() {
                        m.remove(&task_key);
                    }
                    if let Err(e) = inner.transport.respond(response, ctx).await {
                        tracing::warn!(error = %e, "could not answer a server request");
                    }
                });
                registry.insert(key, task.abort_handle());
                drop(registry);
            }
            Inbound::Notification(n) if n.method == FLUSH_METHOD => {
                let number = n
                    .params
                    .as_ref()
                    .and_then(|p| p.get("flush"))
                    .and_then(Value::as_u64);
                let waiter = number.and_then(|k| inner.flushes.lock().ok()?.remove(&k));
                if let Some(waiter) = waiter {
                    let _ = waiter.send(());
                }
            }
            Inbound::Notification(n) => on_notification(&inner, n).await,
        }
    }
}

/// The method of the client's own flush markers on its inbound channel (never sent on the
/// wire; a server sending it can at most release a flush early).
const FLUSH_METHOD: &str = "conduit/internal/flush";

/// The longest a call waits for its progress updates to be flushed after its response.
const FLUSH_LIMIT: Duration = Duration::from_secs(1);

/// Answers one server request with the client's handler (see [`crate::handler`]).
async fn answer(inner: &ClientInner, request: Request) -> Response {
    let settings = &inner.settings;
    match crate::handler::fulfil(
        settings.handler.as_ref(),
        &settings.client_capabilities,
        &request.method,
        request.params,
    )
    .await
    {
        Ok(v) => Response::result(request.id, v),
        Err(e) => Response::error(request.id, e),
    }
}

async fn on_notification(inner: &ClientInner, n: Notification) {
    let parsed = match conduit_protocol::mcp::ServerNotification::parse(&n) {
        Ok(p) => p,
        Err(e) => {
            tracing::debug!(error = %e, "malformed notification from the server");
            return;
        }
    };
    use conduit_protocol::mcp::ServerNotification as N;
    match &parsed {
        N::Progress(progress) => {
            let token =
                token_key(&serde_json::to_value(&progress.progress_token).unwrap_or(Value::Null));
            let route = inner
                .progress
                .lock()
                .ok()
                .and_then(|p| p.get(&token).cloned());
            if let Some(route) = route {
                route.deliver(progress.clone());
            }
        }
        N::Cancelled(c) => {
            // The server gave up on one of its requests: stop answering it.
            if let Some(id) = &c.request_id {
                let key = token_key(&serde_json::to_value(id).unwrap_or(Value::Null));
                if let Some(task) = inner
                    .server_requests
                    .lock()
                    .ok()
                    .and_then(|mut m| m.remove(&key))
                {
                    task.abort();
                }
            }
        }
        N::LoggingMessage(m) => {
            let level = m.level.as_str();
            let logger = m.logger.as_deref().unwrap_or("server");
            let data = &m.data;
            match level {
                "debug" => tracing::debug!(target: "conduit::server", logger, %data),
                "info" | "notice" => tracing::info!(target: "conduit::server", logger, %data),
                "warning" => tracing::warn!(target: "conduit::server", logger, %data),
                _ => tracing::error!(target: "conduit::server", logger, level, %data),
            }
        }
        N::ElicitationComplete(c) => inner.url_elicitations.complete(&c.elicitation_id),
        N::ToolListChanged(_) | N::PromptListChanged(_) | N::ResourceListChanged(_) => {
            crate::subscriptions::invalidate(inner, parsed.method());
        }
        other => tracing::debug!(method = other.method(), "notification from the server"),
    }
    inner.hub.publish(&parsed);
}

/// Puts `_meta.progressToken` into request params.
fn with_progress_token(params: Option<Value>, token: &str) -> Value {
    let mut params = match params {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let meta = params
        .entry("_meta")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(meta) = meta {
        meta.insert("progressToken".into(), Value::String(token.to_owned()));
    }
    Value::Object(params)
}

/// The map key of a progress token (numbers and strings never collide).
pub(crate) fn token_key(token: &Value) -> String {
    match token {
        Value::String(s) => format!("s:{s}"),
        other => format!("n:{other}"),
    }
}
