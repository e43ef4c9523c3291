//! The gateway playing a DataGrout gateway: the `data-grout/...` meta-tools, a small catalogue
//! of fake integrations, receipts, `estimate_only`, and deterministic flows and Prism lenses.
//!
//! Integration tools (e.g. `salesforce@1/get_lead@1`) can be called directly or through
//! `data-grout/discovery.perform`. Receipts are put where real gateways put them, in three
//! places on purpose so that clients must look everywhere:
//!
//! * integration tools, `perform`, `guide`, `plan`, `flow.into`, `prism.focus`: the result's
//!   `_meta.datagrout.receipt`;
//! * `discovery.discover`: `_datagrout.receipt` inside the structured content;
//! * every other `data-grout/*` tool (namespaces): the compact `_meta._dg.credits`.
//!
//! With `estimate_only: true` in the arguments, no tool runs: the answer is
//! `{estimate_only, tool, estimated_credits}` with `_meta.datagrout.credit_estimate`.
//!
//! Costs are binary fractions so that sums are exact.

use serde_json::{json, Map, Value};

/// One fake integration tool.
struct Integration {
    name: &'static str,
    integration: &'static str,
    description: &'static str,
    cost: f64,
    savings: f64,
}

const CATALOGUE: &[Integration] = &[
    Integration {
        name: "salesforce@1/get_lead@1",
        integration: "salesforce",
        description: "Get a Salesforce lead by id",
        cost: 2.0,
        savings: 0.5,
    },
    Integration {
        name: "salesforce@1/find_leads@1",
        integration: "salesforce",
        description: "Find Salesforce leads by name",
        cost: 3.0,
        savings: 0.0,
    },
    Integration {
        name: "quickbooks@1/list_invoices@1",
        integration: "quickbooks",
        description: "List unpaid invoices in QuickBooks",
        cost: 1.5,
        savings: 0.25,
    },
    Integration {
        name: "slack@1/post_message@1",
        integration: "slack",
        description: "Post a message to a Slack channel",
        cost: 1.0,
        savings: 0.0,
    },
    Integration {
        name: "github@1/create_issue@1",
        integration: "github",
        description: "Create an issue in a GitHub repository",
        cost: 2.5,
        savings: 0.0,
    },
];

/// The credits of meta-tools.
const DISCOVER_COST: f64 = 0.25;
const GUIDE_COST: f64 = 0.25;
const PLAN_COST: f64 = 0.5;
const NAMESPACE_COST: f64 = 0.25;
const FOCUS_COST: f64 = 0.5;

/// The meta-tools listed in `tools/list`.
const META_TOOLS: &[(&str, &str)] = &[
    (
        "data-grout/discovery.discover",
        "Semantic search over connected integrations",
    ),
    (
        "data-grout/discovery.perform",
        "Run an integration tool with cost tracking",
    ),
    ("data-grout/discovery.guide", "Guided multi-step workflow"),
    ("data-grout/discovery.plan", "Plan tool calls for a goal"),
    ("data-grout/flow.into", "Run a flow plan"),
    (
        "data-grout/prism.focus",
        "Convert data between semantic types",
    ),
];

fn find(name: &str) -> Option<&'static Integration> {
    CATALOGUE.iter().find(|i| i.name == name)
}

/// Tool definitions: the meta-tools and the catalogue, appended to the ordinary tools when the
/// gateway runs with [`GatewayConfig::datagrout`](crate::GatewayConfig::datagrout).
pub(crate) fn definitions() -> Vec<Value> {
    let object_schema = json!({ "type": "object" });
    META_TOOLS
        .iter()
        .map(|(name, description)| {
            json!({ "name": name, "description": description, "inputSchema": object_schema })
        })
        .chain(CATALOGUE.iter().map(|i| {
            json!({ "name": i.name, "description": i.description, "inputSchema": object_schema })
        }))
        .collect()
}

fn receipt(tool: &str, estimated: f64, cost: f64, savings: f64) -> Value {
    json!({
        "receipt_id": format!("rcpt-{tool}"),
        "timestamp": "2026-01-01T00:00:00Z",
        "estimated_credits": estimated,
        "actual_credits": cost,
        "net_credits": cost - savings,
        "savings": savings,
        "savings_bonus": 0.0,
        "breakdown": { "base": cost },
        "byok": { "enabled": false, "discount_applied": false, "discount_rate": 0.0 },
        "transaction_id": format!("tx-{tool}"),
    })
}

