//! Keypair generation and the DataGrout CA: `{endpoint}/register`, `{endpoint}/rotate`, and
//! the CA bundle.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use conduit_http::{HttpClient, HttpConfig};
use serde_json::json;

use crate::error::IdentityError;
use crate::identity::{IdentitySource, Origins};
use crate::wire::{exchange, exchange_json, join, json_request, optional_str, required_str};
use crate::ConduitIdentity;

/// The reference SDK's registration base: `POST {base}/register`, `POST {base}/rotate`.
pub const DEFAULT_ENDPOINT: &str = "https://app.datagrout.ai/api/v1/substrate/identity";
/// Where the CA bundle is fetched when a registration response carries none.
pub const DEFAULT_CA_URL: &str = "https://ca.datagrout.ai/ca.pem";
/// The default deadline of each CA call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A freshly generated ECDSA P-256 keypair — the algorithm of the reference SDKs.
/// `Debug` never shows the private key.
#[derive(Clone)]
pub struct GeneratedKey {
    key_pem: String,
    public_key_pem: String,
}

impl GeneratedKey {
    /// Generates a keypair with rcgen (ECDSA P-256, SHA-256 signatures).
    pub fn generate() -> Result<Self, IdentityError> {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|e| IdentityError::KeyGeneration(e.to_string()))?;
        Ok(GeneratedKey {
            key_pem: pair.serialize_pem(),
            public_key_pem: pair.public_key_pem(),
        })
    }

    /// The private key as unencrypted PKCS#8 PEM (`BEGIN PRIVATE KEY`).
    pub fn private_key_pem(&self) -> &str {
        &self.key_pem
    }

    /// The public key as SubjectPublicKeyInfo PEM (`BEGIN PUBLIC KEY`) — the
    /// `public_key_pem` the CA expects.
    pub fn public_key_pem(&self) -> &str {
        &self.public_key_pem
    }
}

impl fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("public_key_pem", &self.public_key_pem)
            .finish_non_exhaustive()
    }
}

/// What the CA answered to a registration or rotation.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Registration {
    /// The new identity (certificate from the CA, the key generated for it, the CA bundle).
    pub identity: ConduitIdentity,
    /// The CA's id of this identity (`id`).
    pub id: String,
    /// The registered name (`name`), when echoed.
    pub name: Option<String>,
    /// The CA's fingerprint of the certificate (`fingerprint`), verbatim.
    pub fingerprint: String,
    /// `registered_at`, verbatim, when present.
    pub registered_at: Option<String>,
    /// `valid_until`, verbatim, when present. The certificate's own not-after is authoritative
    /// and is what [`ConduitIdentity::not_after`] returns.
    pub valid_until: Option<String>,
}

/// A client of the DataGrout CA (or any CA speaking the same JSON).
///
/// * `register`: `POST {endpoint}/register` with `Authorization: Bearer <token>` and
///   `{"public_key_pem", "name"}`; the answer carries `id`, `cert_pem`, `fingerprint` and
///   optionally `name`, `registered_at`, `valid_until`, `ca_cert_pem`. Without
///   `ca_cert_pem` the bundle is fetched from the CA URL; if that fails the identity has no CA
///   bundle (as in the reference).
/// * `rotate`: `POST {endpoint}/rotate` with the same body for a *new* keypair, no bearer: the
///   current certificate authenticates the call over mTLS.
///
/// Every call has a deadline ([`DEFAULT_TIMEOUT`] unless set).
#[derive(Clone, Debug)]
pub struct Registrar {
    http: HttpClient,
    endpoint: String,
    ca_url: Option<String>,
    timeout: Duration,
}

