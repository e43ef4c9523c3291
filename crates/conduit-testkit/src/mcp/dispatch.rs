//! JSON-RPC method dispatch, shared by both protocol eras.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::features::{completion, pagination, prompts, resources, tasks, tools};
use crate::jsonrpc::{error_response, result_response, RpcError};
use crate::mcp::versions::{LEGACY_VERSIONS, STATELESS_VERSIONS};
use crate::state::{lock, State};

/// `_meta` key carrying server identity on stateless results.
pub(crate) const SERVER_INFO_KEY: &str = "io.modelcontextprotocol/serverInfo";

/// The era a request is served in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Era {
    /// `initialize` + session, at the negotiated version.
    Stateful {
        /// Negotiated protocol version.
        version: String,
    },
    /// 2026-07-28 per-request metadata.
    Stateless,
}

/// Sends request-scoped notifications on the SSE stream answering the request.
pub(crate) struct Emitter {
    pub(crate) state: Arc<State>,
    pub(crate) stream: String,
}

impl Emitter {
    pub(crate) fn notify(&self, message: &Value) {
        lock(&self.state.streams).emit(&self.stream, Some(message), None);
    }
}

/// Everything a method handler may need.
pub(crate) struct CallCtx {
    pub(crate) state: Arc<State>,
    pub(crate) era: Era,
    /// `None` when answering with plain JSON (notifications cannot be sent).
    pub(crate) emitter: Option<Emitter>,
}

const STATEFUL_METHODS: &[&str] = &[
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "prompts/list",
    "prompts/get",
    "logging/setLevel",
    "completion/complete",
    "tasks/get",
    "tasks/result",
    "tasks/list",
    "tasks/cancel",
];

const STATELESS_METHODS: &[&str] = &[
    "server/discover",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "subscriptions/listen",
    "tasks/get",
    "tasks/update",
    "tasks/cancel",
];

/// 2026-07-28 operations whose results carry `ttlMs` and `cacheScope`.
const CACHEABLE: &[&str] = &[
    "server/discover",
    "tools/list",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
    "resources/read",
];

/// Whether `method` exists in `era`.
pub(crate) fn method_exists(era: &Era, method: &str) -> bool {
    match era {
        Era::Stateful { .. } => STATEFUL_METHODS.contains(&method),
        Era::Stateless => STATELESS_METHODS.contains(&method),
    }
}

/// `serverInfo`.
pub(crate) fn server_info() -> Value {
    json!({ "name": "conduit-test-gateway", "title": "Conduit test gateway", "version": env!("CARGO_PKG_VERSION") })
}

/// Server capabilities for `era`.
pub(crate) fn capabilities(era: &Era) -> Value {
    match era {
        Era::Stateful { .. } => json!({
            "tools": { "listChanged": true },
            "resources": { "subscribe": true, "listChanged": true },
            "prompts": { "listChanged": true },
            "logging": {},
            "completions": {},
            "tasks": crate::features::tasks::stateful_capability()
        }),
        // Change notifications through `subscriptions/listen`; no logging/setLevel.
        Era::Stateless => json!({
            "tools": { "listChanged": true },
            "resources": { "subscribe": true, "listChanged": true },
            "prompts": { "listChanged": true },
            "completions": {},
            "extensions": { (crate::features::tasks::TASKS_EXTENSION): {} }
        }),
    }
}

/// Answers one request: the complete JSON-RPC response message.
pub(crate) async fn respond(ctx: &CallCtx, id: &Value, method: &str, params: &Value) -> Value {
    match call(ctx, method, params).await {
        Ok(result) => {
            let result = stamp_list_ttl(method, result, ctx.state.config.list_ttl_ms);
            let result = match ctx.era {
                Era::Stateless => stamp_stateless(method, result),
                Era::Stateful { .. } => result,
            };
            result_response(id, result)
        }
        Err(err) => error_response(id, &err),
    }
}

/// The list methods whose `ttlMs` [`GatewayConfig::list_ttl_ms`](crate::GatewayConfig::list_ttl_ms)
/// sets.
const LISTS: &[&str] = &[
    "tools/list",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
];

