//! mTLS against the test gateway's HTTPS listener: success, rejections, bootstrap, rotation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use conduit::http::{HttpConfig, StaticClientCertificate};
use conduit::identity::{ConduitIdentity, IdentityError, MapEnvironment};
use conduit::{Client, Error};
use conduit_testkit::{GatewayConfig, TestCa, TestGateway};
use serde_json::json;

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

fn isolated() -> Arc<MapEnvironment> {
    Arc::new(MapEnvironment::new())
}

fn trusting(ca: &TestCa) -> HttpConfig {
    HttpConfig::builder()
        .add_root_certificates_pem(ca.ca_pem())
        .build()
        .unwrap()
}

#[tokio::test]
async fn mtls_session_presents_the_identity() {
    let (gateway, ca) = mtls_gateway().await;
    let identity = issued_identity(&ca, "agent-a");
    let client = Client::builder(gateway.https_url().unwrap())
        .identity(identity.clone())
        .identity_environment(isolated())
        .connect()
        .await
        .unwrap();
    let tools = client.list_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "echo"));
    let seen = ca.mtls_requests();
    assert!(!seen.is_empty());
    assert!(seen
        .iter()
        .all(|r| r.client_fingerprint == identity.fingerprint()));
    assert_eq!(
        client.identity().unwrap().fingerprint(),
        identity.fingerprint()
    );
    client.close().await.unwrap();
}

async fn expect_rejected(gateway: &TestGateway, builder: conduit::ClientBuilder) -> Error {
    let err = builder
        .connect()
        .await
        .expect_err("the mTLS listener must refuse");
    assert!(
        gateway.requests().iter().all(|r| r.path != "/mcp"),
        "no request may reach /mcp"
    );
    err
}

#[tokio::test]
async fn no_client_certificate_is_refused() {
    let (gateway, ca) = mtls_gateway().await;
    let builder = Client::builder(gateway.https_url().unwrap())
        .identity_environment(isolated())
        .http_config(trusting(&ca))
        .timeout(Duration::from_secs(10));
    // TLS 1.3 refuses after the client's handshake: the error is the server's alert or a
    // closed connection, depending on timing. What is certain: a transport error, no request.
    let err = expect_rejected(&gateway, builder).await;
    assert!(matches!(err, Error::Transport(_)), "{err}");
}

#[tokio::test]
async fn certificate_from_another_ca_is_refused() {
    let (gateway, ca) = mtls_gateway().await;
    let stranger = TestCa::named("Some Other CA").unwrap();
    let foreign = issued_identity(&stranger, "intruder")
        .with_ca_pem(&ca.ca_pem())
        .unwrap();
    let builder = Client::builder(gateway.https_url().unwrap())
        .identity(foreign)
        .timeout(Duration::from_secs(10));
    let err = expect_rejected(&gateway, builder).await;
    assert!(matches!(err, Error::Transport(_)), "{err}");
    assert!(ca.mtls_requests().is_empty());
}

#[tokio::test]
async fn expired_certificate_is_refused_by_loader_and_by_server() {
    let (gateway, ca) = mtls_gateway().await;
    let now = SystemTime::now();
    let (cert, key) = ca
        .issue_client_cert(
            "old",
            now - Duration::from_secs(3 * 86_400),
            now - Duration::from_secs(86_400),
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("identity.pem"), &cert).unwrap();
    std::fs::write(dir.path().join("identity_key.pem"), &key).unwrap();
    match ConduitIdentity::from_dir(dir.path()) {
        Err(IdentityError::Expired { origin, .. }) => {
            assert!(origin.ends_with("identity.pem"), "{origin}")
        }
        other => panic!("expected Expired, got {other:?}"),
    }
    // Through discovery in the facade: a clear error, not a silent fallback.
    let err = Client::builder(gateway.https_url().unwrap())
        .identity_dir(dir.path())
        .identity_environment(isolated())
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Identity(IdentityError::Expired { .. })),
        "{err}"
    );
    // Presented anyway (bypassing the loader), the server refuses it.
    let raw = StaticClientCertificate::from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
    let config = HttpConfig::builder()
        .add_root_certificates_pem(ca.ca_pem())
        .client_certificate(Arc::new(raw))
        .build()
        .unwrap();
    let builder = Client::builder(gateway.https_url().unwrap())
        .identity_environment(isolated())
        .http_config(config);
    expect_rejected(&gateway, builder).await;
}

