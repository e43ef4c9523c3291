//! The user agent of the authorization-code flow: who visits the authorization URL and how the
//! redirect comes back. [`LoopbackBrowser`] opens the system browser (or prints the URL) and
//! listens on 127.0.0.1; [`HeadlessRedirect`] requests the URL itself and reads the redirect
//! (for automatic-consent servers: tests and the conformance suite).

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use conduit_http::BoxFuture;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

use super::error::{OAuthError, OAuthErrorKind};
use super::http::OAuthHttp;
use super::secret::Secret;

/// What came back to the redirect URI.
#[derive(Debug, Clone)]
pub struct CallbackParams {
    /// The authorization code.
    pub code: Secret,
    /// The `state` returned (checked by the flow, in constant time).
    pub state: Option<String>,
    /// The `iss` returned (RFC 9207; checked by the flow).
    pub iss: Option<String>,
}

impl CallbackParams {
    /// Parses a redirect URL's query: `error` means denied; otherwise `code` is required.
    pub fn from_redirect(url: &Url) -> Result<Self, OAuthError> {
        let mut code = None;
        let mut state = None;
        let mut iss = None;
        let mut error = None;
        let mut error_description = None;
        for (k, v) in url.query_pairs() {
            match k.as_ref() {
                "code" => code = Some(v.into_owned()),
                "state" => state = Some(v.into_owned()),
                "iss" => iss = Some(v.into_owned()),
                "error" => error = Some(v.into_owned()),
                "error_description" => error_description = Some(v.into_owned()),
                _ => {}
            }
        }
        if let Some(error) = error {
            return Err(OAuthError::new(
                OAuthErrorKind::Denied,
                format!(
                    "the authorization server denied the request: {error}{}",
                    error_description
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default()
                ),
            ));
        }
        let code = code.ok_or_else(|| {
            OAuthError::new(
                OAuthErrorKind::UserAgent,
                "the redirect carries neither `code` nor `error`",
            )
        })?;
        Ok(CallbackParams {
            code: Secret::new(code),
            state,
            iss,
        })
    }
}

/// One authorization attempt: a redirect URI, then a visit to the authorization URL that ends
/// with the parameters sent to that redirect URI.
pub trait RedirectSession: Send {
    /// The redirect URI to register and to send in the authorization request.
    fn redirect_uri(&self) -> &str;

    /// Lets the user (or the test) visit `authorization_url` and returns what came back.
    fn complete(
        self: Box<Self>,
        authorization_url: Url,
    ) -> BoxFuture<'static, Result<CallbackParams, OAuthError>>;
}

/// Starts [`RedirectSession`]s. Implement it to drive the authorization step yourself (an
/// embedded web view, a custom URI scheme, a device that shows a QR code).
pub trait AuthorizationCodeHandler: Send + Sync + fmt::Debug {
    /// Prepares a redirect target (e.g. binds the loopback listener).
    fn start<'a>(
        &'a self,
        http: &'a OAuthHttp,
    ) -> BoxFuture<'a, Result<Box<dyn RedirectSession>, OAuthError>>;
}

/// The default user agent: a loopback listener on `127.0.0.1` (path `/callback`) and the
/// system browser. When no browser can be started the URL is printed to stderr.
#[derive(Debug)]
pub struct LoopbackBrowser {
    port: Option<u16>,
    open_browser: bool,
    timeout: Duration,
    last_port: Mutex<Option<u16>>,
}

impl Default for LoopbackBrowser {
    fn default() -> Self {
        LoopbackBrowser {
            port: None,
            open_browser: true,
            timeout: Duration::from_secs(300),
            last_port: Mutex::new(None),
        }
    }
}

impl LoopbackBrowser {
    /// A listener on an OS-chosen port (reused across attempts when still free), opening the
    /// browser, waiting up to 300 s.
    pub fn new() -> Self {
        Self::default()
    }

    /// Listens on this exact port.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Whether to try to open the system browser (default `true`); the URL is always printed.
    pub fn open_browser(mut self, on: bool) -> Self {
        self.open_browser = on;
        self
    }

    /// How long to wait for the redirect (default 300 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl AuthorizationCodeHandler for LoopbackBrowser {
    fn start<'a>(
        &'a self,
        _http: &'a OAuthHttp,
    ) -> BoxFuture<'a, Result<Box<dyn RedirectSession>, OAuthError>> {
        Box::pin(async move {
            let remembered = self.last_port.lock().ok().and_then(|p| *p);
            let listener = match self.port.or(remembered) {
                Some(port) => match TcpListener::bind(("127.0.0.1", port)).await {
                    Ok(l) => l,
                    Err(e) if self.port.is_some() => {
                        return Err(OAuthError::new(
                            OAuthErrorKind::UserAgent,
                            format!("cannot listen on 127.0.0.1:{port}: {e}"),
                        ))
                    }
                    Err(_) => bind_any().await?,
                },
                None => bind_any().await?,
            };
            let port = listener
                .local_addr()
                .map_err(|e| OAuthError::new(OAuthErrorKind::UserAgent, e.to_string()))?
                .port();
            if let Ok(mut last) = self.last_port.lock() {
                *last = Some(port);
            }
            Ok(Box::new(LoopbackSession {
                listener,
                redirect_uri: format!("http://127.0.0.1:{port}/callback"),
                open_browser: self.open_browser,
                timeout: self.timeout,
            }) as Box<dyn RedirectSession>)
        })
    }
}

