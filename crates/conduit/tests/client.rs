//! The client against the test gateway, in both eras and both response modes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use conduit::{CallOptions, Client, Era, Error, LifecycleMode};
use conduit_testkit::{
    DiscoverRejection, EraSupport, Faults, GatewayConfig, ResponseMode, TestGateway,
};
use serde_json::{json, Value};

async fn gateway(config: GatewayConfig) -> TestGateway {
    TestGateway::start(config).await.expect("gateway starts")
}

fn posts<'a>(
    requests: &'a [conduit_testkit::RecordedRequest],
    method: &'a str,
) -> impl Iterator<Item = &'a conduit_testkit::RecordedRequest> + 'a {
    requests
        .iter()
        .filter(move |r| r.http_method == "POST" && r.rpc_method.as_deref() == Some(method))
}

fn structured(result: &conduit::types::CallToolResult) -> Value {
    serde_json::to_value(result).unwrap()["structuredContent"].clone()
}

#[tokio::test]
async fn auto_picks_the_stateless_era_and_fills_meta_and_headers() {
    let gw = gateway(GatewayConfig::default()).await;
    let client = Client::builder(gw.url()).connect().await.unwrap();
    assert_eq!(client.era(), Some(Era::Stateless));
    assert_eq!(client.protocol_version().as_deref(), Some("2026-07-28"));

    let tools = client.list_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "echo"));
    let result = client
        .call_tool("add", json!({"a": 2, "b": 3}))
        .await
        .unwrap();
    assert_eq!(structured(&result)["sum"].as_f64(), Some(5.0));

    let log = gw.requests();
    let call = posts(&log, "tools/call")
        .next()
        .expect("tools/call was sent");
    assert_eq!(call.header("mcp-method"), Some("tools/call"));
    assert_eq!(call.header("mcp-name"), Some("add"));
    assert_eq!(call.header("mcp-protocol-version"), Some("2026-07-28"));
    assert_eq!(call.header("mcp-session-id"), None);
    let meta = &call.body.as_ref().unwrap()["params"]["_meta"];
    assert_eq!(
        meta["io.modelcontextprotocol/protocolVersion"],
        "2026-07-28"
    );
    assert_eq!(
        meta["io.modelcontextprotocol/clientInfo"]["name"],
        conduit::CLIENT_NAME
    );
    assert!(meta["io.modelcontextprotocol/clientCapabilities"].is_object());
    assert_eq!(
        posts(&log, "initialize").count(),
        0,
        "no initialize in the stateless era"
    );
    client.close().await.unwrap();
}

#[tokio::test]
async fn auto_falls_back_to_initialize_for_every_kind_of_refusal() {
    for rejection in [
        DiscoverRejection::MethodNotFound,
        DiscoverRejection::Http400,
        DiscoverRejection::Http404,
        DiscoverRejection::Http405,
        DiscoverRejection::NotInitialized,
    ] {
        let gw = gateway(
            GatewayConfig::default()
                .era(EraSupport::StatefulOnly)
                .discover_rejection(rejection),
        )
        .await;
        // A fresh URL each time, so the remembered outcome of another test does not apply.
        let client = Client::builder(gw.url())
            .connect()
            .await
            .unwrap_or_else(|e| {
                panic!("{rejection:?}: {e}");
            });
        assert_eq!(client.era(), Some(Era::Stateful), "{rejection:?}");
        assert_eq!(client.protocol_version().as_deref(), Some("2025-11-25"));
        let result = client
            .call_tool("echo", json!({"message": "hi"}))
            .await
            .unwrap();
        assert_eq!(structured(&result)["message"], "hi");

        let log = gw.requests();
        assert_eq!(posts(&log, "server/discover").count(), 1, "{rejection:?}");
        assert_eq!(posts(&log, "initialize").count(), 1);
        assert_eq!(posts(&log, "notifications/initialized").count(), 1);
        let call = posts(&log, "tools/call").next().unwrap();
        assert!(call.header("mcp-session-id").is_some());
        assert_eq!(call.header("mcp-protocol-version"), Some("2025-11-25"));
        client.close().await.unwrap();
        let log = gw.requests();
        assert!(
            log.iter().any(|r| r.http_method == "DELETE"),
            "close sends DELETE"
        );
    }
}

