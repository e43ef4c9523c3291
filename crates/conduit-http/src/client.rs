//! [`HttpClient`]: the pooled client with timeouts and the authorization hook.

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, HOST, WWW_AUTHENTICATE};
use http::uri::{Authority, Scheme};
use http::{Request, Response, StatusCode, Uri};
use http_body_util::Full;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::auth::{Authorizer, Challenge, Retry};
use crate::body::Body;
use crate::config::{apply_defaults, HttpConfig};
use crate::error::{body_excerpt, from_client, HttpError};
use crate::tls::{self, Alpn};

/// How many bytes of a rejected response body are kept in [`HttpError::Unauthorized`].
const UNAUTHORIZED_EXCERPT_BYTES: usize = 1024;

/// A rejected response body up to this size is read before the retry, to keep the connection.
const DRAIN_LIMIT_BYTES: u64 = 16 * 1024;
/// … if that takes no longer than this.
const DRAIN_TIME_LIMIT: Duration = Duration::from_millis(500);

type Pool = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The pool in use and the client-certificate generation it was built for (see
/// [`ClientCertificate::generation`](crate::ClientCertificate::generation)); shared by clones.
#[derive(Debug)]
struct Pools {
    current: RwLock<(u64, Pool)>,
}

/// The HTTP(S) client of Conduit: one connection pool (HTTP/1.1 keep-alive, HTTP/2 via ALPN),
/// rustls with the ring provider, timeouts, and the [`Authorizer`] hook.
///
/// Cloning is cheap and clones share the pool. [`with_authorizer`](HttpClient::with_authorizer)
/// derives a client with another authorizer over the same pool.
///
/// # Redirects
///
/// Redirects are never followed: a 3xx response is returned to the caller as is. So
/// credentials added by the authorizer (or default headers) are never sent to another origin
/// by this crate; a caller that chooses to follow a redirect decides what to send there.
///
/// # Timeouts
///
/// * connect timeout — establishing the TCP connection ([`TimeoutPhase::Connect`](crate::TimeoutPhase::Connect));
/// * response-header timeout — from dispatch until the response head arrives, including a TLS
///   handshake on a fresh connection and the request upload ([`TimeoutPhase::ResponseHeaders`](crate::TimeoutPhase::ResponseHeaders));
/// * read-idle timeout — enforced by [`Body`] while reading the response body
///   ([`TimeoutPhase::BodyRead`](crate::TimeoutPhase::BodyRead)).
///
/// Requests must be made from within a Tokio runtime.
#[derive(Clone, Debug)]
pub struct HttpClient {
    pool: Arc<Pools>,
    config: Arc<HttpConfig>,
    authorizer: Option<Arc<dyn Authorizer>>,
    /// The last validated scheme and authority and what was derived from them (see
    /// `check_uri`).
    last_host: Arc<Mutex<Option<(Scheme, Authority, Endpoint)>>>,
}

/// What a request's URI gives: `host:port` for errors and logs, and the `Host` header when the
/// request certainly goes over HTTP/1.1.
#[derive(Clone, Debug)]
struct Endpoint {
    host: Arc<str>,
    /// Set when the connection is certainly HTTP/1.1 (plain `http`, or HTTP/2 disabled): the
    /// value hyper-util would otherwise format for every request.
    host_header: Option<HeaderValue>,
}

impl Endpoint {
    /// Adds the `Host` header unless the request has one.
    fn add_host(&self, headers: &mut http::HeaderMap) {
        if let Some(value) = &self.host_header {
            if !headers.contains_key(HOST) {
                headers.insert(HOST, value.clone());
            }
        }
    }
}

impl HttpClient {
    /// Builds a client (and its rustls configuration) from `config`.
    ///
    /// Logs a `WARN` event when `tls_danger_accept_invalid_certs` is enabled.
    pub fn new(config: HttpConfig) -> Result<Self, HttpError> {
        if config.danger_accept_invalid_certs {
            tracing::warn!(
                "TLS certificate verification is DISABLED (tls_danger_accept_invalid_certs): \
                 any server can impersonate any host; never use this in production"
            );
        }
        let generation = certificate_generation(&config);
        let pool = build_pool(&config)?;
        let authorizer = config.authorizer.clone();
        Ok(HttpClient {
            pool: Arc::new(Pools {
                current: RwLock::new((generation, pool)),
            }),
            config: Arc::new(config),
            authorizer,
            last_host: Arc::default(),
        })
    }

    /// The pool for a request made now: a new one (new connections, new TLS session cache)
    /// when the client certificate changed since the current one was built, so that the
    /// request presents the certificate current now. Requests in flight keep the pool they
    /// started on (and its connections) until they finish.
    fn current_pool(&self) -> Pool {
        let generation = certificate_generation(&self.config);
        {
            let current = self
                .pool
                .current
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            if current.0 == generation {
                return current.1.clone();
            }
        }
        let mut current = self
            .pool
            .current
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if current.0 != generation {
            match build_pool(&self.config) {
                Ok(pool) => {
                    tracing::debug!(
                        generation,
                        "the client certificate changed: new requests use new connections"
                    );
                    *current = (generation, pool);
                }
                Err(err) => {
                    // Cannot happen with a configuration that built once; keep serving.
                    tracing::warn!(error = %err, "could not renew the connection pool after a client certificate change");
                    current.0 = generation;
                }
            }
        }
        current.1.clone()
    }

    /// A client with the default configuration.
    pub fn with_defaults() -> Result<Self, HttpError> {
        Self::new(HttpConfig::default())
    }

    /// The configuration this client was built with.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// The authorizer used by [`send`](HttpClient::send), if any.
    pub fn authorizer(&self) -> Option<&Arc<dyn Authorizer>> {
        self.authorizer.as_ref()
    }

    /// A client sharing this one's pool and configuration but using `authorizer` for
    /// [`send`](HttpClient::send).
    pub fn with_authorizer(&self, authorizer: Arc<dyn Authorizer>) -> Self {
        HttpClient {
            pool: self.pool.clone(),
            config: self.config.clone(),
            authorizer: Some(authorizer),
            last_host: self.last_host.clone(),
        }
    }

    /// A client sharing this one's pool and configuration, without an authorizer.
    pub fn without_authorizer(&self) -> Self {
        HttpClient {
            pool: self.pool.clone(),
            config: self.config.clone(),
            authorizer: None,
            last_host: self.last_host.clone(),
        }
    }

    /// Sends a request through the authorizer.
    ///
    /// 1. Adds the `User-Agent` and default headers the request does not set.
    /// 2. Lets the authorizer add its headers, then sends, bounded by the connect and
    ///    response-header timeouts.
    /// 3. On `401`, or `403` whose `WWW-Authenticate` names `insufficient_scope`, asks
    ///    [`Authorizer::on_unauthorized`]; on [`Retry::Resend`] authorizes again and resends
    ///    exactly once (the body is `Bytes`, so resending is a cheap clone). A rejection that
    ///    remains, or [`Retry::GiveUp`], returns [`HttpError::Unauthorized`].
    ///
    /// Without an authorizer this is [`send_unauthenticated`](HttpClient::send_unauthenticated).
    /// Every other status (including 3xx, which is never followed) is returned as a response.
    pub async fn send(&self, request: Request<Bytes>) -> Result<Response<Body>, HttpError> {
        match &self.authorizer {
            Some(authorizer) => self.send_authorized(request, authorizer.as_ref()).await,
            None => self.send_unauthenticated(request).await,
        }
    }

    /// Sends a request without calling the authorizer: no credentials are added and 401/403
    /// responses are returned as responses. Meant for endpoints that carry their own
    /// credentials or none (OAuth metadata and token endpoints, the DataGrout CA).
    pub async fn send_unauthenticated(
        &self,
        request: Request<Bytes>,
    ) -> Result<Response<Body>, HttpError> {
        let (mut parts, body) = request.into_parts();
        let endpoint = self.check_uri(&parts.uri)?;
        apply_defaults(&self.config, &mut parts.headers);
        endpoint.add_host(&mut parts.headers);
        self.dispatch(parts, body, &endpoint.host).await
    }

    async fn send_authorized(
        &self,
        request: Request<Bytes>,
        authorizer: &dyn Authorizer,
    ) -> Result<Response<Body>, HttpError> {
        let (mut parts, body) = request.into_parts();
        let endpoint = self.check_uri(&parts.uri)?;
        apply_defaults(&self.config, &mut parts.headers);
        endpoint.add_host(&mut parts.headers);
        let host = endpoint.host;

        let mut retried = false;
        let mut nonce_retried = false;
        loop {
            let mut attempt = parts.clone();
            authorizer
                .authorize(&mut attempt)
                .await
                .map_err(|source| HttpError::Auth {
                    host: host.to_string(),
                    source,
                })?;
            let response = self.dispatch(attempt, body.clone(), &host).await?;
            if !is_auth_rejection(&response) {
                return Ok(response);
            }

            let (head, rejected_body) = response.into_parts();
            // After the credentials retry, only a nonce challenge (RFC 9449 §9) is offered to
            // the authorizer again.
            let may_nonce = !nonce_retried && head.headers.contains_key("dpop-nonce");
            if !retried || may_nonce {
                let challenge = Challenge::from_response(&parts.uri, &head);
                let decision = authorizer
                    .on_unauthorized(&challenge)
                    .await
                    .map_err(|source| HttpError::Auth {
                        host: host.to_string(),
                        source,
                    })?;
                let resend = match decision {
                    Retry::Resend if !retried => {
                        retried = true;
                        true
                    }
                    Retry::ResendWithNonce if may_nonce => {
                        nonce_retried = true;
                        true
                    }
                    _ => false,
                };
                if resend {
                    tracing::debug!(
                        host = %host,
                        status = head.status.as_u16(),
                        "credentials rejected; retrying once with refreshed credentials"
                    );
                    // Drain a small, announced body so an HTTP/1.1 connection can go back to
                    // the pool; otherwise dropping it closes the connection.
                    if rejected_body
                        .exact_len()
                        .is_some_and(|len| len <= DRAIN_LIMIT_BYTES)
                    {
                        rejected_body
                            .read_prefix(DRAIN_LIMIT_BYTES as usize, DRAIN_TIME_LIMIT)
                            .await;
                    }
                    continue;
                }
            }
            let excerpt = rejected_body
                .read_prefix(UNAUTHORIZED_EXCERPT_BYTES, self.config.read_idle_timeout)
                .await;
            return Err(HttpError::Unauthorized {
                host: host.to_string(),
                status: head.status,
                www_authenticate: head
                    .headers
                    .get_all(WWW_AUTHENTICATE)
                    .iter()
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    .collect(),
                body_excerpt: body_excerpt(&excerpt, UNAUTHORIZED_EXCERPT_BYTES),
            });
        }
    }

    /// Validates the URI and returns what is derived from it (the last one is kept, so that
    /// requests to one endpoint do not format it each time).
    fn check_uri(&self, uri: &Uri) -> Result<Endpoint, HttpError> {
        if let Ok(last) = self.last_host.lock() {
            if let Some((scheme, authority, endpoint)) = last.as_ref() {
                if uri.scheme() == Some(scheme) && uri.authority() == Some(authority) {
                    return Ok(endpoint.clone());
                }
            }
        }
        let host = self.format_host(uri)?;
        let endpoint = Endpoint {
            host,
            host_header: self.host_header(uri),
        };
        if let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) {
            if let Ok(mut last) = self.last_host.lock() {
                *last = Some((scheme.clone(), authority.clone(), endpoint.clone()));
            }
        }
        Ok(endpoint)
    }

    /// The `Host` header hyper-util sends on an HTTP/1.1 connection (the host, and the port
    /// unless it is the scheme's default), when the connection to `uri` is certainly HTTP/1.1:
    /// plain `http` (no HTTP/2 without TLS here), or HTTP/2 disabled. Over HTTP/2 the
    /// authority travels as `:authority` instead, so no header is set then.
    fn host_header(&self, uri: &Uri) -> Option<HeaderValue> {
        let https = uri.scheme() == Some(&Scheme::HTTPS);
        if https && self.config.http2 {
            return None;
        }
        let host = uri.host()?;
        let default_port = if https { 443 } else { 80 };
        let value = match uri.port_u16() {
            Some(port) if port != default_port => format!("{host}:{port}"),
            _ => host.to_owned(),
        };
        HeaderValue::from_str(&value).ok()
    }

    fn format_host(&self, uri: &Uri) -> Result<Arc<str>, HttpError> {
        let invalid = |reason: &str| HttpError::InvalidUri {
            uri: redacted_uri(uri),
            reason: reason.to_owned(),
        };
        let scheme = uri.scheme().ok_or_else(|| invalid("no scheme"))?;
        let default_port = if *scheme == Scheme::HTTPS {
            443
        } else if *scheme == Scheme::HTTP {
            if self.config.https_only {
                return Err(invalid("plain http is not allowed (https only)"));
            }
            80
        } else {
            return Err(invalid("unsupported scheme (expected http or https)"));
        };
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| invalid("no host"))?;
        let port = uri.port_u16().unwrap_or(default_port);
        Ok(Arc::from(format!("{host}:{port}")))
    }

    /// One exchange: no authorizer, no retry.
    async fn dispatch(
        &self,
        parts: http::request::Parts,
        body: Bytes,
        host: &Arc<str>,
    ) -> Result<Response<Body>, HttpError> {
        let method = parts.method.clone();
        // Formatted only when debug events are wanted (it is per request otherwise).
        let log_uri = tracing::enabled!(tracing::Level::DEBUG)
            .then(|| redacted_uri(&parts.uri))
            .unwrap_or_default();
        let request = Request::from_parts(parts, Full::new(body));
        let timeout = self.config.response_header_timeout;
        let response = match tokio::time::timeout(timeout, self.current_pool().request(request))
            .await
        {
            Ok(Ok(response)) => response,
            Ok(Err(err)) => {
                let err = from_client(host, self.config.connect_timeout, err);
                tracing::debug!(%method, uri = %log_uri, error = %err, "HTTP request failed");
                return Err(err);
            }
            Err(_elapsed) => {
                tracing::debug!(%method, uri = %log_uri, ?timeout, "HTTP response headers timed out");
                return Err(HttpError::Timeout {
                    phase: crate::TimeoutPhase::ResponseHeaders,
                    host: host.to_string(),
                    after: timeout,
                });
            }
        };
        tracing::debug!(
            %method,
            uri = %log_uri,
            status = response.status().as_u16(),
            version = ?response.version(),
            "HTTP response"
        );
        Ok(response.map(|incoming| {
            Body::incoming(
                incoming,
                host.clone(),
                self.config.read_idle_timeout,
                self.config.max_body_bytes,
            )
        }))
    }
}

