//! [`ClientBuilder`]: every knob of a [`Client`], checked once in [`ClientBuilder::connect`].

use std::sync::Arc;
use std::time::Duration;

use conduit_http::{Authorizer, HttpClient, HttpConfig, StaticBearer};
use conduit_protocol::jsonrpc::ErrorObject;
use conduit_protocol::mcp::Implementation;
pub use conduit_transport::retry::RetryPolicy;

use crate::handler::{ClientHandler, Handlers};

use crate::client::{Client, ClientSettings};
use crate::lifecycle::{LifecycleMode, LATEST_STATEFUL_VERSION, SUPPORTED_STATEFUL_VERSIONS};
use crate::Error;

#[cfg(feature = "identity")]
#[path = "mtls.rs"]
pub(crate) mod mtls;

/// The name this client gives in `clientInfo`, the same as DataGrout's other SDKs.
pub const CLIENT_NAME: &str = "datagrout-conduit";

/// Which transport carries the session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportKind {
    /// MCP Streamable HTTP (the default).
    #[default]
    Mcp,
    /// Plain JSON-RPC over HTTP POST (DataGrout's `/rpc`; a trailing `/mcp` in the URL becomes
    /// `/rpc`). No handshake. Cargo feature `jsonrpc`.
    JsonRpc,
    /// WebSocket with the `datagrout-jsonrpc.v1` subprotocol (`http(s)://` becomes
    /// `ws(s)://`). No handshake; topic subscriptions; reconnection. Cargo feature `ws`.
    WebSocket,
    /// A local server process over stdio (see [`ClientBuilder::stdio`]).
    #[cfg(feature = "stdio")]
    Stdio,
    /// The legacy HTTP+SSE transport of MCP 2024-11-05: the URL is the server's SSE endpoint
    /// (often `…/sse`); messages are posted where its `endpoint` event says. `Mcp` falls back
    /// to it on its own when `initialize` is refused with 400/404/405. Cargo feature `http`.
    LegacySse,
}

impl std::str::FromStr for TransportKind {
    type Err = Error;

    /// `mcp`, `jsonrpc`, `ws` (`websocket`, as the reference SDK spells it, is accepted) or
    /// `legacy-sse` (`sse`).
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "mcp" | "http" => Ok(TransportKind::Mcp),
            "jsonrpc" | "json-rpc" | "rpc" => Ok(TransportKind::JsonRpc),
            "ws" | "websocket" => Ok(TransportKind::WebSocket),
            "legacy-sse" | "sse" => Ok(TransportKind::LegacySse),
            other => Err(Error::Config(format!(
                "unknown transport {other:?} (expected mcp, jsonrpc, ws or legacy-sse)"
            ))),
        }
    }
}

/// Builds a [`Client`]. Methods take and return the builder by value; configuration errors are
/// reported once, by [`ClientBuilder::connect`].
///
/// ```no_run
/// # async fn run() -> Result<(), conduit::Error> {
/// use std::time::Duration;
/// let client = conduit::Client::builder("https://gateway.datagrout.ai/servers/UUID/mcp")
///     .bearer("token")
///     .timeout(Duration::from_secs(30))
///     .connect()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ClientBuilder {
    url: String,
    transport: TransportKind,
    authorizer: Option<Arc<dyn Authorizer>>,
    timeout: Duration,
    connect_timeout: Duration,
    client_info: Implementation,
    lifecycle: LifecycleMode,
    discover_timeout: Option<Duration>,
    stateful_version: String,
    use_intelligent_interface: Option<bool>,
    listen_stream: bool,
    danger_accept_invalid_certs: bool,
    http_config: Option<HttpConfig>,
    retry: RetryPolicy,
    max_response_bytes: Option<usize>,
    max_in_flight: Option<usize>,
    budget: Option<f64>,
    keepalive: Option<Duration>,
    transport_options: crate::transports::TransportOptions,
    #[cfg(feature = "auth")]
    oauth: Option<conduit_auth::OAuthConfig>,
    /// The process to start for [`TransportKind::Stdio`].
    #[cfg(feature = "stdio")]
    pub(crate) stdio: Option<conduit_transport_stdio::StdioConfig>,
    pub(crate) errors: Vec<String>,
    #[cfg(feature = "auth")]
    pub(crate) credentials: crate::auth_builder::Credentials,
    handler: Option<crate::handler::SharedHandler>,
    handlers: Handlers,
    #[cfg(feature = "identity")]
    mtls: mtls::MtlsOptions,
}

