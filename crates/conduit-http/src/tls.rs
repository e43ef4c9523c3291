//! TLS: the [`ClientCertificate`] hook, ALPN choices and the rustls configuration.
//!
//! Only the `ring` crypto provider is used, and it is passed explicitly to rustls, so nothing
//! here depends on (or installs) a process-wide default provider.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ResolvesClientCert, WebPkiServerVerifier};
use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use crate::HttpError;

/// The hook through which a client certificate (mTLS) is supplied; `conduit-identity`
/// implements it.
///
/// # Why a resolver
///
/// The implementor hands out a rustls [`ResolvesClientCert`], not a fixed chain and key.
/// rustls asks the resolver during *every* handshake, so an implementation that keeps its
/// current [`CertifiedKey`] behind a lock can rotate the certificate (renewal before expiry)
/// without rebuilding the [`HttpClient`](crate::HttpClient): new connections present the new
/// certificate.
///
/// # Rotation and open connections
///
/// A connection keeps the certificate it was established with, and so would a TLS session
/// resumed from it (the server restores the client's identity from the ticket). So an
/// implementation that can change its certificate also bumps its
/// [`generation`](ClientCertificate::generation); the [`HttpClient`](crate::HttpClient)
/// notices the change at the next request and opens fresh connections from then on (a new
/// pool and TLS session cache), so every request made after the change presents the new
/// certificate. Requests in flight keep their connections and finish undisturbed; the old
/// pool's idle connections are closed once nothing uses them.
///
/// [`resolver`](ClientCertificate::resolver) is called once, when a rustls configuration is
/// built ([`HttpClient::new`](crate::HttpClient::new), [`HttpConfig::rustls_config`](crate::HttpConfig::rustls_config)).
/// Implementations must not print private key material in `Debug`.
pub trait ClientCertificate: Send + Sync + fmt::Debug {
    /// The resolver rustls consults in each handshake that asks for a client certificate.
    fn resolver(&self) -> Arc<dyn ResolvesClientCert>;

    /// A number that changes whenever the certificate presented changes (see "Rotation and
    /// open connections" above). The default, for a fixed certificate, never changes.
    fn generation(&self) -> u64 {
        0
    }
}

/// A fixed client certificate chain and private key, the simplest [`ClientCertificate`].
///
/// `Debug` shows only the number of certificates, never key material.
#[derive(Clone)]
pub struct StaticClientCertificate {
    key: Arc<CertifiedKey>,
}

impl StaticClientCertificate {
    /// A client certificate from a DER chain (end-entity first) and its private key.
    ///
    /// Fails when the chain is empty, the key cannot be loaded by the ring provider, or the key
    /// does not match the end-entity certificate.
    pub fn new(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, HttpError> {
        if chain.is_empty() {
            return Err(HttpError::config(
                "client certificate chain must not be empty",
            ));
        }
        let certified = CertifiedKey::from_der(chain, key, &crypto_provider())
            .map_err(|e| HttpError::config(format!("unusable client certificate: {e}")))?;
        Ok(StaticClientCertificate {
            key: Arc::new(certified),
        })
    }

    /// A client certificate from PEM text: `chain_pem` holds one or more `CERTIFICATE` blocks
    /// (end-entity first), `key_pem` a PKCS#8, PKCS#1 or SEC1 private key.
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, HttpError> {
        let chain = parse_pem_certificates(chain_pem)?;
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| HttpError::config(format!("invalid PEM private key: {e}")))?;
        Self::new(chain, key)
    }

    /// The certified key rustls presents.
    pub fn certified_key(&self) -> &Arc<CertifiedKey> {
        &self.key
    }
}

impl fmt::Debug for StaticClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticClientCertificate")
            .field("certificates", &self.key.cert.len())
            .finish_non_exhaustive()
    }
}

impl ClientCertificate for StaticClientCertificate {
    fn resolver(&self) -> Arc<dyn ResolvesClientCert> {
        Arc::new(FixedResolver(self.key.clone()))
    }
}

struct FixedResolver(Arc<CertifiedKey>);

impl fmt::Debug for FixedResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FixedResolver")
    }
}

impl ResolvesClientCert for FixedResolver {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// A client certificate that can be replaced at run time, without rebuilding the
/// [`HttpClient`](crate::HttpClient): each new TLS connection presents the certificate current
/// at its handshake. Clones share the same slot.
///
/// An empty slot presents no certificate (servers that require one will refuse the handshake).
#[derive(Clone, Default)]
pub struct ReloadableClientCertificate {
    slot: Arc<RwLock<Option<Arc<CertifiedKey>>>>,
    /// Bumped by every `set` and `clear`.
    generation: Arc<AtomicU64>,
}

impl ReloadableClientCertificate {
    /// An empty slot.
    pub fn new() -> Self {
        Self::default()
    }

