//! `needs_consent`: a tool refused with `-32042` URL elicitation required (2025-11-25) until
//! the user completed the URL elicitation the refusal names.
//!
//! Each refused call issues a new elicitation (`consent-N`, URL
//! `https://consent.example.test/consent-N`). [`TestGateway::complete_url_elicitation`] plays
//! the user finishing the page: it marks the id completed and pushes
//! `notifications/elicitation/complete`. The next call consumes one completed elicitation and
//! answers `consented via consent-N`. In the stateless era (which has no `-32042`) the tool
//! answers a tool error.
//!
//! [`TestGateway::complete_url_elicitation`]: crate::TestGateway::complete_url_elicitation

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde_json::{json, Value};

use crate::jsonrpc::{notification, RpcError};
use crate::mcp::dispatch::{CallCtx, Era};
use crate::state::{lock, State};

/// `URLElicitationRequiredError` (2025-11-25).
const URL_ELICITATION_REQUIRED: i64 = -32042;

/// Issued elicitations: id → completed.
#[derive(Debug, Default)]
pub(crate) struct Store {
    issued: Mutex<BTreeMap<String, bool>>,
    next: AtomicU64,
}

/// The tool's definition.
pub(crate) fn definitions() -> Vec<Value> {
    vec![json!({
        "name": "needs_consent",
        "title": "Needs consent",
        "description": "Refused with -32042 (URL elicitation required) until the user completed the consent page it names; then answers which consent was used.",
        "inputSchema": { "type": "object", "properties": {} },
        "annotations": { "title": "Needs consent", "readOnlyHint": true, "destructiveHint": false, "idempotentHint": true, "openWorldHint": false }
    })]
}

/// Whether `name` is this module's tool.
pub(crate) fn handles(name: &str) -> bool {
    name == "needs_consent"
}

/// `tools/call` of `needs_consent`.
pub(crate) fn call(ctx: &CallCtx) -> Result<Value, RpcError> {
    if ctx.era == Era::Stateless {
        return Ok(json!({
            "content": [{ "type": "text", "text": "needs_consent: -32042 does not exist in 2026-07-28" }],
            "isError": true
        }));
    }
    let store = &ctx.state.url_elicitations;
    let mut issued = lock(&store.issued);
    let done = issued
        .iter()
        .find(|(_, completed)| **completed)
        .map(|(id, _)| id.clone());
    if let Some(id) = done {
        issued.remove(&id);
        return Ok(
            json!({ "content": [{ "type": "text", "text": format!("consented via {id}") }] }),
        );
    }
    let id = format!("consent-{}", store.next.fetch_add(1, Ordering::Relaxed) + 1);
    issued.insert(id.clone(), false);
    Err(RpcError::new(
        URL_ELICITATION_REQUIRED,
        "This request requires more information.",
    )
    .with_data(json!({
        "elicitations": [{
            "mode": "url",
            "elicitationId": id,
            "url": format!("https://consent.example.test/{id}"),
            "message": "Please grant access to the test gateway."
        }]
    })))
}

/// Marks `id` completed and notifies the listening streams; `None` for an unknown id.
pub(crate) fn complete(state: &State, id: &str) -> Option<usize> {
    {
        let mut issued = lock(&state.url_elicitations.issued);
        *issued.get_mut(id)? = true;
    }
    Some(crate::mcp::push_to_listeners(
        state,
        &notification(
            "notifications/elicitation/complete",
            json!({ "elicitationId": id }),
        ),
    ))
}
