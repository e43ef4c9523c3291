//! Resources: five text resources, one blob, and the `test://items/{id}` template.

use serde_json::{json, Value};

use crate::jsonrpc::{code, RpcError};
use crate::mcp::dispatch::Era;

const TEXT_COUNT: usize = 5;
/// The bytes of `test://blob/1` (a PNG signature followed by four bytes), base64-encoded.
const BLOB_BASE64: &str = "iVBORw0KGgoAAQID";
const TEMPLATE: &str = "test://items/{id}";
const ITEM_PREFIX: &str = "test://items/";

fn text_body(n: usize) -> String {
    format!("This is text resource number {n}.")
}

/// `resources/list` items.
pub(crate) fn list() -> Vec<Value> {
    let mut out: Vec<Value> = (1..=TEXT_COUNT)
        .map(|n| {
            json!({
                "uri": format!("test://text/{n}"),
                "name": format!("text-{n}"),
                "title": format!("Text resource {n}"),
                "description": format!("Plain text resource number {n}"),
                "mimeType": "text/plain",
                "size": text_body(n).len()
            })
        })
        .collect();
    out.push(json!({
        "uri": "test://blob/1",
        "name": "blob-1",
        "title": "Binary resource",
        "description": "A small binary resource served as base64",
        "mimeType": "application/octet-stream",
        "size": 12
    }));
    out
}

/// `resources/templates/list` items.
pub(crate) fn templates() -> Vec<Value> {
    vec![json!({
        "uriTemplate": TEMPLATE,
        "name": "item",
        "title": "Item by id",
        "description": "Any item, addressed by its id",
        "mimeType": "text/plain"
    })]
}

/// `resources/read`.
pub(crate) fn read(era: &Era, params: &Value) -> Result<Value, RpcError> {
    let uri = params
        .get("uri")
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError::invalid_params("resources/read requires a string \"uri\""))?;
    let contents = if let Some(n) = uri.strip_prefix("test://text/") {
        match n.parse::<usize>() {
            Ok(k) if (1..=TEXT_COUNT).contains(&k) && k.to_string() == n => {
                Some(json!({ "uri": uri, "mimeType": "text/plain", "text": text_body(k) }))
            }
            _ => None,
        }
    } else if uri == "test://blob/1" {
        Some(json!({ "uri": uri, "mimeType": "application/octet-stream", "blob": BLOB_BASE64 }))
    } else if let Some(id) = uri.strip_prefix(ITEM_PREFIX) {
        (!id.is_empty() && !id.contains('/'))
            .then(|| json!({ "uri": uri, "mimeType": "text/plain", "text": format!("Item {id}") }))
    } else {
        None
    };
    match contents {
        Some(c) => Ok(json!({ "contents": [c] })),
        None => Err(not_found(era, uri)),
    }
}

/// Resource not found: -32002 up to 2025-11-25, -32602 in the stateless era.
fn not_found(era: &Era, uri: &str) -> RpcError {
    let code = match era {
        Era::Stateful { .. } => code::RESOURCE_NOT_FOUND,
        Era::Stateless => code::INVALID_PARAMS,
    };
    RpcError::new(code, format!("Resource not found: {uri}")).with_data(json!({ "uri": uri }))
}

/// `resources/subscribe` and `resources/unsubscribe` (stateful era).
pub(crate) fn subscription(params: &Value) -> Result<Value, RpcError> {
    params
        .get("uri")
        .and_then(Value::as_str)
        .map(|_| json!({}))
        .ok_or_else(|| RpcError::invalid_params("a string \"uri\" is required"))
}
