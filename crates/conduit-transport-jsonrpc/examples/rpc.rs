//! Drives the JSON-RPC transport by hand against the embedded test gateway's `/rpc`.
//!
//! `cargo run -p conduit-transport-jsonrpc --example rpc`

use conduit_http::{HttpClient, HttpConfig};
use conduit_protocol::jsonrpc::Request;
use conduit_transport::{Era, RequestContext, Transport};
use conduit_transport_jsonrpc::JsonRpcHttp;
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let gateway = conduit_testkit::TestGateway::start(Default::default()).await?;
    let http = HttpClient::new(HttpConfig::builder().build()?)?;
    let transport = JsonRpcHttp::new(http, &gateway.rpc_url(), Default::default())?;
    println!("posting to {}", transport.endpoint());
    let request = Request::new(
        1,
        "tools/call",
        Some(json!({"name": "add", "arguments": {"a": 2, "b": 3}})),
    );
    let response = transport
        .request(request, RequestContext::new(Era::Stateful))
        .await?;
    println!(
        "{}",
        serde_json::to_string_pretty(&response.into_result()?)?
    );
    transport.close().await?;
    gateway.shutdown().await;
    Ok(())
}
