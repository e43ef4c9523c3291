//! [`HttpConfig`] and its builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderMap, HeaderName, HeaderValue, USER_AGENT};
use rustls_pki_types::CertificateDer;

use crate::auth::Authorizer;
use crate::tls::{self, Alpn, ClientCertificate, TlsSettings};
use crate::HttpError;

/// Default [`HttpConfigBuilder::connect_timeout`]: 10 s.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default [`HttpConfigBuilder::response_header_timeout`]: 30 s.
pub const DEFAULT_RESPONSE_HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// Default [`HttpConfigBuilder::read_idle_timeout`]: 60 s.
pub const DEFAULT_READ_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default [`HttpConfigBuilder::max_body_bytes`]: 16 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Default [`HttpConfigBuilder::pool_idle_timeout`]: 90 s.
pub const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// The default `User-Agent`: `conduit/<crate version>`.
pub const DEFAULT_USER_AGENT: &str = concat!("conduit/", env!("CARGO_PKG_VERSION"));

/// The validated configuration of an [`HttpClient`](crate::HttpClient).
///
/// Build it with [`HttpConfig::builder`]; [`HttpConfig::default`] is the builder's defaults.
/// Cloning is cheap enough for configuration (hooks are `Arc`s).
#[derive(Clone)]
pub struct HttpConfig {
    pub(crate) connect_timeout: Duration,
    pub(crate) response_header_timeout: Duration,
    pub(crate) read_idle_timeout: Duration,
    pub(crate) max_body_bytes: usize,
    pub(crate) pool_idle_timeout: Option<Duration>,
    pub(crate) pool_max_idle_per_host: usize,
    pub(crate) user_agent: HeaderValue,
    pub(crate) default_headers: HeaderMap,
    pub(crate) webpki_roots: bool,
    pub(crate) extra_roots: Vec<CertificateDer<'static>>,
    pub(crate) danger_accept_invalid_certs: bool,
    pub(crate) client_certificate: Option<Arc<dyn ClientCertificate>>,
    pub(crate) authorizer: Option<Arc<dyn Authorizer>>,
    pub(crate) http2: bool,
    pub(crate) https_only: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            response_header_timeout: DEFAULT_RESPONSE_HEADER_TIMEOUT,
            read_idle_timeout: DEFAULT_READ_IDLE_TIMEOUT,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            pool_idle_timeout: Some(DEFAULT_POOL_IDLE_TIMEOUT),
            pool_max_idle_per_host: usize::MAX,
            user_agent: HeaderValue::from_static(DEFAULT_USER_AGENT),
            default_headers: HeaderMap::new(),
            webpki_roots: true,
            extra_roots: Vec::new(),
            danger_accept_invalid_certs: false,
            client_certificate: None,
            authorizer: None,
            http2: true,
            https_only: false,
        }
    }
}

impl fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Default header values may be credentials (API keys): print only their names.
        let header_names: Vec<&str> = self.default_headers.keys().map(|k| k.as_str()).collect();
        f.debug_struct("HttpConfig")
            .field("connect_timeout", &self.connect_timeout)
            .field("response_header_timeout", &self.response_header_timeout)
            .field("read_idle_timeout", &self.read_idle_timeout)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("pool_idle_timeout", &self.pool_idle_timeout)
            .field("pool_max_idle_per_host", &self.pool_max_idle_per_host)
            .field("user_agent", &self.user_agent)
            .field("default_headers", &header_names)
            .field("webpki_roots", &self.webpki_roots)
            .field("extra_roots", &self.extra_roots.len())
            .field(
                "danger_accept_invalid_certs",
                &self.danger_accept_invalid_certs,
            )
            .field("client_certificate", &self.client_certificate)
            .field("authorizer", &self.authorizer)
            .field("http2", &self.http2)
            .field("https_only", &self.https_only)
            .finish()
    }
}

impl HttpConfig {
    /// A builder with the defaults.
    pub fn builder() -> HttpConfigBuilder {
        HttpConfigBuilder::default()
    }

