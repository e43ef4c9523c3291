//! The namespaces of the newer reference SDK: Warden, Prism, Logic, Flow, Deliverables and
//! Ephemerals. Each is an owned handle (a cheap clone of the [`Client`]); each operation
//! returns a [`DgCall`] with the reference's arguments and defaults, on which optional
//! arguments are set with [`DgCall::arg`] before `.await`.

use serde_json::{json, Map, Value};

use super::{object, DgCall};
use crate::Client;

macro_rules! namespace {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $name {
            client: Client,
        }

        impl $name {
            pub(crate) fn new(client: &Client) -> Self {
                $name { client: client.clone() }
            }

            #[allow(dead_code)]
            fn call(&self, op: &str, args: Map<String, Value>) -> DgCall {
                DgCall::new(&self.client, format!("data-grout/{op}"), args)
            }

            /// The caller's parameters as they are (`{}` for `None`).
            #[allow(dead_code)]
            fn call_value(&self, op: &str, params: Option<Value>) -> DgCall {
                DgCall::from_value(&self.client, format!("data-grout/{op}"), params)
            }
        }
    };
}

namespace!(
    /// Warden: safety checks (`data-grout/warden.*`). Every operation sends the caller's
    /// parameters as they are.
    Warden
);

impl Warden {
    /// Plants or checks a canary (`warden.canary`).
    pub fn canary(&self, p: Value) -> DgCall {
        self.call_value("warden.canary", Some(p))
    }

    /// Verifies that an action matches the stated intent (`warden.intent`).
    pub fn verify_intent(&self, p: Value) -> DgCall {
        self.call_value("warden.intent", Some(p))
    }

    /// Adjudicates a disputed decision (`warden.adjudicate`).
    pub fn adjudicate(&self, p: Value) -> DgCall {
        self.call_value("warden.adjudicate", Some(p))
    }

    /// Asks an ensemble of models (`warden.ensemble`).
    pub fn ensemble(&self, p: Value) -> DgCall {
        self.call_value("warden.ensemble", Some(p))
    }
}

namespace!(
    /// Prism: data transformation and rendering (`data-grout/prism.*`).
    Prism
);

impl Prism {
    /// Transforms `payload` toward `goal` (`prism.refract`): sends `goal`, `payload`,
    /// `verbose` (false) and `chart` (false).
    pub fn refract(&self, goal: &str, payload: Value) -> DgCall {
        self.call(
            "prism.refract",
            object([
                ("goal", json!(goal)),
                ("payload", payload),
                ("verbose", json!(false)),
                ("chart", json!(false)),
            ]),
        )
    }

    /// Charts `payload` (`prism.chart`): sends `goal` and `payload`.
    pub fn chart(&self, goal: &str, payload: Value) -> DgCall {
        self.call(
            "prism.chart",
            object([("goal", json!(goal)), ("payload", payload)]),
        )
    }

    /// Renders content for `goal` (`prism.render`): sends `goal` and `format` (`"markdown"`);
    /// set `payload` and `sections` with [`DgCall::arg`].
    pub fn render(&self, goal: &str) -> DgCall {
        self.call(
            "prism.render",
            object([("goal", json!(goal)), ("format", json!("markdown"))]),
        )
    }

    /// Exports `content` to `format` (`prism.export`); set `style` and `metadata` with
    /// [`DgCall::arg`].
    pub fn export(&self, content: Value, format: &str) -> DgCall {
        self.call(
            "prism.export",
            object([("content", content), ("format", json!(format))]),
        )
    }

    /// Converts `data` from `source_type` to `target_type` (`prism.focus`); set
    /// `source_annotations`, `target_annotations` and `context` with [`DgCall::arg`].
    pub fn focus(&self, data: Value, source_type: &str, target_type: &str) -> DgCall {
        self.call(
            "prism.focus",
            object([
                ("data", data),
                ("source_type", json!(source_type)),
                ("target_type", json!(target_type)),
            ]),
        )
    }
}

namespace!(
    /// The Logic cell: persistent agent memory (`data-grout/logic.*`).
    Logic
);

impl Logic {
    /// Remembers a natural-language statement (`logic.remember`): sends `tag` (`"default"`)
    /// and `statement`.
    pub fn remember(&self, statement: &str) -> DgCall {
        self.call(
            "logic.remember",
            object([("tag", json!("default")), ("statement", json!(statement))]),
        )
    }

    /// Remembers structured facts (`logic.remember`): sends `tag` (`"default"`) and `facts`.
    pub fn remember_facts(&self, facts: Value) -> DgCall {
        self.call(
            "logic.remember",
            object([("tag", json!("default")), ("facts", facts)]),
        )
    }

    /// Asks a question (`logic.query`): sends `limit` (50) and `question`.
    pub fn query(&self, question: &str) -> DgCall {
        self.call(
            "logic.query",
            object([("limit", json!(50)), ("question", json!(question))]),
        )
    }

    /// Queries by patterns (`logic.query`): sends `limit` (50) and `patterns`.
    pub fn query_patterns(&self, patterns: Value) -> DgCall {
        self.call(
            "logic.query",
            object([("limit", json!(50)), ("patterns", patterns)]),
        )
    }

    /// Forgets facts by handle (`logic.forget`): sends `handles`.
    pub fn forget(&self, handles: &[&str]) -> DgCall {
        self.call("logic.forget", object([("handles", json!(handles))]))
    }

