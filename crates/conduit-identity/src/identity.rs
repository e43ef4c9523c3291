//! [`ConduitIdentity`]: a client certificate chain, its private key and an optional CA bundle,
//! loaded from PEM, files, the environment, or by discovery.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use conduit_http::{ClientCertificate, StaticClientCertificate};
use rustls::client::ResolvesClientCert;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::env::Environment;
use crate::error::IdentityError;
use crate::info::CertificateInfo;

/// The certificate file of an identity directory (PEM, end-entity first, may hold a chain).
pub const CERT_FILE: &str = "identity.pem";
/// The private key file of an identity directory (PEM: PKCS#8, SEC1 or PKCS#1; written 0600).
pub const KEY_FILE: &str = "identity_key.pem";
/// The optional CA bundle of an identity directory, trusted for the server in addition to the
/// public roots.
pub const CA_FILE: &str = "ca.pem";
/// The name of the per-user and per-project identity directories (`~/.conduit`, `./.conduit`).
pub const DIR_NAME: &str = ".conduit";

/// Inline PEM of the client certificate (chain).
pub const ENV_CERT: &str = "CONDUIT_MTLS_CERT";
/// Inline PEM of the private key.
pub const ENV_KEY: &str = "CONDUIT_MTLS_KEY";
/// Inline PEM of the CA bundle (optional, used with [`ENV_CERT`] and [`ENV_KEY`]).
pub const ENV_CA: &str = "CONDUIT_MTLS_CA";
/// A directory holding [`CERT_FILE`], [`KEY_FILE`] and optionally [`CA_FILE`].
pub const ENV_DIR: &str = "CONDUIT_IDENTITY_DIR";

/// Where an identity came from. Discovery reports it in a `tracing` event and
/// [`ConduitIdentity::source`] returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentitySource {
    /// PEM text handed to [`ConduitIdentity::from_pem`].
    Inline,
    /// Explicit certificate and key paths ([`ConduitIdentity::from_paths`]).
    Files {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// The directory given explicitly (`identity_dir`).
    ExplicitDir(PathBuf),
    /// Inline PEM in `CONDUIT_MTLS_CERT` / `CONDUIT_MTLS_KEY` (and `CONDUIT_MTLS_CA`).
    EnvPem,
    /// The directory named by `CONDUIT_IDENTITY_DIR`.
    EnvDir(PathBuf),
    /// `~/.conduit`.
    HomeDir(PathBuf),
    /// `./.conduit` in the working directory.
    WorkingDir(PathBuf),
    /// Issued just now by the CA's registration endpoint.
    Registered,
    /// Issued just now by the CA's rotation endpoint.
    Rotated,
}

impl fmt::Display for IdentitySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentitySource::Inline => f.write_str("inline PEM"),
            IdentitySource::Files { cert, key } => {
                write!(f, "files {} + {}", cert.display(), key.display())
            }
            IdentitySource::ExplicitDir(d) => write!(f, "identity_dir {}", d.display()),
            IdentitySource::EnvPem => write!(f, "environment {ENV_CERT} + {ENV_KEY}"),
            IdentitySource::EnvDir(d) => write!(f, "{ENV_DIR}={}", d.display()),
            IdentitySource::HomeDir(d) => write!(f, "home directory {}", d.display()),
            IdentitySource::WorkingDir(d) => write!(f, "working directory {}", d.display()),
            IdentitySource::Registered => f.write_str("CA registration"),
            IdentitySource::Rotated => f.write_str("CA rotation"),
        }
    }
}

/// The private key, kept out of `Debug`.
struct KeyMaterial {
    pem: String,
}

