//! Lifecycle and version negotiation — the one place that knows how the two eras begin.
//!
//! * [`LifecycleMode::Stateless`]: `server/discover` (2026-07-28); every later request carries
//!   the version, client info and capabilities in its `_meta`.
//! * [`LifecycleMode::Stateful`]: `initialize` + `notifications/initialized` (2025-11-25 and
//!   earlier); the client offers its preferred version and accepts any it supports.
//! * [`LifecycleMode::Auto`] (the default): probes with `server/discover` and falls back to
//!   `initialize` when the server is of the stateful era — it answers method-not-found, HTTP
//!   400/404/405, "not initialized", or an unsupported-version error that lists no stateless
//!   version. The outcome is remembered per URL for the life of the process, so later
//!   connections to the same server skip the probe. A legacy server may also leave
//!   `server/discover` unanswered: the probe has its own short deadline
//!   ([`ClientBuilder::discover_timeout`](crate::ClientBuilder::discover_timeout), default the
//!   request timeout but at most 10 s), on whose expiry the client falls back to `initialize`;
//!   if that fails too, [`Error::Handshake`] carries both failures.
//!
//! **Backwards compatibility with 2024-11-05 servers.** When the Streamable HTTP `initialize`
//! POST is refused with HTTP 400, 404 or 405 ([`LifecycleMode::Auto`] after its probe, or
//! [`LifecycleMode::Stateful`]), the transport is asked to fall back to the old HTTP+SSE
//! transport on the same URL (`GET`, first event `endpoint`) and `initialize` is sent again
//! over it. So the order under `Auto` is: `server/discover` → `initialize` (Streamable HTTP) →
//! `initialize` (HTTP+SSE).
//!
//! **Transports without a handshake.** DataGrout's JSON-RPC (`/rpc`) and WebSocket endpoints
//! serve requests with no `initialize` or `server/discover` first, and the reference SDK sends
//! none there. Such a transport declares [`Handshake::None`]; with [`LifecycleMode::Auto`] the
//! client then sends nothing before the first request and treats the exchange as stateful-era
//! requests at the client's configured stateful version (no session, no per-request `_meta`);
//! server info and capabilities are unknown (`None` / empty). An explicit
//! [`LifecycleMode::Stateful`] or [`LifecycleMode::Stateless`] still sends its handshake, for
//! servers that want one on those transports.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use conduit_protocol::jsonrpc::codes;
use conduit_protocol::mcp::{Implementation, ServerCapabilities};
use conduit_transport::{Era, Handshake, RequestContext, TransportError};
use serde_json::{json, Map, Value};

use crate::client::Client;
use crate::Error;

/// The stateless revision this client speaks.
pub const STATELESS_VERSION: &str = "2026-07-28";
/// The stateful revision this client offers by default in `initialize`.
pub const LATEST_STATEFUL_VERSION: &str = "2025-11-25";
/// Every stateful revision this client accepts in an `initialize` answer, newest first.
pub const SUPPORTED_STATEFUL_VERSIONS: [&str; 4] =
    ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/// The longest default deadline of [`LifecycleMode::Auto`]'s `server/discover` probe (see
/// [`ClientBuilder::discover_timeout`](crate::ClientBuilder::discover_timeout)).
pub const DEFAULT_DISCOVER_TIMEOUT: Duration = Duration::from_secs(10);

/// `_meta` key carrying the protocol version of a stateless request.
pub const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// `_meta` key carrying the client's capabilities on a stateless request.
pub const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// `_meta` key carrying the client's name and version on a stateless request.
pub const META_CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
/// `_meta` key carrying the server's name and version on a `server/discover` result.
pub const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";

/// How the client begins a session with a server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum LifecycleMode {
    /// Probe with `server/discover`, fall back to `initialize` for stateful-era servers.
    #[default]
    Auto,
    /// Only `server/discover` (2026-07-28).
    Stateless,
    /// Only `initialize` (2025-11-25 and earlier).
    Stateful,
}

/// What the lifecycle settled on.
#[derive(Clone, Debug)]
pub struct Negotiated {
    /// The era of the session.
    pub era: Era,
    /// The protocol version in use.
    pub protocol_version: Arc<str>,
    /// The server's identity, when it gave one.
    pub server_info: Option<Implementation>,
    /// The server's capabilities.
    pub capabilities: ServerCapabilities,
    /// The server's instructions.
    pub instructions: Option<String>,
}

fn era_cache() -> &'static Mutex<HashMap<String, Era>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Era>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

fn remembered(url: &str) -> Option<Era> {
    era_cache().lock().ok().and_then(|c| c.get(url).copied())
}

fn remember(url: &str, era: Era) {
    if let Ok(mut c) = era_cache().lock() {
        c.insert(url.to_owned(), era);
    }
}

