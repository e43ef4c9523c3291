//! Spawns an MCP server over stdio and lists its tools with raw JSON-RPC through the transport.
//!
//! ```text
//! cargo build -p conduit-transport-stdio --examples
//! cargo run -p conduit-transport-stdio --example raw_stdio                 # the bundled echo_server
//! cargo run -p conduit-transport-stdio --example raw_stdio -- "node server.js --stdio"
//! ```

use conduit_protocol::jsonrpc::{Outcome, Request, RequestId};
use conduit_transport::{Era, RequestContext, Transport};
use conduit_transport_stdio::{StdioConfig, StdioTransport};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = match std::env::args().nth(1) {
        Some(line) => StdioConfig::from_command_line(&line)?,
        None => {
            // The echo_server example is built next to this one.
            let me = std::env::current_exe()?;
            let dir = me.parent().ok_or("no directory for the examples")?;
            StdioConfig::new(dir.join(format!("echo_server{}", std::env::consts::EXE_SUFFIX)))
        }
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel(conduit_transport::INBOUND_CAPACITY);
    tokio::spawn(async move {
        while let Some(message) = rx.recv().await {
            println!("server said on its own: {message:?}");
        }
    });
    let transport = StdioTransport::spawn(config, tx)?;
    let ctx = || RequestContext::new(Era::Stateful);
    let init = Request::new(
        RequestId::Number(1),
        "initialize",
        Some(json!({
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "raw-example", "version": "0"}
        })),
    );
    let response = transport.request(init, ctx()).await?;
    println!("initialize: {:?}", response.outcome);
    transport
        .notify(
            conduit_protocol::jsonrpc::Notification::new("notifications/initialized", None),
            ctx(),
        )
        .await?;
    let list = Request::new(RequestId::Number(2), "tools/list", None);
    match transport.request(list, ctx()).await?.outcome {
        Outcome::Result(v) => println!("{}", serde_json::to_string_pretty(&v)?),
        Outcome::Error(e) => println!("error: {e:?}"),
    }
    println!("shutdown: {:?}", transport.shutdown().await?);
    Ok(())
}
