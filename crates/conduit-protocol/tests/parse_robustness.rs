//! The message parser never panics, whatever it is given, and classifies consistently.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use conduit_protocol::jsonrpc::{Message, ParseError};
use proptest::prelude::*;
use serde_json::Value;

/// Arbitrary JSON values, biased towards JSON-RPC-looking objects.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[a-z/_0-9.]{0,12}".prop_map(Value::String),
        Just(Value::String("2.0".into())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let keys = prop_oneof![
            Just("jsonrpc".to_string()),
            Just("id".to_string()),
            Just("method".to_string()),
            Just("params".to_string()),
            Just("result".to_string()),
            Just("error".to_string()),
            Just("code".to_string()),
            Just("message".to_string()),
            "[a-z]{1,6}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(keys, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Arbitrary bytes: an answer, never a panic.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = Message::parse(&bytes);
    }

    /// Arbitrary JSON: parsing bytes and parsing the value agree, and whatever parses
    /// re-serialises to something that parses to the same message.
    #[test]
    fn arbitrary_json_is_classified_consistently(value in json_value()) {
        let bytes = serde_json::to_vec(&value).unwrap();
        let from_bytes = Message::parse(&bytes);
        let from_value = Message::from_value(value);
        match (&from_bytes, &from_value) {
            (Ok(a), Ok(b)) => {
                prop_assert_eq!(a, b);
                let again = Message::parse(&a.to_vec()).unwrap();
                prop_assert_eq!(&again, a);
            }
            (Err(ParseError::NotJson(_)), _) => prop_assert!(false, "serde_json output is JSON"),
            (Err(_), Err(_)) => {}
            (a, b) => prop_assert!(false, "bytes gave {:?}, value gave {:?}", a, b),
        }
    }
}

/// Regression (found by the `jsonrpc_parse` fuzz target): a float such as `11e-26` must survive
/// parse → serialise → parse unchanged, so numbers are carried verbatim (serde_json's
/// `float_roundtrip`).
#[test]
fn floats_round_trip_exactly() {
    let input =
        br#"{"jsonrpc":"2.0","method":"nication","params":{"progode":11e-26,"=pppppppppppp":0}}"#;
    let message = Message::parse(input).unwrap();
    let again = Message::parse(&message.to_vec()).unwrap();
    assert_eq!(again, message);
}
