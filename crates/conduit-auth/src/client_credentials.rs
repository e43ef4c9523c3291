//! OAuth 2.1 client credentials (RFC 6749 §4.4) with `client_secret_post` (the default, as the
//! reference SDK sends it), `client_secret_basic` and `private_key_jwt` (ES256), token caching
//! with one refresh margin, a single fetch in flight, and invalidate-and-retry on 401.
//!
//! The token endpoint is the one configured, or else derived from the server URL the way
//! DataGrout lays out its gateways — see [`derive_token_endpoint`].

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use conduit_http::{AuthHookError, Authorizer, BoxFuture, Challenge, HttpClient, Retry};
use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, ClientSecret, Scope, TokenResponse as _, TokenUrl};
use url::Url;

use crate::jwt::{SigningKey, CLIENT_ASSERTION_TYPE_JWT_BEARER};
use crate::token::{
    endpoint_label, AccessToken, ClientAuthMethod, Secret, SourceAuthorizer, TokenCache,
    TokenError, TokenSource, DEFAULT_REFRESH_MARGIN, DEFAULT_TOKEN_REQUEST_TIMEOUT,
};

/// Derives a DataGrout token endpoint from a server URL, without the reference SDK's bugs.
///
/// * A URL with a `/servers/<id>` path (any transport: `/mcp`, `/rpc`, `/ws`, or nothing after
///   the id) → `<origin>/servers/<id>/oauth/token`.
/// * Otherwise a final `/mcp`, `/rpc` or `/ws` segment is dropped and `/oauth/token` appended
///   to what remains (`https://h/connect` → `https://h/connect/oauth/token`, as the reference).
/// * `ws`/`wss` map to `http`/`https`; the query and fragment are dropped; a host that starts
///   with `mcp.` is just a host (the reference cut such URLs at the `/mcp` inside `//mcp.`).
pub fn derive_token_endpoint(server_url: &str) -> Result<Url, TokenError> {
    let bad = |reason: &str| TokenError::Config {
        reason: format!("cannot derive a token endpoint from `{server_url}`: {reason}"),
    };
    let mut url = Url::parse(server_url).map_err(|e| bad(&e.to_string()))?;
    let scheme = match url.scheme() {
        "https" | "wss" => "https",
        "http" | "ws" => "http",
        _ => return Err(bad("the scheme is not http(s) or ws(s)")),
    };
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    let segments: Vec<String> = url
        .path_segments()
        .map(|s| s.filter(|s| !s.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();
    let mut kept: Vec<String> = match segments.iter().position(|s| s == "servers") {
        Some(i) if i + 1 < segments.len() => segments[..=i + 1].to_vec(),
        _ => {
            let mut s = segments.clone();
            if s.last()
                .is_some_and(|l| l == "mcp" || l == "rpc" || l == "ws")
            {
                s.pop();
            }
            s
        }
    };
    kept.push("oauth".into());
    kept.push("token".into());
    let rebuilt = format!(
        "{scheme}://{}/{}",
        url.host_str()
            .map(|h| match url.port() {
                Some(p) => format!("{}:{p}", bracket(h)),
                None => bracket(h),
            })
            .unwrap_or_default(),
        kept.join("/")
    );
    url = Url::parse(&rebuilt).map_err(|e| bad(&e.to_string()))?;
    Ok(url)
}

fn bracket(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// How the client proves its identity to the token endpoint.
#[derive(Clone, Debug)]
pub enum ClientAuth {
    /// A client secret, sent as `method` says.
    Secret {
        /// The secret.
        secret: Secret,
        /// `client_secret_post` (default), `client_secret_basic`.
        method: ClientAuthMethod,
    },
    /// `private_key_jwt`: an ES256 assertion signed with `key`, audience `audience` (the
    /// authorization server's issuer; the token endpoint when not given).
    PrivateKeyJwt {
        /// The signing key.
        key: SigningKey,
        /// The assertion's `aud`.
        audience: Option<String>,
    },
}

/// Configuration of a client-credentials grant. Build with [`ClientCredentials::new`] or
/// [`ClientCredentials::private_key_jwt`].
#[derive(Clone, Debug)]
pub struct ClientCredentials {
    client_id: String,
    auth: ClientAuth,
    scope: Option<String>,
    token_endpoint: Option<Url>,
    resource: Option<String>,
    refresh_margin: Duration,
    timeout: Duration,
}

impl ClientCredentials {
    /// Client id and secret, sent in the form body (`client_secret_post`), as the reference.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<Secret>) -> Self {
        Self::with_auth(
            client_id,
            ClientAuth::Secret {
                secret: client_secret.into(),
                method: ClientAuthMethod::SecretPost,
            },
        )
    }

    /// Client id and an ES256 key for `private_key_jwt`.
    pub fn private_key_jwt(client_id: impl Into<String>, key: SigningKey) -> Self {
        Self::with_auth(
            client_id,
            ClientAuth::PrivateKeyJwt {
                key,
                audience: None,
            },
        )
    }

    /// Client id and any [`ClientAuth`].
    pub fn with_auth(client_id: impl Into<String>, auth: ClientAuth) -> Self {
        ClientCredentials {
            client_id: client_id.into(),
            auth,
            scope: None,
            token_endpoint: None,
            resource: None,
            refresh_margin: DEFAULT_REFRESH_MARGIN,
            timeout: DEFAULT_TOKEN_REQUEST_TIMEOUT,
        }
    }

    /// Sends the secret as `client_secret_basic` instead of in the body.
    pub fn basic_auth(mut self) -> Self {
        if let ClientAuth::Secret { method, .. } = &mut self.auth {
            *method = ClientAuthMethod::SecretBasic;
        }
        self
    }

    /// The audience of `private_key_jwt` assertions (the authorization server's issuer).
    pub fn assertion_audience(mut self, audience: impl Into<String>) -> Self {
        if let ClientAuth::PrivateKeyJwt { audience: a, .. } = &mut self.auth {
            *a = Some(audience.into());
        }
        self
    }

    /// The `scope` to request (space-separated).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into()).filter(|s: &String| !s.is_empty());
        self
    }

    /// The token endpoint; when not set it is derived from the first request's URL with
    /// [`derive_token_endpoint`].
    pub fn token_endpoint(mut self, url: &str) -> Result<Self, TokenError> {
        self.token_endpoint = Some(Url::parse(url).map_err(|e| TokenError::Config {
            reason: format!("invalid token endpoint `{url}`: {e}"),
        })?);
        Ok(self)
    }

    /// The RFC 8707 `resource` to request the token for.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    /// How long before expiry a cached token is replaced (default 60 s; at most half the
    /// token's lifetime is ever used).
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// The deadline of one token request (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
}

/// A client-credentials token source and [`Authorizer`]: caches the token, refreshes it
/// before expiry with one fetch in flight, and on a 401 invalidates it and retries once.
#[derive(Debug, Clone)]
pub struct ClientCredentialsProvider {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: ClientCredentials,
    http: HttpClient,
    cache: TokenCache,
    derived_endpoint: OnceLock<Url>,
}

impl ClientCredentialsProvider {
    /// A provider sending its token requests through `http` (unauthenticated, same pool).
    pub fn new(config: ClientCredentials, http: HttpClient) -> Self {
        ClientCredentialsProvider {
            inner: Arc::new(Inner {
                cache: TokenCache::new(config.refresh_margin),
                config,
                http,
                derived_endpoint: OnceLock::new(),
            }),
        }
    }

    /// Fixes the token endpoint by deriving it from the MCP server URL now (instead of from
    /// the first request).
    pub fn for_server(self, server_url: &str) -> Result<Self, TokenError> {
        if self.inner.config.token_endpoint.is_none() {
            let url = derive_token_endpoint(server_url)?;
            let _ = self.inner.derived_endpoint.set(url);
        }
        Ok(self)
    }

    /// The token endpoint in use, if known yet.
    pub fn token_endpoint(&self) -> Option<&Url> {
        self.inner
            .config
            .token_endpoint
            .as_ref()
            .or_else(|| self.inner.derived_endpoint.get())
    }

    /// A valid access token (cached, or fetched now).
    pub async fn access_token(&self) -> Result<AccessToken, TokenError> {
        let endpoint = self
            .token_endpoint()
            .cloned()
            .ok_or_else(|| TokenError::Config {
                reason: "no token endpoint: configure one or a server URL to derive it from".into(),
            })?;
        self.inner
            .cache
            .get_or_fetch(|| fetch(&self.inner.config, &self.inner.http, endpoint))
            .await
    }

    /// Forgets the cached token.
    pub fn invalidate(&self) {
        self.inner.cache.invalidate();
    }

    fn learn_endpoint(&self, uri: &http::Uri) {
        if self.token_endpoint().is_none() {
            if let Ok(url) = derive_token_endpoint(&uri.to_string()) {
                let _ = self.inner.derived_endpoint.set(url);
            }
        }
    }
}

/// One client-credentials token request through the `oauth2` crate.
async fn fetch(
    config: &ClientCredentials,
    http: &HttpClient,
    endpoint: Url,
) -> Result<AccessToken, TokenError> {
    let label = endpoint_label(&endpoint);
    let mut client = BasicClient::new(ClientId::new(config.client_id.clone()))
        .set_token_uri(TokenUrl::from_url(endpoint.clone()));
    let mut extra: Vec<(String, String)> = Vec::new();
    let auth_type = match &config.auth {
        ClientAuth::Secret { secret, method } => {
            client = client
                .clone()
                .set_client_secret(ClientSecret::new(secret.expose().to_owned()))
                .set_auth_type(match method {
                    ClientAuthMethod::SecretBasic => AuthType::BasicAuth,
                    _ => AuthType::RequestBody,
                });
            method.clone()
        }
        ClientAuth::PrivateKeyJwt { key, audience } => {
            let aud = audience.clone().unwrap_or_else(|| endpoint.to_string());
            extra.push((
                "client_assertion_type".into(),
                CLIENT_ASSERTION_TYPE_JWT_BEARER.into(),
            ));
            extra.push((
                "client_assertion".into(),
                key.client_assertion(&config.client_id, &aud)?,
            ));
            ClientAuthMethod::None
        }
    };
    let _ = auth_type;
    let mut request = client.exchange_client_credentials();
    if let Some(scope) = &config.scope {
        for s in scope.split_whitespace() {
            request = request.add_scope(Scope::new(s.to_owned()));
        }
    }
    if let Some(resource) = &config.resource {
        request = request.add_extra_param("resource", resource.clone());
    }
    for (k, v) in extra {
        request = request.add_extra_param(k, v);
    }
    let timeout = config.timeout;
    let adapter = crate::token::OAuth2Http {
        http: http.clone(),
        headers: Vec::new(),
        timeout,
    };
    let response = request
        .request_async(&adapter)
        .await
        .map_err(|e| map_oauth2_error(&label, e))?;
    Ok(AccessToken {
        token: Secret::new(response.access_token().secret().clone()),
        token_type: response.token_type().as_ref().to_owned(),
        // The reference defaults a missing lifetime to one hour.
        expires_in: Some(response.expires_in().unwrap_or(Duration::from_secs(3600))),
        scope: response
            .scopes()
            .map(|s| s.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")),
        refresh_token: response
            .refresh_token()
            .map(|r| Secret::new(r.secret().clone())),
    })
}

pub(crate) fn map_oauth2_error(
    endpoint: &str,
    error: oauth2::RequestTokenError<
        crate::token::AdapterError,
        oauth2::StandardErrorResponse<oauth2::basic::BasicErrorResponseType>,
    >,
) -> TokenError {
    use oauth2::RequestTokenError as E;
    match error {
        // Every reply other than 200, with its real status (see `token::oauth2_send`).
        E::Request(inner) => inner.0,
        // Not reached through our adapter, which reports every non-200 reply itself; the
        // crate only builds this from a non-200 reply, whose RFC 6749 §5.2 default is 400.
        E::ServerResponse(response) => TokenError::Endpoint {
            endpoint: endpoint.to_owned(),
            status: http::StatusCode::BAD_REQUEST,
            error: Some(response.error().as_ref().to_owned()),
            error_description: response.error_description().cloned(),
            body_excerpt: String::new(),
        },
        E::Parse(e, body) => TokenError::InvalidResponse {
            endpoint: endpoint.to_owned(),
            reason: format!("{e} (body: {})", conduit_http::body_excerpt(&body, 200)),
        },
        E::Other(message) => TokenError::InvalidResponse {
            endpoint: endpoint.to_owned(),
            reason: message,
        },
    }
}

impl TokenSource for ClientCredentialsProvider {
    fn token(&self) -> BoxFuture<'_, Result<AccessToken, TokenError>> {
        Box::pin(self.access_token())
    }
    fn invalidate(&self) {
        ClientCredentialsProvider::invalidate(self);
    }
}

impl Authorizer for ClientCredentialsProvider {
    fn authorize<'a>(
        &'a self,
        request: &'a mut http::request::Parts,
    ) -> BoxFuture<'a, Result<(), AuthHookError>> {
        self.learn_endpoint(&request.uri);
        Box::pin(async move {
            SourceAuthorizer(Arc::new(self.clone()))
                .authorize(request)
                .await
        })
    }

    fn on_unauthorized<'a>(
        &'a self,
        challenge: &'a Challenge,
    ) -> BoxFuture<'a, Result<Retry, AuthHookError>> {
        Box::pin(async move {
            SourceAuthorizer(Arc::new(self.clone()))
                .on_unauthorized(challenge)
                .await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_derivation_table() {
        let cases = [
            (
                "https://gw.datagrout.ai/servers/u1/mcp",
                "https://gw.datagrout.ai/servers/u1/oauth/token",
            ),
            (
                "https://gw.datagrout.ai/servers/u1/rpc",
                "https://gw.datagrout.ai/servers/u1/oauth/token",
            ),
            (
                "wss://gw.datagrout.ai/servers/u1/ws",
                "https://gw.datagrout.ai/servers/u1/oauth/token",
            ),
            (
                "ws://127.0.0.1:8080/servers/u1/ws",
                "http://127.0.0.1:8080/servers/u1/oauth/token",
            ),
            (
                "https://mcp.datagrout.ai/servers/u1/mcp",
                "https://mcp.datagrout.ai/servers/u1/oauth/token",
            ),
            (
                "https://mcp.example.com/mcp",
                "https://mcp.example.com/oauth/token",
            ),
            ("https://h/connect", "https://h/connect/oauth/token"),
            ("https://h/connect/", "https://h/connect/oauth/token"),
            (
                "https://h/servers/u1/mcp?x=1#f",
                "https://h/servers/u1/oauth/token",
            ),
            ("https://h/", "https://h/oauth/token"),
            (
                "http://[::1]:9/servers/abc/mcp",
                "http://[::1]:9/servers/abc/oauth/token",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(
                derive_token_endpoint(input).unwrap().as_str(),
                expected,
                "{input}"
            );
        }
        assert!(derive_token_endpoint("ftp://h/mcp").is_err());
        assert!(derive_token_endpoint("not a url").is_err());
    }

    #[test]
    fn debug_hides_the_secret() {
        let c = ClientCredentials::new("id", "sup3rs3cret").scope("a b");
        assert!(!format!("{c:?}").contains("sup3rs3cret"));
    }
}
