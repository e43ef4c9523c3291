#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Drives the gateway over raw HTTP and checks the wire behaviour of both protocol eras.

mod common;

use std::time::{Duration, Instant};

use common::*;
use conduit_testkit::{
    DiscoverRejection, EraSupport, Faults, GatewayConfig, ResponseMode, TestGateway,
};
use http::Method;
use serde_json::{json, Value};

async fn gateway(config: GatewayConfig) -> TestGateway {
    TestGateway::start(config).await.expect("gateway starts")
}

type Headers<'a> = Vec<(&'a str, &'a str)>;

fn error_code(v: &Value) -> i64 {
    v["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("not an error: {v}"))
}

// ---------------------------------------------------------------- stateful era

/// Every tool the gateway lists, in order.
const ALL_TOOLS: [&str; 14] = [
    "echo",
    "add",
    "slow",
    "fail",
    "schema_tool",
    "ask_sampling",
    "ask_elicitation",
    "ask_roots",
    "log",
    "touch_resource",
    "long_task",
    "task_required",
    "needs_consent",
    "route",
];

#[tokio::test]
async fn stateful_initialize_list_and_call() {
    let gw = gateway(GatewayConfig::default()).await;
    assert!(gw.url().starts_with("http://127.0.0.1:") && gw.url().ends_with("/mcp"));
    let mut s = Legacy::connect(&gw.url(), "2025-11-25").await;
    assert_eq!(s.version, "2025-11-25");
    assert_eq!(gw.sessions_created(), 1);

    let list = s.call("tools/list", json!({})).await;
    assert_eq!(list.status, 200);
    assert!(list
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    let tools = list.json()["result"]["tools"].as_array().unwrap().clone();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ALL_TOOLS);
    for t in &tools {
        for key in ["title", "description", "inputSchema", "annotations"] {
            assert!(t.get(key).is_some(), "{key} missing on {t}");
        }
    }
    let schema = &tools[4]["inputSchema"];
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert!(schema["$defs"].is_object() && schema["properties"]["shape"]["oneOf"].is_array());
    assert_eq!(schema["properties"]["origin"]["$ref"], "#/$defs/point");
    assert!(list.json()["result"].get("nextCursor").is_none());
    assert!(
        list.json()["result"].get("resultType").is_none(),
        "no 2026 fields in the stateful era"
    );

    let echo = s
        .call(
            "tools/call",
            json!({ "name": "echo", "arguments": { "message": "hi" } }),
        )
        .await
        .json();
    assert_eq!(
        echo["result"]["content"][0],
        json!({ "type": "text", "text": "hi" })
    );
    assert_eq!(
        echo["result"]["structuredContent"],
        json!({ "message": "hi" })
    );

    let add = s
        .call(
            "tools/call",
            json!({ "name": "add", "arguments": { "a": 2, "b": 3.5 } }),
        )
        .await
        .json();
    assert_eq!(add["result"]["structuredContent"]["sum"], json!(5.5));
    let bad_add = s
        .call(
            "tools/call",
            json!({ "name": "add", "arguments": { "a": "x" } }),
        )
        .await
        .json();
    assert_eq!(bad_add["result"]["isError"], json!(true));
    let fail = s.call("tools/call", json!({ "name": "fail" })).await.json();
    assert_eq!(fail["result"]["isError"], json!(true));
    let unknown = s.call("tools/call", json!({ "name": "nope" })).await.json();
    assert_eq!(error_code(&unknown), -32602);
    assert_eq!(s.call("ping", json!({})).await.json()["result"], json!({}));
    assert_eq!(
        s.call("logging/setLevel", json!({ "level": "debug" }))
            .await
            .json()["result"],
        json!({})
    );
    assert_eq!(
        error_code(&s.call("server/frobnicate", json!({})).await.json()),
        -32601
    );

    // The log has everything in order, with parsed bodies and rpc methods.
    let log = gw.requests();
    let methods: Vec<Option<&str>> = log.iter().map(|r| r.rpc_method.as_deref()).collect();
    assert_eq!(
        &methods[..3],
        [
            Some("initialize"),
            Some("notifications/initialized"),
            Some("tools/list")
        ]
    );
    assert_eq!(log[2].header("MCP-SESSION-ID"), Some(s.session.as_str()));
    assert_eq!(log[0].http_method, "POST");
    assert_eq!(log[0].path, "/mcp");
    assert_eq!(gw.requests_for("tools/call").len(), 5);
    gw.clear_requests();
    assert!(gw.requests().is_empty());
    gw.shutdown().await;
}

#[tokio::test]
async fn version_negotiation_and_protocol_header() {
    let gw = gateway(GatewayConfig::default()).await;
    let url = gw.url();
    let unknown = post(&url, &[], &init_body("1999-01-01")).await;
    assert_eq!(unknown.json()["result"]["protocolVersion"], "2025-11-25");
    let init = unknown.json()["result"].clone();
    assert_eq!(init["serverInfo"]["name"], "conduit-test-gateway");
    assert_eq!(
        init["capabilities"]["resources"],
        json!({ "subscribe": true, "listChanged": true })
    );
    for cap in ["tools", "prompts", "logging", "completions"] {
        assert!(init["capabilities"][cap].is_object(), "{cap}");
    }

    let s = Legacy::connect(&url, "2025-06-18").await;
    assert_eq!(s.version, "2025-06-18");
    let body = json!({ "jsonrpc": "2.0", "id": 5, "method": "ping" });
    let missing = post(&url, &[("mcp-session-id", &s.session)], &body).await;
    assert_eq!(missing.status, 400);
    let wrong = post(
        &url,
        &[
            ("mcp-session-id", &s.session),
            ("mcp-protocol-version", "2025-11-25"),
        ],
        &body,
    )
    .await;
    assert_eq!(wrong.status, 400);
    let bogus = post(
        &url,
        &[
            ("mcp-session-id", &s.session),
            ("mcp-protocol-version", "banana"),
        ],
        &body,
    )
    .await;
    assert_eq!(bogus.status, 400);
    let ok = post(
        &url,
        &[
            ("mcp-session-id", &s.session),
            ("mcp-protocol-version", "2025-06-18"),
        ],
        &body,
    )
    .await;
    assert_eq!(ok.status, 200);

    // 2025-03-26 predates the header: absent is fine.
    let old = Legacy::connect(&url, "2025-03-26").await;
    assert_eq!(old.version, "2025-03-26");
    let ok = post(&url, &[("mcp-session-id", &old.session)], &body).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(gw.requests_before_initialized(), 0);

    // A request before notifications/initialized is served but counted.
    let early = post(&url, &[], &init_body("2025-11-25")).await;
    let sid = early.header("mcp-session-id").unwrap().to_owned();
    let resp = post(
        &url,
        &[
            ("mcp-session-id", &sid),
            ("mcp-protocol-version", "2025-11-25"),
        ],
        &body,
    )
    .await;
    assert_eq!(resp.status, 200);
    assert_eq!(gw.requests_before_initialized(), 1);
    gw.shutdown().await;
}

#[tokio::test]
async fn sessions_expire_and_delete() {
    let gw = gateway(GatewayConfig::default()).await;
    let mut s = Legacy::connect(&gw.url(), "2025-11-25").await;
    // Missing session id -> 400.
    let no_session = post(
        &gw.url(),
        &[("mcp-protocol-version", "2025-11-25")],
        &json!({"jsonrpc":"2.0","id":1,"method":"tools/list"}),
    )
    .await;
    assert_eq!(no_session.status, 400);
    // Unknown session id -> 404.
    let unknown = post(
        &gw.url(),
        &[
            ("mcp-session-id", "nope"),
            ("mcp-protocol-version", "2025-11-25"),
        ],
        &json!({"jsonrpc":"2.0","id":1,"method":"tools/list"}),
    )
    .await;
    assert_eq!(unknown.status, 404);

    gw.expire_sessions();
    assert_eq!(s.call("tools/list", json!({})).await.status, 404);
    assert_eq!(gw.sessions_active(), 0);

    let s2 = Legacy::connect(&gw.url(), "2025-11-25").await;
    assert_ne!(s2.session, s.session);
    assert_eq!(gw.sessions_created(), 2);
    let del = request(Method::DELETE, &gw.url(), &s2.headers(), None).await;
    assert_eq!(del.status, 200);
    let after = request(Method::DELETE, &gw.url(), &s2.headers(), None).await;
    assert_eq!(after.status, 404);
    gw.shutdown().await;
}

#[tokio::test]
async fn transport_level_rejections() {
    let gw = gateway(GatewayConfig::default()).await;
    let url = gw.url();
    let body = init_body("2025-11-25").to_string();
    let no_accept = request(
        Method::POST,
        &url,
        &[
            ("accept", "application/json"),
            ("content-type", "application/json"),
        ],
        Some(body.clone()),
    )
    .await;
    assert_eq!(no_accept.status, 406);
    assert!(no_accept.json()["error"]["code"].is_i64());
    let wrong_type = request(
        Method::POST,
        &url,
        &[
            ("accept", "application/json, text/event-stream"),
            ("content-type", "text/plain"),
        ],
        Some(body.clone()),
    )
    .await;
    assert_eq!(wrong_type.status, 415);
    let with_charset = request(
        Method::POST,
        &url,
        &[
            ("accept", "application/json, text/event-stream"),
            ("content-type", "application/json; charset=utf-8"),
        ],
        Some(body),
    )
    .await;
    assert_eq!(with_charset.status, 200);
    let malformed = request(
        Method::POST,
        &url,
        &[
            ("accept", "application/json, text/event-stream"),
            ("content-type", "application/json"),
        ],
        Some("{not json".into()),
    )
    .await;
    assert_eq!(malformed.status, 400);
    assert_eq!(error_code(&malformed.json()), -32700);
    let batch = post(
        &url,
        &[],
        &json!([{"jsonrpc":"2.0","id":1,"method":"ping"}]),
    )
    .await;
    assert_eq!(batch.status, 400);
    assert_eq!(request(Method::PUT, &url, &[], None).await.status, 405);
    assert_eq!(
        request(
            Method::GET,
            &format!("{}/elsewhere", gw.base_url()),
            &[],
            None
        )
        .await
        .status,
        404
    );
    // Everything was logged, including the malformed body (without a parsed body).
    let log = gw.requests();
    assert_eq!(log.len(), 7);
    assert!(log[3].body.is_none());
    gw.shutdown().await;
}

#[tokio::test]
async fn resources_prompts_completion() {
    let gw = gateway(GatewayConfig::default()).await;
    let mut s = Legacy::connect(&gw.url(), "2025-11-25").await;
    let list = s.call("resources/list", json!({})).await.json();
    let resources = list["result"]["resources"].as_array().unwrap();
    assert!(resources.len() >= 6);
    let text = s
        .call("resources/read", json!({ "uri": "test://text/1" }))
        .await
        .json();
    assert!(text["result"]["contents"][0]["text"]
        .as_str()
        .unwrap()
        .contains("number 1"));
    let blob = s
        .call("resources/read", json!({ "uri": "test://blob/1" }))
        .await
        .json();
    assert!(blob["result"]["contents"][0]["blob"].is_string());
    let templates = s.call("resources/templates/list", json!({})).await.json();
    assert_eq!(
        templates["result"]["resourceTemplates"][0]["uriTemplate"],
        "test://items/{id}"
    );
    let item = s
        .call("resources/read", json!({ "uri": "test://items/42" }))
        .await
        .json();
    assert_eq!(item["result"]["contents"][0]["text"], "Item 42");
    let missing = s
        .call("resources/read", json!({ "uri": "test://text/99" }))
        .await
        .json();
    assert_eq!(error_code(&missing), -32002);
    assert_eq!(
        s.call("resources/subscribe", json!({ "uri": "test://text/1" }))
            .await
            .json()["result"],
        json!({})
    );
    assert_eq!(
        s.call("resources/unsubscribe", json!({ "uri": "test://text/1" }))
            .await
            .json()["result"],
        json!({})
    );

    let prompts = s.call("prompts/list", json!({})).await.json();
    assert_eq!(prompts["result"]["prompts"].as_array().unwrap().len(), 2);
    let greeting = s
        .call(
            "prompts/get",
            json!({ "name": "greeting", "arguments": { "name": "Ada" } }),
        )
        .await
        .json();
    assert!(greeting["result"]["messages"][0]["content"]["text"]
        .as_str()
        .unwrap()
        .contains("Ada"));
    let no_arg = s
        .call("prompts/get", json!({ "name": "greeting" }))
        .await
        .json();
    assert_eq!(error_code(&no_arg), -32602);
    assert!(s
        .call("prompts/get", json!({ "name": "plain" }))
        .await
        .json()["result"]["messages"]
        .is_array());

    let completion = s
        .call("completion/complete", json!({ "ref": { "type": "ref/prompt", "name": "greeting" }, "argument": { "name": "name", "value": "Al" } }))
        .await
        .json();
    assert_eq!(
        completion["result"]["completion"]["values"],
        json!(["Alice", "Albert"])
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn pagination_pages_invalid_cursor_and_repeat_fault() {
    let gw = gateway(GatewayConfig::default().page_size(2)).await;
    let mut s = Legacy::connect(&gw.url(), "2025-11-25").await;
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let params = match &cursor {
            Some(c) => json!({ "cursor": c }),
            None => json!({}),
        };
        let page = s.call("tools/list", params).await.json();
        pages += 1;
        let tools = page["result"]["tools"].as_array().unwrap();
        assert!(tools.len() <= 2);
        names.extend(tools.iter().map(|t| t["name"].as_str().unwrap().to_owned()));
        match page["result"]["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, ALL_TOOLS.len().div_ceil(2));
    assert_eq!(names, ALL_TOOLS);
    let resources = s.call("resources/list", json!({})).await.json();
    assert_eq!(
        resources["result"]["resources"].as_array().unwrap().len(),
        2
    );

    let invalid = s
        .call("tools/list", json!({ "cursor": "definitely-not-a-cursor" }))
        .await
        .json();
    assert_eq!(error_code(&invalid), -32602);
    // A cursor of another list is invalid too.
    let foreign = resources["result"]["nextCursor"].as_str().unwrap();
    assert_eq!(
        error_code(
            &s.call("prompts/list", json!({ "cursor": foreign }))
                .await
                .json()
        ),
        -32602
    );

    gw.set_faults(Faults::default().repeat_cursor(true));
    let first = s.call("prompts/list", json!({})).await.json();
    let c1 = first["result"]["nextCursor"].as_str().unwrap().to_owned();
    let second = s.call("prompts/list", json!({ "cursor": c1 })).await.json();
    assert_eq!(second["result"]["nextCursor"].as_str().unwrap(), c1);
    gw.shutdown().await;
}

// ---------------------------------------------------------------- stateless era

#[tokio::test]
async fn stateless_discover_and_call() {
    let gw = gateway(GatewayConfig::default()).await;
    let url = gw.url();
    let discover = modern(&url, "server/discover", json!({})).await;
    assert_eq!(discover.status, 200, "{}", discover.body);
    assert!(discover.header("mcp-session-id").is_none());
    let result = discover.json()["result"].clone();
    assert_eq!(result["supportedVersions"], json!(["2026-07-28"]));
    assert_eq!(result["resultType"], "complete");
    assert!(result["capabilities"]["tools"].is_object());
    assert_eq!(
        result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "conduit-test-gateway"
    );
    assert!(result["ttlMs"].is_u64() && result["cacheScope"].is_string());
    assert!(result["instructions"].is_string());

    let list = modern(&url, "tools/list", json!({})).await.json();
    assert_eq!(
        list["result"]["tools"].as_array().unwrap().len(),
        ALL_TOOLS.len()
    );
    assert_eq!(list["result"]["resultType"], "complete");
    let echo = modern(
        &url,
        "tools/call",
        json!({ "name": "echo", "arguments": { "message": "yo" } }),
    )
    .await
    .json();
    assert_eq!(echo["result"]["content"][0]["text"], "yo");
    assert_eq!(echo["result"]["resultType"], "complete");
    let read = modern(&url, "resources/read", json!({ "uri": "test://text/2" }))
        .await
        .json();
    assert!(read["result"]["contents"][0]["text"].is_string());
    let missing = modern(&url, "resources/read", json!({ "uri": "test://nope" }))
        .await
        .json();
    assert_eq!(
        error_code(&missing),
        -32602,
        "resource not found is -32602 in 2026-07-28"
    );
    let prompt = modern(&url, "prompts/get", json!({ "name": "plain" }))
        .await
        .json();
    assert!(prompt["result"]["messages"].is_array());

    // ping does not exist in the stateless era.
    let ping = modern(&url, "ping", json!({})).await;
    assert_eq!(ping.status, 404);
    assert_eq!(error_code(&ping.json()), -32601);
    assert_eq!(gw.sessions_created(), 0);
    gw.shutdown().await;
}

#[tokio::test]
async fn stateless_header_validation() {
    let gw = gateway(GatewayConfig::default()).await;
    let url = gw.url();
    let call = modern_body(
        "tools/call",
        json!({ "name": "echo", "arguments": { "message": "x" } }),
    );
    let good = [
        ("mcp-protocol-version", MODERN),
        ("mcp-method", "tools/call"),
        ("mcp-name", "echo"),
    ];
    assert_eq!(post(&url, &good, &call).await.status, 200);

    let cases: Vec<(&str, Headers, i64)> = vec![
        (
            "missing version header",
            vec![("mcp-method", "tools/call"), ("mcp-name", "echo")],
            -32020,
        ),
        (
            "version header mismatch",
            vec![
                ("mcp-protocol-version", "2025-11-25"),
                ("mcp-method", "tools/call"),
                ("mcp-name", "echo"),
            ],
            -32020,
        ),
        (
            "missing Mcp-Method",
            vec![("mcp-protocol-version", MODERN), ("mcp-name", "echo")],
            -32020,
        ),
        (
            "Mcp-Method mismatch",
            vec![
                ("mcp-protocol-version", MODERN),
                ("mcp-method", "tools/list"),
                ("mcp-name", "echo"),
            ],
            -32020,
        ),
        (
            "Mcp-Method is case-sensitive",
            vec![
                ("mcp-protocol-version", MODERN),
                ("mcp-method", "Tools/Call"),
                ("mcp-name", "echo"),
            ],
            -32020,
        ),
        (
            "missing Mcp-Name",
            vec![
                ("mcp-protocol-version", MODERN),
                ("mcp-method", "tools/call"),
            ],
            -32020,
        ),
        (
            "Mcp-Name mismatch",
            vec![
                ("mcp-protocol-version", MODERN),
                ("mcp-method", "tools/call"),
                ("mcp-name", "add"),
            ],
            -32020,
        ),
    ];
    for (what, headers, code) in cases {
        let resp = post(&url, &headers, &call).await;
        assert_eq!(resp.status, 400, "{what}: {}", resp.body);
        assert_eq!(error_code(&resp.json()), code, "{what}");
        assert_eq!(resp.json()["id"], json!(1), "{what}");
    }

    // Base64 sentinel-encoded Mcp-Name is decoded before comparing ("echo").
    let encoded = [
        ("mcp-protocol-version", MODERN),
        ("mcp-method", "tools/call"),
        ("mcp-name", "=?base64?ZWNobw==?="),
    ];
    assert_eq!(post(&url, &encoded, &call).await.status, 200);

    // Unsupported version (header and _meta agree) -> -32022 with data.supported.
    let mut future = call.clone();
    future["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = json!("2099-01-01");
    let resp = post(
        &url,
        &[
            ("mcp-protocol-version", "2099-01-01"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "echo"),
        ],
        &future,
    )
    .await;
    assert_eq!(resp.status, 400);
    assert_eq!(error_code(&resp.json()), -32022);
    assert_eq!(
        resp.json()["error"]["data"]["supported"],
        json!(["2026-07-28"])
    );
    assert_eq!(resp.json()["error"]["data"]["requested"], "2099-01-01");

    // Missing clientCapabilities in _meta -> -32602.
    let mut no_caps = call.clone();
    no_caps["params"]["_meta"]
        .as_object_mut()
        .unwrap()
        .remove("io.modelcontextprotocol/clientCapabilities");
    let resp = post(&url, &good, &no_caps).await;
    assert_eq!(resp.status, 400);
    assert_eq!(error_code(&resp.json()), -32602);

    // server/discover without _meta -> -32602 (discover is always stateless).
    let bare = json!({ "jsonrpc": "2.0", "id": 9, "method": "server/discover" });
    let resp = post(
        &url,
        &[
            ("mcp-protocol-version", MODERN),
            ("mcp-method", "server/discover"),
        ],
        &bare,
    )
    .await;
    assert_eq!(resp.status, 400);
    assert_eq!(error_code(&resp.json()), -32602);
    gw.shutdown().await;
}

#[tokio::test]
async fn stateless_only_refuses_initialize_and_get() {
    let gw = gateway(GatewayConfig::default().era(EraSupport::StatelessOnly)).await;
    let init = post(&gw.url(), &[], &init_body("2025-11-25")).await;
    assert_eq!(error_code(&init.json()), -32601);
    assert!(init.header("mcp-session-id").is_none());
    let get = request(
        Method::GET,
        &gw.url(),
        &[("accept", "text/event-stream")],
        None,
    )
    .await;
    assert_eq!(get.status, 405);
    assert_eq!(
        modern(&gw.url(), "server/discover", json!({})).await.status,
        200
    );
    // A legacy-shaped request is validated as stateless: no version header -> -32020.
    let legacy = post(
        &gw.url(),
        &[],
        &json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/list" }),
    )
    .await;
    assert_eq!(legacy.status, 400);
    assert_eq!(error_code(&legacy.json()), -32020);
    gw.shutdown().await;
}

#[tokio::test]
async fn stateful_only_refuses_discover_each_way() {
    let cases = [
        (DiscoverRejection::MethodNotFound, 200, Some(-32601)),
        (DiscoverRejection::NotInitialized, 200, Some(-32002)),
        (DiscoverRejection::Http400, 400, None),
        (DiscoverRejection::Http404, 404, None),
        (DiscoverRejection::Http405, 405, None),
    ];
    for (rejection, status, code) in cases {
        let gw = gateway(
            GatewayConfig::default()
                .era(EraSupport::StatefulOnly)
                .discover_rejection(rejection),
        )
        .await;
        let resp = modern(&gw.url(), "server/discover", json!({})).await;
        assert_eq!(resp.status, status, "{rejection:?}");
        match code {
            Some(code) => {
                assert_eq!(error_code(&resp.json()), code, "{rejection:?}");
                if rejection == DiscoverRejection::NotInitialized {
                    assert_eq!(resp.json()["error"]["message"], "Server not initialized");
                }
            }
            None => assert!(
                serde_json::from_str::<Value>(&resp.body).is_err(),
                "{rejection:?}: not a JSON-RPC body"
            ),
        }
        // Other stateless requests are stateful requests without a session.
        let list = modern(&gw.url(), "tools/list", json!({})).await;
        assert_eq!(list.status, 400, "{rejection:?}");
        assert_ne!(error_code(&list.json()), -32020);
        // The legacy handshake still works.
        Legacy::connect(&gw.url(), "2025-11-25").await;
        gw.shutdown().await;
    }
}

// ---------------------------------------------------------------- SSE

#[tokio::test]
async fn sse_mode_framing_and_progress() {
    let gw = gateway(GatewayConfig::default().response_mode(ResponseMode::Sse)).await;
    let mut s = Legacy::connect(&gw.url(), "2025-11-25").await;
    let resp = s
        .call("tools/call", json!({ "name": "slow", "arguments": { "steps": 3, "delay_ms": 5 }, "_meta": { "progressToken": "tok" } }))
        .await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("text/event-stream"));
    let events = resp.events();
    assert_eq!(events.len(), 4, "{}", resp.body);
    let mut ids: Vec<&str> = events
        .iter()
        .map(|e| e.id.as_deref().expect("every event has an id"))
        .collect();
    for (i, ev) in events[..3].iter().enumerate() {
        let msg = ev.json();
        assert_eq!(msg["method"], "notifications/progress");
        assert_eq!(msg["params"]["progressToken"], "tok");
        assert_eq!(msg["params"]["progress"], json!(i + 1));
        assert_eq!(msg["params"]["total"], json!(3));
        assert!(msg["params"]["message"].is_string());
    }
    let last = events[3].json();
    assert_eq!(last["result"]["content"][0]["text"], "done");
    assert_eq!(last["id"], json!(2));
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 4, "event ids are unique");

    // Stateless requests are framed the same way.
    let modern_resp = modern(
        &gw.url(),
        "tools/call",
        json!({ "name": "echo", "arguments": { "message": "sse" } }),
    )
    .await;
    let events = modern_resp.events();
    assert_eq!(events.len(), 1);
    assert!(events[0].id.is_some());
    assert_eq!(events[0].json()["result"]["content"][0]["text"], "sse");
    gw.shutdown().await;
}

#[tokio::test]
async fn json_mode_slow_tool_just_waits() {
    let gw = gateway(GatewayConfig::default()).await;
    let mut s = Legacy::connect(&gw.url(), "2025-11-25").await;
    let start = Instant::now();
    let resp = s
        .call("tools/call", json!({ "name": "slow", "arguments": { "steps": 2, "delay_ms": 20 }, "_meta": { "progressToken": 1 } }))
        .await;
    assert!(start.elapsed() >= Duration::from_millis(40));
    assert_eq!(resp.json()["result"]["content"][0]["text"], "done");
    gw.shutdown().await;
}

#[tokio::test]
async fn dropped_sse_stream_resumes_with_last_event_id() {
    let gw = gateway(GatewayConfig::default()).await;
    let mut s = Legacy::connect(&gw.url(), "2025-11-25").await;
    gw.set_faults(Faults {
        drop_sse_after_first_event: true,
        sse_retry_ms: Some(25),
        ..Faults::default()
    });

    let resp = s
        .call("tools/call", json!({ "name": "slow", "arguments": { "steps": 2, "delay_ms": 10 }, "_meta": { "progressToken": "p" } }))
        .await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("text/event-stream"));
    let events = resp.events();
    assert_eq!(events.len(), 1, "only the priming event: {}", resp.body);
    assert_eq!(events[0].data, "");
    assert_eq!(events[0].retry, Some(25));
    let priming = events[0].id.clone().expect("priming id");

    let mut headers = s.headers();
    headers.push(("accept", "text/event-stream"));
    headers.push(("last-event-id", priming.as_str()));
    let resumed = request(Method::GET, &gw.url(), &headers, None).await;
    assert_eq!(resumed.status, 200, "{}", resumed.body);
    let events = resumed.events();
    let messages: Vec<Value> = events.iter().map(Event::json).collect();
    assert_eq!(messages.len(), 3, "{}", resumed.body);
    assert_eq!(messages[0]["method"], "notifications/progress");
    assert_eq!(messages[2]["result"]["content"][0]["text"], "done");
    assert!(events
        .iter()
        .all(|e| e.id.as_deref() != Some(priming.as_str())));

    // Resuming from the second-to-last event replays only the response.
    let mut headers = s.headers();
    headers.push(("accept", "text/event-stream"));
    let second = events[1].id.clone().unwrap();
    headers.push(("last-event-id", second.as_str()));
    let again = request(Method::GET, &gw.url(), &headers, None).await;
    assert_eq!(again.events().len(), 1);

    // An unknown Last-Event-ID is refused without killing the session.
    let mut headers = s.headers();
    headers.push(("accept", "text/event-stream"));
    headers.push(("last-event-id", "nope-1"));
    assert_eq!(
        request(Method::GET, &gw.url(), &headers, None).await.status,
        400
    );

    let get = gw
        .requests()
        .into_iter()
        .find(|r| r.http_method == "GET")
        .expect("GET logged");
    assert_eq!(get.header("Last-Event-ID"), Some(priming.as_str()));
    gw.shutdown().await;
}

#[tokio::test]
async fn resume_before_the_response_continues_the_stream() {
    let gw = gateway(GatewayConfig::default().response_mode(ResponseMode::Sse)).await;
    let mut s = Legacy::connect(&gw.url(), "2025-11-25").await;
    gw.set_faults(Faults::default().drop_sse_after_first_event(true));
    let resp = s
        .call(
            "tools/call",
            json!({ "name": "slow", "arguments": { "steps": 1, "delay_ms": 300 } }),
        )
        .await;
    let priming = resp.events()[0].id.clone().unwrap();
    assert_eq!(resp.events()[0].retry, None);
    let mut headers = s.headers();
    headers.push(("accept", "text/event-stream"));
    headers.push(("last-event-id", priming.as_str()));
    let mut stream = open(Method::GET, &gw.url(), &headers, None).await;
    assert_eq!(stream.status, 200);
    let ev = stream
        .next_event(Duration::from_secs(3))
        .await
        .expect("response delivered live");
    assert_eq!(ev.json()["result"]["content"][0]["text"], "done");
    assert!(
        stream.ended(Duration::from_secs(2)).await,
        "stream ends after the response"
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn get_stream_receives_pushed_messages() {
    let gw = gateway(GatewayConfig::default()).await;
    let s = Legacy::connect(&gw.url(), "2025-11-25").await;
    let mut headers = s.headers();
    headers.push(("accept", "text/event-stream"));
    let mut stream = open(Method::GET, &gw.url(), &headers, None).await;
    assert_eq!(stream.status, 200);
    // Wait until the stream is registered.
    let deadline = Instant::now() + Duration::from_secs(2);
    let msg = json!({ "jsonrpc": "2.0", "method": "notifications/tools/list_changed" });
    while gw.push_to_listeners(msg.clone()) == 0 {
        assert!(Instant::now() < deadline, "listener never attached");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let ev = stream
        .next_event(Duration::from_secs(2))
        .await
        .expect("pushed event");
    assert_eq!(ev.json(), msg);
    assert!(ev.id.is_some());

    // Missing Accept -> 406, missing session -> 400.
    assert_eq!(
        request(Method::GET, &gw.url(), &s.headers(), None)
            .await
            .status,
        406
    );
    assert_eq!(
        request(
            Method::GET,
            &gw.url(),
            &[("accept", "text/event-stream")],
            None
        )
        .await
        .status,
        400
    );

    // Shutdown ends the open stream promptly.
    let start = Instant::now();
    gw.shutdown().await;
    assert!(stream.ended(Duration::from_secs(2)).await);
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn get_stream_can_be_disabled() {
    let gw = gateway(GatewayConfig::default().get_stream(false)).await;
    let s = Legacy::connect(&gw.url(), "2025-11-25").await;
    let mut headers = s.headers();
    headers.push(("accept", "text/event-stream"));
    assert_eq!(
        request(Method::GET, &gw.url(), &headers, None).await.status,
        405
    );
    gw.shutdown().await;
}

// ---------------------------------------------------------------- faults

#[tokio::test]
async fn status_override_and_stall_faults() {
    let gw = gateway(GatewayConfig::default()).await;
    gw.set_faults(Faults::default().status_override(503, "try later"));
    let resp = post(&gw.url(), &[], &init_body("2025-11-25")).await;
    assert_eq!(resp.status, 503);
    assert_eq!(resp.body, "try later");
    gw.set_faults(Faults::default().status_override(
        500,
        r#"{"jsonrpc":"2.0","id":0,"error":{"code":-32603,"message":"boom"}}"#,
    ));
    let resp = post(&gw.url(), &[], &init_body("2025-11-25")).await;
    assert_eq!(resp.status, 500);
    assert_eq!(error_code(&resp.json()), -32603);

    gw.set_faults(Faults::default().stall(true));
    let url = gw.url();
    let stalled = tokio::spawn(async move { post(&url, &[], &init_body("2025-11-25")).await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(
        !stalled.is_finished(),
        "a stalled request is never answered"
    );
    assert_eq!(gw.requests().len(), 3, "but it is logged");
    gw.set_faults(Faults::default());
    assert_eq!(
        post(&gw.url(), &[], &init_body("2025-11-25")).await.status,
        200
    );
    gw.shutdown().await;
    // Shutdown releases the stalled request.
    let released = tokio::time::timeout(Duration::from_secs(3), stalled).await;
    assert!(released.is_ok());
}

#[tokio::test]
async fn drop_stops_the_server() {
    let gw = gateway(GatewayConfig::default()).await;
    let addr = gw.local_addr();
    drop(gw);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn initialize_with_meta_is_still_legacy_and_origin_is_checked() {
    let gw = gateway(GatewayConfig::default()).await;
    let mut body = init_body("2025-11-25");
    body["params"]["_meta"] = meta();
    let resp = post(&gw.url(), &[], &body).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert!(resp.header("mcp-session-id").is_some());

    let evil = post(
        &gw.url(),
        &[("origin", "https://evil.example")],
        &init_body("2025-11-25"),
    )
    .await;
    assert_eq!(evil.status, 403);
    let local = post(
        &gw.url(),
        &[("origin", "http://localhost:5173")],
        &init_body("2025-11-25"),
    )
    .await;
    assert_eq!(local.status, 200);
    gw.shutdown().await;
}
