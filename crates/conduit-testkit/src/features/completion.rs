//! `completion/complete`: completes the `name` argument of prompt `greeting` (and any
//! `test://items/{id}` template argument) from a fixed list.

use serde_json::{json, Value};

use crate::jsonrpc::RpcError;

const NAMES: &[&str] = &["Alice", "Albert", "Bob", "Carol", "Dave"];
const IDS: &[&str] = &["1", "2", "3", "10", "42"];

/// `completion/complete`.
pub(crate) fn complete(params: &Value) -> Result<Value, RpcError> {
    let reference = params
        .get("ref")
        .ok_or_else(|| RpcError::invalid_params("completion/complete requires \"ref\""))?;
    let prefix = params
        .get("argument")
        .and_then(|a| a.get("value"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            RpcError::invalid_params("completion/complete requires \"argument.value\"")
        })?;
    let pool: &[&str] = match reference.get("type").and_then(Value::as_str) {
        Some("ref/prompt") => NAMES,
        Some("ref/resource") => IDS,
        _ => {
            return Err(RpcError::invalid_params(
                "\"ref.type\" must be ref/prompt or ref/resource",
            ))
        }
    };
    let values: Vec<&str> = pool
        .iter()
        .copied()
        .filter(|v| v.starts_with(prefix))
        .collect();
    Ok(json!({ "completion": { "values": values, "total": values.len(), "hasMore": false } }))
}