/// An mTLS client identity: certificate chain, private key, optional CA bundle for the server,
/// and the facts read from the certificate (subject, fingerprint, validity).
///
/// It is presented on TLS connections through its [`ClientCertificate`] implementation (fixed),
/// or through a [`SharedIdentity`](crate::SharedIdentity) when it may be rotated.
/// Cloning is cheap. `Debug` shows the source, subject, fingerprint and expiry, never the key.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use conduit_identity::ConduitIdentity;
///
/// // A throwaway self-signed certificate, just for the example.
/// let key = rcgen::KeyPair::generate()?;
/// let cert = rcgen::CertificateParams::new(vec!["agent".to_owned()])?.self_signed(&key)?;
/// let identity = ConduitIdentity::from_pem(&cert.pem(), &key.serialize_pem(), None)?;
/// assert_eq!(identity.fingerprint().len(), 64);
/// assert!(identity.days_left() >= 0);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ConduitIdentity {
    chain: Vec<CertificateDer<'static>>,
    cert_pem: String,
    key: Arc<KeyMaterial>,
    ca_pem: Option<String>,
    ca_certs: Vec<CertificateDer<'static>>,
    info: CertificateInfo,
    source: IdentitySource,
    dir: Option<PathBuf>,
    certificate: StaticClientCertificate,
}

impl fmt::Debug for ConduitIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConduitIdentity")
            .field("source", &self.source)
            .field("subject", &self.info.subject)
            .field("fingerprint", &self.info.fingerprint)
            .field("not_after", &crate::info::rfc3339(self.info.not_after))
            .field("chain_len", &self.chain.len())
            .field("ca_certs", &self.ca_certs.len())
            .finish_non_exhaustive()
    }
}

impl ConduitIdentity {
    /// An identity from PEM text: `cert_pem` holds one or more `CERTIFICATE` blocks
    /// (end-entity first), `key_pem` a PKCS#8, SEC1 or PKCS#1 private key, `ca_pem` an optional
    /// CA bundle trusted for the server.
    ///
    /// Fails when the PEM holds no certificate or key, the key does not match the certificate,
    /// or the certificate has expired.
    pub fn from_pem(
        cert_pem: &str,
        key_pem: &str,
        ca_pem: Option<&str>,
    ) -> Result<Self, IdentityError> {
        let origins = Origins::same("inline PEM");
        Self::build(
            cert_pem.to_owned(),
            key_pem.to_owned(),
            ca_pem.map(str::to_owned),
            &origins,
            IdentitySource::Inline,
            None,
        )
    }

    /// An identity from a certificate file, a key file and an optional CA bundle file.
    pub fn from_paths(
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
        ca: Option<&Path>,
    ) -> Result<Self, IdentityError> {
        let (cert, key) = (cert.as_ref(), key.as_ref());
        let cert_pem = read_text(cert)?;
        let key_pem = read_text(key)?;
        let ca_pem = ca.map(read_text).transpose()?;
        let origins = Origins {
            cert: cert.display().to_string(),
            key: key.display().to_string(),
            ca: ca.map_or_else(String::new, |p| p.display().to_string()),
        };
        Self::build(
            cert_pem,
            key_pem,
            ca_pem,
            &origins,
            IdentitySource::Files {
                cert: cert.to_owned(),
                key: key.to_owned(),
            },
            None,
        )
    }

