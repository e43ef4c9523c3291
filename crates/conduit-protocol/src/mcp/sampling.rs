//! Sampling: the server asks the client's LLM for a message (`sampling/createMessage`).
//! Deprecated in 2026-07-28, where it travels as an input request.

use super::common::{JsonObject, Meta, ResultType, Role};
use super::content::SamplingContentList;
use super::tasks::TaskMetadata;
use super::tools::Tool;

string_enum! {
    /// Which servers' context to include (`"thisServer"` and `"allServers"` are deprecated).
    pub enum IncludeContext {
        /// None.
        None = "none",
        /// The requesting server's.
        ThisServer = "thisServer",
        /// Every connected server's.
        AllServers = "allServers",
    }
}

string_enum! {
    /// How the model may use tools during sampling.
    pub enum ToolChoiceMode {
        /// The model decides (default).
        Auto = "auto",
        /// The model must use at least one tool.
        Required = "required",
        /// The model must not use tools.
        None = "none",
    }
}

string_enum! {
    /// Why sampling stopped (an open set).
    pub enum StopReason {
        /// The turn ended naturally.
        EndTurn = "endTurn",
        /// A stop sequence was hit.
        StopSequence = "stopSequence",
        /// The token limit was hit.
        MaxTokens = "maxTokens",
        /// The model wants to call tools.
        ToolUse = "toolUse",
    }
}

wire_struct! {
    /// A hint for model selection.
    #[derive(Default)]
    pub struct ModelHint {
        ;
        /// A (sub)string of a model name.
        opt name: String = "name",
    }
}

wire_struct! {
    /// The server's advisory model preferences.
    #[derive(Default)]
    pub struct ModelPreferences {
        ;
        /// Hints, evaluated in order.
        opt hints: Vec<ModelHint> = "hints",
        /// Weight of cost, 0 to 1.
        #[serde(serialize_with = "crate::mcp::common::num::opt")]
        opt cost_priority: f64 = "costPriority",
        /// Weight of speed, 0 to 1.
        #[serde(serialize_with = "crate::mcp::common::num::opt")]
        opt speed_priority: f64 = "speedPriority",
        /// Weight of intelligence, 0 to 1.
        #[serde(serialize_with = "crate::mcp::common::num::opt")]
        opt intelligence_priority: f64 = "intelligencePriority",
    }
}

wire_struct! {
    /// Tool use policy for sampling (2025-11-25 on).
    #[derive(Default)]
    pub struct ToolChoice {
        ;
        /// The mode; absent means auto.
        opt mode: ToolChoiceMode = "mode",
    }
}

wire_struct! {
    /// A message to or from the model.
    pub struct SamplingMessage {
        /// Who speaks.
        req role: Role = "role",
        /// One block or several.
        req content: SamplingContentList = "content",
        ;
        /// Metadata.
        opt meta: Meta = "_meta",
    }
}

wire_struct! {
    /// Parameters of `sampling/createMessage`.
    pub struct CreateMessageParams {
        /// The conversation.
        #[serde(default)]
        req messages: Vec<SamplingMessage> = "messages",
        /// The most tokens to sample.
        req max_tokens: u64 = "maxTokens",
        ;
        /// Model preferences.
        opt model_preferences: ModelPreferences = "modelPreferences",
        /// A system prompt the client may use.
        opt system_prompt: String = "systemPrompt",
        /// Context inclusion.
        opt include_context: IncludeContext = "includeContext",
        /// Sampling temperature.
        #[serde(serialize_with = "crate::mcp::common::num::opt")]
        opt temperature: f64 = "temperature",
        /// Stop sequences.
        opt stop_sequences: Vec<String> = "stopSequences",
        /// Provider-specific metadata.
        opt metadata: JsonObject = "metadata",
        /// Tools the model may use (requires `sampling.tools`).
        opt tools: Vec<Tool> = "tools",
        /// Tool use policy (requires `sampling.tools`).
        opt tool_choice: ToolChoice = "toolChoice",
        /// Run as a task (2025-11-25).
        opt task: TaskMetadata = "task",
        /// Request metadata.
        opt meta: Meta = "_meta",
    }
}

wire_struct! {
    /// Result of `sampling/createMessage`.
    pub struct CreateMessageResult {
        /// Who speaks (normally the assistant).
        req role: Role = "role",
        /// One block or several.
        req content: SamplingContentList = "content",
        /// The model that produced it.
        req model: String = "model",
        ;
        /// Why sampling stopped.
        opt stop_reason: StopReason = "stopReason",
        /// `resultType` (2026-07-28).
        opt result_type: ResultType = "resultType",
        /// Metadata.
        opt meta: Meta = "_meta",
    }
}
