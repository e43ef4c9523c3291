//! Prompts: listing and getting.

use super::common::{CacheScope, Cursor, Icon, JsonObject, Meta, ResultType, Role};
use super::content::ContentBlock;
use super::stateless::InputResponses;

wire_struct! {
    /// An argument a prompt accepts.
    pub struct PromptArgument {
        /// The argument's name.
        req name: String = "name",
        ;
        /// A display name.
        opt title: String = "title",
        /// What the argument is.
        opt description: String = "description",
        /// Whether it must be given.
        opt required: bool = "required",
    }
}

wire_struct! {
    /// A prompt or prompt template the server offers.
    pub struct Prompt {
        /// The prompt's name.
        req name: String = "name",
        ;
        /// A display name.
        opt title: String = "title",
        /// What the prompt provides.
        opt description: String = "description",
        /// The arguments it takes.
        opt arguments: Vec<PromptArgument> = "arguments",
        /// Icons.
        opt icons: Vec<Icon> = "icons",
        /// Metadata.
        opt meta: Meta = "_meta",
    }
}

wire_struct! {
    /// Result of `prompts/list`.
    pub struct ListPromptsResult {
        /// This page of prompts.
        #[serde(default)]
        req prompts: Vec<Prompt> = "prompts",
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
    /// Parameters of `prompts/get`.
    pub struct GetPromptParams {
        /// The prompt's name.
        req name: String = "name",
        ;
        /// Template arguments (string values).
        opt arguments: JsonObject = "arguments",
        /// Answers to a previous `InputRequiredResult` (2026-07-28 retry).
        opt input_responses: InputResponses = "inputResponses",
        /// The opaque state echoed from a previous `InputRequiredResult` (2026-07-28 retry).
        opt request_state: String = "requestState",
        /// Request metadata.
        opt meta: Meta = "_meta",
    }
}

wire_struct! {
    /// A message in a prompt.
    pub struct PromptMessage {
        /// Who speaks.
        req role: Role = "role",
        /// What is said.
        req content: ContentBlock = "content",
        ;
    }
}

wire_struct! {
    /// Result of `prompts/get`.
    pub struct GetPromptResult {
        /// The messages.
        #[serde(default)]
        req messages: Vec<PromptMessage> = "messages",
        ;
        /// A description of the prompt.
        opt description: String = "description",
        /// `resultType` (2026-07-28).
        opt result_type: ResultType = "resultType",
        /// Metadata.
        opt meta: Meta = "_meta",
    }
}
