//! Tools: `echo`, `add`, `slow`, `fail` and `schema_tool`.

use std::time::Duration;

use serde_json::{json, Value};

use crate::jsonrpc::{notification, RpcError};
use crate::mcp::dispatch::CallCtx;

/// Upper bounds for `slow`, so a misbehaving client cannot park the gateway for hours.
const MAX_STEPS: u64 = 1000;
const MAX_DELAY_MS: u64 = 60_000;

/// The `inputSchema` of `schema_tool`, served verbatim: JSON Schema 2020-12 with `$defs`,
/// `$ref`, `oneOf` and `additionalProperties`.
pub(crate) fn rich_schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": {
            "point": {
                "type": "object",
                "properties": {
                    "x": { "type": "number" },
                    "y": { "type": "number" }
                },
                "required": ["x", "y"],
                "additionalProperties": false
            },
            "label": { "type": "string", "minLength": 1, "maxLength": 64 }
        },
        "properties": {
            "origin": { "$ref": "#/$defs/point" },
            "shape": {
                "oneOf": [
                    {
                        "type": "object",
                        "properties": {
                            "kind": { "const": "circle" },
                            "radius": { "type": "number", "exclusiveMinimum": 0 }
                        },
                        "required": ["kind", "radius"],
                        "additionalProperties": false
                    },
                    {
                        "type": "object",
                        "properties": {
                            "kind": { "const": "polygon" },
                            "points": { "type": "array", "items": { "$ref": "#/$defs/point" }, "minItems": 3 }
                        },
                        "required": ["kind", "points"],
                        "additionalProperties": false
                    }
                ]
            },
            "tags": {
                "type": "object",
                "additionalProperties": { "$ref": "#/$defs/label" }
            },
            "mode": { "type": "string", "enum": ["fast", "exact"], "default": "fast" }
        },
        "required": ["shape"],
        "additionalProperties": false
    })
}

/// Every tool definition, in list order.
pub(crate) fn definitions() -> Vec<Value> {
    vec![
        json!({
            "name": "echo",
            "title": "Echo",
            "description": "Returns its `message` argument unchanged, as text and as structured content.",
            "inputSchema": {
                "type": "object",
                "properties": { "message": { "type": "string", "description": "Text to echo back" } },
                "required": ["message"]
            },
            "outputSchema": {
                "type": "object",
                "properties": { "message": { "type": "string" } },
                "required": ["message"]
            },
            "annotations": { "title": "Echo", "readOnlyHint": true, "destructiveHint": false, "idempotentHint": true, "openWorldHint": false }
        }),
        json!({
            "name": "add",
            "title": "Add",
            "description": "Adds two numbers `a` and `b`.",
            "inputSchema": {
                "type": "object",
                "properties": { "a": { "type": "number" }, "b": { "type": "number" } },
                "required": ["a", "b"]
            },
            "outputSchema": {
                "type": "object",
                "properties": { "sum": { "type": "number" } },
                "required": ["sum"]
            },
            "annotations": { "title": "Add", "readOnlyHint": true, "destructiveHint": false, "idempotentHint": true, "openWorldHint": false }
        }),
        json!({
            "name": "slow",
            "title": "Slow",
            "description": "Works for `steps` steps of `delay_ms` milliseconds, reporting progress when the request carries a progress token, then answers \"done\".",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "steps": { "type": "integer", "minimum": 0, "default": 3 },
                    "delay_ms": { "type": "integer", "minimum": 0, "default": 50 }
                }
            },
            "annotations": { "title": "Slow", "readOnlyHint": true, "destructiveHint": false, "idempotentHint": true, "openWorldHint": false }
        }),
        json!({
            "name": "fail",
            "title": "Fail",
            "description": "Always fails with a tool-level error (isError: true).",
            "inputSchema": { "type": "object", "properties": {} },
            "annotations": { "title": "Fail", "readOnlyHint": true, "destructiveHint": false, "idempotentHint": true, "openWorldHint": false }
        }),
        json!({
            "name": "schema_tool",
            "title": "Schema tool",
            "description": "Accepts arguments described by a rich JSON Schema 2020-12 document and summarizes them.",
            "inputSchema": rich_schema(),
            "annotations": { "title": "Schema tool", "readOnlyHint": true, "destructiveHint": false, "idempotentHint": true, "openWorldHint": false }
        }),
    ]
    .into_iter()
    .chain(super::client_asks::definitions())
    .chain(super::tasks::definitions())
    .chain(super::url_elicitation::definitions())
    .collect()
}

