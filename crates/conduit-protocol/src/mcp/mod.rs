//! Model Context Protocol types for both eras, re-exported flatly.
//!
//! * Stateful era (2024-11-05 … 2025-11-25): [`InitializeParams`] / [`InitializeResult`],
//!   capabilities, tools, resources, prompts, completion, logging, progress, cancellation, roots,
//!   sampling, elicitation and 2025-11-25 tasks.
//! * Stateless era (2026-07-28): [`DiscoverResult`], per-request [`RequestMeta`],
//!   [`ResultType`] and [`ResultOutcome`], [`InputRequiredResult`] with [`InputRequests`] /
//!   [`InputResponses`], [`SubscriptionsListenParams`], cache hints (`ttlMs`, `cacheScope`), the
//!   version/capability error data, and the tasks extension ([`DetailedTask`]).
//!
//! Conventions shared by every wire struct:
//! * `#[non_exhaustive]`, built with `new(required…)` plus one chainable setter per optional
//!   member (the setter has the member's name): `Tool::new("echo", schema).title("Echo")`.
//! * Optional members are `Option`s, omitted when `None`; `_meta` is `Option<Meta>`.
//! * Members this crate does not model land in `extra` and are written back unchanged.
//! * JSON Schemas (`inputSchema`, `outputSchema`, `requestedSchema`) are raw JSON objects, kept
//!   verbatim and in order.
//! * String enums have an `Other(String)` variant; tagged unions ([`ContentBlock`],
//!   [`SamplingContent`], [`CompletionReference`]) have an `Unknown` variant with the raw object.
//! * Unknown methods parse as the raw [`Notification`](crate::jsonrpc::Notification) /
//!   [`Request`](crate::jsonrpc::Request) in [`ServerNotification::Other`] /
//!   [`ServerRequestKind::Other`].
//!
//! ```
//! use conduit_protocol::mcp::{CallToolResult, ContentBlock};
//!
//! let r: CallToolResult = serde_json::from_str(
//!     r#"{"content":[{"type":"text","text":"hi"},{"type":"hologram","x":1}],"vendor":true}"#,
//! ).unwrap();
//! assert_eq!(r.content[0].as_text(), Some("hi"));
//! assert!(matches!(r.content[1], ContentBlock::Unknown(_)));
//! assert_eq!(r.extra["vendor"], true);
//! ```

#[macro_use]
mod macros;

pub mod capabilities;
pub mod common;
pub mod completion;
pub mod content;
pub mod elicitation;
pub mod lifecycle;
pub mod logging;
pub mod messages;
pub mod meta;
pub mod methods;
pub mod prompts;
pub mod resources;
pub mod roots;
pub mod sampling;
pub mod stateless;
pub mod tasks;
pub mod tools;
pub mod utilities;

pub use capabilities::*;
pub use common::{
    from_params, to_params, Annotations, CacheScope, Cursor, EmptyResult, Icon, IconTheme,
    Implementation, JsonObject, Meta, NotificationParams, PaginatedParams, ProgressToken,
    RequestParams, ResultType, Role,
};
pub use completion::*;
pub use content::*;
pub use elicitation::*;
pub use lifecycle::*;
pub use logging::*;
pub use messages::*;
pub use meta::{
    is_reserved_key, meta_keys, read_meta_key, NotificationMeta, RequestMeta, ResultMeta,
};
pub use prompts::*;
pub use resources::*;
pub use roots::*;
pub use sampling::*;
pub use stateless::*;
pub use tasks::*;
pub use tools::*;
pub use utilities::*;

/// MCP error codes (the standard JSON-RPC ones are in [`crate::jsonrpc::codes`]).
pub mod error_codes {
    /// 2025-11-25 and earlier: resource not found (2026-07-28 uses `-32602`; clients should
    /// still accept this from older servers).
    pub const RESOURCE_NOT_FOUND: i64 = -32002;
    /// 2026-07-28: HTTP headers do not match the body, or are missing or malformed.
    pub const HEADER_MISMATCH: i64 = -32020;
    /// 2026-07-28: the request needs a client capability it did not declare
    /// ([`MissingRequiredClientCapabilityData`](super::MissingRequiredClientCapabilityData)).
    pub const MISSING_REQUIRED_CLIENT_CAPABILITY: i64 = -32021;
    /// 2026-07-28: the requested protocol version is not supported
    /// ([`UnsupportedProtocolVersionData`](super::UnsupportedProtocolVersionData)).
    pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;
    /// 2025-11-25 only: URL elicitation is required first
    /// ([`UrlElicitationRequiredData`](super::UrlElicitationRequiredData)).
    pub const URL_ELICITATION_REQUIRED: i64 = -32042;
}
