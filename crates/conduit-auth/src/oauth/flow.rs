//! The authorization code flow with PKCE: registration, the authorization request, the redirect
//! checks (state, RFC 9207 `iss`), code exchange and refresh — on the `oauth2` crate.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use oauth2::basic::{BasicClient, BasicRequestTokenError};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    RedirectUrl, RefreshToken, Scope, TokenResponse, TokenUrl,
};
use rand::RngCore;
use serde_json::json;

use super::agent::CallbackParams;
use super::discovery::AuthorizationServerMetadata;
use super::error::{OAuthError, OAuthErrorKind};
use super::http::OAuthHttp;
use super::secret::{constant_time_eq, Secret};

/// The grant the flow produces: the crate's one [`Grant`](crate::store::Grant) type (the
/// reference SDK's Grant JSON), so a login can be stored as it is.
pub(crate) use crate::store::Grant;

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenEndpointAuth {
    /// Public client: `client_id` in the body only.
    None,
    /// `client_secret_post`: id and secret in the body.
    ClientSecretPost,
    /// `client_secret_basic`: HTTP Basic.
    ClientSecretBasic,
}

impl TokenEndpointAuth {
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "none" => Some(Self::None),
            "client_secret_post" => Some(Self::ClientSecretPost),
            "client_secret_basic" => Some(Self::ClientSecretBasic),
            _ => None,
        }
    }

    /// The method for a client with (or without) a secret, given what the server supports
    /// (RFC 8414: `client_secret_basic` when the server does not say).
    pub(crate) fn choose(has_secret: bool, supported: Option<&[String]>) -> Self {
        if !has_secret {
            return Self::None;
        }
        match supported {
            None => Self::ClientSecretBasic,
            Some(list) => {
                if list.iter().any(|m| m == "client_secret_basic") {
                    Self::ClientSecretBasic
                } else if list.iter().any(|m| m == "client_secret_post") {
                    Self::ClientSecretPost
                } else {
                    Self::ClientSecretBasic
                }
            }
        }
    }
}

/// A client identity at one authorization server.
#[derive(Debug, Clone)]
pub(crate) struct ClientIdentity {
    pub client_id: String,
    pub client_secret: Option<Secret>,
    pub auth: TokenEndpointAuth,
    /// The issuer it belongs to (`None` for the legacy default endpoints).
    pub issuer: Option<String>,
    pub redirect_uri: Option<String>,
}

/// RFC 7591 dynamic client registration with the fields the reference SDK sends.
pub(crate) async fn register(
    http: &OAuthHttp,
    endpoint: &str,
    client_name: &str,
    redirect_uri: &str,
    metadata: &AuthorizationServerMetadata,
) -> Result<ClientIdentity, OAuthError> {
    let supported = metadata.token_endpoint_auth_methods_supported.as_deref();
    let requested = match supported {
        Some(list) if !list.iter().any(|m| m == "none") => {
            if list.iter().any(|m| m == "client_secret_basic") {
                "client_secret_basic"
            } else if list.iter().any(|m| m == "client_secret_post") {
                "client_secret_post"
            } else {
                "none"
            }
        }
        _ => "none",
    };
    let body = json!({
        "client_name": client_name,
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": requested,
        "application_type": "native",
    });
    let (status, bytes) = http.post_json(endpoint, &body).await?;
    if !status.is_success() {
        return Err(OAuthError::new(
            OAuthErrorKind::RegistrationRejected,
            format!(
                "dynamic client registration at {endpoint} was rejected with {status}: {}",
                conduit_http::body_excerpt(&bytes, 200)
            ),
        )
        .with_status(status));
    }
    let doc: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        OAuthError::new(
            OAuthErrorKind::RegistrationRejected,
            format!("dynamic client registration at {endpoint} answered non-JSON: {e}"),
        )
    })?;
    let client_id = doc
        .get("client_id")
        .and_then(|v| v.as_str())
        .ok_or_else(|| {
            OAuthError::new(
                OAuthErrorKind::RegistrationRejected,
                format!("dynamic client registration at {endpoint} returned no client_id"),
            )
        })?
        .to_owned();
    let client_secret = doc
        .get("client_secret")
        .and_then(|v| v.as_str())
        .map(Secret::new);
    let auth = doc
        .get("token_endpoint_auth_method")
        .and_then(|v| v.as_str())
        .and_then(TokenEndpointAuth::from_name)
        .filter(|a| (*a == TokenEndpointAuth::None) != client_secret.is_some())
        .unwrap_or_else(|| TokenEndpointAuth::choose(client_secret.is_some(), supported));
    Ok(ClientIdentity {
        client_id,
        client_secret,
        auth,
        issuer: metadata.issuer.clone(),
        redirect_uri: Some(redirect_uri.to_owned()),
    })
}

