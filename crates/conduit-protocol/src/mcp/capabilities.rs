//! Client and server capabilities (both eras).
//!
//! A capability that the spec types as a bare `object` is a [`JsonObject`]: present (usually
//! `{}`) means supported. `extensions` (2026-07-28) maps extension identifiers such as
//! [`TASKS_EXTENSION`](crate::mcp::TASKS_EXTENSION) to their settings objects.

use super::common::JsonObject;

wire_struct! {
    /// `roots`: the client can list filesystem roots.
    #[derive(Default)]
    pub struct RootsCapability {
        ;
        /// The client sends `notifications/roots/list_changed` (stateful era only).
        opt list_changed: bool = "listChanged",
    }
}

wire_struct! {
    /// `sampling`: the client can sample from an LLM for the server.
    #[derive(Default)]
    pub struct SamplingCapability {
        ;
        /// The client honours `includeContext` values other than `"none"`.
        opt context: JsonObject = "context",
        /// The client supports `tools` and `toolChoice` in sampling requests.
        opt tools: JsonObject = "tools",
    }
}

wire_struct! {
    /// `elicitation`: the client can ask its user for input. An empty object means form mode.
    #[derive(Default)]
    pub struct ElicitationCapability {
        ;
        /// Form mode (in-client form built from a schema).
        opt form: JsonObject = "form",
        /// URL mode (the user visits a URL out of band).
        opt url: JsonObject = "url",
    }
}

impl ElicitationCapability {
    /// Whether form mode is declared (explicitly, or implicitly by an empty capability).
    pub fn supports_form(&self) -> bool {
        self.form.is_some() || (self.url.is_none() && self.extra.is_empty())
    }

    /// Whether URL mode is declared.
    pub fn supports_url(&self) -> bool {
        self.url.is_some()
    }
}

wire_struct! {
    /// `tasks.requests.sampling` in client capabilities (2025-11-25).
    #[derive(Default)]
    pub struct SamplingTaskCapability {
        ;
        /// Task-augmented `sampling/createMessage` is supported.
        opt create_message: JsonObject = "createMessage",
    }
}

wire_struct! {
    /// `tasks.requests.elicitation` in client capabilities (2025-11-25).
    #[derive(Default)]
    pub struct ElicitationTaskCapability {
        ;
        /// Task-augmented `elicitation/create` is supported.
        opt create: JsonObject = "create",
    }
}

wire_struct! {
    /// `tasks.requests` in client capabilities (2025-11-25).
    #[derive(Default)]
    pub struct ClientTaskRequests {
        ;
        /// Sampling requests that may be task-augmented.
        opt sampling: SamplingTaskCapability = "sampling",
        /// Elicitation requests that may be task-augmented.
        opt elicitation: ElicitationTaskCapability = "elicitation",
    }
}

wire_struct! {
    /// `tasks` in client capabilities (2025-11-25).
    #[derive(Default)]
    pub struct ClientTasksCapability {
        ;
        /// The client answers `tasks/list`.
        opt list: JsonObject = "list",
        /// The client answers `tasks/cancel`.
        opt cancel: JsonObject = "cancel",
        /// Which server requests may be task-augmented.
        opt requests: ClientTaskRequests = "requests",
    }
}

wire_struct! {
    /// What a client supports: sent in `initialize` (stateful era) or in every request's
    /// `_meta` under `io.modelcontextprotocol/clientCapabilities` (stateless era).
    #[derive(Default)]
    pub struct ClientCapabilities {
        ;
        /// Non-standard capabilities.
        opt experimental: JsonObject = "experimental",
        /// Roots.
        opt roots: RootsCapability = "roots",
        /// Sampling.
        opt sampling: SamplingCapability = "sampling",
        /// Elicitation.
        opt elicitation: ElicitationCapability = "elicitation",
        /// Tasks (2025-11-25).
        opt tasks: ClientTasksCapability = "tasks",
        /// Extensions by identifier (2026-07-28).
        opt extensions: JsonObject = "extensions",
    }
}

wire_struct! {
    /// `prompts` in server capabilities.
    #[derive(Default)]
    pub struct PromptsCapability {
        ;
        /// The server sends `notifications/prompts/list_changed`.
        opt list_changed: bool = "listChanged",
    }
}

wire_struct! {
    /// `resources` in server capabilities.
    #[derive(Default)]
    pub struct ResourcesCapability {
        ;
        /// The server supports `resources/subscribe` (stateful) or `resourceSubscriptions`
        /// (stateless).
        opt subscribe: bool = "subscribe",
        /// The server sends `notifications/resources/list_changed`.
        opt list_changed: bool = "listChanged",
    }
}

wire_struct! {
    /// `tools` in server capabilities.
    #[derive(Default)]
    pub struct ToolsCapability {
        ;
        /// The server sends `notifications/tools/list_changed`.
        opt list_changed: bool = "listChanged",
    }
}

wire_struct! {
    /// `tasks.requests.tools` in server capabilities (2025-11-25).
    #[derive(Default)]
    pub struct ToolsTaskCapability {
        ;
        /// Task-augmented `tools/call` is supported.
        opt call: JsonObject = "call",
    }
}

wire_struct! {
    /// `tasks.requests` in server capabilities (2025-11-25).
    #[derive(Default)]
    pub struct ServerTaskRequests {
        ;
        /// Tool requests that may be task-augmented.
        opt tools: ToolsTaskCapability = "tools",
    }
}

wire_struct! {
    /// `tasks` in server capabilities (2025-11-25).
    #[derive(Default)]
    pub struct ServerTasksCapability {
        ;
        /// The server answers `tasks/list`.
        opt list: JsonObject = "list",
        /// The server answers `tasks/cancel`.
        opt cancel: JsonObject = "cancel",
        /// Which client requests may be task-augmented.
        opt requests: ServerTaskRequests = "requests",
    }
}

impl ServerTasksCapability {
    /// Whether `tools/call` may be task-augmented.
    pub fn supports_tool_call(&self) -> bool {
        self.requests
            .as_ref()
            .and_then(|r| r.tools.as_ref())
            .is_some_and(|t| t.call.is_some())
    }
}

wire_struct! {
    /// What a server supports: from `initialize` (stateful) or `server/discover` (stateless).
    #[derive(Default)]
    pub struct ServerCapabilities {
        ;
        /// Non-standard capabilities.
        opt experimental: JsonObject = "experimental",
        /// The server sends log messages.
        opt logging: JsonObject = "logging",
        /// The server answers `completion/complete`.
        opt completions: JsonObject = "completions",
        /// Prompts.
        opt prompts: PromptsCapability = "prompts",
        /// Resources.
        opt resources: ResourcesCapability = "resources",
        /// Tools.
        opt tools: ToolsCapability = "tools",
        /// Tasks (2025-11-25).
        opt tasks: ServerTasksCapability = "tasks",
        /// Extensions by identifier (2026-07-28).
        opt extensions: JsonObject = "extensions",
    }
}

impl ServerCapabilities {
    /// Whether the server declares the extension `id` (2026-07-28).
    pub fn has_extension(&self, id: &str) -> bool {
        self.extensions.as_ref().is_some_and(|e| e.contains_key(id))
    }
}

impl ClientCapabilities {
    /// Whether the client declares the extension `id` (2026-07-28).
    pub fn has_extension(&self, id: &str) -> bool {
        self.extensions.as_ref().is_some_and(|e| e.contains_key(id))
    }
}