    /// A builder starting from this configuration.
    pub fn to_builder(&self) -> HttpConfigBuilder {
        HttpConfigBuilder {
            config: self.clone(),
            errors: Vec::new(),
            root_pems: Vec::new(),
        }
    }

    /// The rustls client configuration this crate uses — roots, extra CAs, the insecure
    /// verifier if enabled, the client certificate hook, the ring provider — with the given
    /// ALPN protocols. The WebSocket transport uses it with [`Alpn::Http1`] so that both
    /// transports trust and present exactly the same things.
    pub fn rustls_config(&self, alpn: Alpn) -> Result<Arc<rustls::ClientConfig>, HttpError> {
        tls::build_rustls_config(&self.tls_settings(), &alpn).map(Arc::new)
    }

    pub(crate) fn tls_settings(&self) -> TlsSettings<'_> {
        TlsSettings {
            webpki_roots: self.webpki_roots,
            extra_roots: &self.extra_roots,
            danger_accept_invalid_certs: self.danger_accept_invalid_certs,
            client_certificate: self.client_certificate.as_ref(),
        }
    }

    /// Timeout for establishing a TCP connection.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// Timeout from dispatch until the response head arrives.
    pub fn response_header_timeout(&self) -> Duration {
        self.response_header_timeout
    }

    /// Longest time without a byte while reading a response body.
    pub fn read_idle_timeout(&self) -> Duration {
        self.read_idle_timeout
    }

    /// Limit of [`Body::collect`](crate::Body::collect).
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// How long an idle pooled connection is kept (`None`: no limit).
    pub fn pool_idle_timeout(&self) -> Option<Duration> {
        self.pool_idle_timeout
    }

    /// The `User-Agent` sent when a request does not set one.
    pub fn user_agent(&self) -> &HeaderValue {
        &self.user_agent
    }

    /// Headers added to each request that does not already have them.
    pub fn default_headers(&self) -> &HeaderMap {
        &self.default_headers
    }

    /// Whether server certificates are not verified (insecure).
    pub fn danger_accept_invalid_certs(&self) -> bool {
        self.danger_accept_invalid_certs
    }

    /// The client certificate hook, if any.
    pub fn client_certificate(&self) -> Option<&Arc<dyn ClientCertificate>> {
        self.client_certificate.as_ref()
    }

    /// The authorization hook, if any.
    pub fn authorizer(&self) -> Option<&Arc<dyn Authorizer>> {
        self.authorizer.as_ref()
    }

    /// Whether HTTP/2 may be negotiated via ALPN.
    pub fn http2(&self) -> bool {
        self.http2
    }

    /// Whether plain `http://` URIs are refused.
    pub fn https_only(&self) -> bool {
        self.https_only
    }
}

/// Builder of [`HttpConfig`]. Methods take and return the builder by value; invalid input
/// (a bad header, a malformed certificate, …) is reported by [`build`](HttpConfigBuilder::build).
///
/// ```
/// use std::time::Duration;
/// let config = conduit_http::HttpConfig::builder()
///     .connect_timeout(Duration::from_secs(5))
///     .default_header("x-client", "docs")
///     .build()
///     .unwrap();
/// assert_eq!(config.connect_timeout(), Duration::from_secs(5));
/// ```
#[derive(Debug, Default)]
pub struct HttpConfigBuilder {
    config: HttpConfig,
    errors: Vec<String>,
    root_pems: Vec<Vec<u8>>,
}

impl HttpConfigBuilder {
    /// Timeout for establishing a TCP connection, per address tried (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// Timeout from dispatching a request until its response head (status and headers)
    /// arrives (default 30 s). It includes the TLS handshake when a new connection is opened,
    /// and the upload of the request body.
    pub fn response_header_timeout(mut self, timeout: Duration) -> Self {
        self.config.response_header_timeout = timeout;
        self
    }

