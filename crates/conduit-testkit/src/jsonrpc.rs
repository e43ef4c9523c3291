//! Minimal JSON-RPC 2.0 helpers over raw [`serde_json::Value`]s (deliberately independent of
//! `conduit-protocol`).

use serde_json::{json, Map, Value};

/// JSON-RPC and MCP error codes used by the gateway.
pub(crate) mod code {
    pub(crate) const PARSE_ERROR: i64 = -32700;
    pub(crate) const INVALID_REQUEST: i64 = -32600;
    pub(crate) const METHOD_NOT_FOUND: i64 = -32601;
    pub(crate) const INVALID_PARAMS: i64 = -32602;
    /// Implementation-defined: a stateful request without a session id (mirrors common SDKs).
    pub(crate) const BAD_REQUEST: i64 = -32000;
    /// Implementation-defined: the session id is unknown or expired.
    pub(crate) const SESSION_NOT_FOUND: i64 = -32001;
    /// 2025-11-25 and earlier: resource not found. Also "Server not initialized".
    pub(crate) const RESOURCE_NOT_FOUND: i64 = -32002;
    pub(crate) const NOT_INITIALIZED: i64 = -32002;
    /// 2026-07-28 `HeaderMismatch`.
    pub(crate) const HEADER_MISMATCH: i64 = -32020;
    /// 2026-07-28 `UnsupportedProtocolVersion`.
    pub(crate) const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;
}

/// A JSON-RPC error object.
#[derive(Debug, Clone)]
pub(crate) struct RpcError {
    pub(crate) code: i64,
    pub(crate) message: String,
    pub(crate) data: Option<Value>,
}

impl RpcError {
    pub(crate) fn new(code: i64, message: impl Into<String>) -> Self {
        RpcError {
            code,
            message: message.into(),
            data: None,
        }
    }

    pub(crate) fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    pub(crate) fn invalid_params(message: impl Into<String>) -> Self {
        RpcError::new(code::INVALID_PARAMS, message)
    }

    pub(crate) fn method_not_found(method: &str) -> Self {
        RpcError::new(
            code::METHOD_NOT_FOUND,
            format!("Method not found: {method}"),
        )
    }

    pub(crate) fn to_value(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("code".into(), json!(self.code));
        obj.insert("message".into(), json!(self.message));
        if let Some(data) = &self.data {
            obj.insert("data".into(), data.clone());
        }
        Value::Object(obj)
    }
}

/// A success response.
pub(crate) fn result_response(id: &Value, result: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "result": result })
}

/// An error response (`id` is `null` when the request id is unknown).
pub(crate) fn error_response(id: &Value, error: &RpcError) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": error.to_value() })
}

/// A notification.
pub(crate) fn notification(method: &str, params: Value) -> Value {
    json!({ "jsonrpc": "2.0", "method": method, "params": params })
}

/// One incoming JSON-RPC message, classified.
#[derive(Debug, Clone)]
pub(crate) enum Incoming {
    Request {
        id: Value,
        method: String,
        params: Value,
    },
    Notification {
        method: String,
        params: Value,
    },
    Response,
}

impl Incoming {
    /// Classifies a parsed body; errors carry the id when one could be read.
    pub(crate) fn classify(body: &Value) -> Result<Incoming, Box<(Value, RpcError)>> {
        let Some(obj) = body.as_object() else {
            let what = if body.is_array() {
                "JSON-RPC batches are not supported"
            } else {
                "the body must be a JSON-RPC object"
            };
            return Err(Box::new((
                Value::Null,
                RpcError::new(code::INVALID_REQUEST, what),
            )));
        };
        let id = obj.get("id").cloned();
        let id_for_error = match &id {
            Some(v @ (Value::String(_) | Value::Number(_))) => v.clone(),
            _ => Value::Null,
        };
        let invalid = |msg: &str| {
            Err(Box::new((
                id_for_error.clone(),
                RpcError::new(code::INVALID_REQUEST, msg),
            )))
        };
        if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
            return invalid("\"jsonrpc\" must be \"2.0\"");
        }
        if let Some(method) = obj.get("method") {
            let Some(method) = method.as_str() else {
                return invalid("\"method\" must be a string");
            };
            let params = obj.get("params").cloned().unwrap_or(Value::Null);
            if !(params.is_object() || params.is_null()) {
                return invalid("\"params\" must be an object");
            }
            return match id {
                None => Ok(Incoming::Notification {
                    method: method.to_owned(),
                    params,
                }),
                Some(Value::String(_) | Value::Number(_)) => Ok(Incoming::Request {
                    id: id_for_error,
                    method: method.to_owned(),
                    params,
                }),
                Some(_) => invalid("\"id\" must be a string or a number"),
            };
        }
        if id.is_some() && (obj.contains_key("result") || obj.contains_key("error")) {
            return Ok(Incoming::Response);
        }
        invalid("not a JSON-RPC request, notification or response")
    }

    pub(crate) fn method(&self) -> Option<&str> {
        match self {
            Incoming::Request { method, .. } | Incoming::Notification { method, .. } => {
                Some(method)
            }
            Incoming::Response => None,
        }
    }

    pub(crate) fn params(&self) -> Option<&Value> {
        match self {
            Incoming::Request { params, .. } | Incoming::Notification { params, .. } => {
                Some(params)
            }
            Incoming::Response => None,
        }
    }

    pub(crate) fn id(&self) -> Value {
        match self {
            Incoming::Request { id, .. } => id.clone(),
            _ => Value::Null,
        }
    }
}
