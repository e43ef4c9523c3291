#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Round-trip tests for the MCP types: property tests over every message type, the examples of
//! the specification (2025-11-25 docs and 2026-07-28 schema examples, under `tests/fixtures/`),
//! and targeted checks of the tolerance rules.

use std::path::{Path, PathBuf};

use conduit_protocol::jsonrpc::{ErrorObject, Message, Notification, Outcome, Request, RequestId};
use conduit_protocol::mcp::*;
use conduit_protocol::version::ProtocolVersion;
use proptest::collection::{btree_map, vec};
use proptest::option::of as opt;
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// helpers

/// parse ∘ serialize on a JSON value.
fn rt<T: Serialize + DeserializeOwned>(v: &Value) -> Result<Value, String> {
    let t: T = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(&t).map_err(|e| e.to_string())
}

/// Asserts that a typed value survives value → struct → value and struct → value → struct.
fn assert_roundtrip<T>(x: &T)
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let v = serde_json::to_value(x).unwrap();
    let back: T = serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("parse failed: {e}\nvalue: {v}"));
    assert_eq!(&back, x, "struct changed; wire: {v}");
    assert_eq!(serde_json::to_value(&back).unwrap(), v, "wire changed");
}

// ---------------------------------------------------------------------------------------------
// strategies

fn text() -> impl Strategy<Value = String> {
    "[ -~]{0,10}"
}

fn key() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9_]{0,6}"
}

/// A string no known enum value or tag can equal.
fn odd() -> impl Strategy<Value = String> {
    "x-[a-z]{1,6}"
}

fn num() -> impl Strategy<Value = f64> {
    prop_oneof![(-1000i64..1000).prop_map(|i| i as f64), -1.0e6f64..1.0e6]
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        num().prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            vec((key(), inner), 0..4).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn obj() -> impl Strategy<Value = JsonObject> {
    vec((key(), json()), 0..4).prop_map(|kv| kv.into_iter().collect())
}

/// Unknown members: keys that no struct models.
fn extra() -> impl Strategy<Value = JsonObject> {
    vec(("x-[a-z]{1,5}", json()), 0..3).prop_map(|kv| kv.into_iter().collect())
}

fn meta() -> impl Strategy<Value = Option<Meta>> {
    opt(obj())
}

fn non_null() -> impl Strategy<Value = Value> {
    json().prop_filter("not null", |v| !v.is_null())
}

fn request_id() -> impl Strategy<Value = RequestId> {
    prop_oneof![
        any::<i64>().prop_map(RequestId::Number),
        text().prop_map(RequestId::String)
    ]
}

fn progress_token() -> impl Strategy<Value = ProgressToken> {
    prop_oneof![
        any::<i64>().prop_map(ProgressToken::Number),
        text().prop_map(ProgressToken::String)
    ]
}

fn version() -> impl Strategy<Value = ProtocolVersion> {
    prop_oneof![
        Just(ProtocolVersion::V2024_11_05),
        Just(ProtocolVersion::V2025_11_25),
        Just(ProtocolVersion::V2026_07_28),
        text().prop_map(ProtocolVersion::new),
    ]
}

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![
        Just(Role::User),
        Just(Role::Assistant),
        odd().prop_map(Role::Other)
    ]
}

fn result_type() -> impl Strategy<Value = Option<ResultType>> {
    opt(prop_oneof![
        Just(ResultType::Complete),
        Just(ResultType::InputRequired),
        Just(ResultType::Task),
        odd().prop_map(ResultType::Other),
    ])
}

fn cache_scope() -> impl Strategy<Value = Option<CacheScope>> {
    opt(prop_oneof![
        Just(CacheScope::Public),
        Just(CacheScope::Private),
        odd().prop_map(CacheScope::Other)
    ])
}

fn level() -> impl Strategy<Value = LoggingLevel> {
    prop_oneof![
        Just(LoggingLevel::Debug),
        Just(LoggingLevel::Warning),
        Just(LoggingLevel::Emergency),
        odd().prop_map(LoggingLevel::Other),
    ]
}

fn task_status() -> impl Strategy<Value = TaskStatus> {
    prop_oneof![
        Just(TaskStatus::Working),
        Just(TaskStatus::InputRequired),
        Just(TaskStatus::Completed),
        Just(TaskStatus::Failed),
        Just(TaskStatus::Cancelled),
        odd().prop_map(TaskStatus::Other),
    ]
}

fn icon() -> impl Strategy<Value = Icon> {
    (
        text(),
        opt(text()),
        opt(vec(text(), 0..2)),
        opt(prop_oneof![
            Just(IconTheme::Light),
            Just(IconTheme::Dark),
            odd().prop_map(IconTheme::Other)
        ]),
        extra(),
    )
        .prop_map(|(src, mime, sizes, theme, x)| {
            let mut i = Icon::new(src);
            i.mime_type = mime;
            i.sizes = sizes;
            i.theme = theme;
            i.extra = x;
            i
        })
}

fn icons() -> impl Strategy<Value = Option<Vec<Icon>>> {
    opt(vec(icon(), 0..2))
}

fn implementation() -> impl Strategy<Value = Implementation> {
    (
        text(),
        text(),
        opt(text()),
        opt(text()),
        icons(),
        opt(text()),
        extra(),
    )
        .prop_map(|(n, v, t, d, i, w, x)| {
            let mut m = Implementation::new(n, v);
            m.title = t;
            m.description = d;
            m.icons = i;
            m.website_url = w;
            m.extra = x;
            m
        })
}

fn annotations() -> impl Strategy<Value = Option<Annotations>> {
    opt(
        (opt(vec(role(), 0..3)), opt(num()), opt(text()), extra()).prop_map(|(a, p, l, x)| {
            let mut n = Annotations::new();
            n.audience = a;
            n.priority = p;
            n.last_modified = l;
            n.extra = x;
            n
        }),
    )
}

fn client_capabilities() -> impl Strategy<Value = ClientCapabilities> {
    (
        opt(obj()),
        opt((opt(any::<bool>()), extra())),
        opt((opt(obj()), opt(obj()))),
        opt((opt(obj()), opt(obj()), extra())),
        opt((opt(obj()), opt(obj()), any::<bool>(), any::<bool>())),
        opt(obj()),
        extra(),
    )
        .prop_map(|(exp, roots, sampling, elic, tasks, exts, x)| {
            let mut c = ClientCapabilities::new();
            c.experimental = exp;
            c.roots = roots.map(|(lc, x)| {
                let mut r = RootsCapability::new();
                r.list_changed = lc;
                r.extra = x;
                r
            });
            c.sampling = sampling.map(|(ctx, tools)| {
                let mut s = SamplingCapability::new();
                s.context = ctx;
                s.tools = tools;
                s
            });
            c.elicitation = elic.map(|(f, u, x)| {
                let mut e = ElicitationCapability::new();
                e.form = f;
                e.url = u;
                e.extra = x;
                e
            });
            c.tasks = tasks.map(|(l, cl, s, e)| {
                let mut req = ClientTaskRequests::new();
                if s {
                    req.sampling =
                        Some(SamplingTaskCapability::new().create_message(JsonObject::new()));
                }
                if e {
                    req.elicitation =
                        Some(ElicitationTaskCapability::new().create(JsonObject::new()));
                }
                let mut t = ClientTasksCapability::new().requests(req);
                t.list = l;
                t.cancel = cl;
                t
            });
            c.extensions = exts;
            c.extra = x;
            c
        })
}

