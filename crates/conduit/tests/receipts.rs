//! `extract_meta`: every place a gateway puts its metadata, lenient parsing, MCP's own `_meta`
//! never taken for a receipt, and no panic on any JSON.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use conduit::datagrout::{extract_meta, extract_meta_value, MetaSource};
use conduit::types::CallToolResult;
use proptest::prelude::*;
use serde_json::{json, Value};

#[test]
fn finds_the_block_wherever_the_gateway_put_it() {
    let receipt = json!({"receipt_id": "r", "net_credits": 3, "savings": 1, "actual_credits": 4});
    let cases = [
        (
            json!({"content": [], "_meta": {"datagrout": {"receipt": receipt}}}),
            MetaSource::ResultMetaDatagrout,
        ),
        (
            json!({"content": [], "_datagrout": {"receipt": receipt}}),
            MetaSource::ResultDatagrout,
        ),
        (
            json!({"content": [], "_meta": {"receipt": receipt, "progressToken": 1}}),
            MetaSource::ResultMeta,
        ),
        (
            json!({"content": [], "structuredContent": {"x": 1, "_datagrout": {"receipt": receipt}}}),
            MetaSource::StructuredContent,
        ),
        (
            json!({"content": [], "structuredContent": {"_meta": {"datagrout": {"receipt": receipt}}}}),
            MetaSource::StructuredContent,
        ),
        (
            json!({"content": [{"type": "text", "text": json!({"_datagrout": {"receipt": receipt}}).to_string()}]}),
            MetaSource::TextContent,
        ),
    ];
    for (result, source) in cases {
        let meta = extract_meta_value(&result).unwrap_or_else(|| panic!("{result}"));
        assert_eq!(meta.source, source, "{result}");
        let r = meta.receipt.as_ref().unwrap();
        assert_eq!(
            (r.net_credits, r.savings, r.actual_credits),
            (3.0, 1.0, 4.0)
        );
        assert_eq!(r.receipt_id, "r");
        // The typed path agrees.
        let typed: CallToolResult = serde_json::from_value(result).unwrap();
        assert_eq!(extract_meta(&typed).unwrap(), meta);
    }
}

