//! The three ways to follow a call's progress — a receiver, a callback, a stream of events —
//! against the test gateway in both eras.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use conduit::{CallEvent, CallOptions, Client, LifecycleMode};
use conduit_testkit::{GatewayConfig, ResponseMode, TestGateway};
use serde_json::json;

const ERAS: [LifecycleMode; 2] = [LifecycleMode::Stateful, LifecycleMode::Stateless];

async fn gateway() -> TestGateway {
    TestGateway::start(GatewayConfig::default().response_mode(ResponseMode::Sse))
        .await
        .expect("gateway starts")
}

#[tokio::test]
async fn a_call_stream_yields_every_update_then_the_outcome() {
    let gw = gateway().await;
    for mode in ERAS {
        let client = Client::builder(gw.url())
            .lifecycle(mode)
            .connect()
            .await
            .unwrap();
        let mut call = client.call_tool_stream(
            "slow",
            json!({"steps": 4, "delay_ms": 5}),
            CallOptions::default(),
        );
        let mut progress = Vec::new();
        let mut outcome = None;
        while let Some(event) = call.next_event().await {
            assert!(outcome.is_none(), "{mode:?}: nothing follows Done");
            match event {
                CallEvent::Progress(p) => progress.push(p.progress),
                CallEvent::Done(result) => outcome = Some(result),
                _ => unreachable!(),
            }
        }
        assert_eq!(progress, vec![1.0, 2.0, 3.0, 4.0], "{mode:?}");
        let result = outcome.expect("Done is the last event").unwrap();
        assert_eq!(result.content[0].as_text(), Some("done"), "{mode:?}");

        // A failing call ends the stream with its error, never a success.
        let call = client.call_tool_stream("no_such_tool", json!({}), CallOptions::default());
        assert!(call.result().await.is_err(), "{mode:?}");
    }
}

#[tokio::test]
async fn a_progress_callback_sees_every_update_in_order_before_the_call_returns() {
    let gw = gateway().await;
    for mode in ERAS {
        let client = Client::builder(gw.url())
            .lifecycle(mode)
            .connect()
            .await
            .unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let options = CallOptions::default().on_progress(move |p| {
            sink.lock().unwrap().push((p.progress, p.message.clone()));
        });
        client
            .call_tool_raw("slow", json!({"steps": 3, "delay_ms": 5}), options)
            .await
            .unwrap();
        let seen = seen.lock().unwrap().clone();
        let steps: Vec<f64> = seen.iter().map(|(p, _)| *p).collect();
        assert_eq!(steps, vec![1.0, 2.0, 3.0], "{mode:?}");
        assert_eq!(seen[2].1.as_deref(), Some("step 3 of 3"), "{mode:?}");
        let call = gw.requests_for("tools/call").pop().unwrap();
        assert!(call.body.unwrap()["params"]["_meta"]["progressToken"].is_string());
    }
}

#[tokio::test]
async fn dropping_a_call_stream_cancels_the_call() {
    let gw = gateway().await;
    let client = Client::builder(gw.url())
        .lifecycle(LifecycleMode::Stateful)
        .connect()
        .await
        .unwrap();
    let mut call = client.call_tool_stream(
        "slow",
        json!({"steps": 200, "delay_ms": 50}),
        CallOptions::default(),
    );
    match call.next_event().await {
        Some(CallEvent::Progress(_)) => {}
        other => panic!("expected progress first, got {other:?}"),
    }
    drop(call);
    let mut sent = Vec::new();
    for _ in 0..250 {
        sent = gw.requests_for("notifications/cancelled");
        if !sent.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !sent.is_empty(),
        "dropping the stream sends notifications/cancelled"
    );
    let call_id = gw.requests_for("tools/call")[0].body.as_ref().unwrap()["id"].clone();
    assert_eq!(
        sent[0].body.as_ref().unwrap()["params"]["requestId"],
        call_id
    );
}
