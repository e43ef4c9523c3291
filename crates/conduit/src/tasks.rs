//! Tasks: long-running tool calls polled for their outcome, in both shapes, behind one
//! [`TaskHandle`].
//!
//! * **2025-11-25** (core tasks): the client asks for a task by sending `task: {ttl}` in a
//!   `tools/call`, which it does only when the server declared
//!   `capabilities.tasks.requests.tools.call` and the tool's `execution.taskSupport` is not
//!   `forbidden`. The handle polls `tasks/get`, fetches the outcome with `tasks/result` and
//!   cancels with `tasks/cancel`; `tasks/list` lists tasks.
//! * **2026-07-28** (extension `io.modelcontextprotocol/tasks`): the server alone decides to
//!   answer a `tools/call` with `resultType: "task"`. [`Client::call_tool_as_task`] opts in for
//!   its one request (the extension in that request's client capabilities); a plain
//!   [`Client::call_tool`] that receives a task anyway waits on it transparently. The handle
//!   polls `tasks/get` (whose completed task carries the result inline), answers
//!   `input_required` with `tasks/update` through the client's handler, and cancels with
//!   `tasks/cancel`.
//!
//! A task is never cancelled with `notifications/cancelled`. Status notifications
//! (`notifications/tasks/status`, `notifications/tasks`) update a handle and cut a poll
//! interval short when they arrive, but polling never depends on them. Every wait is bounded by
//! the deadline of the call that created the task; a wait that runs out cancels the task on the
//! server (`tasks/cancel`) unless [`TaskHandle::cancel_on_timeout`] turned that off, and fails
//! with [`Error::TaskTimeout`].
//!
//! A 2026 server may answer a task-opted call at once; the handle then has no id
//! ([`TaskHandle::id`] is `None`), is already [`TaskStatus::Completed`], and `wait` returns the
//! result without a request (`cancel` and `refresh` send nothing either).
//!
//! **Task-required tools called plainly.** The client remembers, from every `tools/list` it
//! reads, which tools declare `execution.taskSupport: "required"`. A plain
//! [`Client::call_tool`] / [`Client::call_tool_raw`] of such a tool goes through a task
//! transparently (created, waited on within the call's one deadline, cancelled if that runs
//! out) — or, when the server declares no task support, fails with [`Error::TaskUnsupported`]
//! before anything is sent. A tool the client has never seen listed is sent as it is, and the
//! server's answer stands.
//!
//! The client advertises no client-side tasks capability: it does not accept task-augmented
//! requests from servers.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use conduit_protocol::jsonrpc::ErrorObject;
use conduit_protocol::mcp::{
    CallToolResult, CreateTaskResult, DetailedTask, ListTasksResult, ServerNotification, Task,
    TaskStatus, TaskSupport, Tool, TASKS_EXTENSION,
};
use conduit_transport::Era;
use serde_json::{json, Map, Value};
use tokio::time::Instant;

use crate::client::{CallOptions, Page};
use crate::notifications::NotificationStream;
use crate::{Client, Error};

/// The poll interval used when the server suggests none.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(500);
/// Shortest poll interval honoured, whatever the server suggests.
pub const MIN_POLL_INTERVAL: Duration = Duration::from_millis(5);
/// Longest poll interval honoured, whatever the server suggests.
pub const MAX_POLL_INTERVAL: Duration = Duration::from_secs(30);
/// The deadline of the `tasks/cancel` sent when a wait times out (at most the client's request
/// timeout).
pub const CANCEL_ON_TIMEOUT_DEADLINE: Duration = Duration::from_secs(5);

