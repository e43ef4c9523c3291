//! The grant store: cross-SDK JSON, permissions, atomic concurrent updates, refresh rotation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use bytes::Bytes;
use conduit_auth::store::{read_grant_file, refresh_grant, write_grant_file};
use conduit_auth::{FileGrantStore, Grant, GrantStore, Secret};
use conduit_http::HttpClient;
use conduit_testkit::{GatewayConfig, OAuthConfig, TestGateway};

const PYTHON_GRANT: &str = r#"{"access_token": "at-1", "client_id": "cid", "token_endpoint": "https://gw.example/servers/u/oauth/token", "refresh_token": "rt-1", "expires_at": 1893456000, "scope": "mcp tools", "resource": "https://gw.example/servers/u/mcp"}"#;

#[test]
fn a_python_grant_loads_and_writes_back_identically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grant.json");
    std::fs::write(&path, PYTHON_GRANT).unwrap();
    let grant = read_grant_file(&path).unwrap().unwrap();
    assert_eq!(grant.access_token.expose(), "at-1");
    assert_eq!(grant.expires_at, Some(1_893_456_000));
    write_grant_file(&path, &grant).unwrap();
    let ours: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let theirs: serde_json::Value = serde_json::from_str(PYTHON_GRANT).unwrap();
    assert_eq!(ours, theirs);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[test]
fn optional_fields_are_omitted_not_null() {
    let grant = Grant {
        access_token: Secret::new("a"),
        client_id: "c".into(),
        token_endpoint: "t".into(),
        refresh_token: None,
        expires_at: None,
        scope: None,
        resource: None,
    };
    assert_eq!(
        grant.to_json(),
        r#"{"access_token":"a","client_id":"c","token_endpoint":"t"}"#
    );
}

#[test]
fn concurrent_writers_never_corrupt_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let key = "https://gw.example/servers/u/mcp";
    let seed = Grant::from_json(PYTHON_GRANT).unwrap();
    FileGrantStore::new(dir.path()).save(key, &seed).unwrap();
    let mut threads = Vec::new();
    for _ in 0..8 {
        let dir = dir.path().to_owned();
        threads.push(std::thread::spawn(move || {
            let store = FileGrantStore::new(dir);
            for _ in 0..25 {
                store
                    .update(key, &mut |g| {
                        let mut g = g.expect("grant present");
                        let n: u64 = g.client_id.trim_start_matches("cid").parse().unwrap_or(0);
                        g.client_id = format!("cid{}", n + 1);
                        Some(g)
                    })
                    .unwrap();
                // Readers take no lock and always see a complete grant.
                assert!(store.load(key).unwrap().is_some());
            }
        }));
    }
    for t in threads {
        t.join().unwrap();
    }
    let store = FileGrantStore::new(dir.path());
    assert_eq!(store.load(key).unwrap().unwrap().client_id, "cid200");
    assert_eq!(store.keys().unwrap(), [key]);
    // No temp or lock files are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp") || n.ends_with(".lock"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert!(store.remove(key).unwrap());
    assert!(store.load(key).unwrap().is_none());
}

#[test]
fn a_corrupt_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.json");
    std::fs::write(&path, "{not json").unwrap();
    let err = read_grant_file(&path).unwrap_err();
    assert!(err.to_string().contains("not a valid grant file"), "{err}");
}

/// Runs an authorization-code exchange by hand against the test AS, for a refreshable grant.
async fn code_grant(gw: &TestGateway, http: &HttpClient) -> Grant {
    use base64::Engine as _;
    use sha2::Digest as _;
    let verifier = "v".repeat(43);
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let redirect = "http://127.0.0.1:1/callback";
    let authorize = format!(
        "{}/authorize?response_type=code&client_id=test-client&redirect_uri={}&state=s&code_challenge={challenge}&code_challenge_method=S256",
        gw.base_url(),
        url::form_urlencoded::byte_serialize(redirect.as_bytes()).collect::<String>()
    );
    let resp = http
        .send_unauthenticated(http::Request::get(authorize).body(Bytes::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", &code)
        .append_pair("redirect_uri", redirect)
        .append_pair("client_id", "test-client")
        .append_pair("client_secret", "test-secret")
        .append_pair("code_verifier", &verifier)
        .finish();
    let resp = http
        .send_unauthenticated(
            http::Request::post(format!("{}/token", gw.base_url()))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Bytes::from(body))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let json: serde_json::Value =
        serde_json::from_slice(&resp.into_body().collect().await.unwrap()).unwrap();
    Grant {
        access_token: Secret::new(json["access_token"].as_str().unwrap()),
        client_id: "test-client".into(),
        token_endpoint: format!("{}/token", gw.base_url()),
        refresh_token: Some(Secret::new(json["refresh_token"].as_str().unwrap())),
        expires_at: Some(1),
        scope: None,
        resource: None,
    }
}

#[tokio::test]
async fn refresh_rotates_and_the_old_refresh_token_is_dead() {
    let gw = TestGateway::start(
        GatewayConfig::default().oauth(OAuthConfig::default().client("test-client", None)),
    )
    .await
    .unwrap();
    let http = HttpClient::with_defaults().unwrap();
    let grant = code_grant(&gw, &http).await;
    let refreshed = refresh_grant(&http, &grant).await.unwrap();
    assert_ne!(refreshed.refresh_token, grant.refresh_token);
    assert_ne!(refreshed.access_token, grant.access_token);
    assert!(!refreshed.is_expired());
    // The rotated-out token is refused.
    assert!(refresh_grant(&http, &grant).await.is_err());
    assert!(refresh_grant(&http, &refreshed).await.is_ok());
}

#[tokio::test]
async fn refresh_without_rotation_keeps_the_old_refresh_token() {
    let gw = TestGateway::start(
        GatewayConfig::default().oauth(
            OAuthConfig::default()
                .rotate_refresh_tokens(false)
                .client("test-client", None),
        ),
    )
    .await
    .unwrap();
    let http = HttpClient::with_defaults().unwrap();
    let grant = code_grant(&gw, &http).await;
    let refreshed = refresh_grant(&http, &grant).await.unwrap();
    assert_eq!(refreshed.refresh_token, grant.refresh_token);
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FileGrantStore::new(dir.path()));
    store.save("k", &refreshed).unwrap();
    assert_eq!(store.load("k").unwrap().unwrap(), refreshed);
}
