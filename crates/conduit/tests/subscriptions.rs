//! Change notifications (`Client::listen`) and the `ttlMs` list cache, in both eras, against
//! the test gateway.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use conduit::types::{ServerNotification, SubscriptionFilter};
use conduit::{Client, LifecycleMode, NotificationStream};
use conduit_testkit::{GatewayConfig, ListenState, TestGateway};
use serde_json::Value;

const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";
const ERAS: [LifecycleMode; 2] = [LifecycleMode::Stateful, LifecycleMode::Stateless];

async fn gateway(config: GatewayConfig) -> TestGateway {
    TestGateway::start(config).await.expect("gateway starts")
}

async fn client(gw: &TestGateway, era: LifecycleMode) -> Client {
    Client::builder(gw.url())
        .lifecycle(era)
        .connect()
        .await
        .expect("client connects")
}

async fn next(stream: &mut NotificationStream) -> ServerNotification {
    tokio::time::timeout(Duration::from_secs(10), stream.recv())
        .await
        .expect("a notification within 10 s")
        .expect("the stream is still open")
}

/// Polls `check` until it holds (at most ~10 s); false if it never did.
async fn eventually(mut check: impl FnMut() -> bool) -> bool {
    for _ in 0..500 {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// In the stateful era the changes travel on the client's GET stream, which it opens in the
/// background: announce that the `kind` list changed (a change the test does not look at) until
/// one stream got it.
async fn wait_for_get_stream(gw: &TestGateway, kind: &str) {
    assert!(
        eventually(|| gw.notify_list_changed(kind) > 0).await,
        "the client never opened its GET stream"
    );
}

fn subscription_id(n: &ServerNotification) -> Option<Value> {
    let meta = match n {
        ServerNotification::ToolListChanged(p) => p.meta.as_ref(),
        ServerNotification::ResourceUpdated(u) => u.meta.as_ref(),
        ServerNotification::SubscriptionsAcknowledged(a) => a.meta.as_ref(),
        _ => None,
    };
    meta.and_then(|m| m.get(SUBSCRIPTION_ID)).cloned()
}

#[tokio::test]
async fn listen_delivers_what_was_asked_and_nothing_else() {
    for era in ERAS {
        let gw = gateway(GatewayConfig::default()).await;
        let client = client(&gw, era).await;
        let filter = SubscriptionFilter::new()
            .tools_list_changed(true)
            .resource_subscriptions(vec!["test://text/1".to_owned()]);
        let mut stream = client.listen(filter).await.unwrap();

        if era == LifecycleMode::Stateless {
            let listens = gw.listens();
            assert_eq!(listens.len(), 1);
            assert_eq!(listens[0].state, ListenState::Open);
            let ack = next(&mut stream).await;
            let ServerNotification::SubscriptionsAcknowledged(a) = &ack else {
                panic!("the first item must be the acknowledgement, got {ack:?}");
            };
            assert_eq!(a.notifications.tools_list_changed, Some(true));
            assert_eq!(a.notifications.prompts_list_changed, None);
            assert_eq!(
                a.notifications.resource_subscriptions.as_deref(),
                Some(&["test://text/1".to_owned()][..])
            );
            assert_eq!(subscription_id(&ack), Some(listens[0].id.clone()));
            // The gateway itself sends nothing the filter did not ask for.
            assert_eq!(gw.notify_list_changed("prompts"), 0);
        } else {
            assert_eq!(gw.requests_for("resources/subscribe").len(), 1);
            wait_for_get_stream(&gw, "prompts").await;
        }

        // Unwanted changes first, on the same ordered stream: had any passed the filter, it
        // would arrive before the wanted ones.
        gw.notify_list_changed("prompts");
        gw.notify_list_changed("resources");
        gw.update_resource("test://text/2");
        assert!(gw.notify_list_changed("tools") > 0);
        assert!(gw.update_resource("test://text/1") > 0);

        let first = next(&mut stream).await;
        assert!(
            matches!(first, ServerNotification::ToolListChanged(_)),
            "{era:?}: {first:?}"
        );
        let second = next(&mut stream).await;
        assert!(
            matches!(&second, ServerNotification::ResourceUpdated(u) if u.uri == "test://text/1"),
            "{era:?}: {second:?}"
        );
        if era == LifecycleMode::Stateless {
            let id = gw.listens()[0].id.clone();
            assert_eq!(subscription_id(&first), Some(id.clone()));
            assert_eq!(subscription_id(&second), Some(id));
        }
        client.close().await.unwrap();
        gw.shutdown().await;
    }
}

#[tokio::test]
async fn dropping_the_stream_ends_the_subscription_on_the_server() {
    // Stateless: the listen request's stream is closed, which the gateway sees.
    let gw = gateway(GatewayConfig::default()).await;
    let stateless = client(&gw, LifecycleMode::Stateless).await;
    let stream = stateless
        .listen(SubscriptionFilter::new().tools_list_changed(true))
        .await
        .unwrap();
    assert_eq!(gw.listens()[0].state, ListenState::Open);
    drop(stream);
    assert!(
        eventually(|| gw.listens()[0].state == ListenState::ClosedByClient).await,
        "the gateway never saw the listen stream closed: {:?}",
        gw.listens()
    );
    assert_eq!(gw.notify_list_changed("tools"), 0);
    // The client is still usable.
    assert!(!stateless.list_tools().await.unwrap().is_empty());
    stateless.close().await.unwrap();

    // Stateful: each subscribed URI is unsubscribed.
    let stateful = client(&gw, LifecycleMode::Stateful).await;
    let stream =
        stateful
            .listen(SubscriptionFilter::new().resource_subscriptions(vec![
                "test://text/1".to_owned(),
                "test://text/2".to_owned(),
            ]))
            .await
            .unwrap();
    assert_eq!(gw.requests_for("resources/subscribe").len(), 2);
    assert!(gw.requests_for("resources/unsubscribe").is_empty());
    drop(stream);
    assert!(eventually(|| gw.requests_for("resources/unsubscribe").len() == 2).await);
    let mut uris: Vec<String> = gw
        .requests_for("resources/unsubscribe")
        .iter()
        .map(|r| r.params().unwrap()["uri"].as_str().unwrap().to_owned())
        .collect();
    uris.sort();
    assert_eq!(uris, ["test://text/1", "test://text/2"]);
    stateful.close().await.unwrap();
    gw.shutdown().await;
}

#[tokio::test]
async fn concurrent_stateless_listens_are_kept_apart() {
    let gw = gateway(GatewayConfig::default()).await;
    let client = client(&gw, LifecycleMode::Stateless).await;
    let mut tools = client
        .listen(SubscriptionFilter::new().tools_list_changed(true))
        .await
        .unwrap();
    let mut prompts = client
        .listen(SubscriptionFilter::new().prompts_list_changed(true))
        .await
        .unwrap();
    let listens = gw.listens();
    assert_eq!(listens.len(), 2);
    assert_ne!(listens[0].id, listens[1].id);
    gw.notify_list_changed("prompts");
    gw.notify_list_changed("tools");

    // Each stream: its own acknowledgement (not the other's), then its own change.
    let ack = next(&mut tools).await;
    assert!(matches!(
        ack,
        ServerNotification::SubscriptionsAcknowledged(_)
    ));
    assert_eq!(subscription_id(&ack), Some(listens[0].id.clone()));
    let change = next(&mut tools).await;
    assert!(
        matches!(change, ServerNotification::ToolListChanged(_)),
        "{change:?}"
    );

    let ack = next(&mut prompts).await;
    assert!(matches!(
        ack,
        ServerNotification::SubscriptionsAcknowledged(_)
    ));
    assert_eq!(subscription_id(&ack), Some(listens[1].id.clone()));
    let change = next(&mut prompts).await;
    assert!(
        matches!(change, ServerNotification::PromptListChanged(_)),
        "{change:?}"
    );
    client.close().await.unwrap();
    gw.shutdown().await;
}

#[tokio::test]
async fn a_graceful_server_end_ends_the_stream() {
    let gw = gateway(GatewayConfig::default()).await;
    let client = client(&gw, LifecycleMode::Stateless).await;
    let mut stream = client
        .listen(SubscriptionFilter::new().tools_list_changed(true))
        .await
        .unwrap();
    assert!(matches!(
        next(&mut stream).await,
        ServerNotification::SubscriptionsAcknowledged(_)
    ));
    assert!(gw.notify_list_changed("tools") > 0);
    assert_eq!(gw.end_listens(), 1);
    // What arrived before the end is still delivered, then the stream ends.
    assert!(matches!(
        next(&mut stream).await,
        ServerNotification::ToolListChanged(_)
    ));
    let end = tokio::time::timeout(Duration::from_secs(10), stream.recv())
        .await
        .expect("the stream ends");
    assert!(end.is_none(), "{end:?}");
    assert!(matches!(stream.listen_outcome(), Some(Ok(()))));
    assert_eq!(gw.listens()[0].state, ListenState::EndedByServer);
    client.close().await.unwrap();
    gw.shutdown().await;
}

fn list_requests(gw: &TestGateway, method: &str) -> usize {
    gw.requests_for(method).len()
}

#[tokio::test]
async fn a_positive_ttl_serves_lists_from_memory() {
    for era in ERAS {
        let gw = gateway(GatewayConfig::default().list_ttl_ms(600_000)).await;
        let client = client(&gw, era).await;
        let first = client.list_tools().await.unwrap();
        let second = client.list_tools().await.unwrap();
        assert_eq!(first, second);
        assert_eq!(list_requests(&gw, "tools/list"), 1, "{era:?}");
        for _ in 0..2 {
            client.list_prompts().await.unwrap();
            client.list_resources().await.unwrap();
            client.list_resource_templates().await.unwrap();
        }
        assert_eq!(list_requests(&gw, "prompts/list"), 1, "{era:?}");
        assert_eq!(list_requests(&gw, "resources/list"), 1, "{era:?}");
        assert_eq!(list_requests(&gw, "resources/templates/list"), 1, "{era:?}");

        // The way around the cache.
        client.invalidate_lists();
        client.list_tools().await.unwrap();
        client.list_prompts().await.unwrap();
        assert_eq!(list_requests(&gw, "tools/list"), 2, "{era:?}");
        assert_eq!(list_requests(&gw, "prompts/list"), 2, "{era:?}");
        client.close().await.unwrap();
        gw.shutdown().await;
    }
}

#[tokio::test]
async fn list_changed_makes_the_next_list_fetch_again() {
    for era in ERAS {
        let gw = gateway(GatewayConfig::default().list_ttl_ms(600_000)).await;
        let client = client(&gw, era).await;
        let mut stream = client
            .listen(SubscriptionFilter::new().tools_list_changed(true))
            .await
            .unwrap();
        if era == LifecycleMode::Stateless {
            assert!(matches!(
                next(&mut stream).await,
                ServerNotification::SubscriptionsAcknowledged(_)
            ));
        } else {
            wait_for_get_stream(&gw, "resources").await;
        }
        client.list_tools().await.unwrap();
        client.list_prompts().await.unwrap();
        client.list_tools().await.unwrap();
        assert_eq!(list_requests(&gw, "tools/list"), 1, "{era:?}");

        assert!(gw.notify_list_changed("tools") > 0);
        // Once the stream has it, the client has handled it.
        assert!(matches!(
            next(&mut stream).await,
            ServerNotification::ToolListChanged(_)
        ));
        client.list_tools().await.unwrap();
        assert_eq!(list_requests(&gw, "tools/list"), 2, "{era:?}");
        client.list_tools().await.unwrap();
        assert_eq!(list_requests(&gw, "tools/list"), 2, "{era:?}");
        // Only the tools list was dropped.
        client.list_prompts().await.unwrap();
        assert_eq!(list_requests(&gw, "prompts/list"), 1, "{era:?}");
        client.close().await.unwrap();
        gw.shutdown().await;
    }
}

#[tokio::test]
async fn ttl_zero_always_fetches() {
    for era in ERAS {
        let gw = gateway(GatewayConfig::default()).await;
        let client = client(&gw, era).await;
        for _ in 0..3 {
            client.list_tools().await.unwrap();
            client.list_resources().await.unwrap();
        }
        assert_eq!(list_requests(&gw, "tools/list"), 3, "{era:?}");
        assert_eq!(list_requests(&gw, "resources/list"), 3, "{era:?}");
        client.close().await.unwrap();
        gw.shutdown().await;
    }
}

#[tokio::test]
async fn an_expired_list_is_fetched_again() {
    let gw = gateway(GatewayConfig::default().list_ttl_ms(20)).await;
    let client = client(&gw, LifecycleMode::Stateless).await;
    client.list_tools().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    client.list_tools().await.unwrap();
    assert_eq!(list_requests(&gw, "tools/list"), 2);
    client.close().await.unwrap();
    gw.shutdown().await;
}

#[tokio::test]
async fn the_smallest_page_ttl_and_every_page_count() {
    // Paginated lists are cached whole: two pages fetched once, served twice.
    let gw = gateway(GatewayConfig::default().list_ttl_ms(600_000).page_size(2)).await;
    let client = client(&gw, LifecycleMode::Stateless).await;
    let first = client.list_resources().await.unwrap();
    let pages = list_requests(&gw, "resources/list");
    assert!(pages > 1);
    let second = client.list_resources().await.unwrap();
    assert_eq!(first, second);
    assert_eq!(list_requests(&gw, "resources/list"), pages);
    // Page-at-a-time reads never use the cache.
    client.list_resources_page(None).await.unwrap();
    assert_eq!(list_requests(&gw, "resources/list"), pages + 1);
    client.close().await.unwrap();
    gw.shutdown().await;
}

#[tokio::test]
async fn a_broken_listen_is_sent_again() {
    let gw = gateway(GatewayConfig::default().list_ttl_ms(600_000)).await;
    let client = client(&gw, LifecycleMode::Stateless).await;
    let mut stream = client
        .listen(SubscriptionFilter::new().tools_list_changed(true))
        .await
        .unwrap();
    assert!(matches!(
        next(&mut stream).await,
        ServerNotification::SubscriptionsAcknowledged(_)
    ));
    client.list_tools().await.unwrap();
    assert_eq!(list_requests(&gw, "tools/list"), 1);

    // The connection breaks (no listen result): the client listens again, and the new
    // acknowledgement tells the stream's reader so.
    assert_eq!(gw.drop_listens(), 1);
    let ack = next(&mut stream).await;
    assert!(
        matches!(ack, ServerNotification::SubscriptionsAcknowledged(_)),
        "{ack:?}"
    );
    let listens = gw.listens();
    assert_eq!(listens.len(), 2);
    assert_eq!(listens[0].state, ListenState::DroppedByServer);
    assert_eq!(listens[1].state, ListenState::Open);
    assert_eq!(subscription_id(&ack), Some(listens[1].id.clone()));
    assert!(stream.listen_outcome().is_none());
    // Changes may have been missed meanwhile: the list cache was emptied.
    client.list_tools().await.unwrap();
    assert_eq!(list_requests(&gw, "tools/list"), 2);

    assert!(gw.notify_list_changed("tools") > 0);
    let change = next(&mut stream).await;
    assert!(matches!(change, ServerNotification::ToolListChanged(_)));
    assert_eq!(subscription_id(&change), Some(listens[1].id.clone()));
    client.close().await.unwrap();
    gw.shutdown().await;
}

#[tokio::test]
async fn a_refused_listen_is_an_error() {
    let gw = gateway(GatewayConfig::default().subscriptions_listen(false)).await;
    let client = client(&gw, LifecycleMode::Stateless).await;
    let err = client
        .listen(SubscriptionFilter::new().tools_list_changed(true))
        .await
        .unwrap_err();
    assert_eq!(err.rpc_code(), Some(-32601), "{err}");
    assert_eq!(gw.requests_for("subscriptions/listen").len(), 1);
    client.close().await.unwrap();
    gw.shutdown().await;
}
