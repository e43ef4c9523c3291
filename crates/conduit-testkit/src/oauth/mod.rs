//! An OAuth 2.1 authorization server for tests, served by the gateway itself.
//!
//! Enabled with [`GatewayConfig::oauth`](crate::GatewayConfig::oauth). It serves:
//!
//! * RFC 9728 protected-resource metadata at `/.well-known/oauth-protected-resource` and
//!   `/.well-known/oauth-protected-resource/mcp`;
//! * RFC 8414 / OpenID metadata at `/.well-known/oauth-authorization-server` and
//!   `/.well-known/openid-configuration`;
//! * RFC 7591 registration at `/register`;
//! * `/authorize` with automatic consent: a `302` to the `redirect_uri` with `code`, `state`
//!   and `iss` (PKCE S256 required);
//! * the token endpoint at `/token` and at DataGrout's `/servers/<id>/oauth/token`, with the
//!   grants `client_credentials`, `authorization_code` (PKCE verified), `refresh_token`
//!   (rotation configurable) and RFC 8693 token exchange; tokens expire after
//!   [`OAuthConfig::token_lifetime`] and are then rejected by `/mcp`;
//! * when [`OAuthConfig::protect_mcp`] is set, `/mcp` answers `401` with
//!   `WWW-Authenticate: Bearer resource_metadata="…"` unless a live token is presented.
//!
//! Every token request is recorded ([`TestGateway::token_requests`](crate::TestGateway::token_requests)).

mod server;

pub(crate) use server::{guard, route, AuthServer};
pub use server::{OAuthConfig, TokenRequestRecord};
