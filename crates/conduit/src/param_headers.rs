//! Custom `Mcp-Param-*` headers (2026-07-28 Streamable HTTP, "Custom Headers from Tool
//! Parameters"): a tool's `inputSchema` may mark parameters with `x-mcp-header: "<Name>"`; the
//! client then mirrors their values into `Mcp-Param-<Name>` headers of `tools/call`.
//!
//! This applies in the stateless era only (the annotation is defined by 2026-07-28). The client
//! learns the declarations from `tools/list` (kept per client, name → declarations,
//! replaced by each full listing). A tool whose declarations break the rules is left out of
//! `list_tools` with a warning, and calling it anyway fails with
//! [`Error::InvalidToolHeaders`]. A tool the client never listed
//! is called without custom headers.
//!
//! When the server refuses a `tools/call` with `-32020` `HeaderMismatch` (the tool's
//! declarations changed since it was listed, so the derived headers are stale), the client
//! re-fetches `tools/list`, learns the current declarations and retries the call once, within
//! the call's deadline; a second refusal is [`Error::HeaderMismatch`] with `relisted: true`.
//!
//! The rules on a declaration: a string, not empty, an HTTP token (`1*tchar`: no spaces, colons,
//! control or non-ASCII characters), case-insensitively unique within the schema, on a property
//! of type `string`, `integer` or `boolean` (not `number`), reached from the root through
//! `properties` keys only (never through `items`, `oneOf`/`anyOf`/`allOf`/`not`,
//! `if`/`then`/`else`, `$ref` or `$defs`).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use conduit_protocol::mcp::Tool;
use serde_json::Value;

use crate::{Client, Error};

/// The schema keyword naming a parameter's header.
pub const X_MCP_HEADER: &str = "x-mcp-header";
/// The prefix of the headers derived from tool parameters.
pub const HEADER_PREFIX: &str = "Mcp-Param-";

/// The JSON Schema types a header parameter may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderParamType {
    /// `"type": "string"`.
    String,
    /// `"type": "integer"` (within ±(2^53 − 1)).
    Integer,
    /// `"type": "boolean"`.
    Boolean,
}

/// One `x-mcp-header` declaration of a tool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderParam {
    /// The chain of `properties` keys from the schema root to the parameter.
    pub path: Vec<String>,
    /// The declared name: the header is `Mcp-Param-<name>`.
    pub name: String,
    /// The parameter's type.
    pub kind: HeaderParamType,
}

/// Reads and checks the `x-mcp-header` declarations of an `inputSchema`. `Err` names the first
/// rule a declaration breaks.
pub fn declarations(input_schema: &Value) -> Result<Vec<HeaderParam>, String> {
    let mut found = Vec::new();
    walk(input_schema, Some(&mut Vec::new()), &mut found)?;
    let mut seen: HashMap<String, &str> = HashMap::new();
    for d in &found {
        if let Some(previous) = seen.insert(d.name.to_ascii_lowercase(), &d.name) {
            return Err(format!(
                "x-mcp-header {:?} is declared twice (case-insensitively, also as {previous:?})",
                d.name
            ));
        }
    }
    Ok(found)
}

/// Keywords whose values are data, not schemas.
const DATA_KEYWORDS: [&str; 4] = ["const", "default", "enum", "examples"];

