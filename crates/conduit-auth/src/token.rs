//! Secret token types, the typed error of token requests, and the plumbing every credential
//! flow shares: a form POST to a token endpoint over [`HttpClient::send_unauthenticated`] with
//! a deadline, and the async adapter that lets the `oauth2` crate send through our HTTPS stack.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use conduit_http::{body_excerpt, HttpClient, HttpError};
use http::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{Request, StatusCode};
use serde_json::Value;
use url::Url;

/// How long a token request may take, end to end, unless configured otherwise.
pub const DEFAULT_TOKEN_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The most bytes of a token endpoint's reply that are read.
const TOKEN_RESPONSE_LIMIT: usize = 256 * 1024;

/// A secret string: an access or refresh token, a client secret, an assertion.
///
/// `Debug` and `Display` print `<redacted>`; the value is only reachable through
/// [`expose`](Secret::expose), which makes every use greppable.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

/// An access token and how to present it.
#[derive(Clone, Debug)]
pub struct AccessToken {
    /// The token (secret).
    pub token: Secret,
    /// `token_type` from the token response (`Bearer`, `DPoP`, …).
    pub token_type: String,
    /// Lifetime announced by the server (`expires_in`), if any.
    pub expires_in: Option<Duration>,
    /// Granted scope, when the server said.
    pub scope: Option<String>,
    /// Refresh token, when the server issued one.
    pub refresh_token: Option<Secret>,
}

/// Why a token request failed. Never contains a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The configuration cannot work (a bad URL, a missing key, …).
    #[error("invalid credential configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// The token request could not be sent or its reply not read.
    #[error("token request to {endpoint} failed")]
    Http {
        /// The token endpoint (origin and path).
        endpoint: String,
        /// The transport error.
        #[source]
        source: HttpError,
    },
    /// The token request did not finish within its deadline.
    #[error("token request to {endpoint} timed out after {after:?}")]
    Timeout {
        /// The token endpoint.
        endpoint: String,
        /// The deadline that elapsed.
        after: Duration,
    },
    /// The endpoint answered with an OAuth error (RFC 6749 §5.2) or a non-2xx status.
    #[error("token endpoint {endpoint} answered {status}{}", error.as_deref().map(|e| format!(": {e}")).unwrap_or_default())]
    Endpoint {
        /// The token endpoint.
        endpoint: String,
        /// The HTTP status.
        status: StatusCode,
        /// The OAuth `error` code, when the body carried one.
        error: Option<String>,
        /// The OAuth `error_description`, when the body carried one.
        error_description: Option<String>,
        /// A bounded excerpt of the body (may be shown to a developer, not logged by us).
        body_excerpt: String,
    },
    /// A 2xx reply that is not a usable token response.
    #[error("token endpoint {endpoint} sent an invalid response: {reason}")]
    InvalidResponse {
        /// The token endpoint.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Signing a JWT (client assertion, DPoP proof) failed.
    #[error("could not sign a JWT: {reason}")]
    Signing {
        /// Why.
        reason: String,
    },
}

/// Client authentication at the token endpoint (RFC 6749 §2.3, RFC 7523 §2.2).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ClientAuthMethod {
    /// `client_secret_post`: `client_id` and `client_secret` in the form body. The reference
    /// SDK always does this, so it is the default.
    #[default]
    SecretPost,
    /// `client_secret_basic`: `Authorization: Basic` with the form-urlencoded id and secret.
    SecretBasic,
    /// `none`: only `client_id` in the body (public clients).
    None,
}

/// The endpoint name used in errors: origin and path, never the query.
pub(crate) fn endpoint_label(url: &Url) -> String {
    format!("{}{}", url.origin().ascii_serialization(), url.path())
}

