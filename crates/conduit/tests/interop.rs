//! Interop: the client against the reference server `@modelcontextprotocol/server-everything`
//! (Streamable HTTP, bound to 127.0.0.1). `cargo xtask test` installs it and sets
//! `CONDUIT_NODE` and `CONDUIT_SERVER_EVERYTHING`; without them (a bare `cargo test`) the test
//! says so and returns.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use conduit::{Client, Era, LifecycleMode};
use serde_json::json;

#[path = "support/everything.rs"]
mod everything;

struct Server {
    _server: everything::Server,
    url: String,
}

async fn server_everything() -> Option<Server> {
    let server = everything::start("streamableHttp").await?;
    let url = format!("{}/mcp", server.base);
    Some(Server {
        _server: server,
        url,
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
    // A tool with an outputSchema (zod-generated): its result is checked against it and passes.
    let weather = tools
        .iter()
        .find(|t| t.name == "get-structured-content")
        .expect("server-everything lists get-structured-content");
    assert!(weather.output_schema.is_some());
    let result = client
        .call_tool("get-structured-content", json!({"location": "Chicago"}))
        .await
        .unwrap();
    let structured = result.structured_content.expect("structured content");
    assert!(structured["temperature"].is_number(), "{structured}");

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

/// What the session checks beyond list/call: server requests answered by the client's
/// handlers, progress, resource subscriptions and logging. Each assertion needs the server to
/// have really used the feature (a handler's answer appears in a tool result, a notification
/// arrived).
mod beyond_list_and_call {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use conduit::types::{
        CreateMessageResult, ElicitAction, ElicitResult, LoggingLevel, Root, ServerNotification,
        TaskStatus, TaskSupport,
    };
    use conduit::{CallOptions, Client, ClientBuilder, Era};
    use serde_json::{json, Value};

    /// Calls served by the handlers.
    #[derive(Default)]
    pub(super) struct Seen {
        sampling: AtomicUsize,
        elicitation: AtomicUsize,
    }

    pub(super) fn with_handlers(builder: ClientBuilder, seen: &Arc<Seen>) -> ClientBuilder {
        let sampled = seen.clone();
        let elicited = seen.clone();
        builder
            .roots(vec![
                Root::new("file:///interop/workspace").name("interop-root")
            ])
            .on_sampling(false, move |params| {
                let sampled = sampled.clone();
                async move {
                    sampled.sampling.fetch_add(1, Ordering::SeqCst);
                    let asked = serde_json::to_string(&params.messages).unwrap_or_default();
                    Ok(serde_json::from_value::<CreateMessageResult>(json!({
                        "role": "assistant",
                        "content": {
                            "type": "text",
                            "text": format!("conduit-sampled-reply (asked {} chars)", asked.len())
                        },
                        "model": "conduit-interop-model",
                        "stopReason": "endTurn"
                    }))
                    .expect("a valid sampling result"))
                }
            })
            .on_elicitation(move |form| {
                let elicited = elicited.clone();
                async move {
                    elicited.elicitation.fetch_add(1, Ordering::SeqCst);
                    assert!(!form.message.is_empty());
                    let mut content = serde_json::Map::new();
                    // simulate-research-query asks which interpretation of its topic is meant:
                    // choose the second one offered, so the report proves it was our answer.
                    if let Some(choices) = form
                        .requested_schema
                        .get("properties")
                        .and_then(|p| p.get("interpretation"))
                        .and_then(|i| i.get("oneOf"))
                        .and_then(Value::as_array)
                    {
                        content.insert("interpretation".into(), choices[1]["const"].clone());
                        return Ok(ElicitResult::new(ElicitAction::Accept).content(content));
                    }
                    content.insert("name".into(), json!("Ada Lovelace"));
                    content.insert("check".into(), json!(true));
                    Ok(ElicitResult::new(ElicitAction::Accept).content(content))
                }
            })
    }

    async fn text_of(client: &Client, tool: &str, args: Value, options: CallOptions) -> String {
        let result = client.call_tool_raw(tool, args, options).await.unwrap();
        let v = serde_json::to_value(&result).unwrap();
        assert_ne!(v["isError"], json!(true), "{tool}: {v}");
        v["content"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub(super) async fn exercise(client: &Client, seen: &Seen) {
        assert_eq!(client.era(), Some(Era::Stateful));
        let tools = client.list_tools().await.unwrap();
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
        for tool in [
            "trigger-long-running-operation",
            "trigger-sampling-request",
            "trigger-elicitation-request",
            "get-roots-list",
            "toggle-subscriber-updates",
            "toggle-simulated-logging",
        ] {
            assert!(names.contains(&tool), "{tool} missing from {names:?}");
        }

        // Progress: one notification per step, routed to this call's receiver.
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        let text = text_of(
            client,
            "trigger-long-running-operation",
            json!({"duration": 0.3, "steps": 3}),
            CallOptions::default().with_progress(tx),
        )
        .await;
        assert!(text.contains("Steps: 3"), "{text}");
        let mut progress = Vec::new();
        while let Ok(p) = rx.try_recv() {
            progress.push((p.progress, p.total));
        }
        assert_eq!(
            progress,
            vec![(1.0, Some(3.0)), (2.0, Some(3.0)), (3.0, Some(3.0))]
        );

        // Sampling: the server asks the client's handler, and returns its answer.
        let text = text_of(
            client,
            "trigger-sampling-request",
            json!({"prompt": "What is 2+2?", "maxTokens": 20}),
            CallOptions::default(),
        )
        .await;
        assert!(text.contains("conduit-sampled-reply"), "{text}");
        assert!(text.contains("conduit-interop-model"), "{text}");
        assert_eq!(seen.sampling.load(Ordering::SeqCst), 1);

        // Elicitation (form mode): the handler's answer comes back in the result.
        let text = text_of(
            client,
            "trigger-elicitation-request",
            json!({}),
            CallOptions::default(),
        )
        .await;
        assert!(text.contains("Ada Lovelace"), "{text}");
        assert_eq!(seen.elicitation.load(Ordering::SeqCst), 1);

        // Roots: the server lists the client's roots.
        let text = text_of(client, "get-roots-list", json!({}), CallOptions::default()).await;
        assert!(
            text.contains("file:///interop/workspace") && text.contains("interop-root"),
            "{text}"
        );

        // Logging: with the level at debug every simulated message passes; one is sent at once.
        client.set_level(LoggingLevel::Debug).await.unwrap();
        let mut logs = client.log_messages();
        let text = text_of(
            client,
            "toggle-simulated-logging",
            json!({}),
            CallOptions::default(),
        )
        .await;
        assert!(text.contains("Started"), "{text}");
        let n = tokio::time::timeout(Duration::from_secs(15), logs.recv())
            .await
            .expect("a log message within 15 s (the server sends one every 5 s)")
            .unwrap();
        match n {
            ServerNotification::LoggingMessage(m) => {
                let data = m.data.as_str().unwrap_or_default().to_owned();
                assert!(data.contains("message"), "{data}");
            }
            other => panic!("unexpected {other:?}"),
        }
        text_of(
            client,
            "toggle-simulated-logging",
            json!({}),
            CallOptions::default(),
        )
        .await;

        // Resource subscription: updates for the subscribed URI arrive.
        let resources = client.list_resources().await.unwrap();
        let uri = resources[0].uri.clone();
        let mut updates = client.notifications();
        client.subscribe_resource(&uri).await.unwrap();
        let text = text_of(
            client,
            "toggle-subscriber-updates",
            json!({}),
            CallOptions::default(),
        )
        .await;
        assert!(text.contains("Started"), "{text}");
        let updated = tokio::time::timeout(Duration::from_secs(15), async {
            while let Some(n) = updates.recv().await {
                if let ServerNotification::ResourceUpdated(u) = n {
                    return Some(u.uri);
                }
            }
            None
        })
        .await
        .expect("an update within 15 s (the server sends them every 5 s)");
        assert_eq!(updated.as_deref(), Some(uri.as_str()));
        text_of(
            client,
            "toggle-subscriber-updates",
            json!({}),
            CallOptions::default(),
        )
        .await;
        client.unsubscribe_resource(&uri).await.unwrap();

        research_tasks(client, seen, &tools).await;
    }

    /// Tasks (2025-11-25): `simulate-research-query` requires a task. Run as a task with an
    /// ambiguous topic, it reports its stages in `statusMessage`, turns `input_required`, asks
    /// the client's elicitation handler through the `tasks/result` stream, and writes the
    /// chosen interpretation into its report. Called plainly, it goes through a task too.
    async fn research_tasks(client: &Client, seen: &Seen, tools: &[conduit::types::Tool]) {
        let research = tools
            .iter()
            .find(|t| t.name == "simulate-research-query")
            .expect("simulate-research-query is listed");
        assert_eq!(
            research
                .execution
                .as_ref()
                .and_then(|e| e.task_support.clone()),
            Some(TaskSupport::Required)
        );
        let elicited_before = seen.elicitation.load(Ordering::SeqCst);
        let as_task = async {
            let task = client
                .call_tool_as_task_with(
                    "simulate-research-query",
                    json!({"topic": "python", "ambiguous": true}),
                    None,
                    CallOptions::timeout(Duration::from_secs(60)),
                )
                .await
                .unwrap();
            assert!(task.id().is_some_and(|id| !id.is_empty()));
            let mut statuses = Vec::new();
            let result = task
                .wait_with(|status, message| {
                    statuses.push((status.clone(), message.map(str::to_owned)))
                })
                .await
                .unwrap();
            (result, statuses)
        };
        // Plain call_tool of a task-required tool: transparently through a task.
        let plain = client.call_tool("simulate-research-query", json!({"topic": "tides"}));
        let ((result, statuses), plain) = tokio::join!(as_task, plain);

        let report = serde_json::to_string(&result.content).unwrap();
        assert!(
            report.contains("Research Report: python (snake)"),
            "the chosen interpretation is in the report: {report}"
        );
        assert_eq!(
            seen.elicitation.load(Ordering::SeqCst),
            elicited_before + 1,
            "the ambiguous query asked the handler once"
        );
        assert_eq!(statuses[0].0, TaskStatus::Working, "{statuses:?}");
        assert!(
            statuses.iter().any(|(s, m)| *s == TaskStatus::InputRequired
                && m.as_deref()
                    .is_some_and(|m| m.contains("multiple interpretations"))),
            "{statuses:?}"
        );
        assert!(
            statuses.iter().any(|(s, m)| *s == TaskStatus::Working
                && m.as_deref().is_some_and(|m| m.ends_with("..."))),
            "stage progress in statusMessage: {statuses:?}"
        );

        let plain = serde_json::to_string(&plain.unwrap().content).unwrap();
        assert!(plain.contains("Research Report: tides"), "{plain}");
    }
}

#[tokio::test]
async fn progress_sampling_elicitation_roots_logging_subscriptions_over_http() {
    let Some(server) = server_everything().await else {
        return;
    };
    let seen = std::sync::Arc::new(beyond_list_and_call::Seen::default());
    let client = beyond_list_and_call::with_handlers(Client::builder(&server.url), &seen)
        .connect()
        .await
        .unwrap();
    beyond_list_and_call::exercise(&client, &seen).await;
    client.close().await.unwrap();
}

#[cfg(feature = "stdio")]
#[tokio::test]
async fn progress_sampling_elicitation_roots_logging_subscriptions_over_stdio() {
    let (Some(node), Some(entry)) = (
        std::env::var_os("CONDUIT_NODE"),
        std::env::var_os("CONDUIT_SERVER_EVERYTHING"),
    ) else {
        eprintln!(
            "skipping: CONDUIT_NODE / CONDUIT_SERVER_EVERYTHING not set (run `cargo xtask test`)"
        );
        return;
    };
    let seen = std::sync::Arc::new(beyond_list_and_call::Seen::default());
    let builder = Client::builder_stdio(node, [entry, "stdio".into()]);
    let client = beyond_list_and_call::with_handlers(builder, &seen)
        .connect()
        .await
        .unwrap();
    beyond_list_and_call::exercise(&client, &seen).await;
    client.close().await.unwrap();
}
