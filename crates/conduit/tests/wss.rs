//! WebSocket over TLS with client certificates (`wss://` to the gateway's mTLS listener), and
//! credentials refreshed after a 401 on the WebSocket upgrade.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use conduit::auth::{ClientCredentials, ClientCredentialsProvider};
use conduit::http::{HttpClient, HttpConfig, StaticBearer};
use conduit::identity::{ConduitIdentity, MapEnvironment};
use conduit::transport::TransportError;
use conduit::transport_ws::{Backoff, WsConfig};
use conduit::{Client, Error, TransportKind};
use conduit_testkit::{GatewayConfig, OAuthConfig, RecordedRequest, TestCa, TestGateway};
use serde_json::json;

/// Every wait in this file is bounded by this, so a regression fails instead of hanging.
const LIMIT: Duration = Duration::from_secs(20);

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

fn fast_reconnect() -> WsConfig {
    WsConfig {
        backoff: Backoff {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(200),
            ..Backoff::default()
        },
        ..WsConfig::default()
    }
}

async fn mtls_gateway() -> (TestGateway, TestCa) {
    let ca = TestCa::new().unwrap();
    let gateway = TestGateway::start(GatewayConfig::default().mtls(ca.clone()))
        .await
        .unwrap();
    (gateway, ca)
}

fn issued_identity(ca: &TestCa, name: &str) -> ConduitIdentity {
    let now = SystemTime::now();
    let (cert, key) = ca
        .issue_client_cert(
            name,
            now - Duration::from_secs(60),
            now + Duration::from_secs(30 * 86_400),
        )
        .unwrap();
    ConduitIdentity::from_pem(&cert, &key, Some(&ca.ca_pem())).unwrap()
}

fn wss_builder(gateway: &TestGateway) -> conduit::ClientBuilder {
    Client::builder(gateway.wss_url().unwrap())
        .transport(TransportKind::WebSocket)
        .identity_environment(Arc::new(MapEnvironment::new()))
        .ws_config(fast_reconnect())
        .timeout(LIMIT)
}

/// The upgrade requests (`GET /ws`) the gateway received, in order.
fn upgrades(gateway: &TestGateway) -> Vec<RecordedRequest> {
    gateway
        .requests()
        .into_iter()
        .filter(|r| r.path == "/ws" && r.http_method == "GET")
        .collect()
}

#[tokio::test]
async fn wss_with_a_valid_identity_calls_tools_and_the_gateway_sees_the_certificate() {
    let (gateway, ca) = mtls_gateway().await;
    let identity = issued_identity(&ca, "ws-agent");
    let client = bounded(wss_builder(&gateway).identity(identity.clone()).connect())
        .await
        .unwrap();
    let tools = bounded(client.list_tools()).await.unwrap();
    assert!(tools.iter().any(|t| t.name == "echo"), "{tools:?}");
    let sum = bounded(client.call_tool("add", json!({"a": 2, "b": 40})))
        .await
        .unwrap();
    assert!(
        serde_json::to_string(&sum).unwrap().contains("42"),
        "{sum:?}"
    );

    // One upgrade, over TLS, offering the subprotocol (the client refuses a server that does
    // not answer with it, so connecting at all means it was negotiated).
    let ups = upgrades(&gateway);
    assert_eq!(ups.len(), 1, "{ups:?}");
    assert_eq!(
        ups[0].header("sec-websocket-protocol"),
        Some(conduit::transport_ws::SUBPROTOCOL)
    );
    assert_eq!(gateway.ws_connections_accepted(), 1);
    // The frames travelled on that connection.
    let frames: Vec<_> = gateway
        .requests()
        .into_iter()
        .filter(|r| r.http_method == "WS")
        .collect();
    assert!(frames.iter().any(|r| r.is_rpc("tools/list")), "{frames:?}");
    assert!(frames.iter().any(|r| r.is_rpc("tools/call")), "{frames:?}");

    // The gateway's TLS layer verified the client certificate: it is the identity's.
    let seen: Vec<_> = ca
        .mtls_requests()
        .into_iter()
        .filter(|r| r.path == "/ws")
        .collect();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].client_fingerprint, identity.fingerprint());
    bounded(client.close()).await.unwrap();
}