/// Fails unless the server advertises PKCE S256 (or `allow_unadvertised` and it says nothing).
pub(crate) fn check_pkce(
    metadata: &AuthorizationServerMetadata,
    allow_unadvertised: bool,
) -> Result<(), OAuthError> {
    match &metadata.code_challenge_methods_supported {
        Some(methods) if methods.iter().any(|m| m == "S256") => Ok(()),
        Some(methods) => Err(OAuthError::new(
            OAuthErrorKind::PkceUnsupported,
            format!(
                "the authorization server supports PKCE methods {methods:?}, not S256; refusing \
                 to authorize without PKCE S256"
            ),
        )),
        None if allow_unadvertised => Ok(()),
        None => Err(OAuthError::new(
            OAuthErrorKind::PkceUnsupported,
            "the authorization server metadata does not advertise \
             code_challenge_methods_supported, so PKCE support cannot be verified; refusing \
             (OAuthConfig::allow_unadvertised_pkce opts out)",
        )),
    }
}

fn oauth_client(
    identity: &ClientIdentity,
    metadata: &AuthorizationServerMetadata,
    redirect_uri: &str,
) -> Result<
    BasicClient<
        oauth2::EndpointSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    >,
    OAuthError,
> {
    let config = |what: &str, e: url::ParseError| {
        OAuthError::new(OAuthErrorKind::Discovery, format!("invalid {what}: {e}"))
    };
    let mut client = BasicClient::new(ClientId::new(identity.client_id.clone()))
        .set_auth_uri(
            AuthUrl::new(metadata.authorization_endpoint.clone())
                .map_err(|e| config("authorization_endpoint", e))?,
        )
        .set_token_uri(
            TokenUrl::new(metadata.token_endpoint.clone())
                .map_err(|e| config("token_endpoint", e))?,
        )
        .set_redirect_uri(
            RedirectUrl::new(redirect_uri.to_owned()).map_err(|e| config("redirect URI", e))?,
        );
    client = apply_auth(client, identity);
    Ok(client)
}

fn apply_auth<A, B, C, D, E>(
    client: BasicClient<A, B, C, D, E>,
    identity: &ClientIdentity,
) -> BasicClient<A, B, C, D, E>
where
    A: oauth2::EndpointState,
    B: oauth2::EndpointState,
    C: oauth2::EndpointState,
    D: oauth2::EndpointState,
    E: oauth2::EndpointState,
{
    match (&identity.client_secret, identity.auth) {
        (Some(secret), TokenEndpointAuth::ClientSecretBasic) => client
            .set_client_secret(ClientSecret::new(secret.expose().to_owned()))
            .set_auth_type(AuthType::BasicAuth),
        (Some(secret), TokenEndpointAuth::ClientSecretPost) => client
            .set_client_secret(ClientSecret::new(secret.expose().to_owned()))
            .set_auth_type(AuthType::RequestBody),
        _ => client.set_auth_type(AuthType::RequestBody),
    }
}

/// A prepared authorization request.
pub(crate) struct PreparedAuthorization {
    pub url: url::Url,
    state: Secret,
    verifier: oauth2::PkceCodeVerifier,
}

