//! Tools that ask the client for something — sampling, elicitation (form and URL mode), roots —
//! in both eras, plus `log` (sends `notifications/message`) and `touch_resource` (pushes
//! `notifications/resources/updated` and `list_changed` to the listening GET streams and to
//! the `subscriptions/listen` streams that asked for them).
//!
//! * Stateful era: the question is a JSON-RPC request sent on the SSE stream answering the
//!   `tools/call` (so the gateway must answer in [`ResponseMode::Sse`](crate::ResponseMode));
//!   the client POSTs its response, which [`deliver`] hands to the waiting tool.
//! * Stateless era: the tool answers `resultType: "input_required"` with one input request
//!   under the key `ask` and an opaque `requestState`; the retry must carry `inputResponses.ask`
//!   and that exact state (the gateway remembers the states it issued). A client that did not
//!   declare the capability in `_meta` gets a tool error instead of a question.
//!
//! Every tool result is text holding the client's answer as JSON (`{"result": …}` or
//! `{"error": …}`), so tests can check exactly what the client sent.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::oneshot;

use crate::jsonrpc::{notification, RpcError};
use crate::mcp::dispatch::{CallCtx, Era};
use crate::state::lock;

/// How long a tool waits for the client's answer in the stateful era.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// The tool definitions of this module.
pub(crate) fn definitions() -> Vec<Value> {
    let ro = json!({ "readOnlyHint": true, "destructiveHint": false, "idempotentHint": false, "openWorldHint": false });
    vec![
        json!({
            "name": "ask_sampling",
            "title": "Ask: sampling",
            "description": "Asks the client to sample a message (sampling/createMessage); with `tools: true` the request offers a tool. Returns the client's answer as JSON.",
            "inputSchema": { "type": "object", "properties": { "tools": { "type": "boolean", "default": false } } },
            "annotations": ro
        }),
        json!({
            "name": "ask_elicitation",
            "title": "Ask: elicitation",
            "description": "Asks the client's user for input (elicitation/create) in `form` (default) or `url` mode. Returns the client's answer as JSON.",
            "inputSchema": { "type": "object", "properties": { "mode": { "type": "string", "enum": ["form", "url"], "default": "form" } } },
            "annotations": ro
        }),
        json!({
            "name": "ask_roots",
            "title": "Ask: roots",
            "description": "Asks the client for its roots (roots/list). Returns the client's answer as JSON.",
            "inputSchema": { "type": "object", "properties": {} },
            "annotations": ro
        }),
        json!({
            "name": "log",
            "title": "Log",
            "description": "Sends a notifications/message with the given `level` and `message` on the call's stream, then answers \"logged\".",
            "inputSchema": { "type": "object", "properties": { "level": { "type": "string", "default": "info" }, "message": { "type": "string", "default": "hello" } } },
            "annotations": ro
        }),
        json!({
            "name": "touch_resource",
            "title": "Touch resource",
            "description": "Pushes notifications/resources/updated for `uri` and notifications/resources/list_changed to every listening GET stream (stateful era) and to the subscriptions/listen streams that asked for them (stateless era). Answers with how many streams got the update.",
            "inputSchema": { "type": "object", "properties": { "uri": { "type": "string" } }, "required": ["uri"] },
            "annotations": ro
        }),
    ]
}

/// Whether `name` is one of this module's tools.
pub(crate) fn handles(name: &str) -> bool {
    matches!(
        name,
        "ask_sampling" | "ask_elicitation" | "ask_roots" | "log" | "touch_resource"
    )
}

fn text(v: Value) -> Value {
    json!({ "content": [{ "type": "text", "text": v.to_string() }] })
}

fn tool_error(message: impl Into<String>) -> Value {
    json!({ "content": [{ "type": "text", "text": message.into() }], "isError": true })
}

/// The question a tool asks: method, params and the client capability it needs.
fn question(name: &str, args: &Value) -> (&'static str, Value, &'static str) {
    match name {
        "ask_sampling" => {
            let mut params = json!({
                "messages": [{ "role": "user", "content": { "type": "text", "text": "What is 2 + 2?" } }],
                "maxTokens": 50,
                "systemPrompt": "Answer briefly."
            });
            // A test may supply the conversation (e.g. one breaking the tool-use rules).
            if let Some(messages) = args.get("messages") {
                params["messages"] = messages.clone();
            }
            if args.get("tools").and_then(Value::as_bool) == Some(true) {
                params["tools"] = json!([{ "name": "calculator", "inputSchema": { "type": "object", "properties": { "expr": { "type": "string" } } } }]);
                params["toolChoice"] = json!({ "mode": "auto" });
            }
            ("sampling/createMessage", params, "sampling")
        }
        "ask_elicitation" if args.get("mode").and_then(Value::as_str) == Some("url") => (
            "elicitation/create",
            json!({
                "mode": "url",
                "message": "Please sign in",
                "url": "https://example.test/consent",
                "elicitationId": "el-1"
            }),
            "elicitation",
        ),
        "ask_elicitation" if args.get("strict").and_then(Value::as_bool) == Some(true) => (
            "elicitation/create",
            json!({
                "message": "How old are you?",
                "requestedSchema": {
                    "type": "object",
                    "properties": { "age": { "type": "integer", "minimum": 0 } },
                    "required": ["age"]
                }
            }),
            "elicitation",
        ),
        "ask_elicitation" => (
            "elicitation/create",
            json!({
                "message": "Who are you?",
                "requestedSchema": {
                    "type": "object",
                    "properties": {
                        "name": { "type": "string", "default": "Ada" },
                        "age": { "type": "integer", "default": 36 }
                    }
                }
            }),
            "elicitation",
        ),
        _ => ("roots/list", json!({}), "roots"),
    }
}