fn structured(payload: Value) -> Value {
    json!({
        "content": [{ "type": "text", "text": payload.to_string() }],
        "structuredContent": payload,
    })
}

fn with_meta_receipt(mut result: Value, receipt: Value) -> Value {
    result["_meta"] = json!({ "datagrout": { "receipt": receipt } });
    result
}

fn tool_error(text: String) -> Value {
    json!({ "content": [{ "type": "text", "text": text }], "isError": true })
}

/// What a tool call costs (before savings), for estimates; `None` for tools that are not
/// DataGrout's.
fn cost_of(name: &str, args: &Value) -> Option<f64> {
    if let Some(i) = find(name) {
        return Some(i.cost);
    }
    Some(match name {
        "data-grout/discovery.discover" => DISCOVER_COST,
        "data-grout/discovery.perform" => args
            .get("tool")
            .and_then(Value::as_str)
            .and_then(find)
            .map_or(0.0, |i| i.cost),
        "data-grout/discovery.guide" => GUIDE_COST,
        "data-grout/discovery.plan" => PLAN_COST,
        "data-grout/flow.into" => flow_steps(args)
            .unwrap_or_default()
            .iter()
            .filter_map(|(t, _)| find(t))
            .map(|i| i.cost)
            .sum(),
        "data-grout/prism.focus" => FOCUS_COST,
        n if n.starts_with("data-grout/") => NAMESPACE_COST,
        _ => return None,
    })
}

/// Handles `name` when it is a DataGrout or catalogue tool; `None` otherwise.
pub(crate) fn call(name: &str, args: &Value) -> Option<Value> {
    let cost = cost_of(name, args)?;
    if args.get("estimate_only") == Some(&Value::Bool(true)) {
        let mut result = structured(json!({
            "estimate_only": true,
            "tool": name,
            "estimated_credits": cost,
        }));
        result["_meta"] = json!({ "datagrout": { "credit_estimate": {
            "estimated_total": cost,
            "breakdown": { "base": cost },
        } } });
        return Some(result);
    }
    if let Some(i) = find(name) {
        return Some(run_integration(i, args));
    }
    Some(match name {
        "data-grout/discovery.discover" => discover(args),
        "data-grout/discovery.perform" => perform(args),
        "data-grout/discovery.guide" => guide(args),
        "data-grout/discovery.plan" => plan(args),
        "data-grout/flow.into" => flow_into(args),
        "data-grout/prism.focus" => focus(args),
        other => namespace(other, args),
    })
}

/// Deterministic integration outputs.
fn integration_output(i: &Integration, args: &Value) -> Result<Value, String> {
    let s = |k: &str| args.get(k).and_then(Value::as_str);
    match i.name {
        "salesforce@1/get_lead@1" => {
            let id = s("id").ok_or("get_lead: argument \"id\" (string) is required")?;
            Ok(json!({ "id": id, "name": format!("Lead {id}"), "status": "open" }))
        }
        "salesforce@1/find_leads@1" => {
            let name = s("name").unwrap_or("");
            Ok(
                json!({ "leads": [{ "id": "1", "name": format!("{name} One") }, { "id": "2", "name": format!("{name} Two") }] }),
            )
        }
        "quickbooks@1/list_invoices@1" => Ok(json!({ "invoices": [
            { "id": "INV-1", "amount": 120, "paid": false },
            { "id": "INV-2", "amount": 80, "paid": false }
        ] })),
        "slack@1/post_message@1" => {
            let channel = s("channel").ok_or("post_message: argument \"channel\" is required")?;
            Ok(json!({ "posted": true, "channel": channel, "text": s("text").unwrap_or("") }))
        }
        _ => Ok(json!({ "created": true, "title": s("title").unwrap_or("untitled") })),
    }
}

