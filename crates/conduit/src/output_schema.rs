//! Checking a tool's `structuredContent` against the `outputSchema` it was listed with (the
//! spec's "clients SHOULD validate structured results against this schema").
//!
//! The client remembers each listed tool's `outputSchema` (from every complete `tools/list`
//! it reads). [`Client::call_tool`](crate::Client::call_tool) then refuses a successful result that breaks it — its
//! `structuredContent` missing, or not matching — with [`Error::OutputSchema`](crate::Error::OutputSchema), naming the JSON
//! pointer of the first mismatch. [`Client::call_tool_raw`](crate::Client::call_tool_raw) returns results as they are.
//!
//! The checker ([`check`]) implements the JSON Schema keywords tool schemas use: boolean
//! schemas, `type` (one or several), `enum`, `const`, `properties`, `required`,
//! `additionalProperties`, `items` / `prefixItems`, `minItems` / `maxItems`, `uniqueItems`,
//! `minLength` / `maxLength`, `minimum` / `maximum` / `exclusiveMinimum` /
//! `exclusiveMaximum`, `multipleOf`, `minProperties` / `maxProperties`, `allOf`, `anyOf`,
//! `oneOf`, `not`, and local `$ref`s (`#`, `#/$defs/…`, `#/definitions/…`). Keywords it does
//! not implement (`pattern`, `format`, `if`/`then`, remote references, …) are not held
//! against a result: it never refuses what it cannot judge.

use std::collections::HashMap;
use std::sync::Mutex;

use conduit_protocol::mcp::{JsonObject, Tool};
use serde_json::Value;

/// How deep schemas and `$ref`s are followed before the checker gives up (and accepts).
const MAX_DEPTH: usize = 64;

/// The `outputSchema`s of listed tools.
#[derive(Debug, Default)]
pub(crate) struct OutputSchemas {
    schemas: Mutex<HashMap<String, Value>>,
}

impl OutputSchemas {
    /// Learns from listed tools; `complete` when `tools` is the whole list (then tools no
    /// longer listed are forgotten).
    pub(crate) fn learn(&self, tools: &[Tool], complete: bool) {
        let Ok(mut schemas) = self.schemas.lock() else {
            return;
        };
        if complete {
            schemas.clear();
        }
        for tool in tools {
            match &tool.output_schema {
                Some(schema) => {
                    schemas.insert(tool.name.clone(), Value::Object(schema.clone()));
                }
                None => {
                    schemas.remove(&tool.name);
                }
            }
        }
    }

    /// The schema `tool` was listed with.
    pub(crate) fn get(&self, tool: &str) -> Option<Value> {
        self.schemas.lock().ok()?.get(tool).cloned()
    }
}

/// Checks `value` against `schema`; the error names the JSON pointer of the first mismatch
/// and what was wrong.
pub fn check(value: &Value, schema: &Value) -> Result<(), String> {
    Checker { root: schema }.check(value, schema, &mut String::new(), 0)
}

/// Checks the structured result of a tool against its `outputSchema`.
pub(crate) fn check_result(structured: Option<&Value>, schema: &Value) -> Result<(), String> {
    match structured {
        Some(v) => check(v, schema),
        None => Err("the tool declares an outputSchema but returned no structuredContent".into()),
    }
}

struct Checker<'s> {
    root: &'s Value,
}

