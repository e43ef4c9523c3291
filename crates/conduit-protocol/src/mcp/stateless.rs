//! The stateless era (2026-07-28): multi round-trip requests, `subscriptions/listen`, result
//! kinds and the version/capability errors.

use std::collections::BTreeMap;

use serde::de::{DeserializeOwned, Deserializer, Error as _};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::jsonrpc::ErrorObject;
use crate::version::ProtocolVersion;

use super::capabilities::ClientCapabilities;
use super::common::{EmptyResult, JsonObject, Meta, RequestParams, ResultType};
use super::elicitation::{ElicitRequestParams, ElicitResult};
use super::methods;
use super::roots::ListRootsResult;
use super::sampling::{CreateMessageParams, CreateMessageResult};
use super::tasks::DetailedTask;

wire_struct! {
    /// A request the server needs the client to fulfil before it retries (an entry of
    /// `inputRequests`): `elicitation/create`, `sampling/createMessage` or `roots/list`.
    ///
    /// Kept as method plus raw params so nothing is lost; [`InputRequest::typed`] parses it.
    pub struct InputRequest {
        /// The method.
        req method: String = "method",
        ;
        /// The params.
        opt params: JsonObject = "params",
    }
}

/// A parsed [`InputRequest`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum TypedInputRequest {
    /// `elicitation/create`.
    Elicit(ElicitRequestParams),
    /// `sampling/createMessage`.
    CreateMessage(Box<CreateMessageParams>),
    /// `roots/list`.
    ListRoots(RequestParams),
    /// Any other method (the client cannot fulfil it).
    Other(InputRequest),
}

fn params_object<T: Serialize>(p: &T) -> JsonObject {
    match serde_json::to_value(p) {
        Ok(Value::Object(m)) => m,
        _ => JsonObject::new(),
    }
}

impl InputRequest {
    /// An `elicitation/create` input request.
    pub fn elicit(params: impl Into<ElicitRequestParams>) -> Self {
        InputRequest::new(methods::ELICITATION_CREATE).params(params_object(&params.into()))
    }

    /// A `sampling/createMessage` input request.
    pub fn create_message(params: CreateMessageParams) -> Self {
        InputRequest::new(methods::SAMPLING_CREATE_MESSAGE).params(params_object(&params))
    }

    /// A `roots/list` input request.
    pub fn list_roots() -> Self {
        InputRequest::new(methods::ROOTS_LIST)
    }

    /// Parses the params according to the method.
    pub fn typed(&self) -> Result<TypedInputRequest, serde_json::Error> {
        let params = Value::Object(self.params.clone().unwrap_or_default());
        Ok(match self.method.as_str() {
            methods::ELICITATION_CREATE => TypedInputRequest::Elicit(parse(params)?),
            methods::SAMPLING_CREATE_MESSAGE => {
                TypedInputRequest::CreateMessage(Box::new(parse(params)?))
            }
            methods::ROOTS_LIST => TypedInputRequest::ListRoots(parse(params)?),
            _ => TypedInputRequest::Other(self.clone()),
        })
    }
}

fn parse<T: DeserializeOwned>(v: Value) -> Result<T, serde_json::Error> {
    serde_json::from_value(v)
}

/// `inputRequests`: server-chosen keys to the requests the client must fulfil.
pub type InputRequests = BTreeMap<String, InputRequest>;

/// The client's answer to one [`InputRequest`] (an entry of `inputResponses`).
///
/// On parsing, the shape decides: `action` → elicitation, `model` → sampling, `roots` → roots;
/// anything else is kept as `Other`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum InputResponse {
    /// An [`ElicitResult`].
    Elicit(ElicitResult),
    /// A [`CreateMessageResult`].
    CreateMessage(Box<CreateMessageResult>),
    /// A [`ListRootsResult`].
    ListRoots(ListRootsResult),
    /// Another shape, kept verbatim.
    Other(JsonObject),
}

impl From<ElicitResult> for InputResponse {
    fn from(v: ElicitResult) -> Self {
        InputResponse::Elicit(v)
    }
}

impl From<CreateMessageResult> for InputResponse {
    fn from(v: CreateMessageResult) -> Self {
        InputResponse::CreateMessage(Box::new(v))
    }
}

impl From<ListRootsResult> for InputResponse {
    fn from(v: ListRootsResult) -> Self {
        InputResponse::ListRoots(v)
    }
}

impl Serialize for InputResponse {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            InputResponse::Elicit(v) => v.serialize(s),
            InputResponse::CreateMessage(v) => v.serialize(s),
            InputResponse::ListRoots(v) => v.serialize(s),
            InputResponse::Other(v) => v.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for InputResponse {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m = JsonObject::deserialize(d)?;
        let err = |what: &str, e: serde_json::Error| D::Error::custom(format!("{what}: {e}"));
        if m.contains_key("action") {
            parse(Value::Object(m))
                .map(InputResponse::Elicit)
                .map_err(|e| err("elicitation response", e))
        } else if m.contains_key("model") {
            parse(Value::Object(m))
                .map(|r| InputResponse::CreateMessage(Box::new(r)))
                .map_err(|e| err("sampling response", e))
        } else if m.contains_key("roots") {
            parse(Value::Object(m))
                .map(InputResponse::ListRoots)
                .map_err(|e| err("roots response", e))
        } else {
            Ok(InputResponse::Other(m))
        }
    }
}

