//! Change notifications, one source for both eras.
//!
//! Every change the gateway announces ([`list_changed`], [`resource_updated`]) goes to
//!
//! * the stateful era's listening `GET /mcp` streams (every one: the client filters), and
//! * the stateless era's `subscriptions/listen` streams whose filter opted in to it, each
//!   notification carrying `_meta["io.modelcontextprotocol/subscriptionId"]` = the id of the
//!   listen request.
//!
//! A `subscriptions/listen` POST is always answered with an SSE stream that stays open: first
//! `notifications/subscriptions/acknowledged` with the part of the filter the gateway honours,
//! then the opted-in notifications. The client ends it by closing the stream (recorded as
//! [`ListenState::ClosedByClient`]); the gateway ends it gracefully ([`end_all`], also at
//! shutdown) by sending the listen request's result, carrying the same `_meta`, and closing.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Response, StatusCode};
use serde_json::{json, Map, Value};
use tokio::sync::mpsc::{self, UnboundedSender};
use tokio::sync::oneshot;

use crate::http_util::{rpc_error, sse, Body};
use crate::jsonrpc::RpcError;
use crate::state::{lock, State};

/// `_meta` key naming the listen stream a notification or result belongs to.
pub(crate) const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

/// How often an idle listen stream gets an SSE comment, so that neither side's idle timeout
/// ends it and a closed connection is noticed.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// Where a `subscriptions/listen` request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenState {
    /// The stream is open.
    Open,
    /// The client closed the stream (dropped the connection).
    ClosedByClient,
    /// The gateway ended it gracefully with the listen result.
    EndedByServer,
    /// The gateway closed the stream abruptly, without a result (as a broken connection does).
    DroppedByServer,
}

/// One `subscriptions/listen` request the gateway received.
#[derive(Debug, Clone, PartialEq)]
pub struct ListenRecord {
    /// The JSON-RPC id of the request (the subscription id).
    pub id: Value,
    /// The filter the client sent (`params.notifications`).
    pub requested: Value,
    /// The part of it the gateway honours (sent in the acknowledgement).
    pub honoured: Value,
    /// Whether it is still open, and if not, who ended it.
    pub state: ListenState,
}

struct Live {
    index: usize,
    tx: UnboundedSender<Bytes>,
    /// Tells the watcher task to let go of the stream (graceful end).
    stop: Option<oneshot::Sender<()>>,
    seq: u64,
}

/// The listen streams of one gateway.
#[derive(Default)]
pub(crate) struct Registry {
    records: Vec<ListenRecord>,
    live: Vec<Live>,
}

impl Registry {
    fn send(&mut self, i: usize, message: &Value) {
        let live = &mut self.live[i];
        live.seq += 1;
        let id = format!("listen-{}-{}", live.index, live.seq);
        // A closed receiver is noticed by the watcher task.
        let _ = live
            .tx
            .send(crate::sse::format_event(&id, None, Some(message)));
    }

    fn deliver(&mut self, wants: impl Fn(&Value) -> bool, notification: &Value) -> usize {
        let mut n = 0;
        for i in 0..self.live.len() {
            let record = &self.records[self.live[i].index];
            if !wants(&record.honoured) {
                continue;
            }
            let mut message = notification.clone();
            if let Some(params) = message
                .as_object_mut()
                .map(|m| m.entry("params").or_insert_with(|| json!({})))
            {
                params["_meta"] = json!({ SUBSCRIPTION_ID: record.id.clone() });
            }
            self.send(i, &message);
            n += 1;
        }
        n
    }
}

/// The subset of a requested filter the gateway honours: the three `list_changed` flags when
/// `true`, and `resourceSubscriptions` (strings only). Anything else (e.g. `taskIds`) is left out.
fn honour(requested: &Value) -> Value {
    let mut out = Map::new();
    for key in [
        "toolsListChanged",
        "promptsListChanged",
        "resourcesListChanged",
    ] {
        if requested.get(key) == Some(&Value::Bool(true)) {
            out.insert(key.to_owned(), Value::Bool(true));
        }
    }
    if let Some(Value::Array(uris)) = requested.get("resourceSubscriptions") {
        let uris: Vec<Value> = uris.iter().filter(|u| u.is_string()).cloned().collect();
        out.insert("resourceSubscriptions".to_owned(), Value::Array(uris));
    }
    Value::Object(out)
}

fn notification(method: &str) -> Value {
    json!({ "jsonrpc": "2.0", "method": method, "params": {} })
}

