//! Response builders and header helpers shared by every route.

use std::convert::Infallible;

use bytes::Bytes;
use futures_util::stream;
use http::header::{HeaderMap, HeaderName, HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use http::{Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::Frame;
use serde_json::Value;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::jsonrpc::{error_response, RpcError};

/// The response body type of every route.
pub(crate) type Body = UnsyncBoxBody<Bytes, Infallible>;

pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed_unsync()
}

pub(crate) fn empty() -> Body {
    Empty::new().boxed_unsync()
}

/// Finishes a builder; an invalid header (never expected) degrades to a bare 500.
pub(crate) fn finish(builder: http::response::Builder, body: Body) -> Response<Body> {
    match builder.body(body) {
        Ok(resp) => resp,
        Err(err) => {
            tracing::error!(%err, "failed to build a response");
            let mut resp = Response::new(empty());
            *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            resp
        }
    }
}

pub(crate) fn status_only(status: StatusCode) -> Response<Body> {
    finish(Response::builder().status(status), empty())
}

pub(crate) fn text(status: StatusCode, body: impl Into<String>) -> Response<Body> {
    finish(
        Response::builder()
            .status(status)
            .header(CONTENT_TYPE, "text/plain; charset=utf-8"),
        full(body.into()),
    )
}

pub(crate) fn json(status: StatusCode, value: &Value) -> Response<Body> {
    json_with_headers(status, value, &[])
}

pub(crate) fn json_with_headers(
    status: StatusCode,
    value: &Value,
    headers: &[(HeaderName, String)],
) -> Response<Body> {
    let mut builder = Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "application/json");
    for (name, val) in headers {
        builder = builder.header(name, val.as_str());
    }
    finish(builder, full(value.to_string()))
}

/// An HTTP error whose body is a JSON-RPC error response.
pub(crate) fn rpc_error(status: StatusCode, id: &Value, error: RpcError) -> Response<Body> {
    json(status, &error_response(id, &error))
}

/// A `text/event-stream` response whose events come from `rx`; the body ends when every
/// sender is dropped.
pub(crate) fn sse(
    rx: UnboundedReceiver<Bytes>,
    headers: &[(HeaderName, String)],
) -> Response<Body> {
    let events = stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, Infallible>(Frame::data(chunk)), rx))
    });
    let mut builder = Response::builder()
        .status(StatusCode::OK)
        .header(CONTENT_TYPE, "text/event-stream")
        .header(CACHE_CONTROL, "no-cache")
        .header("x-accel-buffering", "no");
    for (name, val) in headers {
        builder = builder.header(name, val.as_str());
    }
    finish(builder, StreamBody::new(events).boxed_unsync())
}

/// The header as a string: `Ok(None)` when absent, `Err(())` when not visible ASCII.
pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ()> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => v.to_str().map(Some).map_err(|_| ()),
    }
}

fn media_types(value: &HeaderValue) -> impl Iterator<Item = String> + '_ {
    value.to_str().unwrap_or("").split(',').map(|part| {
        part.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    })
}

/// Whether some `Accept` header lists `media` explicitly.
pub(crate) fn accepts(headers: &HeaderMap, media: &str) -> bool {
    headers
        .get_all(http::header::ACCEPT)
        .iter()
        .any(|v| media_types(v).any(|m| m == media))
}

/// Whether `Content-Type` is `application/json` (parameters such as `charset` allowed).
pub(crate) fn is_json_content_type(headers: &HeaderMap) -> bool {
    headers.get(CONTENT_TYPE).is_some_and(|v| {
        media_types(v)
            .next()
            .is_some_and(|m| m == "application/json")
    })
}
