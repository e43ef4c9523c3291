//! The `auth` feature of the facade: client credentials take precedence over a bearer token.
#![cfg(feature = "auth")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use conduit::Client;
use conduit_testkit::{GatewayConfig, OAuthConfig, TestGateway};

#[tokio::test]
async fn client_credentials_win_over_bearer_and_derive_the_endpoint() {
    let gw = TestGateway::start(GatewayConfig::default().oauth(OAuthConfig::default()))
        .await
        .unwrap();
    let client = Client::builder(gw.url())
        .bearer("not-a-valid-token")
        .client_credentials("test-client", "test-secret")
        .oauth_scope("mcp")
        .connect()
        .await
        .unwrap();
    assert!(!client.list_tools().await.unwrap().is_empty());
    client.close().await.unwrap();
    let log = gw.token_requests();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].path, "/oauth/token");
    assert!(log[0].form.contains(&("scope".into(), "mcp".into())));
}

#[tokio::test]
async fn without_credentials_a_protected_gateway_is_a_typed_error() {
    let gw = TestGateway::start(GatewayConfig::default().oauth(OAuthConfig::default()))
        .await
        .unwrap();
    let err = Client::builder(gw.url()).connect().await.unwrap_err();
    assert!(
        err.to_string().to_lowercase().contains("401") || err.to_string().contains("credentials"),
        "{err}"
    );
}