/// Answers a stateless `subscriptions/listen` request with its long-lived SSE stream.
pub(crate) fn open(state: &Arc<State>, id: Value, params: &Value) -> Response<Body> {
    let Some(requested) = params.get("notifications").filter(|n| n.is_object()) else {
        return rpc_error(
            StatusCode::OK,
            &id,
            RpcError::invalid_params("subscriptions/listen requires an object \"notifications\""),
        );
    };
    let honoured = honour(requested);
    let (tx, rx) = mpsc::unbounded_channel();
    let (stop_tx, mut stop_rx) = oneshot::channel();
    let index = {
        let mut reg = lock(&state.listens);
        let index = reg.records.len();
        reg.records.push(ListenRecord {
            id: id.clone(),
            requested: requested.clone(),
            honoured: honoured.clone(),
            state: ListenState::Open,
        });
        reg.live.push(Live {
            index,
            tx: tx.clone(),
            stop: Some(stop_tx),
            seq: 0,
        });
        // Under the registry lock: nothing can be delivered on this stream before the ack.
        let i = reg.live.len() - 1;
        let mut ack = notification("notifications/subscriptions/acknowledged");
        ack["params"] = json!({
            "_meta": { SUBSCRIPTION_ID: id.clone() },
            "notifications": honoured,
        });
        reg.send(i, &ack);
        index
    };
    let shared = Arc::clone(state);
    state.spawn(async move {
        let mut keepalive = tokio::time::interval(KEEPALIVE);
        keepalive.tick().await;
        loop {
            tokio::select! {
                () = tx.closed() => {
                    let mut reg = lock(&shared.listens);
                    reg.live.retain(|l| l.index != index);
                    if let Some(r) = reg.records.get_mut(index) {
                        r.state = ListenState::ClosedByClient;
                    }
                    return;
                }
                _ = &mut stop_rx => return, // graceful end: dropping `tx` ends the stream
                _ = keepalive.tick() => {
                    let _ = tx.send(Bytes::from_static(b": keepalive\n\n"));
                }
            }
        }
    });
    sse(rx, &[])
}

/// Ends every open listen stream gracefully: the listen result (with the subscription id in
/// `_meta`), then the end of the stream. Returns how many were ended.
pub(crate) fn end_all(state: &State) -> usize {
    let mut reg = lock(&state.listens);
    let n = reg.live.len();
    for i in 0..n {
        let id = reg.records[reg.live[i].index].id.clone();
        let result = json!({
            "jsonrpc": "2.0",
            "id": id.clone(),
            "result": { "resultType": "complete", "_meta": { SUBSCRIPTION_ID: id } },
        });
        reg.send(i, &result);
    }
    for mut live in std::mem::take(&mut reg.live) {
        if let Some(r) = reg.records.get_mut(live.index) {
            r.state = ListenState::EndedByServer;
        }
        if let Some(stop) = live.stop.take() {
            let _ = stop.send(());
        }
    }
    n
}

/// Closes every open listen stream abruptly: no result, just the end of the body, as when a
/// connection breaks. Returns how many were closed.
pub(crate) fn drop_all(state: &State) -> usize {
    let mut reg = lock(&state.listens);
    let live = std::mem::take(&mut reg.live);
    let n = live.len();
    for mut l in live {
        if let Some(r) = reg.records.get_mut(l.index) {
            r.state = ListenState::DroppedByServer;
        }
        if let Some(stop) = l.stop.take() {
            let _ = stop.send(());
        }
    }
    n
}

/// Every listen request received so far, in arrival order.
pub(crate) fn records(state: &State) -> Vec<ListenRecord> {
    lock(&state.listens).records.clone()
}

/// Announces that the `kind` list (`"tools"`, `"prompts"` or `"resources"`) changed, in both
/// eras. Returns how many streams (GET and listen) got it.
pub(crate) fn list_changed(state: &State, kind: &str) -> usize {
    let method = format!("notifications/{kind}/list_changed");
    let message = notification(&method);
    let flag = format!("{kind}ListChanged");
    let get = crate::mcp::push_to_listeners(state, &message);
    let listen = lock(&state.listens).deliver(
        |filter| filter.get(&flag) == Some(&Value::Bool(true)),
        &message,
    );
    get + listen
}

/// Announces that resource `uri` changed, in both eras: to every GET stream, and to the listen
/// streams subscribed to that URI. Returns how many streams got it.
pub(crate) fn resource_updated(state: &State, uri: &str) -> usize {
    let mut message = notification("notifications/resources/updated");
    message["params"] = json!({ "uri": uri });
    let get = crate::mcp::push_to_listeners(state, &message);
    let listen = lock(&state.listens).deliver(
        |filter| {
            filter
                .get("resourceSubscriptions")
                .and_then(Value::as_array)
                .is_some_and(|uris| uris.iter().any(|u| u.as_str() == Some(uri)))
        },
        &message,
    );
    get + listen
}