/// The generation of the configured client certificate (0 without one).
fn certificate_generation(config: &HttpConfig) -> u64 {
    config
        .client_certificate
        .as_ref()
        .map_or(0, |certificate| certificate.generation())
}

/// A pool (connector, rustls configuration and its TLS session cache) for `config`.
fn build_pool(config: &HttpConfig) -> Result<Pool, HttpError> {
    // hyper-rustls sets ALPN itself from the enabled HTTP versions.
    let tls_config = tls::build_rustls_config(&config.tls_settings(), &Alpn::None)?;

    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(config.connect_timeout));
    http.set_nodelay(true);

    let builder = HttpsConnectorBuilder::new()
        .with_tls_config(tls_config)
        .https_or_http();
    let connector = if config.http2 {
        builder.enable_all_versions().wrap_connector(http)
    } else {
        builder.enable_http1().wrap_connector(http)
    };

    let mut pool = Client::builder(TokioExecutor::new());
    pool.pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        .pool_idle_timeout(config.pool_idle_timeout)
        .pool_max_idle_per_host(config.pool_max_idle_per_host);
    Ok(pool.build(connector))
}

/// 401, or 403 with an `insufficient_scope` challenge.
fn is_auth_rejection(response: &Response<Body>) -> bool {
    match response.status() {
        StatusCode::UNAUTHORIZED => true,
        StatusCode::FORBIDDEN => response
            .headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .any(mentions_insufficient_scope),
        _ => false,
    }
}