/// `inputResponses`: the client's answers, keyed like the `inputRequests` they answer.
pub type InputResponses = BTreeMap<String, InputResponse>;

wire_struct! {
    /// A result saying the server needs more input (`resultType: "input_required"`).
    ///
    /// Retry the original request with a new id, `inputResponses` answering `inputRequests`,
    /// and `requestState` echoed byte for byte.
    #[derive(Default)]
    pub struct InputRequiredResult {
        ;
        /// What the server needs.
        opt input_requests: InputRequests = "inputRequests",
        /// Opaque server state to echo on the retry (never inspect it).
        opt request_state: String = "requestState",
        /// `resultType` (`"input_required"`).
        opt result_type: ResultType = "resultType",
        /// Metadata.
        opt meta: Meta = "_meta",
    }
}

/// The `resultType` of a raw result object: absent (a pre-2026 server) means complete.
pub fn result_type_of(result: &Value) -> ResultType {
    match result.get("resultType").and_then(Value::as_str) {
        Some(s) => ResultType::from(s),
        None => ResultType::Complete,
    }
}

/// A result that, in the stateless era, may be the final result, a request for more input, or a
/// task handle — classified by `resultType`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ResultOutcome<T> {
    /// `complete` (or no `resultType`): the method's own result.
    Complete(T),
    /// `input_required`.
    InputRequired(InputRequiredResult),
    /// `task` (tasks extension).
    Task(Box<DetailedTask>),
    /// A `resultType` the client does not know, which it must treat as invalid; kept verbatim.
    Unknown(JsonObject),
}

impl<T: DeserializeOwned> ResultOutcome<T> {
    /// Classifies and parses a raw result.
    pub fn from_value(result: Value) -> Result<Self, serde_json::Error> {
        Ok(match result_type_of(&result) {
            ResultType::Complete => ResultOutcome::Complete(parse(result)?),
            ResultType::InputRequired => ResultOutcome::InputRequired(parse(result)?),
            ResultType::Task => ResultOutcome::Task(Box::new(parse(result)?)),
            ResultType::Other(_) => ResultOutcome::Unknown(parse(result)?),
        })
    }
}

wire_struct! {
    /// Which notifications a `subscriptions/listen` stream should carry (each is opt-in); also
    /// what the server agreed to in `notifications/subscriptions/acknowledged`.
    #[derive(Default)]
    pub struct SubscriptionFilter {
        ;
        /// `notifications/tools/list_changed`.
        opt tools_list_changed: bool = "toolsListChanged",
        /// `notifications/prompts/list_changed`.
        opt prompts_list_changed: bool = "promptsListChanged",
        /// `notifications/resources/list_changed`.
        opt resources_list_changed: bool = "resourcesListChanged",
        /// `notifications/resources/updated` for these URIs.
        opt resource_subscriptions: Vec<String> = "resourceSubscriptions",
        /// `notifications/tasks` for these task ids (tasks extension).
        opt task_ids: Vec<String> = "taskIds",
    }
}

wire_struct! {
    /// Parameters of `subscriptions/listen`.
    pub struct SubscriptionsListenParams {
        /// What to receive.
        req notifications: SubscriptionFilter = "notifications",
        ;
        /// Request metadata.
        opt meta: Meta = "_meta",
    }
}

wire_struct! {
    /// Parameters of `notifications/subscriptions/acknowledged`.
    pub struct SubscriptionsAcknowledgedParams {
        /// What the server agreed to send.
        #[serde(default)]
        req notifications: SubscriptionFilter = "notifications",
        ;
        /// Notification metadata (carries the subscription id).
        opt meta: Meta = "_meta",
    }
}

/// Result of `subscriptions/listen`, sent when the server ends the stream gracefully; its
/// `_meta` carries `io.modelcontextprotocol/subscriptionId`.
pub type SubscriptionsListenResult = EmptyResult;

wire_struct! {
    /// The `data` of a `-32022` unsupported-protocol-version error.
    pub struct UnsupportedProtocolVersionData {
        /// Revisions the server supports.
        #[serde(default)]
        req supported: Vec<ProtocolVersion> = "supported",
        ;
        /// The revision the client asked for.
        opt requested: ProtocolVersion = "requested",
    }
}

impl UnsupportedProtocolVersionData {
    /// Reads the data of a `-32022` error; `None` for another code or unreadable data.
    pub fn from_error(error: &ErrorObject) -> Option<Self> {
        if error.code != super::error_codes::UNSUPPORTED_PROTOCOL_VERSION {
            return None;
        }
        Self::deserialize(error.data.as_ref()?).ok()
    }
}

wire_struct! {
    /// The `data` of a `-32021` missing-required-client-capability error.
    pub struct MissingRequiredClientCapabilityData {
        /// The capabilities the server needs the client to declare.
        #[serde(default)]
        req required_capabilities: ClientCapabilities = "requiredCapabilities",
        ;
    }
}

impl MissingRequiredClientCapabilityData {
    /// Reads the data of a `-32021` error; `None` for another code or unreadable data.
    pub fn from_error(error: &ErrorObject) -> Option<Self> {
        if error.code != super::error_codes::MISSING_REQUIRED_CLIENT_CAPABILITY {
            return None;
        }
        Self::deserialize(error.data.as_ref()?).ok()
    }
}