#[tokio::test]
async fn wss_reconnects_with_the_identity_after_a_drop() {
    let (gateway, ca) = mtls_gateway().await;
    let identity = issued_identity(&ca, "ws-reconnect");
    let client = bounded(wss_builder(&gateway).identity(identity.clone()).connect())
        .await
        .unwrap();
    bounded(client.call_tool("echo", json!({"message": "one"})))
        .await
        .unwrap();
    assert_eq!(gateway.drop_ws_connections(), 1);
    wait_until(|| gateway.ws_connections_accepted() == 2).await;
    bounded(client.call_tool("echo", json!({"message": "two"})))
        .await
        .unwrap();
    let seen: Vec<_> = ca
        .mtls_requests()
        .into_iter()
        .filter(|r| r.path == "/ws")
        .collect();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen
        .iter()
        .all(|r| r.client_fingerprint == identity.fingerprint()));
    bounded(client.close()).await.unwrap();
}

/// A refused TLS handshake: a typed transport error naming the endpoint, quickly, and nothing
/// reached `/ws`.
fn assert_refused(gateway: &TestGateway, ca: &TestCa, err: &Error) {
    match err {
        Error::Transport(TransportError::Connect { target, .. }) => {
            assert!(target.starts_with("127.0.0.1:"), "{target}");
        }
        other => panic!("expected a connection error, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.to_ascii_lowercase().contains("certificate"),
        "the error should say the certificate was refused: {text}"
    );
    assert!(upgrades(gateway).is_empty(), "no upgrade may reach /ws");
    assert_eq!(gateway.ws_connections_accepted(), 0);
    assert!(ca.mtls_requests().is_empty());
}

#[tokio::test]
async fn wss_without_a_client_certificate_is_refused() {
    let (gateway, ca) = mtls_gateway().await;
    let trusting = HttpConfig::builder()
        .add_root_certificates_pem(ca.ca_pem())
        .connect_timeout(LIMIT)
        .response_header_timeout(LIMIT)
        .build()
        .unwrap();
    let err = bounded(wss_builder(&gateway).http_config(trusting).connect())
        .await
        .expect_err("the mTLS listener must refuse a client without a certificate");
    assert_refused(&gateway, &ca, &err);
}

#[tokio::test]
async fn wss_with_a_certificate_from_another_ca_is_refused() {
    let (gateway, ca) = mtls_gateway().await;
    let stranger = TestCa::named("Some Other CA").unwrap();
    // Trusts the gateway (its CA bundle is the gateway's), presents a stranger's certificate.
    let foreign = issued_identity(&stranger, "intruder")
        .with_ca_pem(&ca.ca_pem())
        .unwrap();
    let err = bounded(wss_builder(&gateway).identity(foreign).connect())
        .await
        .expect_err("the mTLS listener must refuse a foreign certificate");
    assert_refused(&gateway, &ca, &err);
}

// ---- 401 on the upgrade ----

async fn oauth_gateway(config: OAuthConfig) -> TestGateway {
    TestGateway::start(GatewayConfig::default().oauth(config.protect_ws(true)))
        .await
        .unwrap()
}

fn provider(gateway: &TestGateway) -> ClientCredentialsProvider {
    ClientCredentialsProvider::new(
        ClientCredentials::new("test-client", "test-secret")
            .token_endpoint(&format!("{}/token", gateway.base_url()))
            .unwrap(),
        HttpClient::with_defaults().unwrap(),
    )
}

fn bearer_of(r: &RecordedRequest) -> Option<String> {
    r.header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned)
}