fn text_result(text: impl Into<String>, structured: Option<Value>, is_error: bool) -> Value {
    let mut result = json!({ "content": [{ "type": "text", "text": text.into() }] });
    if let Some(s) = structured {
        result["structuredContent"] = s;
    }
    if is_error {
        result["isError"] = json!(true);
    }
    result
}

fn tool_error(text: impl Into<String>) -> Value {
    text_result(text, None, true)
}

/// `tools/call`.
pub(crate) async fn call(ctx: &CallCtx, params: &Value) -> Result<Value, RpcError> {
    let name = params
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError::invalid_params("tools/call requires a string \"name\""))?;
    let args = match params.get("arguments") {
        None | Some(Value::Null) => json!({}),
        Some(v @ Value::Object(_)) => v.clone(),
        Some(_) => return Err(RpcError::invalid_params("\"arguments\" must be an object")),
    };
    if let Some(result) = crate::datagrout::call(name, &args) {
        return Ok(result);
    }
    match name {
        "echo" => Ok(match args.get("message").and_then(Value::as_str) {
            // A lying server, for tests: `break_schema` makes the structured result break the
            // tool's outputSchema ("type": a number; "missing": no structuredContent).
            Some(m) if args.get("break_schema") == Some(&json!("type")) => {
                text_result(m, Some(json!({ "message": 42 })), false)
            }
            Some(m) if args.get("break_schema") == Some(&json!("missing")) => {
                text_result(m, None, false)
            }
            Some(m) => text_result(m, Some(json!({ "message": m })), false),
            None => tool_error("echo: argument \"message\" (string) is required"),
        }),
        "add" => Ok(
            match (
                args.get("a").and_then(Value::as_f64),
                args.get("b").and_then(Value::as_f64),
            ) {
                (Some(a), Some(b)) => {
                    let sum = a + b;
                    let sum_json = if sum.fract() == 0.0 && sum.abs() < 9.0e15 {
                        // Whole numbers render without a trailing ".0".
                        json!(sum as i64)
                    } else {
                        json!(sum)
                    };
                    text_result(
                        sum_json.to_string(),
                        Some(json!({ "sum": sum_json })),
                        false,
                    )
                }
                _ => tool_error("add: arguments \"a\" and \"b\" must both be numbers"),
            },
        ),
        "slow" => slow(ctx, params, &args).await,
        "fail" => Ok(tool_error(
            "fail: this tool always fails (as designed by the test gateway)",
        )),
        "schema_tool" => Ok(text_result(
            format!(
                "schema_tool received {} argument(s)",
                args.as_object().map_or(0, |o| o.len())
            ),
            None,
            false,
        )),
        super::param_headers::TOOL => Ok(super::param_headers::call(&args)),
        super::hold::TOOL => super::hold::call(ctx, &args).await,
        other if super::tasks::handles(other) => super::tasks::call(ctx, other, params, &args),
        other if super::url_elicitation::handles(other) => super::url_elicitation::call(ctx),
        other if super::client_asks::handles(other) => {
            super::client_asks::call(ctx, other, params, &args).await
        }
        other => Err(RpcError::invalid_params(format!("Unknown tool: {other}"))),
    }
}

async fn slow(ctx: &CallCtx, params: &Value, args: &Value) -> Result<Value, RpcError> {
    let steps = match args.get("steps") {
        None | Some(Value::Null) => 3,
        Some(v) => v
            .as_u64()
            .ok_or_else(|| RpcError::invalid_params("\"steps\" must be a non-negative integer"))?,
    }
    .min(MAX_STEPS);
    let delay_ms = match args.get("delay_ms") {
        None | Some(Value::Null) => 50,
        Some(v) => v.as_u64().ok_or_else(|| {
            RpcError::invalid_params("\"delay_ms\" must be a non-negative integer")
        })?,
    }
    .min(MAX_DELAY_MS);
    let token = params
        .get("_meta")
        .and_then(|m| m.get("progressToken"))
        .cloned();
    for step in 1..=steps {
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        if let (Some(token), Some(emitter)) = (&token, &ctx.emitter) {
            emitter.notify(&notification(
                "notifications/progress",
                json!({
                    "progressToken": token,
                    "progress": step,
                    "total": steps,
                    "message": format!("step {step} of {steps}")
                }),
            ));
        }
    }
    Ok(text_result("done", None, false))
}
