//! The MCP authorization specification (2025-11-25 and 2026-07-28) for HTTP transports:
//! discovery (RFC 9728, RFC 8414, OpenID Connect), the authorization code flow with PKCE S256
//! and RFC 8707 resource indicators, client registration (pre-registered, client ID metadata
//! documents, RFC 7591), RFC 9207 `iss` validation, refresh with rotation, and step-up
//! authorization — packaged as [`OAuthAuthorizer`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use conduit_auth::oauth::{OAuthAuthorizer, OAuthConfig};
//! use conduit_http::HttpClient;
//!
//! let http = HttpClient::with_defaults()?;
//! let authorizer = OAuthAuthorizer::new(http.clone(), "https://mcp.example.com/mcp", OAuthConfig::new())?;
//! let http = http.with_authorizer(Arc::new(authorizer));
//! // every request through `http` now carries a token, obtained on the first 401
//! # let _ = http; Ok(()) }
//! ```

mod agent;
mod authorizer;
mod config;
pub mod discovery;
mod error;
mod flow;
mod http;
mod secret;

/// The grant a login produces: the same type as [`crate::Grant`] (see [`crate::store`]).
pub use crate::store::Grant;
pub use agent::{
    AuthorizationCodeHandler, CallbackParams, HeadlessRedirect, LoopbackBrowser, RedirectSession,
};
pub use authorizer::OAuthAuthorizer;
pub use config::OAuthConfig;
pub use discovery::{AuthorizationServerMetadata, BearerChallenge, ResourceMetadata};
pub use error::{OAuthError, OAuthErrorKind};
pub use flow::TokenEndpointAuth;
pub use http::OAuthHttp;
pub use secret::Secret;
