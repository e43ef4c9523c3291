//! Tasks in both shapes (2025-11-25 core tasks, 2026-07-28 tasks extension) against the test
//! gateway.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use conduit::types::TaskStatus;
use conduit::{Client, Era, Error, LifecycleMode};
use conduit_testkit::{GatewayConfig, TestGateway};
use serde_json::json;

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
        assert!(!task.id().is_empty());
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
        assert_eq!(cancels[0].params().unwrap()["taskId"], json!(task.id()));
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
    let ids: Vec<_> = tasks.iter().map(|t| t.task_id.as_str()).collect();
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
        // A task-required tool called plainly: the server's error, typed.
        let err = c.call_tool("task_required", json!({})).await;
        let expected = match mode {
            LifecycleMode::Stateful => -32601,
            _ => -32021,
        };
        assert!(
            matches!(&err, Err(Error::Rpc { code, .. }) if *code == expected),
            "{mode:?}: {err:?}"
        );
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
