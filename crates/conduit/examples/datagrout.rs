//! DataGrout extensions: discover → estimate → perform (with a budget) → receipt → ledger.
//!
//! `cargo run -p conduit --example datagrout -- [URL]` — without a URL it starts the embedded
//! test gateway, which plays a DataGrout gateway.

use conduit::datagrout::BatchCall;
use conduit::{Client, Error};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut _gateway = None;
    let url = match std::env::args().nth(1) {
        Some(url) => url,
        None => {
            let gw = conduit_testkit::TestGateway::start(
                conduit_testkit::GatewayConfig::default().datagrout(true),
            )
            .await?;
            let url = gw.url();
            _gateway = Some(gw);
            url
        }
    };
    let client = Client::builder(&url).budget(5.0).connect().await?;

    let found = client.discover("salesforce lead").limit(3).await?;
    for tool in &found.data.tools {
        println!("found {} (score {:?})", tool.tool_name, tool.score);
    }

    let estimate = client
        .estimate_cost("salesforce@1/get_lead@1", json!({"id": "123"}))
        .await?;
    println!("estimate: {:?} credits", estimate.estimated_credits);

    let lead = client
        .perform("salesforce@1/get_lead@1", json!({"id": "123"}))
        .await?;
    println!("lead: {}", lead.data);
    if let Some(receipt) = lead.receipt() {
        println!(
            "receipt {}: {} credits, saved {}",
            receipt.receipt_id, receipt.net_credits, receipt.savings
        );
    }

    let batch = client
        .perform_batch(vec![
            BatchCall::new(
                "slack@1/post_message@1",
                json!({"channel": "#sales", "text": "hi"}),
            ),
            BatchCall::new("salesforce@1/get_lead@1", json!({"id": "9"})),
        ])
        .await;
    for (i, outcome) in batch.iter().enumerate() {
        match outcome {
            Ok(r) => println!("batch[{i}]: {}", r.data),
            Err(Error::BudgetExceeded {
                estimated,
                remaining,
                ..
            }) => println!("batch[{i}]: refused, {estimated} > {remaining} credits left"),
            Err(e) => println!("batch[{i}]: {e}"),
        }
    }

    let ledger = client.ledger();
    println!(
        "ledger: {} calls, {} credits spent, {} saved",
        ledger.total.calls, ledger.total.credits_spent, ledger.total.credits_saved
    );
    client.close().await?;
    Ok(())
}
