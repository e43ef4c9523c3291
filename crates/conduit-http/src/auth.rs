//! The authorization hook: [`Authorizer`], with [`StaticBearer`] and [`NoAuth`].
//!
//! `conduit-auth` implements [`Authorizer`] for OAuth 2.1; this crate only defines the contract
//! and calls it from [`HttpClient::send`](crate::HttpClient::send).

use std::error::Error as StdError;
use std::fmt;

use http::header::{HeaderValue, InvalidHeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};
use http::{StatusCode, Uri};

pub use futures_util::future::BoxFuture;

use crate::error::BoxError;

/// The hook that authorizes requests sent by [`HttpClient::send`](crate::HttpClient::send).
///
/// The futures are boxed so that the trait is object safe (`Arc<dyn Authorizer>`) without an
/// `async-trait` dependency. Implementations must never log or print the credentials they add.
///
/// # Contract
///
/// 1. Before every attempt, [`authorize`](Authorizer::authorize) is called with the request head
///    and adds `Authorization` (or any other) headers. It is called again before the retry, so it
///    can put a refreshed token in.
/// 2. When the server answers `401 Unauthorized`, or `403 Forbidden` with a `WWW-Authenticate`
///    challenge naming `insufficient_scope`, [`on_unauthorized`](Authorizer::on_unauthorized)
///    is called with the [`Challenge`]. It may refresh or re-acquire credentials (step-up
///    authorization) and answer [`Retry::Resend`]: the request is then authorized and sent
///    once more. A second rejection, or [`Retry::GiveUp`], ends in
///    [`HttpError::Unauthorized`](crate::HttpError::Unauthorized).
pub trait Authorizer: Send + Sync + fmt::Debug {
    /// Adds credentials to the request head before it is sent.
    fn authorize<'a>(
        &'a self,
        request: &'a mut http::request::Parts,
    ) -> BoxFuture<'a, Result<(), AuthHookError>>;

    /// Reacts to a 401 (or a 403 `insufficient_scope`) response; says whether to resend once.
    fn on_unauthorized<'a>(
        &'a self,
        challenge: &'a Challenge,
    ) -> BoxFuture<'a, Result<Retry, AuthHookError>>;
}

/// What the server said when it rejected a request's credentials.
#[derive(Debug, Clone)]
pub struct Challenge {
    status: StatusCode,
    uri: Uri,
    www_authenticate: Vec<HeaderValue>,
    headers: http::HeaderMap,
}

impl Challenge {
    /// A challenge for a response with `status` to a request for `uri`, carrying the raw
    /// `WWW-Authenticate` header values (in order).
    pub fn new(status: StatusCode, uri: Uri, www_authenticate: Vec<HeaderValue>) -> Self {
        Challenge {
            status,
            uri,
            www_authenticate,
            headers: http::HeaderMap::new(),
        }
    }

    /// The same challenge carrying the rejection's response headers (see
    /// [`headers`](Challenge::headers)).
    pub fn with_headers(mut self, headers: http::HeaderMap) -> Self {
        self.headers = headers;
        self
    }

    pub(crate) fn from_response(uri: &Uri, response: &http::response::Parts) -> Self {
        Challenge::new(
            response.status,
            uri.clone(),
            response
                .headers
                .get_all(WWW_AUTHENTICATE)
                .iter()
                .cloned()
                .collect(),
        )
        .with_headers(response.headers.clone())
    }

    /// The response status: 401 or 403.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The URI of the rejected request (the protected resource).
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The raw `WWW-Authenticate` header values, in the order received.
    pub fn www_authenticate(&self) -> &[HeaderValue] {
        &self.www_authenticate
    }

    /// All headers of the rejecting response (e.g. `DPoP-Nonce`, RFC 9449 §9). Empty for a
    /// challenge built with [`Challenge::new`] alone.
    pub fn headers(&self) -> &http::HeaderMap {
        &self.headers
    }

    /// The `WWW-Authenticate` values that are valid UTF-8, as strings.
    pub fn www_authenticate_str(&self) -> impl Iterator<Item = &str> + '_ {
        self.www_authenticate.iter().filter_map(|v| v.to_str().ok())
    }

    /// `true` when a `WWW-Authenticate` value mentions `insufficient_scope` (RFC 6750 §3.1),
    /// the signal for step-up authorization. The check is a case-insensitive substring match,
    /// which is tolerant of the many ways servers quote parameters.
    pub fn is_insufficient_scope(&self) -> bool {
        self.www_authenticate.iter().any(|v| {
            v.as_bytes()
                .windows(b"insufficient_scope".len())
                .any(|w| w.eq_ignore_ascii_case(b"insufficient_scope"))
        })
    }
}

