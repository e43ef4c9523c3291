//! The stateless era (2026-07-28): per-request `_meta`, mirrored request headers, no sessions.

use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine as _;
use http::header::HeaderMap;
use http::{Response, StatusCode};
use serde_json::{json, Value};

use super::dispatch::{method_exists, Era};
use super::versions::{META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION, STATELESS_VERSIONS};
use super::{answer, Answer, Work, METHOD_HEADER, NAME_HEADER, VERSION_HEADER};
use crate::http_util::{header_str, rpc_error, status_only, Body};
use crate::jsonrpc::{code, Incoming, RpcError};
use crate::state::State;

/// Decodes a header value that may use the `=?base64?…?=` sentinel; `None` if the encoding is
/// broken.
pub(crate) fn decode_sentinel(raw: &str) -> Option<String> {
    match raw
        .strip_prefix("=?base64?")
        .and_then(|r| r.strip_suffix("?="))
    {
        Some(inner) => {
            let bytes = STANDARD
                .decode(inner)
                .or_else(|_| STANDARD_NO_PAD.decode(inner))
                .ok()?;
            String::from_utf8(bytes).ok()
        }
        None => Some(raw.to_owned()),
    }
}

fn mismatch(message: impl Into<String>) -> RpcError {
    RpcError::new(
        code::HEADER_MISMATCH,
        format!("Header mismatch: {}", message.into()),
    )
}

/// The body field mirrored into `Mcp-Name`, per method.
fn name_source(method: &str) -> Option<&'static str> {
    match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        _ => None,
    }
}

/// Validates the version header, `_meta`, `Mcp-Method` and `Mcp-Name` of a stateless request.
pub(crate) fn validate(headers: &HeaderMap, method: &str, params: &Value) -> Result<(), RpcError> {
    let header_version = match header_str(headers, VERSION_HEADER) {
        Ok(Some(v)) => v,
        Ok(None) => return Err(mismatch("missing MCP-Protocol-Version header")),
        Err(()) => return Err(mismatch("malformed MCP-Protocol-Version header")),
    };
    let meta = params.get("_meta");
    let Some(meta_version) = meta
        .and_then(|m| m.get(META_PROTOCOL_VERSION))
        .and_then(Value::as_str)
    else {
        return Err(RpcError::invalid_params(format!(
            "Invalid params: _meta[\"{META_PROTOCOL_VERSION}\"] (string) is required"
        )));
    };
    if !meta
        .and_then(|m| m.get(META_CLIENT_CAPABILITIES))
        .is_some_and(Value::is_object)
    {
        return Err(RpcError::invalid_params(format!(
            "Invalid params: _meta[\"{META_CLIENT_CAPABILITIES}\"] (object) is required"
        )));
    }
    if header_version != meta_version {
        return Err(mismatch(format!(
            "MCP-Protocol-Version header value {header_version:?} does not match _meta protocolVersion {meta_version:?}"
        )));
    }
    if !STATELESS_VERSIONS.contains(&meta_version) {
        return Err(RpcError::new(
            code::UNSUPPORTED_PROTOCOL_VERSION,
            "Unsupported protocol version",
        )
        .with_data(json!({ "supported": STATELESS_VERSIONS, "requested": meta_version })));
    }
    match header_str(headers, METHOD_HEADER) {
        Ok(Some(h)) if h == method => {}
        Ok(Some(h)) => {
            return Err(mismatch(format!(
                "Mcp-Method header value {h:?} does not match body method {method:?}"
            )))
        }
        Ok(None) => return Err(mismatch("missing Mcp-Method header")),
        Err(()) => return Err(mismatch("malformed Mcp-Method header")),
    }
    if let Some(field) = name_source(method) {
        let body_value = params.get(field).and_then(Value::as_str);
        let header_value = match header_str(headers, NAME_HEADER) {
            Ok(Some(raw)) => Some(
                decode_sentinel(raw)
                    .ok_or_else(|| mismatch("Mcp-Name header has a broken base64 sentinel"))?,
            ),
            Ok(None) => None,
            Err(()) => return Err(mismatch("Mcp-Name header contains invalid characters")),
        };
        match (header_value.as_deref(), body_value) {
            (Some(h), Some(b)) if h == b => {}
            (None, None) => {} // the method itself reports the missing field
            (None, Some(_)) => {
                return Err(mismatch(format!("missing Mcp-Name header for {method}")))
            }
            (h, b) => {
                return Err(mismatch(format!(
                    "Mcp-Name header value {h:?} does not match body {field} {b:?}"
                )))
            }
        }
    }
    Ok(())
}

pub(super) async fn post(state: &Arc<State>, headers: &HeaderMap, msg: Incoming) -> Response<Body> {
    match msg {
        Incoming::Response => rpc_error(
            StatusCode::BAD_REQUEST,
            &Value::Null,
            RpcError::new(
                code::INVALID_REQUEST,
                "JSON-RPC responses are not accepted in protocol version 2026-07-28",
            ),
        ),
        Incoming::Notification { method, .. } => match header_str(headers, METHOD_HEADER) {
            // Header rules for notifications are not defined by 2026-07-28; reject only a lie.
            Ok(Some(h)) if h != method => rpc_error(
                StatusCode::BAD_REQUEST,
                &Value::Null,
                mismatch(format!(
                    "Mcp-Method header value {h:?} does not match body method {method:?}"
                )),
            ),
            _ => status_only(StatusCode::ACCEPTED),
        },
        Incoming::Request { id, method, params } => {
            if let Err(err) = validate(headers, &method, &params) {
                return rpc_error(StatusCode::BAD_REQUEST, &id, err);
            }
            if method == "tools/call" {
                if let Err(err) = state.param_headers.validate(headers, &params) {
                    return rpc_error(StatusCode::BAD_REQUEST, &id, err);
                }
            }
            if state.take_version_rejection() {
                let mut err = RpcError::new(
                    code::UNSUPPORTED_PROTOCOL_VERSION,
                    "Unsupported protocol version (injected fault)",
                );
                err.data = Some(serde_json::json!({ "supported": ["2026-07-28"] }));
                return rpc_error(StatusCode::BAD_REQUEST, &id, err);
            }
            let refused_listen =
                method == "subscriptions/listen" && !state.config.subscriptions_listen;
            if refused_listen || !method_exists(&Era::Stateless, &method) {
                return rpc_error(
                    StatusCode::NOT_FOUND,
                    &id,
                    RpcError::method_not_found(&method),
                );
            }
            if method == "subscriptions/listen" {
                return crate::features::subscriptions::open(state, id, &params);
            }
            answer(
                state,
                Answer {
                    id,
                    work: Work::Dispatch { method, params },
                    era: Era::Stateless,
                    session: None,
                    extra_headers: Vec::new(),
                    droppable: false,
                },
            )
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::decode_sentinel;

    #[test]
    fn sentinel_decoding() {
        assert_eq!(decode_sentinel("plain").as_deref(), Some("plain"));
        assert_eq!(
            decode_sentinel("=?base64?SGVsbG8sIOS4lueVjA==?=").as_deref(),
            Some("Hello, 世界")
        );
        assert_eq!(
            decode_sentinel("=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=").as_deref(),
            Some("=?base64?literal?=")
        );
        assert_eq!(decode_sentinel("=?base64?***?="), None);
    }
}