#[tokio::test]
async fn mismatched_key_is_a_clear_error() {
    let (_gateway, ca) = mtls_gateway().await;
    let now = SystemTime::now();
    let (cert, _) = ca
        .issue_client_cert("a", now, now + Duration::from_secs(3600))
        .unwrap();
    let (_, other_key) = ca
        .issue_client_cert("b", now, now + Duration::from_secs(3600))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("identity.pem"), &cert).unwrap();
    std::fs::write(dir.path().join("identity_key.pem"), &other_key).unwrap();
    let err = ConduitIdentity::from_dir(dir.path()).unwrap_err();
    assert!(matches!(err, IdentityError::KeyMismatch { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("identity_key.pem") && text.contains("identity.pem"),
        "{text}"
    );
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn bootstrap_with_token_then_mtls_only() {
    let (gateway, ca) = mtls_gateway().await;
    ca.accept_token("registration-token");
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("agent").join(".conduit");
    let client = Client::builder(gateway.https_url().unwrap())
        .identity_environment(isolated())
        .identity_dir(&dir)
        .identity_endpoint(gateway.identity_endpoint())
        .bootstrap_identity("registration-token", "laptop-1")
        .await
        .unwrap();
    let result = client
        .call_tool("add", json!({"a": 2, "b": 3}))
        .await
        .unwrap();
    assert!(serde_json::to_string(&result).unwrap().contains('5'));

    let identity = client.identity().unwrap();
    assert_eq!(identity.common_name(), Some("laptop-1"));
    let issued = ca.issued();
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0].kind, "register");
    assert_eq!(issued[0].fingerprint, identity.fingerprint());
    // The MCP calls went over mTLS, with the new certificate and no bearer.
    let mcp: Vec<_> = ca
        .mtls_requests()
        .into_iter()
        .filter(|r| r.path == "/mcp")
        .collect();
    assert!(!mcp.is_empty());
    assert!(mcp
        .iter()
        .all(|r| r.client_fingerprint == identity.fingerprint()));
    assert!(gateway
        .requests()
        .iter()
        .filter(|r| r.path == "/mcp")
        .all(|r| r.header("authorization").is_none()));
    // Saved in the reference layout, privately.
    for file in ["identity.pem", "identity_key.pem", "ca.pem"] {
        assert!(dir.join(file).is_file(), "{file}");
    }
    #[cfg(unix)]
    {
        assert_eq!(mode(&dir.join("identity_key.pem")), 0o600);
        assert_eq!(mode(&dir), 0o700);
    }
    let reloaded = ConduitIdentity::from_dir(&dir).unwrap();
    assert_eq!(reloaded.fingerprint(), identity.fingerprint());
    client.close().await.unwrap();

    // A second bootstrap reuses the saved identity instead of registering again.
    let again = Client::builder(gateway.https_url().unwrap())
        .identity_environment(isolated())
        .identity_dir(&dir)
        .identity_endpoint(gateway.identity_endpoint())
        .bootstrap_identity("registration-token", "laptop-1")
        .await
        .unwrap();
    again.ping().await.unwrap();
    assert_eq!(ca.issued().len(), 1);
}

#[tokio::test]
async fn bootstrap_with_oauth_client_credentials() {
    let (gateway, ca) = mtls_gateway().await;
    ca.client_credentials("agent-client", "agent-secret");
    ca.include_ca_in_responses(false); // exercises the CA-URL fallback
    let dir = tempfile::tempdir().unwrap();
    let client = Client::builder(gateway.https_url().unwrap())
        .identity_environment(isolated())
        .identity_dir(dir.path())
        .identity_endpoint(gateway.identity_endpoint())
        .identity_ca_url(Some(format!("{}/ca.pem", gateway.base_url())))
        .token_endpoint(format!("{}/oauth/token", gateway.base_url()))
        .bootstrap_identity_oauth("agent-client", "agent-secret", "worker-7")
        .await
        .unwrap();
    client.ping().await.unwrap();
    assert_eq!(client.identity().unwrap().common_name(), Some("worker-7"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("ca.pem")).unwrap(),
        ca.ca_pem()
    );
    let token_calls = gateway
        .requests()
        .into_iter()
        .filter(|r| r.path == "/oauth/token")
        .count();
    assert_eq!(token_calls, 1);
}

#[tokio::test]
async fn bad_oauth_secret_is_a_clear_error() {
    let (gateway, ca) = mtls_gateway().await;
    ca.client_credentials("agent-client", "agent-secret");
    let dir = tempfile::tempdir().unwrap();
    let err = Client::builder(gateway.https_url().unwrap())
        .identity_environment(isolated())
        .identity_dir(dir.path())
        .token_endpoint(format!("{}/oauth/token", gateway.base_url()))
        .bootstrap_identity_oauth("agent-client", "wrong", "w")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Auth(_)), "{err}");
    assert!(err.to_string().contains("invalid_client"), "{err}");
    assert!(!err.to_string().contains("wrong"));
    assert!(!dir.path().join("identity_key.pem").exists());
}