fn run_integration(i: &Integration, args: &Value) -> Value {
    match integration_output(i, args) {
        Ok(out) => with_meta_receipt(structured(out), receipt(i.name, i.cost, i.cost, i.savings)),
        Err(e) => tool_error(e),
    }
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() >= 3)
        .map(str::to_lowercase)
        .collect()
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Ranks the catalogue by the share of query words found in a tool's name, integration and
/// description.
fn discover(args: &Value) -> Value {
    let goal = args.get("goal").and_then(Value::as_str);
    let query = args.get("query").and_then(Value::as_str);
    let text = query.or(goal).unwrap_or("");
    let limit = args.get("limit").and_then(Value::as_u64).unwrap_or(10) as usize;
    let min_score = args.get("min_score").and_then(Value::as_f64).unwrap_or(0.0);
    let only = string_list(args.get("integrations"));
    let wanted = words(text);
    let mut ranked: Vec<(f64, &Integration)> = CATALOGUE
        .iter()
        .filter(|i| only.is_empty() || only.iter().any(|o| o == i.integration))
        .map(|i| {
            let hay = words(&format!("{} {} {}", i.name, i.integration, i.description));
            let hits = wanted.iter().filter(|w| hay.contains(w)).count();
            let score = if wanted.is_empty() {
                0.0
            } else {
                hits as f64 / wanted.len() as f64
            };
            (score, i)
        })
        .filter(|(score, _)| *score > 0.0 && *score >= min_score)
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.name.cmp(b.1.name)));
    ranked.truncate(limit);
    let results: Vec<Value> = ranked
        .iter()
        .map(|(score, i)| {
            json!({
                "tool_name": i.name,
                "integration": i.integration,
                "server": format!("srv-{}", i.integration),
                "score": score,
                "distance": 1.0 - score,
                "description": i.description,
                "input_contract": { "type": "object" },
                "output_contract": { "type": "object" },
            })
        })
        .collect();
    let mut payload = json!({ "results": results, "total": results.len() });
    if let Some(g) = goal {
        payload["goal_used"] = json!(g);
    } else {
        payload["query_used"] = json!(text);
    }
    payload["_datagrout"] = json!({ "receipt": receipt("data-grout/discovery.discover", DISCOVER_COST, DISCOVER_COST, 0.0) });
    structured(payload)
}

fn perform(args: &Value) -> Value {
    let Some(tool) = args.get("tool").and_then(Value::as_str) else {
        return tool_error("perform: argument \"tool\" (string) is required".into());
    };
    let Some(i) = find(tool) else {
        return tool_error(format!("perform: unknown tool {tool}"));
    };
    let inner = args.get("args").cloned().unwrap_or(json!({}));
    run_integration(i, &inner)
}

/// Two steps: the goal yields a choice of integrations; choosing completes.
fn guide(args: &Value) -> Value {
    let s = |k: &str| args.get(k).and_then(Value::as_str);
    let payload = match (s("session_id"), s("choice"), s("goal")) {
        (Some(session), Some(choice), _) => {
            let goal = session.strip_prefix("gs:").unwrap_or(session);
            json!({
                "session_id": session, "step": 2, "status": "completed",
                "message": format!("done: {goal} via {choice}"),
                "options": [], "path_taken": [choice], "total_cost": 2.0 * GUIDE_COST,
                "result": { "goal": goal, "choice": choice }
            })
        }
        (_, _, Some(goal)) => json!({
            "session_id": format!("gs:{goal}"), "step": 1, "status": "choosing",
            "message": "choose an integration",
            "options": [
                { "id": "salesforce", "label": "Salesforce", "cost": 2.0, "viable": true },
                { "id": "quickbooks", "label": "QuickBooks", "cost": 1.5, "viable": true, "metadata": { "region": "us" } }
            ],
            "path_taken": [], "total_cost": GUIDE_COST, "progress": { "done": 1, "of": 2 }
        }),
        _ => return tool_error("guide: a goal, or a session_id and a choice, are required".into()),
    };
    with_meta_receipt(
        structured(payload),
        receipt("data-grout/discovery.guide", GUIDE_COST, GUIDE_COST, 0.0),
    )
}

