//! `--client-id/--client-secret`, stored grants, `auth status` and `auth logout`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Output;

use conduit::auth::{FileGrantStore, Grant, GrantStore, Secret};
use conduit_testkit::{GatewayConfig, OAuthConfig, TestGateway};

async fn conduit(home: &Path, args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let home = home.to_owned();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_conduit"))
            .args(&args)
            .env("CONDUIT_HOME", home)
            .env_remove("CONDUIT_URL")
            .env_remove("CONDUIT_TOKEN")
            .env_remove("CONDUIT_CLIENT_ID")
            .env_remove("CONDUIT_CLIENT_SECRET")
            .output()
            .expect("the binary runs")
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn client_credentials_options_authorize_the_cli() {
    let home = tempfile::tempdir().unwrap();
    let gw = TestGateway::start(GatewayConfig::default().oauth(OAuthConfig::default()))
        .await
        .unwrap();
    let url = gw.url();
    let denied = conduit(home.path(), &["--url", &url, "tools", "list"]).await;
    assert!(!denied.status.success());
    let ok = conduit(
        home.path(),
        &[
            "--url",
            &url,
            "--client-id",
            "test-client",
            "--client-secret",
            "test-secret",
            "tools",
            "list",
        ],
    )
    .await;
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(gw.token_requests().len(), 1);
    let half = conduit(
        home.path(),
        &["--url", &url, "--client-id", "x", "tools", "list"],
    )
    .await;
    assert_eq!(half.status.code(), Some(2));
}

#[tokio::test]
async fn stored_grant_is_reused_and_logout_forgets_it() {
    let home = tempfile::tempdir().unwrap();
    let gw = TestGateway::start(GatewayConfig::default().oauth(OAuthConfig::default()))
        .await
        .unwrap();
    let url = gw.url();
    // Obtain a real token and store it as a login would.
    let provider = conduit::auth::ClientCredentialsProvider::new(
        conduit::auth::ClientCredentials::new("test-client", "test-secret")
            .token_endpoint(&format!("{}/token", gw.base_url()))
            .unwrap(),
        conduit::http::HttpClient::with_defaults().unwrap(),
    );
    let token = provider.access_token().await.unwrap();
    let store = FileGrantStore::new(home.path().join("grants"));
    let mut grant = Grant::from_token(&token, "test-client", format!("{}/token", gw.base_url()));
    grant.access_token = Secret::new(token.token.expose());
    store.save(&url, &grant).unwrap();

    let ok = conduit(home.path(), &["--url", &url, "tools", "list"]).await;
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    let status = conduit(home.path(), &["--url", &url, "--json", "auth", "status"]).await;
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.contains("test-client") && !text.contains(token.token.expose()),
        "{text}"
    );

    let out = conduit(home.path(), &["--url", &url, "auth", "logout"]).await;
    assert!(String::from_utf8_lossy(&out.stdout).contains("removed 1"));
    assert!(store.load(&url).unwrap().is_none());
    let denied = conduit(home.path(), &["--url", &url, "tools", "list"]).await;
    assert!(!denied.status.success());
}

#[tokio::test]
async fn login_stores_a_grant_that_later_commands_reuse_and_refresh() {
    let home = tempfile::tempdir().unwrap();
    // Tokens live an hour but are advertised for 30 s: within the expiry skew, so the next
    // command refreshes the stored grant.
    let gw = TestGateway::start(
        GatewayConfig::default().oauth(OAuthConfig::default().advertise_expires_in(30)),
    )
    .await
    .unwrap();
    let url = gw.url();
    let login = conduit(home.path(), &["--url", &url, "auth", "login", "--headless"]).await;
    assert!(
        login.status.success(),
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );
    let requests = gw.token_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].grant_type, "authorization_code");

    let store = FileGrantStore::new(home.path().join("grants"));
    let path = store.path_for(&url);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for key in [
        "access_token",
        "client_id",
        "token_endpoint",
        "refresh_token",
        "expires_at",
    ] {
        assert!(json.get(key).is_some(), "grant file lacks {key}: {json}");
    }
    assert_eq!(
        json["token_endpoint"],
        format!("{}/token", gw.base_url()),
        "{json}"
    );
    let first_token = json["access_token"].as_str().unwrap().to_owned();

    let ok = conduit(home.path(), &["--url", &url, "tools", "list"]).await;
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let grants: Vec<String> = gw
        .token_requests()
        .iter()
        .map(|r| r.grant_type.clone())
        .collect();
    assert_eq!(grants, ["authorization_code", "refresh_token"]);
    let refreshed = store.load(&url).unwrap().unwrap();
    assert_ne!(refreshed.access_token.expose(), first_token);

    let status = conduit(home.path(), &["--url", &url, "--json", "auth", "status"]).await;
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.contains(&json["client_id"].as_str().unwrap().to_owned())
            && text.contains("\"refreshable\":true")
            && !text.contains(refreshed.access_token.expose())
            && !text.contains(&first_token),
        "{text}"
    );

    let out = conduit(home.path(), &["--url", &url, "auth", "logout"]).await;
    assert!(String::from_utf8_lossy(&out.stdout).contains("removed 1"));
    assert!(!path.exists());
}

#[tokio::test]
async fn login_without_url_is_a_usage_error() {
    let home = tempfile::tempdir().unwrap();
    let out = conduit(home.path(), &["auth", "login", "--headless"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(!home.path().join("grants").exists());
}
