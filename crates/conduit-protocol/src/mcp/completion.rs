//! Argument completion (`completion/complete`).

use super::common::{JsonObject, Meta, ResultType};

wire_struct! {
    /// `ref/prompt`: completes an argument of a prompt.
    pub struct PromptReference {
        /// The prompt's name.
        req name: String = "name",
        ;
        /// A display name.
        opt title: String = "title",
    }
}

wire_struct! {
    /// `ref/resource`: completes a variable of a resource template.
    pub struct ResourceTemplateReference {
        /// The resource URI or URI template.
        req uri: String = "uri",
        ;
    }
}

tagged_enum! {
    /// What is being completed.
    pub enum CompletionReference tag "type" {
        /// A prompt argument.
        Prompt(PromptReference) = "ref/prompt",
        /// A resource template variable.
        Resource(ResourceTemplateReference) = "ref/resource",
    }
}

wire_struct! {
    /// The argument being completed.
    pub struct CompletionArgument {
        /// Its name.
        req name: String = "name",
        /// What has been typed so far.
        req value: String = "value",
        ;
    }
}

wire_struct! {
    /// Context for a completion.
    #[derive(Default)]
    pub struct CompletionContext {
        ;
        /// Arguments or variables already resolved (string values).
        opt arguments: JsonObject = "arguments",
    }
}

wire_struct! {
    /// Parameters of `completion/complete`.
    pub struct CompleteParams {
        /// What is being completed.
        req reference: CompletionReference = "ref",
        /// The argument being completed.
        req argument: CompletionArgument = "argument",
        ;
        /// Already-resolved arguments.
        opt context: CompletionContext = "context",
        /// Request metadata.
        opt meta: Meta = "_meta",
    }
}

wire_struct! {
    /// The completion values.
    #[derive(Default)]
    pub struct Completion {
        /// Suggestions (at most 100).
        #[serde(default)]
        req values: Vec<String> = "values",
        ;
        /// How many suggestions exist in total.
        opt total: u64 = "total",
        /// Whether more exist beyond `values`.
        opt has_more: bool = "hasMore",
    }
}

wire_struct! {
    /// Result of `completion/complete`.
    pub struct CompleteResult {
        /// The suggestions.
        req completion: Completion = "completion",
        ;
        /// `resultType` (2026-07-28).
        opt result_type: ResultType = "resultType",
        /// Metadata.
        opt meta: Meta = "_meta",
    }
}
