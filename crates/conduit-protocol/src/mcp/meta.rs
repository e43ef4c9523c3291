//! `_meta`: reserved keys and typed views of the per-request (2026-07-28), per-notification and
//! per-result metadata.
//!
//! The wire types keep `_meta` as a raw [`Meta`] object; [`RequestMeta`], [`NotificationMeta`]
//! and [`ResultMeta`] convert to and from it, keeping any other keys in `extra`.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::jsonrpc::RequestId;
use crate::version::ProtocolVersion;

use super::capabilities::ClientCapabilities;
use super::common::{Implementation, Meta, ProgressToken};
use super::logging::LoggingLevel;
use super::tasks::RelatedTaskMetadata;

/// The reserved `_meta` keys.
pub mod meta_keys {
    /// Opts a request into `notifications/progress` (both eras).
    pub const PROGRESS_TOKEN: &str = "progressToken";
    /// The request's protocol revision (2026-07-28, required).
    pub const PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
    /// The client's capabilities for this request (2026-07-28, required).
    pub const CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
    /// The client's identity (2026-07-28, recommended).
    pub const CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
    /// The lowest log level wanted for this request (2026-07-28, deprecated with logging).
    pub const LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
    /// On results: the server's identity (2026-07-28).
    pub const SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
    /// On notifications from a `subscriptions/listen` stream and its closing result: the id of
    /// the `subscriptions/listen` request (2026-07-28).
    pub const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";
    /// Ties a message to a task (2025-11-25 tasks).
    pub const RELATED_TASK: &str = "io.modelcontextprotocol/related-task";
    /// W3C trace context (OpenTelemetry).
    pub const TRACEPARENT: &str = "traceparent";
    /// W3C trace state (OpenTelemetry).
    pub const TRACESTATE: &str = "tracestate";
    /// W3C baggage (OpenTelemetry).
    pub const BAGGAGE: &str = "baggage";
}

/// Whether a `_meta` key's prefix is reserved for MCP (its second label is `modelcontextprotocol`
/// or `mcp`, e.g. `io.modelcontextprotocol/` or `dev.mcp/`).
pub fn is_reserved_key(key: &str) -> bool {
    match key.split_once('/') {
        Some((prefix, _)) => matches!(
            prefix.split('.').nth(1),
            Some("modelcontextprotocol") | Some("mcp")
        ),
        None => false,
    }
}

/// Reads and parses one key of an optional `_meta`; `None` when absent or malformed.
pub fn read_meta_key<T: DeserializeOwned>(meta: Option<&Meta>, key: &str) -> Option<T> {
    T::deserialize(meta?.get(key)?).ok()
}

fn to_meta<T: Serialize>(v: &T) -> Meta {
    match serde_json::to_value(v) {
        Ok(Value::Object(m)) => m,
        // These types always serialise to objects.
        _ => Meta::new(),
    }
}

fn from_meta<T: DeserializeOwned>(meta: &Meta) -> Result<T, serde_json::Error> {
    T::deserialize(&Value::Object(meta.clone()))
}

wire_struct! {
    /// A typed view of a request's `_meta`.
    ///
    /// In the stateless era every request carries `protocolVersion` and `clientCapabilities`
    /// (and should carry `clientInfo`); build them with [`RequestMeta::stateless`].
    #[derive(Default)]
    pub struct RequestMeta {
        ;
        /// `progressToken`.
        opt progress_token: ProgressToken = "progressToken",
        /// `io.modelcontextprotocol/protocolVersion`.
        opt protocol_version: ProtocolVersion = "io.modelcontextprotocol/protocolVersion",
        /// `io.modelcontextprotocol/clientCapabilities`.
        opt client_capabilities: ClientCapabilities = "io.modelcontextprotocol/clientCapabilities",
        /// `io.modelcontextprotocol/clientInfo`.
        opt client_info: Implementation = "io.modelcontextprotocol/clientInfo",
        /// `io.modelcontextprotocol/logLevel`.
        opt log_level: LoggingLevel = "io.modelcontextprotocol/logLevel",
        /// `io.modelcontextprotocol/related-task`.
        opt related_task: RelatedTaskMetadata = "io.modelcontextprotocol/related-task",
    }
}

impl RequestMeta {
    /// The required stateless-era fields plus the client's identity.
    pub fn stateless(
        version: impl Into<ProtocolVersion>,
        capabilities: ClientCapabilities,
        client_info: Implementation,
    ) -> Self {
        RequestMeta::new()
            .protocol_version(version)
            .client_capabilities(capabilities)
            .client_info(client_info)
    }

    /// Reads a `_meta` object; fails only if a known key has the wrong shape.
    pub fn from_meta(meta: &Meta) -> Result<Self, serde_json::Error> {
        from_meta(meta)
    }

    /// The `_meta` object.
    pub fn to_meta(&self) -> Meta {
        to_meta(self)
    }

    /// Merges these keys into an existing `_meta` (keys here win), e.g. one a caller supplied.
    pub fn merge_into(&self, meta: &mut Option<Meta>) {
        let target = meta.get_or_insert_with(Meta::new);
        for (k, v) in self.to_meta() {
            target.insert(k, v);
        }
    }
}

wire_struct! {
    /// A typed view of a notification's `_meta`.
    #[derive(Default)]
    pub struct NotificationMeta {
        ;
        /// `io.modelcontextprotocol/subscriptionId`: the stream it arrived on (2026-07-28).
        opt subscription_id: RequestId = "io.modelcontextprotocol/subscriptionId",
        /// `io.modelcontextprotocol/related-task` (2025-11-25).
        opt related_task: RelatedTaskMetadata = "io.modelcontextprotocol/related-task",
    }
}

impl NotificationMeta {
    /// Reads a `_meta` object; fails only if a known key has the wrong shape.
    pub fn from_meta(meta: &Meta) -> Result<Self, serde_json::Error> {
        from_meta(meta)
    }

    /// The `_meta` object.
    pub fn to_meta(&self) -> Meta {
        to_meta(self)
    }
}

wire_struct! {
    /// A typed view of a result's `_meta`.
    #[derive(Default)]
    pub struct ResultMeta {
        ;
        /// `io.modelcontextprotocol/serverInfo` (2026-07-28).
        opt server_info: Implementation = "io.modelcontextprotocol/serverInfo",
        /// `io.modelcontextprotocol/subscriptionId` on a `subscriptions/listen` result (2026-07-28).
        opt subscription_id: RequestId = "io.modelcontextprotocol/subscriptionId",
        /// `io.modelcontextprotocol/related-task` (2025-11-25).
        opt related_task: RelatedTaskMetadata = "io.modelcontextprotocol/related-task",
    }
}

impl ResultMeta {
    /// Reads a `_meta` object; fails only if a known key has the wrong shape.
    pub fn from_meta(meta: &Meta) -> Result<Self, serde_json::Error> {
        from_meta(meta)
    }

    /// The `_meta` object.
    pub fn to_meta(&self) -> Meta {
        to_meta(self)
    }
}