/// The answer of [`Authorizer::on_unauthorized`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Retry {
    /// Credentials changed: authorize and send the request once more.
    Resend,
    /// Nothing to do: fail with [`HttpError::Unauthorized`](crate::HttpError::Unauthorized).
    GiveUp,
    /// The server asked for a fresh proof-of-possession nonce (RFC 9449 §9: a `401` with a
    /// `DPoP-Nonce` header) and the authorizer learnt it: authorize and send once more. This
    /// retry is counted apart from the credentials retry of [`Retry::Resend`], so a request
    /// whose credentials were just renewed can still honour a nonce challenge; at most one
    /// nonce retry per request.
    ResendWithNonce,
}

/// An error from an [`Authorizer`]: a message that must not contain secrets, and an optional
/// cause.
#[derive(Debug)]
pub struct AuthHookError {
    message: String,
    source: Option<BoxError>,
}

impl AuthHookError {
    /// An error with a message (which must not contain secrets).
    pub fn new(message: impl Into<String>) -> Self {
        AuthHookError {
            message: message.into(),
            source: None,
        }
    }

    /// An error with a message and the underlying cause.
    pub fn with_source(
        message: impl Into<String>,
        source: impl Into<Box<dyn StdError + Send + Sync + 'static>>,
    ) -> Self {
        AuthHookError {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for AuthHookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for AuthHookError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// An [`Authorizer`] that sends a fixed bearer token (`Authorization: Bearer <token>`).
///
/// It cannot refresh, so a 401 is final ([`Retry::GiveUp`]). The header value is marked
/// sensitive (HTTP/2 never indexes it), and `Debug` prints `StaticBearer(<redacted>)`.
#[derive(Clone)]
pub struct StaticBearer {
    header: HeaderValue,
}

impl StaticBearer {
    /// A bearer authorizer for `token`; fails when the token contains characters that are not
    /// allowed in a header value (the error does not contain the token).
    pub fn new(token: impl AsRef<str>) -> Result<Self, InvalidHeaderValue> {
        let mut header = HeaderValue::try_from(format!("Bearer {}", token.as_ref()))?;
        header.set_sensitive(true);
        Ok(StaticBearer { header })
    }
}

impl fmt::Debug for StaticBearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaticBearer(<redacted>)")
    }
}

impl Authorizer for StaticBearer {
    fn authorize<'a>(
        &'a self,
        request: &'a mut http::request::Parts,
    ) -> BoxFuture<'a, Result<(), AuthHookError>> {
        request.headers.insert(AUTHORIZATION, self.header.clone());
        Box::pin(std::future::ready(Ok(())))
    }

    fn on_unauthorized<'a>(
        &'a self,
        _challenge: &'a Challenge,
    ) -> BoxFuture<'a, Result<Retry, AuthHookError>> {
        Box::pin(std::future::ready(Ok(Retry::GiveUp)))
    }
}

/// An [`Authorizer`] that adds nothing and never retries.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAuth;

impl Authorizer for NoAuth {
    fn authorize<'a>(
        &'a self,
        _request: &'a mut http::request::Parts,
    ) -> BoxFuture<'a, Result<(), AuthHookError>> {
        Box::pin(std::future::ready(Ok(())))
    }

    fn on_unauthorized<'a>(
        &'a self,
        _challenge: &'a Challenge,
    ) -> BoxFuture<'a, Result<Retry, AuthHookError>> {
        Box::pin(std::future::ready(Ok(Retry::GiveUp)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_bearer_is_redacted() {
        let b = StaticBearer::new("s3cr3t").unwrap();
        assert_eq!(format!("{b:?}"), "StaticBearer(<redacted>)");
        assert!(StaticBearer::new("bad\ntoken").is_err());
    }

    #[test]
    fn insufficient_scope_detection() {
        let c = Challenge::new(
            StatusCode::FORBIDDEN,
            Uri::from_static("https://example.com/mcp"),
            vec![HeaderValue::from_static(
                r#"Bearer error="INSUFFICIENT_SCOPE", scope="files:read""#,
            )],
        );
        assert!(c.is_insufficient_scope());
        let c = Challenge::new(
            StatusCode::UNAUTHORIZED,
            Uri::from_static("https://example.com/mcp"),
            vec![HeaderValue::from_static(r#"Bearer error="invalid_token""#)],
        );
        assert!(!c.is_insufficient_scope());
        assert_eq!(
            c.www_authenticate_str().collect::<Vec<_>>(),
            [r#"Bearer error="invalid_token""#]
        );
    }
}
