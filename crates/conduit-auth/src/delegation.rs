//! RFC 8693 token exchange for delegation, as the reference SDK does it: the same form fields
//! in the same order, `client_secret` in the body (default) or HTTP Basic, the same response
//! validation, the same `DelegatedToken` JSON and error kinds.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use conduit_http::{AuthHookError, Authorizer, BoxFuture, Challenge, HttpClient, Retry};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use crate::jwt::unix_now;
use crate::token::{
    basic_authorization, bearer_header, post_form, AccessToken, Secret, TokenError, TokenSource,
    DEFAULT_TOKEN_REQUEST_TIMEOUT,
};

/// `grant_type` of RFC 8693.
pub const GRANT_TYPE_TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// A delegated token is replaced this long before it expires (as the reference).
pub const DELEGATED_EXPIRY_SKEW_SECS: u64 = 60;

/// An RFC 8693 token type. Unknown URNs pass through unchanged.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum TokenType {
    /// `urn:ietf:params:oauth:token-type:access_token` (the default).
    #[default]
    AccessToken,
    /// `urn:ietf:params:oauth:token-type:jwt`.
    Jwt,
    /// `urn:ietf:params:oauth:token-type:id_token`.
    IdToken,
    /// `urn:ietf:params:oauth:token-type:refresh_token`.
    RefreshToken,
    /// `urn:ietf:params:oauth:token-type:saml2`.
    Saml2,
    /// Any other URN, verbatim.
    Other(String),
}

impl TokenType {
    /// The URN.
    pub fn urn(&self) -> &str {
        match self {
            TokenType::AccessToken => "urn:ietf:params:oauth:token-type:access_token",
            TokenType::Jwt => "urn:ietf:params:oauth:token-type:jwt",
            TokenType::IdToken => "urn:ietf:params:oauth:token-type:id_token",
            TokenType::RefreshToken => "urn:ietf:params:oauth:token-type:refresh_token",
            TokenType::Saml2 => "urn:ietf:params:oauth:token-type:saml2",
            TokenType::Other(urn) => urn,
        }
    }

    /// The type for a URN (or a short name such as `jwt`).
    pub fn from_urn(urn: &str) -> Self {
        match urn.rsplit(':').next().unwrap_or(urn) {
            "access_token" => TokenType::AccessToken,
            "jwt" => TokenType::Jwt,
            "id_token" => TokenType::IdToken,
            "refresh_token" => TokenType::RefreshToken,
            "saml2" => TokenType::Saml2,
            _ => TokenType::Other(urn.to_owned()),
        }
    }
}

/// Where the client secret goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ClientSecretPlacement {
    /// In the form body (`client_secret`), the reference's default.
    #[default]
    Body,
    /// In `Authorization: Basic`; `client_id` stays in the body.
    Basic,
}

/// A token-exchange request (everything but the subject and actor tokens).
#[derive(Clone, Debug)]
pub struct DelegationRequest {
    /// The token endpoint.
    pub token_endpoint: Url,
    /// The client id (always sent in the body).
    pub client_id: String,
    /// The client secret, if the client has one.
    pub client_secret: Option<Secret>,
    /// Where the secret goes.
    pub placement: ClientSecretPlacement,
    /// The subject token's type.
    pub subject_token_type: TokenType,
    /// The actor token's type.
    pub actor_token_type: TokenType,
    /// Exchange without an actor (impersonation). Without it an actor token is required.
    pub impersonation: bool,
    /// `audience`, when set.
    pub audience: Option<String>,
    /// `resource`, when set.
    pub resource: Option<String>,
    /// `scope`, when set.
    pub scope: Option<String>,
    /// `requested_token_type`, when set.
    pub requested_token_type: Option<TokenType>,
    /// The deadline of one exchange.
    pub timeout: Duration,
}