/// A task running on the server: the outcome of a task-augmented (2025-11-25) or task-returning
/// (2026-07-28) tool call. One type for both eras.
///
/// ```no_run
/// # async fn run(client: conduit::Client) -> Result<(), conduit::Error> {
/// let task = client
///     .call_tool_as_task("long_task", serde_json::json!({}), None)
///     .await?;
/// println!("task {:?} is {:?}", task.id(), task.status());
/// let result = task.wait().await?;
/// # let _ = result; Ok(()) }
/// ```
pub struct TaskHandle {
    client: Client,
    era: Era,
    tool: String,
    /// `None` when the server answered at once (2026) and no task exists.
    id: Option<String>,
    status: TaskStatus,
    status_message: Option<String>,
    poll_interval: Option<Duration>,
    /// 2026: the result carried inline by a completed task.
    result: Option<Map<String, Value>>,
    /// 2026: the error carried by a failed task.
    error: Option<ErrorObject>,
    /// 2026: the raw task, kept to answer `input_required`.
    raw: Option<Value>,
    deadline: Instant,
    timeout: Duration,
    updates: NotificationStream,
    cancel_on_timeout: bool,
}

impl std::fmt::Debug for TaskHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskHandle")
            .field("id", &self.id)
            .field("tool", &self.tool)
            .field("era", &self.era)
            .field("status", &self.status)
            .field("poll_interval", &self.poll_interval)
            .finish_non_exhaustive()
    }
}

fn interval_from_ms(ms: Option<u64>) -> Option<Duration> {
    ms.map(|ms| Duration::from_millis(ms).clamp(MIN_POLL_INTERVAL, MAX_POLL_INTERVAL))
}

impl TaskHandle {
    fn new(
        client: &Client,
        era: Era,
        tool: &str,
        id: Option<String>,
        timeout: Duration,
    ) -> TaskHandle {
        let wanted = id.clone();
        let updates = client.inner().hub.subscribe(move |n| match (n, &wanted) {
            (ServerNotification::TaskStatus(t), Some(w)) => &t.task_id == w,
            (ServerNotification::Tasks(t), Some(w)) => &t.task_id == w,
            _ => false,
        });
        TaskHandle {
            client: client.clone(),
            era,
            tool: tool.to_owned(),
            id,
            status: TaskStatus::Working,
            status_message: None,
            poll_interval: None,
            result: None,
            error: None,
            raw: None,
            deadline: Instant::now() + timeout,
            timeout,
            updates,
            cancel_on_timeout: true,
        }
    }

    /// A 2025-11-25 handle from a `CreateTaskResult`'s task.
    pub(crate) fn from_task(client: &Client, tool: &str, task: Task, timeout: Duration) -> Self {
        let mut handle = TaskHandle::new(
            client,
            Era::Stateful,
            tool,
            Some(task.task_id.clone()),
            timeout,
        );
        handle.apply_task(task);
        handle
    }

    /// A 2026-07-28 handle from a `resultType: "task"` result.
    pub(crate) fn from_detailed(
        client: &Client,
        tool: &str,
        raw: Value,
        timeout: Duration,
    ) -> Result<Self, Error> {
        let task: DetailedTask = serde_json::from_value(raw.clone())
            .map_err(|e| Error::protocol("tools/call", format!("malformed task: {e}")))?;
        let mut handle = TaskHandle::new(
            client,
            Era::Stateless,
            tool,
            Some(task.task_id.clone()),
            timeout,
        );
        handle.apply_detailed(task, raw);
        Ok(handle)
    }

    fn apply_task(&mut self, task: Task) {
        self.status = task.status;
        self.status_message = task.status_message;
        if let Some(i) = interval_from_ms(task.poll_interval) {
            self.poll_interval = Some(i);
        }
    }

    fn apply_detailed(&mut self, task: DetailedTask, raw: Value) {
        self.status = task.status;
        self.status_message = task.status_message;
        if let Some(i) = interval_from_ms(task.poll_interval_ms) {
            self.poll_interval = Some(i);
        }
        if task.result.is_some() {
            self.result = task.result;
        }
        if task.error.is_some() {
            self.error = task.error;
        }
        self.raw = Some(raw);
    }

