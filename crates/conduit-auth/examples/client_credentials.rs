//! Client credentials against the test gateway's authorization server: one token request
//! serves many calls, and a revoked token is replaced transparently.
//!
//! `cargo run -p conduit-auth --example client_credentials`

use std::sync::Arc;

use bytes::Bytes;
use conduit_auth::{ClientCredentials, ClientCredentialsProvider};
use conduit_http::HttpClient;
use conduit_testkit::{GatewayConfig, OAuthConfig, TestGateway};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let gateway =
        TestGateway::start(GatewayConfig::default().oauth(OAuthConfig::default())).await?;
    let http = HttpClient::with_defaults()?;
    let provider = ClientCredentialsProvider::new(
        ClientCredentials::new("test-client", "test-secret").scope("mcp"),
        http.clone(),
    )
    // DataGrout layout: the token endpoint is derived from the server URL.
    .for_server(&gateway.url())?;
    println!(
        "token endpoint: {:?}",
        provider.token_endpoint().map(|u| u.as_str())
    );
    let authed = http.with_authorizer(Arc::new(provider));
    for i in 0..3 {
        if i == 2 {
            gateway.revoke_tokens();
        }
        let request = http::Request::post(gateway.url())
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(Bytes::from_static(
                br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
            ))?;
        let response = authed.send(request).await?;
        println!("call {i}: HTTP {}", response.status());
    }
    println!("token requests: {}", gateway.token_requests().len());
    gateway.shutdown().await;
    Ok(())
}