fn server_capabilities() -> impl Strategy<Value = ServerCapabilities> {
    (
        opt(obj()),
        opt(obj()),
        opt(obj()),
        opt(opt(any::<bool>())),
        opt((opt(any::<bool>()), opt(any::<bool>()))),
        opt(opt(any::<bool>())),
        opt((opt(obj()), opt(obj()), any::<bool>())),
        opt(obj()),
        extra(),
    )
        .prop_map(|(exp, log, comp, pr, res, tools, tasks, exts, x)| {
            let mut c = ServerCapabilities::new();
            c.experimental = exp;
            c.logging = log;
            c.completions = comp;
            c.prompts = pr.map(|lc| {
                let mut p = PromptsCapability::new();
                p.list_changed = lc;
                p
            });
            c.resources = res.map(|(s, lc)| {
                let mut r = ResourcesCapability::new();
                r.subscribe = s;
                r.list_changed = lc;
                r
            });
            c.tools = tools.map(|lc| {
                let mut t = ToolsCapability::new();
                t.list_changed = lc;
                t
            });
            c.tasks = tasks.map(|(l, cl, call)| {
                let mut t = ServerTasksCapability::new();
                t.list = l;
                t.cancel = cl;
                if call {
                    t.requests = Some(
                        ServerTaskRequests::new()
                            .tools(ToolsTaskCapability::new().call(JsonObject::new())),
                    );
                }
                t
            });
            c.extensions = exts;
            c.extra = x;
            c
        })
}

fn resource() -> impl Strategy<Value = Resource> {
    (
        text(),
        text(),
        opt(text()),
        opt(text()),
        opt(text()),
        annotations(),
        opt(any::<u64>()),
        icons(),
        meta(),
        extra(),
    )
        .prop_map(|(u, n, t, d, mt, a, s, i, m, x)| {
            let mut r = Resource::new(u, n);
            r.title = t;
            r.description = d;
            r.mime_type = mt;
            r.annotations = a;
            r.size = s;
            r.icons = i;
            r.meta = m;
            r.extra = x;
            r
        })
}

fn resource_template() -> impl Strategy<Value = ResourceTemplate> {
    (
        text(),
        text(),
        opt(text()),
        opt(text()),
        annotations(),
        icons(),
        meta(),
        extra(),
    )
        .prop_map(|(u, n, t, mt, a, i, m, x)| {
            let mut r = ResourceTemplate::new(u, n);
            r.title = t;
            r.mime_type = mt;
            r.annotations = a;
            r.icons = i;
            r.meta = m;
            r.extra = x;
            r
        })
}

fn resource_contents() -> impl Strategy<Value = ResourceContents> {
    prop_oneof![
        (text(), text(), opt(text()), meta(), extra()).prop_map(|(u, t, mt, m, x)| {
            let mut c = TextResourceContents::new(u, t);
            c.mime_type = mt;
            c.meta = m;
            c.extra = x;
            ResourceContents::Text(c)
        }),
        (text(), text(), opt(text()), meta(), extra()).prop_map(|(u, b, mt, m, x)| {
            let mut c = BlobResourceContents::new(u, b);
            c.mime_type = mt;
            c.meta = m;
            c.extra = x;
            ResourceContents::Blob(c)
        }),
        (text(), extra()).prop_map(|(u, mut x)| {
            x.insert("uri".into(), u.into());
            ResourceContents::Other(x)
        }),
    ]
}

fn unknown_tagged(tag: &'static str) -> impl Strategy<Value = JsonObject> {
    (odd(), extra()).prop_map(move |(t, mut x)| {
        x.insert(tag.into(), t.into());
        x
    })
}

fn content_block() -> impl Strategy<Value = ContentBlock> {
    let media = || (text(), text(), annotations(), meta(), extra());
    prop_oneof![
        (text(), annotations(), meta(), extra()).prop_map(|(t, a, m, x)| {
            let mut c = TextContent::new(t);
            c.annotations = a;
            c.meta = m;
            c.extra = x;
            ContentBlock::Text(c)
        }),
        media().prop_map(|(d, mt, a, m, x)| {
            let mut c = ImageContent::new(d, mt);
            c.annotations = a;
            c.meta = m;
            c.extra = x;
            ContentBlock::Image(c)
        }),
        media().prop_map(|(d, mt, a, m, x)| {
            let mut c = AudioContent::new(d, mt);
            c.annotations = a;
            c.meta = m;
            c.extra = x;
            ContentBlock::Audio(c)
        }),
        resource().prop_map(ContentBlock::ResourceLink),
        (resource_contents(), annotations(), meta(), extra()).prop_map(|(r, a, m, x)| {
            let mut c = EmbeddedResource::new(r);
            c.annotations = a;
            c.meta = m;
            c.extra = x;
            ContentBlock::Resource(c)
        }),
        unknown_tagged("type").prop_map(ContentBlock::Unknown),
    ]
}

fn sampling_content() -> impl Strategy<Value = SamplingContent> {
    prop_oneof![
        text().prop_map(SamplingContent::text),
        (text(), text()).prop_map(|(d, m)| SamplingContent::Image(ImageContent::new(d, m))),
        (text(), text(), obj(), meta(), extra()).prop_map(|(id, n, i, m, x)| {
            let mut c = ToolUseContent::new(id, n, i);
            c.meta = m;
            c.extra = x;
            SamplingContent::ToolUse(c)
        }),
        (
            text(),
            vec(content_block(), 0..3),
            opt(non_null()),
            opt(any::<bool>()),
            meta()
        )
            .prop_map(|(id, c, s, e, m)| {
                let mut r = ToolResultContent::new(id, c);
                r.structured_content = s;
                r.is_error = e;
                r.meta = m;
                SamplingContent::ToolResult(r)
            }),
        unknown_tagged("type").prop_map(SamplingContent::Unknown),
    ]
}

fn sampling_list() -> impl Strategy<Value = SamplingContentList> {
    prop_oneof![
        sampling_content().prop_map(SamplingContentList::from),
        vec(sampling_content(), 0..3).prop_map(SamplingContentList::from),
    ]
}

fn tool() -> impl Strategy<Value = Tool> {
    let ann = opt((
        opt(text()),
        opt(any::<bool>()),
        opt(any::<bool>()),
        opt(any::<bool>()),
        opt(any::<bool>()),
        extra(),
    )
        .prop_map(|(t, r, d, i, o, x)| {
            let mut a = ToolAnnotations::new();
            a.title = t;
            a.read_only_hint = r;
            a.destructive_hint = d;
            a.idempotent_hint = i;
            a.open_world_hint = o;
            a.extra = x;
            a
        }));
    let exec = opt(opt(prop_oneof![
        Just(TaskSupport::Forbidden),
        Just(TaskSupport::Optional),
        Just(TaskSupport::Required),
        odd().prop_map(TaskSupport::Other),
    ])
    .prop_map(|ts| {
        let mut e = ToolExecution::new();
        e.task_support = ts;
        e
    }));
    (
        text(),
        obj(),
        opt(text()),
        opt(text()),
        opt(obj()),
        ann,
        exec,
        icons(),
        meta(),
        extra(),
    )
        .prop_map(|(n, s, t, d, o, a, e, i, m, x)| {
            let mut tool = Tool::new(n, s);
            tool.title = t;
            tool.description = d;
            tool.output_schema = o;
            tool.annotations = a;
            tool.execution = e;
            tool.icons = i;
            tool.meta = m;
            tool.extra = x;
            tool
        })
}

fn task_metadata() -> impl Strategy<Value = Option<TaskMetadata>> {
    opt(opt(any::<u64>()).prop_map(|t| {
        let mut m = TaskMetadata::new();
        m.ttl = t;
        m
    }))
}

