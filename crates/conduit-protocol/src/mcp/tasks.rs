//! Tasks: long-running requests polled for their outcome.
//!
//! Two shapes exist:
//! * **2025-11-25 core tasks** ([`Task`], [`CreateTaskResult`], `tasks/get`, `tasks/result`,
//!   `tasks/list`, `tasks/cancel`, `notifications/tasks/status`). The requester opts in with
//!   [`TaskMetadata`] in the request's `task` member.
//! * **2026-07-28 tasks extension** (`io.modelcontextprotocol/tasks`, SEP-2663):
//!   [`DetailedTask`], returned unsolicited with `resultType: "task"`, polled with `tasks/get`,
//!   fed with `tasks/update`, cancelled with `tasks/cancel`, and reported by
//!   `notifications/tasks`. The extension schema is not part of the core specification snapshot;
//!   its shapes here follow the published extension schema.

use crate::jsonrpc::ErrorObject;

use super::common::{Cursor, JsonObject, Meta, ResultType};
use super::stateless::{InputRequests, InputResponses};

/// The extension identifier of the 2026 tasks extension, as declared in `capabilities.extensions`.
pub const TASKS_EXTENSION: &str = "io.modelcontextprotocol/tasks";

string_enum! {
    /// The state of a task.
    pub enum TaskStatus {
        /// Running.
        Working = "working",
        /// Waiting for input from the requester.
        InputRequired = "input_required",
        /// Finished successfully (terminal).
        Completed = "completed",
        /// Failed (terminal).
        Failed = "failed",
        /// Cancelled (terminal).
        Cancelled = "cancelled",
    }
}

impl TaskStatus {
    /// Whether the task can no longer change state.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            TaskStatus::Completed | TaskStatus::Failed | TaskStatus::Cancelled
        )
    }
}

wire_struct! {
    /// The `task` member of a task-augmented request (2025-11-25).
    #[derive(Default)]
    pub struct TaskMetadata {
        ;
        /// Requested retention from creation, in milliseconds.
        opt ttl: u64 = "ttl",
    }
}

wire_struct! {
    /// The value of `_meta["io.modelcontextprotocol/related-task"]` (2025-11-25).
    pub struct RelatedTaskMetadata {
        /// The task the message belongs to.
        req task_id: String = "taskId",
        ;
    }
}

wire_struct! {
    /// A task (2025-11-25). Also the result of `tasks/get` and `tasks/cancel` and the params of
    /// `notifications/tasks/status`, which is why it carries an optional `_meta`.
    pub struct Task {
        /// The task's id.
        req task_id: String = "taskId",
        /// Its state.
        req status: TaskStatus = "status",
        /// Creation time (ISO 8601).
        req created_at: String = "createdAt",
        /// Last update time (ISO 8601).
        req last_updated_at: String = "lastUpdatedAt",
        /// Retention from creation in milliseconds; `None` (`null`) means unlimited.
        #[serde(default)]
        req ttl: Option<u64> = "ttl",
        ;
        /// A human-readable description of the state.
        opt status_message: String = "statusMessage",
        /// Suggested polling interval in milliseconds.
        opt poll_interval: u64 = "pollInterval",
        /// Metadata (when the task is a result or notification params).
        opt meta: Meta = "_meta",
    }
}

/// Result of `tasks/get` (2025-11-25): the task itself.
pub type GetTaskResult = Task;
/// Result of `tasks/cancel` (2025-11-25): the task itself.
pub type CancelTaskResult = Task;
/// Params of `notifications/tasks/status` (2025-11-25): the task itself.
pub type TaskStatusNotificationParams = Task;
/// Result of `tasks/result` (2025-11-25): exactly the result the underlying request would have
/// had (e.g. a `CallToolResult`), so it is kept as a raw object.
pub type GetTaskPayloadResult = JsonObject;

wire_struct! {
    /// The result of a task-augmented request (2025-11-25).
    pub struct CreateTaskResult {
        /// The new task.
        req task: Task = "task",
        ;
        /// `resultType`.
        opt result_type: ResultType = "resultType",
        /// Metadata.
        opt meta: Meta = "_meta",
    }
}

wire_struct! {
    /// Parameters of `tasks/get`, `tasks/result` and `tasks/cancel` (both shapes).
    pub struct TaskIdParams {
        /// The task.
        req task_id: String = "taskId",
        ;
        /// Request metadata.
        opt meta: Meta = "_meta",
    }
}

wire_struct! {
    /// Result of `tasks/list` (2025-11-25).
    pub struct ListTasksResult {
        /// This page of tasks.
        #[serde(default)]
        req tasks: Vec<Task> = "tasks",
        ;
        /// The cursor for the next page; absent on the last page.
        opt next_cursor: Cursor = "nextCursor",
        /// `resultType`.
        opt result_type: ResultType = "resultType",
        /// Metadata.
        opt meta: Meta = "_meta",
    }
}

wire_struct! {
    /// A task in the 2026 tasks extension, with its status-specific members inlined.
    ///
    /// One shape serves as the task handle returned in place of a result (`resultType: "task"`),
    /// the result of `tasks/get` (`resultType: "complete"`), and the params of
    /// `notifications/tasks`.
    pub struct DetailedTask {
        /// The task's id.
        req task_id: String = "taskId",
        /// Its state.
        req status: TaskStatus = "status",
        /// Creation time (ISO 8601).
        req created_at: String = "createdAt",
        /// Last update time (ISO 8601).
        req last_updated_at: String = "lastUpdatedAt",
        /// Retention from creation in milliseconds; `None` (`null`) means unlimited.
        #[serde(default)]
        req ttl_ms: Option<u64> = "ttlMs",
        ;
        /// A human-readable description of the state.
        opt status_message: String = "statusMessage",
        /// Suggested polling interval in milliseconds.
        opt poll_interval_ms: u64 = "pollIntervalMs",
        /// `input_required`: what the server needs (answer with `tasks/update`).
        opt input_requests: InputRequests = "inputRequests",
        /// `completed`: the underlying request's result.
        opt result: JsonObject = "result",
        /// `failed`: the JSON-RPC error the underlying request ended with.
        opt error: ErrorObject = "error",
        /// `resultType`: `"task"` for a handle, `"complete"` for `tasks/get`.
        opt result_type: ResultType = "resultType",
        /// Metadata.
        opt meta: Meta = "_meta",
    }
}

/// The task handle a server returns in place of a result (tasks extension).
pub type TaskHandle = DetailedTask;
/// Params of `notifications/tasks` (tasks extension).
pub type TaskNotificationParams = DetailedTask;

wire_struct! {
    /// Parameters of `tasks/update` (tasks extension): answers for an `input_required` task.
    pub struct UpdateTaskParams {
        /// The task.
        req task_id: String = "taskId",
        /// Answers keyed like the task's `inputRequests`.
        req input_responses: InputResponses = "inputResponses",
        ;
        /// Request metadata.
        opt meta: Meta = "_meta",
    }
}