    /// The task's id; `None` when the server answered at once (2026-07-28 allows it) and no
    /// task exists on the server: the handle is then already [`TaskStatus::Completed`].
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// Whether a wait that runs out of time cancels the task on the server (default: true).
    /// With `false` the task is left running; the timeout error says which.
    pub fn cancel_on_timeout(mut self, cancel: bool) -> Self {
        self.cancel_on_timeout = cancel;
        self
    }

    /// The id, for requests about the task; `None` for a handle without a task.
    fn task_id(&self) -> Option<String> {
        self.id.clone()
    }

    /// The tool whose call created the task.
    pub fn tool(&self) -> &str {
        &self.tool
    }

    /// The era of the task's shape.
    pub fn era(&self) -> Era {
        self.era
    }

    /// The last status seen (from the creating reply, a poll or a status notification).
    pub fn status(&self) -> TaskStatus {
        self.status.clone()
    }

    /// The server's description of the last status seen, if any.
    pub fn status_message(&self) -> Option<&str> {
        self.status_message.as_deref()
    }

    /// The poll interval the server suggested (clamped to
    /// [`MIN_POLL_INTERVAL`]..=[`MAX_POLL_INTERVAL`]), if it suggested one.
    pub fn poll_interval(&self) -> Option<Duration> {
        self.poll_interval
    }

