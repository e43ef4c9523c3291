//! Connection set-up: `initialize` (stateful era) and `server/discover` (stateless era).

use crate::version::ProtocolVersion;

use super::capabilities::{ClientCapabilities, ServerCapabilities};
use super::common::{CacheScope, Implementation, Meta, ResultType};
use super::meta::{meta_keys, read_meta_key};

wire_struct! {
    /// Parameters of `initialize`.
    pub struct InitializeParams {
        /// The newest revision the client supports.
        req protocol_version: ProtocolVersion = "protocolVersion",
        /// The client's capabilities.
        req capabilities: ClientCapabilities = "capabilities",
        /// The client's identity.
        req client_info: Implementation = "clientInfo",
        ;
        /// Request metadata.
        opt meta: Meta = "_meta",
    }
}

wire_struct! {
    /// Result of `initialize`.
    pub struct InitializeResult {
        /// The revision the server chose; the client must disconnect if it does not support it.
        req protocol_version: ProtocolVersion = "protocolVersion",
        /// The server's capabilities.
        req capabilities: ServerCapabilities = "capabilities",
        /// The server's identity.
        req server_info: Implementation = "serverInfo",
        ;
        /// How to use the server (a hint for the model).
        opt instructions: String = "instructions",
        /// Metadata.
        opt meta: Meta = "_meta",
    }
}

wire_struct! {
    /// Result of `server/discover` (2026-07-28). The request's params are a bare
    /// [`RequestParams`](crate::mcp::RequestParams).
    pub struct DiscoverResult {
        /// Revisions the server supports; the client picks one for later requests.
        #[serde(default)]
        req supported_versions: Vec<ProtocolVersion> = "supportedVersions",
        /// The server's capabilities.
        #[serde(default)]
        req capabilities: ServerCapabilities = "capabilities",
        ;
        /// How to use the server (a hint for the model).
        opt instructions: String = "instructions",
        /// Cache freshness hint in milliseconds.
        opt ttl_ms: u64 = "ttlMs",
        /// Cache scope.
        opt cache_scope: CacheScope = "cacheScope",
        /// `resultType`.
        opt result_type: ResultType = "resultType",
        /// Metadata; the server's identity is at `io.modelcontextprotocol/serverInfo`.
        opt meta: Meta = "_meta",
    }
}

impl DiscoverResult {
    /// The server's identity from `_meta["io.modelcontextprotocol/serverInfo"]`, if present and
    /// well-formed.
    pub fn server_info(&self) -> Option<Implementation> {
        read_meta_key(self.meta.as_ref(), meta_keys::SERVER_INFO)
    }

    /// The newest revision both sides support, given the client's list (any order).
    pub fn choose_version(&self, client_supports: &[&str]) -> Option<ProtocolVersion> {
        self.supported_versions
            .iter()
            .filter(|v| client_supports.contains(&v.as_str()))
            .max()
            .cloned()
    }
}
