//! Receipts: what a DataGrout gateway says a call cost.
//!
//! [`extract_meta`] finds the gateway's metadata block wherever it was put and parses it
//! leniently: missing, `null` or wrongly typed fields take their defaults, unknown fields are
//! kept in `extra`, and nothing panics on any input.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::types::{CallToolResult, ContentBlock};

/// Deserialises a number leniently: a JSON number, or a string holding one; anything else
/// (including `null`) is `None`.
fn lenient_opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(as_f64(&Value::deserialize(d)?))
}

fn lenient_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(as_f64(&Value::deserialize(d)?).unwrap_or(0.0))
}

fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(matches!(Value::deserialize(d)?, Value::Bool(true)))
}

fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    })
}

fn lenient_opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

fn lenient_map<'de, D: Deserializer<'de>>(d: D) -> Result<Map<String, Value>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Object(m) => m,
        _ => Map::new(),
    })
}

fn lenient_byok<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Byok>, D::Error> {
    Ok(match Value::deserialize(d)? {
        v @ Value::Object(_) => serde_json::from_value(v).ok(),
        _ => None,
    })
}

/// A finite number from a JSON number or a numeric string.
pub(crate) fn as_f64(v: &Value) -> Option<f64> {
    let n = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }?;
    n.is_finite().then_some(n)
}

