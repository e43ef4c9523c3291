//! Plain JSON-RPC over HTTP at `/rpc` (and `/rpc/`, which the reference SDK posts to): one
//! request per POST, answered with one JSON object; no session and no handshake. Methods are
//! served as in a stateful session at the newest stateful version.

use std::sync::Arc;

use http::{Method, Response, StatusCode};
use serde_json::Value;

use crate::http_util::{json, status_only, text, Body};
use crate::jsonrpc::{error_response, Incoming, RpcError};
use crate::mcp::dispatch::{self, CallCtx, Era};
use crate::router::HttpRequest;
use crate::state::State;

/// The endpoint path.
pub(crate) const PATH: &str = "/rpc";
/// The same endpoint with the trailing slash the reference SDK sends.
pub(crate) const PATH_SLASH: &str = "/rpc/";

/// The version requests on `/rpc` and `/ws` are served at.
pub(crate) const SERVED_VERSION: &str = "2025-11-25";

/// Answers one JSON-RPC request object (no `initialize` needed): `None` for notifications
/// and responses.
pub(crate) async fn answer(state: &Arc<State>, body: &Value) -> Option<Value> {
    match Incoming::classify(body) {
        Err(e) => {
            let (id, error) = *e;
            Some(error_response(&id, &error))
        }
        Ok(Incoming::Request { id, method, params }) => {
            let ctx = CallCtx {
                state: Arc::clone(state),
                era: Era::Stateful {
                    version: SERVED_VERSION.into(),
                },
                emitter: None,
            };
            Some(dispatch::respond(&ctx, &id, &method, &params).await)
        }
        Ok(_) => None,
    }
}

/// Handles a request to `/rpc` or `/rpc/`.
pub(crate) async fn handle(state: Arc<State>, req: HttpRequest) -> Response<Body> {
    if req.parts.method != Method::POST {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method Not Allowed: POST only",
        );
    }
    let faults = state.faults();
    if let Some((status, body)) = &faults.status_override {
        let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return match serde_json::from_str::<Value>(body) {
            Ok(v) => json(status, &v),
            Err(_) => text(status, body.clone()),
        };
    }
    if faults.stall {
        state.until_shutdown().await;
        return status_only(StatusCode::SERVICE_UNAVAILABLE);
    }
    let Some(body) = &req.json else {
        return json(
            StatusCode::BAD_REQUEST,
            &error_response(
                &Value::Null,
                &RpcError::new(
                    crate::jsonrpc::code::PARSE_ERROR,
                    "Parse error: the body is not JSON",
                ),
            ),
        );
    };
    match answer(&state, body).await {
        Some(response) => json(StatusCode::OK, &response),
        None => status_only(StatusCode::ACCEPTED),
    }
}