impl DelegationRequest {
    /// A request to `token_endpoint` for `client_id`, with every option at its default.
    pub fn new(
        token_endpoint: &str,
        client_id: impl Into<String>,
    ) -> Result<Self, DelegationError> {
        let token_endpoint = Url::parse(token_endpoint).map_err(|e| DelegationError {
            kind: DelegationErrorKind::InvalidConfig,
            message: format!("invalid token endpoint `{token_endpoint}`: {e}"),
            error: None,
            error_description: None,
            status: None,
        })?;
        Ok(DelegationRequest {
            token_endpoint,
            client_id: client_id.into(),
            client_secret: None,
            placement: ClientSecretPlacement::Body,
            subject_token_type: TokenType::AccessToken,
            actor_token_type: TokenType::AccessToken,
            impersonation: false,
            audience: None,
            resource: None,
            scope: None,
            requested_token_type: None,
            timeout: DEFAULT_TOKEN_REQUEST_TIMEOUT,
        })
    }

    /// The form fields in the reference's wire order.
    fn form<'a>(&'a self, subject: &'a str, actor: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
        let mut form = vec![
            ("grant_type", GRANT_TYPE_TOKEN_EXCHANGE),
            ("subject_token", subject),
            ("subject_token_type", self.subject_token_type.urn()),
        ];
        if let Some(actor) = actor {
            form.push(("actor_token", actor));
            form.push(("actor_token_type", self.actor_token_type.urn()));
        }
        form.push(("client_id", &self.client_id));
        if self.placement == ClientSecretPlacement::Body {
            if let Some(secret) = &self.client_secret {
                form.push(("client_secret", secret.expose()));
            }
        }
        for (name, value) in [
            ("audience", self.audience.as_deref()),
            ("resource", self.resource.as_deref()),
            ("scope", self.scope.as_deref()),
            (
                "requested_token_type",
                self.requested_token_type.as_ref().map(TokenType::urn),
            ),
        ] {
            if let Some(value) = value {
                form.push((name, value));
            }
        }
        form
    }

    /// Exchanges `subject` (and `actor`) for a delegated token.
    pub async fn exchange(
        &self,
        http: &HttpClient,
        subject: &Secret,
        actor: Option<&Secret>,
    ) -> Result<DelegatedToken, DelegationError> {
        if actor.is_none() && !self.impersonation {
            return Err(DelegationError::new(
                DelegationErrorKind::MissingActor,
                "an actor token is required unless impersonation is enabled",
            ));
        }
        let authorization = match (self.placement, &self.client_secret) {
            (ClientSecretPlacement::Basic, Some(secret)) => Some(
                basic_authorization(&self.client_id, secret.expose()).map_err(|e| {
                    DelegationError::new(DelegationErrorKind::InvalidConfig, e.to_string())
                })?,
            ),
            _ => None,
        };
        let form = self.form(subject.expose(), actor.map(Secret::expose));
        let reply = post_form(
            http,
            &self.token_endpoint,
            &form,
            authorization,
            &[],
            self.timeout,
        )
        .await
        .map_err(|e| DelegationError::new(DelegationErrorKind::Http, e.to_string()))?;
        let excerpt = || conduit_http::body_excerpt(&reply.body, 200);
        let json: Option<Value> = serde_json::from_slice(&reply.body).ok();
        if !reply.status.is_success() {
            if let Some(error) = json
                .as_ref()
                .and_then(|j| j.get("error"))
                .and_then(Value::as_str)
            {
                let description = json
                    .as_ref()
                    .and_then(|j| j.get("error_description"))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                return Err(DelegationError {
                    kind: DelegationErrorKind::Server,
                    message: format!("token exchange rejected with {}: {error}", reply.status),
                    error: Some(error.to_owned()),
                    error_description: description,
                    status: Some(reply.status.as_u16()),
                });
            }
            return Err(DelegationError {
                status: Some(reply.status.as_u16()),
                ..DelegationError::new(
                    DelegationErrorKind::InvalidResponse,
                    format!("token exchange failed with {}: {}", reply.status, excerpt()),
                )
            });
        }
        let invalid = |what: &str| {
            DelegationError::new(
                DelegationErrorKind::InvalidResponse,
                format!("{what} (body: {})", excerpt()),
            )
        };
        let object = json
            .as_ref()
            .and_then(Value::as_object)
            .ok_or_else(|| invalid("the token exchange response is not a JSON object"))?;
        let string = |name: &str| {
            object
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| invalid(&format!("`{name}` is missing or not a string")))
        };
        let access_token = string("access_token")?;
        let issued_token_type = string("issued_token_type")?;
        let token_type = string("token_type")?;
        let expires_at = match object.get("expires_in") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                unix_now()
                    + v.as_f64()
                        .filter(|f| *f >= 0.0)
                        .ok_or_else(|| invalid("`expires_in` is not a number"))?
                        as u64,
            ),
        };
        Ok(DelegatedToken {
            access_token: Secret::new(access_token),
            issued_token_type,
            token_type,
            expires_at,
            scope: object
                .get("scope")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }
}