/// Bring-your-own-key details of a receipt.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Byok {
    /// Whether the caller's own model key was used.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub enabled: bool,
    /// Whether a BYOK discount was applied.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub discount_applied: bool,
    /// The discount rate (0 to 1).
    #[serde(default, deserialize_with = "lenient_f64")]
    pub discount_rate: f64,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What one call cost, as the gateway reports it. Defaults follow the reference SDK (empty
/// strings, zero credits, an empty breakdown).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    /// The receipt's id.
    #[serde(default, deserialize_with = "lenient_string")]
    pub receipt_id: String,
    /// When the call was charged (as the gateway wrote it).
    #[serde(default, deserialize_with = "lenient_string")]
    pub timestamp: String,
    /// Credits estimated before the call.
    #[serde(default, deserialize_with = "lenient_f64")]
    pub estimated_credits: f64,
    /// Credits the call actually used.
    #[serde(default, deserialize_with = "lenient_f64")]
    pub actual_credits: f64,
    /// Credits charged after discounts.
    #[serde(default, deserialize_with = "lenient_f64")]
    pub net_credits: f64,
    /// Credits saved (caching, discounts, …).
    #[serde(default, deserialize_with = "lenient_f64")]
    pub savings: f64,
    /// Bonus credits granted on top of the savings.
    #[serde(default, deserialize_with = "lenient_f64")]
    pub savings_bonus: f64,
    /// Cost breakdown by component.
    #[serde(default, deserialize_with = "lenient_map")]
    pub breakdown: Map<String, Value>,
    /// Bring-your-own-key details, when given.
    #[serde(default, deserialize_with = "lenient_byok")]
    pub byok: Option<Byok>,
    /// The billing transaction id.
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub transaction_id: Option<String>,
    /// The account balance before the call.
    #[serde(default, deserialize_with = "lenient_opt_f64")]
    pub balance_before: Option<f64>,
    /// The account balance after the call.
    #[serde(default, deserialize_with = "lenient_opt_f64")]
    pub balance_after: Option<f64>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A pre-call credit estimate (`credit_estimate`), a sibling of the receipt.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CreditEstimate {
    /// The estimated total.
    #[serde(default, deserialize_with = "lenient_opt_f64")]
    pub estimated_total: Option<f64>,
    /// The actual total, when known.
    #[serde(default, deserialize_with = "lenient_opt_f64")]
    pub actual_total: Option<f64>,
    /// The net total, when known.
    #[serde(default, deserialize_with = "lenient_opt_f64")]
    pub net_total: Option<f64>,
    /// Breakdown by component.
    #[serde(default, deserialize_with = "lenient_map")]
    pub breakdown: Map<String, Value>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Where in the result the metadata was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MetaSource {
    /// The result's `_meta.datagrout`.
    ResultMetaDatagrout,
    /// The result's `_datagrout`.
    ResultDatagrout,
    /// The result's `_meta` itself (only when it holds a `receipt`).
    ResultMeta,
    /// A compact `_dg` block on the result or its `_meta`.
    ResultCompact,
    /// Inside `structuredContent`.
    StructuredContent,
    /// Inside the JSON text of the first content block.
    TextContent,
}

/// The DataGrout metadata of a tool result: its receipt and/or credit estimate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ToolMeta {
    /// The receipt, when the gateway sent one.
    pub receipt: Option<Receipt>,
    /// The credit estimate, when the gateway sent one.
    pub credit_estimate: Option<CreditEstimate>,
    /// Where the block was found.
    pub source: MetaSource,
    /// The block as the gateway sent it.
    pub raw: Value,
}

impl ToolMeta {
    /// The credits charged: the receipt's `net_credits`.
    pub fn net_credits(&self) -> Option<f64> {
        self.receipt.as_ref().map(|r| r.net_credits)
    }

    /// The credits saved: the receipt's `savings`.
    pub fn savings(&self) -> Option<f64> {
        self.receipt.as_ref().map(|r| r.savings)
    }

    /// The best estimate of the call's cost: `credit_estimate.estimated_total`, else the
    /// receipt's `estimated_credits`.
    pub fn estimated_credits(&self) -> Option<f64> {
        self.credit_estimate
            .as_ref()
            .and_then(|e| e.estimated_total)
            .or_else(|| self.receipt.as_ref().map(|r| r.estimated_credits))
    }
}

fn parse<T: serde::de::DeserializeOwned + Default>(v: &Value) -> T {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

/// A full block (`{receipt?, credit_estimate?}`) counts only when it holds one of the two.
fn full_block(block: &Value, require_receipt: bool, source: MetaSource) -> Option<ToolMeta> {
    full_block_map(block.as_object()?, require_receipt, source, || {
        block.clone()
    })
}

/// [`full_block`] over an object; `raw` builds the block as a [`Value`] when it counts.
fn full_block_map(
    obj: &Map<String, Value>,
    require_receipt: bool,
    source: MetaSource,
    raw: impl FnOnce() -> Value,
) -> Option<ToolMeta> {
    let receipt = obj.get("receipt").filter(|r| r.is_object());
    let estimate = obj.get("credit_estimate").filter(|e| e.is_object());
    if receipt.is_none() && (require_receipt || estimate.is_none()) {
        return None;
    }
    Some(ToolMeta {
        receipt: receipt.map(parse::<Receipt>),
        credit_estimate: estimate.map(parse::<CreditEstimate>),
        source,
        raw: raw(),
    })
}

/// The compact form `_dg: {credits: {estimated, charged, remaining, premium, llm}}`.
fn compact_block(block: &Value, source: MetaSource) -> Option<ToolMeta> {
    let credits = block.get("credits")?.as_object()?;
    let num = |k: &str| credits.get(k).and_then(as_f64);
    let charged = num("charged").unwrap_or(0.0);
    let mut breakdown = Map::new();
    for key in ["premium", "llm"] {
        if let Some(v) = credits.get(key) {
            breakdown.insert(key.to_owned(), v.clone());
        }
    }
    let receipt = Receipt {
        estimated_credits: num("estimated").unwrap_or(0.0),
        actual_credits: charged,
        net_credits: charged,
        balance_after: num("remaining"),
        breakdown,
        ..Receipt::default()
    };
    Some(ToolMeta {
        receipt: Some(receipt),
        credit_estimate: None,
        source,
        raw: block.clone(),
    })
}

/// Looks for a metadata block in one JSON object (a result or a payload), in the reference's
/// order: `_meta.datagrout`, `_datagrout`, `_meta` holding a `receipt`; then the compact `_dg`.
fn find_in(obj: &Value, nested: Option<MetaSource>) -> Option<ToolMeta> {
    // A `_meta` that is not an object holds nothing.
    let meta = obj.get("_meta").and_then(Value::as_object);
    find_in_parts(meta, |key| obj.get(key), nested)
}

/// [`find_in`] over an object's parts: its `_meta` object (if any) and a lookup of its other
/// members (`_datagrout`, `_dg`), so that a typed result is searched without serialising it.
fn find_in_parts<'a>(
    meta: Option<&'a Map<String, Value>>,
    get: impl Fn(&str) -> Option<&'a Value>,
    nested: Option<MetaSource>,
) -> Option<ToolMeta> {
    let src = |s: MetaSource| nested.unwrap_or(s);
    meta.and_then(|m| m.get("datagrout"))
        .and_then(|b| full_block(b, false, src(MetaSource::ResultMetaDatagrout)))
        .or_else(|| {
            get("_datagrout").and_then(|b| full_block(b, false, src(MetaSource::ResultDatagrout)))
        })
        // A bare `_meta` counts only with a receipt: MCP's own `_meta` (progress tokens,
        // server info, …) is not a receipt.
        .or_else(|| {
            meta.and_then(|m| {
                full_block_map(m, true, src(MetaSource::ResultMeta), || {
                    Value::Object(m.clone())
                })
            })
        })
        .or_else(|| {
            get("_dg")
                .or_else(|| meta.and_then(|m| m.get("_dg")))
                .and_then(|b| compact_block(b, src(MetaSource::ResultCompact)))
        })
}

/// The metadata inside the JSON text of the first content block, if the text is a JSON object.
fn find_in_text(text: &str) -> Option<ToolMeta> {
    // Every key searched for starts with `_`, written either as is or as a `\u` escape: a text
    // with neither `"_` nor `\u` cannot hold one, and is not parsed at all.
    if !text.trim_start().starts_with('{') || !(text.contains("\"_") || text.contains("\\u")) {
        return None;
    }
    let parsed: Value = serde_json::from_str(text).ok()?;
    parsed
        .is_object()
        .then(|| find_in(&parsed, Some(MetaSource::TextContent)))
        .flatten()
}

/// The DataGrout metadata of a raw `tools/call` result (any JSON).
pub fn extract_meta_value(result: &Value) -> Option<ToolMeta> {
    if !result.is_object() {
        return None;
    }
    find_in(result, None)
        .or_else(|| {
            result
                .get("structuredContent")
                .filter(|s| s.is_object())
                .and_then(|s| find_in(s, Some(MetaSource::StructuredContent)))
        })
        .or_else(|| {
            let text = result
                .get("content")?
                .as_array()?
                .first()?
                .get("text")?
                .as_str()?;
            find_in_text(text)
        })
}

/// The DataGrout metadata (receipt and/or credit estimate) of a tool result, wherever the
/// gateway put it: the result's `_meta.datagrout`, `_datagrout` or `_meta` (only when it
/// holds a `receipt`), a compact `_dg.credits` block, or the same keys inside
/// `structuredContent` or the first text content's JSON. `None` when there is none.
///
/// ```
/// use conduit::datagrout::extract_meta;
/// use conduit::types::CallToolResult;
///
/// let result: CallToolResult = serde_json::from_value(serde_json::json!({
///     "content": [],
///     "_meta": {"datagrout": {"receipt": {"net_credits": 2.5, "savings": 0.5}}}
/// })).unwrap();
/// let meta = extract_meta(&result).unwrap();
/// assert_eq!(meta.net_credits(), Some(2.5));
/// assert_eq!(meta.savings(), Some(0.5));
/// ```
pub fn extract_meta(result: &CallToolResult) -> Option<ToolMeta> {
    // Unknown members are serialised after the typed ones and replace them: a result built
    // with such a member in `extra` is searched in its serialised form, exactly as sent.
    if ["content", "structuredContent", "_meta"]
        .iter()
        .any(|k| result.extra.contains_key(*k))
    {
        let value = serde_json::to_value(result).ok()?;
        return extract_meta_value(&value);
    }
    // Otherwise only the members a block can be in are looked at, in the same order as
    // `extract_meta_value`, without serialising the result.
    find_in_parts(result.meta.as_ref(), |key| result.extra.get(key), None)
        .or_else(|| {
            result
                .structured_content
                .as_ref()
                .filter(|s| s.is_object())
                .and_then(|s| find_in(s, Some(MetaSource::StructuredContent)))
        })
        .or_else(|| match result.content.first()? {
            ContentBlock::Text(t) if !t.extra.contains_key("text") => find_in_text(&t.text),
            ContentBlock::Unknown(m) => find_in_text(m.get("text")?.as_str()?),
            // Another kind of block can carry a `text` member among its unknown ones: look at
            // it as serialised (rare; never on the path of a text result).
            block => find_in_text(serde_json::to_value(block).ok()?.get("text")?.as_str()?),
        })
}
