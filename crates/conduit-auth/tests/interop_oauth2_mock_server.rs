//! Interop: client credentials against a third-party authorization server,
//! `oauth2-mock-server` from npm, started by the test on 127.0.0.1. Runs when `CONDUIT_NODE`
//! and `CONDUIT_OAUTH2_MOCK_SERVER` are set (`cargo xtask test` sets them), else skips.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Stdio;
use std::time::Duration;

use bytes::Bytes;
use conduit_auth::{ClientCredentials, ClientCredentialsProvider, TokenError};
use conduit_http::HttpClient;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const CLIENT_ID: &str = "interop-client";
const CLIENT_SECRET: &str = "interop-secret-value";

/// The running mock (killed on drop) and its issuer URL.
async fn start_mock() -> Option<(Child, String)> {
    let (Some(node), Some(package)) = (
        std::env::var_os("CONDUIT_NODE"),
        std::env::var_os("CONDUIT_OAUTH2_MOCK_SERVER"),
    ) else {
        eprintln!(
            "skipping: CONDUIT_NODE / CONDUIT_OAUTH2_MOCK_SERVER not set (run `cargo xtask test`)"
        );
        return None;
    };
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/support/oauth2_mock_server.mjs"
    );
    let mut child = Command::new(node)
        .arg(script)
        .arg(package)
        .arg(CLIENT_ID)
        .arg(CLIENT_SECRET)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node starts");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    tokio::time::timeout(
        Duration::from_secs(30),
        BufReader::new(stdout).read_line(&mut line),
    )
    .await
    .expect("the mock prints its issuer within 30 s")
    .unwrap();
    let issuer = line.trim().trim_end_matches('/').to_owned();
    assert!(issuer.starts_with("http://"), "issuer line: {line:?}");
    Some((child, issuer))
}

async fn get_json(http: &HttpClient, url: &str) -> Value {
    let request = http::Request::get(url).body(Bytes::new()).unwrap();
    let response = http.send_unauthenticated(request).await.unwrap();
    assert!(
        response.status().is_success(),
        "GET {url}: {}",
        response.status()
    );
    let body = response.into_body().collect().await.unwrap();
    serde_json::from_slice(&body).unwrap()
}

/// Verifies `token`'s RS256 signature with the mock's JWKS and returns its claims.
fn verify(token: &str, jwks: &Value, issuer: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).unwrap();
    let kid = header.kid.expect("the token names its key");
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    let jwk = set.find(&kid).expect("the token's key is in the JWKS");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.validate_aud = false;
    validation.set_issuer(&[issuer, &format!("{issuer}/")]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap()
        .claims
}

#[tokio::test]
async fn client_credentials_against_oauth2_mock_server() {
    let Some((_mock, issuer)) = start_mock().await else {
        return;
    };
    let http = HttpClient::with_defaults().unwrap();
    let metadata = get_json(&http, &format!("{issuer}/.well-known/openid-configuration")).await;
    assert!(metadata["grant_types_supported"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g == "client_credentials"));
    let token_endpoint = metadata["token_endpoint"].as_str().unwrap();
    let jwks = get_json(&http, metadata["jwks_uri"].as_str().unwrap()).await;

    for basic in [false, true] {
        let mut config = ClientCredentials::new(CLIENT_ID, CLIENT_SECRET)
            .scope("read write")
            .token_endpoint(token_endpoint)
            .unwrap();
        if basic {
            config = config.basic_auth();
        }
        let provider = ClientCredentialsProvider::new(config, http.clone());
        let token = provider.access_token().await.unwrap();
        assert!(token.token_type.eq_ignore_ascii_case("bearer"));
        assert!(token.expires_in.is_some());
        let claims = verify(token.token.expose(), &jwks, &issuer);
        assert_eq!(claims["scope"], "read write", "basic={basic}: {claims}");
        // Cached: the same token again.
        let again = provider.access_token().await.unwrap();
        assert_eq!(again.token.expose(), token.token.expose());
    }

    let wrong = ClientCredentialsProvider::new(
        ClientCredentials::new(CLIENT_ID, "not-the-secret")
            .token_endpoint(token_endpoint)
            .unwrap(),
        http.clone(),
    );
    let err = wrong.access_token().await.unwrap_err();
    match &err {
        TokenError::Endpoint { status, error, .. } => {
            // The mock answers 401, and the error keeps that status.
            assert_eq!(status.as_u16(), 401, "{err:?}");
            assert_eq!(error.as_deref(), Some("invalid_client"));
        }
        other => panic!("expected an endpoint error, got {other:?}"),
    }
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("not-the-secret"), "{shown}");
}
