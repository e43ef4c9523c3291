//! Server requests (sampling, elicitation, roots), MRTR, progress, cancellation, logging,
//! change notifications and completion — against the test gateway, in both eras.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use conduit::protocol::jsonrpc::ErrorObject;
use conduit::types::{
    CompleteParams, CompletionArgument, CompletionReference, CreateMessageResult, ElicitAction,
    ElicitResult, LoggingLevel, PromptReference, Root, ServerNotification, SubscriptionFilter,
};
use conduit::{CallOptions, CancelHandle, Client, ClientBuilder, Error, LifecycleMode};
use conduit_testkit::{EraSupport, GatewayConfig, ResponseMode, TestGateway};
use serde_json::{json, Value};

async fn gateway() -> TestGateway {
    TestGateway::start(GatewayConfig::default().response_mode(ResponseMode::Sse))
        .await
        .expect("gateway starts")
}

const ERAS: [LifecycleMode; 2] = [LifecycleMode::Stateful, LifecycleMode::Stateless];

fn with_handlers(builder: ClientBuilder) -> ClientBuilder {
    builder
        .roots(vec![Root::new("file:///work").name("work")])
        .on_sampling(true, |params| async move {
            let tools = params.tools.map_or(0, |t| t.len());
            Ok(serde_json::from_value::<CreateMessageResult>(json!({
                "role": "assistant",
                "content": { "type": "text", "text": format!("4 (tools offered: {tools})") },
                "model": "test-model",
                "stopReason": "endTurn"
            }))
            .unwrap())
        })
        .on_elicitation(|form| async move {
            assert_eq!(form.message, "Who are you?");
            let mut content = serde_json::Map::new();
            content.insert("name".into(), json!("Grace"));
            Ok(ElicitResult::new(ElicitAction::Accept).content(content))
        })
        .on_url_elicitation(|url| async move {
            // The consent hook sees the full URL; the client opens nothing by itself.
            assert_eq!(url.url, "https://example.test/consent");
            Ok(ElicitResult::new(ElicitAction::Decline))
        })
        .apply_elicitation_defaults(true)
}