/// A raw token-endpoint reply.
pub(crate) struct FormReply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// POSTs `form` (in the given order) to `url`, with an optional `Authorization` value and
/// extra headers, bounded by `deadline`.
pub(crate) async fn post_form(
    http: &HttpClient,
    url: &Url,
    form: &[(&str, &str)],
    authorization: Option<HeaderValue>,
    extra_headers: &[(&'static str, HeaderValue)],
    deadline: Duration,
) -> Result<FormReply, TokenError> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form.iter().copied())
        .finish();
    let mut builder = Request::post(url.as_str())
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ACCEPT, "application/json");
    if let Some(mut value) = authorization {
        value.set_sensitive(true);
        builder = builder.header(AUTHORIZATION, value);
    }
    for (name, value) in extra_headers {
        builder = builder.header(*name, value.clone());
    }
    let request = builder
        .body(Bytes::from(body))
        .map_err(|e| TokenError::Config {
            reason: format!("cannot build the token request: {e}"),
        })?;
    send_bounded(http, url, request, deadline).await
}

/// Sends `request` unauthenticated and reads the reply, all within `deadline`.
pub(crate) async fn send_bounded(
    http: &HttpClient,
    url: &Url,
    request: Request<Bytes>,
    deadline: Duration,
) -> Result<FormReply, TokenError> {
    let endpoint = endpoint_label(url);
    let exchange = async {
        let response = http.send_unauthenticated(request).await?;
        let (head, body) = response.into_parts();
        let body = body.collect_limited(TOKEN_RESPONSE_LIMIT).await?;
        Ok::<_, HttpError>(FormReply {
            status: head.status,
            headers: head.headers,
            body,
        })
    };
    match tokio::time::timeout(deadline, exchange).await {
        Ok(Ok(reply)) => Ok(reply),
        Ok(Err(source)) => Err(TokenError::Http { endpoint, source }),
        Err(_) => Err(TokenError::Timeout {
            endpoint,
            after: deadline,
        }),
    }
}

/// The `Basic` credentials of RFC 6749 §2.3.1: id and secret each form-urlencoded first.
pub(crate) fn basic_authorization(
    client_id: &str,
    secret: &str,
) -> Result<HeaderValue, TokenError> {
    use base64::Engine as _;
    let id: String = url::form_urlencoded::byte_serialize(client_id.as_bytes()).collect();
    let secret: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    HeaderValue::try_from(format!("Basic {encoded}")).map_err(|_| TokenError::Config {
        reason: "the client credentials cannot be sent in an HTTP header".into(),
    })
}

/// Turns a non-2xx reply into [`TokenError::Endpoint`].
pub(crate) fn endpoint_error(url: &Url, reply: &FormReply) -> TokenError {
    let json: Option<Value> = serde_json::from_slice(&reply.body).ok();
    let field = |name: &str| {
        json.as_ref()
            .and_then(|v| v.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    TokenError::Endpoint {
        endpoint: endpoint_label(url),
        status: reply.status,
        error: field("error"),
        error_description: field("error_description"),
        body_excerpt: body_excerpt(&reply.body, 200),
    }
}

/// Parses a standard 2xx token response (RFC 6749 §5.1). `access_token` is required;
/// `token_type` defaults to `Bearer`.
pub(crate) fn parse_token_response(
    url: &Url,
    reply: &FormReply,
) -> Result<AccessToken, TokenError> {
    if !reply.status.is_success() {
        return Err(endpoint_error(url, reply));
    }
    let invalid = |reason: &str| TokenError::InvalidResponse {
        endpoint: endpoint_label(url),
        reason: reason.to_owned(),
    };
    let json: Value =
        serde_json::from_slice(&reply.body).map_err(|_| invalid("the body is not JSON"))?;
    let object = json
        .as_object()
        .ok_or_else(|| invalid("the body is not a JSON object"))?;
    let token = object
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| invalid("`access_token` is missing or not a string"))?;
    let expires_in = match object.get("expires_in") {
        None | Some(Value::Null) => None,
        Some(v) => Some(Duration::from_secs(
            v.as_u64()
                .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .ok_or_else(|| invalid("`expires_in` is not a non-negative number"))?,
        )),
    };
    Ok(AccessToken {
        token: Secret::new(token),
        token_type: object
            .get("token_type")
            .and_then(Value::as_str)
            .unwrap_or("Bearer")
            .to_owned(),
        expires_in,
        scope: object
            .get("scope")
            .and_then(Value::as_str)
            .map(str::to_owned),
        refresh_token: object
            .get("refresh_token")
            .and_then(Value::as_str)
            .map(Secret::new),
    })
}

/// The error of the `oauth2` crate's HTTP adapter.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AdapterError(#[source] pub TokenError);

/// The async HTTP client adapter of the `oauth2` crate over [`HttpClient`].
#[derive(Debug, Clone)]
pub(crate) struct OAuth2Http {
    pub http: HttpClient,
    pub headers: Vec<(&'static str, HeaderValue)>,
    pub timeout: Duration,
}

impl<'c> oauth2::AsyncHttpClient<'c> for OAuth2Http {
    type Error = AdapterError;
    type Future = conduit_http::BoxFuture<'c, Result<oauth2::HttpResponse, AdapterError>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(oauth2_send(
            &self.http,
            request,
            &self.headers,
            self.timeout,
        ))
    }
}

