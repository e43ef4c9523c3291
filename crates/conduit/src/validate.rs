//! Checks the client makes on what it is asked and on what it answers.
//!
//! * [`sampling_messages`]: a `sampling/createMessage` conversation must keep the spec's
//!   content constraints (2025-11-25, "Message Content Constraints"): a user message holding
//!   tool results holds nothing else, and every assistant message with `tool_use` blocks is
//!   followed by a user message answering each of them by `toolUseId`. A violation is
//!   answered with `-32602` before the handler (and the model behind it) sees the request.
//! * [`form_answer`]: an accepted form-mode elicitation answer is checked against the
//!   `requestedSchema` (the restricted, flat schema of the spec: string, number, integer,
//!   boolean, single- and multi-select enums) before it is sent, so a handler bug never puts
//!   data the server did not ask for on the wire.

use conduit_protocol::jsonrpc::ErrorObject;
use conduit_protocol::mcp::{JsonObject, Role, SamplingContent, SamplingMessage};
use serde_json::Value;

/// Checks the content constraints of a sampling conversation; the error is the `-32602`
/// answer the spec asks for. Only what the spec states is enforced: a user message holding
/// tool results holds nothing else, and the message after an assistant message with tool uses
/// answers every one of them.
pub fn sampling_messages(messages: &[SamplingMessage]) -> Result<(), ErrorObject> {
    // The tool uses of the previous assistant message, waiting for their results.
    let mut open: Option<(usize, Vec<&str>)> = None;
    for (i, message) in messages.iter().enumerate() {
        let blocks = message.content.blocks();
        let results: Vec<&str> = blocks
            .iter()
            .filter_map(|b| match b {
                SamplingContent::ToolResult(r) => Some(r.tool_use_id.as_str()),
                _ => None,
            })
            .collect();
        if message.role == Role::User && !results.is_empty() && results.len() != blocks.len() {
            return Err(ErrorObject::invalid_params(format!(
                "message {i}: tool results mixed with other content"
            )));
        }
        if let Some((asked_at, uses)) = open.take() {
            let answered = message.role == Role::User;
            if let Some(missing) = uses.iter().find(|id| !answered || !results.contains(id)) {
                return Err(ErrorObject::invalid_params(format!(
                    "tool result missing in request: the tool use `{missing}` of message \
                     {asked_at} has no result in message {i}"
                )));
            }
        }
        if message.role == Role::Assistant {
            let uses: Vec<&str> = blocks
                .iter()
                .filter_map(|b| match b {
                    SamplingContent::ToolUse(u) => Some(u.id.as_str()),
                    _ => None,
                })
                .collect();
            if !uses.is_empty() {
                open = Some((i, uses));
            }
        }
    }
    // Tool uses in the last message are where the model is to continue from: nothing follows
    // them yet, so there is nothing to check.
    Ok(())
}

/// Checks an accepted form answer against the `requestedSchema` it answers. Returns a
/// description of the first mismatch.
pub fn form_answer(content: &JsonObject, schema: &JsonObject) -> Result<(), String> {
    let empty = JsonObject::new();
    let props = schema
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for name in required.iter().filter_map(Value::as_str) {
            if !content.contains_key(name) {
                return Err(format!("the required field `{name}` is missing"));
            }
        }
    }
    for (name, value) in content {
        let Some(prop) = props.get(name).and_then(Value::as_object) else {
            return Err(format!("`{name}` is not a field of the requested schema"));
        };
        field(prop, value).map_err(|e| format!("`{name}`: {e}"))?;
    }
    Ok(())
}

/// The values an enum schema allows: `enum`, or the `const`s of `oneOf` / `anyOf`.
fn allowed(schema: &JsonObject) -> Option<Vec<&Value>> {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return Some(values.iter().collect());
    }
    ["oneOf", "anyOf"].iter().find_map(|key| {
        schema.get(*key).and_then(Value::as_array).map(|options| {
            options
                .iter()
                .filter_map(|o| o.get("const"))
                .collect::<Vec<_>>()
        })
    })
}

