//! The contract between the Conduit client and its transports.
//!
//! A transport moves whole JSON-RPC messages between the client and one MCP server. It owns
//! everything about its wire (HTTP sessions, SSE streams and their resumption, WebSocket framing,
//! child processes) and nothing about MCP semantics: lifecycle, capabilities, retries of whole
//! calls and DataGrout tool names all live above it, in the `conduit` crate.
//!
//! * [`Transport`] — send a request and get its response, send notifications and responses.
//! * [`RequestContext`] — what a transport needs to know about a request without re-parsing it
//!   (protocol version header, era, the `Mcp-Name` value).
//! * [`Inbound`] / [`InboundSender`] — messages the server sends on its own initiative.
//! * [`TransportError`] — every way a transport can fail, typed.
//! * [`sse`] — an incremental Server-Sent Events parser shared by the HTTP transports.
//! * [`topics`] — topic [`Subscription`](topics::Subscription)s for transports with server push.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod retry;
pub mod sse;
pub mod topics;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use conduit_protocol::jsonrpc::{Notification, Request, Response};

/// A boxed, sendable future, the return type of [`Transport`] methods.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A boxed error that can cross threads.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Which lifecycle a request belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Era {
    /// 2025-11-25 and earlier: `initialize`, sessions, server-to-client requests on streams.
    Stateful,
    /// 2026-07-28: no session; version and capabilities travel in each request's `_meta`.
    Stateless,
}

/// Facts about one outgoing message that a transport needs for its headers and its recovery
/// decisions, given by the client so that no transport re-parses message bodies.
#[derive(Clone, Debug)]
pub struct RequestContext {
    /// The era of the exchange; a stateless request carries `Mcp-Method` and `Mcp-Name` headers.
    pub era: Era,
    /// The protocol version to announce in `MCP-Protocol-Version`, once one is negotiated.
    pub protocol_version: Option<Arc<str>>,
    /// The value for `Mcp-Name` (`params.name` or `params.uri` of `tools/call`,
    /// `resources/read` and `prompts/get`).
    pub name: Option<String>,
    /// Whether sending the request twice is harmless (lists, reads, gets, ping, or a tool call
    /// the caller declared idempotent). Only idempotent requests are retried after failures that
    /// may have reached the server, and a transport that reconnects (WebSocket) resends them
    /// after a connection loss instead of failing them with [`TransportError::ConnectionLost`].
    pub idempotent: bool,
    /// Further headers for this one request, already encoded: the `Mcp-Param-*` headers a
    /// tool's `x-mcp-header` declarations derive from its arguments (2026-07-28). Transports
    /// without headers (stdio) ignore them.
    pub extra_headers: Vec<(String, String)>,
}

impl RequestContext {
    /// A context for the given era with no version and no name.
    pub fn new(era: Era) -> Self {
        RequestContext {
            era,
            protocol_version: None,
            name: None,
            idempotent: false,
            extra_headers: Vec::new(),
        }
    }

    /// Sets the protocol version header value.
    pub fn with_protocol_version(mut self, version: Option<Arc<str>>) -> Self {
        self.protocol_version = version;
        self
    }

    /// Marks the request as safe to send twice.
    pub fn with_idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// Sets the `Mcp-Name` value.
    pub fn with_name(mut self, name: Option<String>) -> Self {
        self.name = name;
        self
    }

    /// Sets the extra (already encoded) headers of this request.
    pub fn with_extra_headers(mut self, headers: Vec<(String, String)>) -> Self {
        self.extra_headers = headers;
        self
    }
}

/// How a transport tells the server that the client abandoned a request in the stateless era
/// (in the stateful era every transport sends `notifications/cancelled`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatelessCancellation {
    /// Closing the request's own response stream is the signal (Streamable HTTP); no
    /// notification is sent.
    CloseStream,
    /// The client sends `notifications/cancelled` naming the request id (stdio and other
    /// transports where all requests share one channel).
    Notification,
}

/// A message the server sent on its own initiative.
#[derive(Clone, Debug, PartialEq)]
pub enum Inbound {
    /// A server-to-client request (ping, roots/list, sampling, elicitation, …): the client must
    /// answer it with [`Transport::respond`].
    Request(Request),
    /// A notification (progress, log message, list changed, cancelled, …).
    Notification(Notification),
}