/// 16 random bytes, base64url without padding.
fn random_state() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn prepare_authorization(
    identity: &ClientIdentity,
    metadata: &AuthorizationServerMetadata,
    redirect_uri: &str,
    scopes: &[String],
    resource: &str,
) -> Result<PreparedAuthorization, OAuthError> {
    let client = oauth_client(identity, metadata, redirect_uri)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let state = random_state();
    let state_for_url = state.clone();
    let (url, _) = client
        .authorize_url(move || CsrfToken::new(state_for_url))
        .add_scopes(scopes.iter().cloned().map(Scope::new))
        .set_pkce_challenge(challenge)
        .add_extra_param("resource", resource)
        .url();
    Ok(PreparedAuthorization {
        url,
        state: Secret::new(state),
        verifier,
    })
}

/// Checks the redirect (state in constant time, then RFC 9207 `iss`) and exchanges the code.
pub(crate) async fn complete_authorization(
    http: &OAuthHttp,
    identity: &ClientIdentity,
    metadata: &AuthorizationServerMetadata,
    redirect_uri: &str,
    prepared: PreparedAuthorization,
    callback: CallbackParams,
    resource: &str,
) -> Result<Grant, OAuthError> {
    let returned = callback.state.as_deref().unwrap_or("");
    if !constant_time_eq(returned, prepared.state.expose()) {
        return Err(OAuthError::new(
            OAuthErrorKind::StateMismatch,
            "the `state` returned with the authorization code does not match the one sent; \
             the code was not used",
        ));
    }
    check_iss(metadata, callback.iss.as_deref())?;
    let client = oauth_client(identity, metadata, redirect_uri)?;
    let observed = Observed::new(http);
    let response = client
        .exchange_code(AuthorizationCode::new(callback.code.expose().to_owned()))
        .set_pkce_verifier(prepared.verifier)
        .add_extra_param("resource", resource)
        .request_async(&observed)
        .await
        .map_err(|e| token_error(&metadata.token_endpoint, e, observed.reply()))?;
    Ok(grant_from(
        &response,
        identity,
        &metadata.token_endpoint,
        None,
        Some(resource),
    ))
}

/// RFC 9207: when the server advertises `iss` support, the redirect must carry it; when it
/// carries one, it must equal the metadata issuer exactly (no normalization).
pub(crate) fn check_iss(
    metadata: &AuthorizationServerMetadata,
    iss: Option<&str>,
) -> Result<(), OAuthError> {
    let Some(expected) = metadata.issuer.as_deref() else {
        return Ok(());
    };
    match iss {
        None if metadata.iss_parameter_supported => Err(OAuthError::new(
            OAuthErrorKind::IssMismatch,
            format!(
                "the authorization server `{expected}` advertises the `iss` response parameter \
                 but the redirect carries none; the code was not used"
            ),
        )),
        None => Ok(()),
        Some(got) if got == expected => Ok(()),
        Some(got) => Err(OAuthError::new(
            OAuthErrorKind::IssMismatch,
            format!(
                "the redirect's `iss` is `{got}`, expected `{expected}` (RFC 9207); the code was \
                 not used"
            ),
        )),
    }
}

/// Refreshes a grant; keeps the old refresh token and scope when the response omits them.
pub(crate) async fn refresh(
    http: &OAuthHttp,
    identity: &ClientIdentity,
    grant: &Grant,
) -> Result<Grant, OAuthError> {
    let refresh_token = grant.refresh_token.as_ref().ok_or_else(|| {
        OAuthError::new(
            OAuthErrorKind::NotRefreshable,
            "the grant has no refresh token",
        )
    })?;
    let token_url = TokenUrl::new(grant.token_endpoint.clone()).map_err(|e| {
        OAuthError::new(
            OAuthErrorKind::Config,
            format!("invalid token endpoint: {e}"),
        )
    })?;
    let client = apply_auth(
        BasicClient::new(ClientId::new(identity.client_id.clone())).set_token_uri(token_url),
        identity,
    );
    let refresh_token = RefreshToken::new(refresh_token.expose().to_owned());
    let mut request = client.exchange_refresh_token(&refresh_token);
    if let Some(resource) = &grant.resource {
        request = request.add_extra_param("resource", resource.clone());
    }
    let observed = Observed::new(http);
    let response = request
        .request_async(&observed)
        .await
        .map_err(|e| token_error(&grant.token_endpoint, e, observed.reply()))?;
    let mut fresh = grant_from(
        &response,
        identity,
        &grant.token_endpoint,
        Some(grant),
        grant.resource.as_deref(),
    );
    if fresh.refresh_token.is_none() {
        fresh.refresh_token = grant.refresh_token.clone();
    }
    Ok(fresh)
}

