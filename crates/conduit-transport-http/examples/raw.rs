//! Drives the transport by hand: a stateless `server/discover` against the embedded test gateway.
//!
//! `cargo run -p conduit-transport-http --example raw`

use conduit_http::{HttpClient, HttpConfig};
use conduit_protocol::jsonrpc::Request;
use conduit_transport::{Era, RequestContext, Transport};
use conduit_transport_http::{StreamableHttp, StreamableHttpConfig};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let gateway = conduit_testkit::TestGateway::start(Default::default()).await?;
    let http = HttpClient::new(HttpConfig::builder().build()?)?;
    let (tx, _rx) = tokio::sync::mpsc::channel(16);
    let transport = StreamableHttp::new(http, &gateway.url(), StreamableHttpConfig::default(), tx)?;
    let params = json!({"_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "raw-example", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": {}
    }});
    let ctx = RequestContext::new(Era::Stateless).with_protocol_version(Some("2026-07-28".into()));
    let response = transport
        .request(Request::new(1, "server/discover", Some(params)), ctx)
        .await?;
    println!(
        "{}",
        serde_json::to_string_pretty(&response.into_result()?)?
    );
    Ok(())
}
