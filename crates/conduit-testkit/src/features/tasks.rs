//! Tasks in both shapes: the 2025-11-25 core tasks (`task` member on `tools/call`,
//! `tasks/get`, `tasks/result`, `tasks/list`, `tasks/cancel`) and the 2026-07-28
//! `io.modelcontextprotocol/tasks` extension (`resultType: "task"`, `tasks/get` with the result
//! inline, `tasks/update`, `tasks/cancel`).
//!
//! Tools: `long_task` (`taskSupport: "optional"`) and `task_required` (`"required"`). A task
//! completes deterministically on the N-th `tasks/get` (N = [`GatewayConfig::task_polls`]);
//! `tasks/result` finishes it at once (standing in for "block until terminal").
//!
//! [`GatewayConfig::task_polls`]: crate::GatewayConfig::task_polls

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde_json::{json, Value};

use crate::jsonrpc::RpcError;
use crate::mcp::dispatch::{CallCtx, Era};
use crate::state::lock;

/// The extension identifier (2026-07-28).
pub(crate) const TASKS_EXTENSION: &str = "io.modelcontextprotocol/tasks";
/// `MissingRequiredClientCapability` (2026-07-28).
const MISSING_CAPABILITY: i64 = -32021;
const CREATED_AT: &str = "2026-01-01T00:00:00Z";

#[derive(Debug, Clone)]
struct Entry {
    id: String,
    status: &'static str,
    polls: u32,
    stateless: bool,
    ttl: Option<u64>,
    result: Value,
}

/// The gateway's tasks.
#[derive(Debug, Default)]
pub(crate) struct TaskStore {
    tasks: Mutex<Vec<Entry>>,
    next: AtomicU64,
}

/// The task tools' definitions.
pub(crate) fn definitions() -> Vec<Value> {
    vec![
        json!({
            "name": "long_task",
            "title": "Long task",
            "description": "A long-running job that may run as a task; answers with its `label` argument.",
            "inputSchema": { "type": "object", "properties": { "label": { "type": "string" } } },
            "execution": { "taskSupport": "optional" },
            "annotations": { "title": "Long task", "readOnlyHint": true, "destructiveHint": false, "idempotentHint": true, "openWorldHint": false }
        }),
        json!({
            "name": "task_required",
            "title": "Task required",
            "description": "A long-running job that must run as a task.",
            "inputSchema": { "type": "object", "properties": { "label": { "type": "string" } } },
            "execution": { "taskSupport": "required" },
            "annotations": { "title": "Task required", "readOnlyHint": true, "destructiveHint": false, "idempotentHint": true, "openWorldHint": false }
        }),
    ]
}

/// Whether `name` is one of the task tools.
pub(crate) fn handles(name: &str) -> bool {
    matches!(name, "long_task" | "task_required")
}

/// The stateful `capabilities.tasks`.
pub(crate) fn stateful_capability() -> Value {
    json!({ "list": {}, "cancel": {}, "requests": { "tools": { "call": {} } } })
}

fn opted_in(params: &Value) -> bool {
    params
        .get("_meta")
        .and_then(|m| m.get("io.modelcontextprotocol/clientCapabilities"))
        .and_then(|c| c.get("extensions"))
        .and_then(|e| e.get(TASKS_EXTENSION))
        .is_some()
}

fn outcome(name: &str, args: &Value) -> Value {
    let label = args.get("label").and_then(Value::as_str).unwrap_or("");
    let text = format!("{name} done: {label}");
    json!({ "content": [{ "type": "text", "text": text }], "structuredContent": { "label": label } })
}

/// `tools/call` of a task tool.
pub(crate) fn call(
    ctx: &CallCtx,
    name: &str,
    params: &Value,
    args: &Value,
) -> Result<Value, RpcError> {
    let stateless = ctx.era == Era::Stateless;
    let wants_task = if stateless {
        opted_in(params) || ctx.state.config.tasks_unsolicited
    } else {
        params.get("task").is_some_and(Value::is_object)
    };
    if wants_task && stateless && ctx.state.config.tasks_immediate {
        return Ok(outcome(name, args));
    }
    if !wants_task {
        if name == "task_required" {
            return Err(if stateless {
                RpcError::new(
                    MISSING_CAPABILITY,
                    format!("tool {name} requires the {TASKS_EXTENSION} extension"),
                )
            } else {
                RpcError::new(
                    crate::jsonrpc::code::METHOD_NOT_FOUND,
                    format!("tool {name} must be called as a task"),
                )
            });
        }
        return Ok(outcome(name, args));
    }
    let store = &ctx.state.mcp_tasks;
    let id = format!("task-{}", store.next.fetch_add(1, Ordering::Relaxed) + 1);
    let ttl = params
        .get("task")
        .and_then(|t| t.get("ttl"))
        .and_then(Value::as_u64);
    let entry = Entry {
        id,
        status: "working",
        polls: 0,
        stateless,
        ttl,
        result: outcome(name, args),
    };
    let view = render(ctx, &entry);
    lock(&store.tasks).push(entry);
    Ok(if stateless {
        let mut v = view;
        v["resultType"] = json!("task");
        v
    } else {
        json!({ "task": view })
    })
}

