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
