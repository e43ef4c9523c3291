//! The client's one error type.

use std::time::Duration;

use conduit_protocol::jsonrpc::ErrorObject;
pub use conduit_transport::TransportError;
use serde_json::Value;

use crate::types::CallToolResult;

/// Everything a [`Client`](crate::Client) call can fail with. Each variant says which layer failed
/// and why; the query methods answer the common questions without a `match`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed: connection, HTTP status, malformed reply, closed stream, …
    #[error("transport error: {0}")]
    Transport(#[from] TransportError),
    /// The server answered the request with a JSON-RPC error.
    #[error("the server returned error {code} for `{method}`: {message}")]
    Rpc {
        /// The method that failed.
        method: String,
        /// The JSON-RPC error code.
        code: i64,
        /// The server's message.
        message: String,
        /// The server's `data`, if any (boxed to keep `Error` small).
        data: Option<Box<Value>>,
    },
    /// The tool ran and reported failure (`isError: true`). The whole result is kept.
    #[error(
        "tool `{name}` reported an error: {}",
        crate::types::error_text(result)
    )]
    Tool {
        /// The tool's name.
        name: String,
        /// The result the server returned.
        result: Box<CallToolResult>,
    },
    /// The tool's successful result does not match the `outputSchema` it was listed with (its
    /// `structuredContent` is missing or breaks the schema); see [`crate::output_schema`].
    /// [`Client::call_tool_raw`](crate::Client::call_tool_raw) does not check.
    #[error("tool `{name}` returned a result that breaks its outputSchema: {problem}")]
    OutputSchema {
        /// The tool's name.
        name: String,
        /// The first mismatch, with its JSON pointer.
        problem: String,
        /// The result the server returned.
        result: Box<CallToolResult>,
    },
    /// The tool's `x-mcp-header` declarations break the rules of the 2026-07-28 transport, so
    /// the client refuses to call it (it is also left out of `list_tools`).
    #[error("tool `{tool}` has invalid x-mcp-header declarations: {reason}")]
    InvalidToolHeaders {
        /// The tool's name.
        tool: String,
        /// The rule that was broken.
        reason: String,
    },
    /// The server refused the request's HTTP headers with `-32020` `HeaderMismatch`
    /// (2026-07-28; HTTP 400): a mirrored header (`MCP-Protocol-Version`, `Mcp-Method`,
    /// `Mcp-Name` or an `Mcp-Param-*` derived from a tool's `x-mcp-header` declarations) is
    /// missing, malformed, or differs from the body. For `tools/call` the client first re-fetches
    /// `tools/list` (the tool's declarations may have changed since it was listed) and retries
    /// once; this error means the retry was refused too (`relisted` is then true).
    #[error("the server refused the headers of `{method}`{}{}: {message}",
        name.as_ref().map(|n| format!(" (`{n}`)")).unwrap_or_default(),
        if *relisted { " even after the client re-fetched tools/list and retried" } else { "" })]
    HeaderMismatch {
        /// The method refused.
        method: String,
        /// The tool, prompt or resource named by the request (its `Mcp-Name`), if any.
        name: Option<String>,
        /// The server's message (what did not match).
        message: String,
        /// The server's `data`, if any.
        data: Option<Box<Value>>,
        /// Whether the client re-fetched `tools/list` and retried before giving up.
        relisted: bool,
    },
    /// A skill file (extension `io.modelcontextprotocol/skills`) failed verification against
    /// its entry (size, digest or frontmatter); its content was discarded.
    #[error("skill file {uri} failed verification: {reason}")]
    SkillVerification {
        /// The file's URI.
        uri: String,
        /// What did not match.
        reason: String,
    },
    /// No answer within the deadline. The request was cancelled.
    #[error("`{method}` timed out after {after:?}")]
    Timeout {
        /// The method that timed out.
        method: String,
        /// The deadline that passed.
        after: Duration,
    },
    /// [`LifecycleMode::Auto`](crate::LifecycleMode::Auto) could not begin a session: the
    /// `server/discover` probe failed in a way that allows a stateful-era server (e.g. it went
    /// unanswered), and the `initialize` fallback failed too. Both failures are kept.
    #[error("could not begin a session: `server/discover` failed ({discover}), and the `initialize` fallback failed too: {initialize}")]
    Handshake {
        /// Why `server/discover` failed.
        discover: Box<Error>,
        /// Why `initialize` failed.
        initialize: Box<Error>,
    },
    /// The server chose a protocol version this client does not speak.
    #[error("the server answered with protocol version {received}, which this client does not support (it offered {offered})")]
    UnsupportedVersion {
        /// What the client offered.
        offered: String,
        /// What the server answered.
        received: String,
    },
    /// The server's reply does not have the shape the protocol requires.
    #[error("protocol violation in the reply to `{method}`: {reason}")]
    Protocol {
        /// The method whose reply was wrong.
        method: String,
        /// What was wrong.
        reason: String,
    },
    /// A paginated list repeated a cursor: following it would loop forever.
    #[error("`{method}` returned the cursor {cursor:?} twice; stopping instead of looping")]
    CursorLoop {
        /// The list method.
        method: String,
        /// The repeated cursor.
        cursor: String,
    },
    /// Obtaining credentials failed (a token endpoint refused or could not be reached).
    #[error("authorization failed: {0}")]
    Auth(Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The builder's configuration is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A task operation the server or the tool does not support (see [`crate::tasks`]).
    #[error("tool `{tool}` cannot be called as a task: {reason}")]
    TaskUnsupported {
        /// The tool (or method) concerned.
        tool: String,
        /// Why: the server declares no task support, the tool forbids tasks, …
        reason: String,
    },
    /// A task did not finish within the deadline of the call that created it (see
    /// [`crate::tasks`]). Unless the handle was told otherwise, the client cancelled it on the
    /// server (`tasks/cancel`); `cancelled` says whether the server acknowledged that.
    #[error("task `{task_id}` of tool `{tool}` did not finish within {after:?} ({})", if *cancelled { "cancelled on the server" } else { "not cancelled on the server" })]
    TaskTimeout {
        /// The tool whose call created the task.
        tool: String,
        /// The task's id.
        task_id: String,
        /// The deadline that passed.
        after: Duration,
        /// Whether the server acknowledged `tasks/cancel`.
        cancelled: bool,
    },
    /// `-32042` (2025-11-25): the server will process the request only once the user has
    /// completed these URL-mode elicitations (see [`crate::url_elicitation`]). The client
    /// returns this when it has no URL-elicitation handler, the user did not accept, or the
    /// retry was refused again.
    #[error("`{method}` requires the user to complete {} URL elicitation(s) first: {message}", elicitations.len())]
    UrlElicitationRequired {
        /// The request that was refused.
        method: String,
        /// The server's message.
        message: String,
        /// The elicitations (URL, `elicitationId`, message) to complete before retrying.
        elicitations: Vec<crate::types::ElicitUrlParams>,
    },
    /// Loading, registering or rotating the mTLS identity failed.
    #[cfg(feature = "identity")]
    #[error("mTLS identity: {0}")]
    Identity(#[from] conduit_identity::IdentityError),
    /// The client was closed.
    #[error("the client is closed")]
    Closed,
    /// An argument is invalid (nothing was sent).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The budget does not cover the call's estimate; the call was not sent.
    #[error("budget exceeded: `{tool}` is estimated at {estimated} credits but only {remaining} remain; the call was not sent")]
    BudgetExceeded {
        /// The tool refused.
        tool: String,
        /// Its estimated cost.
        estimated: f64,
        /// What remained of the budget.
        remaining: f64,
    },
    /// A budget is set but the gateway gave no estimate for the call; it was not sent.
    #[error(
        "no cost estimate for `{tool}`: with a budget set, calls without an estimate are not sent"
    )]
    EstimateUnavailable {
        /// The tool refused.
        tool: String,
    },
    /// The call was cancelled through its [`CancelHandle`](crate::CancelHandle); the server
    /// was told (stateful era) or its stream closed (stateless era).
    #[error("`{method}` was cancelled")]
    Cancelled {
        /// The method that was cancelled.
        method: String,
    },
    /// The server needed input for a call (2026-07-28 `input_required`) that the client's
    /// handler could not give.
    #[error("`{method}` needed input `{key}` ({request}) that the client could not give: error {code}: {message}")]
    InputRequest {
        /// The call that needed input.
        method: String,
        /// What the server asked (`elicitation/create`, `sampling/createMessage`, `roots/list`).
        request: String,
        /// The server's key for the input request.
        key: String,
        /// The JSON-RPC code of the refusal.
        code: i64,
        /// Why.
        message: String,
    },
}

