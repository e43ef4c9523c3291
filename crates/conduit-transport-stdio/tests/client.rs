//! `conduit::Client` over stdio: both eras against the `echo_server` example, cancellation by
//! notification, server requests, and `@modelcontextprotocol/server-everything` over stdio
//! when `CONDUIT_NODE` and `CONDUIT_SERVER_EVERYTHING` are set (`cargo xtask test` sets them).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use conduit::transport::TransportError;
use conduit::{CallOptions, Client, Era, Error, LifecycleMode};
use serde_json::{json, Value};

fn text(result: &conduit::types::CallToolResult) -> String {
    let v = serde_json::to_value(&result.content).unwrap();
    v.pointer("/0/text")
        .and_then(Value::as_str)
        .unwrap()
        .to_owned()
}

async fn connect(mode: LifecycleMode) -> Client {
    Client::builder_stdio(support::echo_server(), Vec::<String>::new())
        .lifecycle(mode)
        .timeout(Duration::from_secs(20))
        .connect()
        .await
        .unwrap()
}

#[tokio::test]
async fn tools_resources_and_prompts_in_both_eras() {
    for (mode, era) in [
        (LifecycleMode::Auto, Era::Stateless),
        (LifecycleMode::Stateful, Era::Stateful),
    ] {
        let client = connect(mode).await;
        assert_eq!(client.era(), Some(era));
        assert!(client.url().starts_with("stdio:"));
        assert_eq!(client.server_info().unwrap().name, "echo-server");
        let tools = client.list_tools().await.unwrap();
        assert!(tools.iter().any(|t| t.name == "add"));
        let sum = client
            .call_tool("add", json!({"a": 2, "b": 3}))
            .await
            .unwrap();
        assert_eq!(text(&sum), "5");
        let resources = client.list_resources().await.unwrap();
        assert_eq!(resources[0].uri, "echo://greeting");
        let read = client.read_resource("echo://greeting").await.unwrap();
        assert!(serde_json::to_string(&read).unwrap().contains("hello"));
        let prompts = client.list_prompts().await.unwrap();
        assert_eq!(prompts[0].name, "greet");
        let prompt = client
            .get_prompt("greet", json!({"name": "Ada"}))
            .await
            .unwrap();
        assert!(serde_json::to_string(&prompt)
            .unwrap()
            .contains("Hello, Ada!"));
        client.ping().await.unwrap();
        client.close().await.unwrap();
        assert!(matches!(client.list_tools().await, Err(Error::Closed)));
    }
}