/// The JSON answer a `client_asks` tool reports.
async fn ask(client: &Client, tool: &str, args: Value) -> Value {
    let result = client
        .call_tool_raw(tool, args, CallOptions::default())
        .await
        .unwrap();
    let v = serde_json::to_value(&result).unwrap();
    let text = v["content"][0]["text"].as_str().unwrap().to_owned();
    assert_ne!(v["isError"], json!(true), "{tool}: {text}");
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn handlers_answer_server_requests_in_both_eras() {
    let gw = gateway().await;
    for mode in ERAS {
        let client = with_handlers(Client::builder(gw.url()).lifecycle(mode))
            .connect()
            .await
            .unwrap();

        let sampled = ask(&client, "ask_sampling", json!({"tools": true})).await;
        assert_eq!(sampled["result"]["model"], "test-model", "{mode:?}");
        assert_eq!(
            sampled["result"]["content"]["text"], "4 (tools offered: 1)",
            "{mode:?}"
        );

        let form = ask(&client, "ask_elicitation", json!({})).await;
        assert_eq!(form["result"]["action"], "accept", "{mode:?}");
        // The handler gave `name`; `age` came from the schema's default (SEP-1034).
        assert_eq!(
            form["result"]["content"],
            json!({"name": "Grace", "age": 36}),
            "{mode:?}"
        );

        let url = ask(&client, "ask_elicitation", json!({"mode": "url"})).await;
        assert_eq!(url["result"]["action"], "decline", "{mode:?}");
        assert!(url["result"].get("content").is_none());

        let roots = ask(&client, "ask_roots", json!({})).await;
        assert_eq!(
            roots["result"]["roots"],
            json!([{"uri": "file:///work", "name": "work"}]),
            "{mode:?}"
        );
        client.close().await.unwrap();
    }
}

#[tokio::test]
async fn capabilities_are_exactly_the_registered_handlers() {
    let gw = gateway().await;
    let client = Client::builder(gw.url())
        .lifecycle(LifecycleMode::Stateful)
        .on_elicitation(|_| async { Ok(ElicitResult::new(ElicitAction::Cancel)) })
        .connect()
        .await
        .unwrap();
    let init = gw.requests_for("initialize");
    assert_eq!(
        init[0].body.as_ref().unwrap()["params"]["capabilities"],
        json!({"elicitation": {"form": {}}})
    );
    client.close().await.unwrap();

    gw.clear_requests();
    let client = Client::builder(gw.url())
        .lifecycle(LifecycleMode::Stateless)
        .roots(vec![])
        .connect()
        .await
        .unwrap();
    client.list_tools().await.unwrap();
    let list = gw.requests_for("tools/list");
    assert_eq!(
        list[0].body.as_ref().unwrap()["params"]["_meta"]
            ["io.modelcontextprotocol/clientCapabilities"],
        json!({"roots": {}})
    );
}

#[tokio::test]
async fn unhandled_server_requests_get_the_proper_errors() {
    let gw = gateway().await;
    // Stateful: the server asks anyway and gets -32601; an undeclared elicitation mode -32602.
    let client = Client::builder(gw.url())
        .lifecycle(LifecycleMode::Stateful)
        .on_elicitation(|_| async { Ok(ElicitResult::new(ElicitAction::Cancel)) })
        .connect()
        .await
        .unwrap();
    let roots = ask(&client, "ask_roots", json!({})).await;
    assert_eq!(roots["error"]["code"], -32601);
    let sampling = ask(&client, "ask_sampling", json!({})).await;
    assert_eq!(sampling["error"]["code"], -32601);
    let url = ask(&client, "ask_elicitation", json!({"mode": "url"})).await;
    assert_eq!(url["error"]["code"], -32602);
    client.close().await.unwrap();

    // Stateless: an undeclared capability is never asked for (the gateway refuses to).
    let client = Client::builder(gw.url())
        .lifecycle(LifecycleMode::Stateless)
        .connect()
        .await
        .unwrap();
    let result = client
        .call_tool_raw("ask_roots", json!({}), CallOptions::default())
        .await
        .unwrap();
    assert_eq!(result.is_error, Some(true));
}

#[tokio::test]
async fn conversations_breaking_the_tool_rules_and_off_schema_answers_are_refused() {
    let gw = gateway().await;
    let mixed = json!([
        {"role": "user", "content": {"type": "text", "text": "weather?"}},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "c1", "name": "weather", "input": {}}]},
        {"role": "user", "content": [
            {"type": "text", "text": "here you go:"},
            {"type": "tool_result", "toolUseId": "c1", "content": []}
        ]}
    ]);
    let unanswered = json!([
        {"role": "assistant", "content": [{"type": "tool_use", "id": "c1", "name": "weather", "input": {}}]},
        {"role": "user", "content": {"type": "text", "text": "never mind"}}
    ]);
    for mode in ERAS {
        let client = Client::builder(gw.url())
            .lifecycle(mode)
            .on_sampling(true, |_| async move {
                panic!("the handler must not see a conversation that breaks the rules")
            })
            // A buggy handler: `age` must be an integer.
            .on_elicitation(|_| async move {
                let mut content = serde_json::Map::new();
                content.insert("age".into(), json!("old"));
                Ok(ElicitResult::new(ElicitAction::Accept).content(content))
            })
            .connect()
            .await
            .unwrap();
        for (messages, needle) in [(&mixed, "mixed"), (&unanswered, "missing")] {
            let args = json!({"tools": true, "messages": messages});
            let (code, message) = refusal(&client, mode, "ask_sampling", args).await;
            assert_eq!(code, -32602, "{mode:?}");
            assert!(message.contains(needle), "{mode:?}: {message}");
        }
        let (code, message) =
            refusal(&client, mode, "ask_elicitation", json!({"strict": true})).await;
        assert_eq!(code, -32603, "{mode:?}");
        assert!(message.contains("`age`"), "{mode:?}: {message}");
        client.close().await.unwrap();
    }
}

/// The error code and message the client answered a server question with: reported back by
/// the gateway in the stateful era, a typed error of the call in the stateless era.
async fn refusal(client: &Client, mode: LifecycleMode, tool: &str, args: Value) -> (i64, String) {
    match mode {
        LifecycleMode::Stateless => {
            match client
                .call_tool_raw(tool, args, CallOptions::default())
                .await
            {
                Err(Error::InputRequest { code, message, .. }) => (code, message),
                other => panic!("{tool}: expected a refused input request, got {other:?}"),
            }
        }
        _ => {
            let answer = ask(client, tool, args).await;
            let code = answer["error"]["code"].as_i64().unwrap_or_default();
            let message = answer["error"]["message"].as_str().unwrap_or_default();
            (code, message.to_owned())
        }
    }
}