/// Sends one `oauth2` request through `http` (unauthenticated, bounded by `deadline`), adding
/// `extra` headers. This is the async HTTP client adapter the `oauth2` crate calls.
///
/// A reply other than `200 OK` (RFC 6749 §5.1) is returned as [`TokenError::Endpoint`] here,
/// with its real status, the OAuth `error` / `error_description` when the body carries them,
/// and a body excerpt: the `oauth2` crate's own error type keeps none of the status, and turns
/// a non-JSON error body into a parse error.
pub(crate) async fn oauth2_send(
    http: &HttpClient,
    request: oauth2::HttpRequest,
    extra: &[(&'static str, HeaderValue)],
    deadline: Duration,
) -> Result<oauth2::HttpResponse, AdapterError> {
    let (mut parts, body) = request.into_parts();
    let url = Url::parse(&parts.uri.to_string()).map_err(|e| {
        AdapterError(TokenError::Config {
            reason: format!("invalid token endpoint URL: {e}"),
        })
    })?;
    for (name, value) in extra {
        parts.headers.insert(*name, value.clone());
    }
    if let Some(value) = parts.headers.get_mut(AUTHORIZATION) {
        value.set_sensitive(true);
    }
    let request = Request::from_parts(parts, Bytes::from(body));
    let reply = send_bounded(http, &url, request, deadline)
        .await
        .map_err(AdapterError)?;
    if reply.status != StatusCode::OK {
        return Err(AdapterError(endpoint_error(&url, &reply)));
    }
    let mut response = http::Response::new(reply.body.to_vec());
    *response.status_mut() = reply.status;
    *response.headers_mut() = reply.headers;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert_eq!(s.to_string(), "<redacted>");
        assert_eq!(s.expose(), "hunter2");
        let t = AccessToken {
            token: s,
            token_type: "Bearer".into(),
            expires_in: None,
            scope: None,
            refresh_token: Some(Secret::new("r3fresh")),
        };
        let dbg = format!("{t:?}");
        assert!(
            !dbg.contains("hunter2") && !dbg.contains("r3fresh"),
            "{dbg}"
        );
    }

    #[test]
    fn basic_credentials_are_form_encoded_first() {
        let v = basic_authorization("a b", "p:w").unwrap();
        use base64::Engine as _;
        let raw = v.to_str().unwrap().strip_prefix("Basic ").unwrap();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(raw)
            .unwrap();
        assert_eq!(decoded, b"a+b:p%3Aw");
    }
}

/// The default refresh margin: a cached token is replaced this long before it expires.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// Something that yields access tokens on demand: client credentials, a delegation, a grant,
/// a fixed token, or your own source.
pub trait TokenSource: Send + Sync + fmt::Debug {
    /// A currently valid access token (cached or freshly obtained).
    fn token(&self) -> conduit_http::BoxFuture<'_, Result<AccessToken, TokenError>>;
    /// Forgets the cached token (the server rejected it).
    fn invalidate(&self);
}

/// A fixed token as a [`TokenSource`] (it never changes; `invalidate` does nothing).
#[derive(Clone, Debug)]
pub struct StaticToken(AccessToken);

impl StaticToken {
    /// A static bearer token.
    pub fn new(token: impl Into<Secret>) -> Self {
        StaticToken(AccessToken {
            token: token.into(),
            token_type: "Bearer".into(),
            expires_in: None,
            scope: None,
            refresh_token: None,
        })
    }
}

impl TokenSource for StaticToken {
    fn token(&self) -> conduit_http::BoxFuture<'_, Result<AccessToken, TokenError>> {
        Box::pin(std::future::ready(Ok(self.0.clone())))
    }
    fn invalidate(&self) {}
}

