//! The DataGrout layer against the test gateway playing a DataGrout gateway, in both eras:
//! what each method sends (from the gateway's request log), what it parses, receipts, batches,
//! the budget and the ledger.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use conduit::datagrout::{BatchCall, MetaSource};
use conduit::{Client, Era, Error, LifecycleMode};
use conduit_testkit::{GatewayConfig, ResponseMode, TestGateway};
use serde_json::{json, Value};

async fn gateway() -> TestGateway {
    TestGateway::start(GatewayConfig::default().datagrout(true))
        .await
        .expect("gateway starts")
}

/// One client per era against the same gateway.
async fn clients(gw: &TestGateway) -> Vec<Client> {
    let mut out = Vec::new();
    for mode in [LifecycleMode::Stateless, LifecycleMode::Stateful] {
        let client = Client::builder(gw.url())
            .lifecycle(mode)
            .connect()
            .await
            .unwrap();
        out.push(client);
    }
    assert_eq!(out[0].era(), Some(Era::Stateless));
    assert_eq!(out[1].era(), Some(Era::Stateful));
    out
}

/// The `(name, arguments)` of every `tools/call` logged since the last clear.
fn calls(gw: &TestGateway) -> Vec<(String, Value)> {
    gw.requests_for("tools/call")
        .iter()
        .map(|r| {
            let p = r.params().unwrap();
            (
                p["name"].as_str().unwrap().to_owned(),
                p.get("arguments").cloned().unwrap_or(Value::Null),
            )
        })
        .collect()
}

fn only_call(gw: &TestGateway) -> (String, Value) {
    let c = calls(gw);
    assert_eq!(c.len(), 1, "exactly one tools/call: {c:?}");
    gw.clear_requests();
    c.into_iter().next().unwrap()
}

#[tokio::test]
async fn discover_sends_the_reference_arguments_and_parses_results_and_receipt() {
    let gw = gateway().await;
    for client in clients(&gw).await {
        gw.clear_requests();
        let found = client.discover("unpaid invoices").limit(5).await.unwrap();
        assert_eq!(
            only_call(&gw),
            (
                "data-grout/discovery.discover".into(),
                json!({"query": "unpaid invoices", "limit": 5, "min_score": 0.0})
            )
        );
        assert_eq!(found.data.query_used, "unpaid invoices");
        assert_eq!(found.data.limit, 5);
        assert_eq!(found.data.total, 1);
        let top = &found.data.tools[0];
        assert_eq!(top.tool_name, "quickbooks@1/list_invoices@1");
        assert_eq!(top.integration.as_deref(), Some("quickbooks"));
        assert_eq!(top.server_id.as_deref(), Some("srv-quickbooks"));
        assert_eq!(top.score, Some(1.0));
        assert_eq!(top.input_schema, Some(json!({"type": "object"})));
        let meta = found.meta.as_ref().unwrap();
        assert_eq!(meta.source, MetaSource::StructuredContent);
        assert_eq!(meta.net_credits(), Some(0.25));

        // Defaults, goal and integrations: the optional fields only when set.
        let found = client
            .discover("")
            .goal("salesforce lead")
            .integrations(["salesforce"])
            .min_score(0.5)
            .await
            .unwrap();
        assert_eq!(
            only_call(&gw).1,
            json!({"goal": "salesforce lead", "limit": 10, "min_score": 0.5, "integrations": ["salesforce"]})
        );
        assert_eq!(found.data.query_used, "salesforce lead");
        let names: Vec<&str> = found
            .data
            .tools
            .iter()
            .map(|t| t.tool_name.as_str())
            .collect();
        assert_eq!(
            names,
            ["salesforce@1/get_lead@1", "salesforce@1/find_leads@1"]
        );
        assert_eq!(found.data.tools[1].score, Some(0.5));
    }
}