fn create_message_params() -> impl Strategy<Value = CreateMessageParams> {
    let prefs = opt((
        opt(vec(opt(text()), 0..2)),
        opt(num()),
        opt(num()),
        opt(num()),
    )
        .prop_map(|(h, c, s, i)| {
            let mut p = ModelPreferences::new();
            p.hints = h.map(|h| {
                h.into_iter()
                    .map(|n| {
                        let mut hint = ModelHint::new();
                        hint.name = n;
                        hint
                    })
                    .collect()
            });
            p.cost_priority = c;
            p.speed_priority = s;
            p.intelligence_priority = i;
            p
        }));
    (
        vec((role(), sampling_list(), meta()), 0..3),
        any::<u32>(),
        prefs,
        opt(text()),
        opt(prop_oneof![
            Just(IncludeContext::None),
            Just(IncludeContext::ThisServer),
            odd().prop_map(IncludeContext::Other)
        ]),
        opt(num()),
        opt(vec(text(), 0..2)),
        opt(obj()),
        opt(vec(tool(), 0..2)),
        opt(opt(prop_oneof![
            Just(ToolChoiceMode::Auto),
            Just(ToolChoiceMode::None),
            odd().prop_map(ToolChoiceMode::Other)
        ])),
        (task_metadata(), meta(), extra()),
    )
        .prop_map(
            |(msgs, max, p, sys, inc, temp, stop, md, tools, choice, (task, m, x))| {
                let messages = msgs
                    .into_iter()
                    .map(|(r, c, m)| {
                        let mut s = SamplingMessage::new(r, c);
                        s.meta = m;
                        s
                    })
                    .collect::<Vec<_>>();
                let mut c = CreateMessageParams::new(messages, u64::from(max));
                c.model_preferences = p;
                c.system_prompt = sys;
                c.include_context = inc;
                c.temperature = temp;
                c.stop_sequences = stop;
                c.metadata = md;
                c.tools = tools;
                c.tool_choice = choice.map(|mode| {
                    let mut t = ToolChoice::new();
                    t.mode = mode;
                    t
                });
                c.task = task;
                c.meta = m;
                c.extra = x;
                c
            },
        )
}

fn create_message_result() -> impl Strategy<Value = CreateMessageResult> {
    (
        role(),
        sampling_list(),
        text(),
        opt(prop_oneof![
            Just(StopReason::EndTurn),
            Just(StopReason::ToolUse),
            odd().prop_map(StopReason::Other)
        ]),
        result_type(),
        meta(),
        extra(),
    )
        .prop_map(|(r, c, model, s, rt, m, x)| {
            let mut v = CreateMessageResult::new(r, c, model);
            v.stop_reason = s;
            v.result_type = rt;
            v.meta = m;
            v.extra = x;
            v
        })
}

fn elicit_params() -> impl Strategy<Value = ElicitRequestParams> {
    prop_oneof![
        (
            text(),
            obj(),
            any::<bool>(),
            task_metadata(),
            meta(),
            extra()
        )
            .prop_map(|(msg, s, explicit, t, m, x)| {
                let mut f = ElicitFormParams::new(msg, s);
                f.mode = explicit.then_some(FormMode::Form);
                f.task = t;
                f.meta = m;
                f.extra = x;
                ElicitRequestParams::Form(f)
            }),
        (
            text(),
            text(),
            opt(text()),
            task_metadata(),
            meta(),
            extra()
        )
            .prop_map(|(msg, u, id, t, m, x)| {
                let mut p = ElicitUrlParams::new(msg, u);
                p.elicitation_id = id;
                p.task = t;
                p.meta = m;
                p.extra = x;
                ElicitRequestParams::Url(p)
            }),
        unknown_tagged("mode").prop_map(ElicitRequestParams::Other),
    ]
}

fn elicit_result() -> impl Strategy<Value = ElicitResult> {
    (
        prop_oneof![
            Just(ElicitAction::Accept),
            Just(ElicitAction::Decline),
            Just(ElicitAction::Cancel),
            odd().prop_map(ElicitAction::Other)
        ],
        opt(obj()),
        result_type(),
        meta(),
        extra(),
    )
        .prop_map(|(a, c, rt, m, x)| {
            let mut r = ElicitResult::new(a);
            r.content = c;
            r.result_type = rt;
            r.meta = m;
            r.extra = x;
            r
        })
}

fn roots_result() -> impl Strategy<Value = ListRootsResult> {
    (
        vec((text(), opt(text()), meta(), extra()), 0..3),
        result_type(),
        meta(),
    )
        .prop_map(|(roots, rt, m)| {
            let mut r = ListRootsResult::new(
                roots
                    .into_iter()
                    .map(|(u, n, m, x)| {
                        let mut r = Root::new(u);
                        r.name = n;
                        r.meta = m;
                        r.extra = x;
                        r
                    })
                    .collect::<Vec<_>>(),
            );
            r.result_type = rt;
            r.meta = m;
            r
        })
}

fn input_requests() -> impl Strategy<Value = InputRequests> {
    btree_map(
        key(),
        prop_oneof![
            elicit_params().prop_map(InputRequest::elicit),
            create_message_params().prop_map(InputRequest::create_message),
            Just(InputRequest::list_roots()),
            (odd(), opt(obj()), extra()).prop_map(|(m, p, x)| {
                let mut r = InputRequest::new(m);
                r.params = p;
                r.extra = x;
                r
            }),
        ],
        0..3,
    )
}

fn input_responses() -> impl Strategy<Value = InputResponses> {
    btree_map(
        key(),
        prop_oneof![
            elicit_result().prop_map(InputResponse::from),
            create_message_result().prop_map(InputResponse::from),
            roots_result().prop_map(InputResponse::from),
            extra().prop_map(InputResponse::Other),
        ],
        0..3,
    )
}

fn task() -> impl Strategy<Value = Task> {
    (
        text(),
        task_status(),
        text(),
        text(),
        opt(any::<u64>()),
        opt(text()),
        opt(any::<u64>()),
        meta(),
        extra(),
    )
        .prop_map(|(id, st, c, u, ttl, sm, pi, m, x)| {
            let mut t = Task::new(id, st, c, u, ttl);
            t.status_message = sm;
            t.poll_interval = pi;
            t.meta = m;
            t.extra = x;
            t
        })
}

fn detailed_task() -> impl Strategy<Value = DetailedTask> {
    (
        (text(), task_status(), text(), text(), opt(any::<u64>())),
        opt(text()),
        opt(any::<u64>()),
        opt(input_requests()),
        opt(obj()),
        opt((any::<i64>(), text(), opt(non_null()))),
        result_type(),
        meta(),
        extra(),
    )
        .prop_map(|((id, st, c, u, ttl), sm, pi, ir, res, err, rt, m, x)| {
            let mut t = DetailedTask::new(id, st, c, u, ttl);
            t.status_message = sm;
            t.poll_interval_ms = pi;
            t.input_requests = ir;
            t.result = res;
            t.error = err.map(|(code, msg, data)| {
                let mut e = ErrorObject::new(code, msg);
                e.data = data;
                e
            });
            t.result_type = rt;
            t.meta = m;
            t.extra = x;
            t
        })
}

fn filter() -> impl Strategy<Value = SubscriptionFilter> {
    (
        opt(any::<bool>()),
        opt(any::<bool>()),
        opt(any::<bool>()),
        opt(vec(text(), 0..2)),
        opt(vec(text(), 0..2)),
        extra(),
    )
        .prop_map(|(t, p, r, rs, ti, x)| {
            let mut f = SubscriptionFilter::new();
            f.tools_list_changed = t;
            f.prompts_list_changed = p;
            f.resources_list_changed = r;
            f.resource_subscriptions = rs;
            f.task_ids = ti;
            f.extra = x;
            f
        })
}

// ---------------------------------------------------------------------------------------------
// property tests: one per message type (params and results of every method of both eras)

macro_rules! roundtrips {
    ($($name:ident: $strategy:expr;)+) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(40))]
            $(
                #[test]
                fn $name(x in $strategy) {
                    assert_roundtrip(&x);
                }
            )+
        }
    };
}

