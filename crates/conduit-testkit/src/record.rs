//! The request log.

use serde_json::Value;

/// One HTTP request as the gateway received it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// The HTTP method, e.g. `"POST"`.
    pub http_method: String,
    /// The request path, without the query string, e.g. `"/mcp"`.
    pub path: String,
    /// Every header in arrival order; names are lower-case, values lossily decoded as UTF-8.
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON, if it was non-empty valid JSON.
    pub body: Option<Value>,
    /// The JSON-RPC `method` of the body, if it has one.
    pub rpc_method: Option<String>,
}

impl RecordedRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the request was a POST of JSON-RPC method `method`.
    pub fn is_rpc(&self, method: &str) -> bool {
        self.rpc_method.as_deref() == Some(method)
    }

    /// The JSON-RPC `params` of the body, if any.
    pub fn params(&self) -> Option<&Value> {
        self.body.as_ref().and_then(|b| b.get("params"))
    }
}