    /// Longest time without receiving a byte while reading a response body; exceeding it fails
    /// the read with a [`TimeoutPhase::BodyRead`](crate::TimeoutPhase::BodyRead) timeout
    /// (default 60 s). Long-lived streams (SSE) should send keep-alive comments more often.
    pub fn read_idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.read_idle_timeout = timeout;
        self
    }

    /// Limit in bytes of [`Body::collect`](crate::Body::collect) (default 16 MiB).
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.config.max_body_bytes = limit;
        self
    }

    /// How long an idle pooled connection is kept (default 90 s; `None` keeps it until the
    /// server closes it).
    pub fn pool_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config.pool_idle_timeout = timeout;
        self
    }

    /// Maximum number of idle pooled connections per host (default unlimited; 0 disables
    /// connection reuse).
    pub fn pool_max_idle_per_host(mut self, max: usize) -> Self {
        self.config.pool_max_idle_per_host = max;
        self
    }

    /// The `User-Agent` sent when a request sets none (default `conduit/<version>`).
    pub fn user_agent(mut self, user_agent: impl AsRef<str>) -> Self {
        match HeaderValue::try_from(user_agent.as_ref()) {
            Ok(value) => self.config.user_agent = value,
            Err(_) => self
                .errors
                .push("user agent is not a valid header value".to_owned()),
        }
        self
    }

    /// A header added to every request that does not set it. Calling it again with the same
    /// name adds another value. Values are treated as sensitive (never indexed by HTTP/2,
    /// never printed by `Debug`).
    pub fn default_header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        let name_str = name.as_ref();
        match HeaderName::try_from(name_str) {
            Ok(header_name) => match HeaderValue::try_from(value.as_ref()) {
                Ok(mut header_value) => {
                    header_value.set_sensitive(true);
                    self.config
                        .default_headers
                        .append(header_name, header_value);
                }
                Err(_) => self
                    .errors
                    .push(format!("default header `{name_str}` has an invalid value")),
            },
            Err(_) => self
                .errors
                .push(format!("`{name_str}` is not a valid header name")),
        }
        self
    }

    /// Replaces all default headers (their values are marked sensitive).
    pub fn default_headers(mut self, headers: HeaderMap) -> Self {
        self.config.default_headers = headers;
        self
    }

    /// Whether the Mozilla root set bundled by `webpki-roots` is trusted (default `true`).
    pub fn webpki_roots(mut self, enabled: bool) -> Self {
        self.config.webpki_roots = enabled;
        self
    }

    /// Trusts an extra CA certificate (DER), in addition to the webpki roots.
    pub fn add_root_certificate(mut self, certificate: CertificateDer<'static>) -> Self {
        self.config.extra_roots.push(certificate);
        self
    }

    /// Trusts extra CA certificates (DER).
    pub fn add_root_certificates(
        mut self,
        certificates: impl IntoIterator<Item = CertificateDer<'static>>,
    ) -> Self {
        self.config.extra_roots.extend(certificates);
        self
    }

    /// Trusts every `CERTIFICATE` block in PEM text (parsed by [`build`](Self::build)).
    pub fn add_root_certificates_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.root_pems.push(pem.as_ref().to_vec());
        self
    }

    /// **Insecure.** Accepts any server certificate: unknown issuer, expired, for another
    /// name. Handshake signatures are still checked. Only for development against servers with
    /// self-signed certificates; a `WARN` event is logged whenever a client is built with it.
    pub fn tls_danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.config.danger_accept_invalid_certs = accept;
        self
    }

    /// Presents a client certificate (mTLS) when a server asks for one.
    pub fn client_certificate(mut self, certificate: Arc<dyn ClientCertificate>) -> Self {
        self.config.client_certificate = Some(certificate);
        self
    }

    /// Authorizes every request of [`HttpClient::send`](crate::HttpClient::send).
    pub fn authorizer(mut self, authorizer: Arc<dyn Authorizer>) -> Self {
        self.config.authorizer = Some(authorizer);
        self
    }

    /// Whether HTTP/2 may be negotiated via ALPN on HTTPS connections (default `true`).
    /// Plain `http://` always uses HTTP/1.1 (with keep-alive).
    pub fn http2(mut self, enabled: bool) -> Self {
        self.config.http2 = enabled;
        self
    }

    /// Refuses plain `http://` URIs with [`HttpError::InvalidUri`] (default `false`).
    pub fn https_only(mut self, enabled: bool) -> Self {
        self.config.https_only = enabled;
        self
    }

    /// Validates and returns the configuration: header values, PEM input, extra roots and the
    /// presence of at least one trust anchor.
    pub fn build(mut self) -> Result<HttpConfig, HttpError> {
        for pem in std::mem::take(&mut self.root_pems) {
            match tls::parse_pem_certificates(&pem) {
                Ok(certs) => self.config.extra_roots.extend(certs),
                Err(e) => self.errors.push(e.to_string()),
            }
        }
        if !self.errors.is_empty() {
            return Err(HttpError::config(self.errors.join("; ")));
        }
        if !self.config.danger_accept_invalid_certs {
            let roots = tls::root_store(self.config.webpki_roots, &self.config.extra_roots)?;
            if roots.is_empty() {
                return Err(HttpError::config(
                    "no trusted root certificates: enable webpki roots or add a CA",
                ));
            }
        }
        for value in self.config.default_headers.values_mut() {
            value.set_sensitive(true);
        }
        if self.config.user_agent.is_empty() {
            self.config.user_agent = HeaderValue::from_static(DEFAULT_USER_AGENT);
        }
        Ok(self.config)
    }
}

