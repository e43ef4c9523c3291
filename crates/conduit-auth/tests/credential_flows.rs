//! Credential flows against the test gateway's authorization server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use conduit_auth::delegation::{ClientSecretPlacement, TokenType};
use conduit_auth::{
    ClientCredentials, ClientCredentialsProvider, DelegatedProvider, DelegationErrorKind,
    DelegationRequest, TokenError, TokenSource,
};
use conduit_http::{HttpClient, HttpError};
use conduit_testkit::{GatewayConfig, OAuthConfig, TestGateway};

async fn gateway(oauth: OAuthConfig) -> TestGateway {
    TestGateway::start(GatewayConfig::default().oauth(oauth))
        .await
        .unwrap()
}

fn ping() -> Bytes {
    Bytes::from_static(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)
}

/// POSTs a ping to /mcp through `http`; returns the status (an authorized request is never 401).
async fn post_mcp(http: &HttpClient, url: &str) -> Result<http::StatusCode, HttpError> {
    let request = http::Request::post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(ping())
        .unwrap();
    Ok(http.send(request).await?.status())
}

fn cc_http(gw: &TestGateway, config: ClientCredentials) -> (ClientCredentialsProvider, HttpClient) {
    let base = HttpClient::with_defaults().unwrap();
    let provider = ClientCredentialsProvider::new(
        config
            .token_endpoint(&format!("{}/token", gw.base_url()))
            .unwrap(),
        base.clone(),
    );
    let http = base.with_authorizer(Arc::new(provider.clone()));
    (provider, http)
}

#[tokio::test]
async fn fifty_concurrent_calls_share_one_token_request() {
    let gw = gateway(OAuthConfig::default()).await;
    let (_provider, http) = cc_http(&gw, ClientCredentials::new("test-client", "test-secret"));
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let http = http.clone();
        let url = gw.url();
        tasks.push(tokio::spawn(async move { post_mcp(&http, &url).await }));
    }
    for t in tasks {
        let status = t.await.unwrap().unwrap();
        assert_ne!(status, http::StatusCode::UNAUTHORIZED);
    }
    let requests = gw.token_requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].grant_type, "client_credentials");
    // client_secret_post: both in the body, no Authorization header.
    let names: Vec<&str> = requests[0].form.iter().map(|(k, _)| k.as_str()).collect();
    assert!(names.contains(&"client_id") && names.contains(&"client_secret"));
    assert!(requests[0].authorization.is_none());
}

#[tokio::test]
async fn short_lived_token_is_not_refetched_on_every_request() {
    // The reference refetches a token with expires_in ≤ 120 on every request.
    let gw = gateway(OAuthConfig::default().token_lifetime(Duration::from_secs(100))).await;
    let (_p, http) = cc_http(&gw, ClientCredentials::new("test-client", "test-secret"));
    for _ in 0..5 {
        assert_ne!(post_mcp(&http, &gw.url()).await.unwrap(), 401);
    }
    assert_eq!(gw.token_requests().len(), 1);
}

#[tokio::test]
async fn expired_token_is_refreshed_before_use() {
    // Announced lifetime 2 s: with the margin clamped to half, the token is replaced after 1 s.
    let gw = gateway(OAuthConfig::default().advertise_expires_in(2)).await;
    let (provider, _http) = cc_http(&gw, ClientCredentials::new("test-client", "test-secret"));
    let first = provider.access_token().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = provider.access_token().await.unwrap();
    assert_ne!(first.token, second.token);
    assert_eq!(gw.token_requests().len(), 2);
}

#[tokio::test]
async fn rejected_token_is_invalidated_and_the_call_retried_once() {
    let gw = gateway(OAuthConfig::default()).await;
    let (_p, http) = cc_http(&gw, ClientCredentials::new("test-client", "test-secret"));
    assert_ne!(post_mcp(&http, &gw.url()).await.unwrap(), 401);
    gw.revoke_tokens();
    assert_ne!(post_mcp(&http, &gw.url()).await.unwrap(), 401);
    assert_eq!(gw.token_requests().len(), 2);
}

