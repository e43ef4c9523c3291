//! Opening one connection: TCP, TLS from the shared rustls configuration, and the upgrade
//! request carrying the subprotocol and the `Authorizer`'s credentials.

use std::sync::Arc;
use std::time::Duration;

use conduit_http::reexports::rustls;
use conduit_http::{Alpn, Challenge, HttpClient, Retry};
use conduit_transport::TransportError;
use http::header::{HeaderValue, SEC_WEBSOCKET_PROTOCOL, USER_AGENT, WWW_AUTHENTICATE};
use http::{StatusCode, Uri};
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::WebSocketStream;

use crate::SUBPROTOCOL;

/// A byte stream: plain TCP or TLS over TCP.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

pub(crate) type Socket = WebSocketStream<Box<dyn Io>>;

pub(crate) struct Target {
    pub(crate) uri: Uri,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) tls: bool,
}

impl Target {
    pub(crate) fn parse(url: &str) -> Result<Target, TransportError> {
        let uri: Uri = url.parse().map_err(|e| {
            TransportError::other(format!("invalid WebSocket endpoint URL {url:?}: {e}"))
        })?;
        let tls = match uri.scheme_str() {
            Some("wss") => true,
            Some("ws") => false,
            _ => {
                return Err(TransportError::other(format!(
                    "the WebSocket endpoint URL must be ws:// or wss://, got {url}"
                )))
            }
        };
        let host = uri
            .host()
            .ok_or_else(|| TransportError::other(format!("the URL {url} has no host")))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        Ok(Target {
            uri,
            host,
            port,
            tls,
        })
    }

    fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// Opens a connection and performs the upgrade. A 401 (or a 403 `insufficient_scope`) on the
/// upgrade is handled as the HTTP transports handle it: the authorizer's
/// [`on_unauthorized`](conduit_http::Authorizer::on_unauthorized) may refresh its credentials
/// ([`Retry::Resend`]: one more upgrade, on a new connection) or learn a DPoP nonce
/// ([`Retry::ResendWithNonce`]: at most one more, counted apart); a rejection that remains is
/// [`TransportError::Unauthorized`].
pub(crate) async fn open(
    http: &HttpClient,
    target: &Target,
    ws_config: WebSocketConfig,
) -> Result<Socket, TransportError> {
    let mut retried = false;
    let mut nonce_retried = false;
    loop {
        match attempt(http, target, ws_config).await {
            Err(Attempt::Unauthorized(challenge, body)) => {
                let may_nonce = !nonce_retried && challenge.headers().contains_key("dpop-nonce");
                let retry = match http.authorizer() {
                    Some(auth) if !retried || may_nonce => {
                        auth.on_unauthorized(&challenge).await.map_err(|e| {
                            TransportError::other(format!("authorization hook: {e}"))
                        })?
                    }
                    _ => Retry::GiveUp,
                };
                match retry {
                    Retry::Resend if !retried => {
                        retried = true;
                        tracing::debug!(
                            target = %target.authority(),
                            "WebSocket upgrade refused (401); retrying once with refreshed credentials"
                        );
                        continue;
                    }
                    Retry::ResendWithNonce if may_nonce => {
                        nonce_retried = true;
                        continue;
                    }
                    _ => {}
                }
                return Err(TransportError::Unauthorized {
                    status: challenge.status().as_u16(),
                    www_authenticate: challenge
                        .www_authenticate_str()
                        .map(str::to_owned)
                        .collect(),
                    body,
                });
            }
            Err(Attempt::Failed(e)) => return Err(e),
            Ok(socket) => return Ok(socket),
        }
    }
}

enum Attempt {
    Unauthorized(Challenge, String),
    Failed(TransportError),
}

impl From<TransportError> for Attempt {
    fn from(e: TransportError) -> Self {
        Attempt::Failed(e)
    }
}

async fn attempt(
    http: &HttpClient,
    target: &Target,
    ws_config: WebSocketConfig,
) -> Result<Socket, Attempt> {
    let config = http.config();
    let connect_timeout = config.connect_timeout();
    let authority = target.authority();
    let tcp = match tokio::time::timeout(
        connect_timeout,
        TcpStream::connect((target.host.as_str(), target.port)),
    )
    .await
    {
        Err(_) => {
            return Err(timeout(format!(
                "connecting to {authority} (after {connect_timeout:?})"
            )))
        }
        Ok(Err(e)) => {
            return Err(Attempt::Failed(TransportError::Connect {
                target: authority,
                source: Box::new(e),
            }))
        }
        Ok(Ok(tcp)) => tcp,
    };
    let _ = tcp.set_nodelay(true);
    let io: Box<dyn Io> = if target.tls {
        let tls = config.rustls_config(Alpn::Http1).map_err(|e| {
            TransportError::other(format!("TLS configuration for {authority}: {e}"))
        })?;
        let name = ServerName::try_from(target.host.clone()).map_err(|e| {
            TransportError::other(format!("invalid TLS server name {:?}: {e}", target.host))
        })?;
        let connector = tokio_rustls::TlsConnector::from(Arc::clone(&tls));
        match tokio::time::timeout(connect_timeout, connector.connect(name, tcp)).await {
            Err(_) => {
                return Err(timeout(format!(
                    "in the TLS handshake with {authority} (after {connect_timeout:?})"
                )))
            }
            Ok(Err(e)) => return Err(Attempt::Failed(io_failure(authority, e))),
            Ok(Ok(stream)) => Box::new(stream),
        }
    } else {
        Box::new(tcp)
    };

    let request = target
        .uri
        .to_string()
        .into_client_request()
        .map_err(|e| TransportError::other(format!("invalid upgrade request: {e}")))?;
    let (mut parts, ()) = request.into_parts();
    parts.headers.insert(
        SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static(SUBPROTOCOL),
    );
    parts
        .headers
        .insert(USER_AGENT, config.user_agent().clone());
    for (name, value) in config.default_headers() {
        parts.headers.insert(name.clone(), value.clone());
    }
    if let Some(auth) = http.authorizer() {
        auth.authorize(&mut parts)
            .await
            .map_err(|e| TransportError::other(format!("authorization hook: {e}")))?;
    }
    let request = http::Request::from_parts(parts, ());
    let header_timeout = config.response_header_timeout();
    let handshake = tokio_tungstenite::client_async_with_config(request, io, Some(ws_config));
    match tokio::time::timeout(header_timeout, handshake).await {
        Err(_) => Err(timeout(format!(
            "waiting for the WebSocket upgrade from {authority} (after {header_timeout:?})"
        ))),
        Ok(Ok((socket, response))) => {
            let protocol = response
                .headers()
                .get(SEC_WEBSOCKET_PROTOCOL)
                .and_then(|v| v.to_str().ok());
            if protocol != Some(SUBPROTOCOL) {
                return Err(Attempt::Failed(TransportError::Malformed(format!(
                    "the server did not accept the {SUBPROTOCOL} subprotocol (it answered {protocol:?})"
                ))));
            }
            Ok(socket)
        }
        Ok(Err(WsError::Http(response))) => {
            let status = response.status();
            let body = response
                .body()
                .as_deref()
                .map(|b| conduit_http::body_excerpt(b, 512))
                .unwrap_or_default();
            if status == StatusCode::UNAUTHORIZED
                || (status == StatusCode::FORBIDDEN
                    && response.headers().contains_key(WWW_AUTHENTICATE))
            {
                let challenge = Challenge::new(
                    status,
                    target.uri.clone(),
                    response
                        .headers()
                        .get_all(WWW_AUTHENTICATE)
                        .iter()
                        .cloned()
                        .collect(),
                )
                .with_headers(response.headers().clone());
                if status == StatusCode::UNAUTHORIZED || challenge.is_insufficient_scope() {
                    return Err(Attempt::Unauthorized(challenge, body));
                }
            }
            Err(Attempt::Failed(TransportError::Status {
                status: status.as_u16(),
                body,
                retry_after: response
                    .headers()
                    .get(http::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs),
            }))
        }
        // TLS 1.3 servers check the client certificate after the client's handshake is done,
        // so an mTLS refusal surfaces here, on the first read.
        Ok(Err(WsError::Io(e))) => Err(Attempt::Failed(io_failure(authority, e))),
        Ok(Err(e)) => Err(Attempt::Failed(TransportError::Connect {
            target: authority,
            source: Box::new(e),
        })),
    }
}

/// A connection failure; a TLS alert about our client certificate becomes
/// [`ClientCertificateRefused`], so the message says what went wrong.
fn io_failure(target: String, e: std::io::Error) -> TransportError {
    let alert = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .filter(|tls| is_client_certificate_alert(tls))
        .cloned();
    let source: conduit_transport::BoxError = match alert {
        Some(tls) => Box::new(ClientCertificateRefused(tls)),
        None => Box::new(e),
    };
    TransportError::Connect { target, source }
}

fn is_client_certificate_alert(e: &rustls::Error) -> bool {
    use rustls::AlertDescription as A;
    matches!(
        e,
        rustls::Error::AlertReceived(
            A::BadCertificate
                | A::UnsupportedCertificate
                | A::CertificateRevoked
                | A::CertificateExpired
                | A::CertificateUnknown
                | A::UnknownCA
                | A::CertificateRequired
        )
    )
}

/// The server refused the TLS session because of the client certificate (mTLS): none was
/// presented, or not one it trusts. The rustls alert is the source.
#[derive(Debug)]
struct ClientCertificateRefused(rustls::Error);

impl std::fmt::Display for ClientCertificateRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the server refused the client certificate (mTLS: none presented, or not issued by a CA it trusts): {}",
            self.0
        )
    }
}

impl std::error::Error for ClientCertificateRefused {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

fn timeout(phase: String) -> Attempt {
    Attempt::Failed(TransportError::Timeout { phase })
}