#[tokio::test]
async fn concurrent_calls_share_the_pipe() {
    let client = connect(LifecycleMode::Auto).await;
    let mut handles = Vec::new();
    for i in 0..32 {
        let client = client.clone();
        handles.push(tokio::spawn(async move {
            let r = client
                .call_tool("echo", json!({"message": format!("n{i}")}))
                .await
                .unwrap();
            assert_eq!(text(&r), format!("n{i}"));
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    client.close().await.unwrap();
}

/// The ids the server saw in `notifications/cancelled`, polled until one arrives.
async fn cancelled_ids(client: &Client) -> Vec<Value> {
    for _ in 0..200 {
        let r = client.call_tool("cancelled", json!({})).await.unwrap();
        let ids: Vec<Value> = serde_json::from_str(&text(&r)).unwrap();
        if !ids.is_empty() {
            return ids;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Vec::new()
}

#[tokio::test]
async fn a_timed_out_call_is_cancelled_by_notification_in_both_eras() {
    for mode in [LifecycleMode::Stateless, LifecycleMode::Stateful] {
        let client = connect(mode).await;
        let err = client
            .call_tool_raw(
                "slow",
                json!({"ms": 30_000}),
                CallOptions::timeout(Duration::from_millis(200)),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
        let ids = cancelled_ids(&client).await;
        assert_eq!(
            ids.len(),
            1,
            "{mode:?}: the server saw no notifications/cancelled"
        );
        assert!(ids[0].is_i64(), "{ids:?}");
        client.close().await.unwrap();
    }
}

#[tokio::test]
async fn server_requests_are_answered_in_the_stateful_era() {
    let client = connect(LifecycleMode::Stateful).await;
    let r = client.call_tool("ask_client", json!({})).await.unwrap();
    assert!(text(&r).starts_with("client answered"), "{}", text(&r));
    client.close().await.unwrap();
}

#[tokio::test]
async fn a_crashing_server_fails_the_call_and_the_next_call_restarts_it() {
    for (mode, era) in [
        (LifecycleMode::Auto, Era::Stateless),
        (LifecycleMode::Stateful, Era::Stateful),
    ] {
        let client = connect(mode).await;
        let err = client
            .call_tool("crash", json!({"code": 7}))
            .await
            .unwrap_err();
        match err {
            Error::Transport(TransportError::ProcessExited { status, .. }) => {
                assert_eq!(status, "exited with status 7", "{mode:?}")
            }
            other => panic!("{mode:?}: expected ProcessExited, got {other:?}"),
        }
        // The next call runs on a new process (initialised again in the stateful era).
        let tools = client.list_tools().await.unwrap();
        assert!(tools.iter().any(|t| t.name == "echo"), "{mode:?}");
        assert_eq!(client.era(), Some(era));
        let r = client
            .call_tool("echo", json!({"message": "back"}))
            .await
            .unwrap();
        assert_eq!(text(&r), "back", "{mode:?}");
        client.close().await.unwrap();
    }
}

#[tokio::test]
async fn restarts_stop_when_the_policy_says_so() {
    use conduit::transport_stdio::{RestartPolicy, StdioConfig};
    let never = StdioConfig::new(support::echo_server()).restart(RestartPolicy::Never);
    let client = conduit::ClientBuilder::stdio(never)
        .connect()
        .await
        .unwrap();
    client
        .call_tool("crash", json!({"code": 1}))
        .await
        .unwrap_err();
    let later = client.list_tools().await.unwrap_err();
    assert!(
        matches!(
            later,
            Error::Transport(TransportError::ProcessExited { .. })
        ),
        "{later:?}"
    );
    client.close().await.unwrap();

    // A crash loop: two restarts in a row are allowed, the third death is final.
    let twice = StdioConfig::new(support::echo_server()).restart(RestartPolicy::OnNextCall {
        max_in_a_row: 2,
        stable_after: Duration::from_secs(3600),
    });
    let client = conduit::ClientBuilder::stdio(twice)
        .connect()
        .await
        .unwrap();
    for round in 0..2 {
        client
            .call_tool("crash", json!({"code": 1}))
            .await
            .unwrap_err();
        client
            .list_tools()
            .await
            .unwrap_or_else(|e| panic!("restart {round}: {e:?}"));
    }
    client
        .call_tool("crash", json!({"code": 1}))
        .await
        .unwrap_err();
    let later = client.list_tools().await.unwrap_err();
    assert!(
        matches!(
            later,
            Error::Transport(TransportError::ProcessExited { .. })
        ),
        "{later:?}"
    );
    client.close().await.unwrap();
}

#[tokio::test]
async fn a_bad_command_line_is_a_config_error() {
    let err = conduit::ClientBuilder::stdio_command_line("server 'oops")
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    let err = Client::builder_stdio("/nonexistent/mcp-server", ["--x"])
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Transport(TransportError::Connect { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn server_everything_over_stdio() {
    let (Some(node), Some(entry)) = (
        std::env::var_os("CONDUIT_NODE"),
        std::env::var_os("CONDUIT_SERVER_EVERYTHING"),
    ) else {
        eprintln!(
            "skipping: CONDUIT_NODE / CONDUIT_SERVER_EVERYTHING not set (run `cargo xtask test`)"
        );
        return;
    };
    let client = Client::builder_stdio(node, [entry, "stdio".into()])
        .timeout(Duration::from_secs(30))
        .connect()
        .await
        .unwrap();
    assert!(client.era().is_some());
    let tools = client.list_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "echo"), "{tools:?}");
    let echoed = client
        .call_tool("echo", json!({"message": "over stdio"}))
        .await
        .unwrap();
    assert!(text(&echoed).contains("over stdio"));
    let mut handles = Vec::new();
    for i in 0..8 {
        let client = client.clone();
        handles.push(tokio::spawn(async move {
            let r = client
                .call_tool("get-sum", json!({"a": i, "b": 100}))
                .await
                .unwrap();
            assert!(text(&r).contains(&(i + 100).to_string()), "{}", text(&r));
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let resources = client.list_resources().await.unwrap();
    let first = resources
        .first()
        .expect("server-everything lists resources");
    let read = client.read_resource(&first.uri).await.unwrap();
    assert!(!read.contents.is_empty());
    let prompts = client.list_prompts().await.unwrap();
    assert!(prompts.iter().any(|p| p.name == "simple-prompt"));
    let prompt = client
        .get_prompt("simple-prompt", Value::Null)
        .await
        .unwrap();
    assert!(!prompt.messages.is_empty());
    client.close().await.unwrap();
}
