//! [`HttpError`], the one error type of this crate, and helpers to build precise errors.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::time::Duration;

use http::StatusCode;

use crate::auth::AuthHookError;

/// A boxed, thread-safe error used as the source of some [`HttpError`] variants.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Which phase of an exchange a [`HttpError::Timeout`] happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimeoutPhase {
    /// Establishing the TCP connection ([`HttpConfigBuilder::connect_timeout`](crate::HttpConfigBuilder::connect_timeout)).
    Connect,
    /// Waiting for the response head, from dispatch until the status line and headers arrived
    /// ([`HttpConfigBuilder::response_header_timeout`](crate::HttpConfigBuilder::response_header_timeout)).
    ResponseHeaders,
    /// Waiting for the next byte of a response body
    /// ([`HttpConfigBuilder::read_idle_timeout`](crate::HttpConfigBuilder::read_idle_timeout)).
    BodyRead,
}

impl fmt::Display for TimeoutPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutPhase::Connect => "connecting to",
            TimeoutPhase::ResponseHeaders => "waiting for response headers from",
            TimeoutPhase::BodyRead => "waiting for response body data from",
        })
    }
}

/// Everything that can go wrong while sending a request or reading a response.
///
/// `host` fields are `host:port` (never user info, a path or a query), so the [`Display`](fmt::Display)
/// form names where a failure happened without leaking credentials. No variant ever contains
/// an `Authorization` header or a token. Causes are available through
/// [`std::error::Error::source`], and are not repeated in the `Display` text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The configuration given to [`HttpConfigBuilder`](crate::HttpConfigBuilder) or
    /// [`HttpClient::new`](crate::HttpClient::new) is invalid.
    #[error("invalid HTTP configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },

    /// The request URI cannot be sent: no scheme or host, an unsupported scheme, or `http` while
    /// the client is HTTPS-only.
    #[error("invalid request URI `{uri}`: {reason}")]
    InvalidUri {
        /// The URI without user info and query.
        uri: String,
        /// Why it was rejected.
        reason: String,
    },

    /// The TCP connection (or name resolution) failed.
    #[error("failed to connect to {host}")]
    Connect {
        /// `host:port` of the peer.
        host: String,
        /// The underlying cause (e.g. connection refused, DNS failure).
        #[source]
        source: BoxError,
    },

    /// The TLS handshake or TLS session failed; see [`HttpError::is_certificate_error`].
    #[error("TLS failure with {host}")]
    Tls {
        /// `host:port` of the peer.
        host: String,
        /// The rustls error.
        #[source]
        source: rustls::Error,
    },

    /// A timeout elapsed.
    #[error("timed out after {after:?} {phase} {host}")]
    Timeout {
        /// Which phase timed out.
        phase: TimeoutPhase,
        /// `host:port` of the peer.
        host: String,
        /// The configured timeout that elapsed.
        after: Duration,
    },

    /// A buffered response body exceeded its size limit.
    #[error("response body from {host} exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
        /// `host:port` of the peer.
        host: String,
    },

    /// The server answered 401 (or 403 with `insufficient_scope`) and the
    /// [`Authorizer`](crate::Authorizer) could not make it accept the request: either it declined
    /// to retry, or the single retry was rejected too.
    ///
    /// `Display` deliberately omits the body excerpt (a server might echo credentials in it).
    #[error("{host} rejected the request's credentials with {status}")]
    Unauthorized {
        /// `host:port` of the peer.
        host: String,
        /// The final status (401 or 403).
        status: StatusCode,
        /// The raw `WWW-Authenticate` header values of the final response (lossy UTF-8).
        www_authenticate: Vec<String>,
        /// A bounded excerpt of the final response body (see [`body_excerpt`]).
        body_excerpt: String,
    },

    /// The [`Authorizer`](crate::Authorizer) hook failed.
    #[error("authorization for {host} failed")]
    Auth {
        /// `host:port` of the peer.
        host: String,
        /// The hook's error.
        #[source]
        source: AuthHookError,
    },

    /// An I/O error after the connection was established (reset, closed early, …).
    #[error("I/O error talking to {host}")]
    Io {
        /// `host:port` of the peer.
        host: String,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },

    /// Anything else, e.g. an HTTP protocol violation by the peer.
    #[error("HTTP error talking to {host}")]
    Other {
        /// `host:port` of the peer (may be empty when unknown).
        host: String,
        /// The underlying cause.
        #[source]
        source: BoxError,
    },
}