/// A token cache with one refresh margin and a single fetch in flight.
///
/// A token with lifetime `L` is reused until `L − min(margin, L/2)` after it was requested, so
/// a short-lived token is still reused for half its life (the reference SDK stacks two 60 s
/// margins and refetches any token with `expires_in ≤ 120` on every request). Concurrent
/// callers that find no fresh token queue on one async gate; the first fetches, the others
/// find its token when they get the gate.
#[derive(Debug)]
pub(crate) struct TokenCache {
    state: std::sync::Mutex<Option<Cached>>,
    gate: tokio::sync::Mutex<()>,
    margin: Duration,
}

#[derive(Debug, Clone)]
struct Cached {
    token: AccessToken,
    fresh_until: Option<tokio::time::Instant>,
}

impl TokenCache {
    pub(crate) fn new(margin: Duration) -> Self {
        TokenCache {
            state: std::sync::Mutex::new(None),
            gate: tokio::sync::Mutex::new(()),
            margin,
        }
    }

    fn fresh(&self) -> Option<AccessToken> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.as_ref().and_then(|c| match c.fresh_until {
            Some(until) if tokio::time::Instant::now() >= until => None,
            _ => Some(c.token.clone()),
        })
    }

    pub(crate) fn invalidate(&self) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// The cached token, or the one `fetch` obtains (exactly one fetch runs at a time).
    pub(crate) async fn get_or_fetch<F, Fut>(&self, fetch: F) -> Result<AccessToken, TokenError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<AccessToken, TokenError>>,
    {
        if let Some(token) = self.fresh() {
            return Ok(token);
        }
        let _gate = self.gate.lock().await;
        if let Some(token) = self.fresh() {
            return Ok(token);
        }
        let requested_at = tokio::time::Instant::now();
        let token = fetch().await?;
        let fresh_until = token.expires_in.map(|life| {
            let margin = self.margin.min(life / 2);
            requested_at + (life - margin)
        });
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = Some(Cached {
            token: token.clone(),
            fresh_until,
        });
        Ok(token)
    }
}

/// The `Authorization` value for `token`: `Bearer <token>` (sensitive).
pub(crate) fn bearer_header(
    token: &AccessToken,
) -> Result<HeaderValue, conduit_http::AuthHookError> {
    let mut value =
        HeaderValue::try_from(format!("Bearer {}", token.token.expose())).map_err(|_| {
            conduit_http::AuthHookError::new("the access token cannot be sent in an HTTP header")
        })?;
    value.set_sensitive(true);
    Ok(value)
}

/// An [`Authorizer`](conduit_http::Authorizer) over any [`TokenSource`]: sends its token as a
/// bearer, and on a 401 invalidates it and retries once with a new one.
#[derive(Debug, Clone)]
pub struct SourceAuthorizer<S: ?Sized>(pub std::sync::Arc<S>);

impl<S: TokenSource + ?Sized> conduit_http::Authorizer for SourceAuthorizer<S> {
    fn authorize<'a>(
        &'a self,
        request: &'a mut http::request::Parts,
    ) -> conduit_http::BoxFuture<'a, Result<(), conduit_http::AuthHookError>> {
        Box::pin(async move {
            let token = self.0.token().await.map_err(|e| {
                conduit_http::AuthHookError::with_source("could not obtain an access token", e)
            })?;
            request
                .headers
                .insert(AUTHORIZATION, bearer_header(&token)?);
            Ok(())
        })
    }

    fn on_unauthorized<'a>(
        &'a self,
        challenge: &'a conduit_http::Challenge,
    ) -> conduit_http::BoxFuture<'a, Result<conduit_http::Retry, conduit_http::AuthHookError>> {
        Box::pin(async move {
            if challenge.status() == StatusCode::UNAUTHORIZED {
                self.0.invalidate();
                Ok(conduit_http::Retry::Resend)
            } else {
                Ok(conduit_http::Retry::GiveUp)
            }
        })
    }
}
