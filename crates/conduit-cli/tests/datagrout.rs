//! The DataGrout commands of the `conduit` binary against the test gateway.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Output;

use conduit_testkit::{GatewayConfig, TestGateway};
use serde_json::{json, Value};

async fn conduit(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_conduit"))
            .args(&args)
            .env_remove("CONDUIT_URL")
            .env_remove("CONDUIT_TOKEN")
            .output()
            .expect("the binary runs")
    })
    .await
    .unwrap()
}

async fn run(url: &str, rest: &[&str]) -> Output {
    let mut args = vec!["--url".to_owned(), url.to_owned()];
    args.extend(rest.iter().map(|s| s.to_string()));
    conduit(args).await
}

fn out(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn temp_json(name: &str, value: &Value) -> String {
    let path = std::env::temp_dir().join(format!("conduit-dg-{}-{name}", std::process::id()));
    std::fs::write(&path, value.to_string()).unwrap();
    path.to_string_lossy().into_owned()
}

#[tokio::test]
async fn discover_perform_estimate_flow_and_prism_print_results_and_receipts() {
    let gw = TestGateway::start(GatewayConfig::default()).await.unwrap();
    let url = gw.url();

    let text = out(&run(&url, &["discover", "unpaid invoices", "--limit", "3"]).await);
    assert!(text.contains("quickbooks@1/list_invoices@1"), "{text}");
    assert!(text.contains("receipt: 0.25 credits"), "{text}");

    let doc: Value = serde_json::from_str(&out(&run(
        &url,
        &["--json", "discover", "salesforce lead", "--limit", "1"],
    )
    .await))
    .unwrap();
    assert_eq!(doc["result"]["tools"].as_array().unwrap().len(), 1);
    assert_eq!(
        doc["result"]["tools"][0]["tool_name"],
        "salesforce@1/get_lead@1"
    );
    assert_eq!(doc["receipt"]["receipt"]["net_credits"], json!(0.25));
    let sent = gw.requests_for("tools/call");
    assert_eq!(
        sent.last().unwrap().params().unwrap()["arguments"],
        json!({"query": "salesforce lead", "limit": 1, "min_score": 0.0})
    );

    let text = out(&run(
        &url,
        &[
            "perform",
            "salesforce@1/get_lead@1",
            "--args",
            r#"{"id":"7"}"#,
        ],
    )
    .await);
    assert!(text.contains("Lead 7"), "{text}");
    assert!(
        text.contains("receipt: 1.5 credits (estimated 2, saved 0.5)"),
        "{text}"
    );

    let doc: Value = serde_json::from_str(&out(&run(
        &url,
        &[
            "--json",
            "estimate",
            "salesforce@1/get_lead@1",
            "--args",
            r#"{"id":"7"}"#,
        ],
    )
    .await))
    .unwrap();
    assert_eq!(doc["estimated_credits"], json!(2.0));

    let plan = temp_json(
        "plan.json",
        &json!({"steps": [{"tool": "salesforce@1/get_lead@1", "args": {"id": "1"}}]}),
    );
    let doc: Value =
        serde_json::from_str(&out(&run(&url, &["--json", "flow", &plan]).await)).unwrap();
    assert_eq!(doc["result"]["status"], "completed");
    assert_eq!(doc["receipt"]["receipt"]["net_credits"], json!(1.5));

    let data = temp_json(
        "rows.json",
        &json!([{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]),
    );
    let text = out(&run(&url, &["prism", "csv", &data]).await);
    assert!(text.contains("id,name\\n1,a\\n2,b"), "{text}");
    assert!(text.contains("receipt: 0.5 credits"), "{text}");

    // Bad input: a clear message and a usage exit code.
    let o = run(&url, &["perform", "x", "--args", "[1]"]).await;
    assert_eq!(o.status.code(), Some(2));
    let o = run(&url, &["prism", "nope-lens", &data]).await;
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown lens"));
    let _ = std::fs::remove_file(plan);
    let _ = std::fs::remove_file(data);
}

#[tokio::test]
async fn demo_walks_through_the_datagrout_steps() {
    let o = conduit(vec!["demo".into()]).await;
    let text = out(&o);
    for needle in [
        "DataGrout discover",
        "estimate_cost",
        "receipt rcpt-",
        "Cost ledger totals",
        "budget: 8.25 of 10",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}