async fn bind_any() -> Result<TcpListener, OAuthError> {
    TcpListener::bind(("127.0.0.1", 0)).await.map_err(|e| {
        OAuthError::new(
            OAuthErrorKind::UserAgent,
            format!("cannot listen on 127.0.0.1: {e}"),
        )
    })
}

struct LoopbackSession {
    listener: TcpListener,
    redirect_uri: String,
    open_browser: bool,
    timeout: Duration,
}

/// The most a callback request head may take.
const MAX_CALLBACK_REQUEST: usize = 8 * 1024;

impl RedirectSession for LoopbackSession {
    fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    fn complete(
        self: Box<Self>,
        authorization_url: Url,
    ) -> BoxFuture<'static, Result<CallbackParams, OAuthError>> {
        Box::pin(async move {
            eprintln!("Open this URL in a browser to authorize:\n  {authorization_url}");
            if self.open_browser {
                open_browser(authorization_url.as_str());
            }
            let deadline = self.timeout;
            tokio::time::timeout(
                deadline,
                accept_callback(&self.listener, &self.redirect_uri),
            )
            .await
            .map_err(|_| {
                OAuthError::new(
                    OAuthErrorKind::UserAgent,
                    format!("no authorization redirect arrived within {deadline:?}"),
                )
            })?
        })
    }
}

async fn accept_callback(
    listener: &TcpListener,
    redirect_uri: &str,
) -> Result<CallbackParams, OAuthError> {
    loop {
        let (mut stream, _) = listener
            .accept()
            .await
            .map_err(|e| OAuthError::new(OAuthErrorKind::UserAgent, e.to_string()))?;
        let mut buf = Vec::with_capacity(1024);
        let mut chunk = [0u8; 1024];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < MAX_CALLBACK_REQUEST {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let head = String::from_utf8_lossy(&buf);
        let target = head
            .lines()
            .next()
            .and_then(|line| line.split_whitespace().nth(1))
            .unwrap_or("");
        let parsed = Url::parse(redirect_uri).and_then(|base| base.join(target));
        let (status, body, result) = match parsed {
            Ok(url) if url.path() == "/callback" => match CallbackParams::from_redirect(&url) {
                Ok(p) => (
                    "200 OK",
                    "Authorization complete. You can close this window.",
                    Some(Ok(p)),
                ),
                Err(e) if e.kind() == OAuthErrorKind::Denied => (
                    "200 OK",
                    "Authorization was denied. You can close this window.",
                    Some(Err(e)),
                ),
                Err(e) => (
                    "400 Bad Request",
                    "Bad authorization callback.",
                    Some(Err(e)),
                ),
            },
            _ => ("404 Not Found", "Not found.", None),
        };
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
        if let Some(result) = result {
            return result;
        }
    }
}

fn open_browser(url: &str) {
    let command = if cfg!(target_os = "macos") {
        ("open", vec![url])
    } else if cfg!(target_os = "windows") {
        ("rundll32", vec!["url.dll,FileProtocolHandler", url])
    } else {
        ("xdg-open", vec![url])
    };
    let spawned = std::process::Command::new(command.0)
        .args(command.1)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if spawned.is_err() {
        tracing::debug!("could not start a browser; the authorization URL was printed");
    }
}

/// A user agent without a user: requests the authorization URL itself (no redirects followed)
/// and reads the code from the `Location` of the redirect. Works with authorization servers
/// that consent automatically — the test gateway and the conformance suite.
#[derive(Debug, Clone)]
pub struct HeadlessRedirect {
    redirect_uri: String,
}

impl HeadlessRedirect {
    /// Uses `redirect_uri` (nothing listens there; the redirect is read, not followed).
    pub fn new(redirect_uri: impl Into<String>) -> Self {
        HeadlessRedirect {
            redirect_uri: redirect_uri.into(),
        }
    }
}

impl AuthorizationCodeHandler for HeadlessRedirect {
    fn start<'a>(
        &'a self,
        http: &'a OAuthHttp,
    ) -> BoxFuture<'a, Result<Box<dyn RedirectSession>, OAuthError>> {
        let session = HeadlessSession {
            http: http.clone(),
            redirect_uri: self.redirect_uri.clone(),
        };
        Box::pin(std::future::ready(Ok(
            Box::new(session) as Box<dyn RedirectSession>
        )))
    }
}

struct HeadlessSession {
    http: OAuthHttp,
    redirect_uri: String,
}

impl RedirectSession for HeadlessSession {
    fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    fn complete(
        self: Box<Self>,
        authorization_url: Url,
    ) -> BoxFuture<'static, Result<CallbackParams, OAuthError>> {
        Box::pin(async move {
            let request = http::Request::get(authorization_url.as_str())
                .body(Bytes::new())
                .map_err(|e| OAuthError::new(OAuthErrorKind::UserAgent, e.to_string()))?;
            let head = self
                .http
                .send_head(request)
                .await
                .map_err(|e| OAuthError::http("authorization request", e))?;
            let location = head
                .headers
                .get(http::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| {
                    OAuthError::new(
                        OAuthErrorKind::UserAgent,
                        format!(
                            "the authorization endpoint answered {} without a redirect",
                            head.status
                        ),
                    )
                })?;
            let url = authorization_url.join(location).map_err(|e| {
                OAuthError::new(
                    OAuthErrorKind::UserAgent,
                    format!("the authorization redirect is not a URL: {e}"),
                )
            })?;
            CallbackParams::from_redirect(&url)
        })
    }
}
