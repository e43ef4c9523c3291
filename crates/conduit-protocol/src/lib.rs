//! JSON-RPC 2.0 and Model Context Protocol types for Conduit.
//!
//! This crate is pure data: serde types and codecs that never touch a socket, a file or a clock.
//! Transports and the client build on it; nothing here knows about HTTP, TLS or OAuth.
//!
//! * [`jsonrpc`] — the JSON-RPC 2.0 envelope: ids, requests, notifications, responses, errors,
//!   and [`jsonrpc::Message::parse`], which turns any incoming bytes into one enum or a precise error.
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
