//! [`OAuthError`]: everything that can go wrong in the authorization-code flow.

use conduit_http::HttpError;

/// The kind of an [`OAuthError`], stable across releases (the same kinds as the reference SDK,
/// plus the checks it does not make).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OAuthErrorKind {
    /// Protected resource or authorization server metadata could not be found or is invalid.
    Discovery,
    /// The protected resource metadata names another resource than the server we talk to.
    ResourceMismatch,
    /// The authorization server metadata names another issuer than the one it was fetched for.
    IssuerMismatch,
    /// The authorization server does not advertise PKCE with S256.
    PkceUnsupported,
    /// No client id is configured and the server offers neither CIMD nor registration.
    NoRegistrationEndpoint,
    /// The registration endpoint refused the registration or answered without a client id.
    RegistrationRejected,
    /// The `state` returned to the redirect URI is not the one sent.
    StateMismatch,
    /// The `iss` returned to the redirect URI is missing or wrong (RFC 9207).
    IssMismatch,
    /// The user (or the authorization server) denied the authorization request.
    Denied,
    /// The token endpoint refused the code or refresh token, or answered nonsense.
    TokenExchange,
    /// There is no refresh token to refresh with.
    NotRefreshable,
    /// Step-up authorization was attempted too often without success.
    StepUpLimit,
    /// Pre-registered credentials belong to another authorization server than the one in use.
    IssuerChanged,
    /// The redirect did not arrive in time, or the user agent failed.
    UserAgent,
    /// The configuration is invalid.
    Config,
    /// An HTTP request failed.
    Http,
}

/// An error of the MCP authorization flow. The message never contains tokens or secrets.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct OAuthError {
    kind: OAuthErrorKind,
    message: String,
    status: Option<u16>,
    #[source]
    source: Option<HttpError>,
}

impl OAuthError {
    /// An error of `kind` with a message (which must not contain secrets).
    pub fn new(kind: OAuthErrorKind, message: impl Into<String>) -> Self {
        OAuthError {
            kind,
            message: message.into(),
            status: None,
            source: None,
        }
    }

    /// The same error, carrying the HTTP status of the reply it is about.
    pub(crate) fn with_status(mut self, status: http::StatusCode) -> Self {
        self.status = Some(status.as_u16());
        self
    }

    pub(crate) fn http(context: impl Into<String>, source: HttpError) -> Self {
        OAuthError {
            kind: OAuthErrorKind::Http,
            message: format!("{}: {source}", context.into()),
            status: None,
            source: Some(source),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> OAuthErrorKind {
        self.kind
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status of the server's reply, when the error is about one: for
    /// [`OAuthErrorKind::TokenExchange`], the token endpoint's real status (e.g. 401 for
    /// `invalid_client`, 500 for a failing server), also when its body is not JSON.
    pub fn status(&self) -> Option<u16> {
        self.status
    }
}
