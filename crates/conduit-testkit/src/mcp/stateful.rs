//! The stateful era (2024-11-05 … 2025-11-25): `initialize`, sessions and the version header.

use std::sync::Arc;

use http::header::{HeaderMap, HeaderName, ALLOW};
use http::{Response, StatusCode};
use serde_json::Value;

use super::dispatch::{self, Era};
use super::versions::requires_version_header;
use super::{answer, Answer, Work, METHOD_HEADER, SESSION_HEADER, VERSION_HEADER};
use crate::config::DiscoverRejection;
use crate::http_util::{finish, full, header_str, json, rpc_error, status_only, text, Body};
use crate::jsonrpc::{code, error_response, result_response, Incoming, RpcError};
use crate::state::{Session, State};

/// Validates `Mcp-Session-Id` and `MCP-Protocol-Version` for a non-initialize request.
pub(super) fn check_session(
    state: &State,
    headers: &HeaderMap,
    id: &Value,
) -> Result<(String, Session), Box<Response<Body>>> {
    let bad = |message: String| {
        Box::new(rpc_error(
            StatusCode::BAD_REQUEST,
            id,
            RpcError::new(code::BAD_REQUEST, message),
        ))
    };
    let session_id = match header_str(headers, SESSION_HEADER) {
        Ok(Some(sid)) if !sid.is_empty() => sid,
        Ok(_) => {
            return Err(bad(
                "Bad Request: Mcp-Session-Id header is required".to_owned()
            ))
        }
        Err(()) => {
            return Err(bad(
                "Bad Request: malformed Mcp-Session-Id header".to_owned()
            ))
        }
    };
    let Some(session) = state.session(session_id) else {
        // The spec's 404, or the status some servers use instead (a fault).
        let status = state
            .faults()
            .unknown_session_status
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(StatusCode::NOT_FOUND);
        return Err(Box::new(rpc_error(
            status,
            id,
            RpcError::new(code::SESSION_NOT_FOUND, "Session not found"),
        )));
    };
    let negotiated = &session.protocol_version;
    match header_str(headers, VERSION_HEADER) {
        Ok(Some(v)) if v == negotiated => {}
        Ok(None) if !requires_version_header(negotiated) => {}
        Ok(None) => {
            return Err(bad(format!(
                "Bad Request: MCP-Protocol-Version header is required (negotiated {negotiated})"
            )))
        }
        Ok(Some(v)) => {
            return Err(bad(format!(
                "Bad Request: unsupported MCP-Protocol-Version {v:?} (negotiated {negotiated})"
            )))
        }
        Err(()) => {
            return Err(bad(
                "Bad Request: malformed MCP-Protocol-Version header".to_owned()
            ))
        }
    }
    Ok((session_id.to_owned(), session))
}

/// An `Mcp-Method` header is optional in this era, but when present it must match the body.
fn check_method_header(headers: &HeaderMap, msg: &Incoming) -> Result<(), RpcError> {
    match (header_str(headers, METHOD_HEADER), msg.method()) {
        (Ok(None), _) => Ok(()),
        (Ok(Some(h)), Some(m)) if h == m => Ok(()),
        (Ok(Some(h)), m) => Err(RpcError::new(
            code::HEADER_MISMATCH,
            format!(
                "Header mismatch: Mcp-Method header value {h:?} does not match body method {m:?}"
            ),
        )),
        (Err(()), _) => Err(RpcError::new(
            code::HEADER_MISMATCH,
            "Header mismatch: malformed Mcp-Method header",
        )),
    }
}

pub(super) async fn post(state: &Arc<State>, headers: &HeaderMap, msg: Incoming) -> Response<Body> {
    if let Err(err) = check_method_header(headers, &msg) {
        return rpc_error(StatusCode::BAD_REQUEST, &msg.id(), err);
    }
    if let Incoming::Request { id, method, params } = &msg {
        if method == "initialize" {
            return initialize(state, id, params).await;
        }
    }
    let (session_id, session) = match check_session(state, headers, &msg.id()) {
        Ok(found) => found,
        Err(resp) => return *resp,
    };
    match msg {
        Incoming::Notification { method, .. } => {
            if method == "notifications/initialized" {
                state.update_session(&session_id, |s| s.initialized = true);
            }
            status_only(StatusCode::ACCEPTED)
        }
        Incoming::Response => status_only(StatusCode::ACCEPTED),
        Incoming::Request { id, method, params } => {
            if !session.initialized {
                tracing::debug!(%method, "request before notifications/initialized");
                state.note_early_request();
            }
            answer(
                state,
                Answer {
                    id,
                    work: Work::Dispatch { method, params },
                    era: Era::Stateful {
                        version: session.protocol_version,
                    },
                    session: Some(session_id),
                    extra_headers: Vec::new(),
                    droppable: true,
                },
            )
            .await
        }
    }
}

async fn initialize(state: &Arc<State>, id: &Value, params: &Value) -> Response<Body> {
    let Some(requested) = params.get("protocolVersion").and_then(Value::as_str) else {
        return rpc_error(
            StatusCode::BAD_REQUEST,
            id,
            RpcError::invalid_params("initialize requires a string \"protocolVersion\""),
        );
    };
    let forced = state.faults().initialize_version;
    let version = dispatch::negotiate(Some(requested));
    let session_id = state.create_session(version);
    let mut result = dispatch::initialize_result(state, version);
    if let Some(forced) = forced {
        result["protocolVersion"] = Value::String(forced);
    }
    let response = result_response(id, result);
    answer(
        state,
        Answer {
            id: id.clone(),
            work: Work::Ready(response),
            era: Era::Stateful {
                version: version.to_owned(),
            },
            session: Some(session_id.clone()),
            extra_headers: vec![(HeaderName::from_static(SESSION_HEADER), session_id)],
            droppable: false,
        },
    )
    .await
}

/// How a stateful-only server refuses `server/discover`.
pub(super) async fn reject_discover(state: &State, msg: &Incoming) -> Response<Body> {
    let id = msg.id();
    match state.config.discover_rejection {
        DiscoverRejection::Silent => {
            let mut shutdown = state.shutdown_receiver();
            let stopped = async {
                while !*shutdown.borrow_and_update() {
                    if shutdown.changed().await.is_err() {
                        return;
                    }
                }
            };
            let _ = tokio::time::timeout(crate::config::SILENT_DISCOVER_LIMIT, stopped).await;
            json(
                StatusCode::OK,
                &error_response(&id, &RpcError::method_not_found("server/discover")),
            )
        }
        DiscoverRejection::MethodNotFound => json(
            StatusCode::OK,
            &error_response(&id, &RpcError::method_not_found("server/discover")),
        ),
        DiscoverRejection::NotInitialized => json(
            StatusCode::OK,
            &error_response(
                &id,
                &RpcError::new(code::NOT_INITIALIZED, "Server not initialized"),
            ),
        ),
        DiscoverRejection::Http400 => text(
            StatusCode::BAD_REQUEST,
            "Bad Request: No valid session ID provided",
        ),
        DiscoverRejection::Http404 => text(StatusCode::NOT_FOUND, "Not Found"),
        DiscoverRejection::Http405 => finish(
            Response::builder()
                .status(StatusCode::METHOD_NOT_ALLOWED)
                .header(ALLOW, "GET"),
            full("Method Not Allowed"),
        ),
    }
}
