//! `conduit-testkit`: a real Model Context Protocol server for testing Conduit.
//!
//! [`TestGateway`] serves the Streamable HTTP transport at `/mcp` on a loopback port, in both
//! protocol eras:
//!
//! * **stateful** (2024-11-05 … 2025-11-25): `initialize`, `Mcp-Session-Id`, the
//!   `MCP-Protocol-Version` header, a `GET` stream for server-initiated messages, `DELETE` to
//!   end a session and SSE resumption with `Last-Event-ID`;
//! * **stateless** (2026-07-28): `server/discover`, per-request `_meta`, and the mirrored
//!   `MCP-Protocol-Version` / `Mcp-Method` / `Mcp-Name` headers, validated strictly.
//!
//! It is written against raw [`serde_json::Value`]s, independently of Conduit's own protocol
//! types, so that it checks the client rather than agreeing with it by construction. Every
//! request is logged ([`TestGateway::requests`]) and misbehaviour can be switched on at run time
//! ([`Faults`]).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use conduit_testkit::{EraSupport, GatewayConfig, ResponseMode, TestGateway};
//!
//! let gateway = TestGateway::start(
//!     GatewayConfig::default().era(EraSupport::Both).response_mode(ResponseMode::Sse).page_size(2),
//! )
//! .await?;
//! // point a client at gateway.url() ...
//! assert!(gateway.requests().is_empty());
//! gateway.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Served features: tools `echo`, `add`, `slow`, `fail`, `schema_tool` (and the unlisted `hold`,
//! answered on [`TestGateway::release_held_calls`]); resources
//! `test://text/1`…`test://text/5`, `test://blob/1` and the template `test://items/{id}`;
//! prompts `greeting` and `plain`; the tool `route`, whose `x-mcp-header` declarations a test can
//! change ([`TestGateway::declare_param_header`]) and which the stateless era enforces on
//! `Mcp-Param-*` headers (`-32020`); `completion/complete`; `logging/setLevel` and `ping` (stateful
//! era only); `subscriptions/listen` (stateless era), fed by the same change notifications as the
//! stateful `GET` stream ([`TestGateway::notify_list_changed`], [`TestGateway::update_resource`]).
//!
//! It also plays a DataGrout gateway: the `data-grout/...` meta-tools (discover, perform, guide,
//! plan, flows, Prism, Logic, Warden, …), fake integrations such as `salesforce@1/get_lead@1`,
//! receipts and `estimate_only`. They are always callable and listed by `tools/list` only with
//! [`GatewayConfig::datagrout`].

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod ca;
mod config;
mod datagrout;
mod faults;
mod features;
mod gateway;
mod http_util;
mod jsonrpc;
mod jsonrpc_endpoint;
mod legacy;
mod mcp;
mod oauth;
mod record;
mod router;
mod sse;
mod state;
mod tls;
mod ws;

pub use ca::{fingerprint, IssuedCertificate, MtlsRequest, TestCa};
pub use config::{DiscoverRejection, EraSupport, GatewayConfig, ResponseMode};
pub use faults::Faults;
pub use features::subscriptions::{ListenRecord, ListenState};
pub use gateway::TestGateway;
pub use legacy::{LegacyEndpoint, LegacyFirstEvent};
pub use oauth::{OAuthConfig, TokenRequestRecord};
pub use record::RecordedRequest;

/// The `serverInfo.name` the gateway reports.
pub const SERVER_NAME: &str = "conduit-test-gateway";

/// The stateful-era protocol versions the gateway negotiates, newest first.
pub const STATEFUL_VERSIONS: &[&str] = mcp::versions::LEGACY_VERSIONS;

/// The stateless-era protocol versions the gateway accepts.
pub const STATELESS_VERSIONS: &[&str] = mcp::versions::STATELESS_VERSIONS;

pub mod fault_server;