#[tokio::test]
async fn a_second_401_is_a_typed_error_with_the_challenge() {
    let gw = gateway(OAuthConfig::default().token_lifetime(Duration::ZERO)).await;
    let (_p, http) = cc_http(&gw, ClientCredentials::new("test-client", "test-secret"));
    match post_mcp(&http, &gw.url()).await {
        Err(HttpError::Unauthorized {
            status,
            www_authenticate,
            ..
        }) => {
            assert_eq!(status, 401);
            assert!(
                www_authenticate[0].contains("resource_metadata="),
                "{www_authenticate:?}"
            );
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    assert_eq!(gw.token_requests().len(), 2);
}

#[tokio::test]
async fn basic_auth_and_datagrout_endpoint_derivation() {
    let gw = gateway(OAuthConfig::default()).await;
    let provider = ClientCredentialsProvider::new(
        ClientCredentials::new("test-client", "test-secret")
            .basic_auth()
            .scope("mcp tools"),
        HttpClient::with_defaults().unwrap(),
    )
    .for_server(&format!("{}/servers/abc-123/mcp", gw.base_url()))
    .unwrap();
    let token = provider.access_token().await.unwrap();
    assert_eq!(token.scope.as_deref(), Some("mcp tools"));
    let r = &gw.token_requests()[0];
    assert_eq!(r.path, "/servers/abc-123/oauth/token");
    assert!(r.authorization.as_deref().unwrap().starts_with("Basic "));
    assert!(!r.form.iter().any(|(k, _)| k == "client_secret"));
}

#[tokio::test]
async fn wrong_secret_is_a_typed_endpoint_error() {
    let gw = gateway(OAuthConfig::default()).await;
    let (provider, _) = cc_http(&gw, ClientCredentials::new("test-client", "nope"));
    match provider.access_token().await {
        Err(TokenError::Endpoint { error, .. }) => {
            assert_eq!(error.as_deref(), Some("invalid_client"))
        }
        other => panic!("{other:?}"),
    }
    // The message never carries the secret.
    let err = provider.access_token().await.unwrap_err();
    assert!(!format!("{err} {err:?}").contains("nope"));
}

fn delegation_request(gw: &TestGateway) -> DelegationRequest {
    let mut r = DelegationRequest::new(&format!("{}/token", gw.base_url()), "test-client").unwrap();
    r.client_secret = Some("test-secret".into());
    r.audience = Some("downstream".into());
    r.scope = Some("tools".into());
    r
}

#[tokio::test]
async fn delegation_sends_the_reference_form_and_authorizes() {
    let gw = gateway(OAuthConfig::default()).await;
    let http = HttpClient::with_defaults().unwrap();
    let subject = Arc::new(ClientCredentialsProvider::new(
        ClientCredentials::new("test-client", "test-secret")
            .token_endpoint(&format!("{}/token", gw.base_url()))
            .unwrap(),
        http.clone(),
    ));
    let actor: Arc<dyn TokenSource> = Arc::new(conduit_auth::StaticToken::new("external-actor"));
    let provider =
        DelegatedProvider::new(delegation_request(&gw), subject, Some(actor), http.clone());
    let authed = http.with_authorizer(Arc::new(provider.clone()));
    assert_ne!(post_mcp(&authed, &gw.url()).await.unwrap(), 401);
    assert_ne!(post_mcp(&authed, &gw.url()).await.unwrap(), 401);
    let log = gw.token_requests();
    assert_eq!(
        log.len(),
        2,
        "one subject token + one exchange (then cached)"
    );
    let names: Vec<&str> = log[1].form.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "grant_type",
            "subject_token",
            "subject_token_type",
            "actor_token",
            "actor_token_type",
            "client_id",
            "client_secret",
            "audience",
            "scope"
        ]
    );
    assert_eq!(
        log[1].form[0].1,
        "urn:ietf:params:oauth:grant-type:token-exchange"
    );
    let token = provider.delegated_token().await.unwrap();
    assert_eq!(token.issued_token_type, TokenType::AccessToken.urn());
    let json = serde_json::to_value(&token).unwrap();
    assert!(json.get("scope").is_some() && json.get("expires_at").is_some());
}

#[tokio::test]
async fn delegation_errors_have_the_reference_kinds() {
    let gw = gateway(OAuthConfig::default()).await;
    let http = HttpClient::with_defaults().unwrap();
    let mut request = delegation_request(&gw);
    // Missing actor: refused before any network call.
    let err = request
        .exchange(&http, &"external-x".into(), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind, DelegationErrorKind::MissingActor);
    assert!(gw.token_requests().is_empty());
    // Server error: an unknown subject is invalid_grant.
    request.impersonation = true;
    request.placement = ClientSecretPlacement::Basic;
    let err = request
        .exchange(&http, &"bogus".into(), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind, DelegationErrorKind::Server);
    assert_eq!(err.error.as_deref(), Some("invalid_grant"));
    let r = &gw.token_requests()[0];
    assert!(r.authorization.as_deref().unwrap().starts_with("Basic "));
    assert!(!r.form.iter().any(|(k, _)| k == "client_secret"));
    // Invalid response: a non-token JSON.
    let mut bad = delegation_request(&gw);
    bad.token_endpoint = url::Url::parse(&format!(
        "{}/.well-known/oauth-authorization-server",
        gw.base_url()
    ))
    .unwrap();
    bad.impersonation = true;
    let err = bad
        .exchange(&http, &"external-x".into(), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind, DelegationErrorKind::InvalidResponse);
}