#[tokio::test]
async fn the_outcome_of_auto_is_remembered_per_server() {
    let gw = gateway(GatewayConfig::default().era(EraSupport::StatefulOnly)).await;
    let first = Client::builder(gw.url()).connect().await.unwrap();
    first.close().await.unwrap();
    gw.clear_requests();
    let second = Client::builder(gw.url()).connect().await.unwrap();
    assert_eq!(second.era(), Some(Era::Stateful));
    assert_eq!(
        posts(&gw.requests(), "server/discover").count(),
        0,
        "no second probe"
    );
    second.close().await.unwrap();
}

#[tokio::test]
async fn forced_eras() {
    let gw = gateway(GatewayConfig::default().era(EraSupport::StatelessOnly)).await;
    let err = Client::builder(gw.url())
        .lifecycle(LifecycleMode::Stateful)
        .connect()
        .await
        .unwrap_err();
    assert_eq!(err.rpc_code(), Some(-32601), "{err}");
    let client = Client::builder(gw.url())
        .lifecycle(LifecycleMode::Stateless)
        .connect()
        .await
        .unwrap();
    assert_eq!(client.era(), Some(Era::Stateless));
    client.ping().await.unwrap();

    let gw = gateway(GatewayConfig::default().era(EraSupport::StatefulOnly)).await;
    let err = Client::builder(gw.url())
        .lifecycle(LifecycleMode::Stateless)
        .connect()
        .await
        .unwrap_err();
    assert_eq!(err.rpc_code(), Some(-32601), "{err}");
}

#[tokio::test]
async fn older_stateful_versions_are_offered_and_accepted() {
    let gw = gateway(GatewayConfig::default().era(EraSupport::StatefulOnly)).await;
    let client = Client::builder(gw.url())
        .lifecycle(LifecycleMode::Stateful)
        .protocol_version("2025-03-26")
        .connect()
        .await
        .unwrap();
    assert_eq!(client.protocol_version().as_deref(), Some("2025-03-26"));
    client.ping().await.unwrap();
    let err = Client::builder(gw.url())
        .protocol_version("1999-01-01")
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
}

#[tokio::test]
async fn sse_responses_in_both_eras() {
    for mode in [LifecycleMode::Stateless, LifecycleMode::Stateful] {
        let gw = gateway(GatewayConfig::default().response_mode(ResponseMode::Sse)).await;
        let client = Client::builder(gw.url())
            .lifecycle(mode)
            .connect()
            .await
            .unwrap();
        let tools = client.list_tools().await.unwrap();
        assert!(tools.len() >= 4, "{mode:?}");
        let result = client
            .call_tool("add", json!({"a": 1.5, "b": 2}))
            .await
            .unwrap();
        assert_eq!(structured(&result)["sum"].as_f64(), Some(3.5));
        let read = client.read_resource("test://text/1").await.unwrap();
        assert!(!read.contents.is_empty());
        let prompt = client
            .get_prompt("greeting", json!({"name": "Ada"}))
            .await
            .unwrap();
        assert!(!prompt.messages.is_empty());
        client.close().await.unwrap();
    }
}

#[tokio::test]
async fn pagination_follows_every_cursor() {
    let gw = gateway(GatewayConfig::default().page_size(2)).await;
    let client = Client::builder(gw.url()).connect().await.unwrap();
    let tools = client.list_tools().await.unwrap();
    let resources = client.list_resources().await.unwrap();
    assert!(tools.len() >= 5);
    assert!(resources.len() >= 5);
    let pages = posts(&gw.requests(), "tools/list").count();
    assert_eq!(pages, tools.len().div_ceil(2));
    let first = client.list_tools_page(None).await.unwrap();
    assert_eq!(first.items.len(), 2);
    assert!(first.next_cursor.is_some());
    let mut names: Vec<_> = tools.iter().map(|t| t.name.clone()).collect();
    names.dedup();
    assert_eq!(names.len(), tools.len(), "no page read twice");
}

#[tokio::test]
async fn a_repeated_cursor_is_an_error_not_a_loop() {
    let gw = gateway(GatewayConfig::default().page_size(2)).await;
    gw.set_faults(Faults {
        repeat_cursor: true,
        ..Faults::default()
    });
    let client = Client::builder(gw.url()).connect().await.unwrap();
    let err = client.list_tools().await.unwrap_err();
    assert!(matches!(err, Error::CursorLoop { .. }), "{err}");
}

