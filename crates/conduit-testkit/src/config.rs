//! Gateway configuration: which protocol eras are served, how responses are framed, paging and
//! the initial [`Faults`].

use std::net::{Ipv4Addr, SocketAddr};

use crate::faults::Faults;

/// Which MCP protocol eras the gateway serves on `/mcp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EraSupport {
    /// Serve both the stateful (`initialize` + session) era and the stateless 2026-07-28 era,
    /// choosing per request.
    #[default]
    Both,
    /// Behave like a legacy server: `initialize` and sessions only. `server/discover` is refused
    /// as configured by [`DiscoverRejection`]; other stateless requests are treated as stateful
    /// requests without a session.
    StatefulOnly,
    /// Behave like a modern-only server: per-request metadata, no sessions, no GET stream.
    /// `initialize` is refused with JSON-RPC error -32601.
    StatelessOnly,
}

/// How POST requests carrying a JSON-RPC request are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponseMode {
    /// A single `application/json` body.
    #[default]
    Json,
    /// A `text/event-stream` body: request-scoped notifications, then the response, then the end
    /// of the stream. Every event carries an `id:`.
    Sse,
}

/// How a [`EraSupport::StatefulOnly`] gateway refuses a `server/discover` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiscoverRejection {
    /// HTTP 200 with JSON-RPC error -32601 (method not found).
    #[default]
    MethodNotFound,
    /// HTTP 400 with a plain-text body (not a JSON-RPC error).
    Http400,
    /// HTTP 404 with a plain-text body (not a JSON-RPC error).
    Http404,
    /// HTTP 405 with a plain-text body and an `Allow` header.
    Http405,
    /// HTTP 200 with JSON-RPC error -32002 "Server not initialized".
    NotInitialized,
    /// No answer: the request is held open (until the client gives up, the gateway stops, or
    /// two minutes pass, then -32601), as a legacy server may do.
    Silent,
}

/// How long a [`DiscoverRejection::Silent`] gateway holds a `server/discover` request.
pub(crate) const SILENT_DISCOVER_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Configuration of a [`TestGateway`](crate::TestGateway), built with chained methods.
///
/// ```
/// use conduit_testkit::{EraSupport, GatewayConfig, ResponseMode};
///
/// let config = GatewayConfig::default()
///     .era(EraSupport::Both)
///     .response_mode(ResponseMode::Sse)
///     .page_size(2);
/// assert_eq!(config.page_size_value(), Some(2));
/// ```
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub(crate) listen: SocketAddr,
    pub(crate) era: EraSupport,
    pub(crate) response_mode: ResponseMode,
    pub(crate) page_size: Option<usize>,
    pub(crate) discover_rejection: DiscoverRejection,
    pub(crate) get_stream: bool,
    pub(crate) session_delete: bool,
    pub(crate) sse_priming: bool,
    pub(crate) instructions: Option<String>,
    pub(crate) faults: Faults,
    pub(crate) validate_origin: bool,
    pub(crate) datagrout: bool,
    pub(crate) oauth: Option<crate::oauth::OAuthConfig>,
    pub(crate) mtls: Option<crate::ca::TestCa>,
    pub(crate) task_polls: u32,
    pub(crate) task_poll_interval_ms: u64,
    pub(crate) tasks_unsolicited: bool,
    pub(crate) list_ttl_ms: u64,
    pub(crate) subscriptions_listen: bool,
    pub(crate) tasks_immediate: bool,
    pub(crate) legacy: crate::legacy::LegacyEndpoint,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            era: EraSupport::Both,
            response_mode: ResponseMode::Json,
            page_size: None,
            discover_rejection: DiscoverRejection::MethodNotFound,
            get_stream: true,
            session_delete: true,
            sse_priming: false,
            instructions: Some(
                "Conduit test gateway: echo, add, slow, fail and schema_tool tools; test:// resources; greeting and plain prompts."
                    .to_owned(),
            ),
            faults: Faults::default(),
            validate_origin: true,
            datagrout: false,
            oauth: None,
            mtls: None,
            task_polls: 2,
            task_poll_interval_ms: 10,
            tasks_unsolicited: false,
            list_ttl_ms: 0,
            subscriptions_listen: true,
            tasks_immediate: false,
            legacy: crate::legacy::LegacyEndpoint::default(),
        }
    }
}

impl GatewayConfig {
    /// Serves the legacy 2024-11-05 HTTP+SSE transport (`GET /sse`, `POST /message`), see
    /// [`LegacyEndpoint`](crate::LegacyEndpoint).
    #[must_use]
    pub fn legacy_sse(mut self, legacy: crate::legacy::LegacyEndpoint) -> Self {
        self.legacy = legacy;
        self
    }

    /// Serves an OAuth 2.1 authorization server (see [`OAuthConfig`](crate::OAuthConfig)) and,
    /// unless it says otherwise, protects `/mcp` with it.
    #[must_use]
    pub fn oauth(mut self, config: crate::oauth::OAuthConfig) -> Self {
        self.oauth = Some(config);
        self
    }

    /// The address to bind (default `127.0.0.1:0`, an ephemeral port on loopback).
    #[must_use]
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Which protocol eras to serve (default [`EraSupport::Both`]).
    #[must_use]
    pub fn era(mut self, era: EraSupport) -> Self {
        self.era = era;
        self
    }

