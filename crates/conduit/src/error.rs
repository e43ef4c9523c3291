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
    /// No answer within the deadline. The request was cancelled.
    #[error("`{method}` timed out after {after:?}")]
    Timeout {
        /// The method that timed out.
        method: String,
        /// The deadline that passed.
        after: Duration,
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
    /// The builder's configuration is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Loading, registering or rotating the mTLS identity failed.
    #[cfg(feature = "identity")]
    #[error("mTLS identity: {0}")]
    Identity(#[from] conduit_identity::IdentityError),
    /// The client was closed.
    #[error("the client is closed")]
    Closed,
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

    pub(crate) fn protocol(method: &str, reason: impl Into<String>) -> Self {
        Error::Protocol {
            method: method.to_owned(),
            reason: reason.into(),
        }
    }

    /// Whether a deadline passed (the client's own or the transport's).
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Timeout { .. } => true,
            Error::Transport(t) => t.is_timeout(),
            _ => false,
        }
    }

    /// The JSON-RPC error code, for [`Error::Rpc`].
    pub fn rpc_code(&self) -> Option<i64> {
        match self {
            Error::Rpc { code, .. } => Some(*code),
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

    /// The tool result of an [`Error::Tool`].
    pub fn tool_result(&self) -> Option<&CallToolResult> {
        match self {
            Error::Tool { result, .. } => Some(result),
            _ => None,
        }
    }
}