fn mentions_insufficient_scope(value: &HeaderValue) -> bool {
    value
        .as_bytes()
        .windows(b"insufficient_scope".len())
        .any(|w| w.eq_ignore_ascii_case(b"insufficient_scope"))
}

/// `scheme://host[:port]/path`, without user info and query, for errors and logs.
pub(crate) fn redacted_uri(uri: &Uri) -> String {
    let mut out = String::new();
    if let Some(scheme) = uri.scheme_str() {
        out.push_str(scheme);
        out.push_str("://");
    }
    if let Some(host) = uri.host() {
        out.push_str(host);
    }
    if let Some(port) = uri.port_u16() {
        out.push(':');
        out.push_str(&port.to_string());
    }
    out.push_str(uri.path());
    if uri.query().is_some() {
        out.push_str("?…");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_drops_userinfo_and_query() {
        let uri: Uri = "https://user:pw@example.com:8443/mcp?token=abc"
            .parse()
            .unwrap();
        assert_eq!(redacted_uri(&uri), "https://example.com:8443/mcp?…");
    }

    #[tokio::test]
    async fn invalid_uris_are_rejected_before_sending() {
        let client =
            HttpClient::new(HttpConfig::builder().https_only(true).build().unwrap()).unwrap();
        for uri in ["/relative", "ftp://example.com/", "http://example.com/"] {
            let err = client
                .send(Request::get(uri).body(Bytes::new()).unwrap())
                .await
                .unwrap_err();
            assert!(
                matches!(err, HttpError::InvalidUri { .. }),
                "{uri}: {err:?}"
            );
        }
    }
}