#[tokio::test]
async fn perform_sends_all_four_fields_and_returns_payload_and_receipt() {
    let gw = gateway().await;
    for client in clients(&gw).await {
        gw.clear_requests();
        let lead = client
            .perform("salesforce@1/get_lead@1", json!({"id": "123"}))
            .await
            .unwrap();
        assert_eq!(
            only_call(&gw),
            (
                "data-grout/discovery.perform".into(),
                json!({"tool": "salesforce@1/get_lead@1", "args": {"id": "123"}, "demux": false, "demux_mode": "strict"})
            )
        );
        assert_eq!(
            lead.data,
            json!({"id": "123", "name": "Lead 123", "status": "open"})
        );
        let r = lead.receipt().unwrap();
        assert_eq!(
            (r.net_credits, r.savings, r.actual_credits),
            (1.5, 0.5, 2.0)
        );
        assert_eq!(r.receipt_id, "rcpt-salesforce@1/get_lead@1");
        assert_eq!(
            r.transaction_id.as_deref(),
            Some("tx-salesforce@1/get_lead@1")
        );
        assert!(!r.byok.as_ref().unwrap().enabled);
        assert_eq!(
            lead.meta.as_ref().unwrap().source,
            MetaSource::ResultMetaDatagrout
        );

        client
            .perform("salesforce@1/get_lead@1", json!({"id": "9"}))
            .demux(true)
            .demux_mode("lenient")
            .await
            .unwrap();
        assert_eq!(
            only_call(&gw).1,
            json!({"tool": "salesforce@1/get_lead@1", "args": {"id": "9"}, "demux": true, "demux_mode": "lenient"})
        );

        // A tool error is an error, with the gateway's result kept.
        let err = client
            .perform("salesforce@1/get_lead@1", json!({}))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Tool { .. }), "{err}");
        gw.clear_requests();
    }
}

#[tokio::test]
async fn perform_batch_keeps_input_order_and_fails_calls_separately() {
    let gw = gateway().await;
    for client in clients(&gw).await {
        gw.clear_requests();
        let batch = vec![
            BatchCall::new("salesforce@1/get_lead@1", json!({"id": "1"})),
            BatchCall::new("nope@1/missing@1", json!({})),
            BatchCall::new(
                "slack@1/post_message@1",
                json!({"channel": "#ops", "text": "hi"}),
            ),
            BatchCall::new("salesforce@1/get_lead@1", json!({})),
            BatchCall::new("salesforce@1/get_lead@1", json!({"id": "5"})),
        ];
        let results = client.perform_batch_with(batch.clone(), 2).await;
        assert_eq!(results.len(), 5);
        assert_eq!(results[0].as_ref().unwrap().data["id"], "1");
        assert!(matches!(results[1], Err(Error::Tool { .. })));
        assert_eq!(results[2].as_ref().unwrap().data["channel"], "#ops");
        assert!(matches!(results[3], Err(Error::Tool { .. })));
        assert_eq!(results[4].as_ref().unwrap().data["id"], "5");

        // One ordinary perform per call, each with an object as arguments (never an array).
        let mut sent = calls(&gw);
        assert_eq!(sent.len(), 5);
        assert!(sent
            .iter()
            .all(|(name, args)| name == "data-grout/discovery.perform" && args.is_object()));
        let mut expected: Vec<(String, Value)> = batch
            .iter()
            .map(|c| ("data-grout/discovery.perform".to_owned(), c.arguments()))
            .collect();
        let key = |c: &(String, Value)| c.1.to_string();
        sent.sort_by_key(key);
        expected.sort_by_key(key);
        assert_eq!(sent, expected);
    }
}