roundtrips! {
    // lifecycle (stateful)
    initialize_params: (version(), client_capabilities(), implementation(), meta(), extra())
        .prop_map(|(v, c, i, m, x)| {
            let mut p = InitializeParams::new(v, c, i);
            p.meta = m;
            p.extra = x;
            p
        });
    initialize_result: (version(), server_capabilities(), implementation(), opt(text()), meta(), extra())
        .prop_map(|(v, c, i, ins, m, x)| {
            let mut r = InitializeResult::new(v, c, i);
            r.instructions = ins;
            r.meta = m;
            r.extra = x;
            r
        });
    request_params: (meta(), extra()).prop_map(|(m, x)| {
        let mut p = RequestParams::new();
        p.meta = m;
        p.extra = x;
        p
    });
    notification_params: (meta(), extra()).prop_map(|(m, x)| {
        let mut p = NotificationParams::new();
        p.meta = m;
        p.extra = x;
        p
    });
    paginated_params: (opt(text()), meta(), extra()).prop_map(|(c, m, x)| {
        let mut p = PaginatedParams::new();
        p.cursor = c;
        p.meta = m;
        p.extra = x;
        p
    });
    empty_result: (result_type(), meta(), extra()).prop_map(|(rt, m, x)| {
        let mut r = EmptyResult::new();
        r.result_type = rt;
        r.meta = m;
        r.extra = x;
        r
    });
    // tools
    tool_rt: tool();
    list_tools_result: (vec(tool(), 0..3), opt(text()), opt(any::<u64>()), cache_scope(), result_type(), meta())
        .prop_map(|(t, c, ttl, cs, rt, m)| {
            let mut r = ListToolsResult::new(t);
            r.next_cursor = c;
            r.ttl_ms = ttl;
            r.cache_scope = cs;
            r.result_type = rt;
            r.meta = m;
            r
        });
    call_tool_params: (text(), opt(obj()), task_metadata(), opt(input_responses()), opt(text()), meta(), extra())
        .prop_map(|(n, a, t, ir, rs, m, x)| {
            let mut p = CallToolParams::new(n);
            p.arguments = a;
            p.task = t;
            p.input_responses = ir;
            p.request_state = rs;
            p.meta = m;
            p.extra = x;
            p
        });
    call_tool_result: (vec(content_block(), 0..4), opt(non_null()), opt(any::<bool>()), result_type(), meta(), extra())
        .prop_map(|(c, s, e, rt, m, x)| {
            let mut r = CallToolResult::new(c);
            r.structured_content = s;
            r.is_error = e;
            r.result_type = rt;
            r.meta = m;
            r.extra = x;
            r
        });
    // resources
    list_resources_result: (vec(resource(), 0..3), opt(text()), opt(any::<u64>()), cache_scope(), meta())
        .prop_map(|(rs, c, ttl, cs, m)| {
            let mut r = ListResourcesResult::new(rs);
            r.next_cursor = c;
            r.ttl_ms = ttl;
            r.cache_scope = cs;
            r.meta = m;
            r
        });
    list_resource_templates_result: (vec(resource_template(), 0..3), opt(text()), result_type(), extra())
        .prop_map(|(ts, c, rt, x)| {
            let mut r = ListResourceTemplatesResult::new(ts);
            r.next_cursor = c;
            r.result_type = rt;
            r.extra = x;
            r
        });
    read_resource_params: (text(), opt(input_responses()), opt(text()), meta(), extra())
        .prop_map(|(u, ir, rs, m, x)| {
            let mut p = ReadResourceParams::new(u);
            p.input_responses = ir;
            p.request_state = rs;
            p.meta = m;
            p.extra = x;
            p
        });
    read_resource_result: (vec(resource_contents(), 0..3), opt(any::<u64>()), cache_scope(), result_type(), meta())
        .prop_map(|(c, ttl, cs, rt, m)| {
            let mut r = ReadResourceResult::new(c);
            r.ttl_ms = ttl;
            r.cache_scope = cs;
            r.result_type = rt;
            r.meta = m;
            r
        });
    subscribe_params: (text(), meta(), extra()).prop_map(|(u, m, x)| {
        let mut p = SubscribeParams::new(u);
        p.meta = m;
        p.extra = x;
        p
    });
    resource_updated_params: (text(), meta(), extra()).prop_map(|(u, m, x)| {
        let mut p = ResourceUpdatedParams::new(u);
        p.meta = m;
        p.extra = x;
        p
    });
    // prompts
    list_prompts_result: (vec((text(), opt(text()), opt(vec((text(), opt(text()), opt(any::<bool>())), 0..2)), icons(), meta()), 0..3), opt(text()), cache_scope())
        .prop_map(|(ps, c, cs)| {
            let prompts = ps.into_iter().map(|(n, d, args, i, m)| {
                let mut p = Prompt::new(n);
                p.description = d;
                p.arguments = args.map(|a| a.into_iter().map(|(n, d, r)| {
                    let mut pa = PromptArgument::new(n);
                    pa.description = d;
                    pa.required = r;
                    pa
                }).collect());
                p.icons = i;
                p.meta = m;
                p
            }).collect::<Vec<_>>();
            let mut r = ListPromptsResult::new(prompts);
            r.next_cursor = c;
            r.cache_scope = cs;
            r
        });
    get_prompt_params: (text(), opt(obj()), opt(input_responses()), opt(text()), meta())
        .prop_map(|(n, a, ir, rs, m)| {
            let mut p = GetPromptParams::new(n);
            p.arguments = a;
            p.input_responses = ir;
            p.request_state = rs;
            p.meta = m;
            p
        });
    get_prompt_result: (vec((role(), content_block(), extra()), 0..3), opt(text()), result_type(), meta())
        .prop_map(|(ms, d, rt, m)| {
            let messages = ms.into_iter().map(|(r, c, x)| {
                let mut pm = PromptMessage::new(r, c);
                pm.extra = x;
                pm
            }).collect::<Vec<_>>();
            let mut r = GetPromptResult::new(messages);
            r.description = d;
            r.result_type = rt;
            r.meta = m;
            r
        });
    // completion
    complete_params: (
        prop_oneof![
            (text(), opt(text())).prop_map(|(n, t)| {
                let mut p = PromptReference::new(n);
                p.title = t;
                CompletionReference::Prompt(p)
            }),
            text().prop_map(|u| CompletionReference::Resource(ResourceTemplateReference::new(u))),
            unknown_tagged("type").prop_map(CompletionReference::Unknown),
        ],
        (text(), text()),
        opt(opt(obj())),
        meta(),
    )
        .prop_map(|(r, (n, v), ctx, m)| {
            let mut p = CompleteParams::new(r, CompletionArgument::new(n, v));
            p.context = ctx.map(|a| {
                let mut c = CompletionContext::new();
                c.arguments = a;
                c
            });
            p.meta = m;
            p
        });
    complete_result: (vec(text(), 0..4), opt(any::<u64>()), opt(any::<bool>()), result_type(), extra())
        .prop_map(|(v, t, h, rt, x)| {
            let mut c = Completion::new(v);
            c.total = t;
            c.has_more = h;
            let mut r = CompleteResult::new(c);
            r.result_type = rt;
            r.extra = x;
            r
        });
    // logging, progress, cancellation
    set_level_params: (level(), meta()).prop_map(|(l, m)| {
        let mut p = SetLevelParams::new(l);
        p.meta = m;
        p
    });
    logging_message_params: (level(), json(), opt(text()), meta(), extra()).prop_map(|(l, d, lg, m, x)| {
        let mut p = LoggingMessageParams::new(l, d);
        p.logger = lg;
        p.meta = m;
        p.extra = x;
        p
    });
    progress_params: (progress_token(), num(), opt(num()), opt(text()), meta(), extra())
        .prop_map(|(t, p, tot, msg, m, x)| {
            let mut n = ProgressNotificationParams::new(t, p);
            n.total = tot;
            n.message = msg;
            n.meta = m;
            n.extra = x;
            n
        });
    cancelled_params: (opt(request_id()), opt(text()), meta(), extra()).prop_map(|(id, r, m, x)| {
        let mut p = CancelledNotificationParams::new();
        p.request_id = id;
        p.reason = r;
        p.meta = m;
        p.extra = x;
        p
    });
    // roots, sampling, elicitation
    list_roots_result: roots_result();
    create_message_params_rt: create_message_params();
    create_message_result_rt: create_message_result();
    elicit_params_rt: elicit_params();
    elicit_result_rt: elicit_result();
    elicitation_complete_params: (text(), meta()).prop_map(|(id, m)| {
        let mut p = ElicitationCompleteParams::new(id);
        p.meta = m;
        p
    });
    url_elicitation_required_data: vec(elicit_params(), 0..3)
        .prop_map(UrlElicitationRequiredData::new);
    // tasks (2025-11-25)
    task_rt: task();
    create_task_result: (task(), result_type(), meta()).prop_map(|(t, rt, m)| {
        let mut r = CreateTaskResult::new(t);
        r.result_type = rt;
        r.meta = m;
        r
    });
    task_id_params: (text(), meta(), extra()).prop_map(|(id, m, x)| {
        let mut p = TaskIdParams::new(id);
        p.meta = m;
        p.extra = x;
        p
    });
    list_tasks_result: (vec(task(), 0..3), opt(text())).prop_map(|(t, c)| {
        let mut r = ListTasksResult::new(t);
        r.next_cursor = c;
        r
    });
    // stateless era (2026-07-28)
    discover_result: (vec(version(), 0..3), server_capabilities(), opt(text()), opt(any::<u64>()), cache_scope(), result_type(), meta(), extra())
        .prop_map(|(v, c, i, ttl, cs, rt, m, x)| {
            let mut r = DiscoverResult::new(v, c);
            r.instructions = i;
            r.ttl_ms = ttl;
            r.cache_scope = cs;
            r.result_type = rt;
            r.meta = m;
            r.extra = x;
            r
        });
    input_required_result: (opt(input_requests()), opt(text()), result_type(), meta(), extra())
        .prop_map(|(ir, rs, rt, m, x)| {
            let mut r = InputRequiredResult::new();
            r.input_requests = ir;
            r.request_state = rs;
            r.result_type = rt;
            r.meta = m;
            r.extra = x;
            r
        });
    input_responses_rt: input_responses();
    subscriptions_listen_params: (filter(), meta()).prop_map(|(f, m)| {
        let mut p = SubscriptionsListenParams::new(f);
        p.meta = m;
        p
    });
    subscriptions_acknowledged_params: (filter(), meta()).prop_map(|(f, m)| {
        let mut p = SubscriptionsAcknowledgedParams::new(f);
        p.meta = m;
        p
    });
    unsupported_version_data: (vec(version(), 0..3), opt(version()), extra()).prop_map(|(s, r, x)| {
        let mut d = UnsupportedProtocolVersionData::new(s);
        d.requested = r;
        d.extra = x;
        d
    });
    missing_capability_data: client_capabilities().prop_map(MissingRequiredClientCapabilityData::new);
    request_meta: (opt(progress_token()), opt(version()), opt(client_capabilities()), opt(implementation()), opt(level()), extra())
        .prop_map(|(t, v, c, i, l, x)| {
            let mut m = RequestMeta::new();
            m.progress_token = t;
            m.protocol_version = v;
            m.client_capabilities = c;
            m.client_info = i;
            m.log_level = l;
            m.extra = x;
            m
        });
    // tasks extension (2026)
    detailed_task_rt: detailed_task();
    update_task_params: (text(), input_responses(), meta()).prop_map(|(id, ir, m)| {
        let mut p = UpdateTaskParams::new(id, ir);
        p.meta = m;
        p
    });
}