#[tokio::test]
async fn an_expired_session_is_renewed_once_and_the_call_replayed() {
    let gw = gateway(GatewayConfig::default()).await;
    let client = Client::builder(gw.url())
        .lifecycle(LifecycleMode::Stateful)
        .connect()
        .await
        .unwrap();
    client
        .call_tool("echo", json!({"message": "one"}))
        .await
        .unwrap();
    let before = gw.sessions_created();
    gw.expire_sessions();
    let result = client
        .call_tool("echo", json!({"message": "two"}))
        .await
        .unwrap();
    assert_eq!(structured(&result)["message"], "two");
    assert_eq!(gw.sessions_created(), before + 1);
    let log = gw.requests();
    assert_eq!(posts(&log, "initialize").count(), 2);
    assert_eq!(
        posts(&log, "tools/call").count(),
        3,
        "one call, one 404, one replay"
    );
}

#[tokio::test]
async fn a_result_that_breaks_the_listed_output_schema_is_refused() {
    for mode in [LifecycleMode::Stateful, LifecycleMode::Stateless] {
        let gw = gateway(GatewayConfig::default()).await;
        let client = Client::builder(gw.url())
            .lifecycle(mode)
            .connect()
            .await
            .unwrap();
        let lying = json!({"message": "hi", "break_schema": "type"});
        // Before the tool is listed its schema is unknown: nothing to check against.
        client.call_tool("echo", lying.clone()).await.unwrap();
        client.list_tools().await.unwrap();
        match client.call_tool("echo", lying.clone()).await.unwrap_err() {
            Error::OutputSchema {
                name,
                problem,
                result,
            } => {
                assert_eq!(name, "echo");
                assert!(
                    problem.contains("/message") && problem.contains("expected string"),
                    "{problem}"
                );
                assert_eq!(result.structured_content, Some(json!({"message": 42})));
            }
            other => panic!("{mode:?}: expected OutputSchema, got {other:?}"),
        }
        let missing = json!({"message": "hi", "break_schema": "missing"});
        let err = client.call_tool("echo", missing).await.unwrap_err();
        assert!(err.to_string().contains("no structuredContent"), "{err}");
        // A conforming result passes; the raw call never checks.
        client
            .call_tool("echo", json!({"message": "ok"}))
            .await
            .unwrap();
        let raw = client
            .call_tool_raw("echo", lying, CallOptions::default())
            .await
            .unwrap();
        assert_eq!(raw.structured_content, Some(json!({"message": 42})));
    }
}

#[tokio::test]
async fn a_dead_session_answered_with_400_or_410_is_renewed_too() {
    for status in [400u16, 410] {
        let gw = gateway(GatewayConfig::default()).await;
        let client = Client::builder(gw.url())
            .lifecycle(LifecycleMode::Stateful)
            .connect()
            .await
            .unwrap();
        gw.set_faults(Faults {
            unknown_session_status: Some(status),
            ..Faults::default()
        });
        gw.expire_sessions();
        let result = client
            .call_tool("echo", json!({"message": "again"}))
            .await
            .unwrap();
        assert_eq!(structured(&result)["message"], "again", "{status}");
        let log = gw.requests();
        assert_eq!(posts(&log, "initialize").count(), 2, "{status}");
        assert_eq!(
            posts(&log, "tools/call").count(),
            2,
            "{status}: one refused, one replay"
        );
    }
}

#[tokio::test]
async fn a_broken_sse_stream_is_resumed_with_last_event_id() {
    let gw = gateway(GatewayConfig::default().response_mode(ResponseMode::Sse)).await;
    let client = Client::builder(gw.url())
        .lifecycle(LifecycleMode::Stateful)
        .listen_stream(false)
        .connect()
        .await
        .unwrap();
    gw.set_faults(Faults {
        drop_sse_after_first_event: true,
        sse_retry_ms: Some(20),
        ..Faults::default()
    });
    let result = client
        .call_tool("echo", json!({"message": "resumed"}))
        .await
        .unwrap();
    assert_eq!(structured(&result)["message"], "resumed");
    let log = gw.requests();
    let resume = log
        .iter()
        .find(|r| r.http_method == "GET" && r.header("last-event-id").is_some())
        .expect("the stream was resumed with GET + Last-Event-ID");
    assert!(resume.header("mcp-session-id").is_some());
}

