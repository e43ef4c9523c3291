//! `conduit gateway` and `conduit demo`: the embedded test gateway.

use conduit::{Client, Error, LifecycleMode};
use conduit_testkit::{GatewayConfig, ResponseMode, TestGateway};
use serde_json::json;

use crate::Failure;

/// Runs the test gateway until Ctrl-C.
pub(crate) async fn gateway(listen: &str, sse: bool) -> Result<(), Failure> {
    let addr = listen
        .parse()
        .map_err(|e| Failure::usage(format!("--listen {listen:?} is not an address: {e}")))?;
    let mode = if sse {
        ResponseMode::Sse
    } else {
        ResponseMode::Json
    };
    let gateway = TestGateway::start(
        GatewayConfig::default()
            .listen(addr)
            .response_mode(mode)
            .datagrout(true),
    )
    .await
    .map_err(|e| Failure {
        message: format!("could not start the gateway: {e}"),
        code: 1,
    })?;
    println!("{}", gateway.url());
    eprintln!("test gateway listening; Ctrl-C to stop");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = gateway.wait() => {}
    }
    gateway.shutdown().await;
    Ok(())
}

fn step(title: &str) {
    println!("\n== {title}");
}

/// Starts the embedded gateway and walks through a session in both eras.
pub(crate) async fn demo() -> Result<(), Failure> {
    let gateway = TestGateway::start(GatewayConfig::default().datagrout(true))
        .await
        .map_err(|e| Failure {
            message: format!("could not start the gateway: {e}"),
            code: 1,
        })?;
    let url = gateway.url();
    println!("Conduit demo — embedded test gateway at {url}");

    step("Connect (lifecycle Auto: probe server/discover, fall back to initialize)");
    let client = Client::builder(&url).connect().await?;
    println!(
        "era: {}, protocol {}, server {}",
        crate::output::era_name(client.era()),
        client.protocol_version().unwrap_or_default(),
        client
            .server_info()
            .map(|i| format!("{} {}", i.name, i.version))
            .unwrap_or_else(|| "(unnamed)".into())
    );

    step("tools/list");
    let tools = client.list_tools().await?;
    crate::output::tools(&tools);

    step("tools/call add {a: 2, b: 3}");
    let result = client.call_tool("add", json!({"a": 2, "b": 3})).await?;
    crate::output::call_result(&result);

    step("tools/call echo {message: \"hello from Conduit\"}");
    let result = client
        .call_tool("echo", json!({"message": "hello from Conduit"}))
        .await?;
    crate::output::call_result(&result);

    step("tools/call fail — a tool error is an error, never a success");
    match client.call_tool("fail", json!({})).await {
        Err(Error::Tool { name, result }) => {
            println!("tool `{name}` failed as expected:");
            crate::output::call_result(&result);
        }
        Ok(_) => {
            return Err(Failure {
                message: "`fail` unexpectedly succeeded".into(),
                code: 1,
            })
        }
        Err(e) => return Err(e.into()),
    }

    step("resources/list and resources/read");
    let resources = client.list_resources().await?;
    crate::output::resources(&resources);
    if let Some(first) = resources.first() {
        let read = client.read_resource(&first.uri).await?;
        crate::output::read_result(&read);
    }

    step("prompts/get greeting {name: \"Ada\"}");
    let prompt = client
        .get_prompt("greeting", json!({"name": "Ada"}))
        .await?;
    crate::output::prompt_result(&prompt);
    client.close().await?;

    step("The same server in the stateful era (initialize, session, ping)");
    let stateful = Client::builder(&url)
        .lifecycle(LifecycleMode::Stateful)
        .connect()
        .await?;
    stateful.ping().await?;
    println!(
        "era: {}, protocol {}; ping ok",
        crate::output::era_name(stateful.era()),
        stateful.protocol_version().unwrap_or_default()
    );
    let sum = stateful.call_tool("add", json!({"a": 40, "b": 2})).await?;
    crate::output::call_result(&sum);
    stateful.close().await?;

    datagrout_steps(&url).await?;

    println!(
        "\nThe gateway saw {} HTTP requests.",
        gateway.requests().len()
    );
    gateway.shutdown().await;

    demo_mtls().await?;
    println!("\nDone.");
    Ok(())
}

/// The DataGrout walk-through: discover → estimate → perform → receipt → ledger totals.
async fn datagrout_steps(url: &str) -> Result<(), Failure> {
    let client = Client::builder(url).budget(10.0).connect().await?;

    step("DataGrout discover \"salesforce lead\" (semantic search)");
    let found = client.discover("salesforce lead").limit(3).await?;
    for t in &found.data.tools {
        println!(
            "{:<34} score {:.2}",
            t.tool_name,
            t.score.unwrap_or_default()
        );
    }
    let Some(top) = found.data.tools.first() else {
        return Err(Failure {
            message: "discover found nothing".into(),
            code: 1,
        });
    };
    let tool = top.tool_name.clone();

    step(&format!("estimate_cost {tool} (estimate_only: true)"));
    let estimate = client.estimate_cost(&tool, json!({"id": "123"})).await?;
    crate::datagrout::print_estimate(&estimate, false);

    step(&format!(
        "perform {tool} {{id: \"123\"}} — within the 10-credit budget"
    ));
    let lead = client.perform(&tool, json!({"id": "123"})).await?;
    println!("{}", lead.data);
    if let Some(r) = lead.receipt() {
        println!(
            "receipt {}: {} credits charged, {} saved",
            r.receipt_id, r.net_credits, r.savings
        );
    }

    step("Cost ledger totals");
    crate::datagrout::print_ledger(&client);
    if let Some(b) = client.budget() {
        println!("budget: {} of {} credits left", b.remaining, b.limit);
    }
    client.close().await?;
    Ok(())
}

/// Bootstrap an identity from the embedded CA, then a session authenticated by mTLS alone.
async fn demo_mtls() -> Result<(), Failure> {
    let start_failed = |e: std::io::Error| Failure {
        message: format!("could not start the mTLS gateway: {e}"),
        code: 1,
    };
    let ca = conduit_testkit::TestCa::new().map_err(start_failed)?;
    ca.accept_token("demo-registration-token");
    let gateway = TestGateway::start(GatewayConfig::default().mtls(ca.clone()))
        .await
        .map_err(start_failed)?;
    let Some(https_url) = gateway.https_url() else {
        return Err(Failure {
            message: "the mTLS gateway has no HTTPS listener".into(),
            code: 1,
        });
    };
    let dir = std::env::temp_dir().join(format!("conduit-demo-identity-{}", std::process::id()));

    step("Bootstrap an mTLS identity (keypair -> CA /register with a token -> saved 0600)");
    let client = Client::builder(&https_url)
        .identity_dir(&dir)
        .identity_environment(std::sync::Arc::new(conduit::identity::MapEnvironment::new()))
        .identity_endpoint(gateway.identity_endpoint())
        .bootstrap_identity("demo-registration-token", "conduit-demo")
        .await;
    let result = async {
        let client = client?;
        if let Some(identity) = client.identity() {
            crate::identity_cmd::print(&identity, false);
        }
        step("An mTLS-only session (no token) on the HTTPS listener");
        let sum = client.call_tool("add", json!({"a": 20, "b": 22})).await?;
        crate::output::call_result(&sum);
        println!(
            "the server verified {} request(s) carrying the client certificate",
            ca.mtls_requests().len()
        );
        client.close().await?;
        Ok::<(), Failure>(())
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    gateway.shutdown().await;
    result
}
