//! Connects to an MCP server, lists its tools and calls one.
//!
//! `cargo run -p conduit --example quickstart -- [URL]` — without a URL it starts the embedded
//! test gateway and talks to that.

use conduit::Client;
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut _gateway = None;
    let url = match std::env::args().nth(1) {
        Some(url) => url,
        None => {
            let gw = conduit_testkit::TestGateway::start(Default::default()).await?;
            let url = gw.url();
            _gateway = Some(gw);
            url
        }
    };
    let client = Client::builder(&url).connect().await?;
    println!(
        "connected to {url} ({:?} era, protocol {:?})",
        client.era(),
        client.protocol_version()
    );
    for tool in client.list_tools().await? {
        println!("tool: {}", tool.name);
    }
    match client.call_tool("add", json!({"a": 2, "b": 3})).await {
        Ok(result) => println!("add(2, 3) -> {:?}", result.structured_content),
        Err(e) => println!("add failed: {e}"),
    }
    client.close().await?;
    Ok(())
}