impl HttpError {
    /// `true` for every [`HttpError::Timeout`], whatever the phase.
    pub fn is_timeout(&self) -> bool {
        matches!(self, HttpError::Timeout { .. })
    }

    /// `true` when no connection could be established: [`HttpError::Connect`] or a
    /// [`TimeoutPhase::Connect`] timeout. (TLS failures are reported by [`HttpError::is_tls`].)
    pub fn is_connect(&self) -> bool {
        matches!(
            self,
            HttpError::Connect { .. }
                | HttpError::Timeout {
                    phase: TimeoutPhase::Connect,
                    ..
                }
        )
    }

    /// `true` for [`HttpError::Tls`].
    pub fn is_tls(&self) -> bool {
        matches!(self, HttpError::Tls { .. })
    }

    /// `true` when a certificate was the problem: the server's certificate was rejected by us
    /// (unknown issuer, expired, wrong name, …), or the peer rejected ours or required one that
    /// we did not present (mTLS).
    pub fn is_certificate_error(&self) -> bool {
        match self {
            HttpError::Tls { source, .. } => is_certificate_rustls_error(source),
            _ => false,
        }
    }

    /// `true` for [`HttpError::Unauthorized`].
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, HttpError::Unauthorized { .. })
    }

    /// The rustls error of a [`HttpError::Tls`].
    pub fn rustls_error(&self) -> Option<&rustls::Error> {
        match self {
            HttpError::Tls { source, .. } => Some(source),
            _ => None,
        }
    }

    /// The HTTP status carried by the error ([`HttpError::Unauthorized`] only).
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            HttpError::Unauthorized { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The `host:port` the error concerns, when there is one.
    pub fn host(&self) -> Option<&str> {
        match self {
            HttpError::Connect { host, .. }
            | HttpError::Tls { host, .. }
            | HttpError::Timeout { host, .. }
            | HttpError::TooLarge { host, .. }
            | HttpError::Unauthorized { host, .. }
            | HttpError::Auth { host, .. }
            | HttpError::Io { host, .. }
            | HttpError::Other { host, .. } => Some(host.as_str()).filter(|h| !h.is_empty()),
            HttpError::Config { .. } | HttpError::InvalidUri { .. } => None,
        }
    }

    pub(crate) fn config(reason: impl Into<String>) -> Self {
        HttpError::Config {
            reason: reason.into(),
        }
    }
}

fn is_certificate_rustls_error(err: &rustls::Error) -> bool {
    use rustls::AlertDescription as A;
    match err {
        rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented => true,
        rustls::Error::AlertReceived(alert) => matches!(
            alert,
            A::BadCertificate
                | A::UnsupportedCertificate
                | A::CertificateRevoked
                | A::CertificateExpired
                | A::CertificateUnknown
                | A::UnknownCA
                | A::CertificateRequired
                | A::BadCertificateStatusResponse
        ),
        _ => false,
    }
}

/// A UTF-8-lossy excerpt of at most `max` bytes of `bytes`, for error messages and logs.
///
/// The excerpt is cut on a character boundary, control characters other than `\n` and `\t`
/// are replaced by `�`, and `…` is appended when something was cut off (the ellipsis is not
/// counted in `max`).
///
/// ```
/// assert_eq!(conduit_http::body_excerpt(b"hello world", 5), "hello…");
/// assert_eq!(conduit_http::body_excerpt(b"ok", 5), "ok");
/// ```
pub fn body_excerpt(bytes: &[u8], max: usize) -> String {
    let cut = bytes.len() > max;
    let mut end = bytes.len().min(max);
    if cut {
        // Do not split a multi-byte UTF-8 character: back off over continuation bytes.
        let mut backed = 0;
        while end > 0 && backed < 3 && bytes.get(end).is_some_and(|b| b & 0xC0 == 0x80) {
            end -= 1;
            backed += 1;
        }
    }
    let text = String::from_utf8_lossy(&bytes[..end]);
    let mut out: String = text
        .chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .collect();
    if cut {
        out.push('…');
    }
    out
}