/// Where a transport delivers [`Inbound`] messages. Bounded: a transport waits for room, so a
/// flood of server messages slows the stream down instead of growing memory.
pub type InboundSender = tokio::sync::mpsc::Sender<Inbound>;

/// Receiving end of [`InboundSender`].
pub type InboundReceiver = tokio::sync::mpsc::Receiver<Inbound>;

/// The capacity of the inbound channel transports are given by the client.
pub const INBOUND_CAPACITY: usize = 1024;

/// A bidirectional MCP message carrier.
///
/// Implementations are cheap to share (`Arc<dyn Transport>`) and accept many requests in flight at
/// once. A request's future resolves with the response carrying its id, or with an error; it
/// never hangs past the transport's own timeouts, and dropping it abandons the exchange.
pub trait Transport: Send + Sync + 'static {
    /// Sends a request and waits for its response.
    fn request(
        &self,
        request: Request,
        ctx: RequestContext,
    ) -> BoxFuture<'_, Result<Response, TransportError>>;

    /// [`Transport::request`] for a request the caller keeps, e.g. to send it again after a
    /// failure ([`retry::Retrying`]) or to reuse its parameters. The
    /// default clones the request and the context and calls [`Transport::request`]; a transport
    /// that only reads the request (serialises it) overrides it to save that deep copy per call.
    fn request_ref<'a>(
        &'a self,
        request: &'a Request,
        ctx: &'a RequestContext,
    ) -> BoxFuture<'a, Result<Response, TransportError>> {
        self.request(request.clone(), ctx.clone())
    }

    /// Sends a notification.
    fn notify(
        &self,
        notification: Notification,
        ctx: RequestContext,
    ) -> BoxFuture<'_, Result<(), TransportError>>;

    /// Sends the client's response to a server-to-client request.
    fn respond(
        &self,
        response: Response,
        ctx: RequestContext,
    ) -> BoxFuture<'_, Result<(), TransportError>>;

    /// Called by the client once a stateful session is established, with the negotiated
    /// version. HTTP opens its server-to-client stream here. The default does nothing.
    fn session_established(&self, protocol_version: &str) {
        let _ = protocol_version;
    }

    /// Forgets the current session (its id and streams) before the client starts a new one.
    /// The default does nothing.
    fn reset_session(&self) {}

    /// How abandoning a request is signalled in the stateless era. The default,
    /// [`StatelessCancellation::CloseStream`], suits transports with a stream per request.
    fn stateless_cancellation(&self) -> StatelessCancellation {
        StatelessCancellation::CloseStream
    }

    /// Ends the session (HTTP: `DELETE` with the session id) and releases every resource.
    fn close(&self) -> BoxFuture<'_, Result<(), TransportError>>;

    /// Which handshake the server behind this transport expects. The default is
    /// [`Handshake::Mcp`]; DataGrout's JSON-RPC and WebSocket endpoints answer
    /// [`Handshake::None`].
    fn handshake(&self) -> Handshake {
        Handshake::Mcp
    }

    /// Switches to the backwards-compatible transport of the same endpoint, when this transport
    /// has one: the client's lifecycle calls it after a Streamable HTTP `initialize` was refused
    /// with HTTP 400, 404 or 405 (the spec's fallback to the 2024-11-05 HTTP+SSE transport).
    /// `Ok(true)` means later messages go over the old transport; the default answers
    /// `Ok(false)` (no fallback).
    fn legacy_fallback(&self) -> BoxFuture<'_, Result<bool, TransportError>> {
        Box::pin(async { Ok(false) })
    }

    /// Subscribes to a server topic. The default answers [`TransportError::Unsupported`]:
    /// only transports with server push (WebSocket) carry topics.
    fn subscribe<'a>(
        &'a self,
        topic: &'a str,
    ) -> BoxFuture<'a, Result<topics::Subscription, TransportError>> {
        Box::pin(async move {
            Err(TransportError::Unsupported(format!(
                "topic subscriptions (subscribe {topic:?}) need a transport with server push, such as WebSocket"
            )))
        })
    }
}

/// The session handshake a transport's endpoint expects, declared by the transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Handshake {
    /// An MCP endpoint: `initialize` or `server/discover` begins the exchange.
    Mcp,
    /// A plain JSON-RPC endpoint that serves requests without any handshake (DataGrout's
    /// `/rpc` and WebSocket endpoints, as the reference SDK uses them).
    None,
    /// An MCP endpoint of the stateful era only (the 2024-11-05 HTTP+SSE transport):
    /// `initialize` begins the exchange and `server/discover` is never tried.
    InitializeOnly,
}