/// Puts the configured `ttlMs` on list results (in both eras, so that a client's list cache can
/// be tested in either; stateful-era clients ignore unknown result fields).
fn stamp_list_ttl(method: &str, mut result: Value, ttl_ms: u64) -> Value {
    if ttl_ms > 0 && LISTS.contains(&method) {
        if let Value::Object(obj) = &mut result {
            obj.insert("ttlMs".to_owned(), json!(ttl_ms));
        }
    }
    result
}

/// Adds the fields the 2026-07-28 revision requires on results.
fn stamp_stateless(method: &str, mut result: Value) -> Value {
    if let Value::Object(obj) = &mut result {
        obj.entry("resultType").or_insert_with(|| json!("complete"));
        if CACHEABLE.contains(&method) {
            obj.entry("ttlMs").or_insert_with(|| json!(0));
            obj.entry("cacheScope").or_insert_with(|| json!("public"));
        }
        let meta = obj
            .entry("_meta")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(meta) = meta {
            meta.entry(SERVER_INFO_KEY).or_insert_with(server_info);
        }
    }
    result
}

fn page(
    ctx: &CallCtx,
    kind: &str,
    key: &str,
    items: Vec<Value>,
    params: &Value,
) -> Result<Value, RpcError> {
    let repeat = ctx.state.faults().repeat_cursor;
    let (items, next) =
        pagination::paginate(kind, items, params, ctx.state.config.page_size, repeat)?;
    let mut out = Map::new();
    out.insert(key.to_owned(), Value::Array(items));
    if let Some(next) = next {
        out.insert("nextCursor".to_owned(), json!(next));
    }
    Ok(Value::Object(out))
}

async fn call(ctx: &CallCtx, method: &str, params: &Value) -> Result<Value, RpcError> {
    if !method_exists(&ctx.era, method) {
        return Err(RpcError::method_not_found(method));
    }
    match method {
        "ping" | "logging/setLevel" => Ok(json!({})),
        "server/discover" => Ok(discover(ctx)),
        "tools/list" => {
            let mut list = tools::definitions();
            list.push(ctx.state.param_headers.definition());
            if ctx.state.config.datagrout {
                list.extend(crate::datagrout::definitions());
            }
            page(ctx, "tools", "tools", list, params)
        }
        "tools/call" => tools::call(ctx, params).await,
        "resources/list" => page(ctx, "resources", "resources", resources::list(), params),
        "resources/templates/list" => page(
            ctx,
            "templates",
            "resourceTemplates",
            resources::templates(),
            params,
        ),
        "resources/read" => resources::read(&ctx.era, params),
        "resources/subscribe" | "resources/unsubscribe" => resources::subscription(params),
        "prompts/list" => page(ctx, "prompts", "prompts", prompts::list(), params),
        "prompts/get" => prompts::get(params),
        "completion/complete" => completion::complete(params),
        "tasks/list" => page(ctx, "tasks", "tasks", tasks::list(ctx), params),
        m if m.starts_with("tasks/") => tasks::method(ctx, m, params),
        // `initialize` is answered by the transport, which owns sessions.
        other => Err(RpcError::method_not_found(other)),
    }
}

fn discover(ctx: &CallCtx) -> Value {
    let mut result = json!({
        "supportedVersions": STATELESS_VERSIONS,
        "capabilities": capabilities(&Era::Stateless),
        // Pre-PR-3002 location, kept for clients that still read it; `_meta` has the same.
        "serverInfo": server_info(),
    });
    if let Some(instructions) = &ctx.state.config.instructions {
        result["instructions"] = json!(instructions);
    }
    result
}

/// The `initialize` result for the negotiated `version`.
pub(crate) fn initialize_result(state: &State, version: &str) -> Value {
    let era = Era::Stateful {
        version: version.to_owned(),
    };
    let mut result = json!({
        "protocolVersion": version,
        "capabilities": capabilities(&era),
        "serverInfo": server_info(),
    });
    if let Some(instructions) = &state.config.instructions {
        result["instructions"] = json!(instructions);
    }
    result
}

/// Negotiates a stateful version: the client's if supported, else the latest.
pub(crate) fn negotiate(requested: Option<&str>) -> &'static str {
    requested
        .and_then(|r| LEGACY_VERSIONS.iter().copied().find(|v| *v == r))
        .unwrap_or(LEGACY_VERSIONS[0])
}
