//! Tasks in both shapes (2025-11-25 core tasks, 2026-07-28 tasks extension) against the test
//! gateway.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use conduit::types::TaskStatus;
use conduit::{CallOptions, Client, Era, Error, LifecycleMode};
use conduit_testkit::{GatewayConfig, TestGateway};
use serde_json::{json, Value};

const ERAS: [LifecycleMode; 2] = [LifecycleMode::Stateful, LifecycleMode::Stateless];
const POLLS: u32 = 3;

async fn gateway(config: GatewayConfig) -> TestGateway {
    TestGateway::start(
        config
            .task_polls(POLLS)
            .task_poll_interval(Duration::from_millis(5)),
    )
    .await
    .expect("gateway starts")
}

async fn client(gw: &TestGateway, mode: LifecycleMode) -> Client {
    Client::builder(gw.url())
        .lifecycle(mode)
        .connect()
        .await
        .expect("connects")
}

fn text(result: &conduit::types::CallToolResult) -> String {
    serde_json::to_value(&result.content).unwrap()[0]["text"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn task_augmented_call_is_polled_to_its_result_in_both_eras() {
    for mode in ERAS {
        let gw = gateway(GatewayConfig::default()).await;
        let c = client(&gw, mode).await;
        let task = c
            .call_tool_as_task(
                "long_task",
                json!({"label": "x"}),
                Some(Duration::from_secs(60)),
            )
            .await
            .unwrap();
        assert_eq!(task.status(), TaskStatus::Working, "{mode:?}");
        assert_eq!(task.poll_interval(), Some(Duration::from_millis(5)));
        assert!(!task.id().unwrap().is_empty());
        let result = task.wait().await.unwrap();
        assert_eq!(text(&result), "long_task done: x", "{mode:?}");
        // Completion comes only after the configured number of polls.
        assert_eq!(
            gw.requests_for("tasks/get").len(),
            POLLS as usize,
            "{mode:?}"
        );
        let call = &gw.requests_for("tools/call")[0];
        match mode {
            LifecycleMode::Stateful => {
                assert_eq!(call.params().unwrap()["task"], json!({"ttl": 60000}));
                assert_eq!(gw.requests_for("tasks/result").len(), 1);
            }
            _ => {
                assert!(call.params().unwrap().get("task").is_none());
                assert!(
                    call.params().unwrap()["_meta"]["io.modelcontextprotocol/clientCapabilities"]
                        ["extensions"]
                        .get("io.modelcontextprotocol/tasks")
                        .is_some(),
                    "per-request opt-in"
                );
                assert!(gw.requests_for("tasks/result").is_empty());
            }
        }
        c.close().await.unwrap();
    }
}

#[tokio::test]
async fn cancel_uses_tasks_cancel_never_notifications_cancelled() {
    for mode in ERAS {
        let gw = gateway(GatewayConfig::default().task_polls(1000)).await;
        let c = client(&gw, mode).await;
        let mut task = c
            .call_tool_as_task("task_required", json!({}), None)
            .await
            .unwrap();
        assert_eq!(task.refresh().await.unwrap(), TaskStatus::Working);
        assert_eq!(
            task.cancel().await.unwrap(),
            TaskStatus::Cancelled,
            "{mode:?}"
        );
        assert_eq!(task.status(), TaskStatus::Cancelled);
        let cancels = gw.requests_for("tasks/cancel");
        assert_eq!(cancels.len(), 1, "{mode:?}");
        assert_eq!(
            cancels[0].params().unwrap()["taskId"],
            json!(task.id().unwrap())
        );
        assert!(
            gw.requests_for("notifications/cancelled").is_empty(),
            "{mode:?}"
        );
        // A cancelled task never reports success.
        assert!(
            matches!(task.wait().await, Err(Error::Cancelled { .. })),
            "{mode:?}"
        );
        assert!(
            gw.requests_for("notifications/cancelled").is_empty(),
            "{mode:?}"
        );
        c.close().await.unwrap();
    }
}

#[tokio::test]
async fn list_tasks_pages_through_stateful_tasks() {
    let gw = gateway(GatewayConfig::default().page_size(1)).await;
    let c = client(&gw, LifecycleMode::Stateful).await;
    let a = c
        .call_tool_as_task("long_task", json!({}), None)
        .await
        .unwrap();
    let b = c
        .call_tool_as_task("long_task", json!({}), None)
        .await
        .unwrap();
    let tasks = c.list_tasks().await.unwrap();
    let ids: Vec<_> = tasks.iter().map(|t| Some(t.task_id.as_str())).collect();
    assert_eq!(ids, [a.id(), b.id()]);
    assert_eq!(
        gw.requests_for("tasks/list").len(),
        2,
        "one request per page"
    );

    let gw = gateway(GatewayConfig::default()).await;
    let c = client(&gw, LifecycleMode::Stateless).await;
    assert!(matches!(
        c.list_tasks().await,
        Err(Error::TaskUnsupported { .. })
    ));
    assert!(gw.requests_for("tasks/list").is_empty());
}

#[tokio::test]
async fn task_support_is_checked_before_sending() {
    for mode in ERAS {
        let gw = gateway(GatewayConfig::default()).await;
        let c = client(&gw, mode).await;
        // `echo` declares no taskSupport: forbidden.
        let err = c
            .call_tool_as_task("echo", json!({"message": "m"}), None)
            .await;
        assert!(
            matches!(&err, Err(Error::TaskUnsupported { tool, .. }) if tool == "echo"),
            "{mode:?}: {err:?}"
        );
        assert!(gw.requests_for("tools/call").is_empty(), "nothing sent");
        // Optional: a plain call runs synchronously.
        let r = c
            .call_tool("long_task", json!({"label": "now"}))
            .await
            .unwrap();
        assert_eq!(text(&r), "long_task done: now");
        c.close().await.unwrap();
    }
}

#[tokio::test]
async fn an_unlisted_tool_is_refused_before_sending() {
    let gw = gateway(GatewayConfig::default()).await;
    let c = client(&gw, LifecycleMode::Stateless).await;
    assert_eq!(c.era(), Some(Era::Stateless));
    let err = c.call_tool_as_task("no_such_tool", json!({}), None).await;
    assert!(matches!(err, Err(Error::TaskUnsupported { .. })), "{err:?}");
    assert!(gw.requests_for("tools/call").is_empty());
}

#[tokio::test]
async fn a_task_reply_to_a_plain_call_is_awaited_transparently() {
    let gw = gateway(GatewayConfig::default().tasks_unsolicited(true)).await;
    let c = client(&gw, LifecycleMode::Stateless).await;
    let result = c
        .call_tool("long_task", json!({"label": "quiet"}))
        .await
        .unwrap();
    assert_eq!(text(&result), "long_task done: quiet");
    assert_eq!(gw.requests_for("tasks/get").len(), POLLS as usize);
    assert!(gw.requests_for("tools/call")[0]
        .params()
        .unwrap()
        .get("task")
        .is_none());
}

/// A task-required tool called with plain `call_tool`: through a task once the client has seen
/// it listed; the server's own error while it has not.
#[tokio::test]
async fn a_plain_call_of_a_task_required_tool_goes_through_a_task_once_listed() {
    for mode in ERAS {
        let gw = gateway(GatewayConfig::default()).await;
        let c = client(&gw, mode).await;
        // Never listed: sent as it is; the server's error stands, typed.
        let err = c.call_tool("task_required", json!({})).await;
        let expected = match mode {
            LifecycleMode::Stateful => -32601,
            _ => -32021,
        };
        assert!(
            matches!(&err, Err(Error::Rpc { code, .. }) if *code == expected),
            "{mode:?}: {err:?}"
        );
        gw.clear_requests();

        let tools = c.list_tools().await.unwrap();
        assert!(tools.iter().any(|t| t.name == "task_required"));
        let result = c
            .call_tool("task_required", json!({"label": "plain"}))
            .await
            .unwrap();
        assert_eq!(text(&result), "task_required done: plain", "{mode:?}");
        let calls = gw.requests_for("tools/call");
        assert_eq!(calls.len(), 1, "{mode:?}");
        let params = calls[0].params().unwrap();
        match mode {
            LifecycleMode::Stateful => {
                assert!(params["task"].is_object(), "{params}");
                assert_eq!(gw.requests_for("tasks/result").len(), 1);
            }
            _ => assert!(
                params["_meta"]["io.modelcontextprotocol/clientCapabilities"]["extensions"]
                    .get("io.modelcontextprotocol/tasks")
                    .is_some(),
                "{params}"
            ),
        }
        assert_eq!(gw.requests_for("tasks/get").len(), POLLS as usize);
        // An optional tool still runs synchronously when called plainly.
        let r = c
            .call_tool("long_task", json!({"label": "now"}))
            .await
            .unwrap();
        assert_eq!(text(&r), "long_task done: now");
        assert_eq!(gw.requests_for("tools/call").len(), 2);
        assert!(gw.requests_for("tools/call")[1]
            .params()
            .unwrap()
            .get("task")
            .is_none());
        c.close().await.unwrap();
    }
}

#[tokio::test]
async fn a_2026_task_answered_at_once_has_no_id_and_sends_nothing_more() {
    let gw = gateway(GatewayConfig::default().tasks_immediate(true)).await;
    let c = client(&gw, LifecycleMode::Stateless).await;
    let mut task = c
        .call_tool_as_task("long_task", json!({"label": "now"}), None)
        .await
        .unwrap();
    assert_eq!(task.id(), None, "no task exists on the server");
    assert_eq!(task.status(), TaskStatus::Completed);
    assert_eq!(task.refresh().await.unwrap(), TaskStatus::Completed);
    assert_eq!(task.cancel().await.unwrap(), TaskStatus::Completed);
    let result = task.wait().await.unwrap();
    assert_eq!(text(&result), "long_task done: now");
    for method in ["tasks/get", "tasks/cancel", "tasks/update"] {
        assert!(gw.requests_for(method).is_empty(), "{method} sent");
    }
    assert_eq!(gw.requests_for("tools/call").len(), 1);
}

#[tokio::test]
async fn a_wait_that_times_out_cancels_the_task_unless_told_not_to() {
    for mode in ERAS {
        for cancel in [true, false] {
            // Never completes by polling (the `gateway` helper would set the poll count).
            let gw = TestGateway::start(
                GatewayConfig::default()
                    .task_polls(u32::MAX)
                    .task_poll_interval(Duration::from_millis(5)),
            )
            .await
            .unwrap();
            let c = client(&gw, mode).await;
            let task = c
                .call_tool_as_task_with(
                    "task_required",
                    json!({}),
                    None,
                    // Generous, as the creating call shares this deadline with the wait (a
                    // loaded machine must not time out the creation itself).
                    CallOptions::timeout(Duration::from_secs(2)),
                )
                .await
                .unwrap();
            let id = task.id().unwrap().to_owned();
            let err = task.cancel_on_timeout(cancel).wait().await.unwrap_err();
            assert!(err.is_timeout(), "{mode:?}: {err:?}");
            match &err {
                Error::TaskTimeout {
                    tool,
                    task_id,
                    cancelled,
                    ..
                } => {
                    assert_eq!(tool, "task_required");
                    assert_eq!(task_id, &id);
                    assert_eq!(*cancelled, cancel, "{mode:?}");
                }
                other => panic!("{mode:?}: {other:?}"),
            }
            let cancels = gw.requests_for("tasks/cancel");
            if cancel {
                assert_eq!(cancels.len(), 1, "{mode:?}");
                assert_eq!(cancels[0].params().unwrap()["taskId"], json!(id));
            } else {
                assert!(cancels.is_empty(), "{mode:?}");
            }
            // The task is never cancelled with `notifications/cancelled`: one may only name a
            // `tasks/get` poll the deadline cut short.
            let polls: Vec<Value> = gw
                .requests_for("tasks/get")
                .iter()
                .map(|r| r.body.as_ref().unwrap()["id"].clone())
                .collect();
            for n in gw.requests_for("notifications/cancelled") {
                let named = &n.params().unwrap()["requestId"];
                assert!(polls.contains(named), "{mode:?}: cancelled {named}");
            }
            c.close().await.unwrap();
        }
    }
}

#[tokio::test]
async fn pushed_status_notifications_reach_the_handle_and_the_client() {
    // A poll interval far beyond the call's deadline: only the pushed status can end the wait.
    let gw = std::sync::Arc::new(
        TestGateway::start(
            GatewayConfig::default()
                .task_polls(u32::MAX)
                .task_poll_interval(Duration::from_secs(120)),
        )
        .await
        .unwrap(),
    );
    let c = client(&gw, LifecycleMode::Stateful).await;
    let mut all = c.notifications();
    let task = c
        .call_tool_as_task_with(
            "task_required",
            json!({"label": "pushed"}),
            None,
            CallOptions::timeout(Duration::from_secs(20)),
        )
        .await
        .unwrap();
    assert_eq!(
        task.poll_interval(),
        Some(conduit::tasks::MAX_POLL_INTERVAL)
    );
    let id = task.id().unwrap().to_owned();
    let waiting = tokio::spawn(async move {
        let mut seen = Vec::new();
        let result = task
            .wait_with(|status, message| seen.push((status.clone(), message.map(str::to_owned))))
            .await;
        (result, seen)
    });
    // Push once the client's GET stream is open.
    let mut pushed = 0;
    for _ in 0..250 {
        pushed = gw.complete_task(&id).unwrap();
        if pushed > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(pushed > 0, "the client never opened its GET stream");
    let (result, seen) = waiting.await.unwrap();
    assert_eq!(text(&result.unwrap()), "task_required done: pushed");
    assert!(
        seen.contains(&(TaskStatus::Completed, Some("finished (pushed)".into()))),
        "{seen:?}"
    );
    assert_eq!(seen[0].0, TaskStatus::Working);
    // Confirmed with one tasks/get, never a poll loop.
    assert_eq!(gw.requests_for("tasks/get").len(), 1);
    let n = tokio::time::timeout(Duration::from_secs(5), all.recv())
        .await
        .unwrap()
        .unwrap();
    match n {
        conduit::types::ServerNotification::TaskStatus(t) => {
            assert_eq!(t.task_id, id);
            assert_eq!(t.status, TaskStatus::Completed);
        }
        other => panic!("{other:?}"),
    }
}
