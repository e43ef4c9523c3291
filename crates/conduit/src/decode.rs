//! Decoding of `tools/call` results on the per-call path.
//!
//! `serde_json::from_value::<CallToolResult>` buffers every member of the result (the struct
//! keeps unknown members in a flattened map) and decodes each content block twice (into a map to
//! read its `type`, then into the block). The usual result — only the modelled members, text
//! blocks of only `type` and `text` — is built here straight from the parsed value, moving its
//! strings. Anything else goes through serde, so the outcome is always exactly serde's.

use serde_json::{Map, Value};

use crate::types::{CallToolResult, ContentBlock};

/// Decodes a `tools/call` result: the same value or error as `serde_json::from_value`.
pub(crate) fn call_tool_result(value: Value) -> Result<CallToolResult, serde_json::Error> {
    match value {
        Value::Object(map) if is_plain(&map) => Ok(plain(map)),
        other => serde_json::from_value(other),
    }
}

/// Whether every member is one that [`plain`] decodes exactly as serde would, with a type that
/// serde accepts for it.
fn is_plain(map: &Map<String, Value>) -> bool {
    map.iter().all(|(key, value)| match key.as_str() {
        "content" => value.as_array().is_some_and(|blocks| {
            blocks.iter().all(|b| {
                b.as_object().is_some_and(|b| {
                    b.len() == 2
                        && b.get("type").and_then(Value::as_str) == Some("text")
                        && b.get("text").is_some_and(Value::is_string)
                })
            })
        }),
        "structuredContent" => true,
        "isError" => value.is_null() || value.is_boolean(),
        "resultType" => value.is_null() || value.is_string(),
        "_meta" => value.is_null() || value.is_object(),
        _ => false,
    })
}

/// Builds a result [`is_plain`] accepted.
fn plain(map: Map<String, Value>) -> CallToolResult {
    let mut result = CallToolResult::new(Vec::<ContentBlock>::new());
    for (key, value) in map {
        match (key.as_str(), value) {
            ("content", Value::Array(blocks)) => {
                result.content = blocks
                    .into_iter()
                    .filter_map(|b| match b {
                        Value::Object(mut b) => match b.swap_remove("text") {
                            Some(Value::String(text)) => Some(ContentBlock::text(text)),
                            _ => None,
                        },
                        _ => None,
                    })
                    .collect();
            }
            // `null` is the member's absence, as for serde's `Option`.
            (_, Value::Null) => {}
            ("structuredContent", v) => result.structured_content = Some(v),
            ("isError", Value::Bool(b)) => result.is_error = Some(b),
            ("resultType", Value::String(s)) => result.result_type = Some(s.into()),
            ("_meta", Value::Object(m)) => result.meta = Some(m),
            _ => {}
        }
    }
    result
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn same_as_serde(v: &Value) {
        let ours = call_tool_result(v.clone()).map_err(|e| e.to_string());
        let serde = serde_json::from_value::<CallToolResult>(v.clone()).map_err(|e| e.to_string());
        assert_eq!(ours, serde, "{v}");
    }

    #[test]
    fn decodes_exactly_as_serde() {
        for v in [
            json!({"content": [{"type": "text", "text": "hi"}]}),
            json!({"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
                   "isError": false, "structuredContent": {"x": 1}, "_meta": {"k": 1},
                   "resultType": "complete"}),
            json!({"content": [], "isError": null, "structuredContent": null, "_meta": null,
                   "resultType": null}),
            json!({"resultType": "something-new"}),
            json!({}),
            json!({"content": [{"type": "text", "text": "hi", "annotations": {"priority": 1}}]}),
            json!({"content": [{"type": "image", "data": "", "mimeType": "image/png"}]}),
            json!({"content": [{"type": "text", "text": 5}]}),
            json!({"content": [{"type": "text"}]}),
            json!({"content": [{"text": "x", "kind": "text"}]}),
            json!({"content": null}),
            json!({"content": "x"}),
            json!({"content": [], "isError": "yes"}),
            json!({"content": [], "_meta": []}),
            json!({"content": [], "resultType": 1}),
            json!({"content": [], "_datagrout": {"receipt": {}}}),
            json!({"content": [], "structuredContent": [1, 2]}),
            json!([]),
            json!(null),
            json!("x"),
        ] {
            same_as_serde(&v);
        }
    }

    fn arb_member() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            Just(json!(1)),
            "[a-z]{0,3}".prop_map(Value::String),
            Just(json!({"a": 1})),
            Just(json!([])),
        ]
    }

    fn arb_block() -> impl Strategy<Value = Value> {
        prop_oneof![
            arb_member().prop_map(|t| json!({"type": "text", "text": t})),
            arb_member().prop_map(|t| json!({"type": t, "text": "x"})),
            arb_member().prop_map(|m| json!({"type": "text", "text": "x", "_meta": m})),
            arb_member(),
        ]
    }

    proptest! {
        #[test]
        fn any_result_decodes_as_serde_does(
            content in prop::option::of(prop_oneof![
                prop::collection::vec(arb_block(), 0..3).prop_map(Value::Array),
                arb_member(),
            ]),
            members in prop::collection::vec(
                (prop_oneof![
                    Just("structuredContent"), Just("isError"), Just("resultType"),
                    Just("_meta"), Just("other"),
                ], arb_member()),
                0..4,
            ),
        ) {
            let mut map = Map::new();
            if let Some(c) = content {
                map.insert("content".into(), c);
            }
            for (k, v) in members {
                map.insert(k.into(), v);
            }
            same_as_serde(&Value::Object(map));
        }
    }
}
