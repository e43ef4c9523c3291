//! Logs in to an MCP server with the MCP authorization flow (browser + loopback redirect) and
//! prints what was granted (never the tokens).
//!
//! ```text
//! cargo run -p conduit-auth --example oauth_login -- https://mcp.example.com/mcp
//! ```

use conduit_auth::{OAuthAuthorizer, OAuthConfig};
use conduit_http::HttpClient;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: oauth_login <MCP server URL>");
        std::process::exit(2);
    };
    let http = HttpClient::with_defaults()?;
    let authorizer = OAuthAuthorizer::new(
        http,
        &url,
        OAuthConfig::new().client_name("conduit-example"),
    )?;
    let grant = authorizer.login().await?;
    println!(
        "authorized as client {} (scope: {}, refreshable: {}, expires_at: {:?})",
        grant.client_id,
        grant.scope.as_deref().unwrap_or("-"),
        grant.refresh_token.is_some(),
        grant.expires_at
    );
    Ok(())
}