fn grant_from(
    response: &oauth2::basic::BasicTokenResponse,
    identity: &ClientIdentity,
    token_endpoint: &str,
    previous: Option<&Grant>,
    resource: Option<&str>,
) -> Grant {
    Grant {
        access_token: Secret::new(response.access_token().secret().clone()),
        client_id: identity.client_id.clone(),
        token_endpoint: token_endpoint.to_owned(),
        refresh_token: response
            .refresh_token()
            .map(|t| Secret::new(t.secret().clone())),
        expires_at: response
            .expires_in()
            .map(|d| unix_now().saturating_add(d.as_secs())),
        scope: response
            .scopes()
            .map(|s| s.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "))
            .filter(|s| !s.is_empty())
            .or_else(|| previous.and_then(|p| p.scope.clone())),
        resource: resource.map(str::to_owned),
    }
}

/// The reply a token request got: status and, for an error, a bounded excerpt of the body.
#[derive(Clone, Debug)]
struct Reply {
    status: http::StatusCode,
    excerpt: String,
}

/// The `oauth2` adapter for one token request: sends through [`OAuthHttp`] and keeps the
/// reply's status, which the crate's error type drops (an OAuth error response keeps only its
/// body, and a non-JSON error body becomes a parse error).
/// (It owns a clone of the adapter, a cheap handle, so that it implements the trait for every
/// lifetime, as `request_async` in a `Send` future needs.)
struct Observed {
    http: OAuthHttp,
    reply: std::sync::Mutex<Option<Reply>>,
}

impl Observed {
    fn new(http: &OAuthHttp) -> Self {
        Observed {
            http: http.clone(),
            reply: std::sync::Mutex::new(None),
        }
    }

    fn reply(&self) -> Option<Reply> {
        self.reply.lock().ok().and_then(|r| r.clone())
    }
}

impl<'c> oauth2::AsyncHttpClient<'c> for Observed {
    type Error = conduit_http::HttpError;
    type Future = std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<oauth2::HttpResponse, Self::Error>> + Send + 'c,
        >,
    >;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let response = oauth2::AsyncHttpClient::call(&self.http, request).await?;
            let status = response.status();
            // A successful body carries tokens: only error bodies are kept, for the message.
            let excerpt = if status.is_success() {
                String::new()
            } else {
                conduit_http::body_excerpt(response.body(), 200)
            };
            if let Ok(mut slot) = self.reply.lock() {
                *slot = Some(Reply { status, excerpt });
            }
            Ok(response)
        })
    }
}

