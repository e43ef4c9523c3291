//! Scenarios whose context names the tool calls to make (`toolCalls: [{name, arguments}]`),
//! e.g. `http-custom-headers`: list the tools (which teaches the client their `x-mcp-header`
//! declarations), then make each call with exactly the given arguments.

use conduit::{CallOptions, Client};
use serde_json::Value;

use crate::Failure;

pub(crate) async fn run(client: &Client) -> Result<(), Failure> {
    let context: Value = std::env::var("MCP_CONFORMANCE_CONTEXT")
        .ok()
        .and_then(|c| serde_json::from_str(&c).ok())
        .unwrap_or(Value::Null);
    let calls = context
        .get("toolCalls")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let tools = client.list_tools().await?;
    for call in calls {
        let Some(name) = call.get("name").and_then(Value::as_str) else {
            continue;
        };
        if !tools.iter().any(|t| t.name == name) {
            eprintln!("tools/call {name}: the server does not list it");
            continue;
        }
        let args = call.get("arguments").cloned().unwrap_or(Value::Null);
        client
            .call_tool_raw(name, args, CallOptions::default())
            .await?;
    }
    Ok(())
}