#[tokio::test]
async fn onramp_then_bootstrap() {
    let (gateway, ca) = mtls_gateway().await;
    ca.onramp_access_code("letmein");
    let dir = tempfile::tempdir().unwrap();
    let request =
        conduit::identity::onramp::OnrampRequest::new("onramp-agent").access_code("letmein");
    let client = Client::builder(String::new())
        .identity_environment(isolated())
        .identity_dir(dir.path())
        .identity_endpoint(gateway.identity_endpoint())
        .bootstrap_onramp(&gateway.base_url(), request)
        .await
        .unwrap();
    client.ping().await.unwrap();
    assert_eq!(
        client.identity().unwrap().common_name(),
        Some("onramp-agent")
    );
    assert!(ca.mtls_requests().iter().any(|r| r.path == "/mcp"));
}

#[tokio::test]
async fn rotation_near_expiry_at_connect() {
    let (gateway, ca) = mtls_gateway().await;
    ca.accept_token("t");
    ca.set_cert_lifetime(Duration::from_secs(2 * 3600));
    let dir = tempfile::tempdir().unwrap();
    let client = Client::builder(gateway.https_url().unwrap())
        .identity_environment(isolated())
        .identity_dir(dir.path())
        .identity_endpoint(gateway.identity_endpoint())
        .rotation_endpoint(gateway.https_identity_endpoint().unwrap())
        .rotation_margin(Duration::from_secs(86_400))
        .bootstrap_identity("t", "short-lived")
        .await
        .unwrap();
    client.ping().await.unwrap();
    let issued = ca.issued();
    assert_eq!(issued.len(), 2, "{issued:?}");
    assert_eq!(issued[1].kind, "rotate");
    assert_eq!(
        issued[1].presented.as_deref(),
        Some(issued[0].fingerprint.as_str())
    );
    let current = client.identity().unwrap();
    assert_eq!(current.fingerprint(), issued[1].fingerprint);
    assert_eq!(
        ConduitIdentity::from_dir(dir.path()).unwrap().fingerprint(),
        issued[1].fingerprint
    );
    #[cfg(unix)]
    assert_eq!(mode(&dir.path().join("identity_key.pem")), 0o600);
}

#[tokio::test]
async fn rotation_does_not_disturb_calls_in_flight() {
    let (gateway, ca) = mtls_gateway().await;
    let dir = tempfile::tempdir().unwrap();
    conduit::identity::save_identity(&issued_identity(&ca, "busy"), dir.path()).unwrap();
    let client = Client::builder(gateway.https_url().unwrap())
        .identity_environment(isolated())
        .identity_dir(dir.path())
        .rotation_endpoint(gateway.https_identity_endpoint().unwrap())
        .connect()
        .await
        .unwrap();
    let before = client.identity().unwrap();
    let slow = {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .call_tool("slow", json!({"steps": 10, "delay_ms": 50}))
                .await
        })
    };
    // Wait until the call has reached the server, then rotate under it.
    for _ in 0..200 {
        if !gateway.requests_for("tools/call").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let renewed = client.rotate_identity().await.unwrap();
    assert_ne!(renewed.fingerprint(), before.fingerprint());
    slow.await.unwrap().unwrap();
    // Later calls still work, and the rotated identity is current and saved.
    client
        .call_tool("echo", json!({"message": "after"}))
        .await
        .unwrap();
    assert_eq!(
        client.identity().unwrap().fingerprint(),
        renewed.fingerprint()
    );
    assert_eq!(
        ConduitIdentity::from_dir(dir.path()).unwrap().fingerprint(),
        renewed.fingerprint()
    );
    let rotation = ca.issued().pop().unwrap();
    assert_eq!(rotation.presented.as_deref(), Some(before.fingerprint()));
}

#[tokio::test]
async fn disable_mtls_really_disables() {
    let (gateway, ca) = mtls_gateway().await;
    let builder = Client::builder(gateway.https_url().unwrap())
        .identity(issued_identity(&ca, "off"))
        .disable_mtls(true)
        .http_config(trusting(&ca));
    expect_rejected(&gateway, builder).await;
}

#[tokio::test]
async fn datagrout_urls_discover_silently_others_do_not() {
    // A broken identity in ~/.conduit: an error with identity_auto, ignored otherwise.
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join(".conduit");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("identity.pem"), "not a cert").unwrap();
    let env = Arc::new(MapEnvironment::new().home(home.path()));
    let (gateway, _ca) = mtls_gateway().await;
    let err = Client::builder(gateway.url())
        .identity_environment(env.clone())
        .identity_auto(true)
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Identity(IdentityError::Incomplete { .. })),
        "{err}"
    );
    // Without identity_auto, a non-DataGrout URL does not look at all.
    let client = Client::builder(gateway.url())
        .identity_environment(env)
        .connect()
        .await
        .unwrap();
    assert!(client.identity().is_none());
}