/// Runs one of this module's tools.
pub(crate) async fn call(
    ctx: &CallCtx,
    name: &str,
    params: &Value,
    args: &Value,
) -> Result<Value, RpcError> {
    match name {
        "log" => {
            let level = args.get("level").and_then(Value::as_str).unwrap_or("info");
            let message = args
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("hello");
            match &ctx.emitter {
                Some(e) => e.notify(&notification(
                    "notifications/message",
                    json!({ "level": level, "logger": "testkit", "data": message }),
                )),
                None => return Ok(tool_error("log: needs the SSE response mode")),
            }
            return Ok(text(json!("logged")));
        }
        "touch_resource" => {
            let Some(uri) = args.get("uri").and_then(Value::as_str) else {
                return Err(RpcError::invalid_params(
                    "touch_resource requires a string \"uri\"",
                ));
            };
            let n = crate::features::subscriptions::resource_updated(&ctx.state, uri);
            crate::features::subscriptions::list_changed(&ctx.state, "resources");
            return Ok(text(json!({ "streams": n })));
        }
        _ => {}
    }
    let (method, question_params, capability) = question(name, args);
    match &ctx.era {
        Era::Stateless => Ok(stateless(ctx, params, method, question_params, capability)),
        Era::Stateful { .. } => Ok(stateful(ctx, method, question_params).await),
    }
}

fn stateless(
    ctx: &CallCtx,
    params: &Value,
    method: &str,
    question_params: Value,
    capability: &str,
) -> Value {
    let declared = params
        .get("_meta")
        .and_then(|m| m.get(crate::mcp::versions::META_CLIENT_CAPABILITIES))
        .and_then(|c| c.get(capability))
        .is_some();
    if !declared {
        return tool_error(format!(
            "the client did not declare the `{capability}` capability"
        ));
    }
    if let Some(answer) = params.get("inputResponses").and_then(|r| r.get("ask")) {
        let state = params.get("requestState").and_then(Value::as_str);
        let known = state.is_some_and(|s| lock(&ctx.state.request_states).remove(s));
        if !known {
            return tool_error("requestState missing or not issued by this gateway");
        }
        return text(json!({ "result": answer }));
    }
    let request_state = format!("rs-{:032x}", rand::random::<u128>());
    lock(&ctx.state.request_states).insert(request_state.clone());
    json!({
        "resultType": "input_required",
        "inputRequests": { "ask": { "method": method, "params": question_params } },
        "requestState": request_state
    })
}

async fn stateful(ctx: &CallCtx, method: &str, question_params: Value) -> Value {
    let Some(emitter) = &ctx.emitter else {
        return tool_error("this tool needs the SSE response mode in the stateful era");
    };
    let id = format!("ask-{:016x}", rand::random::<u64>());
    let (tx, rx) = oneshot::channel();
    lock(&ctx.state.client_answers).insert(id.clone(), tx);
    emitter.notify(
        &json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": question_params }),
    );
    let answer = tokio::time::timeout(ANSWER_TIMEOUT, rx).await;
    lock(&ctx.state.client_answers).remove(&id);
    match answer {
        Ok(Ok(response)) => {
            let mut out = serde_json::Map::new();
            for key in ["result", "error"] {
                if let Some(v) = response.get(key) {
                    out.insert(key.to_owned(), v.clone());
                }
            }
            text(Value::Object(out))
        }
        _ => tool_error(format!("the client did not answer {method}")),
    }
}

/// Hands a client's JSON-RPC response to the tool waiting for it; false when none is.
pub(crate) fn deliver(state: &crate::state::State, body: &Value) -> bool {
    let Some(id) = body.get("id").and_then(Value::as_str) else {
        return false;
    };
    match lock(&state.client_answers).remove(id) {
        Some(tx) => tx.send(body.clone()).is_ok(),
        None => false,
    }
}
