//! The `oauth2` crate's async HTTP client, over [`HttpClient::send_unauthenticated`].

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use conduit_http::{HttpClient, HttpError};
use http::header::{ACCEPT, CONTENT_TYPE};

use super::error::{OAuthError, OAuthErrorKind};
use crate::extensions::dpop::{DpopProver, DPOP_HEADER};

/// Adapts [`HttpClient`] to [`oauth2::AsyncHttpClient`]: token and registration requests go
/// through Conduit's pool, TLS settings and timeouts, never through the authorizer.
#[derive(Clone, Debug)]
pub struct OAuthHttp {
    client: HttpClient,
    dpop: Option<DpopProver>,
}

impl OAuthHttp {
    /// An adapter over `client` (its authorizer, if any, is not used).
    pub fn new(client: HttpClient) -> Self {
        OAuthHttp { client, dpop: None }
    }

    /// Token requests (the `oauth2` crate's requests) carry a DPoP proof signed by `prover`,
    /// and are retried once with the server's nonce on `400 use_dpop_nonce` (RFC 9449 §8).
    pub fn with_dpop(mut self, prover: DpopProver) -> Self {
        self.dpop = Some(prover);
        self
    }

    /// GETs `url` and parses a JSON object; `Ok(None)` for a non-2xx answer or a body that is
    /// not a JSON object.
    pub(crate) async fn get_json(
        &self,
        url: &str,
    ) -> Result<Option<serde_json::Map<String, serde_json::Value>>, OAuthError> {
        let request = http::Request::get(url)
            .header(ACCEPT, "application/json")
            .body(Bytes::new())
            .map_err(|e| {
                OAuthError::new(OAuthErrorKind::Discovery, format!("bad URL {url}: {e}"))
            })?;
        let response = self
            .client
            .send_unauthenticated(request)
            .await
            .map_err(|e| OAuthError::http(format!("GET {url}"), e))?;
        if !response.status().is_success() {
            return Ok(None);
        }
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| OAuthError::http(format!("GET {url}"), e))?;
        Ok(match serde_json::from_slice(&body) {
            Ok(serde_json::Value::Object(map)) => Some(map),
            _ => None,
        })
    }

    /// POSTs a JSON body; returns the status and the body.
    pub(crate) async fn post_json(
        &self,
        url: &str,
        body: &serde_json::Value,
    ) -> Result<(http::StatusCode, Bytes), OAuthError> {
        let request = http::Request::post(url)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(Bytes::from(body.to_string()))
            .map_err(|e| OAuthError::new(OAuthErrorKind::Config, format!("bad URL {url}: {e}")))?;
        let response = self
            .client
            .send_unauthenticated(request)
            .await
            .map_err(|e| OAuthError::http(format!("POST {url}"), e))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| OAuthError::http(format!("POST {url}"), e))?;
        Ok((status, body))
    }

    /// Sends a request as is and returns the head (used to follow the authorization redirect
    /// headlessly).
    pub(crate) async fn send_head(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::response::Parts, HttpError> {
        let response = self.client.send_unauthenticated(request).await?;
        Ok(response.into_parts().0)
    }
}

impl<'c> oauth2::AsyncHttpClient<'c> for OAuthHttp {
    type Error = HttpError;
    type Future =
        Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, Self::Error>> + Send + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let body = Bytes::from(body);
            let Some(prover) = &self.dpop else {
                let request = http::Request::from_parts(parts, body);
                let response = self.client.send_unauthenticated(request).await?;
                let (parts, body) = response.into_parts();
                let body = body.collect().await?;
                return Ok(http::Response::from_parts(parts, body.to_vec()));
            };
            let url =
                url::Url::parse(&parts.uri.to_string()).map_err(|_| HttpError::InvalidUri {
                    uri: parts.uri.path().to_owned(),
                    reason: "not a URL".into(),
                })?;
            let mut retried = false;
            loop {
                let mut attempt = parts.clone();
                let proof = prover
                    .proof(parts.method.as_str(), &url, None)
                    .ok()
                    .and_then(|p| http::HeaderValue::try_from(p).ok())
                    .ok_or_else(|| HttpError::Auth {
                        host: url.host_str().unwrap_or_default().to_owned(),
                        source: conduit_http::AuthHookError::new("could not sign a DPoP proof"),
                    })?;
                attempt.headers.insert(DPOP_HEADER, proof);
                let request = http::Request::from_parts(attempt, body.clone());
                let response = self.client.send_unauthenticated(request).await?;
                let (head, response_body) = response.into_parts();
                let response_body = response_body.collect().await?;
                let fresh_nonce = prover.learn_nonce(&url, &head.headers);
                if !retried
                    && fresh_nonce
                    && head.status == http::StatusCode::BAD_REQUEST
                    && serde_json::from_slice::<serde_json::Value>(&response_body)
                        .ok()
                        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
                        .as_deref()
                        == Some("use_dpop_nonce")
                {
                    retried = true;
                    continue;
                }
                return Ok(http::Response::from_parts(head, response_body.to_vec()));
            }
        })
    }
}
