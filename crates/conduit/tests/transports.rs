//! One client suite, run over every transport: MCP Streamable HTTP, JSON-RPC over HTTP and
//! WebSocket, all against the test gateway. Each `suite!` case becomes one test per transport.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use conduit::{Client, Error, TransportKind};
use conduit_testkit::{GatewayConfig, TestGateway};
use serde_json::{json, Value};

/// A test gateway and a client connected to it over one transport.
struct Rig {
    gw: TestGateway,
    client: Client,
    kind: TransportKind,
}

async fn rig(kind: TransportKind) -> Rig {
    let gw = TestGateway::start(GatewayConfig::default()).await.unwrap();
    // The configured URL is the MCP one for every transport: the builder rewrites it as the
    // reference SDK does (`/mcp` → `/rpc`, `http://` → `ws://`), except that the WebSocket
    // endpoint of the gateway lives at `/ws`.
    let url = match kind {
        TransportKind::WebSocket => format!("{}/ws", gw.base_url()),
        _ => gw.url(),
    };
    let client = Client::builder(url)
        .transport(kind)
        .bearer("suite-token")
        .timeout(Duration::from_secs(20))
        .connect()
        .await
        .unwrap();
    Rig { gw, client, kind }
}

fn structured(result: &conduit::types::CallToolResult) -> Value {
    serde_json::to_value(result).unwrap()["structuredContent"].clone()
}

/// The frames (or POSTs) that carried JSON-RPC method `method`, on this rig's transport.
fn sent(rig: &Rig, method: &str) -> Vec<conduit_testkit::RecordedRequest> {
    rig.gw
        .requests()
        .into_iter()
        .filter(|r| r.is_rpc(method))
        .collect()
}

async fn lists_and_calls(rig: Rig) {
    let c = &rig.client;
    let tools = c.list_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "echo"));
    let sum = c.call_tool("add", json!({"a": 20, "b": 22})).await.unwrap();
    assert_eq!(structured(&sum)["sum"], json!(42));
    let resources = c.list_resources().await.unwrap();
    assert!(resources.iter().any(|r| r.uri == "test://text/1"));
    let read = c.read_resource("test://text/1").await.unwrap();
    assert!(!read.contents.is_empty());
    let templates = c.list_resource_templates().await.unwrap();
    assert!(!templates.is_empty());
    let prompts = c.list_prompts().await.unwrap();
    assert!(prompts.iter().any(|p| p.name == "greeting"));
    let prompt = c
        .get_prompt("greeting", json!({"name": "Ada"}))
        .await
        .unwrap();
    assert!(!prompt.messages.is_empty());
    c.ping().await.unwrap();

    let call = &sent(&rig, "tools/call")[0];
    match rig.kind {
        TransportKind::Mcp => {
            assert_eq!(call.path, "/mcp");
            assert_eq!(call.http_method, "POST");
        }
        TransportKind::JsonRpc => {
            // The reference posts to the base URL with a trailing slash, without a handshake.
            assert_eq!(call.path, "/rpc/");
            assert_eq!(call.http_method, "POST");
            assert_eq!(call.header("authorization"), Some("Bearer suite-token"));
            assert!(sent(&rig, "initialize").is_empty());
            assert!(sent(&rig, "server/discover").is_empty());
            assert_eq!(c.server_info(), None);
        }
        TransportKind::WebSocket => {
            assert_eq!(call.http_method, "WS");
            let id = call.body.as_ref().unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned();
            assert!(id.starts_with("ws-"), "wire id {id}");
            assert!(sent(&rig, "initialize").is_empty());
            let upgrade = rig
                .gw
                .requests()
                .into_iter()
                .find(|r| r.http_method == "GET" && r.path == "/ws")
                .unwrap();
            assert_eq!(
                upgrade.header("sec-websocket-protocol"),
                Some("datagrout-jsonrpc.v1")
            );
            assert_eq!(upgrade.header("authorization"), Some("Bearer suite-token"));
        }
        _ => unreachable!(),
    }
    c.close().await.unwrap();
}