impl Error {
    pub(crate) fn rpc(method: &str, e: ErrorObject) -> Self {
        Error::Rpc {
            method: method.to_owned(),
            code: e.code,
            message: e.message,
            data: e.data.map(Box::new),
        }
    }

    pub(crate) fn header_mismatch(
        method: &str,
        name: Option<String>,
        e: ErrorObject,
        relisted: bool,
    ) -> Self {
        Error::HeaderMismatch {
            method: method.to_owned(),
            name,
            message: e.message,
            data: e.data.map(Box::new),
            relisted,
        }
    }

    pub(crate) fn protocol(method: &str, reason: impl Into<String>) -> Self {
        Error::Protocol {
            method: method.to_owned(),
            reason: reason.into(),
        }
    }

    /// Whether a deadline passed (the client's own or the transport's).
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Timeout { .. } | Error::TaskTimeout { .. } => true,
            Error::Transport(t) => t.is_timeout(),
            _ => false,
        }
    }

    /// The JSON-RPC error code, for [`Error::Rpc`] (and `-32020` for
    /// [`Error::HeaderMismatch`]).
    pub fn rpc_code(&self) -> Option<i64> {
        match self {
            Error::Rpc { code, .. } => Some(*code),
            Error::HeaderMismatch { .. } => Some(conduit_protocol::jsonrpc::codes::HEADER_MISMATCH),
            Error::UrlElicitationRequired { .. } => {
                Some(conduit_protocol::jsonrpc::codes::URL_ELICITATION_REQUIRED)
            }
            _ => None,
        }
    }

    /// The HTTP status, when the failure was an HTTP status.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Transport(t) => t.status(),
            _ => None,
        }
    }

    /// Whether the server asked for (other) credentials.
    pub fn is_auth_required(&self) -> bool {
        matches!(self, Error::Transport(TransportError::Unauthorized { .. }))
    }

    /// The `WWW-Authenticate` values of an authorization failure.
    pub fn www_authenticate(&self) -> &[String] {
        match self {
            Error::Transport(TransportError::Unauthorized {
                www_authenticate, ..
            }) => www_authenticate,
            _ => &[],
        }
    }

    /// The URL elicitations of a `-32042` URL-elicitation-required error (2025-11-25): the
    /// pages the user must visit before the call is retried.
    pub fn url_elicitations(&self) -> Option<Vec<crate::types::ElicitRequestParams>> {
        match self {
            Error::UrlElicitationRequired { elicitations, .. } => Some(
                elicitations
                    .iter()
                    .cloned()
                    .map(crate::types::ElicitRequestParams::Url)
                    .collect(),
            ),
            Error::Rpc {
                code,
                data: Some(data),
                ..
            } if *code == conduit_protocol::jsonrpc::codes::URL_ELICITATION_REQUIRED => {
                serde_json::from_value::<crate::types::UrlElicitationRequiredData>((**data).clone())
                    .ok()
                    .map(|d| d.elicitations)
            }
            _ => None,
        }
    }

    /// Whether the call was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Error::Cancelled { .. })
    }

    /// The tool result of an [`Error::Tool`].
    pub fn tool_result(&self) -> Option<&CallToolResult> {
        match self {
            Error::Tool { result, .. } => Some(result),
            _ => None,
        }
    }
}
