//! Request routing: reads and logs every request, then hands it to the module owning its path.
//! New concerns (`/rpc`, `/ws`, OAuth endpoints…) get their own module and one line here.

use std::sync::Arc;

use bytes::Bytes;
use http::request::Parts;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::Value;

use crate::http_util::{text, Body};
use crate::mcp;
use crate::state::State;
use crate::{jsonrpc_endpoint, ws};

/// Largest accepted request body.
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// A fully read request.
pub(crate) struct HttpRequest {
    pub(crate) parts: Parts,
    #[allow(dead_code)] // kept for routes that need the raw bytes
    pub(crate) body: Bytes,
    /// The body parsed as JSON, when it is non-empty valid JSON.
    pub(crate) json: Option<Value>,
}

/// Entry point of every HTTP request.
pub(crate) async fn route<B>(state: Arc<State>, req: Request<B>) -> Response<Body>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) => {
            state.record(&parts, None);
            return if err.downcast_ref::<LengthLimitError>().is_some() {
                text(StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large")
            } else {
                text(
                    StatusCode::BAD_REQUEST,
                    "Bad Request: could not read the body",
                )
            };
        }
    };
    let json = if body.is_empty() {
        None
    } else {
        serde_json::from_slice::<Value>(&body).ok()
    };
    state.record(&parts, json.clone());
    let req = HttpRequest { parts, body, json };
    if let Some(response) = crate::oauth::route(&state, &req) {
        return response;
    }
    if let Some(denied) = crate::oauth::guard(&state, &req) {
        return denied;
    }
    if let Some(response) = crate::legacy::route(&state, &req) {
        return response;
    }
    match req.parts.uri.path() {
        mcp::PATH => mcp::handle(state, req).await,
        jsonrpc_endpoint::PATH | jsonrpc_endpoint::PATH_SLASH => {
            jsonrpc_endpoint::handle(state, req).await
        }
        ws::PATH => ws::handle(state, req).await,
        "/healthz" => text(StatusCode::OK, "ok"),
        path if crate::ca::TestCa::owns(path) => match &state.config.mtls {
            Some(ca) => ca.handle(&req),
            None => text(StatusCode::NOT_FOUND, "Not Found"),
        },
        _ => text(StatusCode::NOT_FOUND, "Not Found"),
    }
}