#[tokio::test]
async fn many_calls_in_flight_on_one_client() {
    for mode in [LifecycleMode::Stateless, LifecycleMode::Stateful] {
        let gw = gateway(GatewayConfig::default()).await;
        let client = Client::builder(gw.url())
            .lifecycle(mode)
            .connect()
            .await
            .unwrap();
        let calls = (0..32).map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                let r = client
                    .call_tool("add", json!({"a": i, "b": 1000}))
                    .await
                    .unwrap();
                (i, structured(&r)["sum"].as_f64().unwrap())
            })
        });
        for call in calls {
            let (i, sum) = call.await.unwrap();
            assert_eq!(sum, f64::from(i + 1000));
        }
    }
}

#[tokio::test]
async fn a_tool_error_is_never_a_success() {
    let gw = gateway(GatewayConfig::default()).await;
    let client = Client::builder(gw.url()).connect().await.unwrap();
    let err = client.call_tool("fail", json!({})).await.unwrap_err();
    let result = err.tool_result().expect("the error carries the result");
    assert_eq!(result.is_error, Some(true));
    let raw = client
        .call_tool_raw("fail", json!({}), CallOptions::default())
        .await
        .unwrap();
    assert_eq!(raw.is_error, Some(true));
    let err = client
        .call_tool("no-such-tool", json!({}))
        .await
        .unwrap_err();
    assert!(err.rpc_code().is_some(), "{err}");
}

#[tokio::test]
async fn a_stalled_call_times_out_and_is_cancelled() {
    let gw = gateway(GatewayConfig::default()).await;
    let client = Client::builder(gw.url())
        .lifecycle(LifecycleMode::Stateful)
        .listen_stream(false)
        .connect()
        .await
        .unwrap();
    gw.set_faults(Faults {
        stall: true,
        ..Faults::default()
    });
    let err = client
        .call_tool_raw(
            "echo",
            json!({"message": "x"}),
            CallOptions::timeout(Duration::from_millis(200)),
        )
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    gw.set_faults(Faults::default());
    // The cancellation notification is sent in the background: wait for it, boundedly.
    let mut cancelled = false;
    for _ in 0..100 {
        if posts(&gw.requests(), "notifications/cancelled")
            .next()
            .is_some()
        {
            cancelled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(cancelled, "notifications/cancelled was sent");
    // The client still works afterwards.
    client
        .call_tool("echo", json!({"message": "after"}))
        .await
        .unwrap();
}

#[tokio::test]
async fn http_errors_are_typed() {
    let gw = gateway(GatewayConfig::default()).await;
    let client = Client::builder(gw.url()).connect().await.unwrap();
    gw.set_faults(Faults {
        status_override: Some((503, "maintenance".into())),
        ..Faults::default()
    });
    let err = client.list_tools().await.unwrap_err();
    assert_eq!(err.status(), Some(503), "{err}");
    assert!(err.to_string().contains("maintenance"), "{err}");

    let err = Client::builder("http://127.0.0.1:9/mcp")
        .timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport(conduit::transport::TransportError::Connect { .. })
        ),
        "{err}"
    );
}

#[tokio::test]
async fn closed_clients_refuse_calls() {
    let gw = gateway(GatewayConfig::default()).await;
    let client = Client::builder(gw.url()).connect().await.unwrap();
    client.close().await.unwrap();
    assert!(matches!(client.list_tools().await, Err(Error::Closed)));
}

#[test]
fn datagrout_url_and_tool_rules() {
    assert!(conduit::is_dg_url(
        "https://gateway.datagrout.ai/servers/x/mcp"
    ));
    assert!(conduit::is_dg_native_tool("data-grout/discovery.discover"));
    assert!(conduit::is_dg_native_tool(
        "data-grout@1/discovery.perform@1"
    ));
    assert!(conduit::is_dg_native_tool("echo"));
    assert!(!conduit::is_dg_native_tool("salesforce@1/get_lead@1"));
}

