//! Authorization for the Conduit MCP client.
//!
//! Implements `conduit_http::Authorizer`, the HTTPS layer's authorization hook, for every way a
//! client can obtain credentials: static bearer tokens, OAuth 2.1 client credentials, the
//! authorization code flow with PKCE, discovery (RFC 9728 / RFC 8414 / OpenID), dynamic client
//! registration, refresh with rotation, and RFC 8693 token exchange for delegation.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

// --- The MCP authorization spec: discovery, authorization code + PKCE, registration -----------
//
// (modules of the spec flows are declared in this block)
pub mod oauth;
pub use oauth::{OAuthAuthorizer, OAuthConfig, OAuthError, OAuthErrorKind};

// --- Credential flows: client credentials, delegation, grant store, extensions -----------------
//
// (modules of the credential flows are declared in this block)
