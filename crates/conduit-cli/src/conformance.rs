//! `conduit conformance-client <url>`: the client under test of the official MCP conformance
//! suite. The suite sets `MCP_CONFORMANCE_SCENARIO`, `MCP_CONFORMANCE_PROTOCOL_VERSION` and, for
//! some scenarios, `MCP_CONFORMANCE_CONTEXT`, and appends the scenario server's URL.
//!
//! Each scenario gets what an ordinary application would do with the SDK — nothing here speaks
//! the wire by hand.

use conduit::{CallOptions, Client, LifecycleMode};
use serde_json::{json, Value};

use crate::Failure;

mod skills;
mod tool_calls;

fn fail(message: impl Into<String>) -> Failure {
    Failure {
        message: message.into(),
        code: 1,
    }
}

pub(crate) async fn run(url: &str) -> Result<(), Failure> {
    let scenario = std::env::var("MCP_CONFORMANCE_SCENARIO").unwrap_or_default();
    let version = std::env::var("MCP_CONFORMANCE_PROTOCOL_VERSION").ok();
    let mut builder = Client::builder(url);
    match version.as_deref() {
        Some("2026-07-28") => builder = builder.lifecycle(LifecycleMode::Stateless),
        Some(v) if !v.is_empty() => {
            builder = builder
                .lifecycle(LifecycleMode::Stateful)
                .protocol_version(v)
        }
        _ => {}
    }
    if crate::conformance_auth_ext::handles(&scenario) {
        builder =
            builder.authorizer(crate::conformance_auth_ext::authorizer(&scenario, url).await?);
    } else if scenario.starts_with("auth/") {
        builder = builder.oauth(oauth_config(&scenario, version.as_deref())?);
    }
    // What an interactive application would register: a form that the user accepts without
    // touching, so every field takes the schema's default (SEP-1034).
    builder = builder
        .on_elicitation(|_| async {
            Ok(
                conduit::types::ElicitResult::new(conduit::types::ElicitAction::Accept)
                    .content(serde_json::Map::new()),
            )
        })
        .apply_elicitation_defaults(true);
    if scenario == "sse-retry" {
        // The scenario server treats any GET as the resumption of its tools/call stream, so a
        // standalone listening GET racing the resumption would take the replayed response.
        builder = builder.listen_stream(false);
    }
    let client = builder.connect().await?;
    let outcome = match scenario.as_str() {
        "initialize" | "tools_call" | "tools-call" => basic(&client).await,
        "json-schema-ref-no-deref" | "request-metadata" => {
            client.list_tools().await.map(|_| ()).map_err(Failure::from)
        }
        "json-schema-2020-12-preservation" => schema_echo(&client).await,
        "sse-retry" => sse_retry(&client).await,
        "http-custom-headers" => tool_calls::run(&client).await,
        s if s.starts_with("sep-2640-") => skills::run(&client, s).await,
        "auth/client-credentials-jwt"
        | "auth/client-credentials-basic"
        | "auth/wif-jwt-bearer"
        | "auth/enterprise-managed-authorization" => basic(&client).await,
        _ => exercise(&client).await,
    };
    let closed = client.close().await;
    outcome?;
    closed.map_err(Failure::from)
}

/// The client ID metadata document URL the suite expects (it never fetches it).
const CIMD_URL: &str = "https://conformance-test.local/client-metadata.json";