impl<'s> Checker<'s> {
    fn check(
        &self,
        value: &Value,
        schema: &'s Value,
        at: &mut String,
        depth: usize,
    ) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Ok(());
        }
        let schema = match schema {
            Value::Bool(true) => return Ok(()),
            Value::Bool(false) => return Err(fail(at, "no value is allowed here")),
            Value::Object(o) => o,
            _ => return Ok(()),
        };
        if let Some(Value::String(reference)) = schema.get("$ref") {
            if let Some(target) = self.resolve(reference) {
                self.check(value, target, at, depth + 1)?;
            }
        }
        if let Some(t) = schema.get("type") {
            let allowed: Vec<&str> = match t {
                Value::String(s) => vec![s.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            if !allowed.is_empty() && !allowed.iter().any(|t| is_type(value, t)) {
                return Err(fail(
                    at,
                    &format!("expected {}, got {}", allowed.join(" or "), type_of(value)),
                ));
            }
        }
        if let Some(Value::Array(options)) = schema.get("enum") {
            if !options.iter().any(|o| same(o, value)) {
                return Err(fail(at, "not one of the allowed values"));
            }
        }
        if let Some(c) = schema.get("const") {
            if !same(c, value) {
                return Err(fail(at, &format!("must be {c}")));
            }
        }
        match value {
            Value::Object(map) => self.object(map, schema, at, depth)?,
            Value::Array(items) => self.array(items, schema, at, depth)?,
            Value::String(s) => {
                let n = s.chars().count() as f64;
                if number(schema, "minLength").is_some_and(|m| n < m) {
                    return Err(fail(at, "too short"));
                }
                if number(schema, "maxLength").is_some_and(|m| n > m) {
                    return Err(fail(at, "too long"));
                }
            }
            Value::Number(_) => {
                let n = value.as_f64().unwrap_or(0.0);
                if number(schema, "minimum").is_some_and(|m| n < m)
                    || number(schema, "exclusiveMinimum").is_some_and(|m| n <= m)
                {
                    return Err(fail(at, &format!("{value} is below the minimum")));
                }
                if number(schema, "maximum").is_some_and(|m| n > m)
                    || number(schema, "exclusiveMaximum").is_some_and(|m| n >= m)
                {
                    return Err(fail(at, &format!("{value} is above the maximum")));
                }
                if let Some(m) = number(schema, "multipleOf").filter(|m| *m > 0.0) {
                    let q = n / m;
                    if (q - q.round()).abs() > 1e-9 {
                        return Err(fail(at, &format!("{value} is not a multiple of {m}")));
                    }
                }
            }
            _ => {}
        }
        if let Some(Value::Array(all)) = schema.get("allOf") {
            for s in all {
                self.check(value, s, at, depth + 1)?;
            }
        }
        if let Some(Value::Array(any)) = schema.get("anyOf") {
            if !any.is_empty()
                && !any
                    .iter()
                    .any(|s| self.check(value, s, &mut at.clone(), depth + 1).is_ok())
            {
                return Err(fail(at, "matches none of anyOf"));
            }
        }
        if let Some(Value::Array(one)) = schema.get("oneOf") {
            let matching = one
                .iter()
                .filter(|s| self.check(value, s, &mut at.clone(), depth + 1).is_ok())
                .count();
            if !one.is_empty() && matching != 1 {
                return Err(fail(
                    at,
                    &format!("matches {matching} of oneOf (exactly one required)"),
                ));
            }
        }
        if let Some(not) = schema.get("not") {
            if self.check(value, not, &mut at.clone(), depth + 1).is_ok() {
                return Err(fail(at, "matches a schema it must not match (not)"));
            }
        }
        Ok(())
    }

    fn object(
        &self,
        map: &serde_json::Map<String, Value>,
        schema: &'s JsonObject,
        at: &mut String,
        depth: usize,
    ) -> Result<(), String> {
        if let Some(Value::Array(required)) = schema.get("required") {
            for name in required.iter().filter_map(Value::as_str) {
                if !map.contains_key(name) {
                    return Err(fail(
                        at,
                        &format!("the required property `{name}` is missing"),
                    ));
                }
            }
        }
        let n = map.len() as f64;
        if number(schema, "minProperties").is_some_and(|m| n < m) {
            return Err(fail(at, "too few properties"));
        }
        if number(schema, "maxProperties").is_some_and(|m| n > m) {
            return Err(fail(at, "too many properties"));
        }
        let props = schema.get("properties").and_then(Value::as_object);
        for (name, v) in map {
            let len = at.len();
            at.push('/');
            at.push_str(&name.replace('~', "~0").replace('/', "~1"));
            let outcome = match props.and_then(|p| p.get(name)) {
                Some(s) => self.check(v, s, at, depth + 1),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => Err(fail(at, "this property is not allowed")),
                    Some(s @ Value::Object(_)) => self.check(v, s, at, depth + 1),
                    _ => Ok(()),
                },
            };
            at.truncate(len);
            outcome?;
        }
        Ok(())
    }

    fn array(
        &self,
        items: &[Value],
        schema: &'s JsonObject,
        at: &mut String,
        depth: usize,
    ) -> Result<(), String> {
        let n = items.len() as f64;
        if number(schema, "minItems").is_some_and(|m| n < m) {
            return Err(fail(at, "too few items"));
        }
        if number(schema, "maxItems").is_some_and(|m| n > m) {
            return Err(fail(at, "too many items"));
        }
        if schema.get("uniqueItems") == Some(&Value::Bool(true)) {
            for (i, a) in items.iter().enumerate() {
                if items[..i].iter().any(|b| same(a, b)) {
                    return Err(fail(at, "items are not unique"));
                }
            }
        }
        // 2020-12 `prefixItems` + `items`, or draft-07's array form of `items`.
        let (prefix, rest): (&[Value], Option<&Value>) =
            match (schema.get("prefixItems"), schema.get("items")) {
                (Some(Value::Array(p)), rest) => (p, rest),
                (None, Some(Value::Array(p))) => (p, schema.get("additionalItems")),
                (_, rest) => (&[], rest),
            };
        for (i, v) in items.iter().enumerate() {
            let s = match prefix.get(i) {
                Some(s) => s,
                None => match rest {
                    Some(s) => s,
                    None => continue,
                },
            };
            let len = at.len();
            at.push('/');
            at.push_str(&i.to_string());
            let outcome = self.check(v, s, at, depth + 1);
            at.truncate(len);
            outcome?;
        }
        Ok(())
    }

    /// A local reference: `#`, or a JSON pointer into the root schema.
    fn resolve(&self, reference: &str) -> Option<&'s Value> {
        let pointer = reference.strip_prefix('#')?;
        if pointer.is_empty() {
            return Some(self.root);
        }
        let decoded = pointer.replace("%25", "%");
        self.root.pointer(&decoded)
    }
}

