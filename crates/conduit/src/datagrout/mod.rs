//! DataGrout gateway extensions: semantic discovery, `perform`, guided workflows, plans, flows,
//! Prism, the Logic cell, Warden, deliverables and ephemerals, plus receipts, a cost ledger and
//! an optional budget.
//!
//! Everything here is built on the generic [`Client`] (`tools/call` through
//! [`Client::call_tool_raw`]), so it works the same over every transport and era, and no
//! transport knows a DataGrout tool name. Tool and argument names, and their defaults, are the
//! reference SDK's, so a gateway cannot tell the two apart by what it receives; the two places
//! where the reference is wrong are documented on [`Client::perform_batch`] and
//! [`Client::estimate_cost`].
//!
//! Every call returns a [`DgResponse`]: the typed data, the unwrapped JSON payload
//! (`structuredContent` first, then the JSON text of the first content block), the receipt
//! ([`ToolMeta`]) and the complete MCP result.
//!
//! ```no_run
//! # async fn run() -> Result<(), conduit::Error> {
//! let client = conduit::Client::builder("https://gateway.datagrout.ai/servers/UUID/mcp")
//!     .bearer("token")
//!     .budget(100.0)
//!     .connect()
//!     .await?;
//! let found = client.discover("find unpaid invoices").limit(5).await?;
//! for tool in &found.data.tools {
//!     println!("{} ({:?})", tool.tool_name, tool.score);
//! }
//! let lead = client
//!     .perform("salesforce@1/get_lead@1", serde_json::json!({"id": "123"}))
//!     .await?;
//! if let Some(receipt) = lead.receipt() {
//!     println!("charged {} credits, saved {}", receipt.net_credits, receipt.savings);
//! }
//! println!("spent so far: {}", client.ledger().total.credits_spent);
//! # Ok(()) }
//! ```

mod discovery;
pub(crate) mod ledger;
mod namespaces;
mod receipt;

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::atomic::Ordering;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

pub use discovery::{
    BatchCall, Discover, DiscoverResult, Guide, GuideOption, GuideState, GuidedSession, Perform,
    Plan, ToolInfo, PERFORM_BATCH_CONCURRENCY,
};
pub use ledger::{BudgetStatus, CostTotals, LedgerSnapshot};
pub use namespaces::{Deliverables, Ephemerals, Flow, Logic, Prism, Warden};
pub use receipt::{
    extract_meta, extract_meta_value, Byok, CreditEstimate, MetaSource, Receipt, ToolMeta,
};

use crate::types::CallToolResult;
use crate::{CallOptions, Client, Error};

/// The DataGrout tool names this module calls.
pub mod tools {
    /// Semantic tool search.
    pub const DISCOVER: &str = "data-grout/discovery.discover";
    /// Runs an integration tool through the gateway.
    pub const PERFORM: &str = "data-grout/discovery.perform";
    /// Guided multi-step workflow.
    pub const GUIDE: &str = "data-grout/discovery.guide";
    /// Plans the tool calls for a goal.
    pub const PLAN: &str = "data-grout/discovery.plan";
    /// Runs a flow plan.
    pub const FLOW_INTO: &str = "data-grout/flow.into";
    /// Routes a payload through branches.
    pub const FLOW_ROUTE: &str = "data-grout/flow.route";
    /// Asks a human to approve an action.
    pub const FLOW_REQUEST_APPROVAL: &str = "data-grout/flow.request-approval";
    /// Asks a human for missing information.
    pub const FLOW_REQUEST_FEEDBACK: &str = "data-grout/flow.request-feedback";
    /// Execution history.
    pub const EXECUTION_HISTORY: &str = "data-grout/inspect.execution-history";
    /// One execution's details.
    pub const EXECUTION_DETAILS: &str = "data-grout/inspect.execution-details";
    /// Prism: transform data toward a goal.
    pub const PRISM_REFRACT: &str = "data-grout/prism.refract";
    /// Prism: chart data.
    pub const PRISM_CHART: &str = "data-grout/prism.chart";
    /// Prism: render content.
    pub const PRISM_RENDER: &str = "data-grout/prism.render";
    /// Prism: export to a format.
    pub const PRISM_EXPORT: &str = "data-grout/prism.export";
    /// Prism: convert between semantic types.
    pub const PRISM_FOCUS: &str = "data-grout/prism.focus";
    /// The prefix of every DataGrout tool.
    pub const PREFIX: &str = "data-grout/";
}

/// The answer of a DataGrout call: typed data, the unwrapped payload, the receipt and the
/// complete MCP result.
#[derive(Clone, Debug)]
pub struct DgResponse<T> {
    /// The typed result.
    pub data: T,
    /// The payload as JSON: `structuredContent`, else the first text content parsed as JSON
    /// (`{"text": …}` when it is not JSON), else the first content block, else the result.
    pub raw: Value,
    /// The gateway's metadata (receipt, credit estimate), wherever it was put.
    pub meta: Option<ToolMeta>,
    /// The MCP result as received (`_meta` included).
    pub result: CallToolResult,
}