    /// A slot holding `certificate`.
    pub fn with_certificate(certificate: &StaticClientCertificate) -> Self {
        let this = Self::new();
        this.set(certificate);
        this
    }

    /// Replaces the certificate presented by future handshakes.
    /// An [`HttpClient`](crate::HttpClient) using this slot opens fresh connections for the
    /// requests made afterwards (see [`ClientCertificate::generation`]).
    pub fn set(&self, certificate: &StaticClientCertificate) {
        *self.slot.write().unwrap_or_else(PoisonError::into_inner) = Some(certificate.key.clone());
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Empties the slot: future handshakes present no certificate.
    pub fn clear(&self) {
        *self.slot.write().unwrap_or_else(PoisonError::into_inner) = None;
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The certificate currently presented, if any.
    pub fn current(&self) -> Option<Arc<CertifiedKey>> {
        self.slot
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl fmt::Debug for ReloadableClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadableClientCertificate")
            .field("loaded", &self.current().is_some())
            .finish_non_exhaustive()
    }
}

impl ClientCertificate for ReloadableClientCertificate {
    fn resolver(&self) -> Arc<dyn ResolvesClientCert> {
        Arc::new(self.clone())
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}

impl ResolvesClientCert for ReloadableClientCertificate {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.current()
    }

    fn has_certs(&self) -> bool {
        self.current().is_some()
    }
}

/// Which ALPN protocols a rustls configuration from
/// [`HttpConfig::rustls_config`](crate::HttpConfig::rustls_config) offers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Alpn {
    /// No ALPN extension.
    None,
    /// `http/1.1` only — what a WebSocket upgrade needs.
    Http1,
    /// `h2` then `http/1.1`.
    Http2AndHttp1,
    /// Exactly these protocol ids, in preference order.
    Custom(Vec<Vec<u8>>),
}

impl Alpn {
    pub(crate) fn protocols(&self) -> Vec<Vec<u8>> {
        match self {
            Alpn::None => Vec::new(),
            Alpn::Http1 => vec![b"http/1.1".to_vec()],
            Alpn::Http2AndHttp1 => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
            Alpn::Custom(protocols) => protocols.clone(),
        }
    }
}

/// The one crypto provider of the tree.
pub(crate) fn crypto_provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

pub(crate) fn parse_pem_certificates(
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, HttpError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| HttpError::config(format!("invalid PEM certificate: {e}")))?;
    if certs.is_empty() {
        return Err(HttpError::config("no CERTIFICATE block found in PEM input"));
    }
    Ok(certs)
}

/// Everything needed to build a rustls `ClientConfig`; validated by the config builder.
pub(crate) struct TlsSettings<'a> {
    pub(crate) webpki_roots: bool,
    pub(crate) extra_roots: &'a [CertificateDer<'static>],
    pub(crate) danger_accept_invalid_certs: bool,
    pub(crate) client_certificate: Option<&'a Arc<dyn ClientCertificate>>,
}

pub(crate) fn root_store(
    webpki_roots: bool,
    extra_roots: &[CertificateDer<'static>],
) -> Result<RootCertStore, HttpError> {
    let mut roots = RootCertStore::empty();
    if webpki_roots {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for (i, cert) in extra_roots.iter().enumerate() {
        roots.add(cert.clone()).map_err(|e| {
            HttpError::config(format!("extra root certificate #{i} is invalid: {e}"))
        })?;
    }
    Ok(roots)
}

pub(crate) fn build_rustls_config(
    settings: &TlsSettings<'_>,
    alpn: &Alpn,
) -> Result<rustls::ClientConfig, HttpError> {
    let provider = Arc::new(crypto_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| HttpError::config(format!("TLS protocol versions: {e}")))?;

    let builder = if settings.danger_accept_invalid_certs {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyServerCert { provider }))
    } else {
        let roots = root_store(settings.webpki_roots, settings.extra_roots)?;
        let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| HttpError::config(format!("TLS server verifier: {e}")))?;
        builder.with_webpki_verifier(verifier)
    };

    let mut config = match settings.client_certificate {
        Some(cert) => builder.with_client_cert_resolver(cert.resolver()),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.protocols();
    Ok(config)
}

/// The verifier behind `tls_danger_accept_invalid_certs`: accepts any server certificate
/// (unknown issuer, expired, wrong name), but still checks the handshake signatures, so the
/// peer must at least hold the key of the certificate it presents.
#[derive(Debug)]
struct AcceptAnyServerCert {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