    /// Forgets the facts matching a pattern (`logic.forget`): sends `pattern`.
    pub fn forget_pattern(&self, pattern: &str) -> DgCall {
        self.call("logic.forget", object([("pattern", json!(pattern))]))
    }

    /// Reflects on everything known (`logic.reflect`): sends `summary_only` (false).
    pub fn reflect(&self) -> DgCall {
        self.call("logic.reflect", object([("summary_only", json!(false))]))
    }

    /// Reflects on one entity (`logic.reflect`): sends `summary_only` and `entity`.
    pub fn reflect_entity(&self, entity: &str, summary_only: bool) -> DgCall {
        self.call(
            "logic.reflect",
            object([
                ("summary_only", json!(summary_only)),
                ("entity", json!(entity)),
            ]),
        )
    }

    /// Adds a constraint (`logic.constrain`): sends `rule` and `tag` (`"constraint"`).
    pub fn constrain(&self, rule: &str) -> DgCall {
        self.call(
            "logic.constrain",
            object([("rule", json!(rule)), ("tag", json!("constraint"))]),
        )
    }

    /// Hydrates the cell from external data (`logic.hydrate`).
    pub fn hydrate(&self, p: Value) -> DgCall {
        self.call_value("logic.hydrate", Some(p))
    }

    /// Imports a cell (`logic.import`).
    pub fn import_cell(&self, p: Value) -> DgCall {
        self.call_value("logic.import", Some(p))
    }

    /// Manages hypothetical worlds (`logic.worlds`).
    pub fn worlds(&self, p: Value) -> DgCall {
        self.call_value("logic.worlds", Some(p))
    }

    /// Exports the cell (`logic.export`; `{}` when `None`).
    pub fn export_cell(&self, p: Option<Value>) -> DgCall {
        self.call_value("logic.export", p)
    }

    /// Tabulates the cell (`logic.tabulate`; `{}` when `None`).
    pub fn tabulate(&self, p: Option<Value>) -> DgCall {
        self.call_value("logic.tabulate", p)
    }
}

namespace!(
    /// Flow: orchestration, human-in-the-loop and execution history.
    Flow
);

impl Flow {
    /// Runs a plan (`flow.into`): sends `plan`, `validate_ctc` (true) and `save_as_skill`
    /// (false); set `input_data` with [`DgCall::arg`].
    pub fn run(&self, plan: Value) -> DgCall {
        self.call(
            "flow.into",
            object([
                ("plan", plan),
                ("validate_ctc", json!(true)),
                ("save_as_skill", json!(false)),
            ]),
        )
    }

    /// Routes a payload through `branches` (`flow.route`); set `payload`, `cache_ref` and
    /// `else` (the reference's `else_target`) with [`DgCall::arg`].
    pub fn route(&self, branches: Value) -> DgCall {
        self.call("flow.route", object([("branches", branches)]))
    }

    /// Asks a human to approve `action` (`flow.request-approval`); set `details`, `reason`
    /// and `context` with [`DgCall::arg`].
    pub fn request_approval(&self, action: &str) -> DgCall {
        self.call("flow.request-approval", object([("action", json!(action))]))
    }

    /// Asks a human for `missing_fields` (`flow.request-feedback`); set `current_data`,
    /// `suggestions` and `context` with [`DgCall::arg`].
    pub fn request_feedback(&self, missing_fields: &[&str], reason: &str) -> DgCall {
        self.call(
            "flow.request-feedback",
            object([
                ("missing_fields", json!(missing_fields)),
                ("reason", json!(reason)),
            ]),
        )
    }

    /// Past executions (`inspect.execution-history`): sends `limit` (20), `offset` (0) and
    /// `refractions_only` (false); set `status` with [`DgCall::arg`].
    pub fn history(&self) -> DgCall {
        self.call(
            "inspect.execution-history",
            object([
                ("limit", json!(20)),
                ("offset", json!(0)),
                ("refractions_only", json!(false)),
            ]),
        )
    }

    /// One execution (`inspect.execution-details`): sends `execution_id`.
    pub fn details(&self, execution_id: &str) -> DgCall {
        self.call(
            "inspect.execution-details",
            object([("execution_id", json!(execution_id))]),
        )
    }
}

namespace!(
    /// Deliverables: registered outputs (`data-grout/deliverables.*`).
    Deliverables
);

impl Deliverables {
    /// Registers a deliverable (`deliverables.register`).
    pub fn register(&self, p: Value) -> DgCall {
        self.call_value("deliverables.register", Some(p))
    }

    /// Lists deliverables (`deliverables.list`; `{}` when `None`).
    pub fn list(&self, p: Option<Value>) -> DgCall {
        self.call_value("deliverables.list", p)
    }

    /// Gets one deliverable (`deliverables.get`): sends `{ref}`.
    pub fn get(&self, ref_id: &str) -> DgCall {
        self.call("deliverables.get", object([("ref", json!(ref_id))]))
    }
}

namespace!(
    /// Ephemerals: cached intermediate results (`data-grout/ephemerals.*`).
    Ephemerals
);

impl Ephemerals {
    /// Lists cached results (`ephemerals.list`; `{}` when `None`).
    pub fn list(&self, p: Option<Value>) -> DgCall {
        self.call_value("ephemerals.list", p)
    }

    /// Inspects one (`ephemerals.inspect`): sends `{cache_ref}`.
    pub fn inspect(&self, cache_ref: &str) -> DgCall {
        self.call(
            "ephemerals.inspect",
            object([("cache_ref", json!(cache_ref))]),
        )
    }
}