impl ClientBuilder {
    /// A builder for the endpoint `url`.
    pub fn new(url: impl Into<String>) -> Self {
        ClientBuilder {
            url: url.into(),
            transport: TransportKind::Mcp,
            authorizer: None,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            client_info: default_client_info(),
            lifecycle: LifecycleMode::Auto,
            discover_timeout: None,
            stateful_version: LATEST_STATEFUL_VERSION.to_owned(),
            use_intelligent_interface: None,
            listen_stream: true,
            danger_accept_invalid_certs: false,
            http_config: None,
            retry: RetryPolicy::default(),
            max_response_bytes: None,
            max_in_flight: None,
            budget: None,
            keepalive: None,
            transport_options: Default::default(),
            errors: Vec::new(),
            #[cfg(feature = "auth")]
            oauth: None,
            #[cfg(feature = "stdio")]
            stdio: None,
            #[cfg(feature = "auth")]
            credentials: Default::default(),
            handler: None,
            handlers: Handlers::new(),
            #[cfg(feature = "identity")]
            mtls: mtls::MtlsOptions::default(),
        }
    }

    /// The transport (default: MCP Streamable HTTP).
    pub fn transport(mut self, kind: TransportKind) -> Self {
        self.transport = kind;
        self
    }

    /// Sends `Authorization: Bearer <token>` on every request. The token never appears in
    /// `Debug` output or logs.
    pub fn bearer(mut self, token: impl Into<String>) -> Self {
        match StaticBearer::new(token.into()) {
            Ok(bearer) => self.authorizer = Some(Arc::new(bearer)),
            Err(_) => self.errors.push(
                "the bearer token contains characters that cannot be sent in an HTTP header".into(),
            ),
        }
        self
    }

    /// Uses a custom authorization hook (OAuth providers implement it).
    pub fn authorizer(mut self, authorizer: Arc<dyn Authorizer>) -> Self {
        self.authorizer = Some(authorizer);
        self
    }