/// Runs the lifecycle of the client's mode.
pub(crate) async fn establish(client: &Client) -> Result<Negotiated, Error> {
    let url = client.url().to_owned();
    match client.settings().lifecycle {
        LifecycleMode::Stateful => initialize(client).await,
        LifecycleMode::Stateless => discover(client).await,
        LifecycleMode::Auto if client.transport().handshake() == Handshake::None => {
            Ok(without_handshake(client))
        }
        LifecycleMode::Auto if client.transport().handshake() == Handshake::InitializeOnly => {
            initialize(client).await
        }
        LifecycleMode::Auto => {
            if remembered(&url) == Some(Era::Stateful) {
                return initialize(client).await;
            }
            let probe_deadline = client.settings().discover_timeout;
            let probe = match tokio::time::timeout(probe_deadline, discover(client)).await {
                Ok(outcome) => outcome,
                // Dropping the probe abandons the request (its stream is closed).
                Err(_) => Err(Error::Timeout {
                    method: "server/discover".into(),
                    after: probe_deadline,
                }),
            };
            match probe {
                Ok(n) => {
                    remember(&url, Era::Stateless);
                    Ok(n)
                }
                Err(e @ Error::Timeout { .. }) => {
                    // A legacy server may leave `server/discover` unanswered.
                    tracing::debug!(error = %e, "server/discover unanswered; falling back to initialize");
                    match initialize(client).await {
                        Ok(n) => {
                            remember(&url, Era::Stateful);
                            Ok(n)
                        }
                        Err(init) => Err(Error::Handshake {
                            discover: Box::new(e),
                            initialize: Box::new(init),
                        }),
                    }
                }
                Err(e) if is_stateful_server(&e) => {
                    tracing::debug!(error = %e, "server/discover refused; falling back to initialize");
                    let n = initialize(client).await?;
                    remember(&url, Era::Stateful);
                    Ok(n)
                }
                Err(e) => Err(e),
            }
        }
    }
}

/// What a transport without a handshake starts with (see the module docs).
fn without_handshake(client: &Client) -> Negotiated {
    Negotiated {
        era: Era::Stateful,
        protocol_version: Arc::from(client.settings().stateful_version.as_str()),
        server_info: None,
        capabilities: ServerCapabilities::default(),
        instructions: None,
    }
}

/// Whether a failed `server/discover` means "this server is of the stateful era".
fn is_stateful_server(e: &Error) -> bool {
    match e {
        Error::Rpc {
            code,
            message,
            data,
            ..
        } => {
            if *code == codes::METHOD_NOT_FOUND || *code == codes::NOT_INITIALIZED {
                return true;
            }
            if let Some(supported) = versions_offered_in(e) {
                return !supported.iter().any(|v| v == STATELESS_VERSION);
            }
            let _ = data;
            message.to_ascii_lowercase().contains("not initialized")
        }
        Error::Transport(TransportError::Status { status, body, .. }) => {
            matches!(status, 400 | 404 | 405)
                || body.to_ascii_lowercase().contains("not initialized")
        }
        Error::Transport(TransportError::SessionExpired { .. }) => true,
        _ => false,
    }
}

/// The `_meta` every stateless request carries.
fn stateless_meta(client: &Client) -> Map<String, Value> {
    let settings = client.settings();
    let mut meta = Map::new();
    meta.insert(
        META_PROTOCOL_VERSION.into(),
        Value::String(STATELESS_VERSION.into()),
    );
    meta.insert(
        META_CLIENT_INFO.into(),
        serde_json::to_value(&settings.client_info).unwrap_or(Value::Null),
    );
    meta.insert(
        META_CLIENT_CAPABILITIES.into(),
        settings.capabilities.clone(),
    );
    meta
}

/// Fills the per-request `_meta` keys of the stateless era. Keys the caller set are kept.
pub(crate) fn decorate_params(
    client: &Client,
    negotiated: &Negotiated,
    params: Option<Value>,
) -> Option<Value> {
    if negotiated.era != Era::Stateless {
        return params;
    }
    let mut params = match params {
        Some(Value::Object(map)) => map,
        None | Some(Value::Null) => Map::new(),
        Some(other) => return Some(other),
    };
    let meta = params
        .entry("_meta")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(meta) = meta {
        for (k, v) in stateless_meta(client) {
            meta.entry(k).or_insert(v);
        }
        let level = client.inner().log_level.lock().ok().and_then(|l| l.clone());
        if let Some(level) = level {
            meta.entry(conduit_protocol::mcp::meta_keys::LOG_LEVEL)
                .or_insert_with(|| serde_json::to_value(level).unwrap_or(Value::Null));
        }
    }
    Some(Value::Object(params))
}

