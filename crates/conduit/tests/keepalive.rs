//! Keep-alive probes and the health they report, against the test gateway in both eras.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use conduit::{Client, HealthState, LifecycleMode};
use conduit_testkit::{Faults, GatewayConfig, TestGateway};

/// Waits (boundedly) until the client's health satisfies `done`.
async fn until(client: &Client, what: &str, done: impl Fn(&conduit::Health) -> bool) {
    let mut updates = client.health_updates();
    let reached = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if done(&updates.borrow_and_update()) {
                return;
            }
            if updates.changed().await.is_err() {
                panic!("the health channel closed while waiting for {what}");
            }
        }
    })
    .await;
    assert!(reached.is_ok(), "never {what}: {:?}", client.health());
}

#[tokio::test]
async fn probes_report_a_dead_server_and_its_recovery_in_both_eras() {
    for (mode, method) in [
        (LifecycleMode::Stateful, "ping"),
        (LifecycleMode::Stateless, "server/discover"),
    ] {
        let gw = TestGateway::start(GatewayConfig::default()).await.unwrap();
        let client = Client::builder(gw.url())
            .lifecycle(mode)
            .keepalive(Duration::from_millis(50))
            .connect()
            .await
            .unwrap();
        until(&client, "healthy", |h| h.state == HealthState::Healthy).await;
        let probes = gw.requests_for(method).len();
        assert!(probes >= 1, "{mode:?}: the probe is `{method}`");

        gw.set_faults(Faults::default().status_override(500, "down for maintenance"));
        until(&client, "unhealthy", |h| h.state == HealthState::Unhealthy).await;
        let health = client.health();
        assert!(health.consecutive_failures >= 1);
        let error = health.last_error.unwrap();
        assert!(error.contains("500"), "{mode:?}: {error}");

        gw.set_faults(Faults::default());
        until(&client, "healthy again", |h| {
            h.state == HealthState::Healthy
        })
        .await;
        let health = client.health();
        assert_eq!(health.consecutive_failures, 0);
        assert_eq!(health.last_error, None);

        // Closing the client ends the probes.
        client.close().await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let before = gw.requests().len();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let after = gw.requests().len();
        assert_eq!(before, after, "{mode:?}: no probe after close");
    }
}

#[tokio::test]
async fn without_keepalive_nothing_is_sent_and_health_is_unknown() {
    let gw = TestGateway::start(GatewayConfig::default()).await.unwrap();
    let client = Client::connect(gw.url()).await.unwrap();
    let before = gw.requests().len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(gw.requests().len(), before);
    assert_eq!(client.health().state, HealthState::Unknown);
}