async fn errors_are_typed(rig: Rig) {
    let c = &rig.client;
    let e = c.call_tool("fail", json!({})).await.unwrap_err();
    assert!(matches!(e, Error::Tool { .. }), "{e:?}");
    let e = c.call_tool("no-such-tool", json!({})).await.unwrap_err();
    assert_eq!(e.rpc_code(), Some(-32602), "{e:?}");
    let e = c.request("no/such/method", None).await.unwrap_err();
    assert_eq!(e.rpc_code(), Some(-32601), "{e:?}");
    let e = c.read_resource("test://missing/9").await.unwrap_err();
    assert!(e.rpc_code().is_some(), "{e:?}");
    c.close().await.unwrap();
    let e = c.list_tools().await.unwrap_err();
    assert!(matches!(e, Error::Closed), "{e:?}");
}

async fn concurrent_calls_are_matched(rig: Rig) {
    let c = &rig.client;
    let calls = (0..64).map(|i| {
        let c = c.clone();
        async move {
            let r = c
                .call_tool("echo", json!({"message": format!("m{i}")}))
                .await
                .unwrap();
            (i, structured(&r)["message"].as_str().unwrap().to_owned())
        }
    });
    for (i, got) in futures_join_all(calls).await {
        assert_eq!(got, format!("m{i}"));
    }
    c.close().await.unwrap();
}

async fn subscriptions_follow_the_transport(rig: Rig) {
    let c = &rig.client;
    match rig.kind {
        TransportKind::WebSocket => {
            let mut sub = c.subscribe("agents.a1.events").await.unwrap();
            assert_eq!(
                rig.gw.publish("agents.a1.events", "hello", json!({"n": 1})),
                1
            );
            let ev = tokio::time::timeout(Duration::from_secs(10), sub.recv())
                .await
                .unwrap();
            assert_eq!(
                ev,
                Some(conduit::TopicEvent::Event {
                    event: "hello".into(),
                    data: json!({"n": 1})
                })
            );
            let frame = &sent(&rig, "subscribe")[0];
            assert_eq!(frame.params(), Some(&json!({"topic": "agents.a1.events"})));
        }
        _ => {
            let e = c.subscribe("agents.a1.events").await.unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::Transport(conduit::transport::TransportError::Unsupported(_))
                ),
                "{e:?}"
            );
        }
    }
    c.close().await.unwrap();
}

async fn futures_join_all<F: std::future::Future + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

macro_rules! suite {
    ($($case:ident),* $(,)?) => {
        mod mcp {
            $(#[tokio::test] async fn $case() { super::$case(super::rig(conduit::TransportKind::Mcp).await).await })*
        }
        mod jsonrpc {
            $(#[tokio::test] async fn $case() { super::$case(super::rig(conduit::TransportKind::JsonRpc).await).await })*
        }
        mod ws {
            $(#[tokio::test] async fn $case() { super::$case(super::rig(conduit::TransportKind::WebSocket).await).await })*
        }
    };
}

suite!(
    lists_and_calls,
    errors_are_typed,
    concurrent_calls_are_matched,
    subscriptions_follow_the_transport,
);

#[test]
fn transport_names_parse_like_the_reference() {
    assert_eq!("mcp".parse::<TransportKind>().unwrap(), TransportKind::Mcp);
    assert_eq!(
        "jsonrpc".parse::<TransportKind>().unwrap(),
        TransportKind::JsonRpc
    );
    assert_eq!(
        "ws".parse::<TransportKind>().unwrap(),
        TransportKind::WebSocket
    );
    assert_eq!(
        "websocket".parse::<TransportKind>().unwrap(),
        TransportKind::WebSocket
    );
    assert!("grpc".parse::<TransportKind>().is_err());
}