    /// The deadline bounding [`TaskHandle::wait`]: the creating call's timeout from creation.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    fn remaining(&self, method: &str) -> Result<Duration, Error> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::Timeout {
                method: method.to_owned(),
                after: self.timeout,
            });
        }
        Ok(left)
    }

    async fn task_request(&self, method: &str, params: Value) -> Result<Value, Error> {
        let timeout = self.remaining(method)?;
        self.task_request_within(method, params, timeout).await
    }

    async fn task_request_within(
        &self,
        method: &str,
        mut params: Value,
        timeout: Duration,
    ) -> Result<Value, Error> {
        if self.era == Era::Stateless {
            params["_meta"] = opt_in_meta(&self.client);
        }
        self.client
            .request_with(method, Some(params), CallOptions::timeout(timeout))
            .await
    }

    /// Takes the status notifications received so far into account.
    fn drain_updates(&mut self) {
        while let Ok(n) = self.updates.try_recv() {
            self.apply_notification(n);
        }
    }

    fn apply_notification(&mut self, n: ServerNotification) {
        match n {
            ServerNotification::TaskStatus(t) if !self.status.is_terminal() => self.apply_task(t),
            ServerNotification::Tasks(t) if !self.status.is_terminal() => {
                let raw = serde_json::to_value(&*t).unwrap_or(Value::Null);
                self.apply_detailed(*t, raw);
            }
            _ => {}
        }
    }

    /// Asks the server for the task's state (`tasks/get`) and returns its status.
    /// A handle without a task (answered at once) sends nothing and stays completed.
    pub async fn refresh(&mut self) -> Result<TaskStatus, Error> {
        let Some(id) = self.task_id() else {
            return Ok(self.status.clone());
        };
        let value = self
            .task_request("tasks/get", json!({ "taskId": id }))
            .await?;
        match self.era {
            Era::Stateful => {
                let task: Task = serde_json::from_value(value)
                    .map_err(|e| Error::protocol("tasks/get", format!("malformed task: {e}")))?;
                self.check_id("tasks/get", &task.task_id)?;
                self.apply_task(task);
            }
            Era::Stateless => {
                let task: DetailedTask = serde_json::from_value(value.clone())
                    .map_err(|e| Error::protocol("tasks/get", format!("malformed task: {e}")))?;
                self.check_id("tasks/get", &task.task_id)?;
                self.apply_detailed(task, value);
            }
        }
        Ok(self.status.clone())
    }

    fn check_id(&self, method: &str, got: &str) -> Result<(), Error> {
        if Some(got) != self.id.as_deref() {
            return Err(Error::protocol(
                method,
                format!(
                    "asked about task {:?}, got task {got:?}",
                    self.task_id().unwrap_or_default()
                ),
            ));
        }
        Ok(())
    }

    /// Sleeps one poll interval, or less if a status notification arrives.
    async fn pause(&mut self) -> Result<(), Error> {
        let interval = self.poll_interval.unwrap_or(DEFAULT_POLL_INTERVAL);
        let left = self.remaining("tasks/get")?;
        let wake = Instant::now() + interval.min(left);
        tokio::select! {
            _ = tokio::time::sleep_until(wake) => {}
            n = self.updates.recv() => match n {
                Some(n) => self.apply_notification(n),
                // No more notifications: sleep out the interval rather than poll in a loop.
                None => tokio::time::sleep_until(wake).await,
            },
        }
        Ok(())
    }

    /// Waits for the task to finish and returns the tool's result as it is (`isError`
    /// included). Polls `tasks/get` at the server's suggested interval until the task is
    /// terminal (a status notification cuts a pause short), then (2025-11-25) fetches the
    /// result with `tasks/result`, which also carries the server's requests of an
    /// `input_required` task; a 2026 task carries it inline. A failed task is the server's
    /// error, a cancelled one [`Error::Cancelled`]. The whole wait is bounded by
    /// [`TaskHandle::deadline`]: when it passes, the task is cancelled on the server (unless
    /// [`TaskHandle::cancel_on_timeout`] is off) and the error is [`Error::TaskTimeout`].
    pub async fn wait(self) -> Result<CallToolResult, Error> {
        self.wait_with(|_, _| {}).await
    }

    /// [`TaskHandle::wait`], calling `observe(status, status_message)` with the first status
    /// and each time the status or its message changes (from a poll or a notification).
    pub async fn wait_with<F>(mut self, mut observe: F) -> Result<CallToolResult, Error>
    where
        F: FnMut(&TaskStatus, Option<&str>) + Send,
    {
        let mut seen: Option<(TaskStatus, Option<String>)> = None;
        let mut report = |handle: &TaskHandle| {
            let now = (handle.status.clone(), handle.status_message.clone());
            if seen.as_ref() != Some(&now) {
                observe(&now.0, now.1.as_deref());
                seen = Some(now);
            }
        };
        match self.wait_inner(&mut report).await {
            Err(e) if e.is_timeout() => Err(self.timed_out().await),
            other => other,
        }
    }

    /// The error of a wait that ran out of time, after cancelling the task if asked to.
    async fn timed_out(&mut self) -> Error {
        let task_id = self.task_id().unwrap_or_default();
        let mut cancelled = false;
        if self.cancel_on_timeout && self.id.is_some() && !self.status.is_terminal() {
            let within = CANCEL_ON_TIMEOUT_DEADLINE.min(self.client.settings().timeout);
            match self
                .task_request_within("tasks/cancel", json!({ "taskId": task_id }), within)
                .await
            {
                Ok(_) => {
                    cancelled = true;
                    self.status = TaskStatus::Cancelled;
                }
                Err(e) => {
                    tracing::debug!(error = %e, task = %task_id, "could not cancel a timed-out task")
                }
            }
        }
        Error::TaskTimeout {
            tool: self.tool.clone(),
            task_id,
            after: self.timeout,
            cancelled,
        }
    }

    async fn wait_inner(
        &mut self,
        report: &mut (dyn FnMut(&TaskHandle) + Send),
    ) -> Result<CallToolResult, Error> {
        loop {
            self.drain_updates();
            report(self);
            let inline = self.result.is_some() || self.error.is_some();
            if self.status.is_terminal()
                && (self.id.is_none() || (self.era == Era::Stateless && inline))
            {
                break;
            }
            if self.status.is_terminal() {
                // A notification is a hint: confirm with the server before trusting it.
                self.refresh().await?;
                report(self);
                if self.status.is_terminal() {
                    break;
                }
            }
            if self.status == TaskStatus::InputRequired {
                match self.era {
                    Era::Stateless => {
                        self.provide_input().await?;
                        continue;
                    }
                    // 2025-11-25: the server's requests arrive while `tasks/result` waits.
                    Era::Stateful => break,
                }
            }
            self.pause().await?;
            report(self);
            if self.refresh().await?.is_terminal() {
                report(self);
                break;
            }
        }
        self.outcome().await
    }

    async fn outcome(&mut self) -> Result<CallToolResult, Error> {
        if self.status == TaskStatus::Cancelled {
            return Err(Error::Cancelled {
                method: "tools/call".to_owned(),
            });
        }
        let value = match self.era {
            Era::Stateful => {
                let Some(id) = self.task_id() else {
                    return Err(Error::protocol(
                        "tools/call",
                        "no task to fetch a result for",
                    ));
                };
                self.task_request("tasks/result", json!({ "taskId": id }))
                    .await?
            }
            Era::Stateless => {
                if let Some(e) = self.error.take() {
                    return Err(Error::rpc("tools/call", e));
                }
                match self.result.take() {
                    Some(r) => Value::Object(r),
                    None if self.status == TaskStatus::Failed => {
                        return Err(Error::protocol(
                            "tasks/get",
                            format!(
                                "task {} failed without an error",
                                self.task_id().unwrap_or_default()
                            ),
                        ))
                    }
                    None => {
                        return Err(Error::protocol(
                            "tasks/get",
                            format!(
                                "completed task {} carries no result",
                                self.task_id().unwrap_or_default()
                            ),
                        ))
                    }
                }
            }
        };
        serde_json::from_value(value).map_err(|e| Error::protocol("tasks/result", e.to_string()))
    }

    /// 2026: answers an `input_required` task with `tasks/update`, through the client's
    /// handler (as multi round-trip requests are answered).
    async fn provide_input(&mut self) -> Result<(), Error> {
        let raw = self.raw.clone().unwrap_or(Value::Null);
        let settings = self.client.settings();
        let retry = crate::mrtr::answer(
            "tasks/update",
            raw,
            settings.handler.as_ref(),
            &settings.client_capabilities,
        )
        .await?;
        self.task_request(
            "tasks/update",
            json!({ "taskId": self.task_id(), "inputResponses": Value::Object(retry.input_responses) }),
        )
        .await?;
        self.refresh().await?;
        if self.status == TaskStatus::InputRequired {
            self.pause().await?;
            self.refresh().await?;
        }
        Ok(())
    }

    /// Cancels the task with `tasks/cancel` (never `notifications/cancelled`) and returns its
    /// status afterwards. Cancelling a task that already finished is the server's error. A
    /// handle without a task (the server answered at once) sends nothing: the call is done, and
    /// the status returned is [`TaskStatus::Completed`].
    pub async fn cancel(&mut self) -> Result<TaskStatus, Error> {
        let Some(id) = self.task_id() else {
            return Ok(self.status.clone());
        };
        let value = self
            .task_request("tasks/cancel", json!({ "taskId": id }))
            .await?;
        match self.era {
            Era::Stateful => {
                let task: Task = serde_json::from_value(value)
                    .map_err(|e| Error::protocol("tasks/cancel", format!("malformed task: {e}")))?;
                self.apply_task(task);
            }
            // The extension acknowledges with an empty result; the status settles afterwards.
            Era::Stateless => {
                self.refresh().await?;
            }
        }
        Ok(self.status.clone())
    }
}