    /// An identity from a directory holding `identity.pem`, `identity_key.pem` and optionally
    /// `ca.pem` — the layout the reference SDKs write.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self, IdentityError> {
        let dir = dir.as_ref();
        match load_dir(dir, IdentitySource::ExplicitDir(dir.to_owned()))? {
            Some(identity) => Ok(identity),
            None => Err(IdentityError::io(
                "cannot read",
                dir.join(CERT_FILE),
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no identity in this directory",
                ),
            )),
        }
    }

    /// An identity from inline PEM in `CONDUIT_MTLS_CERT` and `CONDUIT_MTLS_KEY` (and the
    /// optional `CONDUIT_MTLS_CA`) of `env`. `Ok(None)` when neither is set; an error when only
    /// one is.
    pub fn from_env(env: &dyn Environment) -> Result<Option<Self>, IdentityError> {
        let cert = env.var(ENV_CERT).filter(|v| !v.trim().is_empty());
        let key = env.var(ENV_KEY).filter(|v| !v.trim().is_empty());
        match (cert, key) {
            (None, None) => Ok(None),
            (Some(_), None) => Err(IdentityError::Incomplete {
                present: ENV_CERT.to_owned(),
                missing: PathBuf::from(ENV_KEY),
            }),
            (None, Some(_)) => Err(IdentityError::Incomplete {
                present: ENV_KEY.to_owned(),
                missing: PathBuf::from(ENV_CERT),
            }),
            (Some(cert), Some(key)) => {
                let origins = Origins {
                    cert: ENV_CERT.to_owned(),
                    key: ENV_KEY.to_owned(),
                    ca: ENV_CA.to_owned(),
                };
                let ca = env.var(ENV_CA).filter(|v| !v.trim().is_empty());
                Self::build(cert, key, ca, &origins, IdentitySource::EnvPem, None).map(Some)
            }
        }
    }

    /// Discovery in the reference SDK's order; the first place that holds an identity wins:
    ///
    /// 1. `identity_dir`, when given;
    /// 2. `CONDUIT_MTLS_CERT` + `CONDUIT_MTLS_KEY` (inline PEM, optional `CONDUIT_MTLS_CA`);
    /// 3. the directory in `CONDUIT_IDENTITY_DIR`;
    /// 4. `~/.conduit/`;
    /// 5. `./.conduit/` in the working directory.
    ///
    /// A place that holds nothing is skipped. A place that holds a *broken* identity — a
    /// certificate without its key, a key that does not match, an expired certificate, an
    /// unreadable file — stops discovery with an error naming the file: a half-present identity
    /// is never silently passed over. The source found is logged at `INFO` (target
    /// `conduit_identity`) and available from [`source`](Self::source).
    pub fn discover(
        identity_dir: Option<&Path>,
        env: &dyn Environment,
    ) -> Result<Option<Self>, IdentityError> {
        let found = Self::discover_inner(identity_dir, env)?;
        match &found {
            Some(identity) => tracing::info!(
                target: "conduit_identity",
                source = %identity.source,
                subject = %identity.info.subject,
                fingerprint = %identity.info.fingerprint,
                not_after = %crate::info::rfc3339(identity.info.not_after),
                "mTLS identity discovered"
            ),
            None => tracing::debug!(target: "conduit_identity", "no mTLS identity found"),
        }
        Ok(found)
    }

    fn discover_inner(
        identity_dir: Option<&Path>,
        env: &dyn Environment,
    ) -> Result<Option<Self>, IdentityError> {
        if let Some(dir) = identity_dir {
            if let Some(found) = load_dir(dir, IdentitySource::ExplicitDir(dir.to_owned()))? {
                return Ok(Some(found));
            }
        }
        if let Some(found) = Self::from_env(env)? {
            return Ok(Some(found));
        }
        if let Some(dir) = env.var(ENV_DIR).filter(|v| !v.trim().is_empty()) {
            let dir = PathBuf::from(dir);
            if let Some(found) = load_dir(&dir, IdentitySource::EnvDir(dir.clone()))? {
                return Ok(Some(found));
            }
        }
        if let Some(home) = env.home_dir() {
            let dir = home.join(DIR_NAME);
            if let Some(found) = load_dir(&dir, IdentitySource::HomeDir(dir.clone()))? {
                return Ok(Some(found));
            }
        }
        if let Some(cwd) = env.current_dir() {
            let dir = cwd.join(DIR_NAME);
            if let Some(found) = load_dir(&dir, IdentitySource::WorkingDir(dir.clone()))? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    pub(crate) fn build(
        cert_pem: String,
        key_pem: String,
        ca_pem: Option<String>,
        origins: &Origins,
        source: IdentitySource,
        dir: Option<PathBuf>,
    ) -> Result<Self, IdentityError> {
        let chain = parse_certificates(&cert_pem, "certificate", &origins.cert)?;
        let key = parse_key(&key_pem, &origins.key)?;
        let ca_certs = match &ca_pem {
            Some(pem) => parse_certificates(pem, "CA bundle", &origins.ca)?,
            None => Vec::new(),
        };
        let info =
            CertificateInfo::from_der(&chain[0]).map_err(|reason| IdentityError::InvalidPem {
                what: "certificate",
                origin: origins.cert.clone(),
                reason,
            })?;
        if info.is_expired_at(SystemTime::now()) {
            return Err(IdentityError::Expired {
                origin: origins.cert.clone(),
                not_after: info.not_after,
            });
        }
        check_key_matches(&key, &info, origins)?;
        let certificate = StaticClientCertificate::new(chain.clone(), key).map_err(|e| {
            IdentityError::InvalidPem {
                what: "private key",
                origin: origins.key.clone(),
                reason: e.to_string(),
            }
        })?;
        Ok(ConduitIdentity {
            chain,
            cert_pem,
            key: Arc::new(KeyMaterial { pem: key_pem }),
            ca_pem,
            ca_certs,
            info,
            source,
            dir,
            certificate,
        })
    }

    /// Where this identity came from.
    pub fn source(&self) -> &IdentitySource {
        &self.source
    }

    /// The identity directory it was loaded from or saved to, if any (rotation saves there).
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The same identity, remembering `dir` as its directory.
    pub fn with_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// Everything read from the end-entity certificate.
    pub fn info(&self) -> &CertificateInfo {
        &self.info
    }

    /// The certificate's subject, e.g. `CN=my-laptop`.
    pub fn subject(&self) -> &str {
        &self.info.subject
    }

    /// The subject's common name, if any.
    pub fn common_name(&self) -> Option<&str> {
        self.info.common_name.as_deref()
    }

    /// SHA-256 of the end-entity certificate's DER, lowercase hex.
    pub fn fingerprint(&self) -> &str {
        &self.info.fingerprint
    }

    /// Start of the validity period.
    pub fn not_before(&self) -> SystemTime {
        self.info.not_before
    }

    /// End of the validity period, read from the certificate itself.
    pub fn not_after(&self) -> SystemTime {
        self.info.not_after
    }

    /// Whole days left until [`not_after`](Self::not_after) (negative once expired).
    pub fn days_left(&self) -> i64 {
        self.info.days_left_at(SystemTime::now())
    }

    /// Whether the certificate expires within `margin` from now: time to rotate.
    pub fn needs_rotation(&self, margin: Duration) -> bool {
        self.info.expires_within(margin, SystemTime::now())
    }

    /// The certificate chain, end-entity first.
    pub fn certificate_chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// The certificate chain as the PEM it was loaded from.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The private key PEM. Handle with care: never log it.
    pub fn key_pem(&self) -> &str {
        &self.key.pem
    }

    /// The CA bundle PEM, if any.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The CA bundle's certificates, to trust for the server in addition to the public roots.
    pub fn ca_certificates(&self) -> &[CertificateDer<'static>] {
        &self.ca_certs
    }

    /// The same identity with another CA bundle.
    pub fn with_ca_pem(mut self, ca_pem: &str) -> Result<Self, IdentityError> {
        self.ca_certs = parse_certificates(ca_pem, "CA bundle", "the given CA PEM")?;
        self.ca_pem = Some(ca_pem.to_owned());
        Ok(self)
    }

    /// The fixed client certificate for `conduit-http`.
    pub fn client_certificate(&self) -> &StaticClientCertificate {
        &self.certificate
    }
}

impl ClientCertificate for ConduitIdentity {
    fn resolver(&self) -> Arc<dyn ResolvesClientCert> {
        self.certificate.resolver()
    }
}

/// Where each PEM part came from, for error messages.
pub(crate) struct Origins {
    pub(crate) cert: String,
    pub(crate) key: String,
    pub(crate) ca: String,
}

impl Origins {
    pub(crate) fn same(origin: &str) -> Self {
        Origins {
            cert: origin.to_owned(),
            key: origin.to_owned(),
            ca: origin.to_owned(),
        }
    }
}

/// Loads an identity directory: `Ok(None)` when it holds neither file.
fn load_dir(dir: &Path, source: IdentitySource) -> Result<Option<ConduitIdentity>, IdentityError> {
    let cert = dir.join(CERT_FILE);
    let key = dir.join(KEY_FILE);
    let ca = dir.join(CA_FILE);
    let (has_cert, has_key) = (exists(&cert)?, exists(&key)?);
    match (has_cert, has_key) {
        (false, false) => {
            tracing::debug!(target: "conduit_identity", dir = %dir.display(), "no identity here");
            Ok(None)
        }
        (true, false) => Err(IdentityError::Incomplete {
            present: cert.display().to_string(),
            missing: key,
        }),
        (false, true) => Err(IdentityError::Incomplete {
            present: key.display().to_string(),
            missing: cert,
        }),
        (true, true) => {
            let cert_pem = read_text(&cert)?;
            let key_pem = read_text(&key)?;
            let ca_pem = if exists(&ca)? {
                Some(read_text(&ca)?)
            } else {
                None
            };
            let origins = Origins {
                cert: cert.display().to_string(),
                key: key.display().to_string(),
                ca: ca.display().to_string(),
            };
            ConduitIdentity::build(
                cert_pem,
                key_pem,
                ca_pem,
                &origins,
                source,
                Some(dir.to_owned()),
            )
            .map(Some)
        }
    }
}

fn exists(path: &Path) -> Result<bool, IdentityError> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => Ok(true),
        Ok(_) => Err(IdentityError::io(
            "cannot read",
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(IdentityError::io("cannot access", path, e)),
    }
}

fn read_text(path: &Path) -> Result<String, IdentityError> {
    let bytes = std::fs::read(path).map_err(|e| IdentityError::io("cannot read", path, e))?;
    String::from_utf8(bytes).map_err(|_| IdentityError::InvalidPem {
        what: "PEM file",
        origin: path.display().to_string(),
        reason: "not UTF-8 text (DER files are not supported; convert to PEM)".to_owned(),
    })
}

pub(crate) fn parse_certificates(
    pem: &str,
    what: &'static str,
    origin: &str,
) -> Result<Vec<CertificateDer<'static>>, IdentityError> {
    let invalid = |reason: String| IdentityError::InvalidPem {
        what,
        origin: origin.to_owned(),
        reason,
    };
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("malformed PEM: {e}")))?;
    if certs.is_empty() {
        return Err(invalid("no `BEGIN CERTIFICATE` block".to_owned()));
    }
    Ok(certs)
}

