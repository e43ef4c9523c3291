//! Discovery: `discover`, `perform` (single and batched), `plan` and guided sessions.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::{receipt::as_f64, to_json, tools, DgResponse};
use crate::{Client, Error};

/// How many `perform` calls [`Client::perform_batch`] keeps in flight at once.
pub const PERFORM_BATCH_CONCURRENCY: usize = 4;

/// One tool found by [`Client::discover`], normalised as the reference SDK does.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ToolInfo {
    /// The tool's name (`tool_name`, else `name`), e.g. `salesforce@1/get_lead@1`.
    pub tool_name: String,
    /// The integration it belongs to.
    pub integration: Option<String>,
    /// The server hosting it (`server`).
    pub server_id: Option<String>,
    /// The match score.
    pub score: Option<f64>,
    /// The semantic distance.
    pub distance: Option<f64>,
    /// What it does.
    pub description: Option<String>,
    /// Its input schema (`input_contract`, else `input_schema`).
    pub input_schema: Option<Value>,
    /// Its output schema (`output_contract`, else `output_schema`).
    pub output_schema: Option<Value>,
    /// The entry as the gateway sent it.
    pub raw: Value,
}

impl ToolInfo {
    fn from_value(v: &Value) -> ToolInfo {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let present = |k: &str| v.get(k).filter(|x| !x.is_null()).cloned();
        ToolInfo {
            tool_name: s("tool_name").or_else(|| s("name")).unwrap_or_default(),
            integration: s("integration"),
            server_id: s("server"),
            score: v.get("score").and_then(as_f64),
            distance: v.get("distance").and_then(as_f64),
            description: s("description"),
            input_schema: present("input_contract").or_else(|| present("input_schema")),
            output_schema: present("output_contract").or_else(|| present("output_schema")),
            raw: v.clone(),
        }
    }
}

/// The answer of [`Client::discover`].
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DiscoverResult {
    /// The query the gateway used (`goal_used`, else `query_used`, else empty).
    pub query_used: String,
    /// The tools found, best first (`results`, else `tools`).
    pub tools: Vec<ToolInfo>,
    /// How many tools were returned.
    pub total: usize,
    /// The limit asked for.
    pub limit: u32,
}

impl DiscoverResult {
    /// Normalises a discover payload.
    pub fn from_payload(payload: &Value, limit: u32) -> DiscoverResult {
        let list = payload
            .get("results")
            .and_then(Value::as_array)
            .or_else(|| payload.get("tools").and_then(Value::as_array));
        let tools: Vec<ToolInfo> = list
            .map(|l| l.iter().map(ToolInfo::from_value).collect())
            .unwrap_or_default();
        let text = |k: &str| payload.get(k).and_then(Value::as_str).map(str::to_owned);
        DiscoverResult {
            query_used: text("goal_used")
                .or_else(|| text("query_used"))
                .unwrap_or_default(),
            total: tools.len(),
            tools,
            limit,
        }
    }
}

fn put_str(args: &mut Map<String, Value>, key: &str, value: &Option<String>) {
    if let Some(v) = value.as_ref().filter(|v| !v.is_empty()) {
        args.insert(key.to_owned(), json!(v));
    }
}

fn put_list(args: &mut Map<String, Value>, key: &str, value: &[String]) {
    if !value.is_empty() {
        args.insert(key.to_owned(), json!(value));
    }
}

/// Whether a value is "truthy" the way the reference decides what to send.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Number(_) => true,
    }
}

macro_rules! into_future {
    ($ty:ty, $out:ty) => {
        impl IntoFuture for $ty {
            type Output = Result<$out, Error>;
            type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

            fn into_future(self) -> Self::IntoFuture {
                Box::pin(self.send())
            }
        }
    };
}

/// A semantic search ([`Client::discover`]). Sends `data-grout/discovery.discover` with `limit`
/// (default 10) and `min_score` (default 0.0) always, and the other fields only when non-empty.
#[derive(Debug)]
#[must_use = "a Discover does nothing until awaited"]
pub struct Discover {
    client: Client,
    query: Option<String>,
    goal: Option<String>,
    limit: u32,
    min_score: f64,
    integrations: Vec<String>,
    servers: Vec<String>,
    extra: Map<String, Value>,
}

impl Discover {
    /// The maximum number of tools (default 10).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }

    /// The minimum score (default 0.0).
    pub fn min_score(mut self, min_score: f64) -> Self {
        self.min_score = min_score;
        self
    }

