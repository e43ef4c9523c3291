//! Interop: the client against the reference server `@modelcontextprotocol/server-everything`
//! (Streamable HTTP, bound to 127.0.0.1). `cargo xtask test` installs it and sets
//! `CONDUIT_NODE` and `CONDUIT_SERVER_EVERYTHING`; without them (a bare `cargo test`) the test
//! says so and returns.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Stdio;
use std::time::Duration;

use conduit::{Client, Era, LifecycleMode};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

struct Server {
    _child: tokio::process::Child,
    url: String,
}

async fn server_everything() -> Option<Server> {
    let (Some(node), Some(entry)) = (
        std::env::var_os("CONDUIT_NODE"),
        std::env::var_os("CONDUIT_SERVER_EVERYTHING"),
    ) else {
        eprintln!(
            "skipping: CONDUIT_NODE / CONDUIT_SERVER_EVERYTHING not set (run `cargo xtask test`)"
        );
        return None;
    };
    let preload = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/loopback.cjs");
    let mut child = tokio::process::Command::new(node)
        .arg("--require")
        .arg(preload)
        .arg(entry)
        .arg("streamableHttp")
        .env("PORT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("server-everything starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let port = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(port) = line.strip_prefix("CONDUIT_LISTENING ") {
                return port.trim().parse::<u16>().unwrap();
            }
        }
        panic!("server-everything exited before listening");
    })
    .await
    .expect("server-everything listens within 30 s");
    // Keep draining stderr so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Some(Server {
        _child: child,
        url: format!("http://127.0.0.1:{port}/mcp"),
    })
}

#[tokio::test]
async fn tools_resources_and_prompts_of_server_everything() {
    let Some(server) = server_everything().await else {
        return;
    };
    let client = Client::builder(&server.url).connect().await.unwrap();
    assert_eq!(
        client.era(),
        Some(Era::Stateful),
        "server-everything is a stateful-era server"
    );
    assert!(client.server_info().is_some());
    client.ping().await.unwrap();

    let tools = client.list_tools().await.unwrap();
    assert!(
        tools.iter().any(|t| t.name == "echo"),
        "{:?}",
        tools.iter().map(|t| &t.name).collect::<Vec<_>>()
    );
    let result = client
        .call_tool("echo", json!({"message": "interop"}))
        .await
        .unwrap();
    let text = serde_json::to_string(&result.content).unwrap();
    assert!(text.contains("interop"), "{text}");

    let resources = client.list_resources().await.unwrap();
    assert!(!resources.is_empty());
    let read = client.read_resource(&resources[0].uri).await.unwrap();
    assert!(!read.contents.is_empty());

    let prompts = client.list_prompts().await.unwrap();
    let simple = prompts
        .iter()
        .find(|p| {
            p.arguments
                .as_ref()
                .map(|a| a.iter().all(|a| a.required != Some(true)))
                .unwrap_or(true)
        })
        .expect("a prompt without required arguments");
    let prompt = client.get_prompt(&simple.name, json!({})).await.unwrap();
    assert!(!prompt.messages.is_empty());
    client.close().await.unwrap();
}

#[tokio::test]
async fn forced_stateful_lifecycle_against_server_everything() {
    let Some(server) = server_everything().await else {
        return;
    };
    let client = Client::builder(&server.url)
        .lifecycle(LifecycleMode::Stateful)
        .connect()
        .await
        .unwrap();
    assert_eq!(client.protocol_version().as_deref(), Some("2025-11-25"));
    let calls = (0..8).map(|i| {
        let client = client.clone();
        tokio::spawn(async move {
            let args = json!({"a": i, "b": 1});
            client.call_tool("get-sum", args).await
        })
    });
    for call in calls {
        let result = call.await.unwrap().unwrap();
        assert!(!result.content.is_empty());
    }
    client.close().await.unwrap();
}