fn parse_key(pem: &str, origin: &str) -> Result<PrivateKeyDer<'static>, IdentityError> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| {
        let reason = if pem.contains("ENCRYPTED PRIVATE KEY") {
            "encrypted private keys are not supported; store it unencrypted (PKCS#8) with 0600 permissions".to_owned()
        } else {
            format!("no PKCS#8, SEC1 or PKCS#1 private key block ({e})")
        };
        IdentityError::InvalidPem {
            what: "private key",
            origin: origin.to_owned(),
            reason,
        }
    })
}

fn check_key_matches(
    key: &PrivateKeyDer<'static>,
    info: &CertificateInfo,
    origins: &Origins,
) -> Result<(), IdentityError> {
    let provider = rustls::crypto::ring::default_provider();
    let signing = provider
        .key_provider
        .load_private_key(key.clone_key())
        .map_err(|e| IdentityError::InvalidPem {
            what: "private key",
            origin: origins.key.clone(),
            reason: format!("unsupported key: {e}"),
        })?;
    match signing.public_key() {
        Some(spki) if spki.as_ref() != info.spki_der.as_slice() => {
            Err(IdentityError::KeyMismatch {
                cert: origins.cert.clone(),
                key: origins.key.clone(),
            })
        }
        _ => Ok(()),
    }
}