#[test]
fn mcp_own_meta_is_not_a_receipt() {
    // Reference bug 12: a bare `_meta` without a receipt became an all-zero receipt.
    for result in [
        json!({"content": [], "_meta": {"progressToken": "t"}}),
        json!({"content": [], "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "x", "version": "1"}}}),
        json!({"content": [], "_meta": {}}),
        json!({"content": [], "_meta": {"datagrout": {}}}),
        json!({"content": [], "_meta": {"datagrout": null}}),
        json!({"content": [{"type": "text", "text": "not json"}]}),
        json!({"content": []}),
    ] {
        assert_eq!(extract_meta_value(&result), None, "{result}");
    }
}

#[test]
fn fields_are_parsed_leniently_and_unknown_ones_kept() {
    let result = json!({"content": [], "_meta": {"datagrout": {
        "receipt": {
            "receipt_id": null, "timestamp": 17, "estimated_credits": "2.5", "net_credits": null,
            "savings": "lots", "breakdown": [1], "byok": null, "balance_after": "9",
            "transaction_id": 42, "future_field": {"a": 1}
        },
        "credit_estimate": {"estimated_total": 2.5, "surprise": true}
    }}});
    let meta = extract_meta_value(&result).unwrap();
    let r = meta.receipt.as_ref().unwrap();
    assert_eq!(r.receipt_id, "");
    assert_eq!(r.timestamp, "17");
    assert_eq!(r.estimated_credits, 2.5);
    assert_eq!((r.net_credits, r.savings), (0.0, 0.0));
    assert!(r.breakdown.is_empty());
    assert_eq!(r.byok, None);
    assert_eq!(r.balance_after, Some(9.0));
    assert_eq!(r.transaction_id.as_deref(), Some("42"));
    assert_eq!(r.extra["future_field"], json!({"a": 1}));
    let e = meta.credit_estimate.as_ref().unwrap();
    assert_eq!(e.estimated_total, Some(2.5));
    assert_eq!(e.extra["surprise"], json!(true));
    assert_eq!(meta.estimated_credits(), Some(2.5));

    // An odd byok (unknown keys, wrong types) does not break the receipt.
    let result = json!({"_meta": {"datagrout": {"receipt": {"net_credits": 1,
        "byok": {"enabled": "yes", "discount_rate": "0.2", "vendor": "x"}}}}});
    let r = extract_meta_value(&result).unwrap().receipt.unwrap();
    let byok = r.byok.unwrap();
    assert!(!byok.enabled);
    assert_eq!(byok.discount_rate, 0.2);
    assert_eq!(byok.extra["vendor"], json!("x"));
}

#[test]
fn compact_credits_become_a_receipt() {
    let result = json!({"content": [], "_dg": {"credits": {
        "estimated": 3, "charged": 2, "remaining": 98, "premium": 1, "llm": 0.5
    }}});
    let meta = extract_meta_value(&result).unwrap();
    assert_eq!(meta.source, MetaSource::ResultCompact);
    let r = meta.receipt.unwrap();
    assert_eq!(
        (r.estimated_credits, r.actual_credits, r.net_credits),
        (3.0, 2.0, 2.0)
    );
    assert_eq!(r.balance_after, Some(98.0));
    assert_eq!(r.breakdown["premium"], json!(1));
    assert_eq!(r.breakdown["llm"], json!(0.5));
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop_oneof![
            Just("receipt".to_owned()),
            Just("_meta".to_owned()),
            Just("1.5".to_owned()),
            ".{0,8}"
        ]
        .prop_map(Value::String),
    ];
    let keys = prop_oneof![
        Just("_meta".to_owned()),
        Just("datagrout".to_owned()),
        Just("_datagrout".to_owned()),
        Just("_dg".to_owned()),
        Just("credits".to_owned()),
        Just("receipt".to_owned()),
        Just("credit_estimate".to_owned()),
        Just("byok".to_owned()),
        Just("net_credits".to_owned()),
        Just("structuredContent".to_owned()),
        Just("content".to_owned()),
        Just("text".to_owned()),
        "[a-z_]{1,6}",
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(keys.clone(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn never_panics_on_any_json(v in arb_json()) {
        let meta = extract_meta_value(&v);
        if let Some(meta) = meta {
            // Whatever was found is a block that really holds a receipt or an estimate.
            prop_assert!(meta.receipt.is_some() || meta.credit_estimate.is_some());
            if let Some(r) = meta.receipt {
                prop_assert!(r.net_credits.is_finite() && r.savings.is_finite());
            }
        }
        if let Ok(typed) = serde_json::from_value::<CallToolResult>(v) {
            let _ = extract_meta(&typed);
            let _ = conduit::datagrout::unwrap_payload(&typed);
        }
    }
}

/// The typed search (which looks only where a block can be) finds exactly what searching the
/// serialised result finds.
fn assert_typed_agrees(result: &Value) {
    let Ok(typed) = serde_json::from_value::<CallToolResult>(result.clone()) else {
        return;
    };
    let serialised = serde_json::to_value(&typed).unwrap();
    assert_eq!(
        extract_meta(&typed),
        extract_meta_value(&serialised),
        "{result}"
    );
}

#[test]
fn typed_results_are_searched_where_blocks_can_be() {
    let receipt = json!({"receipt": {"net_credits": 2}});
    let compact = json!({"credits": {"charged": 1, "estimated": 2}});
    let cases = [
        // The compact block, on the result and inside `_meta`.
        (
            json!({"content": [], "_dg": compact}),
            Some(MetaSource::ResultCompact),
        ),
        (
            json!({"content": [], "_meta": {"_dg": compact}}),
            Some(MetaSource::ResultCompact),
        ),
        // `_meta.datagrout` comes before `_datagrout`, which comes before a bare `_meta`.
        (
            json!({"content": [], "_datagrout": {"credit_estimate": {"estimated_total": 1}},
                   "_meta": {"datagrout": receipt, "receipt": {"net_credits": 9}}}),
            Some(MetaSource::ResultMetaDatagrout),
        ),
        (
            json!({"content": [], "_datagrout": receipt, "_meta": {"receipt": {"net_credits": 9}}}),
            Some(MetaSource::ResultDatagrout),
        ),
        // A `_meta` that is not an object holds nothing.
        (json!({"content": [], "_meta": null}), None),
        // Text content: leading whitespace, an escaped key, a key not starting with `_`, a
        // non-object and text that is not JSON.
        (
            json!({"content": [{"type": "text", "text": format!(" \n{}", json!({"_datagrout": receipt}))}]}),
            Some(MetaSource::TextContent),
        ),
        (
            json!({"content": [{"type": "text", "text": r#"{"\u005fdatagrout": {"receipt": {"net_credits": 2}}}"#}]}),
            Some(MetaSource::TextContent),
        ),
        (
            json!({"content": [{"type": "text", "text": json!({"datagrout": receipt}).to_string()}]}),
            None,
        ),
        (
            json!({"content": [{"type": "text", "text": json!([{"_datagrout": receipt}]).to_string()}]}),
            None,
        ),
        (
            json!({"content": [{"type": "text", "text": "{\"_datagrout\": oops"}]}),
            None,
        ),
        // Only the first block is looked at.
        (
            json!({"content": [{"type": "text", "text": "plain"},
                               {"type": "text", "text": json!({"_datagrout": receipt}).to_string()}]}),
            None,
        ),
        // A block of another kind (known or not) with a `text` member.
        (
            json!({"content": [{"type": "image", "data": "", "mimeType": "image/png",
                                "text": json!({"_datagrout": receipt}).to_string()}]}),
            Some(MetaSource::TextContent),
        ),
        (
            json!({"content": [{"type": "hologram", "text": json!({"_dg": compact}).to_string()}]}),
            Some(MetaSource::TextContent),
        ),
        // `structuredContent` that is not an object holds nothing; one that is, is searched.
        (json!({"content": [], "structuredContent": [receipt]}), None),
        (
            json!({"content": [], "structuredContent": {"_meta": receipt}}),
            Some(MetaSource::StructuredContent),
        ),
    ];
    for (result, source) in cases {
        let typed: CallToolResult = serde_json::from_value(result.clone()).unwrap();
        assert_eq!(extract_meta(&typed).map(|m| m.source), source, "{result}");
        assert_typed_agrees(&result);
    }

    // Members given as unknown ones replace the typed ones when serialised: the search sees
    // what would be sent.
    let typed = CallToolResult::new(Vec::<conduit::types::ContentBlock>::new())
        .meta(serde_json::Map::new())
        .with_extra("_meta", json!({"datagrout": receipt}));
    assert_eq!(
        extract_meta(&typed).map(|m| m.source),
        Some(MetaSource::ResultMetaDatagrout)
    );
    let typed = CallToolResult::new(vec![conduit::types::ContentBlock::text("plain")]).with_extra(
        "content",
        json!([{"type": "text", "text": json!({"_datagrout": receipt}).to_string()}]),
    );
    assert_eq!(
        extract_meta(&typed).map(|m| m.source),
        Some(MetaSource::TextContent)
    );
}

fn arb_result() -> impl Strategy<Value = Value> {
    let block = prop_oneof![
        arb_json().prop_map(|v| json!({"type": "text", "text": v.to_string()})),
        arb_json().prop_map(
            |v| json!({"type": "image", "data": "", "mimeType": "x", "text": v.to_string()})
        ),
        arb_json().prop_map(|v| json!({"type": "other", "text": v.to_string()})),
        arb_json(),
    ];
    (
        prop::collection::vec(block, 0..3),
        prop::option::of(arb_json()),
        prop::option::of(arb_json()),
        prop::option::of(arb_json()),
        prop::option::of(arb_json()),
    )
        .prop_map(|(content, meta, dg, datagrout, structured)| {
            let mut m = serde_json::Map::new();
            m.insert("content".into(), Value::Array(content));
            for (k, v) in [
                ("_meta", meta),
                ("_dg", dg),
                ("_datagrout", datagrout),
                ("structuredContent", structured),
            ] {
                if let Some(v) = v {
                    m.insert(k.into(), v);
                }
            }
            Value::Object(m)
        })
}

proptest! {
    #[test]
    fn typed_search_agrees_with_the_serialised_one(v in arb_result()) {
        assert_typed_agrees(&v);
    }

    #[test]
    fn typed_search_agrees_on_any_json(v in arb_json()) {
        assert_typed_agrees(&v);
    }
}
