//! The unlisted tool `hold`: a call that stays in flight until the test releases it
//! ([`TestGateway::release_held_calls`](crate::TestGateway::release_held_calls)), so that a test
//! can change something under a call without guessing how long it takes. A held call gives up
//! after [`HOLD_LIMIT`] with a tool error, so a forgotten release cannot park the gateway.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::watch;

use crate::jsonrpc::RpcError;
use crate::mcp::dispatch::CallCtx;

/// The tool name.
pub(crate) const TOOL: &str = "hold";
/// The longest a call is held.
const HOLD_LIMIT: Duration = Duration::from_secs(60);

/// Held calls and the release switch of one gateway.
pub(crate) struct Holds {
    /// Bumped by every release; a call waits for it to change.
    release: watch::Sender<u64>,
    held: AtomicUsize,
}

impl Default for Holds {
    fn default() -> Self {
        Holds {
            release: watch::channel(0).0,
            held: AtomicUsize::new(0),
        }
    }
}

impl Holds {
    /// Releases every call held now; returns how many there were.
    pub(crate) fn release(&self) -> usize {
        let n = self.held.load(Ordering::Acquire);
        self.release.send_modify(|g| *g += 1);
        n
    }

    /// How many calls are held now.
    pub(crate) fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }
}

/// Decrements the held count however the call ends (answered, or dropped with its connection).
struct Guard<'a>(&'a AtomicUsize);

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

pub(crate) async fn call(ctx: &CallCtx, args: &Value) -> Result<Value, RpcError> {
    let holds = &ctx.state.holds;
    let mut release = holds.release.subscribe();
    release.mark_unchanged();
    holds.held.fetch_add(1, Ordering::AcqRel);
    let _guard = Guard(&holds.held);
    let label = args.get("label").and_then(Value::as_str).unwrap_or("held");
    let released = tokio::time::timeout(HOLD_LIMIT, release.changed()).await;
    Ok(match released {
        Ok(_) => json!({
            "content": [{ "type": "text", "text": format!("released: {label}") }],
            "isError": false
        }),
        Err(_) => json!({
            "content": [{ "type": "text", "text": format!("hold: not released within {HOLD_LIMIT:?}") }],
            "isError": true
        }),
    })
}
