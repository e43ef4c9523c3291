//! Opaque-cursor pagination shared by the `*/list` methods.

use serde_json::Value;

use crate::jsonrpc::RpcError;

fn encode(kind: &str, offset: usize) -> String {
    format!("{kind}:{offset}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn decode(kind: &str, cursor: &str) -> Option<usize> {
    if cursor.len() % 2 != 0 || !cursor.is_ascii() {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..cursor.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(cursor.get(i..i + 2)?, 16).ok())
        .collect();
    let text = String::from_utf8(bytes?).ok()?;
    let (k, offset) = text.split_once(':')?;
    if k != kind {
        return None;
    }
    offset.parse().ok()
}

/// One page of `items` for the request `params`: the page and its `nextCursor`.
///
/// `repeat` (the [`repeat_cursor`](crate::Faults::repeat_cursor) fault) returns the first page
/// and the same `nextCursor` on every call.
pub(crate) fn paginate(
    kind: &str,
    items: Vec<Value>,
    params: &Value,
    page_size: Option<usize>,
    repeat: bool,
) -> Result<(Vec<Value>, Option<String>), RpcError> {
    let offset = match params.get("cursor") {
        None | Some(Value::Null) => 0,
        Some(Value::String(c)) => match decode(kind, c) {
            Some(o) if o < items.len() || (o == 0 && items.is_empty()) => o,
            _ => return Err(RpcError::invalid_params(format!("Invalid cursor: {c}"))),
        },
        Some(_) => return Err(RpcError::invalid_params("\"cursor\" must be a string")),
    };
    if repeat {
        let end = page_size.map_or(items.len(), |n| n.min(items.len()));
        let page = items.into_iter().take(end).collect();
        return Ok((page, Some(encode(kind, 0))));
    }
    let size = page_size.unwrap_or(usize::MAX);
    let end = offset.saturating_add(size).min(items.len());
    let next = (end < items.len()).then(|| encode(kind, end));
    let page = items.into_iter().skip(offset).take(end - offset).collect();
    Ok((page, next))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn pages_and_rejects_foreign_cursors() {
        let items: Vec<Value> = (0..5).map(|i| json!(i)).collect();
        let (p1, c1) = paginate("tools", items.clone(), &json!({}), Some(2), false).unwrap();
        assert_eq!(p1, vec![json!(0), json!(1)]);
        let c1 = c1.unwrap();
        let (p2, c2) = paginate(
            "tools",
            items.clone(),
            &json!({ "cursor": c1 }),
            Some(2),
            false,
        )
        .unwrap();
        assert_eq!(p2, vec![json!(2), json!(3)]);
        let (p3, c3) = paginate(
            "tools",
            items.clone(),
            &json!({ "cursor": c2.unwrap() }),
            Some(2),
            false,
        )
        .unwrap();
        assert_eq!(p3, vec![json!(4)]);
        assert!(c3.is_none());
        assert!(paginate(
            "prompts",
            items.clone(),
            &json!({ "cursor": encode("tools", 2) }),
            Some(2),
            false
        )
        .is_err());
        assert!(paginate("tools", items, &json!({ "cursor": "zz" }), Some(2), false).is_err());
    }
}