/// Every way a transport can fail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The server could not be reached; the message was not delivered.
    #[error("could not connect to {target}: {source}")]
    Connect {
        /// `host:port` or the command that was started.
        target: String,
        /// The underlying failure.
        #[source]
        source: BoxError,
    },
    /// A transport-level deadline passed.
    #[error("timed out {phase}")]
    Timeout {
        /// What was being waited for and where, e.g. "waiting for response headers from
        /// 127.0.0.1:8080 (after 30s)".
        phase: String,
    },
    /// The server answered with an HTTP status that is not a success.
    #[error("HTTP {status}{}", fmt_excerpt(body))]
    Status {
        /// The status code.
        status: u16,
        /// A bounded, UTF-8-lossy excerpt of the response body.
        body: String,
        /// `Retry-After`, when the server sent one that parses as seconds.
        retry_after: Option<Duration>,
    },
    /// The server rejected the credentials (after the authorization hook had its one retry).
    #[error("unauthorized (HTTP {status}){}", fmt_challenge(www_authenticate))]
    Unauthorized {
        /// 401 or 403.
        status: u16,
        /// The `WWW-Authenticate` header values.
        www_authenticate: Vec<String>,
        /// A bounded excerpt of the response body.
        body: String,
    },
    /// The session the request named is gone (HTTP 404 to a request carrying a session id).
    /// The request was not processed; the client starts a new session.
    #[error("the server ended the session (HTTP 404 for session {session})")]
    SessionExpired {
        /// The expired session id (not a secret: it is only meaningful to that server).
        session: String,
    },
    /// The server sent something that breaks the protocol (wrong content type, invalid JSON,
    /// a response with another id, a request answered by 202).
    #[error("malformed reply from the server: {0}")]
    Malformed(String),
    /// The response stream ended before the response arrived (and could not be resumed).
    #[error("the server closed the response stream before answering{}", if *.resumed { " (after resuming)" } else { "" })]
    StreamEnded {
        /// Whether a resumption was attempted.
        resumed: bool,
    },
    /// A response or event exceeded the configured size limit.
    #[error("the server's reply exceeded the limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The transport was closed.
    #[error("the transport is closed")]
    Closed,
    /// The connection dropped while the request was in flight; whether the server executed it
    /// is unknown. The transport reconnects on its own: a new call may succeed.
    #[error(
        "the connection was lost while waiting for the response{}",
        fmt_reason(reason)
    )]
    ConnectionLost {
        /// Why the connection ended, when known.
        reason: String,
    },
    /// The transport does not offer this operation.
    #[error("not supported by this transport: {0}")]
    Unsupported(String),
    /// The server process (stdio) exited or closed its output while requests were pending or
    /// before a request could be sent.
    #[error("the server process `{command}` {status}")]
    ProcessExited {
        /// The command that was started.
        command: String,
        /// How it ended, e.g. "exited with status 1", "was killed by signal 9", or "closed its
        /// standard output".
        status: String,
    },
    /// Any other failure, with its source.
    #[error("{message}")]
    Other {
        /// What failed.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },
}

fn fmt_excerpt(body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!(": {body}")
    }
}

fn fmt_reason(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(" ({reason})")
    }
}

fn fmt_challenge(values: &[String]) -> String {
    if values.is_empty() {
        String::new()
    } else {
        format!("; WWW-Authenticate: {}", values.join(", "))
    }
}

impl TransportError {
    /// Whether the message certainly did not reach the server, so that resending cannot execute
    /// it twice.
    pub fn not_delivered(&self) -> bool {
        matches!(
            self,
            TransportError::Connect { .. } | TransportError::SessionExpired { .. }
        )
    }

    /// The HTTP status, for [`TransportError::Status`] and [`TransportError::Unauthorized`].
    pub fn status(&self) -> Option<u16> {
        match self {
            TransportError::Status { status, .. } | TransportError::Unauthorized { status, .. } => {
                Some(*status)
            }
            TransportError::SessionExpired { .. } => Some(404),
            _ => None,
        }
    }

    /// Whether this is a timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, TransportError::Timeout { .. })
    }

    /// Shorthand for [`TransportError::Other`] without a source.
    pub fn other(message: impl Into<String>) -> Self {
        TransportError::Other {
            message: message.into(),
            source: None,
        }
    }
}