#[tokio::test]
async fn mrtr_retries_with_a_new_id_and_the_state_unchanged() {
    let gw = gateway().await;
    let client = with_handlers(Client::builder(gw.url()).lifecycle(LifecycleMode::Stateless))
        .connect()
        .await
        .unwrap();
    gw.clear_requests();
    ask(&client, "ask_roots", json!({})).await;
    let calls = gw.requests_for("tools/call");
    assert_eq!(calls.len(), 2);
    let first = calls[0].body.clone().unwrap();
    let retry = calls[1].body.clone().unwrap();
    assert_ne!(first["id"], retry["id"]);
    assert!(first["params"].get("inputResponses").is_none());
    assert!(first["params"].get("requestState").is_none());
    assert!(retry["params"]["requestState"]
        .as_str()
        .unwrap()
        .starts_with("rs-"));
    assert_eq!(retry["params"]["name"], "ask_roots");
    assert!(retry["params"]["inputResponses"]["ask"]["roots"].is_array());

    // A handler that refuses ends the call with a typed error instead of a retry.
    let refusing = Client::builder(gw.url())
        .lifecycle(LifecycleMode::Stateless)
        .on_elicitation(|_| async { Err(ErrorObject::internal("no user present")) })
        .connect()
        .await
        .unwrap();
    let err = refusing
        .call_tool_raw("ask_elicitation", json!({}), CallOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InputRequest { request, key, .. } if request == "elicitation/create" && key == "ask"),
        "{err:?}"
    );
}

#[tokio::test]
async fn log_messages_reach_the_subscriber_in_both_eras() {
    let gw = gateway().await;
    for mode in ERAS {
        let client = Client::builder(gw.url())
            .lifecycle(mode)
            .connect()
            .await
            .unwrap();
        client.set_level(LoggingLevel::Debug).await.unwrap();
        let mut logs = client.log_messages();
        client
            .call_tool(
                "log",
                json!({"level": "warning", "message": "disk almost full"}),
            )
            .await
            .unwrap();
        let n = tokio::time::timeout(Duration::from_secs(10), logs.recv())
            .await
            .unwrap()
            .unwrap();
        match n {
            ServerNotification::LoggingMessage(m) => {
                assert_eq!(m.level, LoggingLevel::Warning);
                assert_eq!(m.data, json!("disk almost full"));
                assert_eq!(m.logger.as_deref(), Some("testkit"));
            }
            other => panic!("unexpected {other:?}"),
        }
        if mode == LifecycleMode::Stateless {
            // The stateless era has no setLevel: the level rides in `_meta`.
            let call = gw.requests_for("tools/call").pop().unwrap();
            assert_eq!(
                call.body.unwrap()["params"]["_meta"]["io.modelcontextprotocol/logLevel"],
                "debug"
            );
        } else {
            assert_eq!(gw.requests_for("logging/setLevel").len(), 1);
        }
    }
}

#[tokio::test]
async fn progress_can_reset_the_timeout_and_the_overall_limit_still_holds() {
    let gw = gateway().await;
    for mode in ERAS {
        let client = Client::builder(gw.url())
            .lifecycle(mode)
            .connect()
            .await
            .unwrap();
        let args = json!({"steps": 6, "delay_ms": 150});
        // Without resetting, 6 × 150 ms cannot fit into 600 ms.
        let err = client
            .call_tool_raw(
                "slow",
                args.clone(),
                CallOptions::timeout(Duration::from_millis(600)),
            )
            .await
            .unwrap_err();
        assert!(err.is_timeout(), "{mode:?}: {err:?}");
        // Each progress notification restarts the 600 ms clock.
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        let ok = client
            .call_tool_raw(
                "slow",
                args.clone(),
                CallOptions::timeout(Duration::from_millis(600))
                    .with_progress(tx)
                    .reset_timeout_on_progress(Some(Duration::from_secs(30))),
            )
            .await
            .unwrap();
        assert_ne!(ok.is_error, Some(true));
        let mut seen = 0;
        while rx.try_recv().is_ok() {
            seen += 1;
        }
        assert_eq!(seen, 6, "{mode:?}");
        // The overall maximum is enforced even while progress keeps coming.
        let err = client
            .call_tool_raw(
                "slow",
                json!({"steps": 100, "delay_ms": 50}),
                CallOptions::timeout(Duration::from_secs(5))
                    .reset_timeout_on_progress(Some(Duration::from_millis(300))),
            )
            .await
            .unwrap_err();
        assert!(err.is_timeout(), "{mode:?}: {err:?}");
    }
}

