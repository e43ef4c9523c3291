//! # Conduit
//!
//! A production-grade [Model Context Protocol](https://modelcontextprotocol.io) client for Rust,
//! for DataGrout gateways and any other MCP server, in both live eras of the spec: 2025-11-25
//! (stateful, `initialize`) and 2026-07-28 (stateless, `server/discover`). One API, both wires:
//! [`LifecycleMode::Auto`] finds out which one the server speaks.
//!
//! ```no_run
//! # async fn run() -> Result<(), conduit::Error> {
//! use conduit::Client;
//! use serde_json::json;
//!
//! let client = Client::builder("http://127.0.0.1:8080/mcp").connect().await?;
//! let tools = client.list_tools().await?;
//! let result = client.call_tool("add", json!({"a": 2, "b": 3})).await?;
//! client.close().await?;
//! # Ok(()) }
//! ```
//!
//! This crate is a thin facade: it owns [`Client`] and re-exports the layers it is built on
//! (`protocol`, `transport`, `http`, and the transports behind cargo features).
//!
//! # Cargo features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `http` | yes | the Streamable HTTP transport ([`TransportKind::Mcp`], both eras) |
//! | `jsonrpc` | yes | plain JSON-RPC over HTTP POST ([`TransportKind::JsonRpc`], DataGrout's `/rpc`) |
//! | `ws` | yes | the WebSocket transport ([`TransportKind::WebSocket`], topic subscriptions) |
//! | `auth` | yes | OAuth 2.1 and the credential flows (`conduit::auth`, `ClientBuilder::oauth`, …) |
//! | `identity` | yes | mTLS identities: discovery, CA bootstrap, rotation (implies `auth`) |
//! | `stdio` | no | local server processes over stdio (`Client::builder_stdio`) |
//!
//! The crate builds with no default features and with any one feature alone. Connecting with a
//! transport that is not compiled in (e.g. an `http://` URL with the default
//! [`TransportKind::Mcp`] in a build without `http`) fails in [`ClientBuilder::connect`], before
//! anything is sent, with [`Error::Config`] naming the feature to enable.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "auth")]
mod auth_builder;
mod builder;
pub mod call_stream;
mod client;
pub mod datagrout;
mod decode;
mod error;
pub mod handler;
pub mod keepalive;
pub mod lifecycle;
pub mod mrtr;
pub mod notifications;
pub mod output_schema;
pub mod param_headers;
mod progress;
pub mod skills;
#[cfg(feature = "stdio")]
mod stdio;
mod subscribe;
pub mod subscriptions;
pub mod tasks;
mod transports;
pub mod url_elicitation;
pub mod validate;

pub use builder::{ClientBuilder, RetryPolicy, TransportKind, CLIENT_NAME};
pub use call_stream::{CallEvent, CallStream};
pub use client::{CallOptions, Client, Page};
pub use error::Error;
pub use handler::{ClientHandler, Handlers};
pub use keepalive::{Health, HealthState};
pub use lifecycle::LifecycleMode;
pub use notifications::NotificationStream;
pub use progress::{CancelHandle, ProgressCallback};
pub use tasks::TaskHandle;
pub use transports::endpoint_url;

#[cfg(feature = "identity")]
pub use builder::mtls::{DEFAULT_ROTATION_CHECK_INTERVAL, DEFAULT_ROTATION_MARGIN};
/// Authorization: OAuth 2.1 and the MCP authorization spec (feature `auth`).
#[cfg(feature = "auth")]
pub use conduit_auth as auth;
/// The shared HTTPS layer (`conduit-http`).
pub use conduit_http as http;
/// mTLS identities: discovery, loading, CA registration, rotation (`conduit-identity`).
#[cfg(feature = "identity")]
pub use conduit_identity as identity;
/// The MCP and JSON-RPC types (`conduit-protocol`).
pub use conduit_protocol as protocol;
/// The transport contract (`conduit-transport`).
pub use conduit_transport as transport;
/// Topic subscriptions: [`Client::subscribe`] returns a [`Subscription`] of [`TopicEvent`]s.
pub use conduit_transport::topics::{Subscription, TopicEvent};
/// The Streamable HTTP transport (`conduit-transport-http`).
#[cfg(feature = "http")]
pub use conduit_transport_http as transport_http;
/// Plain JSON-RPC over HTTP (`conduit-transport-jsonrpc`).
#[cfg(feature = "jsonrpc")]
pub use conduit_transport_jsonrpc as transport_jsonrpc;
/// The stdio transport (`conduit-transport-stdio`): local server processes.
#[cfg(feature = "stdio")]
pub use conduit_transport_stdio as transport_stdio;
/// The WebSocket transport (`conduit-transport-ws`).
#[cfg(feature = "ws")]
pub use conduit_transport_ws as transport_ws;

/// The MCP types most calls return.
pub mod types {
    pub use conduit_protocol::mcp::*;

    /// The text of a failed tool result's text content, for messages.
    pub fn error_text(result: &CallToolResult) -> String {
        let text: Vec<String> = serde_json::to_value(&result.content)
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|c| {
                c.get("text")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned)
            })
            .collect();
        if text.is_empty() {
            "(no text content)".to_owned()
        } else {
            text.join("\n")
        }
    }
}

pub use conduit_transport::Era;

/// Whether `url` points at a DataGrout gateway (contains `datagrout.ai` or `datagrout.dev`), or
/// the environment variable `CONDUIT_IS_DG` is set — the reference SDK's rule.
pub fn is_dg_url(url: &str) -> bool {
    url.contains("datagrout.ai")
        || url.contains("datagrout.dev")
        || std::env::var_os("CONDUIT_IS_DG").is_some()
}

/// Whether a tool is one of DataGrout's own: no `@` in its name, or a name starting with
/// `data-grout@` or `data-grout/`.
pub fn is_dg_native_tool(name: &str) -> bool {
    !name.contains('@') || name.starts_with("data-grout@") || name.starts_with("data-grout/")
}
