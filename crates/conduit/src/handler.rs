//! What a server may ask of the client — roots, sampling, elicitation (form and URL mode) and
//! ping — and the one place that answers it, in both eras.
//!
//! * Stateful era (2025-11-25): the questions arrive as JSON-RPC requests on a POST's SSE stream
//!   or on the GET stream; the dispatcher in `client.rs` hands them to `fulfil` and sends the
//!   answer back with the transport's `respond`.
//! * Stateless era (2026-07-28): they arrive as the `inputRequests` of an `input_required`
//!   result; [`crate::mrtr`] hands each to `fulfil` and retries the original request.
//!
//! Implement [`ClientHandler`] (every method has a default), or give the builder closures
//! ([`ClientBuilder::on_sampling`](crate::ClientBuilder::on_sampling) and friends), which are
//! collected into a [`Handlers`]. Only what a handler declares in
//! [`ClientHandler::capabilities`] is advertised to the server, and only that is answered:
//! anything else gets `-32601` (method not found), or `-32602` for an elicitation mode that
//! was not declared. A sampling conversation that breaks the spec's tool-use constraints is
//! refused with `-32602` before the handler sees it, and an accepted form answer that does
//! not match its `requestedSchema` is not sent (see [`crate::validate`]).

use std::future::Future;
use std::sync::Arc;

use conduit_protocol::jsonrpc::ErrorObject;
use conduit_protocol::mcp::{
    methods, ClientCapabilities, CreateMessageParams, CreateMessageResult, ElicitAction,
    ElicitFormParams, ElicitRequestParams, ElicitResult, ElicitUrlParams, ElicitationCapability,
    JsonObject, ListRootsResult, Root, RootsCapability, SamplingCapability,
};
use conduit_transport::BoxFuture;
use serde_json::Value;

/// The future a handler method returns.
pub type HandlerFuture<'a, T> = BoxFuture<'a, Result<T, ErrorObject>>;

/// Answers what a server asks of the client. Every method has a default that refuses with
/// method-not-found; override the ones you support **and** declare them in
/// [`ClientHandler::capabilities`] — the client advertises exactly those capabilities and
/// refuses the rest on the wire, whatever the methods do.
///
/// ```
/// use conduit::handler::{ClientHandler, HandlerFuture};
/// use conduit::protocol::mcp::{ClientCapabilities, ListRootsResult, Root, RootsCapability};
///
/// struct MyRoots;
/// impl ClientHandler for MyRoots {
///     fn capabilities(&self) -> ClientCapabilities {
///         ClientCapabilities::new().roots(RootsCapability::new())
///     }
///     fn list_roots(&self) -> HandlerFuture<'_, ListRootsResult> {
///         Box::pin(async { Ok(ListRootsResult::new(vec![Root::new("file:///work")])) })
///     }
/// }
/// ```
pub trait ClientHandler: Send + Sync + 'static {
    /// What this handler answers; sent to the server (`initialize` or every stateless request's
    /// `_meta`). Default: nothing.
    fn capabilities(&self) -> ClientCapabilities {
        ClientCapabilities::default()
    }

    /// `roots/list`.
    fn list_roots(&self) -> HandlerFuture<'_, ListRootsResult> {
        Box::pin(async { Err(ErrorObject::method_not_found(methods::ROOTS_LIST)) })
    }

    /// `sampling/createMessage`. `params.tools` is only present when the capabilities declare
    /// `sampling.tools`.
    fn create_message(
        &self,
        params: CreateMessageParams,
    ) -> HandlerFuture<'_, CreateMessageResult> {
        let _ = params;
        Box::pin(async {
            Err(ErrorObject::method_not_found(
                methods::SAMPLING_CREATE_MESSAGE,
            ))
        })
    }

    /// `elicitation/create` in form mode. Return the user's answers; omitted fields are filled
    /// from the schema's defaults when [`ClientHandler::apply_elicitation_defaults`] is true.
    fn elicit_form(&self, params: ElicitFormParams) -> HandlerFuture<'_, ElicitResult> {
        let _ = params;
        Box::pin(async { Err(ErrorObject::method_not_found(methods::ELICITATION_CREATE)) })
    }

    /// `elicitation/create` in URL mode: the consent hook. Show the user the full URL and ask
    /// whether to go there; open it (or not) yourself — the client never opens or fetches it.
    /// Answer `accept` once the user consented, `decline` or `cancel` otherwise.
    fn elicit_url(&self, params: ElicitUrlParams) -> HandlerFuture<'_, ElicitResult> {
        let _ = params;
        Box::pin(async { Err(ErrorObject::method_not_found(methods::ELICITATION_CREATE)) })
    }

    /// Whether accepted form answers get the `default` of every property they omit (SEP-1034).
    /// Default: false.
    fn apply_elicitation_defaults(&self) -> bool {
        false
    }
}