/// `_meta` opting one stateless request into the tasks extension: the client's capabilities
/// with the extension added (the other per-request keys are filled in by the client).
fn opt_in_meta(client: &Client) -> Value {
    let mut caps = match &client.settings().capabilities {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    let extensions = caps
        .entry("extensions")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(ext) = extensions {
        ext.insert(TASKS_EXTENSION.into(), json!({}));
    }
    json!({ conduit_protocol::mcp::meta_keys::CLIENT_CAPABILITIES: caps })
}

fn unsupported(tool: &str, reason: String) -> Error {
    Error::TaskUnsupported {
        tool: tool.to_owned(),
        reason,
    }
}

fn task_support(tool: &Tool) -> TaskSupport {
    tool.execution
        .as_ref()
        .and_then(|e| e.task_support.clone())
        .unwrap_or(TaskSupport::Forbidden)
}

/// Whether the server takes task-augmented tool calls in `era`; nothing is sent.
fn check_server_support(client: &Client, tool: &str, era: Era) -> Result<(), Error> {
    let capabilities = client.server_capabilities().unwrap_or_default();
    match era {
        Era::Stateful => {
            if !capabilities
                .tasks
                .as_ref()
                .is_some_and(|t| t.supports_tool_call())
            {
                return Err(unsupported(
                    tool,
                    "the server does not declare capabilities.tasks.requests.tools.call".into(),
                ));
            }
        }
        Era::Stateless => {
            if !capabilities
                .extensions
                .as_ref()
                .is_some_and(|e| e.contains_key(TASKS_EXTENSION))
            {
                return Err(unsupported(
                    tool,
                    format!("the server does not declare the {TASKS_EXTENSION} extension"),
                ));
            }
        }
    }
    Ok(())
}

/// Sends the task-augmented (2025) or task-opted (2026) `tools/call` and makes its handle.
async fn create_task(
    client: &Client,
    era: Era,
    name: &str,
    arguments: Value,
    ttl: Option<Duration>,
    options: CallOptions,
) -> Result<TaskHandle, Error> {
    let mut params = crate::client::named_params("tool", name, arguments)?;
    match era {
        Era::Stateful => {
            let mut task = Map::new();
            if let Some(ttl) = ttl {
                let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
                task.insert("ttl".into(), json!(ms));
            }
            params.insert("task".into(), Value::Object(task));
        }
        Era::Stateless => {
            params.insert("_meta".into(), opt_in_meta(client));
        }
    }
    let timeout = options.timeout.unwrap_or(client.settings().timeout);
    let value = client
        .request_with("tools/call", Some(Value::Object(params)), options)
        .await?;
    match era {
        Era::Stateful => {
            if value.get("task").is_none() {
                return Err(Error::protocol(
                    "tools/call",
                    "a task was requested but the server answered without one",
                ));
            }
            let created: CreateTaskResult = serde_json::from_value(value)
                .map_err(|e| Error::protocol("tools/call", format!("malformed task: {e}")))?;
            Ok(TaskHandle::from_task(client, name, created.task, timeout))
        }
        Era::Stateless => {
            if is_task_result(&value) {
                return TaskHandle::from_detailed(client, name, value, timeout);
            }
            // The server answered at once (allowed): a handle without a task, already done.
            let Value::Object(result) = value else {
                return Err(Error::protocol("tools/call", "the result is not an object"));
            };
            let mut handle = TaskHandle::new(client, Era::Stateless, name, None, timeout);
            handle.status = TaskStatus::Completed;
            handle.result = Some(result);
            Ok(handle)
        }
    }
}

/// A plain call of a tool known to require a task: through a task, within the call's one
/// deadline (see the [module](crate::tasks)). Returns the raw result.
pub(crate) async fn call_through_task(
    client: &Client,
    name: &str,
    arguments: Value,
    options: CallOptions,
) -> Result<Value, Error> {
    let era = client.era().ok_or(Error::Closed)?;
    check_server_support(client, name, era).map_err(|e| match e {
        Error::TaskUnsupported { tool, reason } => Error::TaskUnsupported {
            tool,
            reason: format!(
                "the tool requires a task (execution.taskSupport \"required\") but {reason}"
            ),
        },
        other => other,
    })?;
    let started = Instant::now();
    let timeout = options.timeout.unwrap_or(client.settings().timeout);
    let mut handle = create_task(client, era, name, arguments, None, options).await?;
    // One deadline for the whole call: creating the task and waiting for it.
    handle.deadline = started + timeout;
    serde_json::to_value(handle.wait().await?)
        .map_err(|e| Error::protocol("tools/call", e.to_string()))
}

/// The tools the server lists with `execution.taskSupport: "required"`, learned from every
/// `tools/list` the client reads.
#[derive(Debug, Default)]
pub(crate) struct TaskTools {
    required: Mutex<HashSet<String>>,
}

impl TaskTools {
    /// Learns from listed tools; `complete` when `tools` is the whole list (then tools no
    /// longer listed are forgotten).
    pub(crate) fn learn(&self, tools: &[Tool], complete: bool) {
        let Ok(mut required) = self.required.lock() else {
            return;
        };
        if complete {
            required.clear();
        }
        for tool in tools {
            if task_support(tool) == TaskSupport::Required {
                required.insert(tool.name.clone());
            } else {
                required.remove(&tool.name);
            }
        }
    }

    /// Whether `tool` was listed as requiring a task.
    pub(crate) fn requires_task(&self, tool: &str) -> bool {
        self.required.lock().is_ok_and(|r| r.contains(tool))
    }
}

/// Whether a raw `tools/call` result is a 2026 task handle.
pub(crate) fn is_task_result(value: &Value) -> bool {
    value.get("resultType").and_then(Value::as_str) == Some("task")
}

impl Client {
    /// Calls a tool as a task and returns its [`TaskHandle`] (see the [module](crate::tasks)).
    ///
    /// 2025-11-25: sends `task: {ttl}` (`ttl` in milliseconds when given) and requires the
    /// server's `capabilities.tasks.requests.tools.call`. 2026-07-28: requires the server's
    /// `io.modelcontextprotocol/tasks` extension and opts in for this request; a server that
    /// answers at once anyway yields a handle that is already completed. Either way the tool
    /// must be listed with an `execution.taskSupport` other than `forbidden`; otherwise the
    /// result is [`Error::TaskUnsupported`] and nothing is sent.
    pub async fn call_tool_as_task(
        &self,
        name: &str,
        arguments: Value,
        ttl: Option<Duration>,
    ) -> Result<TaskHandle, Error> {
        self.call_tool_as_task_with(name, arguments, ttl, CallOptions::default())
            .await
    }

    /// [`Client::call_tool_as_task`] with per-call options; the timeout also bounds
    /// [`TaskHandle::wait`].
    pub async fn call_tool_as_task_with(
        &self,
        name: &str,
        arguments: Value,
        ttl: Option<Duration>,
        options: CallOptions,
    ) -> Result<TaskHandle, Error> {
        let era = self.era().ok_or(Error::Closed)?;
        check_server_support(self, name, era)?;
        let tools: Vec<Tool> = self.list_all("tools/list", "tools").await?;
        self.inner().task_tools.learn(&tools, true);
        self.inner().output_schemas.learn(&tools, true);
        let tool = tools
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| unsupported(name, "the server does not list this tool".into()))?;
        if task_support(tool) == TaskSupport::Forbidden {
            return Err(unsupported(
                name,
                "its execution.taskSupport is \"forbidden\"".into(),
            ));
        }
        create_task(self, era, name, arguments, ttl, options).await
    }

    /// Every task the server reports (`tasks/list`, all pages; 2025-11-25 only — the 2026
    /// extension has no listing, which is [`Error::TaskUnsupported`]).
    pub async fn list_tasks(&self) -> Result<Vec<Task>, Error> {
        if self.era() == Some(Era::Stateless) {
            return Err(Error::TaskUnsupported {
                tool: "tasks/list".into(),
                reason: "the 2026-07-28 tasks extension has no tasks/list".into(),
            });
        }
        self.list_all("tasks/list", "tasks").await
    }

    /// One page of `tasks/list` (2025-11-25).
    pub async fn list_tasks_page(&self, cursor: Option<&str>) -> Result<Page<Task>, Error> {
        let params = cursor.map(|c| json!({ "cursor": c }));
        let value = self.request("tasks/list", params).await?;
        let result: ListTasksResult = serde_json::from_value(value)
            .map_err(|e| Error::protocol("tasks/list", e.to_string()))?;
        Ok(Page {
            items: result.tasks,
            next_cursor: result.next_cursor,
        })
    }
}