/// The result of a token exchange, in the reference's JSON shape (absent fields omitted).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegatedToken {
    /// The delegated access token.
    pub access_token: Secret,
    /// `issued_token_type`.
    pub issued_token_type: String,
    /// `token_type`.
    pub token_type: String,
    /// Expiry, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// Granted scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl fmt::Debug for DelegatedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DelegatedToken")
            .field("access_token", &self.access_token)
            .field("issued_token_type", &self.issued_token_type)
            .field("token_type", &self.token_type)
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish()
    }
}

impl DelegatedToken {
    /// Expired when now + 60 ≥ `expires_at`.
    pub fn is_expired(&self) -> bool {
        self.expires_at
            .is_some_and(|at| unix_now() + DELEGATED_EXPIRY_SKEW_SECS >= at)
    }
}

/// The kind of a [`DelegationError`]; [`as_str`](DelegationErrorKind::as_str) is the
/// reference's kind string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DelegationErrorKind {
    /// No actor token and impersonation not enabled (detected before any network call).
    MissingActor,
    /// The server answered with an OAuth error.
    Server,
    /// The server's answer is not a valid token-exchange response.
    InvalidResponse,
    /// The request could not be sent or read.
    Http,
    /// A token source for the subject or actor failed.
    Source,
    /// The request itself is invalid.
    InvalidConfig,
}

impl DelegationErrorKind {
    /// The stable kind string.
    pub fn as_str(self) -> &'static str {
        match self {
            DelegationErrorKind::MissingActor => "missing_actor",
            DelegationErrorKind::Server => "server",
            DelegationErrorKind::InvalidResponse => "invalid_response",
            DelegationErrorKind::Http => "http",
            DelegationErrorKind::Source => "source",
            DelegationErrorKind::InvalidConfig => "invalid_config",
        }
    }
}

/// A delegation failure. Never contains a token.
#[derive(Debug, Clone, thiserror::Error)]
#[error("delegation failed ({}): {message}", kind.as_str())]
pub struct DelegationError {
    /// What kind of failure.
    pub kind: DelegationErrorKind,
    /// A description.
    pub message: String,
    /// The server's OAuth `error` (kind `Server`), e.g. `invalid_grant`.
    pub error: Option<String>,
    /// The server's `error_description`.
    pub error_description: Option<String>,
    /// The HTTP status, when there was a reply.
    pub status: Option<u16>,
}

impl DelegationError {
    fn new(kind: DelegationErrorKind, message: impl Into<String>) -> Self {
        DelegationError {
            kind,
            message: message.into(),
            error: None,
            error_description: None,
            status: None,
        }
    }
}

/// Exchanges the subject (and actor) tokens for a delegated token, caches it until 60 s before
/// it expires (one exchange at a time), and authorizes requests with it. A 401 drops only the
/// delegated token; the sources are resolved afresh on every exchange.
#[derive(Clone)]
pub struct DelegatedProvider {
    inner: Arc<DelegatedInner>,
}

struct DelegatedInner {
    request: DelegationRequest,
    subject: Arc<dyn TokenSource>,
    actor: Option<Arc<dyn TokenSource>>,
    http: HttpClient,
    cached: tokio::sync::Mutex<Option<DelegatedToken>>,
}

impl fmt::Debug for DelegatedProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DelegatedProvider")
            .field(
                "token_endpoint",
                &self.inner.request.token_endpoint.as_str(),
            )
            .field("client_id", &self.inner.request.client_id)
            .finish_non_exhaustive()
    }
}

impl DelegatedProvider {
    /// A provider exchanging `subject` (and `actor`) through `http`.
    pub fn new(
        request: DelegationRequest,
        subject: Arc<dyn TokenSource>,
        actor: Option<Arc<dyn TokenSource>>,
        http: HttpClient,
    ) -> Self {
        DelegatedProvider {
            inner: Arc::new(DelegatedInner {
                request,
                subject,
                actor,
                http,
                cached: tokio::sync::Mutex::new(None),
            }),
        }
    }