    /// A goal, instead of or besides the query.
    pub fn goal(mut self, goal: impl Into<String>) -> Self {
        self.goal = Some(goal.into());
        self
    }

    /// Only tools of these integrations (e.g. `["salesforce"]`).
    pub fn integrations<I: IntoIterator<Item = S>, S: Into<String>>(mut self, list: I) -> Self {
        self.integrations = list.into_iter().map(Into::into).collect();
        self
    }

    /// Only tools of these servers.
    pub fn servers<I: IntoIterator<Item = S>, S: Into<String>>(mut self, list: I) -> Self {
        self.servers = list.into_iter().map(Into::into).collect();
        self
    }

    /// Any other argument (merged in, as the reference merges extra keyword arguments).
    pub fn arg(mut self, key: impl Into<String>, value: impl Serialize) -> Self {
        self.extra.insert(key.into(), to_json(value));
        self
    }

    /// The arguments as they will be sent.
    pub fn arguments(&self) -> Map<String, Value> {
        let mut args = Map::new();
        put_str(&mut args, "query", &self.query);
        put_str(&mut args, "goal", &self.goal);
        args.insert("limit".into(), json!(self.limit));
        args.insert("min_score".into(), json!(self.min_score));
        put_list(&mut args, "integrations", &self.integrations);
        put_list(&mut args, "servers", &self.servers);
        for (k, v) in &self.extra {
            args.insert(k.clone(), v.clone());
        }
        args
    }

    /// Sends the search.
    pub async fn send(self) -> Result<DgResponse<DiscoverResult>, Error> {
        let response = self
            .client
            .dg_call(tools::DISCOVER, Value::Object(self.arguments()))
            .await?;
        let limit = self.limit;
        let data = DiscoverResult::from_payload(&response.raw, limit);
        Ok(response.map(|_| data))
    }
}
into_future!(Discover, DgResponse<DiscoverResult>);

/// Runs one integration tool through the gateway ([`Client::perform`]). Sends
/// `data-grout/discovery.perform` with `{tool, args, demux, demux_mode}`, all four every time
/// (defaults `false` and `"strict"`).
#[derive(Debug)]
#[must_use = "a Perform does nothing until awaited"]
pub struct Perform {
    client: Client,
    call: BatchCall,
}

impl Perform {
    /// Whether to demultiplex the result (default false).
    pub fn demux(mut self, on: bool) -> Self {
        self.call.demux = on;
        self
    }

    /// The demultiplexing mode (default `"strict"`).
    pub fn demux_mode(mut self, mode: impl Into<String>) -> Self {
        self.call.demux_mode = mode.into();
        self
    }

    /// Sends the call.
    pub async fn send(self) -> Result<DgResponse<Value>, Error> {
        self.client
            .dg_call(tools::PERFORM, self.call.arguments())
            .await
    }
}
into_future!(Perform, DgResponse<Value>);

/// One call of [`Client::perform_batch`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchCall {
    /// The integration tool, e.g. `salesforce@1/get_lead@1`.
    pub tool: String,
    /// Its arguments.
    pub args: Value,
    /// Whether to demultiplex the result.
    #[serde(default)]
    pub demux: bool,
    /// The demultiplexing mode.
    #[serde(default = "strict")]
    pub demux_mode: String,
}

fn strict() -> String {
    "strict".to_owned()
}

impl BatchCall {
    /// A call of `tool` with `args` (demux off, mode `"strict"`).
    pub fn new(tool: impl Into<String>, args: Value) -> Self {
        BatchCall {
            tool: tool.into(),
            args,
            demux: false,
            demux_mode: strict(),
        }
    }

    /// The `perform` arguments: `{tool, args, demux, demux_mode}`.
    pub fn arguments(&self) -> Value {
        json!({
            "tool": self.tool,
            "args": self.args,
            "demux": self.demux,
            "demux_mode": self.demux_mode,
        })
    }
}