#[tokio::test]
async fn guided_session_moves_across_tasks_and_completes() {
    let gw = gateway().await;
    for client in clients(&gw).await {
        gw.clear_requests();
        let session = client
            .guide("book a meeting")
            .policy(json!({"max_cost": 5}))
            .await
            .unwrap();
        assert_eq!(
            only_call(&gw),
            (
                "data-grout/discovery.guide".into(),
                json!({"goal": "book a meeting", "policy": {"max_cost": 5}})
            )
        );
        assert_eq!(session.session_id(), "gs:book a meeting");
        assert_eq!(session.state().options.len(), 2);
        assert_eq!(
            session.state().options[1].metadata,
            Some(json!({"region": "us"}))
        );
        assert!(matches!(session.complete(), Err(Error::InvalidArgument(_))));

        // Owned and Send: continue it on another task.
        let state = tokio::spawn(async move {
            let mut session = session;
            session.choose("salesforce").await.unwrap();
            assert!(session.is_complete());
            assert_eq!(
                session.complete().unwrap(),
                &json!({"goal": "book a meeting", "choice": "salesforce"})
            );
            session.into_state()
        })
        .await
        .unwrap();
        assert_eq!(state.status, "completed");
        assert_eq!(
            only_call(&gw).1,
            json!({"session_id": "gs:book a meeting", "choice": "salesforce"})
        );
    }
}

#[tokio::test]
async fn plan_estimate_dg_flow_and_prism_send_the_reference_shapes() {
    let gw = gateway().await;
    for client in clients(&gw).await {
        gw.clear_requests();
        // plan: goal and/or query required; nothing is sent without.
        let err = client.plan().k(3).await.unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
        assert!(calls(&gw).is_empty());
        let plan = client
            .plan()
            .goal("unpaid invoices")
            .k(1)
            .return_call_handles(true)
            .await
            .unwrap();
        assert_eq!(
            only_call(&gw),
            (
                "data-grout/discovery.plan".into(),
                json!({"goal": "unpaid invoices", "k": 1, "return_call_handles": true})
            )
        );
        assert_eq!(
            plan.data["steps"][0]["tool"],
            "quickbooks@1/list_invoices@1"
        );

        // estimate_cost: the target tool itself, with estimate_only.
        let estimate = client
            .estimate_cost("salesforce@1/get_lead@1", json!({"id": "1"}))
            .await
            .unwrap();
        assert_eq!(
            only_call(&gw),
            (
                "salesforce@1/get_lead@1".into(),
                json!({"id": "1", "estimate_only": true})
            )
        );
        assert_eq!(estimate.estimated_credits, Some(2.0));

        // dg: data-grout/<short>, params or {}.
        client.dg("logic.worlds", None).await.unwrap();
        assert_eq!(
            only_call(&gw),
            ("data-grout/logic.worlds".into(), json!({}))
        );

        // flow_into
        let flow_plan = json!({"steps": [
            {"tool": "salesforce@1/get_lead@1", "args": {"id": "7"}},
            {"tool": "slack@1/post_message@1", "args": {"channel": "#sales"}}
        ]});
        let ran = client
            .flow_into(flow_plan.clone())
            .arg("input_data", json!({"x": 1}))
            .await
            .unwrap();
        assert_eq!(
            only_call(&gw),
            (
                "data-grout/flow.into".into(),
                json!({"plan": flow_plan, "validate_ctc": true, "save_as_skill": false, "input_data": {"x": 1}})
            )
        );
        assert_eq!(ran.data["status"], "completed");
        assert_eq!(ran.data["steps"][0]["output"]["name"], "Lead 7");
        assert_eq!(ran.receipt().unwrap().net_credits, 2.5);

        // prism_focus
        let focused = client
            .prism_focus(json!({"b": "x", "a": "y"}), "json", "upper")
            .await
            .unwrap();
        assert_eq!(
            only_call(&gw),
            (
                "data-grout/prism.focus".into(),
                json!({"data": {"b": "x", "a": "y"}, "source_type": "json", "target_type": "upper"})
            )
        );
        assert_eq!(focused.data["output"], json!({"b": "X", "a": "Y"}));
    }
}

