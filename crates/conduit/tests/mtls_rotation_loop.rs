//! The background rotation task: a certificate that enters the rotation margin while the
//! client runs is renewed with the CA, saved, and presented by the calls made afterwards, while
//! a call in flight across the rotation finishes undisturbed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use conduit::identity::{ConduitIdentity, MapEnvironment};
use conduit::{Client, TopicEvent, TransportKind};
use conduit_testkit::{GatewayConfig, TestCa, TestGateway};
use serde_json::json;

/// Every wait in this file is bounded by this, so a regression fails instead of hanging.
const LIMIT: Duration = Duration::from_secs(30);
/// The rotation margin of the clients below.
const MARGIN: Duration = Duration::from_secs(3600);
/// How long after issue the first certificate enters the margin: long enough for the client
/// to connect (and be seen not rotating at connect), short enough to keep the test quick.
const LEAD: Duration = Duration::from_secs(3);

async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(LIMIT, f).await.expect("bounded wait")
}

async fn wait_until(mut cond: impl FnMut() -> bool) {
    bounded(async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A gateway with mTLS, and an identity in a fresh directory that enters the margin `LEAD`
/// after now.
async fn setup() -> (TestGateway, TestCa, tempfile::TempDir, ConduitIdentity) {
    let ca = TestCa::new().unwrap();
    let gateway = TestGateway::start(GatewayConfig::default().mtls(ca.clone()))
        .await
        .unwrap();
    let now = SystemTime::now();
    let (cert, key) = ca
        .issue_client_cert(
            "rotating-agent",
            now - Duration::from_secs(60),
            now + MARGIN + LEAD,
        )
        .unwrap();
    let identity = ConduitIdentity::from_pem(&cert, &key, Some(&ca.ca_pem())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    conduit::identity::save_identity(&identity, dir.path()).unwrap();
    (gateway, ca, dir, identity)
}

fn builder(gateway: &TestGateway, url: String, dir: &std::path::Path) -> conduit::ClientBuilder {
    Client::builder(url)
        .identity_environment(Arc::new(MapEnvironment::new()))
        .identity_dir(dir)
        .rotation_endpoint(gateway.https_identity_endpoint().unwrap())
        .rotation_margin(MARGIN)
        .rotation_check_interval(Duration::from_millis(50))
        .timeout(LIMIT)
}

/// Waits for the background task's rotation; returns the new certificate's fingerprint after
/// checking what the CA saw and what was saved.
async fn wait_for_rotation(
    client: &Client,
    ca: &TestCa,
    dir: &std::path::Path,
    original: &ConduitIdentity,
) -> String {
    wait_until(|| ca.issued().iter().any(|i| i.kind == "rotate")).await;
    let issued = ca.issued();
    assert_eq!(issued.len(), 1, "exactly one rotation: {issued:?}");
    let rotation = &issued[0];
    assert_eq!(
        rotation.presented.as_deref(),
        Some(original.fingerprint()),
        "the rotation was authenticated with the certificate being replaced"
    );
    let renewed = rotation.fingerprint.clone();
    wait_until(|| client.identity().unwrap().fingerprint() == renewed).await;
    // Saved atomically before being swapped in: the directory already holds the new identity.
    let saved = ConduitIdentity::from_dir(dir).unwrap();
    assert_eq!(saved.fingerprint(), renewed);
    assert!(
        !saved.needs_rotation(MARGIN),
        "the renewed certificate is fresh"
    );
    #[cfg(unix)]
    assert_eq!(mode(&dir.join("identity_key.pem")), 0o600);
    renewed
}

#[tokio::test]
async fn the_background_task_rotates_a_certificate_entering_the_margin() {
    let (gateway, ca, dir, original) = setup().await;
    let client = bounded(builder(&gateway, gateway.https_url().unwrap(), dir.path()).connect())
        .await
        .unwrap();
    assert_eq!(
        client.identity().unwrap().fingerprint(),
        original.fingerprint(),
        "not yet due at connect (if this fails, connecting took longer than {LEAD:?})"
    );
    assert!(ca.issued().is_empty());

    // A call in flight across the rotation.
    let held = {
        let client = client.clone();
        tokio::spawn(async move { client.call_tool("hold", json!({"label": "across"})).await })
    };
    wait_until(|| gateway.held_calls() == 1).await;

    let renewed = wait_for_rotation(&client, &ca, dir.path(), &original).await;

    // The held call is still in flight, and completes normally once released.
    assert!(!held.is_finished());
    assert_eq!(gateway.release_held_calls(), 1);
    let result = bounded(held).await.unwrap().unwrap();
    assert!(
        serde_json::to_string(&result)
            .unwrap()
            .contains("released: across"),
        "{result:?}"
    );

    // Calls made after the rotation present the new certificate.
    let before = ca.mtls_requests().len();
    for i in 0..3 {
        bounded(client.call_tool("echo", json!({"message": format!("after {i}")})))
            .await
            .unwrap();
    }
    let after: Vec<_> = ca.mtls_requests().into_iter().skip(before).collect();
    let mcp: Vec<_> = after.iter().filter(|r| r.path == "/mcp").collect();
    assert!(mcp.len() >= 3, "{after:?}");
    assert!(
        mcp.iter().all(|r| r.client_fingerprint == renewed),
        "every call after the rotation presents the renewed certificate: {after:?}"
    );
    bounded(client.close()).await.unwrap();
}

#[tokio::test]
async fn the_background_task_rotates_under_a_websocket_session() {
    let (gateway, ca, dir, original) = setup().await;
    let client = bounded(
        builder(&gateway, gateway.wss_url().unwrap(), dir.path())
            .transport(TransportKind::WebSocket)
            .connect(),
    )
    .await
    .unwrap();
    assert_eq!(
        client.identity().unwrap().fingerprint(),
        original.fingerprint(),
        "not yet due at connect (if this fails, connecting took longer than {LEAD:?})"
    );
    let mut subscription = bounded(client.subscribe("agents.a.events")).await.unwrap();
    assert_eq!(
        gateway.publish("agents.a.events", "before", json!({"n": 1})),
        1
    );
    let held = {
        let client = client.clone();
        tokio::spawn(async move { client.call_tool("hold", json!({"label": "ws"})).await })
    };
    wait_until(|| gateway.held_calls() == 1).await;

    let renewed = wait_for_rotation(&client, &ca, dir.path(), &original).await;

    assert!(!held.is_finished());
    assert_eq!(gateway.release_held_calls(), 1);
    let result = bounded(held).await.unwrap().unwrap();
    assert!(
        serde_json::to_string(&result)
            .unwrap()
            .contains("released: ws"),
        "{result:?}"
    );
    // The next call renews the connection (nothing is in flight any more): it and the calls
    // after it present the renewed certificate. The subscription survives, told of the gap.
    assert_eq!(gateway.ws_connections_accepted(), 1);
    bounded(client.call_tool("echo", json!({"message": "after"})))
        .await
        .unwrap();
    assert_eq!(gateway.ws_connections_accepted(), 2);
    let upgrades: Vec<_> = ca
        .mtls_requests()
        .into_iter()
        .filter(|r| r.path == "/ws")
        .collect();
    assert_eq!(upgrades.len(), 2, "{upgrades:?}");
    assert_eq!(upgrades[0].client_fingerprint, original.fingerprint());
    assert_eq!(upgrades[1].client_fingerprint, renewed);
    wait_until(|| gateway.ws_subscriptions().len() == 1).await;
    assert_eq!(
        gateway.publish("agents.a.events", "after", json!({"n": 2})),
        1
    );
    let mut seen = Vec::new();
    while seen.len() < 3 {
        seen.push(bounded(subscription.recv()).await.expect("an event"));
    }
    assert!(
        matches!(seen[0], TopicEvent::Event { .. }),
        "the event before the renewal: {seen:?}"
    );
    assert!(
        matches!(seen[1], TopicEvent::Reconnected { .. }),
        "then the renewal marker: {seen:?}"
    );
    assert!(matches!(seen[2], TopicEvent::Event { .. }), "{seen:?}");
    bounded(client.call_tool("echo", json!({"message": "again"})))
        .await
        .unwrap();
    assert_eq!(gateway.ws_connections_accepted(), 2, "renewed once");
    bounded(client.close()).await.unwrap();
}
