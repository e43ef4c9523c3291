//! Small HTTP helpers shared by registration, onramp and the token request.

use std::time::Duration;

use bytes::Bytes;
use conduit_http::{body_excerpt, HttpClient};
use serde_json::Value;

use crate::error::IdentityError;

/// Largest response body read from the CA, onramp or token endpoints.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// How much of an error body is kept in [`IdentityError::Status`].
const EXCERPT_BYTES: usize = 512;

/// Sends `request` without the client's authorizer, within `deadline`, and returns the body of
/// a 2xx response; a non-2xx response becomes [`IdentityError::Status`].
pub(crate) async fn exchange(
    http: &HttpClient,
    request: http::Request<Bytes>,
    what: &'static str,
    deadline: Duration,
) -> Result<Bytes, IdentityError> {
    let work = async {
        let response = http
            .send_unauthenticated(request)
            .await
            .map_err(|source| IdentityError::Http { what, source })?;
        let status = response.status();
        let body = response
            .into_body()
            .collect_limited(MAX_RESPONSE_BYTES)
            .await
            .map_err(|source| IdentityError::Http { what, source })?;
        if !status.is_success() {
            return Err(IdentityError::Status {
                what,
                status: status.as_u16(),
                body: body_excerpt(&body, EXCERPT_BYTES),
            });
        }
        Ok(body)
    };
    tokio::time::timeout(deadline, work)
        .await
        .map_err(|_| IdentityError::Timeout {
            what,
            after: deadline,
        })?
}

/// [`exchange`], then parses a JSON object.
pub(crate) async fn exchange_json(
    http: &HttpClient,
    request: http::Request<Bytes>,
    what: &'static str,
    deadline: Duration,
) -> Result<serde_json::Map<String, Value>, IdentityError> {
    let body = exchange(http, request, what, deadline).await?;
    match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(IdentityError::InvalidResponse {
            what,
            reason: "the body is not a JSON object".to_owned(),
        }),
        Err(e) => Err(IdentityError::InvalidResponse {
            what,
            reason: format!("the body is not JSON: {e}"),
        }),
    }
}

pub(crate) fn json_request(
    uri: &str,
    body: &Value,
    bearer: Option<&str>,
) -> Result<http::Request<Bytes>, IdentityError> {
    let mut builder = http::Request::post(uri)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::ACCEPT, "application/json");
    if let Some(token) = bearer {
        builder = builder.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
    }
    builder.body(Bytes::from(body.to_string())).map_err(|e| {
        IdentityError::Config(format!(
            "cannot build a request to {uri}: {}",
            redact(&e.to_string())
        ))
    })
}

/// A required string field (numbers are accepted and printed).
pub(crate) fn required_str(
    map: &serde_json::Map<String, Value>,
    field: &str,
    what: &'static str,
) -> Result<String, IdentityError> {
    optional_str(map, field).ok_or_else(|| IdentityError::InvalidResponse {
        what,
        reason: format!("the `{field}` field is missing or not a string"),
    })
}

pub(crate) fn optional_str(map: &serde_json::Map<String, Value>, field: &str) -> Option<String> {
    match map.get(field) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// Error text from the `http` crate never includes header values, but be safe: keep it short.
fn redact(s: &str) -> String {
    s.chars().take(200).collect()
}

/// Joins a base URL and a path segment, trimming a trailing `/` from the base.
pub(crate) fn join(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}
