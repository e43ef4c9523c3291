//! Subscribes to a topic over WebSocket, survives a dropped connection, and makes a call.
//!
//! `cargo run -p conduit-transport-ws --example topics`

use conduit_http::{HttpClient, HttpConfig};
use conduit_protocol::jsonrpc::Request;
use conduit_transport::{Era, RequestContext, Transport};
use conduit_transport_ws::{WebSocket, WsConfig};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let gateway = conduit_testkit::TestGateway::start(Default::default()).await?;
    let http = HttpClient::new(HttpConfig::builder().build()?)?;
    let ws = WebSocket::connect(http, &gateway.ws_url(), WsConfig::default(), None).await?;

    let mut events = ws.subscribe("tasks.42.*").await?;
    gateway.publish("tasks.42.started", "started", json!({"step": 1}));
    println!("{:?}", events.recv().await);

    gateway.drop_ws_connections();
    println!("{:?}", events.recv().await); // Reconnected { attempt: 1 }
    while gateway.ws_subscriptions().is_empty() {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    gateway.publish("tasks.42.done", "done", json!(null));
    println!("{:?}", events.recv().await);

    let response = ws
        .request(
            Request::new(
                1,
                "tools/call",
                Some(json!({"name": "echo", "arguments": {"message": "hi"}})),
            ),
            RequestContext::new(Era::Stateful),
        )
        .await?;
    println!("{}", serde_json::to_string(&response.into_result()?)?);
    ws.close().await?;
    gateway.shutdown().await;
    Ok(())
}