// ---------------------------------------------------------------------------------------------
// the specification's examples

fn fixtures(rev: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rev);
    let mut out = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn load(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// Round-trips request or notification params by method; `None` for a method with no type.
fn params_rt(method: &str, p: &Value) -> Option<Result<Value, String>> {
    Some(match method {
        "initialize" => rt::<InitializeParams>(p),
        "ping" | "roots/list" | "server/discover" => rt::<RequestParams>(p),
        "notifications/initialized"
        | "notifications/tools/list_changed"
        | "notifications/prompts/list_changed"
        | "notifications/resources/list_changed"
        | "notifications/roots/list_changed" => rt::<NotificationParams>(p),
        "tools/list"
        | "prompts/list"
        | "resources/list"
        | "resources/templates/list"
        | "tasks/list" => rt::<PaginatedParams>(p),
        "tools/call" => rt::<CallToolParams>(p),
        "resources/read" => rt::<ReadResourceParams>(p),
        "resources/subscribe" | "resources/unsubscribe" => rt::<SubscribeParams>(p),
        "prompts/get" => rt::<GetPromptParams>(p),
        "completion/complete" => rt::<CompleteParams>(p),
        "logging/setLevel" => rt::<SetLevelParams>(p),
        "notifications/message" => rt::<LoggingMessageParams>(p),
        "notifications/progress" => rt::<ProgressNotificationParams>(p),
        "notifications/cancelled" => rt::<CancelledNotificationParams>(p),
        "notifications/resources/updated" => rt::<ResourceUpdatedParams>(p),
        "sampling/createMessage" => rt::<CreateMessageParams>(p),
        "elicitation/create" => rt::<ElicitRequestParams>(p),
        "notifications/elicitation/complete" => rt::<ElicitationCompleteParams>(p),
        "tasks/get" | "tasks/result" | "tasks/cancel" => rt::<TaskIdParams>(p),
        "tasks/update" => rt::<UpdateTaskParams>(p),
        "notifications/tasks/status" => rt::<Task>(p),
        "notifications/tasks" => rt::<DetailedTask>(p),
        "subscriptions/listen" => rt::<SubscriptionsListenParams>(p),
        "notifications/subscriptions/acknowledged" => rt::<SubscriptionsAcknowledgedParams>(p),
        _ => return None,
    })
}

/// Round-trips a result by the method it answers.
fn result_rt(method: &str, r: &Value) -> Result<Value, String> {
    match result_type_of(r) {
        ResultType::InputRequired => return rt::<InputRequiredResult>(r),
        ResultType::Task => return rt::<DetailedTask>(r),
        _ => {}
    }
    if r.get("task").is_some() {
        return rt::<CreateTaskResult>(r);
    }
    match method {
        "initialize" => rt::<InitializeResult>(r),
        "server/discover" => rt::<DiscoverResult>(r),
        "ping" | "logging/setLevel" | "resources/subscribe" | "subscriptions/listen" => {
            rt::<EmptyResult>(r)
        }
        "tools/list" => rt::<ListToolsResult>(r),
        "tools/call" | "tasks/result" => rt::<CallToolResult>(r),
        "prompts/list" => rt::<ListPromptsResult>(r),
        "prompts/get" => rt::<GetPromptResult>(r),
        "resources/list" => rt::<ListResourcesResult>(r),
        "resources/templates/list" => rt::<ListResourceTemplatesResult>(r),
        "resources/read" => rt::<ReadResourceResult>(r),
        "completion/complete" => rt::<CompleteResult>(r),
        "roots/list" => rt::<ListRootsResult>(r),
        "sampling/createMessage" => rt::<CreateMessageResult>(r),
        "elicitation/create" => rt::<ElicitResult>(r),
        "tasks/get" | "tasks/cancel" => rt::<Task>(r),
        "tasks/list" => rt::<ListTasksResult>(r),
        other => Err(format!("no result type for {other}")),
    }
}

fn error_checks(e: &ErrorObject) {
    match e.code {
        -32022 => {
            let d = UnsupportedProtocolVersionData::from_error(e).expect("-32022 data");
            assert!(!d.supported.is_empty());
        }
        -32021 => {
            MissingRequiredClientCapabilityData::from_error(e).expect("-32021 data");
        }
        -32042 => {
            let d = UrlElicitationRequiredData::from_error(e).expect("-32042 data");
            assert!(matches!(d.elicitations[0], ElicitRequestParams::Url(_)));
        }
        _ => {}
    }
}

/// Round-trips a JSON-RPC message; `hint` names the method a response answers.
fn message_rt(v: &Value, hint: Option<&str>) -> Result<Value, String> {
    let msg = Message::from_value(v.clone()).map_err(|e| e.to_string())?;
    let rebuilt = match msg {
        Message::Request(r) => {
            let params = match &r.params {
                Some(p) => match params_rt(&r.method, p) {
                    Some(res) => Some(res?),
                    None => Some(p.clone()), // unknown method: kept raw
                },
                None => {
                    // A request without params must also parse for its type (e.g. ping).
                    if let Some(res) = params_rt(&r.method, &json!({})) {
                        res?;
                    }
                    None
                }
            };
            if r.method != "some_method" {
                ServerRequest::parse(&r).map_err(|e| e.to_string())?;
            }
            Message::Request(Request::new(r.id, r.method, params))
        }
        Message::Notification(n) => {
            let parsed = ServerNotification::parse(&n).map_err(|e| e.to_string())?;
            let from_server = methods::STATEFUL_SERVER_NOTIFICATIONS.contains(&n.method.as_str())
                || methods::STATELESS_SERVER_NOTIFICATIONS.contains(&n.method.as_str());
            assert_eq!(
                matches!(parsed, ServerNotification::Other(_)),
                !from_server,
                "{}",
                n.method
            );
            let params = match &n.params {
                Some(p) => Some(params_rt(&n.method, p).ok_or("unknown notification")??),
                None => None,
            };
            Message::Notification(Notification::new(n.method, params))
        }
        Message::Response(resp) => match resp.outcome {
            Outcome::Result(r) => {
                let method = hint.ok_or("response without a method hint")?;
                let out = result_rt(method, &r)?;
                Message::Response(conduit_protocol::jsonrpc::Response {
                    id: resp.id,
                    outcome: Outcome::Result(out),
                })
            }
            Outcome::Error(e) => {
                error_checks(&e);
                let out = rt::<ErrorObject>(&serde_json::to_value(&e).unwrap())?;
                Message::Response(conduit_protocol::jsonrpc::Response {
                    id: resp.id,
                    outcome: Outcome::Error(serde_json::from_value(out).unwrap()),
                })
            }
        },
    };
    serde_json::to_value(&rebuilt).map_err(|e| e.to_string())
}

#[test]
fn spec_2025_11_25_doc_examples_round_trip() {
    let files = fixtures("2025-11-25");
    assert!(files.len() > 70, "fixtures missing: {}", files.len());
    for f in &files {
        let name = f.file_name().unwrap().to_str().unwrap();
        let method = name.split("--").nth(1).unwrap().replace('.', "/");
        let v = load(f);
        let out = message_rt(&v, Some(&method)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(out, v, "{name}");
    }
}

fn content_rt<T: Serialize + DeserializeOwned>(
    v: &Value,
    known: impl Fn(&T) -> bool,
) -> Result<Value, String> {
    let t: T = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
    if !known(&t) {
        return Err("parsed as unknown".into());
    }
    serde_json::to_value(&t).map_err(|e| e.to_string())
}

/// Round-trips a 2026-07-28 schema example named by its schema type.
fn typed_rt(ty: &str, v: &Value) -> Result<Value, String> {
    let block = |b: &ContentBlock| !matches!(b, ContentBlock::Unknown(_));
    let sblock = |b: &SamplingContent| !matches!(b, SamplingContent::Unknown(_));
    match ty {
        "AudioContent" | "ImageContent" | "TextContent" | "ResourceLink" | "EmbeddedResource" => {
            content_rt::<ContentBlock>(v, block)
        }
        "ToolUseContent" | "ToolResultContent" => content_rt::<SamplingContent>(v, sblock),
        "BlobResourceContents" | "TextResourceContents" => {
            content_rt::<ResourceContents>(v, |c| !matches!(c, ResourceContents::Other(_)))
        }
        "BooleanSchema"
        | "NumberSchema"
        | "StringSchema"
        | "TitledMultiSelectEnumSchema"
        | "TitledSingleSelectEnumSchema"
        | "UntitledMultiSelectEnumSchema"
        | "UntitledSingleSelectEnumSchema" => rt::<JsonObject>(v),
        "CallToolRequestParams" => rt::<CallToolParams>(v),
        "CallToolResult" => rt::<CallToolResult>(v),
        "CancelledNotificationParams" => rt::<CancelledNotificationParams>(v),
        "ClientCapabilities" => rt::<ClientCapabilities>(v),
        "ServerCapabilities" => rt::<ServerCapabilities>(v),
        "CompleteRequestParams" => rt::<CompleteParams>(v),
        "CompleteResult" => rt::<CompleteResult>(v),
        "CreateMessageRequestParams" => rt::<CreateMessageParams>(v),
        "CreateMessageResult" => rt::<CreateMessageResult>(v),
        "DiscoverResult" => rt::<DiscoverResult>(v),
        "ElicitRequestFormParams" => {
            content_rt::<ElicitRequestParams>(v, |p| matches!(p, ElicitRequestParams::Form(_)))
        }
        "ElicitRequestURLParams" => {
            content_rt::<ElicitRequestParams>(v, |p| matches!(p, ElicitRequestParams::Url(_)))
        }
        "ElicitResult" => rt::<ElicitResult>(v),
        "GetPromptRequestParams" => rt::<GetPromptParams>(v),
        "GetPromptResult" => rt::<GetPromptResult>(v),
        "InputRequests" => {
            let reqs: InputRequests =
                serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
            for r in reqs.values() {
                let t = r.typed().map_err(|e| e.to_string())?;
                assert!(!matches!(t, TypedInputRequest::Other(_)));
            }
            serde_json::to_value(&reqs).map_err(|e| e.to_string())
        }
        "InputRequiredResult" => rt::<InputRequiredResult>(v),
        "InputResponses" => content_rt::<InputResponses>(v, |m| {
            m.values().all(|r| !matches!(r, InputResponse::Other(_)))
        }),
        "ListPromptsResult" => rt::<ListPromptsResult>(v),
        "ListResourceTemplatesResult" => rt::<ListResourceTemplatesResult>(v),
        "ListResourcesResult" => rt::<ListResourcesResult>(v),
        "ListRootsResult" => rt::<ListRootsResult>(v),
        "ListToolsResult" => rt::<ListToolsResult>(v),
        "LoggingMessageNotificationParams" => rt::<LoggingMessageParams>(v),
        "ModelPreferences" => rt::<ModelPreferences>(v),
        "PaginatedRequestParams" => rt::<PaginatedParams>(v),
        "ProgressNotificationParams" => rt::<ProgressNotificationParams>(v),
        "ReadResourceResult" => rt::<ReadResourceResult>(v),
        "Resource" => rt::<Resource>(v),
        "ResourceUpdatedNotificationParams" => rt::<ResourceUpdatedParams>(v),
        "Root" => rt::<Root>(v),
        "SamplingMessage" => rt::<SamplingMessage>(v),
        "SubscriptionsListenResult" => rt::<EmptyResult>(v),
        "Tool" => rt::<Tool>(v),
        "ParseError" | "InternalError" | "InvalidParamsError" | "MethodNotFoundError" => {
            rt::<ErrorObject>(v)
        }
        // Server-to-client requests as they appear inside `inputRequests` (no `jsonrpc`).
        "CreateMessageRequest" | "ElicitRequest" | "ListRootsRequest" => {
            let r: InputRequest = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
            let t = r.typed().map_err(|e| e.to_string())?;
            assert!(!matches!(t, TypedInputRequest::Other(_)));
            serde_json::to_value(&r).map_err(|e| e.to_string())
        }
        other => Err(format!("no type mapped for {other}")),
    }
}

#[test]
fn spec_2026_07_28_schema_examples_round_trip() {
    let files = fixtures("2026-07-28");
    assert!(files.len() > 120, "fixtures missing: {}", files.len());
    for f in &files {
        let ty = f.parent().unwrap().file_name().unwrap().to_str().unwrap();
        let v = load(f);
        let out = if v.get("jsonrpc").is_some() {
            let hint = match ty {
                "CallToolResultResponse" => Some("tools/call"),
                "CompleteResultResponse" => Some("completion/complete"),
                "DiscoverResultResponse" => Some("server/discover"),
                "GetPromptResultResponse" => Some("prompts/get"),
                "ListPromptsResultResponse" => Some("prompts/list"),
                "ListResourceTemplatesResultResponse" => Some("resources/templates/list"),
                "ListResourcesResultResponse" => Some("resources/list"),
                "ListToolsResultResponse" => Some("tools/list"),
                "ReadResourceResultResponse" => Some("resources/read"),
                "SubscriptionsListenResultResponse" => Some("subscriptions/listen"),
                _ => None,
            };
            message_rt(&v, hint)
        } else {
            typed_rt(ty, &v)
        };
        let out = out.unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert_eq!(out, v, "{}", f.display());
    }
}

// ---------------------------------------------------------------------------------------------
// targeted checks

#[test]
fn tool_schema_survives_verbatim_in_order() {
    let raw = r##"{"name":"plan_trip","inputSchema":{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","$defs":{"place":{"type":"object","properties":{"city":{"type":"string","x-mcp-header":"City"},"zip":{"type":"string","pattern":"^[0-9]{5}$"}},"additionalProperties":false,"required":["city"]}},"properties":{"to":{"$ref":"#/$defs/place"},"from":{"$ref":"#/$defs/place"},"when":{"oneOf":[{"type":"string","format":"date"},{"type":"null"}]}},"required":["to"],"additionalProperties":false,"unevaluatedProperties":false,"if":{"required":["from"]},"then":{"required":["when"]}},"outputSchema":{"type":"array","items":{"$ref":"#/$defs/leg"},"$defs":{"leg":{"type":"object"}}},"execution":{"taskSupport":"optional"},"vendor-flag":[1,2,3]}"##;
    let tool: Tool = serde_json::from_str(raw).unwrap();
    let v: Value = serde_json::from_str(raw).unwrap();
    assert_eq!(
        serde_json::to_string(&tool.input_schema).unwrap(),
        serde_json::to_string(&v["inputSchema"]).unwrap(),
        "inputSchema must keep content and key order"
    );
    assert_eq!(
        serde_json::to_string(&tool.output_schema).unwrap(),
        serde_json::to_string(&v["outputSchema"]).unwrap()
    );
    // Declared field order matches the input here, so the whole text survives too.
    assert_eq!(serde_json::to_string(&tool).unwrap(), raw);
    assert_eq!(tool.task_support(), TaskSupport::Optional);
    assert_eq!(tool.extra["vendor-flag"], json!([1, 2, 3]));
    let keys: Vec<&String> = tool.input_schema.keys().collect();
    assert_eq!(keys[0], "$schema");
    assert_eq!(keys[2], "$defs");
}

#[test]
fn unknown_fields_are_preserved_at_every_level() {
    let v = json!({
        "protocolVersion": "2025-11-25",
        "capabilities": {
            "tools": {"listChanged": true, "x-depth": 2},
            "tasks": {"requests": {"tools": {"call": {}, "x-new": {}}}},
            "futureCapability": {"a": 1}
        },
        "serverInfo": {"name": "s", "version": "1", "x-build": "abc"},
        "instructions": "hi",
        "_meta": {"k": "v"},
        "futureTopLevel": {"nested": [1, {"b": null}]}
    });
    let r: InitializeResult = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(r.extra["futureTopLevel"]["nested"][1]["b"], Value::Null);
    assert_eq!(r.capabilities.extra["futureCapability"]["a"], 1);
    assert!(r.capabilities.tasks.as_ref().unwrap().supports_tool_call());
    assert_eq!(r.server_info.extra["x-build"], "abc");
    assert_eq!(serde_json::to_value(&r).unwrap(), v);
}

#[test]
fn unknown_content_types_are_tolerated() {
    let v = json!({
        "content": [
            {"type": "text", "text": "ok", "annotations": {"audience": ["user"], "priority": 1, "lastModified": "2025-01-12T15:00:58Z"}},
            {"type": "hologram", "frames": 3, "_meta": {"x": 1}},
            {"notype": true}
        ],
        "isError": false
    });
    let r: CallToolResult = serde_json::from_value(v.clone()).unwrap();
    assert!(matches!(r.content[0], ContentBlock::Text(_)));
    assert!(matches!(r.content[1], ContentBlock::Unknown(_)));
    assert_eq!(r.content[1].tag(), "hologram");
    assert!(matches!(r.content[2], ContentBlock::Unknown(_)));
    assert_eq!(serde_json::to_value(&r).unwrap(), v);

    let s: SamplingMessage = serde_json::from_value(
        json!({"role": "assistant", "content": {"type": "thinking", "t": 1}}),
    )
    .unwrap();
    assert!(matches!(s.content.blocks()[0], SamplingContent::Unknown(_)));
    let c: CompletionReference =
        serde_json::from_value(json!({"type": "ref/tool", "name": "x"})).unwrap();
    assert!(matches!(c, CompletionReference::Unknown(_)));
    // A known type with a missing required member is still an error, naming the tag.
    let e = serde_json::from_value::<ContentBlock>(json!({"type": "image", "data": "AA=="}))
        .unwrap_err()
        .to_string();
    assert!(e.contains("image"), "{e}");
}

#[test]
fn elicitation_without_mode_is_form() {
    let implicit = json!({"message": "Name?", "requestedSchema": {"type": "object", "properties": {"n": {"type": "string"}}}});
    let p: ElicitRequestParams = serde_json::from_value(implicit.clone()).unwrap();
    match &p {
        ElicitRequestParams::Form(f) => assert_eq!(f.mode, None),
        other => panic!("{other:?}"),
    }
    assert_eq!(p.mode(), "form");
    assert_eq!(
        serde_json::to_value(&p).unwrap(),
        implicit,
        "mode stays implicit"
    );

    let url = json!({"mode": "url", "message": "Sign in", "url": "https://example.com/x", "elicitationId": "e1"});
    let u: ElicitRequestParams = serde_json::from_value(url.clone()).unwrap();
    assert!(matches!(&u, ElicitRequestParams::Url(p) if p.elicitation_id.as_deref() == Some("e1")));
    assert_eq!(serde_json::to_value(&u).unwrap(), url);

    let other: ElicitRequestParams =
        serde_json::from_value(json!({"mode": "voice", "message": "Say it"})).unwrap();
    assert!(matches!(other, ElicitRequestParams::Other(_)));
    assert_eq!(other.message(), Some("Say it"));

    assert!(ElicitationCapability::new().supports_form());
    assert!(!ElicitationCapability::new()
        .url(JsonObject::new())
        .supports_form());
}

#[test]
fn notifications_unknown_methods_stay_raw() {
    let n = Notification::new("notifications/vendor/thing", Some(json!({"a": 1})));
    let parsed = ServerNotification::parse(&n).unwrap();
    assert_eq!(parsed, ServerNotification::Other(n.clone()));
    assert_eq!(parsed.to_notification().unwrap(), n);

    let p = Notification::new(
        methods::NOTIFICATIONS_PROGRESS,
        Some(json!({"progressToken": "t", "progress": 50, "total": 100})),
    );
    let parsed = ServerNotification::parse(&p).unwrap();
    assert!(matches!(&parsed, ServerNotification::Progress(x) if x.progress == 50.0));
    // Integral progress stays an integer on the wire.
    assert_eq!(parsed.to_notification().unwrap(), p);

    let bad = Notification::new(
        methods::NOTIFICATIONS_PROGRESS,
        Some(json!({"progress": "x"})),
    );
    let e = ServerNotification::parse(&bad).unwrap_err();
    assert_eq!(e.method, methods::NOTIFICATIONS_PROGRESS);

    let listed = ServerNotification::parse(&Notification::new(
        methods::NOTIFICATIONS_TOOLS_LIST_CHANGED,
        None,
    ))
    .unwrap();
    assert!(matches!(listed, ServerNotification::ToolListChanged(_)));
}

#[test]
fn server_requests_parse_by_method() {
    let r = Request::new(
        3,
        methods::ELICITATION_CREATE,
        Some(json!({"message": "m", "requestedSchema": {"type": "object"}})),
    );
    let s = ServerRequest::parse(&r).unwrap();
    assert!(matches!(
        s.kind,
        ServerRequestKind::Elicit(ElicitRequestParams::Form(_))
    ));
    let ping = ServerRequest::parse(&Request::new(4, methods::PING, None)).unwrap();
    assert!(matches!(ping.kind, ServerRequestKind::Ping(_)));
    let other = ServerRequest::parse(&Request::new(5, "vendor/x", None)).unwrap();
    assert!(matches!(other.kind, ServerRequestKind::Other(_)));
}

#[test]
fn result_outcomes_follow_result_type() {
    let plain = json!({"content": [{"type": "text", "text": "done"}]});
    assert!(matches!(
        ResultOutcome::<CallToolResult>::from_value(plain).unwrap(),
        ResultOutcome::Complete(_)
    ));
    let ir = json!({"resultType": "input_required", "requestState": "opaque"});
    match ResultOutcome::<CallToolResult>::from_value(ir).unwrap() {
        ResultOutcome::InputRequired(r) => assert_eq!(r.request_state.as_deref(), Some("opaque")),
        other => panic!("{other:?}"),
    }
    let task = json!({"resultType": "task", "taskId": "t1", "status": "working",
        "createdAt": "2026-01-01T00:00:00Z", "lastUpdatedAt": "2026-01-01T00:00:00Z",
        "ttlMs": null, "pollIntervalMs": 500});
    match ResultOutcome::<CallToolResult>::from_value(task.clone()).unwrap() {
        ResultOutcome::Task(t) => {
            assert_eq!(t.ttl_ms, None);
            assert_eq!(serde_json::to_value(&*t).unwrap(), task);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        ResultOutcome::<CallToolResult>::from_value(json!({"resultType": "later"})).unwrap(),
        ResultOutcome::Unknown(_)
    ));
}

#[test]
fn request_meta_builds_and_reads_reserved_keys() {
    let caps = ClientCapabilities::new().elicitation(ElicitationCapability::new());
    let m = RequestMeta::stateless(
        ProtocolVersion::V2026_07_28,
        caps.clone(),
        Implementation::new("conduit", "0.1.0"),
    )
    .progress_token(7)
    .with_extra(meta_keys::TRACEPARENT, "00-abc-def-01");
    let map = m.to_meta();
    assert_eq!(map[meta_keys::PROTOCOL_VERSION], "2026-07-28");
    assert_eq!(
        map[meta_keys::CLIENT_CAPABILITIES],
        json!({"elicitation": {}})
    );
    assert_eq!(map[meta_keys::CLIENT_INFO]["name"], "conduit");
    assert_eq!(map[meta_keys::PROGRESS_TOKEN], 7);
    assert_eq!(map[meta_keys::TRACEPARENT], "00-abc-def-01");
    let back = RequestMeta::from_meta(&map).unwrap();
    assert_eq!(back, m);
    assert_eq!(back.client_capabilities, Some(caps));

    let mut params = CallToolParams::new("echo");
    params.meta = Some(JsonObject::from_iter([("keep".to_owned(), json!(true))]));
    m.merge_into(&mut params.meta);
    let meta = params.meta.as_ref().unwrap();
    assert_eq!(meta["keep"], true);
    assert_eq!(meta[meta_keys::PROTOCOL_VERSION], "2026-07-28");

    assert!(is_reserved_key("io.modelcontextprotocol/x"));
    assert!(is_reserved_key("dev.mcp/x"));
    assert!(!is_reserved_key("com.example.mcp/x"));
    assert!(!is_reserved_key("traceparent"));
}

#[test]
fn discover_result_reads_server_info_and_chooses_a_version() {
    let v = json!({"resultType": "complete", "supportedVersions": ["2026-07-28", "2025-11-25"],
        "capabilities": {"tools": {}, "extensions": {"io.modelcontextprotocol/tasks": {}}},
        "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "S", "version": "2"}},
        "ttlMs": 3600000, "cacheScope": "public"});
    let d: DiscoverResult = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(d.server_info().unwrap().name, "S");
    assert!(d.capabilities.has_extension(TASKS_EXTENSION));
    assert_eq!(d.cache_scope, Some(CacheScope::Public));
    assert_eq!(
        d.choose_version(&["2025-11-25", "2026-07-28"]),
        Some(ProtocolVersion::V2026_07_28)
    );
    assert_eq!(d.choose_version(&["2024-11-05"]), None);
    assert_eq!(serde_json::to_value(&d).unwrap(), v);
}

#[test]
fn error_data_helpers() {
    let mut e = ErrorObject::new(error_codes::UNSUPPORTED_PROTOCOL_VERSION, "nope");
    e.data = Some(json!({"supported": ["2026-07-28"], "requested": "1900-01-01"}));
    let d = UnsupportedProtocolVersionData::from_error(&e).unwrap();
    assert_eq!(d.supported, vec![ProtocolVersion::V2026_07_28]);
    assert_eq!(d.requested.unwrap().as_str(), "1900-01-01");
    assert!(MissingRequiredClientCapabilityData::from_error(&e).is_none());
    assert!(UrlElicitationRequiredData::from_error(&e).is_none());
}

#[test]
fn builders_and_params_helpers() {
    let t = Tool::new("echo", Tool::empty_input_schema())
        .title("Echo")
        .description("Says it back")
        .annotations(ToolAnnotations::new().read_only_hint(true));
    assert_eq!(t.display_name(), "Echo");
    assert_eq!(
        serde_json::to_value(&t).unwrap(),
        json!({"name": "echo", "inputSchema": {"type": "object"}, "title": "Echo",
               "description": "Says it back", "annotations": {"readOnlyHint": true}})
    );
    assert_eq!(to_params(&PaginatedParams::new()).unwrap(), None);
    assert_eq!(
        to_params(&PaginatedParams::new().cursor("c")).unwrap(),
        Some(json!({"cursor": "c"}))
    );
    let p: PaginatedParams = from_params(None).unwrap();
    assert_eq!(p, PaginatedParams::new());
    assert!(TaskStatus::Cancelled.is_terminal());
    assert!(!TaskStatus::InputRequired.is_terminal());
    assert!(LoggingLevel::Error.severity() > LoggingLevel::Info.severity());
    assert!(methods::is_known_notification(methods::NOTIFICATIONS_TASKS));
}