#[tokio::test]
async fn a_401_on_the_upgrade_refreshes_the_token_and_retries_once() {
    let gateway = oauth_gateway(OAuthConfig::default()).await;
    let provider = provider(&gateway);
    // The provider holds a token the gateway no longer accepts.
    let stale = provider.access_token().await.unwrap();
    gateway.revoke_tokens();
    let client = bounded(
        Client::builder(gateway.ws_url())
            .transport(TransportKind::WebSocket)
            .authorizer(Arc::new(provider.clone()))
            .timeout(LIMIT)
            .connect(),
    )
    .await
    .unwrap();
    bounded(client.call_tool("echo", json!({"message": "hi"})))
        .await
        .unwrap();
    let ups = upgrades(&gateway);
    assert_eq!(ups.len(), 2, "one refused upgrade, one retried: {ups:?}");
    assert_eq!(
        bearer_of(&ups[0]).as_deref(),
        Some(stale.token.expose()),
        "the first upgrade carried the stale token"
    );
    let fresh = bearer_of(&ups[1]).expect("the retry carries a token");
    assert_ne!(fresh, stale.token.expose(), "the retry carries a new token");
    assert_eq!(gateway.token_requests().len(), 2, "exactly one refresh");
    assert_eq!(gateway.ws_connections_accepted(), 1);
    bounded(client.close()).await.unwrap();
}

#[tokio::test]
async fn a_reconnect_refused_with_401_refreshes_the_token() {
    let gateway = oauth_gateway(OAuthConfig::default()).await;
    let client = bounded(
        Client::builder(gateway.ws_url())
            .transport(TransportKind::WebSocket)
            .client_credentials("test-client", "test-secret")
            .ws_config(fast_reconnect())
            .timeout(LIMIT)
            .connect(),
    )
    .await
    .unwrap();
    bounded(client.ping()).await.unwrap();
    assert_eq!(gateway.token_requests().len(), 1);
    // The token dies with the connection: the reconnect's first upgrade is refused.
    gateway.revoke_tokens();
    assert_eq!(gateway.drop_ws_connections(), 1);
    wait_until(|| gateway.ws_connections_accepted() == 2).await;
    bounded(client.call_tool("echo", json!({"message": "back"})))
        .await
        .unwrap();
    let ups = upgrades(&gateway);
    assert_eq!(ups.len(), 3, "{ups:?}");
    assert_eq!(
        bearer_of(&ups[0]),
        bearer_of(&ups[1]),
        "reconnect first tries the cached token"
    );
    assert_ne!(
        bearer_of(&ups[1]),
        bearer_of(&ups[2]),
        "then a refreshed one"
    );
    assert_eq!(gateway.token_requests().len(), 2);
    bounded(client.close()).await.unwrap();
}

#[tokio::test]
async fn a_second_401_on_the_upgrade_is_a_typed_error() {
    // Every token the server issues is dead on arrival: refreshing cannot help.
    let gateway = oauth_gateway(OAuthConfig::default().token_lifetime(Duration::ZERO)).await;
    let err = bounded(
        Client::builder(gateway.ws_url())
            .transport(TransportKind::WebSocket)
            .authorizer(Arc::new(provider(&gateway)))
            .timeout(LIMIT)
            .connect(),
    )
    .await
    .expect_err("a token that never works must fail the connect");
    assert!(err.is_auth_required(), "{err:?}");
    assert_eq!(err.status(), Some(401));
    assert!(
        err.www_authenticate()
            .iter()
            .any(|c| c.contains("resource_metadata=")),
        "{err:?}"
    );
    assert_eq!(upgrades(&gateway).len(), 2, "exactly one retry");
    assert_eq!(gateway.token_requests().len(), 2);
    assert_eq!(gateway.ws_connections_accepted(), 0);
}

#[tokio::test]
async fn a_static_bearer_is_not_retried() {
    let gateway = oauth_gateway(OAuthConfig::default()).await;
    let err = bounded(
        Client::builder(gateway.ws_url())
            .transport(TransportKind::WebSocket)
            .authorizer(Arc::new(StaticBearer::new("not-a-token").unwrap()))
            .timeout(LIMIT)
            .connect(),
    )
    .await
    .expect_err("an unknown bearer must be refused");
    assert!(err.is_auth_required(), "{err:?}");
    assert_eq!(upgrades(&gateway).len(), 1);
}