/// A user handler, shown in `Debug` output by name only.
#[derive(Clone)]
pub(crate) struct SharedHandler(pub(crate) Arc<dyn ClientHandler>);

impl std::fmt::Debug for SharedHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientHandler")
    }
}

/// A handler that answers nothing (the default of every client).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHandler;

impl ClientHandler for NoHandler {}

type RootsFn = dyn Fn() -> HandlerFuture<'static, ListRootsResult> + Send + Sync;
type SamplingFn =
    dyn Fn(CreateMessageParams) -> HandlerFuture<'static, CreateMessageResult> + Send + Sync;
type FormFn = dyn Fn(ElicitFormParams) -> HandlerFuture<'static, ElicitResult> + Send + Sync;
type UrlFn = dyn Fn(ElicitUrlParams) -> HandlerFuture<'static, ElicitResult> + Send + Sync;

/// A [`ClientHandler`] assembled from closures; its capabilities are exactly the closures set.
/// The builder's `on_*` methods fill one in.
#[derive(Clone, Default)]
pub struct Handlers {
    roots: Option<Arc<RootsFn>>,
    sampling: Option<Arc<SamplingFn>>,
    sampling_tools: bool,
    form: Option<Arc<FormFn>>,
    url: Option<Arc<UrlFn>>,
    apply_defaults: bool,
}

impl std::fmt::Debug for Handlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handlers")
            .field("roots", &self.roots.is_some())
            .field("sampling", &self.sampling.is_some())
            .field("sampling_tools", &self.sampling_tools)
            .field("elicitation_form", &self.form.is_some())
            .field("elicitation_url", &self.url.is_some())
            .field("apply_defaults", &self.apply_defaults)
            .finish()
    }
}

impl Handlers {
    /// No handlers.
    pub fn new() -> Self {
        Handlers::default()
    }

    /// Whether no handler is set.
    pub fn is_empty(&self) -> bool {
        self.roots.is_none() && self.sampling.is_none() && self.form.is_none() && self.url.is_none()
    }

    /// Answers `roots/list` with a fixed list.
    pub fn roots(self, roots: Vec<Root>) -> Self {
        self.on_roots(move || {
            let roots = roots.clone();
            async move { Ok(ListRootsResult::new(roots)) }
        })
    }

    /// Answers `roots/list`.
    pub fn on_roots<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ListRootsResult, ErrorObject>> + Send + 'static,
    {
        self.roots = Some(Arc::new(move || Box::pin(f())));
        self
    }

    /// Answers `sampling/createMessage`. With `tools` true the client declares `sampling.tools`
    /// and the server may include tools in its requests.
    pub fn on_sampling<F, Fut>(mut self, tools: bool, f: F) -> Self
    where
        F: Fn(CreateMessageParams) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<CreateMessageResult, ErrorObject>> + Send + 'static,
    {
        self.sampling = Some(Arc::new(move |p| Box::pin(f(p))));
        self.sampling_tools = tools;
        self
    }

    /// Answers form-mode `elicitation/create`.
    pub fn on_elicitation<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(ElicitFormParams) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ElicitResult, ErrorObject>> + Send + 'static,
    {
        self.form = Some(Arc::new(move |p| Box::pin(f(p))));
        self
    }