/// The versions a server listed in an unsupported-protocol-version error (-32022).
pub(crate) fn versions_offered_in(e: &Error) -> Option<Vec<String>> {
    match e {
        Error::Rpc { code, data, .. } if *code == codes::UNSUPPORTED_PROTOCOL_VERSION => Some(
            data.as_deref()
                .and_then(|d| d.get("supported"))
                .and_then(Value::as_array)
                .map(|v| {
                    v.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        ),
        _ => None,
    }
}

/// Whether a failed stateless request should be sent once more: the server refused the version
/// but lists the one this client speaks among those it supports.
pub(crate) fn retry_with_supported_version(e: &Error) -> bool {
    versions_offered_in(e).is_some_and(|v| v.iter().any(|v| v == STATELESS_VERSION))
}

async fn discover(client: &Client) -> Result<Negotiated, Error> {
    let params = json!({ "_meta": stateless_meta(client) });
    let ctx = RequestContext::new(Era::Stateless)
        .with_protocol_version(Some(Arc::from(STATELESS_VERSION)));
    let result = match client
        .handshake_request("server/discover", params.clone(), ctx.clone())
        .await
    {
        Err(e) if retry_with_supported_version(&e) => {
            tracing::debug!("server/discover: version refused, retrying with a supported one");
            client
                .handshake_request("server/discover", params, ctx)
                .await?
        }
        other => other?,
    };
    let supported: Vec<String> = match result.get("supportedVersions") {
        Some(Value::Array(v)) => v
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => {
            return Err(Error::protocol(
                "server/discover",
                "the result has no `supportedVersions` array",
            ))
        }
    };
    if !supported.iter().any(|v| v == STATELESS_VERSION) {
        return Err(Error::UnsupportedVersion {
            offered: STATELESS_VERSION.into(),
            received: supported.join(", "),
        });
    }
    let capabilities = parse_capabilities("server/discover", &result)?;
    let server_info = result
        .get("_meta")
        .and_then(|m| m.get(META_SERVER_INFO))
        .or_else(|| result.get("serverInfo"))
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    Ok(Negotiated {
        era: Era::Stateless,
        protocol_version: Arc::from(STATELESS_VERSION),
        server_info,
        capabilities,
        instructions: result
            .get("instructions")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

fn parse_capabilities(method: &str, result: &Value) -> Result<ServerCapabilities, Error> {
    match result.get("capabilities") {
        None | Some(Value::Null) => Ok(ServerCapabilities::default()),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| Error::protocol(method, format!("malformed capabilities: {e}"))),
    }
}

/// `initialize`, with the spec's backwards-compatibility fallback (2025-03-26 onward): when the
/// Streamable HTTP `initialize` POST is refused with HTTP 400, 404 or 405, the transport is asked
/// to switch to the 2024-11-05 HTTP+SSE transport of the same URL (`GET`, `endpoint` event) and
/// `initialize` is sent once more over it. A transport without that fallback, or a `GET` that
/// finds no legacy server, leaves the original refusal as the error.
async fn initialize(client: &Client) -> Result<Negotiated, Error> {
    let first = initialize_once(client).await;
    match &first {
        Err(Error::Transport(TransportError::Status {
            status: 400 | 404 | 405,
            ..
        })) => {}
        _ => return first,
    }
    match client.transport().legacy_fallback().await {
        Ok(true) => {
            tracing::debug!("initialize refused over Streamable HTTP; now over HTTP+SSE");
            initialize_once(client).await
        }
        Ok(false) => first,
        Err(legacy) => {
            tracing::warn!(error = %legacy, "initialize was refused and the HTTP+SSE fallback found no legacy server either");
            first
        }
    }
}

async fn initialize_once(client: &Client) -> Result<Negotiated, Error> {
    let settings = client.settings();
    let offered = settings.stateful_version.clone();
    let params = json!({
        "protocolVersion": offered,
        "capabilities": settings.capabilities,
        "clientInfo": settings.client_info,
    });
    let result = client
        .handshake_request("initialize", params, RequestContext::new(Era::Stateful))
        .await?;
    let received = match result.get("protocolVersion") {
        Some(Value::String(v)) => v.clone(),
        _ => {
            return Err(Error::protocol(
                "initialize",
                "the result has no `protocolVersion`",
            ))
        }
    };
    if !SUPPORTED_STATEFUL_VERSIONS.contains(&received.as_str()) {
        return Err(Error::UnsupportedVersion { offered, received });
    }
    let capabilities = parse_capabilities("initialize", &result)?;
    let server_info = match result.get("serverInfo") {
        Some(v) => Some(
            serde_json::from_value(v.clone())
                .map_err(|e| Error::protocol("initialize", format!("malformed serverInfo: {e}")))?,
        ),
        None => None,
    };
    let version: Arc<str> = Arc::from(received.as_str());
    let ctx = RequestContext::new(Era::Stateful).with_protocol_version(Some(version.clone()));
    client
        .handshake_notify("notifications/initialized", None, ctx)
        .await?;
    Ok(Negotiated {
        era: Era::Stateful,
        protocol_version: version,
        server_info,
        capabilities,
        instructions: result
            .get("instructions")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}
