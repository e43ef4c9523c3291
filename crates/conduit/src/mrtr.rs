//! Multi round-trip requests (2026-07-28, SEP-2322): the stateless era's way for a server to
//! ask the client for input in the middle of `tools/call`, `prompts/get` or `resources/read`.
//!
//! The server answers with `resultType: "input_required"`, a map of `inputRequests` and an
//! opaque `requestState`. [`Client::request_with`](crate::Client::request_with) answers every
//! input request with the client's [`ClientHandler`] (through
//! `handler::fulfil`, the same code that answers stateful server requests) and sends
//! the original request again — with a new JSON-RPC id, the `inputResponses`, and the
//! `requestState` exactly as received (or none when none was sent) — at most
//! [`MAX_ROUNDS`] times. Nothing of one call's exchange is ever added to another call.

use conduit_protocol::mcp::{ClientCapabilities, InputRequiredResult};
use serde_json::{Map, Value};

use crate::handler::{fulfil, ClientHandler};
use crate::Error;

/// The most `input_required` rounds one call may take before the client gives up.
pub const MAX_ROUNDS: usize = 16;

/// What the next attempt of a request adds to its original params.
#[derive(Clone, Debug, Default)]
pub(crate) struct Retry {
    pub(crate) input_responses: Map<String, Value>,
    pub(crate) request_state: Option<Value>,
}

impl Retry {
    /// The original params plus this round's answers. Keys of the caller's own params are
    /// replaced, never merged, so nothing from an earlier round survives.
    pub(crate) fn apply(&self, params: Option<Value>) -> Option<Value> {
        let mut map = match params {
            Some(Value::Object(m)) => m,
            None | Some(Value::Null) => Map::new(),
            Some(other) => return Some(other),
        };
        map.remove("inputResponses");
        map.remove("requestState");
        map.insert(
            "inputResponses".into(),
            Value::Object(self.input_responses.clone()),
        );
        if let Some(state) = &self.request_state {
            map.insert("requestState".into(), state.clone());
        }
        Some(Value::Object(map))
    }
}

/// Answers the `inputRequests` of an `input_required` result; the retry to send.
pub(crate) async fn answer(
    method: &str,
    result: Value,
    handler: &dyn ClientHandler,
    capabilities: &ClientCapabilities,
) -> Result<Retry, Error> {
    // `requestState` is taken verbatim from the raw result: it is never parsed or rebuilt.
    let request_state = result.get("requestState").cloned();
    if let Some(state) = &request_state {
        if !state.is_string() {
            return Err(Error::protocol(method, "`requestState` is not a string"));
        }
    }
    let parsed: InputRequiredResult = serde_json::from_value(result)
        .map_err(|e| Error::protocol(method, format!("malformed input_required result: {e}")))?;
    let mut input_responses = Map::new();
    for (key, request) in parsed.input_requests.unwrap_or_default() {
        let params = request.params.map(Value::Object);
        match fulfil(handler, capabilities, &request.method, params).await {
            Ok(mut v) => {
                if let Some(o) = v.as_object_mut() {
                    o.entry("resultType")
                        .or_insert_with(|| Value::String("complete".into()));
                }
                input_responses.insert(key, v);
            }
            Err(e) => {
                return Err(Error::InputRequest {
                    method: method.to_owned(),
                    request: request.method,
                    key,
                    code: e.code,
                    message: e.message,
                })
            }
        }
    }
    Ok(Retry {
        input_responses,
        request_state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn retry_replaces_rather_than_merges() {
        let retry = Retry {
            input_responses: json!({"a": {"action": "cancel"}})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            request_state: None,
        };
        let out = retry.apply(Some(json!({
            "name": "t",
            "inputResponses": {"old": 1},
            "requestState": "stale"
        })));
        assert_eq!(
            out,
            Some(json!({"name": "t", "inputResponses": {"a": {"action": "cancel"}}}))
        );
    }
}