#[tokio::test]
async fn progress_notifications_reach_the_call_that_asked_for_them() {
    for mode in [LifecycleMode::Stateless, LifecycleMode::Stateful] {
        let gw = gateway(GatewayConfig::default().response_mode(ResponseMode::Sse)).await;
        let client = Client::builder(gw.url())
            .lifecycle(mode)
            .connect()
            .await
            .unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        let result = client
            .call_tool_raw(
                "slow",
                json!({"steps": 3, "delay_ms": 5}),
                CallOptions::default().with_progress(tx),
            )
            .await
            .unwrap();
        assert_ne!(result.is_error, Some(true));
        let mut seen = Vec::new();
        while let Ok(p) = rx.try_recv() {
            seen.push(p.progress);
        }
        assert_eq!(seen, vec![1.0, 2.0, 3.0], "{mode:?}");
        let log = gw.requests();
        let call = posts(&log, "tools/call").next().unwrap();
        assert!(call.body.as_ref().unwrap()["params"]["_meta"]["progressToken"].is_string());
    }
}

#[tokio::test]
async fn an_unsupported_initialize_answer_is_an_error_naming_both_versions() {
    let gw = gateway(GatewayConfig::default().era(EraSupport::StatefulOnly)).await;
    gw.set_faults(Faults {
        initialize_version: Some("2099-01-01".into()),
        ..Faults::default()
    });
    let err = Client::builder(gw.url())
        .lifecycle(LifecycleMode::Stateful)
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnsupportedVersion { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("2099-01-01") && text.contains("2025-11-25"),
        "{text}"
    );
    assert_eq!(
        posts(&gw.requests(), "notifications/initialized").count(),
        0
    );
}

#[tokio::test]
async fn a_refused_stateless_version_is_retried_once_with_a_supported_one() {
    let gw = gateway(GatewayConfig::default()).await;
    // The probe itself is refused once, then a later call.
    gw.set_faults(Faults {
        reject_versions: 1,
        ..Faults::default()
    });
    let client = Client::builder(gw.url())
        .lifecycle(LifecycleMode::Stateless)
        .connect()
        .await
        .unwrap();
    assert_eq!(posts(&gw.requests(), "server/discover").count(), 2);
    gw.set_faults(Faults {
        reject_versions: 1,
        ..Faults::default()
    });
    client
        .call_tool("echo", json!({"message": "again"}))
        .await
        .unwrap();
    assert_eq!(posts(&gw.requests(), "tools/call").count(), 2);
    // Refused twice in a row: the error comes through, typed.
    gw.set_faults(Faults {
        reject_versions: 2,
        ..Faults::default()
    });
    let err = client
        .call_tool("echo", json!({"message": "x"}))
        .await
        .unwrap_err();
    assert_eq!(err.rpc_code(), Some(-32022), "{err}");
}

#[tokio::test]
async fn server_requests_on_the_get_stream_are_answered() {
    let gw = gateway(GatewayConfig::default()).await;
    let client = Client::builder(gw.url())
        .lifecycle(LifecycleMode::Stateful)
        .connect()
        .await
        .unwrap();
    // Wait (boundedly) for the background GET stream to be open, then push a ping and an
    // unknown request.
    let mut delivered = 0;
    for _ in 0..200 {
        delivered =
            gw.push_to_listeners(json!({"jsonrpc": "2.0", "id": "srv-1", "method": "ping"}));
        if delivered > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(delivered, 1, "the client keeps one GET stream open");
    gw.push_to_listeners(json!({"jsonrpc": "2.0", "id": "srv-2", "method": "no/such"}));
    let mut answers = Vec::new();
    for _ in 0..200 {
        answers = gw
            .requests()
            .into_iter()
            .filter(|r| {
                r.http_method == "POST"
                    && r.body.as_ref().is_some_and(|b| {
                        b.get("id")
                            .is_some_and(|id| id.as_str().is_some_and(|s| s.starts_with("srv-")))
                    })
            })
            .filter_map(|r| r.body)
            .collect();
        if answers.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let ping = answers
        .iter()
        .find(|a| a["id"] == "srv-1")
        .expect("ping answered");
    assert_eq!(ping["result"], json!({}));
    let unknown = answers
        .iter()
        .find(|a| a["id"] == "srv-2")
        .expect("unknown request answered");
    assert_eq!(unknown["error"]["code"], -32601);
    client.close().await.unwrap();
}
