//! Prompts: `greeting` (required argument `name`) and `plain`.

use serde_json::{json, Value};

use crate::jsonrpc::RpcError;

/// `prompts/list` items.
pub(crate) fn list() -> Vec<Value> {
    vec![
        json!({
            "name": "greeting",
            "title": "Greeting",
            "description": "Greets someone by name",
            "arguments": [{ "name": "name", "description": "Who to greet", "required": true }]
        }),
        json!({
            "name": "plain",
            "title": "Plain",
            "description": "A prompt without arguments"
        }),
    ]
}

fn user_text(text: String) -> Value {
    json!({ "role": "user", "content": { "type": "text", "text": text } })
}

/// `prompts/get`.
pub(crate) fn get(params: &Value) -> Result<Value, RpcError> {
    let name = params
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError::invalid_params("prompts/get requires a string \"name\""))?;
    let args = params.get("arguments");
    match name {
        "greeting" => {
            let who = args
                .and_then(|a| a.get("name"))
                .and_then(Value::as_str)
                .ok_or_else(|| RpcError::invalid_params("Missing required argument: name"))?;
            Ok(json!({
                "description": "A friendly greeting",
                "messages": [user_text(format!("Please greet {who} warmly."))]
            }))
        }
        "plain" => Ok(json!({
            "description": "A plain prompt",
            "messages": [user_text("Tell me something interesting.".to_owned())]
        })),
        other => Err(RpcError::invalid_params(format!("Unknown prompt: {other}"))),
    }
}
