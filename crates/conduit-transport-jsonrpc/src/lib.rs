//! Plain JSON-RPC 2.0 over HTTP `POST`: the transport for DataGrout's `/rpc` endpoint.
//!
//! Every message is one `POST` of one JSON-RPC object to the endpoint, answered by one JSON
//! object. There is no session, no SSE and no handshake (the reference SDK sends no
//! `initialize` on this endpoint, so [`Transport::handshake`] answers [`Handshake::None`]).
//!
//! It sends through the same [`HttpClient`] as the Streamable HTTP transport — one connection
//! pool, the same TLS and mTLS settings, the same [`Authorizer`](conduit_http::Authorizer) hook
//! with its single retry on 401 — and maps failures with the same function
//! ([`conduit_transport_http::map_http_error`]), so both transports fail identically.
//!
//! Wire details matching the reference SDK: the request path gets a trailing `/` (the reference
//! posts to `…/rpc/`; see [`JsonRpcConfig::trailing_slash`]) and `Accept: */*` is sent.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use conduit_http::{Body, HttpClient};
use conduit_protocol::jsonrpc::{Message, Notification, Outcome, Request, RequestId, Response};
use conduit_transport::{BoxFuture, Handshake, RequestContext, Transport, TransportError};
use conduit_transport_http::map_http_error;
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{Method, Uri};

/// Settings of the JSON-RPC transport.
#[derive(Clone, Debug)]
pub struct JsonRpcConfig {
    /// The largest response body accepted, in bytes (default 16 MiB).
    pub max_message_bytes: usize,
    /// Adds a trailing `/` to the endpoint path, as the reference SDK does (default true).
    pub trailing_slash: bool,
}

impl Default for JsonRpcConfig {
    fn default() -> Self {
        JsonRpcConfig {
            max_message_bytes: 16 * 1024 * 1024,
            trailing_slash: true,
        }
    }
}

/// The JSON-RPC over HTTP transport. Cheap to clone.
#[derive(Clone)]
pub struct JsonRpcHttp {
    inner: Arc<Inner>,
}

struct Inner {
    http: HttpClient,
    url: Uri,
    config: JsonRpcConfig,
    closed: AtomicBool,
}

impl std::fmt::Debug for JsonRpcHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonRpcHttp")
            .field("url", &self.inner.url)
            .finish_non_exhaustive()
    }
}

impl JsonRpcHttp {
    /// A transport POSTing to `url` (http:// or https://) through `http`.
    pub fn new(http: HttpClient, url: &str, config: JsonRpcConfig) -> Result<Self, TransportError> {
        let parsed: Uri = url.parse().map_err(|e| {
            TransportError::other(format!("invalid JSON-RPC endpoint URL {url:?}: {e}"))
        })?;
        match parsed.scheme_str() {
            Some("http") | Some("https") => {}
            _ => {
                return Err(TransportError::other(format!(
                    "the JSON-RPC endpoint URL must be http:// or https://, got {url}"
                )))
            }
        }
        let url = if config.trailing_slash && !parsed.path().ends_with('/') {
            with_trailing_slash(&parsed)?
        } else {
            parsed
        };
        Ok(JsonRpcHttp {
            inner: Arc::new(Inner {
                http,
                url,
                config,
                closed: AtomicBool::new(false),
            }),
        })
    }

    /// The URL requests are POSTed to.
    pub fn endpoint(&self) -> &Uri {
        &self.inner.url
    }
}

fn with_trailing_slash(uri: &Uri) -> Result<Uri, TransportError> {
    let mut parts = uri.clone().into_parts();
    let path = uri.path();
    let pq = match uri.query() {
        Some(q) => format!("{path}/?{q}"),
        None => format!("{path}/"),
    };
    parts.path_and_query = Some(
        pq.parse()
            .map_err(|e| TransportError::other(format!("invalid endpoint path {pq:?}: {e}")))?,
    );
    Uri::from_parts(parts).map_err(|e| TransportError::other(format!("invalid endpoint URL: {e}")))
}