/// A guided workflow's state ([`Client::guide`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GuideState {
    /// The session, to continue with.
    pub session_id: String,
    /// The step (as the gateway numbers it).
    pub step: Value,
    /// What the gateway says.
    pub message: String,
    /// `"completed"` when done; other values while choices remain.
    pub status: String,
    /// The choices offered.
    #[serde(default)]
    pub options: Vec<GuideOption>,
    /// The choices made so far.
    #[serde(default)]
    pub path_taken: Option<Value>,
    /// The cost so far.
    #[serde(default)]
    pub total_cost: Option<Value>,
    /// The result, once completed.
    #[serde(default)]
    pub result: Option<Value>,
    /// Progress information.
    #[serde(default)]
    pub progress: Option<Value>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One choice of a guided step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GuideOption {
    /// Its id, for [`GuidedSession::choose`].
    pub id: String,
    /// What it is.
    #[serde(default)]
    pub label: String,
    /// What it costs.
    #[serde(default)]
    pub cost: Option<Value>,
    /// Whether it can be taken.
    #[serde(default)]
    pub viable: Option<bool>,
    /// Anything else about it.
    #[serde(default)]
    pub metadata: Option<Value>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Starts or continues a guided workflow ([`Client::guide`]). Sends
/// `data-grout/discovery.guide` with the non-empty fields of `{goal, policy, session_id,
/// choice}`.
#[derive(Debug)]
#[must_use = "a Guide does nothing until awaited"]
pub struct Guide {
    client: Client,
    goal: Option<String>,
    policy: Option<Value>,
    session_id: Option<String>,
    choice: Option<String>,
}

impl Guide {
    /// A policy for the gateway's choices.
    pub fn policy(mut self, policy: Value) -> Self {
        self.policy = Some(policy);
        self
    }

    /// Continues an existing session.
    pub fn session_id(mut self, id: impl Into<String>) -> Self {
        self.session_id = Some(id.into());
        self
    }

    /// Makes a choice in that session.
    pub fn choice(mut self, choice: impl Into<String>) -> Self {
        self.choice = Some(choice.into());
        self
    }

    /// The arguments as they will be sent.
    pub fn arguments(&self) -> Map<String, Value> {
        let mut args = Map::new();
        put_str(&mut args, "goal", &self.goal);
        if let Some(p) = self.policy.as_ref().filter(|p| truthy(p)) {
            args.insert("policy".into(), p.clone());
        }
        put_str(&mut args, "session_id", &self.session_id);
        put_str(&mut args, "choice", &self.choice);
        args
    }

    /// Sends it and returns the session.
    pub async fn send(self) -> Result<GuidedSession, Error> {
        let args = Value::Object(self.arguments());
        let state = guide_step(&self.client, args).await?;
        Ok(GuidedSession {
            client: self.client,
            state,
        })
    }
}
into_future!(Guide, GuidedSession);

async fn guide_step(client: &Client, args: Value) -> Result<DgResponse<GuideState>, Error> {
    client
        .dg_call(tools::GUIDE, args)
        .await?
        .parse(tools::GUIDE)
}

/// A guided workflow in progress. Owned and `Send`: it can move to another task.
#[derive(Debug)]
pub struct GuidedSession {
    client: Client,
    state: DgResponse<GuideState>,
}

impl GuidedSession {
    /// The current state.
    pub fn state(&self) -> &GuideState {
        &self.state.data
    }

    /// The last step's full response (payload, receipt, MCP result).
    pub fn last_response(&self) -> &DgResponse<GuideState> {
        &self.state
    }

    /// The session id.
    pub fn session_id(&self) -> &str {
        &self.state.data.session_id
    }

    /// Whether the workflow is completed.
    pub fn is_complete(&self) -> bool {
        self.state.data.status == "completed"
    }

    /// Chooses option `choice`: sends `{session_id, choice}`.
    pub async fn choose(&mut self, choice: &str) -> Result<&GuideState, Error> {
        let args = json!({ "session_id": self.state.data.session_id, "choice": choice });
        self.state = guide_step(&self.client, args).await?;
        Ok(&self.state.data)
    }

    /// The result of a completed workflow; [`Error::InvalidArgument`] while it is not
    /// completed.
    pub fn complete(&self) -> Result<&Value, Error> {
        if !self.is_complete() {
            return Err(Error::InvalidArgument(format!(
                "the guided workflow is not complete (status {:?}); choose one of the options",
                self.state.data.status
            )));
        }
        Ok(self.state.data.result.as_ref().unwrap_or(&Value::Null))
    }

    /// The final state.
    pub fn into_state(self) -> GuideState {
        self.state.data
    }
}

/// Plans tool calls for a goal ([`Client::plan`]). Sends `data-grout/discovery.plan` with the
/// goal and/or query (at least one) and only the options set here.
#[derive(Debug)]
#[must_use = "a Plan does nothing until awaited"]
pub struct Plan {
    client: Client,
    args: Map<String, Value>,
}

macro_rules! plan_setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.args.insert(stringify!($name).to_owned(), to_json(value));
            self
        }
    };
}

