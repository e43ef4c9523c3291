//! Fault injection, switchable at run time with
//! [`TestGateway::set_faults`](crate::TestGateway::set_faults).

/// Misbehaviours the gateway can be told to exhibit.
///
/// New faults are added as new fields; build values with `..Faults::default()` (or the builder
/// methods) so code keeps compiling as the struct grows.
///
/// ```
/// use conduit_testkit::Faults;
///
/// let faults = Faults { drop_sse_after_first_event: true, sse_retry_ms: Some(20), ..Faults::default() };
/// assert!(!faults.stall);
/// assert_eq!(Faults::default().stall(true).stall, true);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// Stateful era: every POSTed request (except `initialize`) is answered with an SSE stream
    /// (whatever the [`ResponseMode`](crate::ResponseMode)) that sends only a priming event (an
    /// `id:` and empty `data:`) and then ends before the response. The response must be fetched
    /// by resuming with `GET /mcp` and `Last-Event-ID`.
    pub drop_sse_after_first_event: bool,
    /// A `retry:` field (milliseconds) added to the priming event of
    /// [`drop_sse_after_first_event`](Self::drop_sse_after_first_event).
    pub sse_retry_ms: Option<u64>,
    /// Accept every POST but never answer it (until the gateway shuts down).
    pub stall: bool,
    /// Answer every POST with this HTTP status and body, before any validation. A body that
    /// parses as JSON is sent as `application/json`, anything else as `text/plain`.
    pub status_override: Option<(u16, String)>,
    /// Every `*/list` page carries the same `nextCursor`, so a client that follows cursors
    /// blindly never terminates.
    pub repeat_cursor: bool,
    /// Stateful era: answer `initialize` with this protocol version, whatever the client
    /// offered (to test how a client treats a version it does not speak).
    pub initialize_version: Option<String>,
    /// Stateless era: refuse this many of the next requests with HTTP 400 and an
    /// `UnsupportedProtocolVersion` error (-32022) that lists `2026-07-28` as supported, as a
    /// server does that prefers another version (to test the client's single retry).
    pub reject_versions: u32,
    /// Stateful era: answer a request naming an unknown session with this HTTP status (and the
    /// JSON-RPC error "Session not found") instead of the spec's 404, as some servers do.
    pub unknown_session_status: Option<u16>,
}

impl Faults {
    /// Sets [`drop_sse_after_first_event`](Self::drop_sse_after_first_event).
    #[must_use]
    pub fn drop_sse_after_first_event(mut self, enabled: bool) -> Self {
        self.drop_sse_after_first_event = enabled;
        self
    }

    /// Sets [`sse_retry_ms`](Self::sse_retry_ms).
    #[must_use]
    pub fn sse_retry_ms(mut self, retry: Option<u64>) -> Self {
        self.sse_retry_ms = retry;
        self
    }

    /// Sets [`stall`](Self::stall).
    #[must_use]
    pub fn stall(mut self, enabled: bool) -> Self {
        self.stall = enabled;
        self
    }

    /// Sets [`status_override`](Self::status_override).
    #[must_use]
    pub fn status_override(mut self, status: u16, body: impl Into<String>) -> Self {
        self.status_override = Some((status, body.into()));
        self
    }

    /// Sets [`repeat_cursor`](Self::repeat_cursor).
    #[must_use]
    pub fn repeat_cursor(mut self, enabled: bool) -> Self {
        self.repeat_cursor = enabled;
        self
    }
}