/// The MCP authorization flow, headless: the suite's authorization server consents
/// automatically and answers the authorization request with a redirect carrying the code.
fn oauth_config(
    scenario: &str,
    version: Option<&str>,
) -> Result<conduit::auth::OAuthConfig, Failure> {
    use std::sync::Arc;
    let mut config = conduit::auth::OAuthConfig::new()
        .client_name("conduit-conformance")
        .handler(Arc::new(conduit::auth::oauth::HeadlessRedirect::new(
            "http://localhost:3000/callback",
        )));
    match scenario {
        "auth/pre-registration" => {
            let raw = std::env::var("MCP_CONFORMANCE_CONTEXT")
                .map_err(|_| fail("MCP_CONFORMANCE_CONTEXT is not set"))?;
            let ctx: Value = serde_json::from_str(&raw)
                .map_err(|e| fail(format!("MCP_CONFORMANCE_CONTEXT is not JSON: {e}")))?;
            let field = |k: &str| {
                ctx.get(k)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| fail(format!("MCP_CONFORMANCE_CONTEXT has no {k}")))
            };
            config = config
                .client_id(field("client_id")?)
                .client_secret(field("client_secret")?);
        }
        "auth/authorization-server-migration" => {}
        "auth/dpop" | "auth/dpop-nonce" => {
            let prover = conduit::auth::extensions::dpop::DpopProver::generate()
                .map_err(|e| fail(format!("could not generate a DPoP key: {e}")))?;
            config = config.client_metadata_url(CIMD_URL).dpop(prover);
        }
        _ => config = config.client_metadata_url(CIMD_URL),
    }
    if version == Some("2025-03-26") {
        // That revision had no PKCE advertisement requirement (and no metadata at all in
        // the endpoint-fallback scenario).
        config = config.allow_unadvertised_pkce(true);
    }
    Ok(config)
}

/// Lists the tools and calls the first one with `{a: 2, b: 3}`.
async fn basic(client: &Client) -> Result<(), Failure> {
    let tools = client.list_tools().await?;
    if let Some(tool) = tools.first() {
        client
            .call_tool(&tool.name, json!({"a": 2, "b": 3}))
            .await?;
    }
    Ok(())
}

/// Echoes the observed input schema of `json_schema_2020_12_tool` through `json_schema_echo`.
async fn schema_echo(client: &Client) -> Result<(), Failure> {
    let tools = client.list_tools().await?;
    let focal = tools
        .iter()
        .find(|t| t.name == "json_schema_2020_12_tool")
        .ok_or_else(|| fail("the server does not advertise json_schema_2020_12_tool"))?;
    let schema = serde_json::to_value(&focal.input_schema)
        .map_err(|e| fail(format!("could not encode the schema: {e}")))?;
    client
        .call_tool("json_schema_echo", json!({ "schema": schema }))
        .await?;
    Ok(())
}

/// Calls the reconnection tool; the transport resumes the broken stream.
async fn sse_retry(client: &Client) -> Result<(), Failure> {
    let tools = client.list_tools().await?;
    let name = tools
        .iter()
        .find(|t| t.name == "test_reconnection")
        .map(|t| t.name.clone())
        .or_else(|| tools.first().map(|t| t.name.clone()))
        .ok_or_else(|| fail("the server advertises no tools"))?;
    client.call_tool(&name, json!({})).await?;
    Ok(())
}

/// Uses every list, read and get the server offers, the way an inspector would. Individual
/// calls may fail (a tool may want arguments we cannot guess); listing must not.
async fn exercise(client: &Client) -> Result<(), Failure> {
    let tools = client.list_tools().await?;
    for tool in &tools {
        let args =
            guess_arguments(&serde_json::to_value(&tool.input_schema).unwrap_or(Value::Null));
        if let Err(e) = client
            .call_tool_raw(&tool.name, args, CallOptions::default())
            .await
        {
            eprintln!("tools/call {}: {e}", tool.name);
        }
    }
    if let Ok(resources) = client.list_resources().await {
        for r in &resources {
            if let Err(e) = client.read_resource(&r.uri).await {
                eprintln!("resources/read {}: {e}", r.uri);
            }
        }
    }
    if let Ok(prompts) = client.list_prompts().await {
        for p in &prompts {
            let args = json!({});
            if let Err(e) = client.get_prompt(&p.name, args).await {
                eprintln!("prompts/get {}: {e}", p.name);
            }
        }
    }
    Ok(())
}

/// Builds arguments from a schema's required properties: strings "test", numbers 1, booleans
/// true.
fn guess_arguments(schema: &Value) -> Value {
    let mut args = serde_json::Map::new();
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let props = schema.get("properties").and_then(Value::as_object);
    for name in required {
        let kind = props
            .and_then(|p| p.get(name))
            .and_then(|p| p.get("type"))
            .and_then(Value::as_str)
            .unwrap_or("string");
        let v = match kind {
            "number" | "integer" => json!(1),
            "boolean" => json!(true),
            "object" => json!({}),
            "array" => json!([]),
            _ => json!("test"),
        };
        args.insert(name.to_owned(), v);
    }
    Value::Object(args)
}