impl Plan {
    /// The goal.
    pub fn goal(mut self, goal: impl Into<String>) -> Self {
        self.args.insert("goal".into(), Value::String(goal.into()));
        self
    }

    /// The query.
    pub fn query(mut self, query: impl Into<String>) -> Self {
        self.args
            .insert("query".into(), Value::String(query.into()));
        self
    }

    /// The server to plan against.
    pub fn server(mut self, server: impl Into<String>) -> Self {
        self.args
            .insert("server".into(), Value::String(server.into()));
        self
    }

    plan_setter!(/// How many candidates per step.
        k: u32);
    plan_setter!(/// The planning policy.
        policy: Value);
    plan_setter!(/// What the agent already has.
        have: Value);
    plan_setter!(/// Whether to return call handles.
        return_call_handles: bool);
    plan_setter!(/// Whether to expose virtual skills.
        expose_virtual_skills: bool);
    plan_setter!(/// Model overrides.
        model_overrides: Value);

    /// Sends it. [`Error::InvalidArgument`] (nothing sent) without a goal or a query.
    pub async fn send(self) -> Result<DgResponse<Value>, Error> {
        let has = |k: &str| self.args.get(k).is_some_and(truthy);
        if !has("goal") && !has("query") {
            return Err(Error::InvalidArgument(
                "plan needs a goal or a query".into(),
            ));
        }
        self.client
            .dg_call(tools::PLAN, Value::Object(self.args))
            .await
    }
}
into_future!(Plan, DgResponse<Value>);

impl Client {
    /// Semantic search across the gateway's integrations (`data-grout/discovery.discover`).
    /// Options are set on the returned builder; `.await` sends it.
    ///
    /// ```no_run
    /// # async fn run(client: conduit::Client) -> Result<(), conduit::Error> {
    /// let found = client.discover("find unpaid invoices").limit(5).integrations(["quickbooks"]).await?;
    /// println!("{} tools for {:?}", found.data.total, found.data.query_used);
    /// # Ok(()) }
    /// ```
    pub fn discover(&self, query: impl Into<String>) -> Discover {
        Discover {
            client: self.clone(),
            query: Some(query.into()),
            goal: None,
            limit: 10,
            min_score: 0.0,
            integrations: Vec::new(),
            servers: Vec::new(),
            extra: Map::new(),
        }
    }

    /// Runs an integration tool through the gateway (`data-grout/discovery.perform`), with cost
    /// tracking.
    pub fn perform(&self, tool: impl Into<String>, args: Value) -> Perform {
        Perform {
            client: self.clone(),
            call: BatchCall::new(tool, args),
        }
    }

    /// Runs several `perform` calls in parallel ([`PERFORM_BATCH_CONCURRENCY`] at a time) and
    /// returns each one's outcome, in input order.
    ///
    /// The reference SDK sends the whole list as the `arguments` of one `tools/call`, which MCP
    /// does not allow (arguments must be an object). Conduit sends one ordinary `perform` per
    /// call instead — exactly what [`Client::perform`] sends — so each call succeeds or fails
    /// on its own and has its own receipt.
    pub async fn perform_batch(
        &self,
        calls: Vec<BatchCall>,
    ) -> Vec<Result<DgResponse<Value>, Error>> {
        self.perform_batch_with(calls, PERFORM_BATCH_CONCURRENCY)
            .await
    }

    /// [`Client::perform_batch`] with at most `concurrency` calls in flight (at least 1).
    pub async fn perform_batch_with(
        &self,
        calls: Vec<BatchCall>,
        concurrency: usize,
    ) -> Vec<Result<DgResponse<Value>, Error>> {
        stream::iter(calls)
            .map(|call| {
                let client = self.clone();
                async move { client.dg_call(tools::PERFORM, call.arguments()).await }
            })
            .buffered(concurrency.max(1))
            .collect()
            .await
    }

    /// Starts a guided workflow toward `goal` (`data-grout/discovery.guide`); `.await` returns
    /// a [`GuidedSession`]. An empty goal is not sent (use it with
    /// [`Guide::session_id`] to resume).
    pub fn guide(&self, goal: impl Into<String>) -> Guide {
        Guide {
            client: self.clone(),
            goal: Some(goal.into()),
            policy: None,
            session_id: None,
            choice: None,
        }
    }

    /// Plans the calls for a goal or query (`data-grout/discovery.plan`).
    pub fn plan(&self) -> Plan {
        Plan {
            client: self.clone(),
            args: Map::new(),
        }
    }
}
