//! The legacy HTTP+SSE transport of MCP 2024-11-05 and the spec's backwards-compatible
//! fallback to it, against the test gateway's legacy endpoint (`GET /sse`, `POST /message`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/everything.rs"]
mod everything;

use std::time::Duration;

use conduit::transport::TransportError;
use conduit::types::CreateMessageResult;
use conduit::{CallOptions, Client, Era, Error, LifecycleMode, TransportKind};
use conduit_testkit::{Faults, GatewayConfig, LegacyEndpoint, LegacyFirstEvent, TestGateway};
use serde_json::{json, Value};

async fn gateway(legacy: LegacyEndpoint) -> TestGateway {
    TestGateway::start(GatewayConfig::default().legacy_sse(legacy))
        .await
        .expect("gateway starts")
}

fn sse_url(gw: &TestGateway) -> String {
    format!("{}/sse", gw.base_url().trim_end_matches('/'))
}

async fn legacy_client(gw: &TestGateway) -> Result<Client, Error> {
    Client::builder(sse_url(gw))
        .transport(TransportKind::LegacySse)
        .timeout(Duration::from_secs(10))
        .connect()
        .await
}

fn text_of(result: &conduit::types::CallToolResult) -> String {
    serde_json::to_value(&result.content).unwrap()[0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn lists_and_calls_tools_over_the_legacy_transport() {
    let gw = gateway(LegacyEndpoint::enabled()).await;
    let client = legacy_client(&gw).await.unwrap();
    assert_eq!(client.era(), Some(Era::Stateful));
    assert_eq!(client.protocol_version().as_deref(), Some("2024-11-05"));
    assert_eq!(
        client.server_info().map(|i| i.name),
        Some(conduit_testkit::SERVER_NAME.to_owned())
    );

    let tools = client.list_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "echo"));
    let result = client
        .call_tool("echo", json!({"message": "old wire"}))
        .await
        .unwrap();
    assert!(text_of(&result).contains("old wire"), "{result:?}");
    let sum = client
        .call_tool("add", json!({"a": 2, "b": 3}))
        .await
        .unwrap();
    assert!(text_of(&sum).contains('5'), "{sum:?}");
    // A JSON-RPC error travels back on the stream too.
    let unknown = client
        .request("no/such/method", Some(json!({})))
        .await
        .unwrap_err();
    assert_eq!(unknown.rpc_code(), Some(-32601), "{unknown}");

    // Everything went over GET /sse + POST /message; nothing touched /mcp.
    let requests = gw.requests();
    assert!(requests
        .iter()
        .any(|r| r.http_method == "GET" && r.path == "/sse"));
    assert!(requests.iter().all(|r| r.path != "/mcp"), "{requests:?}");
    let posted: Vec<_> = requests
        .iter()
        .filter(|r| r.http_method == "POST")
        .filter_map(|r| r.rpc_method.clone())
        .collect();
    // A legacy transport goes straight to `initialize`: no `server/discover` probe.
    assert!(
        posted.starts_with(&[
            "initialize".to_owned(),
            "notifications/initialized".to_owned()
        ]),
        "{posted:?}"
    );
    assert!(requests
        .iter()
        .filter(|r| r.http_method == "POST")
        .all(|r| r.path == "/message"));
    client.close().await.unwrap();
}

#[tokio::test]
async fn progress_and_server_requests_travel_on_the_stream() {
    let gw = gateway(LegacyEndpoint::enabled()).await;
    let client = Client::builder(sse_url(&gw))
        .transport(TransportKind::LegacySse)
        .on_sampling(false, |_params| async move {
            Ok(serde_json::from_value::<CreateMessageResult>(json!({
                "role": "assistant",
                "content": { "type": "text", "text": "sampled over the old transport" },
                "model": "legacy-model",
                "stopReason": "endTurn"
            }))
            .unwrap())
        })
        .connect()
        .await
        .unwrap();

    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let done = client
        .call_tool_raw(
            "slow",
            json!({"steps": 3, "delay_ms": 5}),
            CallOptions::default().with_progress(tx),
        )
        .await
        .unwrap();
    assert_eq!(text_of(&done), "done");
    let mut steps = Vec::new();
    while let Ok(p) = rx.try_recv() {
        steps.push(p.progress);
    }
    assert_eq!(steps, vec![1.0, 2.0, 3.0]);

    let asked = client
        .call_tool_raw("ask_sampling", json!({}), CallOptions::default())
        .await
        .unwrap();
    let answer: Value = serde_json::from_str(&text_of(&asked)).unwrap();
    assert_eq!(answer["result"]["model"], "legacy-model", "{answer}");
    // The client's answer was POSTed to the session's endpoint.
    assert!(gw.requests().iter().any(|r| r.path == "/message"
        && r.rpc_method.is_none()
        && r.body.as_ref().is_some_and(|b| b.get("result").is_some())));
    client.close().await.unwrap();
}

