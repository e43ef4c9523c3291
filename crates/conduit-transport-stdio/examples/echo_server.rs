//! A small MCP server over stdio, for tests and demonstrations: both eras (`initialize` and
//! `server/discover`), tools, resources and prompts. Built on `serde_json` and the standard
//! library only, so it checks the transport independently of Conduit's own types.
//!
//! Tools: `echo {message}`, `add {a, b}`, `slow {ms}` (answers after a delay),
//! `crash {code}` (exits at once without answering), `big {bytes}` (answers with one very long
//! line), `stray` (first sends a response with an id nobody asked for), `chatty` (logs to
//! stderr and sends a log notification first), `ask_client` (sends the client a `ping` request
//! and answers once it has the reply), `cancelled` (the request ids named by
//! `notifications/cancelled` so far).
//!
//! Flags: `--ignore-stdin-close` keeps running after stdin closes (to exercise the shutdown
//! escalation).
//!
//! Run it by hand: `cargo run -p conduit-transport-stdio --example echo_server`, then type
//! `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`.

use std::io::{BufRead, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

type Out = Arc<Mutex<std::io::Stdout>>;

fn send(out: &Out, message: &Value) {
    if let Ok(mut o) = out.lock() {
        let _ = writeln!(o, "{message}");
        let _ = o.flush();
    }
}

fn result(id: &Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

fn error(id: &Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

fn text(s: impl Into<String>) -> Value {
    json!({"content": [{"type": "text", "text": s.into()}]})
}

fn tools() -> Value {
    let obj = |props: Value| json!({"type": "object", "properties": props});
    json!({"tools": [
        {"name": "echo", "inputSchema": obj(json!({"message": {"type": "string"}}))},
        {"name": "add", "inputSchema": obj(json!({"a": {"type": "number"}, "b": {"type": "number"}}))},
        {"name": "slow", "inputSchema": obj(json!({"ms": {"type": "integer"}}))},
        {"name": "crash", "inputSchema": obj(json!({"code": {"type": "integer"}}))},
        {"name": "big", "inputSchema": obj(json!({"bytes": {"type": "integer"}}))},
        {"name": "stray", "inputSchema": obj(json!({}))},
        {"name": "chatty", "inputSchema": obj(json!({}))},
        {"name": "ask_client", "inputSchema": obj(json!({}))},
        {"name": "cancelled", "inputSchema": obj(json!({}))}
    ]})
}

struct State {
    out: Out,
    cancelled: Mutex<Vec<Value>>,
    /// Replies to our own requests to the client, by id.
    replies: Mutex<Vec<(Value, Value)>>,
}

fn main() {
    let ignore_close = std::env::args().any(|a| a == "--ignore-stdin-close");
    let state = Arc::new(State {
        out: Arc::new(Mutex::new(std::io::stdout())),
        cancelled: Mutex::new(Vec::new()),
        replies: Mutex::new(Vec::new()),
    });
    eprintln!("echo_server: ready");
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let msg: Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => {
                send(
                    &state.out,
                    &error(&Value::Null, -32700, &format!("parse error: {e}")),
                );
                continue;
            }
        };
        handle(&state, msg);
    }
    eprintln!("echo_server: stdin closed");
    if ignore_close {
        loop {
            std::thread::sleep(Duration::from_secs(60));
        }
    }
}

fn handle(state: &Arc<State>, msg: Value) {
    let method = msg.get("method").and_then(Value::as_str).map(str::to_owned);
    let id = msg.get("id").cloned();
    let params = msg.get("params").cloned().unwrap_or(json!({}));
    let Some(method) = method else {
        // A response to one of our requests.
        if let Some(id) = id {
            if let Ok(mut r) = state.replies.lock() {
                r.push((id, msg));
            }
        }
        return;
    };
    let Some(id) = id else {
        if method == "notifications/cancelled" {
            if let Some(rid) = params.get("requestId") {
                if let Ok(mut c) = state.cancelled.lock() {
                    c.push(rid.clone());
                }
            }
        }
        return;
    };
    let out = &state.out;
    match method.as_str() {
        "initialize" => {
            let version = params
                .get("protocolVersion")
                .cloned()
                .unwrap_or(json!("2025-11-25"));
            send(
                out,
                &result(
                    &id,
                    json!({
                        "protocolVersion": version,
                        "capabilities": {"tools": {}, "resources": {}, "prompts": {}},
                        "serverInfo": {"name": "echo-server", "version": "1.0.0"}
                    }),
                ),
            );
        }
        "server/discover" => send(
            out,
            &result(
                &id,
                json!({
                    "resultType": "complete",
                    "supportedVersions": ["2026-07-28"],
                    "capabilities": {"tools": {}, "resources": {}, "prompts": {}},
                    "serverInfo": {"name": "echo-server", "version": "1.0.0"}
                }),
            ),
        ),
        "ping" => send(out, &result(&id, json!({}))),
        "tools/list" => send(out, &result(&id, tools())),
        "resources/list" => send(
            out,
            &result(
                &id,
                json!({"resources": [{"uri": "echo://greeting", "name": "greeting", "mimeType": "text/plain"}]}),
            ),
        ),
        "resources/read" => {
            let uri = params.get("uri").and_then(Value::as_str).unwrap_or("");
            if uri == "echo://greeting" {
                send(
                    out,
                    &result(
                        &id,
                        json!({"contents": [{"uri": uri, "mimeType": "text/plain", "text": "hello"}]}),
                    ),
                );
            } else {
                send(out, &error(&id, -32002, "resource not found"));
            }
        }
        "prompts/list" => send(
            out,
            &result(
                &id,
                json!({"prompts": [{"name": "greet", "arguments": [{"name": "name", "required": true}]}]}),
            ),
        ),
        "prompts/get" => {
            let name = params
                .pointer("/arguments/name")
                .and_then(Value::as_str)
                .unwrap_or("you");
            send(
                out,
                &result(
                    &id,
                    json!({"messages": [{"role": "user", "content": {"type": "text", "text": format!("Hello, {name}!")}}]}),
                ),
            );
        }
        "tools/call" => {
            let state = state.clone();
            std::thread::spawn(move || call_tool(&state, &id, &params));
        }
        other => send(
            out,
            &error(&id, -32601, &format!("method not found: {other}")),
        ),
    }
}

fn call_tool(state: &State, id: &Value, params: &Value) {
    let out = &state.out;
    let name = params.get("name").and_then(Value::as_str).unwrap_or("");
    let args = params.get("arguments").cloned().unwrap_or(json!({}));
    let int = |k: &str| args.get(k).and_then(Value::as_u64).unwrap_or(0);
    let reply = match name {
        "echo" => text(args.get("message").and_then(Value::as_str).unwrap_or("")),
        "add" => {
            let n = |k: &str| args.get(k).and_then(Value::as_f64).unwrap_or(0.0);
            text(format!("{}", n("a") + n("b")))
        }
        "slow" => {
            std::thread::sleep(Duration::from_millis(int("ms")));
            text("done")
        }
        "crash" => {
            eprintln!("echo_server: crashing on request");
            std::process::exit(i32::try_from(int("code")).unwrap_or(1));
        }
        "big" => text("x".repeat(usize::try_from(int("bytes")).unwrap_or(0))),
        "stray" => {
            send(out, &result(&json!(987_654_321), text("nobody asked")));
            text("after the stray response")
        }
        "chatty" => {
            eprintln!("echo_server: this is a log line on stderr, not an error");
            send(
                out,
                &json!({"jsonrpc": "2.0", "method": "notifications/message",
                        "params": {"level": "info", "data": "chatty says hi"}}),
            );
            text("chatted")
        }
        "ask_client" => {
            let ask_id = json!(format!("srv-{id}"));
            send(
                out,
                &json!({"jsonrpc": "2.0", "id": ask_id, "method": "ping"}),
            );
            let mut answer = None;
            for _ in 0..500 {
                let found = state
                    .replies
                    .lock()
                    .ok()
                    .and_then(|r| r.iter().find(|(i, _)| *i == ask_id).map(|(_, m)| m.clone()));
                if found.is_some() {
                    answer = found;
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            match answer {
                Some(a) => text(format!("client answered: {a}")),
                None => {
                    send(out, &error(id, -32603, "the client never answered ping"));
                    return;
                }
            }
        }
        "cancelled" => {
            let ids = state
                .cancelled
                .lock()
                .map(|c| c.clone())
                .unwrap_or_default();
            json!({"content": [{"type": "text", "text": Value::Array(ids).to_string()}]})
        }
        other => {
            send(out, &error(id, -32602, &format!("unknown tool: {other}")));
            return;
        }
    };
    send(out, &result(id, reply));
}