impl<T> DgResponse<T> {
    /// The receipt, when the gateway sent one.
    pub fn receipt(&self) -> Option<&Receipt> {
        self.meta.as_ref().and_then(|m| m.receipt.as_ref())
    }

    /// Replaces the data, keeping the rest.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> DgResponse<U> {
        DgResponse {
            data: f(self.data),
            raw: self.raw,
            meta: self.meta,
            result: self.result,
        }
    }
}

impl DgResponse<Value> {
    /// Deserialises the payload into `T` (an [`Error::Protocol`] naming `tool` if it does not
    /// fit).
    pub fn parse<T: DeserializeOwned>(self, tool: &str) -> Result<DgResponse<T>, Error> {
        let data = serde_json::from_value(self.raw.clone())
            .map_err(|e| Error::protocol(tool, format!("unexpected result shape: {e}")))?;
        Ok(self.map(|_| data))
    }
}

/// The payload of a tool result, the way the reference SDK unwraps it: `structuredContent`;
/// else the first content block's text parsed as JSON (or `{"text": raw}` when it is not JSON);
/// else the first content block; else the whole result.
pub fn unwrap_payload(result: &CallToolResult) -> Value {
    match serde_json::to_value(result) {
        Ok(v) => unwrap_payload_value(&v),
        Err(_) => Value::Null,
    }
}

/// [`unwrap_payload`] over a raw `tools/call` result.
pub fn unwrap_payload_value(result: &Value) -> Value {
    if let Some(s) = result.get("structuredContent").filter(|s| !s.is_null()) {
        return s.clone();
    }
    if let Some(first) = result
        .get("content")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
    {
        if let Some(text) = first.get("text").and_then(Value::as_str) {
            return serde_json::from_str(text)
                .unwrap_or_else(|_| serde_json::json!({ "text": text }));
        }
        return first.clone();
    }
    result.clone()
}

/// A DataGrout tool call being built: set or override arguments with [`DgCall::arg`], then
/// `.await` it (or call [`DgCall::send`]).
#[derive(Debug)]
#[must_use = "a DgCall does nothing until awaited"]
pub struct DgCall {
    client: Client,
    tool: String,
    args: Map<String, Value>,
    invalid: Option<String>,
}

impl DgCall {
    pub(crate) fn new(client: &Client, tool: impl Into<String>, args: Map<String, Value>) -> Self {
        DgCall {
            client: client.clone(),
            tool: tool.into(),
            args,
            invalid: None,
        }
    }

    /// A call with the caller's parameters: an object, or `null`/`None` for `{}`. Anything
    /// else fails with [`Error::InvalidArgument`] when sent (nothing is sent).
    pub(crate) fn from_value(
        client: &Client,
        tool: impl Into<String>,
        params: Option<Value>,
    ) -> Self {
        let tool = tool.into();
        let (args, invalid) = match params {
            None | Some(Value::Null) => (Map::new(), None),
            Some(Value::Object(m)) => (m, None),
            Some(_) => (
                Map::new(),
                Some(format!("the parameters of `{tool}` must be a JSON object")),
            ),
        };
        DgCall {
            client: client.clone(),
            tool,
            args,
            invalid,
        }
    }

    /// Sets argument `key` (replacing a default); `null` removes it.
    pub fn arg(mut self, key: impl Into<String>, value: impl Serialize) -> Self {
        let key = key.into();
        match serde_json::to_value(value) {
            Ok(Value::Null) | Err(_) => {
                self.args.remove(&key);
            }
            Ok(v) => {
                self.args.insert(key, v);
            }
        }
        self
    }

    /// The tool this call goes to.
    pub fn tool(&self) -> &str {
        &self.tool
    }

    /// The arguments as they will be sent.
    pub fn arguments(&self) -> &Map<String, Value> {
        &self.args
    }

    /// Sends the call.
    pub async fn send(self) -> Result<DgResponse<Value>, Error> {
        if let Some(reason) = self.invalid {
            return Err(Error::InvalidArgument(reason));
        }
        self.client
            .dg_call(&self.tool, Value::Object(self.args))
            .await
    }
}