/// Applies the user agent and default headers to a request head, without overriding.
pub(crate) fn apply_defaults(config: &HttpConfig, headers: &mut HeaderMap) {
    if !headers.contains_key(USER_AGENT) {
        headers.insert(USER_AGENT, config.user_agent.clone());
    }
    for name in config.default_headers.keys() {
        if !headers.contains_key(name) {
            for value in config.default_headers.get_all(name) {
                headers.append(name.clone(), value.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = HttpConfig::builder().build().unwrap();
        assert_eq!(c.connect_timeout(), Duration::from_secs(10));
        assert_eq!(c.response_header_timeout(), Duration::from_secs(30));
        assert_eq!(c.read_idle_timeout(), Duration::from_secs(60));
        assert_eq!(c.max_body_bytes(), 16 * 1024 * 1024);
        assert!(c.user_agent().to_str().unwrap().starts_with("conduit/"));
        assert!(!c.danger_accept_invalid_certs());
    }

    #[test]
    fn errors_are_deferred_to_build() {
        let err = HttpConfig::builder()
            .default_header("bad name", "v")
            .default_header("x-ok", "bad\nvalue")
            .user_agent("ua\r\n")
            .build()
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("`bad name` is not a valid header name"),
            "{text}"
        );
        assert!(text.contains("x-ok"), "{text}");
        assert!(text.contains("user agent"), "{text}");
        assert!(!text.contains("bad\nvalue"));
    }

    #[test]
    fn no_roots_is_an_error_unless_insecure() {
        assert!(HttpConfig::builder().webpki_roots(false).build().is_err());
        assert!(HttpConfig::builder()
            .webpki_roots(false)
            .tls_danger_accept_invalid_certs(true)
            .build()
            .is_ok());
        assert!(HttpConfig::builder()
            .add_root_certificates_pem("not pem")
            .build()
            .is_err());
        assert!(HttpConfig::builder()
            .add_root_certificate(CertificateDer::from(vec![1, 2, 3]))
            .build()
            .is_err());
    }

    #[test]
    fn debug_hides_default_header_values() {
        let c = HttpConfig::builder()
            .default_header("x-api-key", "topsecret")
            .build()
            .unwrap();
        let debug = format!("{c:?}");
        assert!(debug.contains("x-api-key"));
        assert!(!debug.contains("topsecret"));
    }

    #[test]
    fn rustls_config_sets_alpn() {
        let c = HttpConfig::default();
        let tls = c.rustls_config(Alpn::Http1).unwrap();
        assert_eq!(tls.alpn_protocols, vec![b"http/1.1".to_vec()]);
        let tls = c.rustls_config(Alpn::Http2AndHttp1).unwrap();
        assert_eq!(tls.alpn_protocols.len(), 2);
    }
}