/// Walks a schema node. `path` is `Some` while the node is reached through `properties` only.
fn walk(
    node: &Value,
    path: Option<&mut Vec<String>>,
    found: &mut Vec<HeaderParam>,
) -> Result<(), String> {
    match node {
        Value::Object(map) => {
            let reachable = path.is_some();
            if let Some(declared) = map.get(X_MCP_HEADER) {
                match &path {
                    Some(p) if !p.is_empty() => found.push(check(p, declared, map)?),
                    Some(_) => return Err("x-mcp-header on the schema root".into()),
                    None => {
                        return Err(format!(
                            "x-mcp-header {declared} is not reachable from the root through `properties` alone"
                        ))
                    }
                }
            }
            let mut path = path;
            for (key, value) in map {
                if DATA_KEYWORDS.contains(&key.as_str()) || key == X_MCP_HEADER {
                    continue;
                }
                if key == "properties" && reachable {
                    if let (Value::Object(props), Some(p)) = (value, path.as_deref_mut()) {
                        for (name, schema) in props {
                            p.push(name.clone());
                            let r = walk(schema, Some(p), found);
                            p.pop();
                            r?;
                        }
                        continue;
                    }
                }
                if key == "properties" {
                    if let Value::Object(props) = value {
                        for schema in props.values() {
                            walk(schema, None, found)?;
                        }
                        continue;
                    }
                }
                walk(value, None, found)?;
            }
            Ok(())
        }
        Value::Array(items) => {
            for item in items {
                walk(item, None, found)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn check(
    path: &[String],
    declared: &Value,
    schema: &serde_json::Map<String, Value>,
) -> Result<HeaderParam, String> {
    let at = path.join(".");
    let Value::String(name) = declared else {
        return Err(format!("x-mcp-header of `{at}` is not a string"));
    };
    if name.is_empty() {
        return Err(format!("x-mcp-header of `{at}` is empty"));
    }
    if let Some(bad) = name.chars().find(|c| !is_tchar(*c)) {
        return Err(format!(
            "x-mcp-header {name:?} of `{at}` contains {bad:?}, which is not allowed in an HTTP header name"
        ));
    }
    let kind = match schema.get("type").and_then(Value::as_str) {
        Some("string") => HeaderParamType::String,
        Some("integer") => HeaderParamType::Integer,
        Some("boolean") => HeaderParamType::Boolean,
        Some(other) => {
            return Err(format!(
                "x-mcp-header {name:?} is on `{at}` of type {other}; only string, integer and boolean are allowed"
            ))
        }
        None => {
            return Err(format!(
                "x-mcp-header {name:?} is on `{at}`, which has no single primitive type"
            ))
        }
    };
    Ok(HeaderParam {
        path: path.to_vec(),
        name: name.clone(),
        kind,
    })
}

/// RFC 9110 `tchar`.
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// The largest integer JavaScript represents exactly.
const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// The headers for a call with `arguments`: one per declaration whose value is present and not
/// null, encoded per the spec (Base64 sentinel for unsafe values).
pub fn headers(
    tool: &str,
    params: &[HeaderParam],
    arguments: Option<&Value>,
) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::new();
    for p in params {
        let mut value = arguments;
        for key in &p.path {
            value = value.and_then(|v| v.get(key));
        }
        let text = match value {
            None | Some(Value::Null) => continue,
            Some(Value::String(s)) => s.clone(),
            Some(Value::Bool(b)) => b.to_string(),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(i) if (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&i) => i.to_string(),
                _ => {
                    return Err(Error::Config(format!(
                        "argument `{}` of tool `{tool}` is mirrored into Mcp-Param-{} and must be an integer within ±(2^53-1), not {n}",
                        p.path.join("."),
                        p.name
                    )))
                }
            },
            Some(_) => {
                return Err(Error::Config(format!(
                    "argument `{}` of tool `{tool}` is mirrored into Mcp-Param-{} and must be a string, integer or boolean",
                    p.path.join("."),
                    p.name
                )))
            }
        };
        out.push((format!("{HEADER_PREFIX}{}", p.name), encode(&text)));
    }
    Ok(out)
}

/// A header value in the spec's encoding (Base64 sentinel for unsafe values).
#[cfg(feature = "http")]
fn encode(text: &str) -> String {
    conduit_transport_http::encode_header_value(text)
}

/// Without the `http` feature no compiled-in transport sends `Mcp-Param-*` headers (only
/// Streamable HTTP does), so the value is kept as it is.
#[cfg(not(feature = "http"))]
fn encode(text: &str) -> String {
    text.to_owned()
}

/// What the client knows about a listed tool's header declarations.
#[derive(Clone, Debug)]
enum Known {
    Valid(Arc<[HeaderParam]>),
    Invalid(String),
}

/// Per-client map tool name → declarations, filled by `tools/list`.
#[derive(Debug, Default)]
pub(crate) struct ToolHeaders {
    map: Mutex<HashMap<String, Known>>,
}

impl ToolHeaders {
    /// Records the declarations of listed tools and keeps only the valid tools. A full listing
    /// (`replace`) forgets tools that are gone. Outside the stateless era (`enforce` false) the
    /// annotations mean nothing: every tool is kept and no header is derived.
    pub(crate) fn learn(&self, tools: Vec<Tool>, replace: bool, enforce: bool) -> Vec<Tool> {
        if !enforce {
            if let Ok(mut map) = self.map.lock() {
                map.clear();
            }
            return tools;
        }
        let mut kept = Vec::with_capacity(tools.len());
        let mut learned = HashMap::new();
        for tool in tools {
            let schema = serde_json::to_value(&tool.input_schema).unwrap_or(Value::Null);
            match declarations(&schema) {
                Ok(d) => {
                    learned.insert(tool.name.clone(), Known::Valid(d.into()));
                    kept.push(tool);
                }
                Err(reason) => {
                    tracing::warn!(tool = %tool.name, %reason, "excluding a tool with invalid x-mcp-header declarations");
                    learned.insert(tool.name.clone(), Known::Invalid(reason));
                }
            }
        }
        if let Ok(mut map) = self.map.lock() {
            if replace {
                *map = learned;
            } else {
                map.extend(learned);
            }
        }
        kept
    }

    /// The extra headers of a request: `Mcp-Param-*` for a `tools/call` of a listed tool.
    pub(crate) fn for_request(
        &self,
        method: &str,
        params: Option<&Value>,
    ) -> Result<Vec<(String, String)>, Error> {
        if method != "tools/call" {
            return Ok(Vec::new());
        }
        let Some(name) = params.and_then(|p| p.get("name")).and_then(Value::as_str) else {
            return Ok(Vec::new());
        };
        let known = self.map.lock().ok().and_then(|m| m.get(name).cloned());
        match known {
            None => Ok(Vec::new()),
            Some(Known::Invalid(reason)) => Err(Error::InvalidToolHeaders {
                tool: name.to_owned(),
                reason,
            }),
            Some(Known::Valid(decls)) => {
                headers(name, &decls, params.and_then(|p| p.get("arguments")))
            }
        }
    }
}

impl Client {
    /// Re-fetches every page of `tools/list` (before `until`) and replaces the learned
    /// declarations with it: what the client does when a `tools/call` is refused with
    /// `-32020` `HeaderMismatch`. The cached listing, if any, is dropped too. Boxed: it is
    /// called from inside `request_with`, which it calls in turn.
    pub(crate) fn refresh_tool_headers(
        &self,
        until: tokio::time::Instant,
    ) -> Pin<Box<dyn Future<Output = Result<(), Error>> + Send + '_>> {
        Box::pin(async move {
            let started = tokio::time::Instant::now();
            let tools: Vec<Tool> =
                tokio::time::timeout_at(until, self.list_all("tools/list", "tools"))
                    .await
                    .map_err(|_| Error::Timeout {
                        method: "tools/list".to_owned(),
                        after: started.elapsed(),
                    })??;
            self.inner().tool_headers.learn(tools, true, true);
            crate::subscriptions::invalidate(self.inner(), "notifications/tools/list_changed");
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    fn schema(props: Value) -> Value {
        json!({"type": "object", "properties": props})
    }

    #[test]
    #[cfg(feature = "http")]
    fn valid_declarations_and_values() {
        let s = schema(json!({
            "region": {"type": "string", "x-mcp-header": "Region"},
            "n": {"type": "integer", "x-mcp-header": "N"},
            "flag": {"type": "boolean", "x-mcp-header": "Flag"},
            "nested": {"type": "object", "properties": {"deep": {"type": "string", "x-mcp-header": "Deep"}}},
            "plain": {"type": "number"}
        }));
        let d = declarations(&s).unwrap();
        assert_eq!(d.len(), 4);
        let h = headers(
            "t",
            &d,
            Some(&json!({"region": "Hello, 世界", "n": -7, "flag": false, "nested": {"deep": "x"}, "plain": 1.5})),
        )
        .unwrap();
        assert_eq!(
            h,
            [
                (
                    "Mcp-Param-Region".to_owned(),
                    "=?base64?SGVsbG8sIOS4lueVjA==?=".to_owned()
                ),
                ("Mcp-Param-N".to_owned(), "-7".to_owned()),
                ("Mcp-Param-Flag".to_owned(), "false".to_owned()),
                ("Mcp-Param-Deep".to_owned(), "x".to_owned()),
            ]
        );
        // Null and absent values are omitted.
        let h = headers("t", &d, Some(&json!({"region": null}))).unwrap();
        assert!(h.is_empty());
        assert!(headers("t", &d, Some(&json!({"n": 9_007_199_254_740_993_i64}))).is_err());
    }

    #[test]
    fn invalid_declarations_are_refused() {
        for bad in [
            schema(json!({"v": {"type": "string", "x-mcp-header": ""}})),
            schema(json!({"v": {"type": "object", "x-mcp-header": "V"}})),
            schema(json!({"v": {"type": "array", "x-mcp-header": "V"}})),
            schema(json!({"v": {"type": "null", "x-mcp-header": "V"}})),
            schema(json!({"v": {"type": "number", "x-mcp-header": "V"}})),
            schema(json!({"v": {"x-mcp-header": "V"}})),
            schema(
                json!({"a": {"type": "string", "x-mcp-header": "Id"}, "b": {"type": "string", "x-mcp-header": "id"}}),
            ),
            schema(json!({"v": {"type": "string", "x-mcp-header": "My Region"}})),
            schema(json!({"v": {"type": "string", "x-mcp-header": "Region:Primary"}})),
            schema(json!({"v": {"type": "string", "x-mcp-header": "Région"}})),
            schema(json!({"v": {"type": "string", "x-mcp-header": "Region\t1"}})),
            schema(json!({"v": {"type": "string", "x-mcp-header": 5}})),
            schema(
                json!({"v": {"type": "array", "items": {"type": "string", "x-mcp-header": "V"}}}),
            ),
            schema(json!({"v": {"oneOf": [{"type": "string", "x-mcp-header": "V"}]}})),
            json!({"type": "object", "$defs": {"d": {"type": "string", "x-mcp-header": "D"}}}),
        ] {
            assert!(declarations(&bad).is_err(), "{bad}");
        }
        // Data keywords are not schemas.
        let ok = schema(json!({"v": {"type": "object", "default": {"x-mcp-header": "X"}}}));
        assert!(declarations(&ok).unwrap().is_empty());
    }
}