impl IntoFuture for DgCall {
    type Output = Result<DgResponse<Value>, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// A pre-call credit estimate ([`Client::estimate_cost`]).
#[derive(Clone, Debug, Serialize)]
pub struct CostEstimate {
    /// The tool estimated.
    pub tool: String,
    /// The estimated credits, when the gateway gave a figure: `credit_estimate.estimated_total`,
    /// else the payload's `estimated_credits` / `estimated_total` / `credits.estimated`, else
    /// the receipt's `estimated_credits`.
    pub estimated_credits: Option<f64>,
    /// The gateway's metadata block, if any.
    pub meta: Option<ToolMeta>,
    /// The unwrapped payload.
    pub raw: Value,
}

fn payload_estimate(payload: &Value) -> Option<f64> {
    let num = |v: Option<&Value>| v.and_then(receipt::as_f64);
    num(payload.get("estimated_credits"))
        .or_else(|| num(payload.get("estimated_total")))
        .or_else(|| num(payload.get("credits").and_then(|c| c.get("estimated"))))
        .or_else(|| {
            num(payload
                .get("credit_estimate")
                .and_then(|c| c.get("estimated_total")))
        })
}

/// Estimates a call without the budget check (the budget check itself uses this).
pub(crate) async fn estimate(
    client: &Client,
    tool: &str,
    arguments: Value,
) -> Result<CostEstimate, Error> {
    let mut args = match arguments {
        Value::Null => Map::new(),
        Value::Object(m) => m,
        _ => {
            return Err(Error::InvalidArgument(format!(
                "the arguments of tool `{tool}` must be a JSON object"
            )))
        }
    };
    args.insert("estimate_only".into(), Value::Bool(true));
    let result = client
        .send_tool_call(tool, Value::Object(args), CallOptions::default())
        .await?;
    if result.is_error == Some(true) {
        return Err(Error::Tool {
            name: tool.to_owned(),
            result: Box::new(result),
        });
    }
    let raw = unwrap_payload(&result);
    let meta = extract_meta(&result);
    let estimated_credits = meta
        .as_ref()
        .and_then(|m| m.credit_estimate.as_ref())
        .and_then(|e| e.estimated_total)
        .or_else(|| payload_estimate(&raw))
        .or_else(|| {
            meta.as_ref()
                .and_then(|m| m.receipt.as_ref())
                .map(|r| r.estimated_credits)
        });
    Ok(CostEstimate {
        tool: tool.to_owned(),
        estimated_credits,
        meta,
        raw,
    })
}

pub(crate) fn object(pairs: impl IntoIterator<Item = (&'static str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

pub(crate) fn to_json(value: impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

impl Client {
    /// Calls a DataGrout (or any) tool and unwraps its result: the building block of every
    /// method in this module. A result with `isError: true` is [`Error::Tool`].
    pub async fn dg_call(&self, tool: &str, arguments: Value) -> Result<DgResponse<Value>, Error> {
        if tool.starts_with(tools::PREFIX)
            && !crate::is_dg_url(self.url())
            && !self.costs().warned.swap(true, Ordering::Relaxed)
        {
            tracing::info!(
                tool,
                url = self.url(),
                "DataGrout extension used against a URL that does not look like a DataGrout gateway"
            );
        }
        let result = self.call_tool(tool, arguments).await?;
        let raw = unwrap_payload(&result);
        let meta = extract_meta(&result);
        Ok(DgResponse {
            data: raw.clone(),
            raw,
            meta,
            result,
        })
    }

    /// Calls `data-grout/<short>` with `params` (`{}` when `None`), e.g.
    /// `client.dg("invariant.code_query", None)`.
    pub async fn dg(&self, short: &str, params: Option<Value>) -> Result<DgResponse<Value>, Error> {
        let params = params.unwrap_or_else(|| Value::Object(Map::new()));
        self.dg_call(&format!("{}{short}", tools::PREFIX), params)
            .await
    }

    /// The credits a call would cost. Sends `tool` itself with `args` plus
    /// `estimate_only: true`, as the reference SDK does (so the gateway sees the same request).
    /// Unlike the reference, the figure is read from wherever the gateway put it (see
    /// [`CostEstimate::estimated_credits`]), and a budget ([`ClientBuilder::budget`]) is
    /// checked against it *before* the real call is sent.
    ///
    /// [`ClientBuilder::budget`]: crate::ClientBuilder::budget
    pub async fn estimate_cost(&self, tool: &str, args: Value) -> Result<CostEstimate, Error> {
        estimate(self, tool, args).await
    }

    /// Runs a flow plan (`data-grout/flow.into`): the same as `client.flow().run(plan)`.
    pub fn flow_into(&self, plan: Value) -> DgCall {
        self.flow().run(plan)
    }

    /// Converts `data` from one semantic type to another (`data-grout/prism.focus`): the same
    /// as `client.prism().focus(..)`.
    pub fn prism_focus(&self, data: Value, source_type: &str, target_type: &str) -> DgCall {
        self.prism().focus(data, source_type, target_type)
    }

    /// The Warden namespace (safety checks).
    pub fn warden(&self) -> Warden {
        Warden::new(self)
    }

    /// The Prism namespace (data transformation and rendering).
    pub fn prism(&self) -> Prism {
        Prism::new(self)
    }

    /// The Logic cell namespace (persistent agent memory).
    pub fn logic(&self) -> Logic {
        Logic::new(self)
    }

    /// The Flow namespace (orchestration, approvals, history).
    pub fn flow(&self) -> Flow {
        Flow::new(self)
    }

    /// The Deliverables namespace.
    pub fn deliverables(&self) -> Deliverables {
        Deliverables::new(self)
    }

    /// The Ephemerals namespace (cached intermediate results).
    pub fn ephemerals(&self) -> Ephemerals {
        Ephemerals::new(self)
    }
}