/// Finds the first error of type `T` in the source chain of `err`, looking inside
/// [`io::Error`]s (whose `source()` skips the error they wrap).
pub(crate) fn find_in_chain<'a, T: StdError + 'static>(
    err: &'a (dyn StdError + 'static),
) -> Option<&'a T> {
    let mut current = Some(err);
    let mut depth = 0;
    while let Some(e) = current {
        depth += 1;
        if depth > 32 {
            return None;
        }
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        if let Some(io_err) = e.downcast_ref::<io::Error>() {
            if let Some(inner) = io_err.get_ref() {
                if let Some(found) = find_in_chain::<T>(inner) {
                    return Some(found);
                }
            }
        }
        current = e.source();
    }
    None
}

/// Finds the rustls error behind `err`.
///
/// Some layers keep only the text of an I/O error (the `h2` crate stores `ErrorKind` and the
/// message so that its errors are `Clone`), so when no `rustls::Error` value is in the chain, an
/// `InvalidData` I/O error whose message is exactly the `Display` of a TLS alert received from
/// the peer is recognised too. The comparison uses rustls's own `Display`, so it cannot drift.
pub(crate) fn find_rustls_error(err: &(dyn StdError + 'static)) -> Option<rustls::Error> {
    if let Some(tls) = find_in_chain::<rustls::Error>(err) {
        return Some(tls.clone());
    }
    let mut current = Some(err);
    let mut depth = 0;
    while let Some(e) = current {
        depth += 1;
        if depth > 32 {
            break;
        }
        if let Some(io_err) = e.downcast_ref::<io::Error>() {
            if io_err.kind() == io::ErrorKind::InvalidData {
                if let Some(inner) = io_err.get_ref() {
                    if let Some(found) = alert_from_message(&inner.to_string()) {
                        return Some(found);
                    }
                }
            }
        }
        current = e.source();
    }
    None
}

fn alert_from_message(message: &str) -> Option<rustls::Error> {
    use rustls::AlertDescription as A;
    const ALERTS: &[A] = &[
        A::BadCertificate,
        A::UnsupportedCertificate,
        A::CertificateRevoked,
        A::CertificateExpired,
        A::CertificateUnknown,
        A::UnknownCA,
        A::CertificateRequired,
        A::BadCertificateStatusResponse,
        A::AccessDenied,
        A::HandshakeFailure,
        A::ProtocolVersion,
        A::InsufficientSecurity,
        A::NoApplicationProtocol,
        A::UnrecognisedName,
        A::DecryptError,
        A::IllegalParameter,
        A::InternalError,
    ];
    if !message.contains("alert") {
        return None;
    }
    ALERTS
        .iter()
        .map(|alert| rustls::Error::AlertReceived(*alert))
        .find(|candidate| candidate.to_string() == message)
}

/// The first `io::ErrorKind` found in the chain.
pub(crate) fn io_kind_in_chain(err: &(dyn StdError + 'static)) -> Option<io::ErrorKind> {
    find_in_chain::<io::Error>(err).map(io::Error::kind)
}

/// Maps an error from hyper (while exchanging a message or reading a body, i.e. after the
/// connection exists) to an [`HttpError`].
pub(crate) fn from_hyper(host: &str, err: hyper::Error) -> HttpError {
    if let Some(tls) = find_rustls_error(&err) {
        return HttpError::Tls {
            host: host.to_owned(),
            source: tls,
        };
    }
    if err.is_parse() || err.is_user() {
        return HttpError::Other {
            host: host.to_owned(),
            source: Box::new(err),
        };
    }
    let kind = io_kind_in_chain(&err).unwrap_or(if err.is_incomplete_message() {
        io::ErrorKind::UnexpectedEof
    } else {
        io::ErrorKind::Other
    });
    HttpError::Io {
        host: host.to_owned(),
        source: io::Error::new(kind, err),
    }
}

/// Maps an error of the pooled client to an [`HttpError`].
pub(crate) fn from_client(
    host: &str,
    connect_timeout: Duration,
    err: hyper_util::client::legacy::Error,
) -> HttpError {
    if let Some(tls) = find_rustls_error(&err) {
        return HttpError::Tls {
            host: host.to_owned(),
            source: tls,
        };
    }
    if err.is_connect() {
        if io_kind_in_chain(&err) == Some(io::ErrorKind::TimedOut) {
            return HttpError::Timeout {
                phase: TimeoutPhase::Connect,
                host: host.to_owned(),
                after: connect_timeout,
            };
        }
        return HttpError::Connect {
            host: host.to_owned(),
            source: Box::new(err),
        };
    }
    // Errors from the connection itself arrive as a hyper::Error source.
    let is_hyper = StdError::source(&err)
        .and_then(|s| s.downcast_ref::<hyper::Error>())
        .is_some();
    if is_hyper {
        let kind = io_kind_in_chain(&err).unwrap_or(io::ErrorKind::Other);
        let hyper_parse = find_in_chain::<hyper::Error>(&err).is_some_and(|h| h.is_parse());
        if hyper_parse {
            return HttpError::Other {
                host: host.to_owned(),
                source: Box::new(err),
            };
        }
        return HttpError::Io {
            host: host.to_owned(),
            source: io::Error::new(kind, err),
        };
    }
    HttpError::Other {
        host: host.to_owned(),
        source: Box::new(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_bounds_and_marks_cut() {
        assert_eq!(body_excerpt(b"", 10), "");
        assert_eq!(body_excerpt(b"abc", 3), "abc");
        assert_eq!(body_excerpt(b"abcd", 3), "abc…");
        assert_eq!(body_excerpt(b"a\x00b", 10), "a\u{fffd}b");
        assert_eq!(body_excerpt(b"line\nnext", 20), "line\nnext");
    }

    #[test]
    fn excerpt_cuts_on_char_boundary() {
        // "é" is two bytes; cutting after the first byte must not leave a replacement char.
        assert_eq!(body_excerpt("aé".as_bytes(), 2), "a…");
        assert_eq!(body_excerpt(&[0xff, 0xfe], 10), "\u{fffd}\u{fffd}");
    }

    #[test]
    fn finds_rustls_error_through_nested_io_errors() {
        let inner = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        let outer = io::Error::other(inner);
        let found = find_in_chain::<rustls::Error>(&outer);
        assert!(matches!(found, Some(rustls::Error::InvalidCertificate(_))));
    }

    #[test]
    fn recognises_alert_text_from_h2() {
        // What the h2 crate turns a rustls alert into.
        let text =
            rustls::Error::AlertReceived(rustls::AlertDescription::CertificateRequired).to_string();
        let io_err = io::Error::new(io::ErrorKind::InvalidData, text);
        assert_eq!(
            find_rustls_error(&io_err),
            Some(rustls::Error::AlertReceived(
                rustls::AlertDescription::CertificateRequired
            ))
        );
        let io_err = io::Error::new(io::ErrorKind::InvalidData, "something else");
        assert_eq!(find_rustls_error(&io_err), None);
    }

    #[test]
    fn certificate_classification() {
        let e = HttpError::Tls {
            host: "h:443".into(),
            source: rustls::Error::AlertReceived(rustls::AlertDescription::CertificateRequired),
        };
        assert!(e.is_certificate_error());
        assert!(e.is_tls());
        assert!(!e.is_connect());
        let e = HttpError::Tls {
            host: "h:443".into(),
            source: rustls::Error::DecryptError,
        };
        assert!(!e.is_certificate_error());
        assert_eq!(e.to_string(), "TLS failure with h:443");
    }

    #[test]
    fn timeout_display_names_phase_and_host() {
        let e = HttpError::Timeout {
            phase: TimeoutPhase::ResponseHeaders,
            host: "127.0.0.1:8080".into(),
            after: Duration::from_millis(200),
        };
        assert!(e.is_timeout());
        assert_eq!(
            e.to_string(),
            "timed out after 200ms waiting for response headers from 127.0.0.1:8080"
        );
    }
}