impl Registrar {
    /// A registrar sending through `http` (its authorizer is not used), with the reference
    /// endpoint and CA URL.
    pub fn new(http: HttpClient) -> Self {
        Registrar {
            http,
            endpoint: DEFAULT_ENDPOINT.to_owned(),
            ca_url: Some(DEFAULT_CA_URL.to_owned()),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The registration base URL (default [`DEFAULT_ENDPOINT`]); a trailing `/` is ignored.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = endpoint.into();
        self
    }

    /// Where to fetch the CA bundle when a response has none (default [`DEFAULT_CA_URL`];
    /// `None` disables the fetch).
    pub fn ca_url(mut self, url: Option<String>) -> Self {
        self.ca_url = url;
        self
    }

    /// The deadline of each call.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The registration base URL in use.
    pub fn endpoint_url(&self) -> &str {
        &self.endpoint
    }

    /// Registers a new keypair under `name`, authenticated by `auth_token`.
    pub async fn register(
        &self,
        auth_token: &str,
        name: &str,
    ) -> Result<Registration, IdentityError> {
        let key = GeneratedKey::generate()?;
        let body = json!({ "public_key_pem": key.public_key_pem(), "name": name });
        let request = json_request(&join(&self.endpoint, "register"), &body, Some(auth_token))?;
        let response = exchange_json(&self.http, request, "registration", self.timeout).await?;
        let mut registration =
            self.finish("registration", response, key, IdentitySource::Registered)?;
        if registration.identity.ca_pem().is_none() {
            if let Some(ca_url) = &self.ca_url {
                match self.fetch_ca_from(ca_url).await {
                    Ok(pem) => registration.identity = registration.identity.with_ca_pem(&pem)?,
                    Err(e) => tracing::warn!(
                        target: "conduit_identity",
                        error = %e,
                        "the CA bundle could not be fetched; continuing without one"
                    ),
                }
            }
        }
        Ok(registration)
    }

    /// Renews `current`: a new keypair, `POST {endpoint}/rotate` authenticated by `current`'s
    /// certificate over mTLS (its CA bundle is trusted for the server). The new identity keeps
    /// `current`'s directory and, when the CA sends none, its CA bundle. `name` defaults to
    /// the current certificate's common name.
    pub async fn rotate(
        &self,
        current: &ConduitIdentity,
        name: Option<&str>,
    ) -> Result<Registration, IdentityError> {
        let config = self
            .http
            .config()
            .to_builder()
            .client_certificate(Arc::new(current.clone()))
            .add_root_certificates(current.ca_certificates().iter().cloned())
            .build()
            .map_err(|source| IdentityError::Http {
                what: "rotation",
                source,
            })?;
        let http = HttpClient::new(config).map_err(|source| IdentityError::Http {
            what: "rotation",
            source,
        })?;
        let name = name
            .map(str::to_owned)
            .or_else(|| current.common_name().map(str::to_owned))
            .unwrap_or_else(|| "conduit".to_owned());
        let key = GeneratedKey::generate()?;
        let body = json!({ "public_key_pem": key.public_key_pem(), "name": name });
        let request = json_request(&join(&self.endpoint, "rotate"), &body, None)?;
        let response = exchange_json(&http, request, "rotation", self.timeout).await?;
        let mut registration = self.finish("rotation", response, key, IdentitySource::Rotated)?;
        if registration.identity.ca_pem().is_none() {
            if let Some(ca) = current.ca_pem() {
                registration.identity = registration.identity.with_ca_pem(ca)?;
            }
        }
        if let Some(dir) = current.dir() {
            registration.identity = registration.identity.with_dir(dir);
        }
        Ok(registration)
    }

    /// Fetches the CA bundle from the configured CA URL.
    pub async fn fetch_ca(&self) -> Result<String, IdentityError> {
        match &self.ca_url {
            Some(url) => self.fetch_ca_from(url).await,
            None => Err(IdentityError::Config("no CA URL is configured".to_owned())),
        }
    }

    async fn fetch_ca_from(&self, url: &str) -> Result<String, IdentityError> {
        let request = http::Request::get(url)
            .header(
                http::header::ACCEPT,
                "application/x-pem-file, text/plain, */*",
            )
            .body(Bytes::new())
            .map_err(|e| IdentityError::Config(format!("invalid CA URL {url}: {e}")))?;
        let body = exchange(&self.http, request, "CA bundle download", self.timeout).await?;
        let pem = String::from_utf8(body.to_vec()).map_err(|_| IdentityError::InvalidResponse {
            what: "CA bundle download",
            reason: "the body is not text".to_owned(),
        })?;
        crate::identity::parse_certificates(&pem, "CA bundle", url)?;
        Ok(pem)
    }

    fn finish(
        &self,
        what: &'static str,
        response: serde_json::Map<String, serde_json::Value>,
        key: GeneratedKey,
        source: IdentitySource,
    ) -> Result<Registration, IdentityError> {
        let id = required_str(&response, "id", what)?;
        let cert_pem = required_str(&response, "cert_pem", what)?;
        let fingerprint = required_str(&response, "fingerprint", what)?;
        let ca_pem = optional_str(&response, "ca_cert_pem").filter(|s| !s.trim().is_empty());
        let origins = Origins {
            cert: format!("the {what} response (`cert_pem`)"),
            key: "the generated key".to_owned(),
            ca: format!("the {what} response (`ca_cert_pem`)"),
        };
        let identity =
            ConduitIdentity::build(cert_pem, key.key_pem, ca_pem, &origins, source, None)?;
        if !fingerprint
            .replace(':', "")
            .eq_ignore_ascii_case(identity.fingerprint())
        {
            tracing::debug!(
                target: "conduit_identity",
                ca = %fingerprint,
                computed = %identity.fingerprint(),
                "the CA's fingerprint differs from the certificate's SHA-256"
            );
        }
        Ok(Registration {
            identity,
            id,
            name: optional_str(&response, "name"),
            fingerprint,
            registered_at: optional_str(&response, "registered_at"),
            valid_until: optional_str(&response, "valid_until"),
        })
    }
}

/// A default HTTP client for CA calls (public roots, default timeouts).
pub fn default_http() -> Result<HttpClient, IdentityError> {
    HttpClient::new(HttpConfig::default()).map_err(|source| IdentityError::Http {
        what: "HTTP client",
        source,
    })
}