    /// The delegated token (cached, or exchanged now).
    pub async fn delegated_token(&self) -> Result<DelegatedToken, DelegationError> {
        let mut cached = self.inner.cached.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| !t.is_expired()) {
            return Ok(token.clone());
        }
        let source_err =
            |e: TokenError| DelegationError::new(DelegationErrorKind::Source, e.to_string());
        let subject = self.inner.subject.token().await.map_err(source_err)?;
        let actor = match &self.inner.actor {
            Some(actor) => Some(actor.token().await.map_err(source_err)?),
            None => None,
        };
        let token = self
            .inner
            .request
            .exchange(
                &self.inner.http,
                &subject.token,
                actor.as_ref().map(|a| &a.token),
            )
            .await?;
        *cached = Some(token.clone());
        Ok(token)
    }

    /// Drops the cached delegated token (not the sources' tokens).
    pub fn invalidate(&self) {
        if let Ok(mut cached) = self.inner.cached.try_lock() {
            *cached = None;
        }
    }
}

impl TokenSource for DelegatedProvider {
    fn token(&self) -> BoxFuture<'_, Result<AccessToken, TokenError>> {
        Box::pin(async move {
            let token = self
                .delegated_token()
                .await
                .map_err(|e| TokenError::Config {
                    reason: e.to_string(),
                })?;
            Ok(AccessToken {
                token: token.access_token,
                token_type: token.token_type,
                expires_in: token
                    .expires_at
                    .map(|at| Duration::from_secs(at.saturating_sub(unix_now()))),
                scope: token.scope,
                refresh_token: None,
            })
        })
    }

    fn invalidate(&self) {
        DelegatedProvider::invalidate(self);
    }
}

impl Authorizer for DelegatedProvider {
    fn authorize<'a>(
        &'a self,
        request: &'a mut http::request::Parts,
    ) -> BoxFuture<'a, Result<(), AuthHookError>> {
        Box::pin(async move {
            let token = self
                .delegated_token()
                .await
                .map_err(|e| AuthHookError::with_source("token exchange failed", e))?;
            let access = AccessToken {
                token: token.access_token,
                token_type: token.token_type,
                expires_in: None,
                scope: None,
                refresh_token: None,
            };
            request
                .headers
                .insert(http::header::AUTHORIZATION, bearer_header(&access)?);
            Ok(())
        })
    }

    fn on_unauthorized<'a>(
        &'a self,
        challenge: &'a Challenge,
    ) -> BoxFuture<'a, Result<Retry, AuthHookError>> {
        Box::pin(async move {
            if challenge.status() != http::StatusCode::UNAUTHORIZED {
                return Ok(Retry::GiveUp);
            }
            *self.inner.cached.lock().await = None;
            Ok(Retry::Resend)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_order_matches_the_reference() {
        let mut r = DelegationRequest::new("https://as/token", "cid").unwrap();
        r.client_secret = Some(Secret::new("sec"));
        r.audience = Some("aud".into());
        r.scope = Some("s".into());
        r.requested_token_type = Some(TokenType::Jwt);
        let names: Vec<&str> = r.form("sub", Some("act")).iter().map(|(k, _)| *k).collect();
        assert_eq!(
            names,
            [
                "grant_type",
                "subject_token",
                "subject_token_type",
                "actor_token",
                "actor_token_type",
                "client_id",
                "client_secret",
                "audience",
                "scope",
                "requested_token_type"
            ]
        );
        r.placement = ClientSecretPlacement::Basic;
        let names: Vec<&str> = r.form("sub", None).iter().map(|(k, _)| *k).collect();
        assert!(!names.contains(&"client_secret") && names.contains(&"client_id"));
    }

    #[test]
    fn delegated_token_json() {
        let t = DelegatedToken {
            access_token: Secret::new("x"),
            issued_token_type: TokenType::AccessToken.urn().into(),
            token_type: "Bearer".into(),
            expires_at: None,
            scope: None,
        };
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"access_token":"x","issued_token_type":"urn:ietf:params:oauth:token-type:access_token","token_type":"Bearer"}"#
        );
        assert_eq!(
            TokenType::from_urn("urn:x:custom"),
            TokenType::Other("urn:x:custom".into())
        );
    }
}
