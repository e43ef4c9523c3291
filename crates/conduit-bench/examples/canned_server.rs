//! Starts the benchmark server and makes one Conduit call against it.
//!
//! ```text
//! cargo run -p conduit-bench --example canned_server
//! ```

use conduit_bench::server;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = server::start(1024)?;
    let url = server.url("json");
    let client = conduit::Client::builder(&url)
        .lifecycle(conduit::LifecycleMode::Stateful)
        .connect()
        .await?;
    let result = client
        .call_tool("echo", serde_json::json!({"message": "hi"}))
        .await?;
    println!("{url}: {:?}", result.content);
    client.close().await?;
    Ok(())
}