    /// The consent hook for URL-mode `elicitation/create` (see [`ClientHandler::elicit_url`]).
    pub fn on_url_elicitation<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(ElicitUrlParams) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ElicitResult, ErrorObject>> + Send + 'static,
    {
        self.url = Some(Arc::new(move |p| Box::pin(f(p))));
        self
    }

    /// Fills omitted form answers from the schema's defaults (SEP-1034).
    pub fn apply_elicitation_defaults(mut self, on: bool) -> Self {
        self.apply_defaults = on;
        self
    }
}

impl ClientHandler for Handlers {
    fn capabilities(&self) -> ClientCapabilities {
        let mut caps = ClientCapabilities::default();
        if self.roots.is_some() {
            caps.roots = Some(RootsCapability::default());
        }
        if self.sampling.is_some() {
            let mut s = SamplingCapability::default();
            if self.sampling_tools {
                s.tools = Some(JsonObject::new());
            }
            caps.sampling = Some(s);
        }
        if self.form.is_some() || self.url.is_some() {
            let mut e = ElicitationCapability::default();
            if self.form.is_some() {
                e.form = Some(JsonObject::new());
            }
            if self.url.is_some() {
                e.url = Some(JsonObject::new());
            }
            caps.elicitation = Some(e);
        }
        caps
    }

    fn list_roots(&self) -> HandlerFuture<'_, ListRootsResult> {
        match &self.roots {
            Some(f) => f(),
            None => Box::pin(async { Err(ErrorObject::method_not_found(methods::ROOTS_LIST)) }),
        }
    }

    fn create_message(
        &self,
        params: CreateMessageParams,
    ) -> HandlerFuture<'_, CreateMessageResult> {
        match &self.sampling {
            Some(f) => f(params),
            None => Box::pin(async {
                Err(ErrorObject::method_not_found(
                    methods::SAMPLING_CREATE_MESSAGE,
                ))
            }),
        }
    }

    fn elicit_form(&self, params: ElicitFormParams) -> HandlerFuture<'_, ElicitResult> {
        match &self.form {
            Some(f) => f(params),
            None => {
                Box::pin(async { Err(ErrorObject::method_not_found(methods::ELICITATION_CREATE)) })
            }
        }
    }

    fn elicit_url(&self, params: ElicitUrlParams) -> HandlerFuture<'_, ElicitResult> {
        match &self.url {
            Some(f) => f(params),
            None => {
                Box::pin(async { Err(ErrorObject::method_not_found(methods::ELICITATION_CREATE)) })
            }
        }
    }

    fn apply_elicitation_defaults(&self) -> bool {
        self.apply_defaults
    }
}

fn parse<T: serde::de::DeserializeOwned>(
    method: &str,
    params: Option<Value>,
) -> Result<T, ErrorObject> {
    let v = match params {
        None | Some(Value::Null) => Value::Object(serde_json::Map::new()),
        Some(v) => v,
    };
    serde_json::from_value(v)
        .map_err(|e| ErrorObject::invalid_params(format!("malformed `{method}` params: {e}")))
}

fn encode<T: serde::Serialize>(v: &T) -> Result<Value, ErrorObject> {
    serde_json::to_value(v).map_err(ErrorObject::internal)
}