#[tokio::test]
async fn every_namespace_operation_sends_the_reference_tool_and_arguments() {
    let gw = gateway().await;
    for client in clients(&gw).await {
        gw.clear_requests();
        let p = json!({"k": "v"});
        let cases: Vec<(conduit::datagrout::DgCall, &str, Value)> = vec![
            (
                client.warden().canary(p.clone()),
                "warden.canary",
                p.clone(),
            ),
            (
                client.warden().verify_intent(p.clone()),
                "warden.intent",
                p.clone(),
            ),
            (
                client.warden().adjudicate(p.clone()),
                "warden.adjudicate",
                p.clone(),
            ),
            (
                client.warden().ensemble(p.clone()),
                "warden.ensemble",
                p.clone(),
            ),
            (
                client.prism().refract("tidy", json!([1])),
                "prism.refract",
                json!({"goal": "tidy", "payload": [1], "verbose": false, "chart": false}),
            ),
            (
                client.prism().chart("bars", json!([1])),
                "prism.chart",
                json!({"goal": "bars", "payload": [1]}),
            ),
            (
                client.prism().render("report").arg("sections", ["a"]),
                "prism.render",
                json!({"goal": "report", "format": "markdown", "sections": ["a"]}),
            ),
            (
                client.prism().export(json!("c"), "csv"),
                "prism.export",
                json!({"content": "c", "format": "csv"}),
            ),
            (
                client.logic().remember("sky is blue"),
                "logic.remember",
                json!({"tag": "default", "statement": "sky is blue"}),
            ),
            (
                client
                    .logic()
                    .remember_facts(json!([{"f": 1}]))
                    .arg("tag", "t"),
                "logic.remember",
                json!({"tag": "t", "facts": [{"f": 1}]}),
            ),
            (
                client.logic().query("what color?"),
                "logic.query",
                json!({"limit": 50, "question": "what color?"}),
            ),
            (
                client.logic().query_patterns(json!(["p"])),
                "logic.query",
                json!({"limit": 50, "patterns": ["p"]}),
            ),
            (
                client.logic().forget(&["h1", "h2"]),
                "logic.forget",
                json!({"handles": ["h1", "h2"]}),
            ),
            (
                client.logic().forget_pattern("color(_)"),
                "logic.forget",
                json!({"pattern": "color(_)"}),
            ),
            (
                client.logic().reflect(),
                "logic.reflect",
                json!({"summary_only": false}),
            ),
            (
                client.logic().reflect_entity("sky", true),
                "logic.reflect",
                json!({"summary_only": true, "entity": "sky"}),
            ),
            (
                client.logic().constrain("no red"),
                "logic.constrain",
                json!({"rule": "no red", "tag": "constraint"}),
            ),
            (
                client.logic().hydrate(p.clone()),
                "logic.hydrate",
                p.clone(),
            ),
            (
                client.logic().import_cell(p.clone()),
                "logic.import",
                p.clone(),
            ),
            (client.logic().worlds(p.clone()), "logic.worlds", p.clone()),
            (client.logic().export_cell(None), "logic.export", json!({})),
            (
                client.logic().tabulate(Some(p.clone())),
                "logic.tabulate",
                p.clone(),
            ),
            (
                client
                    .flow()
                    .route(json!([{"if": "x"}]))
                    .arg("else", "fallback"),
                "flow.route",
                json!({"branches": [{"if": "x"}], "else": "fallback"}),
            ),
            (
                client
                    .flow()
                    .request_approval("deploy")
                    .arg("reason", "prod"),
                "flow.request-approval",
                json!({"action": "deploy", "reason": "prod"}),
            ),
            (
                client.flow().request_feedback(&["email"], "missing"),
                "flow.request-feedback",
                json!({"missing_fields": ["email"], "reason": "missing"}),
            ),
            (
                client.flow().history().arg("status", "failed"),
                "inspect.execution-history",
                json!({"limit": 20, "offset": 0, "refractions_only": false, "status": "failed"}),
            ),
            (
                client.flow().details("ex-1"),
                "inspect.execution-details",
                json!({"execution_id": "ex-1"}),
            ),
            (
                client.deliverables().register(p.clone()),
                "deliverables.register",
                p.clone(),
            ),
            (
                client.deliverables().list(None),
                "deliverables.list",
                json!({}),
            ),
            (
                client.deliverables().get("r1"),
                "deliverables.get",
                json!({"ref": "r1"}),
            ),
            (
                client.ephemerals().list(Some(p.clone())),
                "ephemerals.list",
                p.clone(),
            ),
            (
                client.ephemerals().inspect("c1"),
                "ephemerals.inspect",
                json!({"cache_ref": "c1"}),
            ),
        ];
        for (call, tool, args) in cases {
            let response = call.await.unwrap();
            let tool = format!("data-grout/{tool}");
            assert_eq!(only_call(&gw), (tool.clone(), args.clone()));
            assert_eq!(response.data["tool"], json!(tool));
            assert_eq!(response.data["received"], args);
            // The compact `_dg` receipt of the namespaces.
            let meta = response.meta.as_ref().unwrap();
            assert_eq!(meta.source, MetaSource::ResultCompact);
            assert_eq!(meta.net_credits(), Some(0.25));
        }
        // Parameters that are not an object are refused before anything is sent.
        let err = client.warden().canary(json!([1])).await.unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
        assert!(calls(&gw).is_empty());
    }
}

