//! The tool `route` and its `x-mcp-header` declarations (2026-07-28 "Custom Headers from Tool
//! Parameters"), which a test can change at run time.
//!
//! Two maps, parameter → header name: what `tools/list` *advertises* and what the gateway
//! *enforces* on `tools/call` in the stateless era. They start equal (`region` → `Region`).
//! [`TestGateway::declare_param_header`](crate::TestGateway::declare_param_header) changes both
//! (the tool changed after a client listed it);
//! [`TestGateway::enforce_param_header`](crate::TestGateway::enforce_param_header) changes only
//! the enforced one (a stale listing, e.g. a cache in front of the server), so a client can never
//! satisfy it.
//!
//! Enforcement follows the spec's server validation: for each declared parameter whose value
//! is present and not null, `Mcp-Param-<Name>` must be present and, after decoding the Base64
//! sentinel, equal the value's string form; a header sent for an absent value, a missing
//! header, invalid characters or a different value is `-32020` `HeaderMismatch` with HTTP 400.
//! `Mcp-Param-*` headers the gateway does not recognize are ignored.

use std::collections::BTreeMap;
use std::sync::Mutex;

use http::header::HeaderMap;
use serde_json::{json, Map, Value};

use crate::http_util::header_str;
use crate::jsonrpc::{code, RpcError};
use crate::mcp::stateless::decode_sentinel;
use crate::state::lock;

/// The tool's name.
pub(crate) const TOOL: &str = "route";

/// The tool's parameters and their JSON Schema types.
const PARAMETERS: [(&str, &str); 5] = [
    ("region", "string"),
    ("tenant", "string"),
    ("priority", "integer"),
    ("dry_run", "boolean"),
    ("query", "string"),
];

/// The advertised and the enforced declarations.
#[derive(Debug)]
pub(crate) struct Declarations {
    listed: Mutex<BTreeMap<String, String>>,
    enforced: Mutex<BTreeMap<String, String>>,
}

impl Default for Declarations {
    fn default() -> Self {
        let initial: BTreeMap<String, String> = [("region".to_owned(), "Region".to_owned())].into();
        Declarations {
            listed: Mutex::new(initial.clone()),
            enforced: Mutex::new(initial),
        }
    }
}

fn set(map: &Mutex<BTreeMap<String, String>>, parameter: &str, header: Option<&str>) {
    let mut map = lock(map);
    match header {
        Some(h) => map.insert(parameter.to_owned(), h.to_owned()),
        None => map.remove(parameter),
    };
}

impl Declarations {
    /// Changes what is listed and what is enforced.
    pub(crate) fn declare(&self, parameter: &str, header: Option<&str>) {
        set(&self.listed, parameter, header);
        set(&self.enforced, parameter, header);
    }

    /// Changes only what is enforced.
    pub(crate) fn enforce(&self, parameter: &str, header: Option<&str>) {
        set(&self.enforced, parameter, header);
    }

    /// The tool definition `tools/list` serves.
    pub(crate) fn definition(&self) -> Value {
        let listed = lock(&self.listed).clone();
        let mut properties = Map::new();
        for (name, kind) in PARAMETERS {
            let mut schema = json!({ "type": kind });
            if let Some(header) = listed.get(name) {
                schema["x-mcp-header"] = json!(header);
            }
            properties.insert(name.to_owned(), schema);
        }
        json!({
            "name": TOOL,
            "title": "Route",
            "description": "Routes `query` to `region`; some parameters are mirrored into Mcp-Param-* headers (x-mcp-header).",
            "inputSchema": { "type": "object", "properties": properties, "required": ["query"] },
            "annotations": { "title": "Route", "readOnlyHint": true, "destructiveHint": false, "idempotentHint": true, "openWorldHint": false }
        })
    }

    /// Checks the `Mcp-Param-*` headers of a stateless `tools/call` of [`TOOL`] against the
    /// enforced declarations.
    pub(crate) fn validate(&self, headers: &HeaderMap, params: &Value) -> Result<(), RpcError> {
        if params.get("name").and_then(Value::as_str) != Some(TOOL) {
            return Ok(());
        }
        let enforced = lock(&self.enforced).clone();
        for (parameter, name) in &enforced {
            let header = format!("Mcp-Param-{name}");
            let body = params
                .get("arguments")
                .and_then(|a| a.get(parameter))
                .filter(|v| !v.is_null());
            let sent = match header_str(headers, &header) {
                Ok(Some(raw)) => Some(decode_sentinel(raw).ok_or_else(|| {
                    mismatch(format!("{header} header has a broken base64 sentinel"))
                })?),
                Ok(None) => None,
                Err(()) => {
                    return Err(mismatch(format!(
                        "{header} header contains invalid characters"
                    )))
                }
            };
            let expected = body.map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
            match (sent, expected) {
                (None, None) => {}
                (Some(s), Some(e)) if s == e => {}
                (None, Some(_)) => {
                    return Err(mismatch(format!(
                        "missing {header} header for argument {parameter:?}"
                    )))
                }
                (s, e) => {
                    return Err(mismatch(format!(
                    "{header} header value {s:?} does not match body argument {parameter:?} {e:?}"
                )))
                }
            }
        }
        Ok(())
    }
}

fn mismatch(message: String) -> RpcError {
    RpcError::new(code::HEADER_MISMATCH, format!("Header mismatch: {message}"))
}

/// `tools/call` of [`TOOL`].
pub(crate) fn call(args: &Value) -> Value {
    let text = match args.get("query").and_then(Value::as_str) {
        Some(q) => format!(
            "routed {q:?} to {}",
            args.get("region")
                .and_then(Value::as_str)
                .unwrap_or("the default region")
        ),
        None => {
            return json!({
                "content": [{ "type": "text", "text": "route: argument \"query\" (string) is required" }],
                "isError": true
            })
        }
    };
    json!({ "content": [{ "type": "text", "text": text }] })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.insert(*n, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn validation_follows_the_enforced_declarations() {
        let d = Declarations::default();
        let call = json!({"name": "route", "arguments": {"region": "eu", "query": "q"}});
        assert!(d
            .validate(&headers(&[("mcp-param-region", "eu")]), &call)
            .is_ok());
        let err = d.validate(&headers(&[]), &call).unwrap_err();
        assert_eq!(err.code, code::HEADER_MISMATCH);
        assert!(d
            .validate(&headers(&[("mcp-param-region", "us")]), &call)
            .is_err());
        assert!(d
            .validate(&headers(&[("mcp-param-region", "=?base64?ZXU=?=")]), &call)
            .is_ok());
        // Other tools and unrecognized headers are not checked.
        assert!(d.validate(&headers(&[]), &json!({"name": "echo"})).is_ok());
        d.declare("region", None);
        d.enforce("priority", Some("Priority"));
        let call =
            json!({"name": "route", "arguments": {"region": "eu", "priority": 3, "query": "q"}});
        assert!(d
            .validate(&headers(&[("mcp-param-region", "eu")]), &call)
            .is_err());
        assert!(d
            .validate(&headers(&[("mcp-param-priority", "3")]), &call)
            .is_ok());
        // The listing did not change with `enforce`.
        let def = d.definition();
        assert!(def["inputSchema"]["properties"]["priority"]
            .get("x-mcp-header")
            .is_none());
        assert!(def["inputSchema"]["properties"]["region"]
            .get("x-mcp-header")
            .is_none());
    }
}
