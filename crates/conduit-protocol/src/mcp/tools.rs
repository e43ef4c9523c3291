//! Tools: listing and calling.
//!
//! Schemas (`inputSchema`, `outputSchema`) are carried verbatim as JSON objects: nothing is
//! rewritten, reordered or dereferenced (`$ref`, `$defs`, `$schema` and vendor keywords such as
//! `x-mcp-header` all survive).

use serde_json::Value;

use super::common::{CacheScope, Cursor, Icon, JsonObject, Meta, ResultType};
use super::content::ContentBlock;
use super::stateless::InputResponses;
use super::tasks::TaskMetadata;

string_enum! {
    /// Whether a tool may be called as a task (2025-11-25 `execution.taskSupport`).
    pub enum TaskSupport {
        /// Never as a task (the default when absent).
        Forbidden = "forbidden",
        /// Either way.
        Optional = "optional",
        /// Only as a task.
        Required = "required",
    }
}

wire_struct! {
    /// Hints about a tool's behaviour. Untrusted unless the server is trusted.
    #[derive(Default)]
    pub struct ToolAnnotations {
        ;
        /// A display title.
        opt title: String = "title",
        /// The tool does not modify its environment (default false).
        opt read_only_hint: bool = "readOnlyHint",
        /// The tool may destroy data (default true; meaningful when not read-only).
        opt destructive_hint: bool = "destructiveHint",
        /// Repeating a call has no further effect (default false).
        opt idempotent_hint: bool = "idempotentHint",
        /// The tool reaches an open world of external entities (default true).
        opt open_world_hint: bool = "openWorldHint",
    }
}

wire_struct! {
    /// Execution properties of a tool (2025-11-25).
    #[derive(Default)]
    pub struct ToolExecution {
        ;
        /// Task support; absent means forbidden.
        opt task_support: TaskSupport = "taskSupport",
    }
}

wire_struct! {
    /// A tool the client can call.
    pub struct Tool {
        /// The tool's name.
        req name: String = "name",
        /// JSON Schema of the arguments, verbatim.
        req input_schema: JsonObject = "inputSchema",
        ;
        /// A display name.
        opt title: String = "title",
        /// What the tool does.
        opt description: String = "description",
        /// JSON Schema of `structuredContent`, verbatim.
        opt output_schema: JsonObject = "outputSchema",
        /// Behaviour hints.
        opt annotations: ToolAnnotations = "annotations",
        /// Execution properties (2025-11-25).
        opt execution: ToolExecution = "execution",
        /// Icons.
        opt icons: Vec<Icon> = "icons",
        /// Metadata.
        opt meta: Meta = "_meta",
    }
}

impl Tool {
    /// The name to show a user: `title`, then `annotations.title`, then `name`.
    pub fn display_name(&self) -> &str {
        self.title
            .as_deref()
            .or_else(|| self.annotations.as_ref().and_then(|a| a.title.as_deref()))
            .unwrap_or(&self.name)
    }

    /// The declared task support (`forbidden` when absent).
    pub fn task_support(&self) -> TaskSupport {
        self.execution
            .as_ref()
            .and_then(|e| e.task_support.clone())
            .unwrap_or(TaskSupport::Forbidden)
    }

    /// `{"type":"object"}`: the input schema of a tool without parameters.
    pub fn empty_input_schema() -> JsonObject {
        let mut m = JsonObject::new();
        m.insert("type".into(), Value::String("object".into()));
        m
    }
}

wire_struct! {
    /// Result of `tools/list`.
    pub struct ListToolsResult {
        /// This page of tools.
        #[serde(default)]
        req tools: Vec<Tool> = "tools",
        ;
        /// The cursor for the next page; absent on the last page.
        opt next_cursor: Cursor = "nextCursor",
        /// Cache freshness hint in milliseconds (2026-07-28).
        opt ttl_ms: u64 = "ttlMs",
        /// Cache scope (2026-07-28).
        opt cache_scope: CacheScope = "cacheScope",
        /// `resultType` (2026-07-28).
        opt result_type: ResultType = "resultType",
        /// Metadata.
        opt meta: Meta = "_meta",
    }
}

wire_struct! {
    /// Parameters of `tools/call`.
    pub struct CallToolParams {
        /// The tool to call.
        req name: String = "name",
        ;
        /// The arguments.
        opt arguments: JsonObject = "arguments",
        /// Run as a task (2025-11-25; the server must declare `tasks.requests.tools.call`).
        opt task: TaskMetadata = "task",
        /// Answers to a previous `InputRequiredResult` (2026-07-28 retry).
        opt input_responses: InputResponses = "inputResponses",
        /// The opaque state echoed from a previous `InputRequiredResult` (2026-07-28 retry).
        opt request_state: String = "requestState",
        /// Request metadata.
        opt meta: Meta = "_meta",
    }
}

wire_struct! {
    /// Result of `tools/call`. A missing `content` (seen from some servers) parses as empty.
    pub struct CallToolResult {
        /// Unstructured result content.
        #[serde(default)]
        req content: Vec<ContentBlock> = "content",
        ;
        /// Structured result (an object up to 2025-11-25; any JSON value from 2026-07-28).
        opt structured_content: Value = "structuredContent",
        /// The tool reported an error (to be shown to the model, not a protocol error).
        opt is_error: bool = "isError",
        /// `resultType` (2026-07-28).
        opt result_type: ResultType = "resultType",
        /// Metadata.
        opt meta: Meta = "_meta",
    }
}

impl CallToolResult {
    /// Whether the tool reported an error.
    pub fn is_tool_error(&self) -> bool {
        self.is_error == Some(true)
    }
}
