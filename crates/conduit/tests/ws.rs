//! WebSocket-only behaviour: multiplexing, subscriptions, reconnection, close, overflow.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use conduit::transport::TransportError;
use conduit::transport_ws::{Backoff, WsConfig};
use conduit::{CallOptions, Client, Error, TopicEvent, TransportKind};
use conduit_testkit::{GatewayConfig, TestGateway};
use serde_json::json;

/// Every wait in this file is bounded by this, so a regression fails instead of hanging.
const LIMIT: Duration = Duration::from_secs(20);

fn fast_config() -> WsConfig {
    WsConfig {
        backoff: Backoff {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(200),
            ..Backoff::default()
        },
        ..WsConfig::default()
    }
}

async fn connect(gw: &TestGateway, config: WsConfig) -> Client {
    Client::builder(gw.ws_url())
        .transport(TransportKind::WebSocket)
        .bearer("ws-token")
        .ws_config(config)
        .timeout(LIMIT)
        .connect()
        .await
        .unwrap()
}

async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(LIMIT, f).await.expect("bounded wait")
}

async fn wait_until(mut cond: impl FnMut() -> bool) {
    bounded(async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn two_hundred_concurrent_calls_share_one_connection() {
    let gw = TestGateway::start(GatewayConfig::default()).await.unwrap();
    let client = connect(&gw, WsConfig::default()).await;
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let c = client.clone();
            tokio::spawn(async move {
                let r = c
                    .call_tool("add", json!({"a": i, "b": 1000}))
                    .await
                    .unwrap();
                let v = serde_json::to_value(&r).unwrap();
                (i, v["structuredContent"]["sum"].as_i64().unwrap())
            })
        })
        .collect();
    for t in tasks {
        let (i, sum) = bounded(t).await.unwrap();
        assert_eq!(sum, i + 1000);
    }
    assert_eq!(gw.ws_connections_accepted(), 1);
    // Every wire id was distinct.
    let ids: std::collections::HashSet<String> = gw
        .requests_for("tools/call")
        .iter()
        .map(|r| r.body.as_ref().unwrap()["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 200);
    bounded(client.close()).await.unwrap();
}

#[tokio::test]
async fn a_slow_call_does_not_block_a_fast_one() {
    let gw = TestGateway::start(GatewayConfig::default()).await.unwrap();
    let client = connect(&gw, WsConfig::default()).await;
    let slow = {
        let c = client.clone();
        tokio::spawn(async move {
            c.call_tool("slow", json!({"steps": 1, "delay_ms": 60_000}))
                .await
        })
    };
    // The fast call completes while the slow one is still pending.
    bounded(client.call_tool("echo", json!({"message": "fast"})))
        .await
        .unwrap();
    assert!(!slow.is_finished());
    bounded(client.close()).await.unwrap();
    let e = bounded(slow).await.unwrap().unwrap_err();
    assert!(
        matches!(e, Error::Transport(TransportError::Closed)),
        "{e:?}"
    );
}

#[tokio::test]
async fn subscriptions_deliver_in_order_and_unsubscribe() {
    let gw = TestGateway::start(GatewayConfig::default()).await.unwrap();
    let client = connect(&gw, WsConfig::default()).await;
    let mut sub = client.subscribe("tasks.t1.*").await.unwrap();
    let other = client.subscribe("flows.f1.*").await.unwrap();
    for n in 0..100 {
        assert_eq!(gw.publish("tasks.t1.progress", "progress", json!(n)), 1);
    }
    gw.publish("flows.f1.done", "done", json!("x"));
    for n in 0..100 {
        match bounded(sub.recv()).await {
            Some(TopicEvent::Event { event, data }) => {
                assert_eq!(event, "progress");
                assert_eq!(data, json!(n));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // As a Stream too.
    use futures_util_shim::next;
    gw.publish("tasks.t1.done", "done", json!(null));
    assert!(matches!(
        bounded(next(&mut sub)).await,
        Some(TopicEvent::Event { .. })
    ));

    // Explicit unsubscribe is acknowledged; dropping unsubscribes in the background.
    client.unsubscribe(sub).await.unwrap();
    assert_eq!(gw.ws_subscriptions(), vec!["flows.f1.*".to_string()]);
    let frame = &gw.requests_for("unsubscribe")[0];
    assert!(frame.params().unwrap()["subscription"].is_string());
    drop(other);
    wait_until(|| gw.ws_subscriptions().is_empty()).await;
    bounded(client.close()).await.unwrap();
}

/// A tiny `StreamExt::next` so that the test needs no extra dependency.
mod futures_util_shim {
    use std::pin::Pin;
    pub async fn next<S: futures_core::Stream + Unpin>(s: &mut S) -> Option<S::Item> {
        std::future::poll_fn(|cx| Pin::new(&mut *s).poll_next(cx)).await
    }
}

#[tokio::test]
async fn a_dropped_socket_reconnects_resubscribes_and_fails_in_flight_calls() {
    let gw = TestGateway::start(GatewayConfig::default()).await.unwrap();
    let client = connect(&gw, fast_config()).await;
    let mut sub = client.subscribe("agents.a1.events").await.unwrap();
    gw.publish("agents.a1.events", "before", json!(1));
    assert!(matches!(
        bounded(sub.recv()).await,
        Some(TopicEvent::Event { .. })
    ));

    // Calls in flight when the socket drops: one plain, one marked safe to retry.
    let plain = {
        let c = client.clone();
        tokio::spawn(async move {
            c.call_tool("slow", json!({"steps": 1, "delay_ms": 60_000}))
                .await
        })
    };
    let safe = {
        let c = client.clone();
        tokio::spawn(async move {
            c.call_tool_raw(
                "slow",
                json!({"steps": 1, "delay_ms": 300}),
                CallOptions::default().with_idempotent(true),
            )
            .await
        })
    };
    wait_until(|| gw.requests_for("tools/call").len() == 2).await;
    assert_eq!(gw.drop_ws_connections(), 1);

    let e = bounded(plain).await.unwrap().unwrap_err();
    assert!(
        matches!(e, Error::Transport(TransportError::ConnectionLost { .. })),
        "{e:?}"
    );
    // The retry-safe call is sent again on the new connection and succeeds.
    bounded(safe).await.unwrap().unwrap();
    assert_eq!(gw.requests_for("tools/call").len(), 3);

    // The subscription saw the gap, was renewed, and receives new events.
    assert_eq!(
        bounded(sub.recv()).await,
        Some(TopicEvent::Reconnected { attempt: 1 })
    );
    wait_until(|| gw.ws_subscriptions() == vec!["agents.a1.events".to_string()]).await;
    assert_eq!(gw.publish("agents.a1.events", "after", json!(2)), 1);
    assert_eq!(
        bounded(sub.recv()).await,
        Some(TopicEvent::Event {
            event: "after".into(),
            data: json!(2)
        })
    );
    // Re-authenticated: the second upgrade carried the credentials too.
    let upgrades: Vec<_> = gw
        .requests()
        .into_iter()
        .filter(|r| r.http_method == "GET" && r.path == "/ws")
        .collect();
    assert_eq!(upgrades.len(), 2);
    assert!(upgrades
        .iter()
        .all(|u| u.header("authorization") == Some("Bearer ws-token")));
    // New calls work.
    bounded(client.ping()).await.unwrap();
    bounded(client.close()).await.unwrap();
    assert_eq!(bounded(sub.recv()).await, None);
}

#[tokio::test]
async fn a_silent_peer_is_detected_by_the_keepalive() {
    let gw = TestGateway::start(GatewayConfig::default()).await.unwrap();
    let config = WsConfig {
        ping_interval: Duration::from_millis(100),
        pong_timeout: Duration::from_millis(100),
        ..fast_config()
    };
    let client = connect(&gw, config).await;
    gw.set_ws_unresponsive(true);
    let e = bounded(client.call_tool("echo", json!({"message": "x"})))
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Transport(TransportError::ConnectionLost { ref reason }) if reason.contains("ping")),
        "{e:?}"
    );
    gw.set_ws_unresponsive(false);
    bounded(client.call_tool("echo", json!({"message": "y"})))
        .await
        .unwrap();
    assert!(gw.ws_connections_accepted() >= 2);
    bounded(client.close()).await.unwrap();
}

#[tokio::test]
async fn close_ends_calls_and_subscriptions_promptly() {
    let gw = TestGateway::start(GatewayConfig::default()).await.unwrap();
    let client = connect(&gw, WsConfig::default()).await;
    let mut sub = client.subscribe("governor.g1").await.unwrap();
    let pending = {
        let c = client.clone();
        tokio::spawn(async move {
            c.call_tool("slow", json!({"steps": 1, "delay_ms": 60_000}))
                .await
        })
    };
    wait_until(|| !gw.requests_for("tools/call").is_empty()).await;
    bounded(client.close()).await.unwrap();
    assert!(bounded(pending).await.unwrap().is_err());
    assert_eq!(bounded(sub.recv()).await, None);
    assert!(matches!(client.ping().await, Err(Error::Closed)));
    wait_until(|| gw.ws_connections() == 0).await;
}

#[tokio::test]
async fn close_while_reconnecting_does_not_hang() {
    let gw = TestGateway::start(GatewayConfig::default()).await.unwrap();
    let config = WsConfig {
        backoff: Backoff {
            initial: Duration::from_secs(30),
            max: Duration::from_secs(30),
            ..Backoff::default()
        },
        ..WsConfig::default()
    };
    let client = connect(&gw, config).await;
    let mut sub = client.subscribe("flows.f.*").await.unwrap();
    gw.drop_ws_connections();
    // A call made while disconnected waits for the connection; close ends it.
    let waiting = {
        let c = client.clone();
        tokio::spawn(async move { c.ping().await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    bounded(client.close()).await.unwrap();
    assert!(bounded(waiting).await.unwrap().is_err());
    assert_eq!(bounded(sub.recv()).await, None);
}

#[tokio::test]
async fn a_slow_subscriber_loses_the_oldest_events_and_is_told() {
    let gw = TestGateway::start(GatewayConfig::default()).await.unwrap();
    let config = WsConfig {
        subscription_capacity: 4,
        ..WsConfig::default()
    };
    let client = connect(&gw, config).await;
    let mut sub = client.subscribe("tools.t.results").await.unwrap();
    for n in 0..10 {
        gw.publish("tools.t.results", "result", json!(n));
    }
    wait_until(|| sub.dropped_events() == 6).await;
    assert_eq!(
        bounded(sub.recv()).await,
        Some(TopicEvent::Lagged { dropped: 6 })
    );
    for n in 6..10 {
        assert_eq!(
            bounded(sub.recv()).await,
            Some(TopicEvent::Event {
                event: "result".into(),
                data: json!(n)
            })
        );
    }
    bounded(client.close()).await.unwrap();
}

#[tokio::test]
async fn the_wrong_subprotocol_or_path_is_refused() {
    let gw = TestGateway::start(GatewayConfig::default()).await.unwrap();
    let e = Client::builder(format!("ws://{}/nope", gw.local_addr()))
        .transport(TransportKind::WebSocket)
        .connect()
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404), "{e:?}");
}