impl Inner {
    async fn post(&self, message: &Message) -> Result<http::Response<Body>, TransportError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(TransportError::Closed);
        }
        let request = http::Request::builder()
            .method(Method::POST)
            .uri(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "*/*")
            .body(Bytes::from(message.to_vec()))
            .map_err(|e| TransportError::other(format!("could not build the request: {e}")))?;
        self.http.send(request).await.map_err(map_http_error)
    }

    async fn status_outcome(
        &self,
        response: http::Response<Body>,
        id: Option<&RequestId>,
    ) -> Result<Response, TransportError> {
        let status = response.status();
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = response
            .into_body()
            .collect_limited(64 * 1024)
            .await
            .unwrap_or_default();
        if let Some(id) = id {
            // A JSON-RPC error answer carried by an error status keeps the server's code.
            if let Ok(Message::Response(r)) = Message::parse(&bytes) {
                let ours = r.id.is_none() || r.id.as_ref() == Some(id);
                if ours && matches!(r.outcome, Outcome::Error(_)) {
                    return Ok(Response {
                        id: Some(id.clone()),
                        outcome: r.outcome,
                    });
                }
            }
        }
        Err(TransportError::Status {
            status: status.as_u16(),
            body: conduit_http::body_excerpt(&bytes, 512),
            retry_after,
        })
    }

    async fn request(&self, request: Request) -> Result<Response, TransportError> {
        let id = request.id.clone();
        let method = request.method.clone();
        let response = self.post(&Message::Request(request)).await?;
        let status = response.status();
        if !status.is_success() {
            return self.status_outcome(response, Some(&id)).await;
        }
        let bytes = response
            .into_body()
            .collect_limited(self.config.max_message_bytes)
            .await
            .map_err(map_http_error)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(TransportError::Malformed(format!(
                "the server answered `{method}` with HTTP {status} and an empty body"
            )));
        }
        match Message::parse(&bytes) {
            Ok(Message::Response(r)) if r.id.as_ref() == Some(&id) => Ok(r),
            Ok(Message::Response(r)) if r.id.is_none() => match r.outcome {
                // An error the server could not attribute (e.g. a parse error) is ours.
                Outcome::Error(_) => Ok(Response {
                    id: Some(id),
                    outcome: r.outcome,
                }),
                Outcome::Result(_) => {
                    Err(TransportError::Malformed("a result without an id".into()))
                }
            },
            Ok(Message::Response(r)) => Err(TransportError::Malformed(format!(
                "the response to request {id} carries id {}",
                r.id.map(|i| i.to_string()).unwrap_or_else(|| "null".into())
            ))),
            Ok(_) => Err(TransportError::Malformed(format!(
                "expected the response to request {id} (`{method}`), got another kind of message"
            ))),
            Err(e) => Err(TransportError::Malformed(format!(
                "the response to request {id} (`{method}`) is not valid JSON-RPC: {e}"
            ))),
        }
    }

    async fn one_way(&self, message: Message) -> Result<(), TransportError> {
        let response = self.post(&message).await?;
        if response.status().is_success() {
            let _ = response.into_body().collect_limited(64 * 1024).await;
            Ok(())
        } else {
            match self.status_outcome(response, None).await {
                Ok(_) => Ok(()),
                Err(e) => Err(e),
            }
        }
    }
}

impl Transport for JsonRpcHttp {
    fn request(
        &self,
        request: Request,
        _ctx: RequestContext,
    ) -> BoxFuture<'_, Result<Response, TransportError>> {
        Box::pin(self.inner.request(request))
    }

    fn notify(
        &self,
        notification: Notification,
        _ctx: RequestContext,
    ) -> BoxFuture<'_, Result<(), TransportError>> {
        Box::pin(self.inner.one_way(Message::Notification(notification)))
    }

    fn respond(
        &self,
        response: Response,
        _ctx: RequestContext,
    ) -> BoxFuture<'_, Result<(), TransportError>> {
        Box::pin(self.inner.one_way(Message::Response(response)))
    }

    fn handshake(&self) -> Handshake {
        Handshake::None
    }

    fn close(&self) -> BoxFuture<'_, Result<(), TransportError>> {
        self.inner.closed.store(true, Ordering::Release);
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_slash_is_added_once_and_keeps_the_query() {
        let http = match HttpClient::with_defaults() {
            Ok(h) => h,
            Err(e) => panic!("http client: {e}"),
        };
        let t = JsonRpcHttp::new(
            http.clone(),
            "http://h/servers/x/rpc?a=1",
            Default::default(),
        );
        assert_eq!(
            t.map(|t| t.endpoint().to_string()).ok().as_deref(),
            Some("http://h/servers/x/rpc/?a=1")
        );
        let t = JsonRpcHttp::new(http.clone(), "http://h/rpc/", Default::default());
        assert_eq!(
            t.map(|t| t.endpoint().to_string()).ok().as_deref(),
            Some("http://h/rpc/")
        );
        assert!(JsonRpcHttp::new(http, "ws://h/rpc", Default::default()).is_err());
    }
}