    /// The default deadline of every call (default 60 s). No call waits longer unless given its
    /// own deadline.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        if timeout.is_zero() {
            self.errors
                .push("the timeout must be greater than zero".into());
        }
        self.timeout = timeout;
        self
    }

    /// The TCP + TLS connect deadline (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The `clientInfo` sent to the server (default: `datagrout-conduit` and this crate's
    /// version).
    pub fn client_info(mut self, info: Implementation) -> Self {
        self.client_info = info;
        self
    }

    /// How to begin the session (default [`LifecycleMode::Auto`]).
    pub fn lifecycle(mut self, mode: LifecycleMode) -> Self {
        self.lifecycle = mode;
        self
    }

    /// The deadline of the `server/discover` probe of [`LifecycleMode::Auto`] (default: the
    /// request timeout, at most 10 s). A stateful-era server may leave `server/discover`
    /// unanswered; when this passes, the client falls back to `initialize`. The explicit
    /// [`LifecycleMode::Stateless`] waits the full request timeout instead.
    pub fn discover_timeout(mut self, timeout: Duration) -> Self {
        if timeout.is_zero() {
            self.errors
                .push("the discover timeout must be greater than zero".into());
        }
        self.discover_timeout = Some(timeout);
        self
    }

    /// The stateful protocol version offered in `initialize` (default 2025-11-25). Must be one
    /// this client supports.
    pub fn protocol_version(mut self, version: impl Into<String>) -> Self {
        let version = version.into();
        if version == crate::lifecycle::STATELESS_VERSION {
            self.lifecycle = LifecycleMode::Stateless;
        } else if SUPPORTED_STATEFUL_VERSIONS.contains(&version.as_str()) {
            self.stateful_version = version;
        } else {
            self.errors.push(format!(
                "unsupported protocol version {version:?} (supported: {}, {})",
                crate::lifecycle::STATELESS_VERSION,
                SUPPORTED_STATEFUL_VERSIONS.join(", ")
            ));
        }
        self
    }

    /// Keeps only DataGrout's own tools in `list_tools` (default: on for DataGrout URLs).
    pub fn use_intelligent_interface(mut self, on: bool) -> Self {
        self.use_intelligent_interface = Some(on);
        self
    }

    /// Whether to open the stateful era's server-to-client `GET` stream (default true).
    pub fn listen_stream(mut self, on: bool) -> Self {
        self.listen_stream = on;
        self
    }

    /// Accepts any server certificate. **Dangerous**: anyone on the path can impersonate the
    /// server. Logs a warning when the client is built. For local testing only.
    pub fn tls_danger_accept_invalid_certs(mut self, on: bool) -> Self {
        self.danger_accept_invalid_certs = on;
        self
    }

    /// Uses a fully custom HTTP configuration (roots, client certificate, limits). The builder's
    /// connect timeout and TLS switch are not applied on top of it.
    pub fn http_config(mut self, config: HttpConfig) -> Self {
        self.http_config = Some(config);
        self
    }

    /// How failed requests are retried (default: 3 attempts with jittered exponential backoff,
    /// only where sending again cannot execute a call twice — see
    /// [`conduit_transport::retry`]). `RetryPolicy::none()` disables retries.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The largest response body or SSE event accepted (default 16 MiB). A larger reply fails
    /// with `TransportError::TooLarge` instead of growing memory.
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        if limit == 0 {
            self.errors
                .push("max_response_bytes must be greater than zero".into());
        }
        self.max_response_bytes = Some(limit);
        self
    }

    /// Pings the server every `interval` to notice a dead connection early (default: off).
    /// The outcome is [`Client::health`](crate::Client::health); see [`crate::keepalive`]. An
    /// interval of zero turns keep-alive off.
    pub fn keepalive(mut self, interval: Duration) -> Self {
        self.keepalive = (!interval.is_zero()).then_some(interval);
        self
    }

    /// At most `limit` requests of this client in flight at once (default: unbounded). Further
    /// calls wait for a slot within their own deadline.
    pub fn max_in_flight(mut self, limit: usize) -> Self {
        if limit == 0 {
            self.errors
                .push("max_in_flight must be greater than zero".into());
        }
        self.max_in_flight = Some(limit);
        self
    }

    /// A budget in DataGrout credits: every tool call is first estimated (`estimate_only:
    /// true`) and refused with [`Error::BudgetExceeded`] — before it is sent — when the
    /// estimate exceeds what remains. Spending is read from receipts (see
    /// [`Client::ledger`](crate::Client::ledger)).
    pub fn budget(mut self, credits: f64) -> Self {
        if let Err(e) = crate::datagrout::ledger::check_budget(credits) {
            self.errors.push(e.to_string());
        }
        self.budget = Some(credits);
        self
    }

    /// Authorizes with the MCP authorization spec: on the first `401` the client discovers
    /// the server's authorization server and runs the authorization code flow with PKCE
    /// (see [`conduit_auth::OAuthAuthorizer`]). Replaces [`bearer`](Self::bearer) and
    /// [`authorizer`](Self::authorizer).
    #[cfg(feature = "auth")]
    pub fn oauth(mut self, config: conduit_auth::OAuthConfig) -> Self {
        self.oauth = Some(config);
        self
    }

    /// Settings of the WebSocket transport (ping interval, reconnection backoff, buffers).
    #[cfg(feature = "ws")]
    pub fn ws_config(mut self, config: conduit_transport_ws::WsConfig) -> Self {
        self.transport_options.ws = Some(config);
        self
    }

    /// Records a configuration error, reported by [`ClientBuilder::connect`].
    #[allow(dead_code)]
    pub(crate) fn push_error(&mut self, message: String) {
        self.errors.push(message);
    }

    /// Answers server requests with `handler` (see [`crate::handler`]); its
    /// [`ClientHandler::capabilities`] are what the client advertises. Replaces the `on_*`
    /// closures.
    pub fn handler(mut self, handler: Arc<dyn ClientHandler>) -> Self {
        self.handler = Some(crate::handler::SharedHandler(handler));
        self
    }

    /// Answers `roots/list` with `roots` (declares the `roots` capability).
    pub fn roots(mut self, roots: Vec<conduit_protocol::mcp::Root>) -> Self {
        self.handlers = self.handlers.roots(roots);
        self
    }

    /// Answers `roots/list` with a closure (declares `roots`).
    pub fn on_roots<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<
                Output = Result<conduit_protocol::mcp::ListRootsResult, ErrorObject>,
            > + Send
            + 'static,
    {
        self.handlers = self.handlers.on_roots(f);
        self
    }

    /// Answers `sampling/createMessage` (declares `sampling`, and `sampling.tools` when
    /// `tools` is true).
    pub fn on_sampling<F, Fut>(mut self, tools: bool, f: F) -> Self
    where
        F: Fn(conduit_protocol::mcp::CreateMessageParams) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<
                Output = Result<conduit_protocol::mcp::CreateMessageResult, ErrorObject>,
            > + Send
            + 'static,
    {
        self.handlers = self.handlers.on_sampling(tools, f);
        self
    }

    /// Answers form-mode `elicitation/create` (declares `elicitation.form`).
    pub fn on_elicitation<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(conduit_protocol::mcp::ElicitFormParams) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<conduit_protocol::mcp::ElicitResult, ErrorObject>>
            + Send
            + 'static,
    {
        self.handlers = self.handlers.on_elicitation(f);
        self
    }

    /// The consent hook of URL-mode `elicitation/create` (declares `elicitation.url`). The
    /// client never opens the URL itself.
    pub fn on_url_elicitation<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(conduit_protocol::mcp::ElicitUrlParams) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<conduit_protocol::mcp::ElicitResult, ErrorObject>>
            + Send
            + 'static,
    {
        self.handlers = self.handlers.on_url_elicitation(f);
        self
    }

    /// Fills omitted fields of accepted form answers from the schema's `default`s (SEP-1034),
    /// for the `on_elicitation` closure.
    pub fn apply_elicitation_defaults(mut self, on: bool) -> Self {
        self.handlers = self.handlers.apply_elicitation_defaults(on);
        self
    }

    /// Connects: builds the transport and runs the lifecycle.
    pub async fn connect(self) -> Result<Client, Error> {
        if let Some(first) = self.errors.into_iter().next() {
            return Err(Error::Config(first));
        }
        crate::transports::ensure_compiled_in(self.transport, &self.url)?;
        let http_config = match self.http_config {
            Some(c) => c,
            None => HttpConfig::builder()
                .connect_timeout(self.connect_timeout)
                .response_header_timeout(self.timeout)
                .tls_danger_accept_invalid_certs(self.danger_accept_invalid_certs)
                .build()
                .map_err(|e| Error::Config(e.to_string()))?,
        };
        #[cfg(feature = "identity")]
        let (http_config, identity) =
            mtls::prepare(&self.mtls, &self.url, http_config, self.timeout).await?;
        let mut http = HttpClient::new(http_config).map_err(|e| Error::Config(e.to_string()))?;
        if let Some(auth) = self.authorizer {
            http = http.with_authorizer(auth);
        }
        #[cfg(feature = "auth")]
        if let Some(oauth) = self.oauth {
            let authorizer = conduit_auth::OAuthAuthorizer::new(http.clone(), &self.url, oauth)
                .map_err(|e| Error::Config(e.to_string()))?;
            http = http.with_authorizer(Arc::new(authorizer));
        }
        // Client credentials and delegation take precedence over the authorization code flow
        // and a static bearer, as in the reference SDK.
        #[cfg(feature = "auth")]
        {
            http = self.credentials.install(http, &self.url)?;
        }
        let use_intelligent_interface = self
            .use_intelligent_interface
            .unwrap_or_else(|| crate::is_dg_url(&self.url));
        let url = crate::transports::endpoint_url(self.transport, &self.url);
        let handler: Arc<dyn ClientHandler> = match self.handler {
            Some(h) => h.0,
            None => Arc::new(self.handlers),
        };
        let client_capabilities = handler.capabilities();
        let capabilities = serde_json::to_value(&client_capabilities)
            .map_err(|e| Error::Config(format!("unencodable client capabilities: {e}")))?;
        let settings = ClientSettings {
            url: url.clone(),
            timeout: self.timeout,
            client_info: self.client_info,
            lifecycle: self.lifecycle,
            discover_timeout: self
                .discover_timeout
                .unwrap_or_else(|| self.timeout.min(crate::lifecycle::DEFAULT_DISCOVER_TIMEOUT)),
            stateful_version: self.stateful_version,
            capabilities,
            use_intelligent_interface,
            max_in_flight: self.max_in_flight,
            keepalive: self.keepalive,
            budget: self.budget,
            handler,
            client_capabilities,
            #[cfg(feature = "identity")]
            identity,
        };
        let (tx, rx) = tokio::sync::mpsc::channel(conduit_transport::INBOUND_CAPACITY);
        let flush_tx = tx.downgrade();
        let transport: Arc<dyn conduit_transport::Transport> = match self.transport {
            #[cfg(feature = "http")]
            TransportKind::Mcp => {
                let defaults = conduit_transport_http::StreamableHttpConfig::default();
                let config = conduit_transport_http::StreamableHttpConfig {
                    listen_stream: self.listen_stream,
                    max_message_bytes: self
                        .max_response_bytes
                        .unwrap_or(defaults.max_message_bytes),
                    ..defaults
                };
                let modern = conduit_transport_http::StreamableHttp::new(
                    http.clone(),
                    &url,
                    config,
                    tx.clone(),
                )
                .map_err(|e| Error::Config(e.to_string()))?;
                // Backwards compatibility: a refused `initialize` may switch to the 2024-11-05
                // HTTP+SSE transport of the same URL (see `lifecycle::initialize`).
                Arc::new(conduit_transport_http::legacy::WithLegacyFallback::new(
                    modern,
                    http,
                    url.clone(),
                    crate::transports::legacy_config(self.max_response_bytes),
                    tx,
                ))
            }
            #[cfg(feature = "stdio")]
            TransportKind::Stdio => crate::stdio::spawn(self.stdio, tx)?,
            other => {
                let mut options = self.transport_options.clone();
                options.max_response_bytes = self.max_response_bytes;
                crate::transports::build(other, http, &url, &options, tx).await?
            }
        };
        let transport: Arc<dyn conduit_transport::Transport> = Arc::new(
            conduit_transport::retry::Retrying::new(transport, self.retry),
        );
        Client::start(transport, rx, Some(flush_tx), settings).await
    }
}

fn default_client_info() -> Implementation {
    Implementation::new(CLIENT_NAME, env!("CARGO_PKG_VERSION"))
}