#[tokio::test]
async fn concurrent_calls_are_matched_by_id() {
    let gw = gateway(LegacyEndpoint::enabled()).await;
    let client = legacy_client(&gw).await.unwrap();
    let calls = (0..24).map(|i| {
        let client = client.clone();
        tokio::spawn(async move {
            let delay = (24 - i) % 5;
            if i % 2 == 0 {
                let r = client
                    .call_tool("slow", json!({"steps": 1, "delay_ms": delay}))
                    .await;
                (i, r.map(|r| text_of(&r)))
            } else {
                let r = client
                    .call_tool("echo", json!({"message": format!("call {i}")}))
                    .await;
                (i, r.map(|r| text_of(&r)))
            }
        })
    });
    for call in calls {
        let (i, text) = call.await.unwrap();
        let text = text.unwrap();
        if i % 2 == 0 {
            assert_eq!(text, "done");
        } else {
            assert!(text.contains(&format!("call {i}")), "{i}: {text}");
        }
    }
    client.close().await.unwrap();
}

#[tokio::test]
async fn an_absolute_endpoint_on_the_same_origin_is_accepted() {
    let gw =
        gateway(LegacyEndpoint::enabled().first_event(LegacyFirstEvent::AbsoluteEndpoint)).await;
    let client = legacy_client(&gw).await.unwrap();
    client
        .call_tool("echo", json!({"message": "abs"}))
        .await
        .unwrap();
    client.close().await.unwrap();
}

