//! The MCP features the gateway serves: one module per feature, each working on raw JSON.

pub(crate) mod client_asks;
pub(crate) mod completion;
pub(crate) mod hold;
pub(crate) mod pagination;
pub(crate) mod param_headers;
pub(crate) mod prompts;
pub(crate) mod resources;
pub(crate) mod subscriptions;
pub(crate) mod tasks;
pub(crate) mod tools;
pub(crate) mod url_elicitation;