    /// How POSTed requests are answered (default [`ResponseMode::Json`]).
    #[must_use]
    pub fn response_mode(mut self, mode: ResponseMode) -> Self {
        self.response_mode = mode;
        self
    }

    /// Page size of the `*/list` methods; `0` means "everything in one page" (the default).
    #[must_use]
    pub fn page_size(mut self, size: usize) -> Self {
        self.page_size = (size > 0).then_some(size);
        self
    }

    /// How a [`EraSupport::StatefulOnly`] gateway refuses `server/discover`.
    #[must_use]
    pub fn discover_rejection(mut self, rejection: DiscoverRejection) -> Self {
        self.discover_rejection = rejection;
        self
    }

    /// Whether `GET /mcp` opens a server-to-client SSE stream (default `true`); when `false`
    /// every GET answers 405, including resumption attempts.
    #[must_use]
    pub fn get_stream(mut self, enabled: bool) -> Self {
        self.get_stream = enabled;
        self
    }

    /// Whether `DELETE /mcp` ends a session (default `true`); when `false` it answers 405.
    #[must_use]
    pub fn session_delete(mut self, enabled: bool) -> Self {
        self.session_delete = enabled;
        self
    }

    /// Whether every SSE stream starts with a priming event (an `id:` and empty `data:`), as the
    /// 2025-11-25 transport recommends (default `false`).
    #[must_use]
    pub fn sse_priming(mut self, enabled: bool) -> Self {
        self.sse_priming = enabled;
        self
    }

    /// The `instructions` string of `initialize` / `server/discover` results; `None` omits it.
    #[must_use]
    pub fn instructions(mut self, instructions: Option<String>) -> Self {
        self.instructions = instructions;
        self
    }

    /// The faults active from the start (switchable later with
    /// [`TestGateway::set_faults`](crate::TestGateway::set_faults)).
    #[must_use]
    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// Shorthand for the [`Faults::repeat_cursor`] fault: every list page carries the same
    /// `nextCursor`, forever.
    #[must_use]
    pub fn repeat_cursor(mut self, enabled: bool) -> Self {
        self.faults.repeat_cursor = enabled;
        self
    }

    /// Whether `/mcp` rejects (403) requests whose `Origin` is neither a loopback host nor the
    /// `Host` the request was sent to, as DNS-rebinding protection (default `true`).
    #[must_use]
    pub fn validate_origin(mut self, enabled: bool) -> Self {
        self.validate_origin = enabled;
        self
    }

    /// Whether `tools/list` also lists the DataGrout meta-tools and the fake integrations
    /// (default `false`; they are callable either way).
    #[must_use]
    pub fn datagrout(mut self, enabled: bool) -> Self {
        self.datagrout = enabled;
        self
    }

    /// Adds a certificate authority and an HTTPS listener that requires client certificates
    /// issued by it ([`TestGateway::https_url`](crate::TestGateway::https_url)); both listeners
    /// also serve the CA's routes (see [`TestCa`](crate::TestCa)).
    #[must_use]
    pub fn mtls(mut self, ca: crate::ca::TestCa) -> Self {
        self.mtls = Some(ca);
        self
    }

    /// How many `tasks/get` polls a task takes to complete (default 2; at least 1).
    #[must_use]
    pub fn task_polls(mut self, polls: u32) -> Self {
        self.task_polls = polls.max(1);
        self
    }

    /// The poll interval the gateway suggests for its tasks (default 10 ms).
    #[must_use]
    pub fn task_poll_interval(mut self, interval: std::time::Duration) -> Self {
        self.task_poll_interval_ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// 2026-07-28: answer `long_task` with a task even when the request did not opt into the
    /// tasks extension (default `false`), as a server that ignores the opt-in would.
    #[must_use]
    pub fn tasks_unsolicited(mut self, enabled: bool) -> Self {
        self.tasks_unsolicited = enabled;
        self
    }

    /// The `ttlMs` caching hint put on `tools/list`, `prompts/list`, `resources/list` and
    /// `resources/templates/list` results (default 0: "fetch every time"). A positive value is
    /// sent in both eras, so that a client's list cache can be tested in either.
    #[must_use]
    pub fn list_ttl_ms(mut self, ttl_ms: u64) -> Self {
        self.list_ttl_ms = ttl_ms;
        self
    }

    /// Whether stateless `subscriptions/listen` is served (default on). Off, it is refused with
    /// HTTP 404 / `-32601`, like a server without change notifications.
    #[must_use]
    pub fn subscriptions_listen(mut self, enabled: bool) -> Self {
        self.subscriptions_listen = enabled;
        self
    }

    /// 2026-07-28: answer a task-opted call of a task tool at once, with the plain result
    /// and no task (default `false`), as the extension allows a server to.
    #[must_use]
    pub fn tasks_immediate(mut self, enabled: bool) -> Self {
        self.tasks_immediate = enabled;
        self
    }

    /// The configured listen address.
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen
    }

    /// The configured era support.
    pub fn era_support(&self) -> EraSupport {
        self.era
    }

    /// The configured response mode.
    pub fn response_mode_value(&self) -> ResponseMode {
        self.response_mode
    }

    /// The configured page size (`None`: one page).
    pub fn page_size_value(&self) -> Option<usize> {
        self.page_size
    }
}