fn field(schema: &JsonObject, value: &Value) -> Result<(), String> {
    let kind = schema.get("type").and_then(Value::as_str);
    match kind {
        Some("string") => {
            let Some(s) = value.as_str() else {
                return Err(format!("expected a string, got {}", type_name(value)));
            };
            if let Some(options) = allowed(schema) {
                if !options.contains(&value) {
                    return Err(format!("{s:?} is not one of the allowed values"));
                }
            }
            let chars = s.chars().count() as u64;
            if let Some(min) = schema.get("minLength").and_then(Value::as_u64) {
                if chars < min {
                    return Err(format!("shorter than {min} characters"));
                }
            }
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
                if chars > max {
                    return Err(format!("longer than {max} characters"));
                }
            }
            if let Some(format) = schema.get("format").and_then(Value::as_str) {
                check_format(format, s)?;
            }
            Ok(())
        }
        Some("number") | Some("integer") => {
            let Some(n) = value.as_f64() else {
                return Err(format!("expected a number, got {}", type_name(value)));
            };
            if kind == Some("integer") && !(value.is_i64() || value.is_u64() || n.fract() == 0.0) {
                return Err(format!("expected an integer, got {value}"));
            }
            if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
                if n < min {
                    return Err(format!("{value} is below the minimum {min}"));
                }
            }
            if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
                if n > max {
                    return Err(format!("{value} is above the maximum {max}"));
                }
            }
            Ok(())
        }
        Some("boolean") => match value {
            Value::Bool(_) => Ok(()),
            other => Err(format!("expected a boolean, got {}", type_name(other))),
        },
        Some("array") => {
            let Some(items) = value.as_array() else {
                return Err(format!("expected an array, got {}", type_name(value)));
            };
            let item_schema = schema.get("items").and_then(Value::as_object);
            if let Some(options) = item_schema.and_then(allowed) {
                if let Some(bad) = items.iter().find(|v| !options.contains(v)) {
                    return Err(format!("{bad} is not one of the allowed values"));
                }
            }
            let n = items.len() as u64;
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64) {
                if n < min {
                    return Err(format!("fewer than {min} selections"));
                }
            }
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64) {
                if n > max {
                    return Err(format!("more than {max} selections"));
                }
            }
            Ok(())
        }
        // A type outside the restricted form schema: nothing the client can check.
        _ => Ok(()),
    }
}

/// The string formats of the form schema, checked for shape (not for existence).
fn check_format(format: &str, s: &str) -> Result<(), String> {
    let ok = match format {
        "email" => s
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.')),
        "uri" => s
            .split_once(':')
            .is_some_and(|(scheme, rest)| is_scheme(scheme) && !rest.is_empty()),
        "date" => is_date(s),
        "date-time" => s
            .split_once(['T', 't'])
            .is_some_and(|(date, time)| is_date(date) && time.len() >= 8),
        // Formats this client does not know are not held against the answer.
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{s:?} is not a valid {format}"))
    }
}

fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

