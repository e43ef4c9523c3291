//! The RFC 7523 JWT-bearer grant (`urn:ietf:params:oauth:grant-type:jwt-bearer`), used for
//! workload identity federation (a workload JWT is the assertion) and for enterprise-managed
//! authorization (an ID-JAG obtained from the enterprise IdP by token exchange is the
//! assertion).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use conduit_http::{BoxFuture, HttpClient};
use url::Url;

use crate::delegation::GRANT_TYPE_TOKEN_EXCHANGE;
use crate::token::{
    basic_authorization, parse_token_response, post_form, AccessToken, Secret, TokenCache,
    TokenError, TokenSource, DEFAULT_REFRESH_MARGIN, DEFAULT_TOKEN_REQUEST_TIMEOUT,
};

/// `grant_type` of RFC 7523 §2.1.
pub const GRANT_TYPE_JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// The token type of an Identity Assertion JWT Authorization Grant (ID-JAG).
pub const TOKEN_TYPE_ID_JAG: &str = "urn:ietf:params:oauth:token-type:id-jag";
/// The token type of an OpenID Connect ID token.
pub const TOKEN_TYPE_ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";

/// How the client authenticates a JWT-bearer request.
#[derive(Clone, Debug)]
pub enum JwtBearerClient {
    /// Public client: `client_id` in the body (or nothing when `None`).
    Public(Option<String>),
    /// Confidential client with `client_secret_basic` (RFC 7523 §5 with RFC 6749 §2.3.1).
    Basic {
        /// The client id.
        client_id: String,
        /// The client secret.
        client_secret: Secret,
    },
}

/// A JWT-bearer grant request.
#[derive(Clone)]
pub struct JwtBearerGrant {
    token_endpoint: Url,
    assertion: Secret,
    client: JwtBearerClient,
    scope: Option<String>,
    resource: Option<String>,
    timeout: Duration,
}

impl fmt::Debug for JwtBearerGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtBearerGrant")
            .field("token_endpoint", &self.token_endpoint.as_str())
            .field(
                "client",
                &match &self.client {
                    JwtBearerClient::Public(id) => id.clone(),
                    JwtBearerClient::Basic { client_id, .. } => Some(client_id.clone()),
                },
            )
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl JwtBearerGrant {
    /// A grant presenting `assertion` at `token_endpoint`.
    pub fn new(
        token_endpoint: &str,
        assertion: impl Into<Secret>,
        client: JwtBearerClient,
    ) -> Result<Self, TokenError> {
        Ok(JwtBearerGrant {
            token_endpoint: Url::parse(token_endpoint).map_err(|e| TokenError::Config {
                reason: format!("invalid token endpoint `{token_endpoint}`: {e}"),
            })?,
            assertion: assertion.into(),
            client,
            scope: None,
            resource: None,
            timeout: DEFAULT_TOKEN_REQUEST_TIMEOUT,
        })
    }

    /// The `scope` to request.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into()).filter(|s: &String| !s.is_empty());
        self
    }

    /// The RFC 8707 `resource`.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    /// One token request: `grant_type`, `assertion`, then `scope`, `resource` and the public
    /// `client_id` when set. A failure is returned as is — a JWT-bearer grant is never
    /// retried with another grant type.
    pub async fn request(&self, http: &HttpClient) -> Result<AccessToken, TokenError> {
        let mut form = vec![
            ("grant_type", GRANT_TYPE_JWT_BEARER),
            ("assertion", self.assertion.expose()),
        ];
        if let Some(scope) = &self.scope {
            form.push(("scope", scope));
        }
        if let Some(resource) = &self.resource {
            form.push(("resource", resource));
        }
        let authorization = match &self.client {
            JwtBearerClient::Public(Some(id)) => {
                form.push(("client_id", id));
                None
            }
            JwtBearerClient::Public(None) => None,
            JwtBearerClient::Basic {
                client_id,
                client_secret,
            } => Some(basic_authorization(client_id, client_secret.expose())?),
        };
        let reply = post_form(
            http,
            &self.token_endpoint,
            &form,
            authorization,
            &[],
            self.timeout,
        )
        .await?;
        parse_token_response(&self.token_endpoint, &reply)
    }

    /// A cached [`TokenSource`] over this grant.
    pub fn into_source(self, http: HttpClient) -> Arc<dyn TokenSource> {
        Arc::new(JwtBearerSource {
            grant: self,
            http,
            cache: TokenCache::new(DEFAULT_REFRESH_MARGIN),
        })
    }
}

#[derive(Debug)]
struct JwtBearerSource {
    grant: JwtBearerGrant,
    http: HttpClient,
    cache: TokenCache,
}

impl TokenSource for JwtBearerSource {
    fn token(&self) -> BoxFuture<'_, Result<AccessToken, TokenError>> {
        Box::pin(self.cache.get_or_fetch(|| self.grant.request(&self.http)))
    }
    fn invalidate(&self) {
        self.cache.invalidate();
    }
}

/// Enterprise-managed authorization, step 1: exchanges the user's IdP ID token for an ID-JAG
/// at the IdP's token endpoint (RFC 8693 with `requested_token_type` ID-JAG), for the MCP
/// authorization server `audience` (its issuer) and `resource`.
#[derive(Clone)]
pub struct IdJagRequest {
    /// The IdP's token endpoint.
    pub idp_token_endpoint: Url,
    /// The ID token (secret).
    pub id_token: Secret,
    /// The client id registered at the IdP.
    pub idp_client_id: String,
    /// The client secret at the IdP, if any (sent in the body).
    pub idp_client_secret: Option<Secret>,
    /// The MCP authorization server's issuer.
    pub audience: String,
    /// The MCP resource.
    pub resource: String,
    /// Scope to request, if any.
    pub scope: Option<String>,
}

impl fmt::Debug for IdJagRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdJagRequest")
            .field("idp_token_endpoint", &self.idp_token_endpoint.as_str())
            .field("idp_client_id", &self.idp_client_id)
            .field("audience", &self.audience)
            .field("resource", &self.resource)
            .finish_non_exhaustive()
    }
}

impl IdJagRequest {
    /// Obtains the ID-JAG (the `access_token` of the exchange response).
    pub async fn exchange(&self, http: &HttpClient) -> Result<Secret, TokenError> {
        let mut form = vec![
            ("grant_type", GRANT_TYPE_TOKEN_EXCHANGE),
            ("requested_token_type", TOKEN_TYPE_ID_JAG),
            ("audience", self.audience.as_str()),
            ("resource", self.resource.as_str()),
            ("subject_token", self.id_token.expose()),
            ("subject_token_type", TOKEN_TYPE_ID_TOKEN),
            ("client_id", self.idp_client_id.as_str()),
        ];
        if let Some(secret) = &self.idp_client_secret {
            form.push(("client_secret", secret.expose()));
        }
        if let Some(scope) = &self.scope {
            form.push(("scope", scope));
        }
        let reply = post_form(
            http,
            &self.idp_token_endpoint,
            &form,
            None,
            &[],
            DEFAULT_TOKEN_REQUEST_TIMEOUT,
        )
        .await?;
        Ok(parse_token_response(&self.idp_token_endpoint, &reply)?.token)
    }
}