fn fail(at: &str, what: &str) -> String {
    let at = if at.is_empty() { "/" } else { at };
    format!("at {at}: {what}")
}

fn number(schema: &JsonObject, key: &str) -> Option<f64> {
    schema.get(key).and_then(Value::as_f64)
}

fn is_type(v: &Value, t: &str) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        // An unknown type name is not held against the value.
        _ => true,
    }
}

fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// JSON equality, with numbers compared by value (`1` equals `1.0`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "count": {"type": "integer", "minimum": 0},
                "ratio": {"type": "number", "exclusiveMaximum": 1},
                "tags": {"type": "array", "items": {"$ref": "#/$defs/tag"}, "uniqueItems": true},
                "kind": {"enum": ["a", "b"]},
                "point": {"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}],
                          "items": false},
                "either": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                "child": {"$ref": "#"}
            },
            "required": ["name"],
            "additionalProperties": false,
            "$defs": {"tag": {"type": "string", "maxLength": 3}}
        })
    }

    #[test]
    fn conforming_values_pass() {
        let v = json!({
            "name": "x", "count": 3, "ratio": 0.5, "tags": ["a", "bc"], "kind": "a",
            "point": [1, 2.5], "either": 7, "child": {"name": "y", "count": 1.0}
        });
        assert_eq!(check(&v, &schema()), Ok(()));
        // Keywords the checker does not implement are not held against a value.
        let lenient = json!({"type": "string", "pattern": "^z", "format": "email"});
        assert_eq!(check(&json!("abc"), &lenient), Ok(()));
        assert_eq!(check(&json!({"anything": 1}), &json!(true)), Ok(()));
    }

    #[test]
    fn each_mismatch_names_its_place() {
        let cases = [
            (json!({}), "at /: the required property `name`"),
            (json!({"name": ""}), "at /name: too short"),
            (json!({"name": "x", "count": -1}), "at /count"),
            (
                json!({"name": "x", "count": 1.5}),
                "at /count: expected integer",
            ),
            (json!({"name": "x", "ratio": 1}), "at /ratio"),
            (
                json!({"name": "x", "tags": ["abcd"]}),
                "at /tags/0: too long",
            ),
            (
                json!({"name": "x", "tags": ["a", "a"]}),
                "at /tags: items are not unique",
            ),
            (json!({"name": "x", "kind": "c"}), "at /kind"),
            (json!({"name": "x", "point": [1, 2, 3]}), "at /point/2"),
            (json!({"name": "x", "point": [1, "y"]}), "at /point/1"),
            (
                json!({"name": "x", "either": 1.5}),
                "at /either: matches 0 of oneOf",
            ),
            (
                json!({"name": "x", "extra": 1}),
                "at /extra: this property is not allowed",
            ),
            (
                json!({"name": "x", "child": {}}),
                "at /child: the required property",
            ),
            (json!([]), "at /: expected object"),
        ];
        for (v, needle) in cases {
            let e = check(&v, &schema()).unwrap_err();
            assert!(e.contains(needle), "{v}: {e}");
        }
        assert!(check(&json!(1), &json!(false)).is_err());
        assert!(check(&json!(1), &json!({"not": {"type": "integer"}})).is_err());
        assert!(check(&json!(5), &json!({"multipleOf": 2})).is_err());
        assert!(check(&json!(6), &json!({"multipleOf": 2})).is_ok());
    }

    #[test]
    fn a_reference_cycle_ends() {
        let s = json!({"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"});
        assert_eq!(check(&json!(1), &s), Ok(()));
        let missing = json!({"structuredContent": null});
        assert!(check_result(missing.get("absent"), &schema()).is_err());
    }
}