/// Answers one server question (`method` + `params`) with `handler`, refusing what
/// `capabilities` does not declare. The same in both eras: the result is the JSON-RPC result
/// (stateful) or the `inputResponses` entry (stateless).
pub(crate) async fn fulfil(
    handler: &dyn ClientHandler,
    capabilities: &ClientCapabilities,
    method: &str,
    params: Option<Value>,
) -> Result<Value, ErrorObject> {
    match method {
        methods::PING => Ok(Value::Object(serde_json::Map::new())),
        methods::ROOTS_LIST if capabilities.roots.is_some() => encode(&handler.list_roots().await?),
        methods::SAMPLING_CREATE_MESSAGE if capabilities.sampling.is_some() => {
            let p: CreateMessageParams = parse(method, params)?;
            let tools_declared = capabilities
                .sampling
                .as_ref()
                .is_some_and(|s| s.tools.is_some());
            if !tools_declared && (p.tools.is_some() || p.tool_choice.is_some()) {
                return Err(ErrorObject::invalid_params(
                    "sampling with tools was requested, but this client did not declare `sampling.tools`",
                ));
            }
            crate::validate::sampling_messages(&p.messages)?;
            encode(&handler.create_message(p).await?)
        }
        methods::ELICITATION_CREATE if capabilities.elicitation.is_some() => {
            let declared = capabilities.elicitation.clone().unwrap_or_default();
            let p: ElicitRequestParams = parse(method, params)?;
            match p {
                ElicitRequestParams::Form(form) if declared.supports_form() => {
                    let schema = form.requested_schema.clone();
                    let mut result = handler.elicit_form(form).await?;
                    if handler.apply_elicitation_defaults() {
                        apply_defaults(&mut result, &schema);
                    }
                    if result.action == ElicitAction::Accept {
                        let content = result.content.clone().unwrap_or_default();
                        if let Err(problem) = crate::validate::form_answer(&content, &schema) {
                            // Never send the server data it did not ask for: the handler's
                            // answer is refused instead (an application bug, so a warning).
                            tracing::warn!(%problem, "an elicitation answer does not match its requested schema");
                            return Err(ErrorObject::internal(format!(
                                "the client's answer does not match the requested schema: {problem}"
                            )));
                        }
                    }
                    encode(&result)
                }
                ElicitRequestParams::Url(url) if declared.supports_url() => {
                    let result = handler.elicit_url(url).await?;
                    let mut v = encode(&result)?;
                    // URL mode carries no content.
                    if let Some(o) = v.as_object_mut() {
                        o.remove("content");
                    }
                    Ok(v)
                }
                other => Err(ErrorObject::invalid_params(format!(
                    "elicitation mode `{}` is not supported by this client",
                    other.mode()
                ))),
            }
        }
        other => Err(ErrorObject::method_not_found(other)),
    }
}

/// Fills the properties an accepted form answer omits with their schema `default` (SEP-1034).
pub fn apply_defaults(result: &mut ElicitResult, requested_schema: &JsonObject) {
    if result.action != ElicitAction::Accept {
        return;
    }
    let Some(props) = requested_schema
        .get("properties")
        .and_then(Value::as_object)
    else {
        return;
    };
    let content = result.content.get_or_insert_with(JsonObject::new);
    for (name, prop) in props {
        if let Some(default) = prop.get("default") {
            if !content.contains_key(name) {
                content.insert(name.clone(), default.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_fill_only_omitted_fields_of_accepted_answers() {
        let schema: JsonObject = serde_json::from_value(json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "default": "John"},
                "age": {"type": "integer", "default": 30},
                "bare": {"type": "string"}
            }
        }))
        .unwrap_or_default();
        let mut r = ElicitResult::new(ElicitAction::Accept);
        r.content = serde_json::from_value(json!({"name": "Ann"})).ok();
        apply_defaults(&mut r, &schema);
        assert_eq!(
            serde_json::to_value(&r.content).ok(),
            Some(json!({"name": "Ann", "age": 30}))
        );
        let mut d = ElicitResult::new(ElicitAction::Decline);
        apply_defaults(&mut d, &schema);
        assert!(d.content.is_none());
    }

    #[tokio::test]
    async fn undeclared_requests_are_refused() {
        let caps = ClientCapabilities::default();
        let e = fulfil(&NoHandler, &caps, "roots/list", None).await.err();
        assert_eq!(e.map(|e| e.code), Some(-32601));
        let h = Handlers::new()
            .on_elicitation(|_| async { Ok(ElicitResult::new(ElicitAction::Decline)) });
        let caps = h.capabilities();
        let e = fulfil(
            &h,
            &caps,
            "elicitation/create",
            Some(json!({"mode": "url", "message": "m", "url": "https://x", "elicitationId": "1"})),
        )
        .await
        .err();
        assert_eq!(e.map(|e| e.code), Some(-32602));
        let ok = fulfil(
            &h,
            &caps,
            "elicitation/create",
            Some(json!({"message": "m", "requestedSchema": {"type": "object", "properties": {}}})),
        )
        .await;
        assert_eq!(ok.ok(), Some(json!({"action": "decline"})));
    }
}