fn is_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return false;
    };
    let num = |p: &str, len: usize| p.len() == len && p.bytes().all(|b| b.is_ascii_digit());
    if !(num(y, 4) && num(m, 2) && num(d, 2)) {
        return false;
    }
    let (m, d) = (m.parse::<u8>().unwrap_or(0), d.parse::<u8>().unwrap_or(0));
    (1..=12).contains(&m) && (1..=31).contains(&d)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn messages(v: Value) -> Vec<SamplingMessage> {
        serde_json::from_value(v).unwrap()
    }

    fn text(role: &str, t: &str) -> Value {
        json!({"role": role, "content": {"type": "text", "text": t}})
    }

    fn uses(ids: &[&str]) -> Value {
        let blocks: Vec<Value> = ids
            .iter()
            .map(|id| json!({"type": "tool_use", "id": id, "name": "weather", "input": {}}))
            .collect();
        json!({"role": "assistant", "content": blocks})
    }

    fn results(ids: &[&str]) -> Value {
        let blocks: Vec<Value> = ids
            .iter()
            .map(|id| json!({"type": "tool_result", "toolUseId": id, "content": []}))
            .collect();
        json!({"role": "user", "content": blocks})
    }

    #[test]
    fn balanced_tool_conversations_pass() {
        let m = messages(json!([
            text("user", "weather in Paris and London?"),
            uses(&["a", "b"]),
            results(&["b", "a"]),
            text("assistant", "sunny both"),
            text("user", "thanks"),
        ]));
        assert!(sampling_messages(&m).is_ok());
        // A conversation ending on the model's tool use is what the client continues from.
        let m = messages(json!([text("user", "go"), uses(&["a"])]));
        assert!(sampling_messages(&m).is_ok());
        // A single tool result may be written as one object.
        let single = json!({"role": "user", "content":
            {"type": "tool_result", "toolUseId": "a", "content": []}});
        let m = messages(json!([uses(&["a"]), single]));
        assert!(sampling_messages(&m).is_ok());
    }

    #[test]
    fn each_violation_is_invalid_params_naming_it() {
        let mixed = json!({"role": "user", "content": [
            {"type": "text", "text": "here:"},
            {"type": "tool_result", "toolUseId": "a", "content": []}
        ]});
        let cases = [
            (json!([uses(&["a"]), mixed]), "mixed with other content"),
            (json!([uses(&["a", "b"]), results(&["a"])]), "missing"),
            (json!([uses(&["a"]), text("user", "never mind")]), "missing"),
            (
                json!([uses(&["a"]), uses(&["b"]), results(&["a", "b"])]),
                "missing",
            ),
        ];
        for (m, needle) in cases {
            let e = sampling_messages(&messages(m.clone())).unwrap_err();
            assert_eq!(e.code, -32602, "{m}");
            assert!(e.message.contains(needle), "{m}: {}", e.message);
        }
    }

    fn schema() -> JsonObject {
        serde_json::from_value(json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "minLength": 2, "maxLength": 5},
                "email": {"type": "string", "format": "email"},
                "site": {"type": "string", "format": "uri"},
                "born": {"type": "string", "format": "date"},
                "age": {"type": "integer", "minimum": 0, "maximum": 150},
                "score": {"type": "number", "maximum": 1.5},
                "ok": {"type": "boolean"},
                "color": {"type": "string", "enum": ["red", "green"]},
                "size": {"type": "string", "oneOf": [{"const": "s", "title": "Small"}]},
                "tags": {"type": "array", "items": {"type": "string", "enum": ["x", "y"]},
                         "minItems": 1, "maxItems": 2},
            },
            "required": ["name"]
        }))
        .unwrap()
    }

    fn answer(v: Value) -> JsonObject {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn valid_answers_pass() {
        let full = answer(json!({
            "name": "Ada", "email": "ada@example.org", "site": "https://example.org",
            "born": "1815-12-10", "age": 36, "score": 1.0, "ok": true, "color": "red",
            "size": "s", "tags": ["x", "y"]
        }));
        assert_eq!(form_answer(&full, &schema()), Ok(()));
        assert_eq!(
            form_answer(&answer(json!({"name": "Bo"})), &schema()),
            Ok(())
        );
    }

    #[test]
    fn invalid_answers_name_the_field_and_the_problem() {
        let cases = [
            (json!({}), "required field `name`"),
            (json!({"name": "A"}), "`name`: shorter than 2"),
            (json!({"name": "Adalovelace"}), "`name`: longer than 5"),
            (json!({"name": 7}), "`name`: expected a string"),
            (json!({"name": "Ada", "email": "nope"}), "`email`"),
            (json!({"name": "Ada", "site": "no scheme"}), "`site`"),
            (json!({"name": "Ada", "born": "1815-13-10"}), "`born`"),
            (
                json!({"name": "Ada", "age": 1.5}),
                "`age`: expected an integer",
            ),
            (json!({"name": "Ada", "age": -1}), "below the minimum"),
            (json!({"name": "Ada", "score": 2}), "above the maximum"),
            (
                json!({"name": "Ada", "ok": "yes"}),
                "`ok`: expected a boolean",
            ),
            (json!({"name": "Ada", "color": "blue"}), "`color`"),
            (json!({"name": "Ada", "size": "xl"}), "`size`"),
            (json!({"name": "Ada", "tags": []}), "fewer than 1"),
            (
                json!({"name": "Ada", "tags": ["x", "y", "x"]}),
                "more than 2",
            ),
            (json!({"name": "Ada", "tags": ["z"]}), "`tags`"),
            (json!({"name": "Ada", "extra": 1}), "`extra` is not a field"),
        ];
        for (a, needle) in cases {
            let e = form_answer(&answer(a.clone()), &schema()).unwrap_err();
            assert!(e.contains(needle), "{a}: {e}");
        }
    }
}
