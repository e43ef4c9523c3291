//! JSON-RPC 2.0 and Model Context Protocol types for Conduit.
//!
//! This crate is pure data: serde types and codecs that never touch a socket, a file or a clock.
//! Transports and the client build on it; nothing here knows about HTTP, TLS or OAuth.
//!
//! * [`jsonrpc`] — the JSON-RPC 2.0 envelope: ids, requests, notifications, responses, errors,
//!   and [`jsonrpc::Message::parse`], which turns any incoming bytes into one enum or a precise error.
//! * [`version`] — the protocol revisions (2024-11-05 … 2026-07-28), the open
//!   [`version::ProtocolVersion`] newtype, and [`version::era`], which tells the stateful
//!   (`initialize`) revisions from the stateless (per-request `_meta`) ones.
//! * [`mcp`] — the MCP message types of both eras, re-exported flatly: method names
//!   ([`mcp::methods`]), capabilities, tools, resources, prompts, completion, logging, progress,
//!   cancellation, roots, sampling, elicitation, content blocks, 2025-11-25 tasks, and the
//!   2026-07-28 additions (`server/discover`, `_meta` request fields, `resultType`, multi
//!   round-trip input requests, `subscriptions/listen`, cache hints, the tasks extension).
//!   Every struct keeps unknown members in `extra`, so parsing and re-serialising loses nothing;
//!   JSON Schemas are carried verbatim; unknown content types, enum values and methods are kept
//!   rather than rejected.
//!
//! ```
//! use conduit_protocol::jsonrpc::{Message, Outcome, RequestId};
//! use conduit_protocol::mcp::{ListToolsResult, ResultOutcome};
//!
//! let msg = Message::parse(br#"{"jsonrpc":"2.0","id":1,"result":{"tools":[
//!     {"name":"echo","inputSchema":{"type":"object","$defs":{}}}]}}"#).unwrap();
//! let Message::Response(resp) = msg else { unreachable!() };
//! let Outcome::Result(result) = resp.outcome else { unreachable!() };
//! // No `resultType` (a pre-2026 server) means a complete result.
//! match ResultOutcome::<ListToolsResult>::from_value(result).unwrap() {
//!     ResultOutcome::Complete(list) => assert_eq!(list.tools[0].name, "echo"),
//!     other => panic!("{other:?}"),
//! }
//! ```
//!
//! ```
//! use conduit_protocol::jsonrpc::{Message, RequestId};
//!
//! let msg = Message::parse(br#"{"jsonrpc":"2.0","id":7,"result":{}}"#).unwrap();
//! match msg {
//!     Message::Response(r) => assert_eq!(r.id, Some(RequestId::Number(7))),
//!     _ => unreachable!(),
//! }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod jsonrpc;
pub mod mcp;
pub mod version;
