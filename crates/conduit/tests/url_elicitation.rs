//! `-32042` URL elicitation required (2025-11-25) against the test gateway's `needs_consent`
//! tool: the typed error without a handler; with one, the handler is asked, the client waits
//! for `notifications/elicitation/complete` and retries once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use conduit::types::{ElicitAction, ElicitResult, ElicitUrlParams, ServerNotification};
use conduit::{Client, Error, LifecycleMode};
use conduit_testkit::{GatewayConfig, TestGateway};
use serde_json::json;

async fn gateway() -> Arc<TestGateway> {
    Arc::new(
        TestGateway::start(GatewayConfig::default())
            .await
            .expect("gateway starts"),
    )
}

fn text(result: &conduit::types::CallToolResult) -> String {
    serde_json::to_value(&result.content).unwrap()[0]["text"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn without_a_handler_the_error_is_typed_and_carries_the_elicitations() {
    let gw = gateway().await;
    let c = Client::builder(gw.url())
        .lifecycle(LifecycleMode::Stateful)
        .connect()
        .await
        .unwrap();
    let err = c.call_tool("needs_consent", json!({})).await.unwrap_err();
    assert_eq!(err.rpc_code(), Some(-32042));
    match &err {
        Error::UrlElicitationRequired {
            method,
            elicitations,
            ..
        } => {
            assert_eq!(method, "tools/call");
            assert_eq!(elicitations.len(), 1);
            let e = &elicitations[0];
            assert_eq!(e.url, "https://consent.example.test/consent-1");
            assert_eq!(e.elicitation_id.as_deref(), Some("consent-1"));
            assert_eq!(e.message, "Please grant access to the test gateway.");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.url_elicitations().map(|v| v.len()), Some(1));
    assert_eq!(gw.requests_for("tools/call").len(), 1, "no retry");
    c.close().await.unwrap();
}

/// The handler "opens" the page: the gateway completes the elicitation a little later and
/// pushes `notifications/elicitation/complete`; a retry sent before that would be refused
/// again.
#[tokio::test]
async fn the_handler_is_asked_and_the_call_retried_once_after_completion() {
    let gw = gateway().await;
    let asked: Arc<Mutex<Vec<ElicitUrlParams>>> = Arc::default();
    let (gw2, asked2) = (gw.clone(), asked.clone());
    let c = Client::builder(gw.url())
        .lifecycle(LifecycleMode::Stateful)
        .timeout(Duration::from_secs(20))
        .on_url_elicitation(move |params| {
            asked2.lock().unwrap().push(params.clone());
            let gw = gw2.clone();
            async move {
                let id = params.elicitation_id.clone().unwrap();
                // The user finishes the page after the consent was given.
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    for _ in 0..250 {
                        if gw.complete_url_elicitation(&id).unwrap() > 0 {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                });
                Ok(ElicitResult::new(ElicitAction::Accept))
            }
        })
        .connect()
        .await
        .unwrap();
    let mut notes = c.notifications();
    let result = c.call_tool("needs_consent", json!({})).await.unwrap();
    assert_eq!(text(&result), "consented via consent-1");
    let asked = asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].url, "https://consent.example.test/consent-1");
    assert_eq!(gw.requests_for("tools/call").len(), 2, "one retry");
    let n = tokio::time::timeout(Duration::from_secs(5), notes.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(&n, ServerNotification::ElicitationComplete(c) if c.elicitation_id == "consent-1"),
        "{n:?}"
    );
    c.close().await.unwrap();
}

#[tokio::test]
async fn a_declined_elicitation_is_not_retried() {
    let gw = gateway().await;
    let c = Client::builder(gw.url())
        .lifecycle(LifecycleMode::Stateful)
        .on_url_elicitation(|_| async { Ok(ElicitResult::new(ElicitAction::Decline)) })
        .connect()
        .await
        .unwrap();
    let err = c.call_tool("needs_consent", json!({})).await.unwrap_err();
    assert!(
        matches!(&err, Error::UrlElicitationRequired { elicitations, .. } if elicitations.len() == 1),
        "{err:?}"
    );
    assert_eq!(gw.requests_for("tools/call").len(), 1);
    c.close().await.unwrap();
}

/// Accepted, but the page is never completed: the client retries once (after its bounded wait)
/// and the second refusal is the typed error — never a loop.
#[tokio::test]
async fn a_second_refusal_ends_the_call() {
    let gw = gateway().await;
    let c = Client::builder(gw.url())
        .lifecycle(LifecycleMode::Stateful)
        // The bounded wait for a completion that never comes is half of this.
        .timeout(Duration::from_secs(2))
        .on_url_elicitation(|_| async { Ok(ElicitResult::new(ElicitAction::Accept)) })
        .connect()
        .await
        .unwrap();
    let err = c.call_tool("needs_consent", json!({})).await.unwrap_err();
    assert!(
        matches!(&err, Error::UrlElicitationRequired { elicitations, .. }
            if elicitations[0].elicitation_id.as_deref() == Some("consent-2")),
        "{err:?}"
    );
    assert_eq!(gw.requests_for("tools/call").len(), 2);
    c.close().await.unwrap();
}
