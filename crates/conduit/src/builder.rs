//! [`ClientBuilder`]: every knob of a [`Client`], checked once in [`ClientBuilder::connect`].

use std::sync::Arc;
use std::time::Duration;

use conduit_http::{Authorizer, HttpClient, HttpConfig, StaticBearer};
use conduit_protocol::mcp::Implementation;
use serde_json::json;

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
    stateful_version: String,
    use_intelligent_interface: Option<bool>,
    listen_stream: bool,
    danger_accept_invalid_certs: bool,
    http_config: Option<HttpConfig>,
    errors: Vec<String>,
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
            stateful_version: LATEST_STATEFUL_VERSION.to_owned(),
            use_intelligent_interface: None,
            listen_stream: true,
            danger_accept_invalid_certs: false,
            http_config: None,
            errors: Vec::new(),
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

    /// Connects: builds the transport and runs the lifecycle.
    pub async fn connect(self) -> Result<Client, Error> {
        if let Some(first) = self.errors.into_iter().next() {
            return Err(Error::Config(first));
        }
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
        let use_intelligent_interface = self
            .use_intelligent_interface
            .unwrap_or_else(|| crate::is_dg_url(&self.url));
        let settings = ClientSettings {
            url: self.url.clone(),
            timeout: self.timeout,
            client_info: self.client_info,
            lifecycle: self.lifecycle,
            stateful_version: self.stateful_version,
            capabilities: json!({}),
            use_intelligent_interface,
            #[cfg(feature = "identity")]
            identity,
        };
        let (tx, rx) = tokio::sync::mpsc::channel(conduit_transport::INBOUND_CAPACITY);
        let transport: Arc<dyn conduit_transport::Transport> = match self.transport {
            TransportKind::Mcp => {
                let config = conduit_transport_http::StreamableHttpConfig {
                    listen_stream: self.listen_stream,
                    ..Default::default()
                };
                Arc::new(
                    conduit_transport_http::StreamableHttp::new(http, &self.url, config, tx)
                        .map_err(|e| Error::Config(e.to_string()))?,
                )
            }
        };
        Client::start(transport, rx, settings).await
    }
}

fn default_client_info() -> Implementation {
    Implementation::new(CLIENT_NAME, env!("CARGO_PKG_VERSION"))
}
