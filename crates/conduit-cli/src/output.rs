//! Human-readable and JSON output.

use conduit::types::{CallToolResult, GetPromptResult, Prompt, ReadResourceResult, Resource, Tool};
use conduit::Era;
use serde::Serialize;
use serde_json::Value;

/// Prints one JSON document on stdout.
pub(crate) fn json<T: Serialize + ?Sized>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("error: could not encode the output as JSON: {e}"),
    }
}

pub(crate) fn era_name(era: Option<Era>) -> &'static str {
    match era {
        Some(Era::Stateful) => "stateful",
        Some(Era::Stateless) => "stateless",
        None => "unknown",
    }
}

fn value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

pub(crate) fn tools(tools: &[Tool]) {
    if tools.is_empty() {
        println!("(no tools)");
    }
    for tool in tools {
        let v = value(tool);
        let name = str_field(&v, "name").unwrap_or("?");
        match str_field(&v, "description").or_else(|| str_field(&v, "title")) {
            Some(d) => println!("{name:<28} {}", first_line(d)),
            None => println!("{name}"),
        }
    }
}

pub(crate) fn resources(resources: &[Resource]) {
    if resources.is_empty() {
        println!("(no resources)");
    }
    for r in resources {
        let v = value(r);
        let uri = str_field(&v, "uri").unwrap_or("?");
        let name = str_field(&v, "name").unwrap_or("");
        match str_field(&v, "mimeType") {
            Some(mime) => println!("{uri:<28} {name} ({mime})"),
            None => println!("{uri:<28} {name}"),
        }
    }
}

pub(crate) fn prompts(prompts: &[Prompt]) {
    if prompts.is_empty() {
        println!("(no prompts)");
    }
    for p in prompts {
        let v = value(p);
        let name = str_field(&v, "name").unwrap_or("?");
        let args: Vec<String> = v
            .get("arguments")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|arg| {
                        let n = str_field(arg, "name")?;
                        let required = arg.get("required").and_then(Value::as_bool) == Some(true);
                        Some(if required {
                            n.to_owned()
                        } else {
                            format!("[{n}]")
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let desc = str_field(&v, "description")
            .map(first_line)
            .unwrap_or_default();
        println!("{name:<20} {:<24} {desc}", args.join(" "));
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// Prints content blocks: text as is, other kinds summarised.
fn content(blocks: &Value) {
    let Some(blocks) = blocks.as_array() else {
        return;
    };
    for block in blocks {
        match str_field(block, "type") {
            Some("text") => println!("{}", str_field(block, "text").unwrap_or("")),
            Some("image") | Some("audio") => {
                let len = str_field(block, "data").map(str::len).unwrap_or(0);
                println!(
                    "[{} {} , {} base64 bytes]",
                    str_field(block, "type").unwrap_or(""),
                    str_field(block, "mimeType").unwrap_or("?"),
                    len
                );
            }
            Some("resource_link") => {
                println!("[link {}]", str_field(block, "uri").unwrap_or("?"))
            }
            Some("resource") => {
                let r = block.get("resource").cloned().unwrap_or(Value::Null);
                match str_field(&r, "text") {
                    Some(t) => println!("{t}"),
                    None => println!("[resource {}]", str_field(&r, "uri").unwrap_or("?")),
                }
            }
            _ => println!("{block}"),
        }
    }
}

pub(crate) fn call_result(result: &CallToolResult) {
    let v = value(result);
    if v.get("isError").and_then(Value::as_bool) == Some(true) {
        eprintln!("tool error:");
    }
    content(v.get("content").unwrap_or(&Value::Null));
    if let Some(structured) = v.get("structuredContent") {
        if v.get("content")
            .and_then(Value::as_array)
            .map(Vec::is_empty)
            .unwrap_or(true)
        {
            println!("{structured}");
        }
    }
}

pub(crate) fn read_result(result: &ReadResourceResult) {
    let v = value(result);
    for c in v
        .get("contents")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match str_field(c, "text") {
            Some(t) => println!("{t}"),
            None => println!(
                "[blob {} ({}), {} base64 bytes]",
                str_field(c, "uri").unwrap_or("?"),
                str_field(c, "mimeType").unwrap_or("?"),
                str_field(c, "blob").map(str::len).unwrap_or(0)
            ),
        }
    }
}

pub(crate) fn prompt_result(result: &GetPromptResult) {
    let v = value(result);
    if let Some(d) = str_field(&v, "description") {
        println!("# {d}");
    }
    for m in v
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        print!("{}: ", str_field(m, "role").unwrap_or("?"));
        let c = m.get("content").cloned().unwrap_or(Value::Null);
        content(&Value::Array(vec![c]));
    }
}
