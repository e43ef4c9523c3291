//! Token endpoint failures keep the real HTTP status (the `oauth2` crate's error type drops it):
//! client credentials against a scripted token endpoint.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use conduit_auth::{ClientCredentials, ClientCredentialsProvider, TokenError};
use conduit_http::HttpClient;
use conduit_testkit::fault_server::{FaultServer, Step};

/// A client-credentials token request answered with `status`, `content_type` and `body`.
async fn refused(status: u16, content_type: &'static str, body: &'static str) -> TokenError {
    let server = FaultServer::start(move |_| {
        vec![Step::status(
            status,
            &[("content-type", content_type)],
            body,
        )]
    })
    .await
    .unwrap();
    let endpoint = server.url().replace("/mcp", "/oauth/token");
    let provider = ClientCredentialsProvider::new(
        ClientCredentials::new("client-1", "s3cret-value")
            .token_endpoint(&endpoint)
            .unwrap(),
        HttpClient::with_defaults().unwrap(),
    );
    let err = provider.access_token().await.unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("s3cret-value"), "{shown}");
    assert_eq!(server.requests().len(), 1, "one token request, no retry");
    err
}

#[tokio::test]
async fn an_oauth_error_keeps_its_status() {
    for (status, code) in [
        (401, "invalid_client"),
        (400, "invalid_scope"),
        (500, "server_error"),
    ] {
        let body: &'static str = match code {
            "invalid_client" => {
                r#"{"error":"invalid_client","error_description":"unknown client"}"#
            }
            "invalid_scope" => r#"{"error":"invalid_scope"}"#,
            _ => r#"{"error":"server_error","error_description":"try later"}"#,
        };
        match refused(status, "application/json", body).await {
            TokenError::Endpoint {
                status: got,
                error,
                error_description,
                ..
            } => {
                assert_eq!(got.as_u16(), status);
                assert_eq!(error.as_deref(), Some(code));
                if code == "invalid_client" {
                    assert_eq!(error_description.as_deref(), Some("unknown client"));
                }
            }
            other => panic!("expected an endpoint error for {status}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_non_json_error_body_keeps_its_status_and_an_excerpt() {
    let err = refused(
        500,
        "text/html",
        "<html><h1>Bad gateway upstream</h1></html>",
    )
    .await;
    match &err {
        TokenError::Endpoint {
            status,
            error,
            body_excerpt,
            ..
        } => {
            assert_eq!(status.as_u16(), 500);
            assert_eq!(error, &None);
            assert!(
                body_excerpt.contains("Bad gateway upstream"),
                "{body_excerpt}"
            );
        }
        other => panic!("expected an endpoint error, got {other:?}"),
    }
    assert!(err.to_string().contains("500"), "{err}");

    match refused(401, "text/plain", "").await {
        TokenError::Endpoint { status, error, .. } => {
            assert_eq!(status.as_u16(), 401);
            assert_eq!(error, None);
        }
        other => panic!("expected an endpoint error, got {other:?}"),
    }
}