#[tokio::test]
async fn a_first_event_that_is_not_endpoint_is_refused() {
    let gw = gateway(LegacyEndpoint::enabled().first_event(LegacyFirstEvent::Message)).await;
    match legacy_client(&gw).await {
        Err(Error::Transport(TransportError::Malformed(m))) => {
            assert!(m.contains("not `endpoint`"), "{m}")
        }
        other => panic!("expected a malformed-stream error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_stream_that_ends_before_endpoint_is_refused() {
    let gw = gateway(LegacyEndpoint::enabled().first_event(LegacyFirstEvent::Close)).await;
    match legacy_client(&gw).await {
        Err(Error::Transport(TransportError::StreamEnded { .. })) => {}
        other => panic!("expected StreamEnded, got {other:?}"),
    }
}

#[tokio::test]
async fn an_endpoint_on_another_origin_is_refused_and_nothing_is_posted() {
    let gw =
        gateway(LegacyEndpoint::enabled().first_event(LegacyFirstEvent::ForeignEndpoint)).await;
    match legacy_client(&gw).await {
        Err(Error::Transport(TransportError::Malformed(m))) => {
            assert!(m.contains("another origin"), "{m}")
        }
        other => panic!("expected a refusal of the foreign endpoint, got {other:?}"),
    }
    assert!(gw.requests().iter().all(|r| r.http_method != "POST"));
}

#[tokio::test]
async fn a_silent_stream_times_out_waiting_for_endpoint() {
    let gw = gateway(LegacyEndpoint::enabled().first_event(LegacyFirstEvent::Silent)).await;
    let (tx, _rx) = tokio::sync::mpsc::channel(conduit::transport::INBOUND_CAPACITY);
    let config = conduit::transport_http::legacy::LegacySseConfig {
        endpoint_timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let http = conduit::http::HttpClient::with_defaults().unwrap();
    let outcome =
        conduit::transport_http::legacy::LegacySse::connect(http, &sse_url(&gw), config, tx).await;
    match outcome {
        Err(TransportError::Timeout { phase }) => assert!(phase.contains("endpoint"), "{phase}"),
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[tokio::test]
async fn a_stream_dropped_mid_call_fails_the_call_and_the_next_call_gets_a_new_session() {
    let gw = gateway(LegacyEndpoint::enabled().drop_stream_on_tool("slow")).await;
    let client = legacy_client(&gw).await.unwrap();
    let err = client
        .call_tool("slow", json!({"steps": 1, "delay_ms": 5}))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Transport(TransportError::ConnectionLost { .. })),
        "{err:?}"
    );
    // Not resent: the server may have run it.
    let slow_posts = gw
        .requests()
        .iter()
        .filter(|r| r.is_rpc("tools/call"))
        .count();
    assert_eq!(slow_posts, 1);
    // The next call is not delivered on the dead session: the client starts a new one (new
    // stream, new endpoint, initialize) and sends it there.
    let sessions = gw.sessions_created();
    let echoed = client
        .call_tool("echo", json!({"message": "after the drop"}))
        .await
        .unwrap();
    assert!(text_of(&echoed).contains("after the drop"));
    assert_eq!(gw.sessions_created(), sessions + 1);
    client.close().await.unwrap();
}

#[tokio::test]
async fn close_fails_pending_calls_and_later_calls() {
    let gw = gateway(LegacyEndpoint::enabled()).await;
    let client = legacy_client(&gw).await.unwrap();
    let pending = {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .call_tool("slow", json!({"steps": 1, "delay_ms": 5000}))
                .await
        })
    };
    // Wait until the call reached the server.
    for _ in 0..200 {
        if gw.requests().iter().any(|r| r.is_rpc("tools/call")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::timeout(Duration::from_secs(5), client.close())
        .await
        .expect("close does not hang")
        .unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(5), pending)
        .await
        .expect("the pending call ends")
        .unwrap();
    assert!(outcome.is_err(), "{outcome:?}");
    assert!(client.list_tools().await.is_err());
}

#[tokio::test]
async fn auto_falls_back_to_the_legacy_transport_on_405() {
    let gw = gateway(LegacyEndpoint::enabled().at_mcp_path(true)).await;
    for mode in [LifecycleMode::Auto, LifecycleMode::Stateful] {
        gw.clear_requests();
        let client = Client::builder(gw.url())
            .lifecycle(mode)
            .connect()
            .await
            .unwrap();
        assert_eq!(
            client.protocol_version().as_deref(),
            Some("2024-11-05"),
            "{mode:?}"
        );
        let tools = client.list_tools().await.unwrap();
        assert!(tools.iter().any(|t| t.name == "echo"));
        let result = client
            .call_tool("echo", json!({"message": "fallback"}))
            .await
            .unwrap();
        assert!(text_of(&result).contains("fallback"));

        let requests = gw.requests();
        // The spec's order: the Streamable HTTP initialize POST was refused with 405, then a
        // GET on the same URL found the legacy stream.
        let init_post = requests
            .iter()
            .position(|r| r.path == "/mcp" && r.http_method == "POST" && r.is_rpc("initialize"))
            .expect("initialize was tried over Streamable HTTP first");
        let get = requests
            .iter()
            .position(|r| r.path == "/mcp" && r.http_method == "GET")
            .expect("then the legacy stream was opened on the same URL");
        assert!(init_post < get, "{mode:?}: {requests:?}");
        assert!(requests
            .iter()
            .any(|r| r.path == "/message" && r.is_rpc("initialize")));
        assert!(requests
            .iter()
            .any(|r| r.path == "/message" && r.is_rpc("tools/call")));
        client.close().await.unwrap();
    }
}

#[tokio::test]
async fn a_refused_initialize_without_a_legacy_server_keeps_its_error() {
    let gw = TestGateway::start(GatewayConfig::default().faults(Faults {
        status_override: Some((404, "Not Found".into())),
        ..Faults::default()
    }))
    .await
    .unwrap();
    let err = tokio::time::timeout(
        Duration::from_secs(20),
        Client::builder(gw.url())
            .lifecycle(LifecycleMode::Stateful)
            .connect(),
    )
    .await
    .expect("no hang")
    .unwrap_err();
    assert_eq!(err.status(), Some(404), "{err:?}");
    // The fallback GET was tried on the same URL.
    assert!(gw
        .requests()
        .iter()
        .any(|r| r.path == "/mcp" && r.http_method == "GET"));
}

/// Interop: the reference server `@modelcontextprotocol/server-everything` run with its old
/// transport (`node dist/index.js sse`: `GET /sse`, posts to `/message`), bound to 127.0.0.1.
/// `cargo xtask test` sets `CONDUIT_NODE` and `CONDUIT_SERVER_EVERYTHING`; without them the
/// test says so and returns.
mod interop {
    use conduit::{Client, Era, TransportKind};
    use serde_json::json;

    use super::everything;

    struct Server {
        _server: everything::Server,
        sse_url: String,
    }

    async fn server_everything_sse() -> Option<Server> {
        let server = everything::start("sse").await?;
        let sse_url = format!("{}/sse", server.base);
        Some(Server {
            _server: server,
            sse_url,
        })
    }

    async fn list_and_call(client: &Client) {
        assert_eq!(client.era(), Some(Era::Stateful));
        assert!(client.server_info().is_some());
        let tools = client.list_tools().await.unwrap();
        assert!(
            tools.iter().any(|t| t.name == "echo"),
            "{:?}",
            tools.iter().map(|t| &t.name).collect::<Vec<_>>()
        );
        let result = client
            .call_tool("echo", json!({"message": "legacy interop"}))
            .await
            .unwrap();
        let text = serde_json::to_string(&result.content).unwrap();
        assert!(text.contains("legacy interop"), "{text}");
        let calls = (0..6).map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.call_tool("get-sum", json!({"a": i, "b": 1})).await })
        });
        for (i, call) in calls.enumerate() {
            let result = call.await.unwrap().unwrap();
            let text = serde_json::to_string(&result.content).unwrap();
            assert!(text.contains(&(i + 1).to_string()), "{i}: {text}");
        }
    }

    #[tokio::test]
    async fn server_everything_over_the_legacy_transport() {
        let Some(server) = server_everything_sse().await else {
            return;
        };
        let client = Client::builder(&server.sse_url)
            .transport(TransportKind::LegacySse)
            .connect()
            .await
            .unwrap();
        list_and_call(&client).await;
        client.close().await.unwrap();
    }

    #[tokio::test]
    async fn server_everything_sse_is_found_by_the_fallback() {
        let Some(server) = server_everything_sse().await else {
            return;
        };
        // The default transport and lifecycle: the POSTs to /sse are refused (404), so the
        // client falls back to GET /sse.
        let client = Client::builder(&server.sse_url).connect().await.unwrap();
        list_and_call(&client).await;
        client.close().await.unwrap();
    }
}

#[tokio::test]
async fn junk_on_the_stream_is_skipped() {
    let gw = gateway(LegacyEndpoint::enabled().garbage_after_endpoint(true)).await;
    let client = legacy_client(&gw).await.unwrap();
    let result = client
        .call_tool("echo", json!({"message": "through the junk"}))
        .await
        .unwrap();
    assert!(text_of(&result).contains("through the junk"));
    // The second `endpoint` event did not redirect the posts.
    assert!(gw.requests().iter().all(|r| r.path != "/elsewhere"));
    client.close().await.unwrap();
}

#[tokio::test]
async fn an_event_over_the_size_limit_fails_the_call_with_too_large() {
    let gw = gateway(LegacyEndpoint::enabled()).await;
    let client = Client::builder(sse_url(&gw))
        .transport(TransportKind::LegacySse)
        .max_response_bytes(4096)
        .connect()
        .await
        .unwrap();
    let big = "x".repeat(8192);
    let err = client
        .call_tool("echo", json!({"message": big}))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport(TransportError::TooLarge { limit: 4096 })
        ),
        "{err:?}"
    );
    client.close().await.unwrap();
}