#[tokio::test]
async fn an_explicit_cancel_ends_the_call_and_tells_the_server() {
    let gw = gateway().await;
    let client = Client::builder(gw.url())
        .lifecycle(LifecycleMode::Stateful)
        .connect()
        .await
        .unwrap();
    let cancel = CancelHandle::new();
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let call = {
        let client = client.clone();
        let options = CallOptions::default()
            .with_progress(tx)
            .with_cancel(cancel.clone());
        tokio::spawn(async move {
            client
                .call_tool_raw("slow", json!({"steps": 200, "delay_ms": 50}), options)
                .await
        })
    };
    rx.recv().await.expect("the call made progress");
    cancel.cancel();
    let err = call.await.unwrap().unwrap_err();
    assert!(err.is_cancelled(), "{err:?}");
    let mut sent = Vec::new();
    for _ in 0..200 {
        sent = gw.requests_for("notifications/cancelled");
        if !sent.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let params = &sent[0].body.as_ref().unwrap()["params"];
    let call_id = gw.requests_for("tools/call")[0].body.as_ref().unwrap()["id"].clone();
    assert_eq!(params["requestId"], call_id);
    assert_eq!(params["reason"], "cancelled by the caller");
    // A cancelled handle cancels later calls at once.
    let err = client
        .call_tool_raw(
            "echo",
            json!({"message": "x"}),
            CallOptions::default().with_cancel(cancel),
        )
        .await
        .unwrap_err();
    assert!(err.is_cancelled());
}

#[tokio::test]
async fn resource_updates_and_list_changes_arrive_on_the_listen_stream() {
    let gw = TestGateway::start(
        GatewayConfig::default()
            .era(EraSupport::StatefulOnly)
            .response_mode(ResponseMode::Sse),
    )
    .await
    .unwrap();
    let client = Client::builder(gw.url()).connect().await.unwrap();
    let filter = SubscriptionFilter::new()
        .resources_list_changed(true)
        .resource_subscriptions(vec!["test://text/1".to_owned()]);
    let mut stream = client.listen(filter).await.unwrap();
    assert_eq!(gw.requests_for("resources/subscribe").len(), 1);
    // Wait for the GET stream to be attached, then have the server push.
    let mut pushed = 0;
    for _ in 0..200 {
        let r = ask(&client, "touch_resource", json!({"uri": "test://text/1"})).await;
        pushed = r["streams"].as_u64().unwrap();
        if pushed > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(pushed > 0, "the client never opened its GET stream");
    let first = tokio::time::timeout(Duration::from_secs(10), stream.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(&first, ServerNotification::ResourceUpdated(u) if u.uri == "test://text/1"),
        "{first:?}"
    );
    let second = tokio::time::timeout(Duration::from_secs(10), stream.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(second, ServerNotification::ResourceListChanged(_)));
    drop(stream);
    for _ in 0..200 {
        if !gw.requests_for("resources/unsubscribe").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(gw.requests_for("resources/unsubscribe").len(), 1);
}

#[tokio::test]
async fn completion_in_both_eras() {
    let gw = gateway().await;
    for mode in ERAS {
        let client = Client::builder(gw.url())
            .lifecycle(mode)
            .connect()
            .await
            .unwrap();
        let result = client
            .complete(CompleteParams::new(
                CompletionReference::Prompt(PromptReference::new("greeting")),
                CompletionArgument::new("name", "Al"),
            ))
            .await
            .unwrap();
        assert_eq!(result.completion.values, ["Alice", "Albert"], "{mode:?}");
    }
}
