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
pub mod client_credentials;
pub mod delegation;
pub mod extensions;
pub mod jwt;
pub mod store;
pub mod token;

pub use client_credentials::{
    derive_token_endpoint, ClientAuth, ClientCredentials, ClientCredentialsProvider,
};
pub use delegation::{
    DelegatedProvider, DelegatedToken, DelegationError, DelegationErrorKind, DelegationRequest,
};
pub use jwt::SigningKey;
pub use store::{FileGrantStore, Grant, GrantStore, StoreError};
pub use token::{
    AccessToken, ClientAuthMethod, Secret, SourceAuthorizer, StaticToken, TokenError, TokenSource,
};