#[tokio::test]
async fn budget_refuses_over_estimate_calls_before_sending_them() {
    let gw = gateway().await;
    for mode in [LifecycleMode::Stateless, LifecycleMode::Stateful] {
        let client = Client::builder(gw.url())
            .lifecycle(mode)
            .budget(3.0)
            .connect()
            .await
            .unwrap();
        gw.clear_requests();
        // get_lead costs 2 (net 1.5): first call fits.
        client
            .perform("salesforce@1/get_lead@1", json!({"id": "1"}))
            .await
            .unwrap();
        let sent = calls(&gw);
        assert_eq!(sent.len(), 2, "estimate, then the call: {sent:?}");
        assert_eq!(sent[0].1["estimate_only"], json!(true));
        assert!(sent[1].1.get("estimate_only").is_none());
        let status = client.budget().unwrap();
        assert_eq!(
            (status.spent, status.reserved, status.remaining),
            (1.5, 0.0, 1.5)
        );
        gw.clear_requests();

        // Second: estimate 2 > 1.5 remaining: refused, only the estimate went out.
        let err = client
            .perform("salesforce@1/get_lead@1", json!({"id": "2"}))
            .await
            .unwrap_err();
        match &err {
            Error::BudgetExceeded {
                tool,
                estimated,
                remaining,
            } => {
                assert_eq!(tool, "data-grout/discovery.perform");
                assert_eq!((*estimated, *remaining), (2.0, 1.5));
            }
            other => panic!("expected BudgetExceeded, got {other}"),
        }
        let sent = calls(&gw);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].1["estimate_only"], json!(true));
        gw.clear_requests();

        // A tool without an estimate is refused too (the gateway's `echo` gives none).
        let err = client
            .call_tool("echo", json!({"message": "hi"}))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::EstimateUnavailable { .. }), "{err}");
        assert!(calls(&gw)
            .iter()
            .all(|(_, a)| a["estimate_only"] == json!(true)));

        // A new budget starts from zero.
        client.set_budget(Some(10.0)).unwrap();
        client
            .perform("salesforce@1/get_lead@1", json!({"id": "3"}))
            .await
            .unwrap();
        assert_eq!(client.budget().unwrap().spent, 1.5);
        client.set_budget(None).unwrap();
        assert!(client.budget().is_none());
        gw.clear_requests();
        client
            .call_tool("echo", json!({"message": "hi"}))
            .await
            .unwrap();
        assert_eq!(calls(&gw).len(), 1, "no estimate without a budget");
    }
    assert!(matches!(
        Client::builder(gw.url()).budget(f64::NAN).connect().await,
        Err(Error::Config(_))
    ));
}

