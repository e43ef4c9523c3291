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
//! the deadline of the call that created the task.
//!
//! The client advertises no client-side tasks capability: it does not accept task-augmented
//! requests from servers.

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

/// A task running on the server: the outcome of a task-augmented (2025-11-25) or task-returning
/// (2026-07-28) tool call. One type for both eras.
///
/// ```no_run
/// # async fn run(client: conduit::Client) -> Result<(), conduit::Error> {
/// let task = client
///     .call_tool_as_task("long_task", serde_json::json!({}), None)
///     .await?;
/// println!("task {} is {:?}", task.id(), task.status());
/// let result = task.wait().await?;
/// # let _ = result; Ok(()) }
/// ```
pub struct TaskHandle {
    client: Client,
    era: Era,
    tool: String,
    id: String,
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
    fn new(client: &Client, era: Era, tool: &str, id: String, timeout: Duration) -> TaskHandle {
        let wanted = id.clone();
        let updates = client.inner().hub.subscribe(move |n| match n {
            ServerNotification::TaskStatus(t) => t.task_id == wanted,
            ServerNotification::Tasks(t) => t.task_id == wanted,
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
        }
    }

    /// A 2025-11-25 handle from a `CreateTaskResult`'s task.
    pub(crate) fn from_task(client: &Client, tool: &str, task: Task, timeout: Duration) -> Self {
        let mut handle =
            TaskHandle::new(client, Era::Stateful, tool, task.task_id.clone(), timeout);
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
        let mut handle =
            TaskHandle::new(client, Era::Stateless, tool, task.task_id.clone(), timeout);
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

    /// The task's id.
    pub fn id(&self) -> &str {
        &self.id
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

    async fn task_request(&self, method: &str, mut params: Value) -> Result<Value, Error> {
        let timeout = self.remaining(method)?;
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
    pub async fn refresh(&mut self) -> Result<TaskStatus, Error> {
        let value = self
            .task_request("tasks/get", json!({ "taskId": self.id }))
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
        if got != self.id {
            return Err(Error::protocol(
                method,
                format!("asked about task {:?}, got task {got:?}", self.id),
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
    /// terminal, then (2025-11-25) fetches the result with `tasks/result`; a 2026 task carries
    /// it inline. A failed task is the server's error, a cancelled one [`Error::Cancelled`],
    /// and the whole wait is bounded by [`TaskHandle::deadline`].
    pub async fn wait(mut self) -> Result<CallToolResult, Error> {
        loop {
            self.drain_updates();
            let inline = self.result.is_some() || self.error.is_some();
            if self.status.is_terminal() && self.era == Era::Stateless && inline {
                break;
            }
            if self.status.is_terminal() {
                // A notification is a hint: confirm with the server before trusting it.
                self.refresh().await?;
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
            if self.refresh().await?.is_terminal() {
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
                self.task_request("tasks/result", json!({ "taskId": self.id }))
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
                            format!("task {} failed without an error", self.id),
                        ))
                    }
                    None => {
                        return Err(Error::protocol(
                            "tasks/get",
                            format!("completed task {} carries no result", self.id),
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
            json!({ "taskId": self.id, "inputResponses": Value::Object(retry.input_responses) }),
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
    /// status afterwards. Cancelling a task that already finished is the server's error.
    pub async fn cancel(&mut self) -> Result<TaskStatus, Error> {
        let value = self
            .task_request("tasks/cancel", json!({ "taskId": self.id }))
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
        let unsupported = |reason: String| Error::TaskUnsupported {
            tool: name.to_owned(),
            reason,
        };
        let era = self.era().ok_or(Error::Closed)?;
        let capabilities = self.server_capabilities().unwrap_or_default();
        match era {
            Era::Stateful => {
                if !capabilities
                    .tasks
                    .as_ref()
                    .is_some_and(|t| t.supports_tool_call())
                {
                    return Err(unsupported(
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
                    return Err(unsupported(format!(
                        "the server does not declare the {TASKS_EXTENSION} extension"
                    )));
                }
            }
        }
        let tools: Vec<Tool> = self.list_all("tools/list", "tools").await?;
        let tool = tools
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| unsupported("the server does not list this tool".into()))?;
        let support = tool
            .execution
            .as_ref()
            .and_then(|e| e.task_support.clone())
            .unwrap_or(TaskSupport::Forbidden);
        if support == TaskSupport::Forbidden {
            return Err(unsupported(
                "its execution.taskSupport is \"forbidden\"".into(),
            ));
        }
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
                params.insert("_meta".into(), opt_in_meta(self));
            }
        }
        let timeout = options.timeout.unwrap_or(self.settings().timeout);
        let value = self
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
                Ok(TaskHandle::from_task(self, name, created.task, timeout))
            }
            Era::Stateless => {
                if is_task_result(&value) {
                    return TaskHandle::from_detailed(self, name, value, timeout);
                }
                // The server answered at once (allowed): a handle that is already done.
                let Value::Object(result) = value else {
                    return Err(Error::protocol("tools/call", "the result is not an object"));
                };
                let mut handle =
                    TaskHandle::new(self, Era::Stateless, name, String::new(), timeout);
                handle.status = TaskStatus::Completed;
                handle.result = Some(result);
                Ok(handle)
            }
        }
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
