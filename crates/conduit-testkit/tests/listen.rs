#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `subscriptions/listen` on the wire (2026-07-28), driven over raw HTTP.

mod common;

use std::time::Duration;

use common::*;
use conduit_testkit::{GatewayConfig, ListenState, ResponseMode, TestGateway};
use http::Method;
use serde_json::{json, Value};

const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";
const WAIT: Duration = Duration::from_secs(5);

async fn listen(gw: &TestGateway, id: u64, filter: Value) -> Stream {
    let mut body = modern_body("subscriptions/listen", json!({ "notifications": filter }));
    body["id"] = json!(id);
    open(
        Method::POST,
        &gw.url(),
        &[
            ("accept", "application/json, text/event-stream"),
            ("content-type", "application/json"),
            ("mcp-protocol-version", MODERN),
            ("mcp-method", "subscriptions/listen"),
        ],
        Some(body.to_string()),
    )
    .await
}

async fn next_json(stream: &mut Stream) -> Value {
    stream.next_event(WAIT).await.expect("an event").json()
}

async fn eventually(mut check: impl FnMut() -> bool) -> bool {
    for _ in 0..250 {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn listen_acknowledges_filters_tags_and_ends() {
    // Even in JSON response mode, a listen request is answered with an open SSE stream.
    for mode in [ResponseMode::Json, ResponseMode::Sse] {
        let gw = TestGateway::start(GatewayConfig::default().response_mode(mode))
            .await
            .unwrap();
        let mut s = listen(
            &gw,
            7,
            json!({
                "toolsListChanged": true,
                "promptsListChanged": false,
                "resourceSubscriptions": ["test://text/1"],
                "taskIds": ["t1"]
            }),
        )
        .await;
        assert_eq!(s.status, 200);
        assert_eq!(
            s.headers.get("content-type").unwrap().to_str().unwrap(),
            "text/event-stream"
        );
        let ack = next_json(&mut s).await;
        assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
        assert_eq!(ack["params"]["_meta"][SUBSCRIPTION_ID], 7);
        // Only what the gateway honours: no `false` flags, no task ids.
        assert_eq!(
            ack["params"]["notifications"],
            json!({ "toolsListChanged": true, "resourceSubscriptions": ["test://text/1"] })
        );
        let records = gw.listens();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].id, json!(7));
        assert_eq!(records[0].state, ListenState::Open);

        // Not asked for: nothing is sent.
        assert_eq!(gw.notify_list_changed("prompts"), 0);
        assert_eq!(gw.notify_list_changed("resources"), 0);
        assert_eq!(gw.update_resource("test://text/2"), 0);
        // Asked for: tagged with the subscription id.
        assert_eq!(gw.notify_list_changed("tools"), 1);
        assert_eq!(gw.update_resource("test://text/1"), 1);
        let tools = next_json(&mut s).await;
        assert_eq!(tools["method"], "notifications/tools/list_changed");
        assert_eq!(tools["params"]["_meta"][SUBSCRIPTION_ID], 7);
        let updated = next_json(&mut s).await;
        assert_eq!(updated["method"], "notifications/resources/updated");
        assert_eq!(updated["params"]["uri"], "test://text/1");
        assert_eq!(updated["params"]["_meta"][SUBSCRIPTION_ID], 7);

        // A graceful end: the listen result with the same `_meta`, then the end of the body.
        assert_eq!(gw.end_listens(), 1);
        let result = next_json(&mut s).await;
        assert_eq!(result["id"], 7);
        assert_eq!(result["result"]["resultType"], "complete");
        assert_eq!(result["result"]["_meta"][SUBSCRIPTION_ID], 7);
        assert!(s.ended(WAIT).await);
        assert_eq!(gw.listens()[0].state, ListenState::EndedByServer);
        assert_eq!(gw.notify_list_changed("tools"), 0);
        gw.shutdown().await;
    }
}

#[tokio::test]
async fn a_closed_listen_stream_is_recorded() {
    let gw = TestGateway::start(GatewayConfig::default()).await.unwrap();
    let mut s = listen(&gw, 1, json!({ "toolsListChanged": true })).await;
    next_json(&mut s).await;
    drop(s);
    assert!(
        eventually(|| gw.listens()[0].state == ListenState::ClosedByClient).await,
        "{:?}",
        gw.listens()
    );
    assert_eq!(gw.notify_list_changed("tools"), 0);
    gw.shutdown().await;
}

#[tokio::test]
async fn the_touch_resource_tool_reaches_listen_streams() {
    let gw = TestGateway::start(GatewayConfig::default()).await.unwrap();
    let mut s = listen(
        &gw,
        3,
        json!({ "resourcesListChanged": true, "resourceSubscriptions": ["test://text/4"] }),
    )
    .await;
    next_json(&mut s).await;
    let call = modern(
        &gw.url(),
        "tools/call",
        json!({ "name": "touch_resource", "arguments": { "uri": "test://text/4" } }),
    )
    .await;
    assert_eq!(call.status, 200, "{}", call.body);
    let updated = next_json(&mut s).await;
    assert_eq!(updated["method"], "notifications/resources/updated");
    let changed = next_json(&mut s).await;
    assert_eq!(changed["method"], "notifications/resources/list_changed");
    assert_eq!(changed["params"]["_meta"][SUBSCRIPTION_ID], 3);
    gw.shutdown().await;
}

#[tokio::test]
async fn listen_without_a_filter_is_invalid_params() {
    let gw = TestGateway::start(GatewayConfig::default()).await.unwrap();
    let resp = modern(&gw.url(), "subscriptions/listen", json!({})).await;
    assert_eq!(resp.json()["error"]["code"], -32602, "{}", resp.body);
    assert!(gw.listens().is_empty());
    gw.shutdown().await;
}

#[tokio::test]
async fn list_ttl_is_configurable() {
    let gw = TestGateway::start(GatewayConfig::default().list_ttl_ms(1234))
        .await
        .unwrap();
    for method in [
        "tools/list",
        "prompts/list",
        "resources/list",
        "resources/templates/list",
    ] {
        let resp = modern(&gw.url(), method, json!({})).await;
        assert_eq!(resp.json()["result"]["ttlMs"], 1234, "{method}");
    }
    // Not on reads (only lists are configured).
    let read = modern(
        &gw.url(),
        "resources/read",
        json!({ "uri": "test://text/1" }),
    )
    .await;
    assert_eq!(read.json()["result"]["ttlMs"], 0);
    // The default stays 0.
    let plain = TestGateway::start(GatewayConfig::default()).await.unwrap();
    let resp = modern(&plain.url(), "tools/list", json!({})).await;
    assert_eq!(resp.json()["result"]["ttlMs"], 0);
    plain.shutdown().await;
    gw.shutdown().await;
}