fn plan(args: &Value) -> Value {
    let text = args
        .get("goal")
        .or_else(|| args.get("query"))
        .and_then(Value::as_str);
    let Some(text) = text else {
        return tool_error("plan: a goal or a query is required".into());
    };
    let found =
        discover(&json!({ "query": text, "limit": args.get("k").cloned().unwrap_or(json!(2)) }));
    let steps: Vec<Value> = found["structuredContent"]["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| json!({ "tool": r["tool_name"], "args": {} }))
        .collect();
    with_meta_receipt(
        structured(json!({ "goal": text, "steps": steps })),
        receipt("data-grout/discovery.plan", PLAN_COST, PLAN_COST, 0.0),
    )
}

fn flow_steps(args: &Value) -> Result<Vec<(String, Value)>, String> {
    let steps = args
        .get("plan")
        .and_then(|p| p.get("steps").or(Some(p)))
        .and_then(Value::as_array)
        .ok_or("flow.into: \"plan\" must be an array of steps or {steps: [...]}")?;
    steps
        .iter()
        .map(|s| {
            let tool = s
                .get("tool")
                .and_then(Value::as_str)
                .ok_or("flow.into: every step needs a \"tool\"")?;
            Ok((tool.to_owned(), s.get("args").cloned().unwrap_or(json!({}))))
        })
        .collect()
}

/// Runs the plan's steps in order; the first failing step stops the flow.
fn flow_into(args: &Value) -> Value {
    let steps = match flow_steps(args) {
        Ok(s) => s,
        Err(e) => return tool_error(e),
    };
    let (mut cost, mut savings, mut outputs) = (0.0, 0.0, Vec::new());
    for (tool, step_args) in &steps {
        let Some(i) = find(tool) else {
            return tool_error(format!("flow.into: unknown tool {tool}"));
        };
        match integration_output(i, step_args) {
            Ok(out) => outputs.push(json!({ "tool": tool, "output": out })),
            Err(e) => return tool_error(format!("flow.into: step {tool} failed: {e}")),
        }
        cost += i.cost;
        savings += i.savings;
    }
    let payload = json!({
        "status": "completed",
        "steps": outputs,
        "validated": args.get("validate_ctc").cloned().unwrap_or(json!(true)),
        "saved_as_skill": args.get("save_as_skill").cloned().unwrap_or(json!(false)),
    });
    with_meta_receipt(
        structured(payload),
        receipt("data-grout/flow.into", cost, cost, savings),
    )
}

fn upper(v: &Value) -> Value {
    match v {
        Value::String(s) => json!(s.to_uppercase()),
        Value::Array(a) => Value::Array(a.iter().map(upper).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), upper(v))).collect()),
        other => other.clone(),
    }
}

/// Deterministic lenses (`target_type`): `upper`, `keys`, `count`, `csv`, `json`.
fn focus(args: &Value) -> Value {
    let data = args.get("data").cloned().unwrap_or(Value::Null);
    let Some(lens) = args.get("target_type").and_then(Value::as_str) else {
        return tool_error("prism.focus: \"target_type\" is required".into());
    };
    let output = match lens {
        "json" => data.clone(),
        "upper" => upper(&data),
        "keys" => {
            let mut keys: Vec<&String> = data
                .as_object()
                .map(|o| o.keys().collect())
                .unwrap_or_default();
            keys.sort();
            json!(keys)
        }
        "count" => json!(match &data {
            Value::Array(a) => a.len(),
            Value::Object(o) => o.len(),
            Value::Null => 0,
            _ => 1,
        }),
        "csv" => {
            let Some(rows) = data.as_array() else {
                return tool_error("prism.focus: the csv lens needs an array of objects".into());
            };
            let mut header: Vec<String> = Vec::new();
            for row in rows {
                for k in row
                    .as_object()
                    .map(|o| o.keys().cloned().collect::<Vec<_>>())
                    .unwrap_or_default()
                {
                    if !header.contains(&k) {
                        header.push(k);
                    }
                }
            }
            let mut lines = vec![header.join(",")];
            for row in rows {
                let cells: Vec<String> = header
                    .iter()
                    .map(|h| match row.get(h) {
                        Some(Value::String(s)) => s.clone(),
                        Some(Value::Null) | None => String::new(),
                        Some(v) => v.to_string(),
                    })
                    .collect();
                lines.push(cells.join(","));
            }
            json!(lines.join("\n"))
        }
        other => {
            return tool_error(format!(
                "prism.focus: unknown lens {other:?} (try upper, keys, count, csv, json)"
            ))
        }
    };
    let payload = json!({
        "output": output,
        "source_type": args.get("source_type").cloned().unwrap_or(Value::Null),
        "target_type": lens,
    });
    with_meta_receipt(
        structured(payload),
        receipt("data-grout/prism.focus", FOCUS_COST, FOCUS_COST, 0.0),
    )
}

/// Every other `data-grout/*` tool: echoes what it received, with a compact receipt.
fn namespace(name: &str, args: &Value) -> Value {
    let mut received: Map<String, Value> = args.as_object().cloned().unwrap_or_default();
    received.remove("_meta");
    let mut result = structured(json!({ "tool": name, "ok": true, "received": received }));
    result["_meta"] = json!({ "_dg": { "credits": {
        "estimated": NAMESPACE_COST, "charged": NAMESPACE_COST, "remaining": 1000.0,
        "premium": 0.0, "llm": NAMESPACE_COST
    } } });
    result
}