#[tokio::test]
async fn ledger_totals_over_a_mixed_session() {
    let gw = gateway().await;
    for client in clients(&gw).await {
        client.discover("salesforce lead").await.unwrap(); // 0.25
        client
            .perform("salesforce@1/get_lead@1", json!({"id": "1"}))
            .await
            .unwrap(); // 1.5, saved 0.5
        client
            .call_tool("quickbooks@1/list_invoices@1", json!({}))
            .await
            .unwrap(); // 1.25, saved 0.25
        client.logic().remember("x").await.unwrap(); // 0.25 (compact)
        client
            .estimate_cost("github@1/create_issue@1", json!({}))
            .await
            .unwrap(); // no receipt
        let _ = client
            .perform("salesforce@1/get_lead@1", json!({}))
            .await
            .unwrap_err(); // no receipt
        client
            .call_tool("echo", json!({"message": "m"}))
            .await
            .unwrap(); // not DataGrout
        let clone = client.clone();
        let batch = clone
            .perform_batch(vec![
                BatchCall::new("salesforce@1/get_lead@1", json!({"id": "2"})),
                BatchCall::new("slack@1/post_message@1", json!({"channel": "c"})),
            ])
            .await; // 1.5 (saved 0.5) + 1.0
        assert!(batch.iter().all(Result::is_ok));

        let ledger = client.ledger();
        assert_eq!(ledger.total.calls, 6);
        assert_eq!(
            ledger.total.credits_spent,
            0.25 + 1.5 + 1.25 + 0.25 + 1.5 + 1.0
        );
        assert_eq!(ledger.total.credits_saved, 0.5 + 0.25 + 0.5);
        let lead = &ledger.per_tool["salesforce@1/get_lead@1"];
        assert_eq!(
            (lead.calls, lead.credits_spent, lead.credits_saved),
            (2, 3.0, 1.0)
        );
        assert_eq!(
            ledger.per_tool["data-grout/discovery.discover"].credits_spent,
            0.25
        );
        assert_eq!(
            ledger.per_tool["data-grout/logic.remember"].credits_spent,
            0.25
        );
        assert_eq!(
            ledger.per_tool["quickbooks@1/list_invoices@1"].credits_saved,
            0.25
        );
        assert!(!ledger.per_tool.contains_key("echo"));
        assert!(!ledger.per_tool.contains_key("github@1/create_issue@1"));

        client.reset_ledger();
        assert_eq!(clone.ledger(), Default::default());
    }
}

#[tokio::test]
async fn intelligent_interface_keeps_only_datagrout_tools() {
    let gw = gateway().await;
    let all = Client::builder(gw.url()).connect().await.unwrap();
    assert!(!all.uses_intelligent_interface(), "not a DataGrout URL");
    let names: Vec<String> = all
        .list_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert!(names.contains(&"salesforce@1/get_lead@1".to_owned()));

    let dg = Client::builder(gw.url())
        .use_intelligent_interface(true)
        .connect()
        .await
        .unwrap();
    let names: Vec<String> = dg
        .list_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert!(names.contains(&"data-grout/discovery.discover".to_owned()));
    assert!(
        names.contains(&"echo".to_owned()),
        "names without @ are kept"
    );
    assert!(names.iter().all(|n| !n.contains('@')), "{names:?}");

    // The reference's rule, name by name.
    for (name, keep) in [
        ("echo", true),
        ("data-grout/discovery.perform", true),
        ("data-grout@1/discovery.perform@1", true),
        ("salesforce@1/get_lead@1", false),
        ("data-grout-fake@1/x@1", false),
    ] {
        assert_eq!(conduit::is_dg_native_tool(name), keep, "{name}");
    }
}

#[tokio::test]
async fn sse_responses_unwrap_the_same_way() {
    let gw = TestGateway::start(GatewayConfig::default().response_mode(ResponseMode::Sse))
        .await
        .unwrap();
    let client = Client::connect(gw.url()).await.unwrap();
    let lead = client
        .perform("salesforce@1/get_lead@1", json!({"id": "s"}))
        .await
        .unwrap();
    assert_eq!(lead.data["name"], "Lead s");
    assert_eq!(lead.receipt().unwrap().net_credits, 1.5);
}
