//! [`OAuthConfig`]: how the [`OAuthAuthorizer`](super::OAuthAuthorizer) obtains tokens.

use std::sync::Arc;
use std::time::Duration;

use super::agent::{AuthorizationCodeHandler, LoopbackBrowser};
use super::secret::Secret;

/// Configuration of the MCP authorization flow (authorization code + PKCE with discovery).
///
/// Client identity, in the specification's priority order: a pre-registered
/// [`client_id`](OAuthConfig::client_id) (with an optional secret), else a
/// [client ID metadata document URL](OAuthConfig::client_metadata_url) when the authorization
/// server supports CIMD, else dynamic client registration (RFC 7591) when it has a
/// registration endpoint, else an error.
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    pub(crate) client_name: String,
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<Secret>,
    pub(crate) client_metadata_url: Option<String>,
    pub(crate) scopes: Option<Vec<String>>,
    pub(crate) offline_access: bool,
    pub(crate) allow_unadvertised_pkce: bool,
    pub(crate) legacy_fallback: bool,
    pub(crate) max_step_up: u32,
    pub(crate) refresh_margin: Duration,
    pub(crate) flow_timeout: Duration,
    pub(crate) handler: Arc<dyn AuthorizationCodeHandler>,
    pub(crate) dpop: Option<crate::extensions::dpop::DpopProver>,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        OAuthConfig {
            client_name: "conduit".to_owned(),
            client_id: None,
            client_secret: None,
            client_metadata_url: None,
            scopes: None,
            offline_access: true,
            allow_unadvertised_pkce: false,
            legacy_fallback: true,
            max_step_up: 3,
            refresh_margin: Duration::from_secs(60),
            flow_timeout: Duration::from_secs(600),
            handler: Arc::new(LoopbackBrowser::new()),
            dpop: None,
        }
    }
}

impl OAuthConfig {
    /// The defaults: dynamic registration as `conduit`, the loopback browser user agent.
    pub fn new() -> Self {
        Self::default()
    }

    /// `client_name` sent in dynamic client registration (default `conduit`).
    pub fn client_name(mut self, name: impl Into<String>) -> Self {
        self.client_name = name.into();
        self
    }

    /// A pre-registered client id (skips CIMD and dynamic registration).
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = Some(id.into());
        self
    }

    /// The pre-registered client's secret; the token endpoint authentication method
    /// (`client_secret_basic` or `client_secret_post`) follows the server's metadata.
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(Secret::new(secret));
        self
    }

    /// The HTTPS URL of this client's metadata document, used as `client_id` when the
    /// authorization server advertises `client_id_metadata_document_supported`.
    pub fn client_metadata_url(mut self, url: impl Into<String>) -> Self {
        self.client_metadata_url = Some(url.into());
        self
    }

    /// Requests exactly these scopes instead of the specification's selection strategy
    /// (challenge `scope`, else the resource's `scopes_supported`, else none).
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// Adds `offline_access` when the authorization server lists it in `scopes_supported`
    /// (default `true`), to ask for a refresh token.
    pub fn offline_access(mut self, on: bool) -> Self {
        self.offline_access = on;
        self
    }

    /// Proceeds with PKCE S256 when the authorization server's metadata does not say whether
    /// it supports PKCE (`code_challenge_methods_supported` absent, or no metadata at all).
    /// Off by default: the MCP specification requires refusing such servers.
    pub fn allow_unadvertised_pkce(mut self, on: bool) -> Self {
        self.allow_unadvertised_pkce = on;
        self
    }

    /// 2025-03-26 behaviour when the server has no protected resource metadata: the server's
    /// origin is the authorization server and, without its metadata, `/authorize`, `/token`
    /// and `/register` there are used (default `true`).
    pub fn legacy_fallback(mut self, on: bool) -> Self {
        self.legacy_fallback = on;
        self
    }

    /// How many times the same scope may be requested for step-up authorization after
    /// `403 insufficient_scope` (default 3).
    pub fn max_step_up(mut self, attempts: u32) -> Self {
        self.max_step_up = attempts;
        self
    }

    /// Refresh this long before the access token expires (default 60 s).
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// The deadline of one whole authorization flow, user interaction included (default
    /// 600 s).
    pub fn flow_timeout(mut self, timeout: Duration) -> Self {
        self.flow_timeout = timeout;
        self
    }

    /// Who visits the authorization URL (default [`LoopbackBrowser`]).
    pub fn handler(mut self, handler: Arc<dyn AuthorizationCodeHandler>) -> Self {
        self.handler = handler;
        self
    }

    /// Sender-constrains the tokens with DPoP (RFC 9449): token requests carry a proof signed
    /// by `prover` (retried once with the authorization server's nonce on `use_dpop_nonce`),
    /// and requests to the resource use `Authorization: DPoP <token>` with a fresh proof
    /// bound to the token (`ath`); a resource's `use_dpop_nonce` challenge is honoured once.
    pub fn dpop(mut self, prover: crate::extensions::dpop::DpopProver) -> Self {
        self.dpop = Some(prover);
        self
    }
}
