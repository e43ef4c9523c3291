//! Protocol versions the gateway speaks.

/// Stateful (initialize + session) versions, newest first.
pub(crate) const LEGACY_VERSIONS: &[&str] =
    &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/// Stateless (per-request `_meta`) versions.
pub(crate) const STATELESS_VERSIONS: &[&str] = &["2026-07-28"];

/// The first version whose clients must send `MCP-Protocol-Version` on every request.
pub(crate) const HEADER_REQUIRED_SINCE: &str = "2025-06-18";

/// `_meta` key of the per-request protocol version.
pub(crate) const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";

/// `_meta` key of the per-request client capabilities.
pub(crate) const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";

/// Whether a stateful session at `version` requires the `MCP-Protocol-Version` header.
/// (Dates in ISO form compare correctly as strings.)
pub(crate) fn requires_version_header(version: &str) -> bool {
    version >= HEADER_REQUIRED_SINCE
}