/// A token endpoint failure as an [`OAuthError`] carrying the reply's real status.
fn token_error(
    endpoint: &str,
    error: BasicRequestTokenError<conduit_http::HttpError>,
    reply: Option<Reply>,
) -> OAuthError {
    let status = reply.as_ref().map(|r| r.status);
    let with = |e: OAuthError| match status {
        Some(s) => e.with_status(s),
        None => e,
    };
    let answered = match status {
        Some(s) => format!(" with {s}"),
        None => String::new(),
    };
    match error {
        oauth2::RequestTokenError::ServerResponse(response) => with(OAuthError::new(
            OAuthErrorKind::TokenExchange,
            format!(
                "the token endpoint {endpoint} refused the request{answered}: {}{}",
                response.error().as_ref(),
                response
                    .error_description()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            ),
        )),
        oauth2::RequestTokenError::Request(e) => {
            OAuthError::http(format!("token request to {endpoint}"), e)
        }
        // A non-2xx reply whose body is not an OAuth error (HTML, plain text, empty …).
        oauth2::RequestTokenError::Parse(_, _) | oauth2::RequestTokenError::Other(_)
            if status.is_some_and(|s| !s.is_success()) =>
        {
            let excerpt = reply.map(|r| r.excerpt).unwrap_or_default();
            with(OAuthError::new(
                OAuthErrorKind::TokenExchange,
                format!(
                    "the token endpoint {endpoint} refused the request{answered} and no OAuth error: {}",
                    if excerpt.is_empty() { "(empty body)" } else { excerpt.as_str() }
                ),
            ))
        }
        oauth2::RequestTokenError::Parse(e, _) => with(OAuthError::new(
            OAuthErrorKind::TokenExchange,
            format!("the token endpoint {endpoint} answered an invalid token response: {e}"),
        )),
        oauth2::RequestTokenError::Other(message) => with(OAuthError::new(
            OAuthErrorKind::TokenExchange,
            format!("the token endpoint {endpoint} answered unexpectedly: {message}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use conduit_testkit::fault_server::{FaultServer, Step};

    /// A refresh against a token endpoint that answers `status` with `body`.
    async fn refused_refresh(status: u16, content_type: &str, body: &'static str) -> OAuthError {
        let content_type = content_type.to_owned();
        let server = FaultServer::start(move |_| {
            vec![Step::status(
                status,
                &[("content-type", content_type.as_str())],
                body,
            )]
        })
        .await
        .unwrap();
        let endpoint = server.url().replace("/mcp", "/token");
        let http = OAuthHttp::new(conduit_http::HttpClient::with_defaults().unwrap());
        let identity = ClientIdentity {
            client_id: "client-1".into(),
            client_secret: Some(Secret::new("s3cret-value")),
            auth: TokenEndpointAuth::ClientSecretPost,
            issuer: None,
            redirect_uri: None,
        };
        let grant = Grant {
            access_token: Secret::new("old-access"),
            client_id: "client-1".into(),
            token_endpoint: endpoint,
            refresh_token: Some(Secret::new("r3fresh-value")),
            expires_at: Some(1),
            scope: None,
            resource: None,
        };
        let err = refresh(&http, &identity, &grant).await.unwrap_err();
        let shown = format!("{err} {err:?}");
        for secret in ["s3cret-value", "r3fresh-value", "old-access"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        err
    }

    #[tokio::test]
    async fn a_refused_refresh_keeps_the_real_status() {
        let err = refused_refresh(
            401,
            "application/json",
            r#"{"error":"invalid_client","error_description":"unknown client"}"#,
        )
        .await;
        assert_eq!(err.kind(), OAuthErrorKind::TokenExchange);
        assert_eq!(err.status(), Some(401));
        assert!(err.message().contains("invalid_client"), "{err}");
        assert!(err.message().contains("401"), "{err}");

        let err = refused_refresh(400, "application/json", r#"{"error":"invalid_grant"}"#).await;
        assert_eq!(err.status(), Some(400));
        assert!(err.message().contains("invalid_grant"), "{err}");
    }

    #[tokio::test]
    async fn a_non_json_error_body_is_still_a_token_error_with_its_status() {
        let err = refused_refresh(500, "text/html", "<html>upstream exploded</html>").await;
        assert_eq!(err.kind(), OAuthErrorKind::TokenExchange);
        assert_eq!(err.status(), Some(500));
        assert!(err.message().contains("upstream exploded"), "{err}");

        let err = refused_refresh(503, "text/plain", "").await;
        assert_eq!(err.status(), Some(503));
        assert!(err.message().contains("empty body"), "{err}");
    }
}
