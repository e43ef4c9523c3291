//! Drives the legacy HTTP+SSE transport (MCP 2024-11-05) by hand against the embedded test
//! gateway's `GET /sse` endpoint: `initialize`, `notifications/initialized`, `tools/list`.
//!
//! `cargo run -p conduit-transport-http --example legacy_sse`

use conduit_http::HttpClient;
use conduit_protocol::jsonrpc::{Notification, Request};
use conduit_transport::{Era, RequestContext, Transport};
use conduit_transport_http::legacy::{LegacySse, LegacySseConfig};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let gateway = conduit_testkit::TestGateway::start(
        conduit_testkit::GatewayConfig::default()
            .legacy_sse(conduit_testkit::LegacyEndpoint::enabled()),
    )
    .await?;
    let sse_url = format!("{}/sse", gateway.base_url().trim_end_matches('/'));
    let (tx, _rx) = tokio::sync::mpsc::channel(16);
    let transport = LegacySse::connect(
        HttpClient::with_defaults()?,
        &sse_url,
        LegacySseConfig::default(),
        tx,
    )
    .await?;
    println!("posting to {}", transport.endpoint().unwrap_or_default());
    let ctx = || RequestContext::new(Era::Stateful);
    let init = transport
        .request(
            Request::new(
                1,
                "initialize",
                Some(json!({
                    "protocolVersion": "2024-11-05",
                    "capabilities": {},
                    "clientInfo": {"name": "legacy-example", "version": "0"}
                })),
            ),
            ctx(),
        )
        .await?
        .into_result()?;
    println!("negotiated {}", init["protocolVersion"]);
    transport
        .notify(Notification::new("notifications/initialized", None), ctx())
        .await?;
    let tools = transport
        .request(Request::new(2, "tools/list", Some(json!({}))), ctx())
        .await?
        .into_result()?;
    for tool in tools["tools"].as_array().into_iter().flatten() {
        println!("{}", tool["name"]);
    }
    transport.close().await?;
    Ok(())
}
