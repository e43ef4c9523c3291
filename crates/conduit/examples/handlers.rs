//! Answers what a server asks of the client — elicitation, roots — and watches progress, in
//! whichever era the server speaks.
//!
//! `cargo run -p conduit --example handlers -- [URL]` — without a URL it starts the embedded
//! test gateway (SSE mode, so that its stateful era can send requests too) and talks to that.

use std::time::Duration;

use conduit::types::{ElicitAction, ElicitResult, Root};
use conduit::{CallOptions, Client};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut _gateway = None;
    let url = match std::env::args().nth(1) {
        Some(url) => url,
        None => {
            let config = conduit_testkit::GatewayConfig::default()
                .response_mode(conduit_testkit::ResponseMode::Sse);
            let gw = conduit_testkit::TestGateway::start(config).await?;
            let url = gw.url();
            _gateway = Some(gw);
            url
        }
    };
    let client = Client::builder(&url)
        .roots(vec![Root::new("file:///tmp").name("scratch")])
        .on_elicitation(|form| async move {
            // A real application shows `form.message` and a form built from the schema.
            println!("server asks: {}", form.message);
            Ok(ElicitResult::new(ElicitAction::Accept).content(serde_json::Map::new()))
        })
        .apply_elicitation_defaults(true)
        .on_url_elicitation(|url| async move {
            // Show the full URL and ask for consent; never open it without asking.
            println!("server wants you to visit {} — declining", url.url);
            Ok(ElicitResult::new(ElicitAction::Decline))
        })
        .connect()
        .await?;
    println!("connected ({:?} era)", client.era());

    let tools = client.list_tools().await?;
    if tools.iter().any(|t| t.name == "ask_elicitation") {
        let answer = client.call_tool("ask_elicitation", json!({})).await?;
        println!("the server got: {}", conduit::types::error_text(&answer));
    }

    let (tx, mut rx) = tokio::sync::mpsc::channel::<conduit::types::ProgressNotificationParams>(16);
    let printer = tokio::spawn(async move {
        while let Some(p) = rx.recv().await {
            println!("progress {}/{:?}", p.progress, p.total);
        }
    });
    if tools.iter().any(|t| t.name == "slow") {
        let options = CallOptions::timeout(Duration::from_secs(5))
            .with_progress(tx)
            .reset_timeout_on_progress(Some(Duration::from_secs(60)));
        client
            .call_tool_raw("slow", json!({"steps": 3}), options)
            .await?;
    } else {
        drop(tx);
    }
    printer.await?;
    client.close().await?;
    Ok(())
}