fn render(ctx: &CallCtx, e: &Entry) -> Value {
    render_with(ctx.state.config.task_poll_interval_ms, e)
}

fn render_with(interval: u64, e: &Entry) -> Value {
    if e.stateless {
        let mut v = json!({
            "taskId": e.id, "status": e.status, "createdAt": CREATED_AT,
            "lastUpdatedAt": CREATED_AT, "ttlMs": e.ttl, "pollIntervalMs": interval,
        });
        if e.status == "completed" {
            v["result"] = e.result.clone();
        }
        v
    } else {
        json!({
            "taskId": e.id, "status": e.status, "createdAt": CREATED_AT,
            "lastUpdatedAt": CREATED_AT, "ttl": e.ttl, "pollInterval": interval,
        })
    }
}

fn task_id(params: &Value) -> Result<&str, RpcError> {
    params
        .get("taskId")
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError::invalid_params("\"taskId\" (string) is required"))
}

fn with_task<T>(
    ctx: &CallCtx,
    params: &Value,
    f: impl FnOnce(&mut Entry) -> Result<T, RpcError>,
) -> Result<T, RpcError> {
    let id = task_id(params)?;
    let stateless = ctx.era == Era::Stateless;
    let mut tasks = lock(&ctx.state.mcp_tasks.tasks);
    let entry = tasks
        .iter_mut()
        .find(|e| e.id == id && e.stateless == stateless)
        .ok_or_else(|| RpcError::invalid_params(format!("unknown task {id:?}")))?;
    f(entry)
}

/// `tasks/*` methods of both eras.
pub(crate) fn method(ctx: &CallCtx, method: &str, params: &Value) -> Result<Value, RpcError> {
    if ctx.era == Era::Stateless && !opted_in(params) {
        return Err(RpcError::new(
            MISSING_CAPABILITY,
            format!("{method} requires the {TASKS_EXTENSION} extension"),
        ));
    }
    let polls_needed = ctx.state.config.task_polls;
    match method {
        "tasks/get" => with_task(ctx, params, |e| {
            if e.status == "working" {
                e.polls += 1;
                if e.polls >= polls_needed {
                    e.status = "completed";
                }
            }
            Ok(render(ctx, e))
        }),
        "tasks/result" => with_task(ctx, params, |e| {
            if e.status == "working" {
                e.status = "completed";
            }
            if e.status == "cancelled" {
                return Err(RpcError::invalid_params(format!(
                    "task {} was cancelled",
                    e.id
                )));
            }
            let mut result = e.result.clone();
            result["_meta"] = json!({ "io.modelcontextprotocol/related-task": { "taskId": e.id } });
            Ok(result)
        }),
        "tasks/cancel" => with_task(ctx, params, |e| {
            if e.status != "working" {
                return Err(RpcError::invalid_params(format!(
                    "task {} is already {}",
                    e.id, e.status
                )));
            }
            e.status = "cancelled";
            Ok(if e.stateless {
                json!({})
            } else {
                render(ctx, e)
            })
        }),
        "tasks/update" => with_task(ctx, params, |_| Ok(json!({}))),
        other => Err(RpcError::method_not_found(other)),
    }
}

/// Completes a working stateful task (a status message says so) and pushes
/// `notifications/tasks/status` with its new state to every listening `GET` stream. `None` when
/// no such task exists; otherwise how many streams got the notification.
pub(crate) fn complete_and_notify(state: &crate::state::State, id: &str) -> Option<usize> {
    let view = {
        let mut tasks = lock(&state.mcp_tasks.tasks);
        let entry = tasks.iter_mut().find(|e| e.id == id && !e.stateless)?;
        if entry.status == "working" {
            entry.status = "completed";
        }
        let mut view = render_with(state.config.task_poll_interval_ms, entry);
        view["statusMessage"] = json!("finished (pushed)");
        view
    };
    Some(crate::mcp::push_to_listeners(
        state,
        &crate::jsonrpc::notification("notifications/tasks/status", view),
    ))
}

/// Every stateful task, for `tasks/list`.
pub(crate) fn list(ctx: &CallCtx) -> Vec<Value> {
    lock(&ctx.state.mcp_tasks.tasks)
        .iter()
        .filter(|e| !e.stateless)
        .map(|e| render(ctx, e))
        .collect()
}
