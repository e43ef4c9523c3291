//! [`IdentityError`]: every way loading, saving, registering or rotating an identity fails.

use std::path::PathBuf;
use std::time::SystemTime;

use conduit_http::HttpError;

/// Everything this crate can fail with. Each variant names what was wrong and, where a file is
/// involved, which file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// A file could not be read, written or created.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done (`"cannot read"`, `"cannot write"`, …).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Only part of an identity is present (a certificate without its key, or the reverse).
    #[error("incomplete identity: {present} exists but {} is missing", missing.display())]
    Incomplete {
        /// The part that exists (a path or an environment variable).
        present: String,
        /// The part that is missing.
        missing: PathBuf,
    },
    /// PEM text holds no usable certificate or key.
    #[error("invalid {what} in {origin}: {reason}")]
    InvalidPem {
        /// `"certificate"`, `"private key"` or `"CA bundle"`.
        what: &'static str,
        /// Where it came from: a path or an environment variable.
        origin: String,
        /// What was wrong.
        reason: String,
    },
    /// The private key does not belong to the certificate.
    #[error("the private key in {key} does not match the certificate in {cert}")]
    KeyMismatch {
        /// Where the certificate came from.
        cert: String,
        /// Where the key came from.
        key: String,
    },
    /// The certificate's validity period has ended.
    #[error("the certificate in {origin} expired at {} (Unix time {})", crate::info::rfc3339(*not_after), crate::info::unix(*not_after))]
    Expired {
        /// Where the certificate came from.
        origin: String,
        /// Its not-after time.
        not_after: SystemTime,
    },
    /// An HTTP exchange with the CA, onramp or token endpoint failed before a response.
    #[error("{what}: {source}")]
    Http {
        /// Which call failed.
        what: &'static str,
        /// The HTTP layer's error.
        #[source]
        source: HttpError,
    },
    /// An endpoint answered with a non-success status.
    #[error("{what} failed with HTTP {status}: {body}")]
    Status {
        /// Which call failed (`"registration"`, `"rotation"`, `"onramp"`, …).
        what: &'static str,
        /// The HTTP status.
        status: u16,
        /// An excerpt of the response body.
        body: String,
    },
    /// An endpoint answered 2xx with a body that lacks a required field or is not JSON.
    #[error("{what} returned an invalid response: {reason}")]
    InvalidResponse {
        /// Which call.
        what: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// No answer within the deadline.
    #[error("{what} timed out after {after:?}")]
    Timeout {
        /// Which call.
        what: &'static str,
        /// The deadline that passed.
        after: std::time::Duration,
    },
    /// A URL or option is not usable.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Generating a keypair failed.
    #[error("key generation failed: {0}")]
    KeyGeneration(String),
}

impl IdentityError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        IdentityError::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// Whether the error is about the files or PEM of an identity (as opposed to the network).
    pub fn is_local(&self) -> bool {
        matches!(
            self,
            IdentityError::Io { .. }
                | IdentityError::Incomplete { .. }
                | IdentityError::InvalidPem { .. }
                | IdentityError::KeyMismatch { .. }
                | IdentityError::Expired { .. }
        )
    }
}
