//! The JSON-RPC 2.0 envelope.
//!
//! Every message on an MCP wire is one of [`Request`], [`Notification`] or [`Response`]
//! (batches were removed from MCP in 2025-06-18 and are refused here). [`Message::parse`] classifies
//! raw bytes and names precisely what is wrong with a malformed message; serialisation always
//! writes `"jsonrpc":"2.0"`.

use std::fmt;

use serde::de::{self, Deserializer};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The only JSON-RPC version this crate speaks.
pub const JSONRPC_VERSION: &str = "2.0";

/// Standard JSON-RPC 2.0 error codes and the MCP-specific ones.
pub mod codes {
    /// Invalid JSON was received.
    pub const PARSE_ERROR: i64 = -32700;
    /// The JSON sent is not a valid request object.
    pub const INVALID_REQUEST: i64 = -32600;
    /// The method does not exist or is not available.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// Invalid method parameters.
    pub const INVALID_PARAMS: i64 = -32602;
    /// Internal JSON-RPC error.
    pub const INTERNAL_ERROR: i64 = -32603;
    /// MCP: the server has not been initialized (used by several servers; not in the spec text).
    pub const NOT_INITIALIZED: i64 = -32002;
    /// MCP: resource not found (2025-11-25 and earlier).
    pub const RESOURCE_NOT_FOUND: i64 = -32002;
    /// MCP 2026-07-28: the requested protocol version is not supported by the server.
    pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;
    /// MCP 2025-11-25: URL elicitation is required before the request can proceed.
    pub const URL_ELICITATION_REQUIRED: i64 = -32042;
    /// MCP 2026-07-28: a standard header does not match the request body.
    pub const HEADER_MISMATCH: i64 = -32020;
}

/// A request id: a number or a string, never null.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RequestId {
    /// An integer id, as most clients (Conduit included) send.
    Number(i64),
    /// A string id, e.g. `"ws-1"` on DataGrout's WebSocket transport.
    String(String),
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestId::Number(n) => write!(f, "{n}"),
            RequestId::String(s) => write!(f, "{s:?}"),
        }
    }
}

impl From<i64> for RequestId {
    fn from(n: i64) -> Self {
        RequestId::Number(n)
    }
}

impl From<&str> for RequestId {
    fn from(s: &str) -> Self {
        RequestId::String(s.to_owned())
    }
}

impl From<String> for RequestId {
    fn from(s: String) -> Self {
        RequestId::String(s)
    }
}

/// A request: a method call that expects a [`Response`] with the same id.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// The request id, unique among this sender's requests in flight.
    pub id: RequestId,
    /// The method name, e.g. `tools/call`.
    pub method: String,
    /// The parameters: an object (MCP never sends positional arrays), or absent.
    pub params: Option<Value>,
}

impl Request {
    /// A request with the given id, method and parameters.
    pub fn new(id: impl Into<RequestId>, method: impl Into<String>, params: Option<Value>) -> Self {
        Request {
            id: id.into(),
            method: method.into(),
            params,
        }
    }
}

/// A notification: a one-way message that gets no response.
#[derive(Clone, Debug, PartialEq)]
pub struct Notification {
    /// The method name, e.g. `notifications/progress`.
    pub method: String,
    /// The parameters, or absent.
    pub params: Option<Value>,
}

impl Notification {
    /// A notification with the given method and parameters.
    pub fn new(method: impl Into<String>, params: Option<Value>) -> Self {
        Notification {
            method: method.into(),
            params,
        }
    }
}

/// A JSON-RPC error object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// The error code (see [`codes`]).
    pub code: i64,
    /// A short description of the error.
    pub message: String,
    /// Additional information, as the server sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl ErrorObject {
    /// An error object with no data.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        ErrorObject {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// `-32601 Method not found`, naming the method.
    pub fn method_not_found(method: &str) -> Self {
        ErrorObject::new(
            codes::METHOD_NOT_FOUND,
            format!("Method not found: {method}"),
        )
    }

    /// `-32602 Invalid params`, with a reason.
    pub fn invalid_params(reason: impl fmt::Display) -> Self {
        ErrorObject::new(codes::INVALID_PARAMS, format!("Invalid params: {reason}"))
    }

    /// `-32603 Internal error`, with a reason.
    pub fn internal(reason: impl fmt::Display) -> Self {
        ErrorObject::new(codes::INTERNAL_ERROR, format!("Internal error: {reason}"))
    }
}

impl fmt::Display for ErrorObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (code {})", self.message, self.code)
    }
}

impl std::error::Error for ErrorObject {}

/// A response to a request: a result or an error.
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    /// The id of the request this answers. `None` only for an error the peer could not tie to a
    /// request (e.g. its reply to unparseable bytes, sent with `"id": null`).
    pub id: Option<RequestId>,
    /// The outcome.
    pub outcome: Outcome,
}

/// The outcome carried by a [`Response`].
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// `result`: success, with the method's result (any JSON value, usually an object).
    Result(Value),
    /// `error`: failure.
    Error(ErrorObject),
}

impl Response {
    /// A successful response.
    pub fn result(id: RequestId, result: Value) -> Self {
        Response {
            id: Some(id),
            outcome: Outcome::Result(result),
        }
    }

    /// An error response.
    pub fn error(id: RequestId, error: ErrorObject) -> Self {
        Response {
            id: Some(id),
            outcome: Outcome::Error(error),
        }
    }

    /// The outcome as a `Result`.
    pub fn into_result(self) -> Result<Value, ErrorObject> {
        match self.outcome {
            Outcome::Result(v) => Ok(v),
            Outcome::Error(e) => Err(e),
        }
    }
}

/// Any JSON-RPC message.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A notification.
    Notification(Notification),
    /// A response (result or error).
    Response(Response),
}

impl From<Request> for Message {
    fn from(r: Request) -> Self {
        Message::Request(r)
    }
}
impl From<Notification> for Message {
    fn from(n: Notification) -> Self {
        Message::Notification(n)
    }
}
impl From<Response> for Message {
    fn from(r: Response) -> Self {
        Message::Response(r)
    }
}

/// What is wrong with a message that [`Message::parse`] refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// The bytes are not JSON (serde's message, with line and column).
    NotJson(String),
    /// A JSON array: a batch, which MCP does not allow.
    Batch,
    /// Valid JSON that is not an object (the JSON type is named).
    NotAnObject(&'static str),
    /// `jsonrpc` is missing or is not `"2.0"` (what was found is given).
    BadVersion(String),
    /// The object fits none of request, notification and response; the reason says why.
    Invalid(String),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::NotJson(e) => write!(f, "not valid JSON: {e}"),
            ParseError::Batch => f.write_str("a JSON-RPC batch (array), which MCP does not allow"),
            ParseError::NotAnObject(kind) => write!(f, "expected a JSON-RPC object, found {kind}"),
            ParseError::BadVersion(found) => {
                write!(f, "`jsonrpc` must be \"2.0\", found {found}")
            }
            ParseError::Invalid(reason) => write!(f, "not a JSON-RPC message: {reason}"),
        }
    }
}

impl std::error::Error for ParseError {}

impl ParseError {
    /// The JSON-RPC error code a peer would answer this with.
    pub fn code(&self) -> i64 {
        match self {
            ParseError::NotJson(_) => codes::PARSE_ERROR,
            _ => codes::INVALID_REQUEST,
        }
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Distinguishes a field that is absent from one that is present (possibly `null`).
#[derive(Default)]
enum Field<T> {
    #[default]
    Absent,
    Present(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Field::Present)
    }
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    jsonrpc: Field<Value>,
    #[serde(default)]
    id: Field<Value>,
    #[serde(default)]
    method: Field<Value>,
    #[serde(default)]
    params: Field<Value>,
    #[serde(default)]
    result: Field<Value>,
    #[serde(default)]
    error: Field<Value>,
}

fn parse_id(v: Value) -> Result<Option<RequestId>, ParseError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(RequestId::String(s))),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Ok(Some(RequestId::Number(i))),
            None => Err(ParseError::Invalid(format!("id {n} is not an integer"))),
        },
        other => Err(ParseError::Invalid(format!(
            "id must be a string or an integer, found {}",
            json_kind(&other)
        ))),
    }
}

impl Message {
    /// Parses one JSON-RPC message from bytes, classifying it or naming what is wrong.
    pub fn parse(bytes: &[u8]) -> Result<Message, ParseError> {
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        match first {
            Some(b'[') => return Err(ParseError::Batch),
            Some(b'{') => {}
            None => return Err(ParseError::NotJson("empty input".into())),
            Some(_) => {
                let v: Value = serde_json::from_slice(bytes)
                    .map_err(|e| ParseError::NotJson(e.to_string()))?;
                return Err(ParseError::NotAnObject(json_kind(&v)));
            }
        }
        let raw: Raw =
            serde_json::from_slice(bytes).map_err(|e| ParseError::NotJson(e.to_string()))?;
        Message::from_raw(raw)
    }

    /// Classifies an already-parsed JSON value as a message.
    pub fn from_value(value: Value) -> Result<Message, ParseError> {
        match value {
            Value::Array(_) => Err(ParseError::Batch),
            Value::Object(_) => {
                let raw: Raw = serde_json::from_value(value)
                    .map_err(|e| ParseError::Invalid(e.to_string()))?;
                Message::from_raw(raw)
            }
            other => Err(ParseError::NotAnObject(json_kind(&other))),
        }
    }

    fn from_raw(raw: Raw) -> Result<Message, ParseError> {
        match raw.jsonrpc {
            Field::Present(Value::String(ref s)) if s == JSONRPC_VERSION => {}
            Field::Present(other) => return Err(ParseError::BadVersion(other.to_string())),
            Field::Absent => return Err(ParseError::BadVersion("nothing".into())),
        }
        let params = match raw.params {
            Field::Absent | Field::Present(Value::Null) => None,
            Field::Present(v @ (Value::Object(_) | Value::Array(_))) => Some(v),
            Field::Present(other) => {
                return Err(ParseError::Invalid(format!(
                    "params must be an object or an array, found {}",
                    json_kind(&other)
                )))
            }
        };
        match raw.method {
            Field::Present(Value::String(method)) => {
                if !matches!(raw.result, Field::Absent) || !matches!(raw.error, Field::Absent) {
                    return Err(ParseError::Invalid(
                        "a message with `method` must not carry `result` or `error`".into(),
                    ));
                }
                match raw.id {
                    Field::Absent => Ok(Message::Notification(Notification { method, params })),
                    Field::Present(id) => match parse_id(id)? {
                        Some(id) => Ok(Message::Request(Request { id, method, params })),
                        None => Err(ParseError::Invalid("a request id must not be null".into())),
                    },
                }
            }
            Field::Present(other) => Err(ParseError::Invalid(format!(
                "method must be a string, found {}",
                json_kind(&other)
            ))),
            Field::Absent => {
                let id =
                    match raw.id {
                        Field::Absent => return Err(ParseError::Invalid(
                            "neither `method` nor `id`: not a request, notification or response"
                                .into(),
                        )),
                        Field::Present(id) => parse_id(id)?,
                    };
                let outcome = match (raw.result, raw.error) {
                    (Field::Present(result), Field::Absent) => Outcome::Result(result),
                    (Field::Absent, Field::Present(error)) => {
                        let error: ErrorObject = serde_json::from_value(error).map_err(|e| {
                            ParseError::Invalid(format!("malformed error object: {e}"))
                        })?;
                        Outcome::Error(error)
                    }
                    (Field::Present(_), Field::Present(_)) => {
                        return Err(ParseError::Invalid(
                            "a response must not carry both `result` and `error`".into(),
                        ))
                    }
                    (Field::Absent, Field::Absent) => {
                        return Err(ParseError::Invalid(
                            "a response must carry `result` or `error`".into(),
                        ))
                    }
                };
                if id.is_none() && matches!(outcome, Outcome::Result(_)) {
                    return Err(ParseError::Invalid(
                        "a result response must have an id".into(),
                    ));
                }
                Ok(Message::Response(Response { id, outcome }))
            }
        }
    }

    /// Serialises the message to compact JSON bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        // Serialising these types cannot fail: every map key is a string.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The method, for requests and notifications.
    pub fn method(&self) -> Option<&str> {
        match self {
            Message::Request(r) => Some(&r.method),
            Message::Notification(n) => Some(&n.method),
            Message::Response(_) => None,
        }
    }
}

impl Serialize for Request {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("jsonrpc", JSONRPC_VERSION)?;
        m.serialize_entry("id", &self.id)?;
        m.serialize_entry("method", &self.method)?;
        if let Some(p) = &self.params {
            m.serialize_entry("params", p)?;
        }
        m.end()
    }
}

impl Serialize for Notification {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("jsonrpc", JSONRPC_VERSION)?;
        m.serialize_entry("method", &self.method)?;
        if let Some(p) = &self.params {
            m.serialize_entry("params", p)?;
        }
        m.end()
    }
}

impl Serialize for Response {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("jsonrpc", JSONRPC_VERSION)?;
        m.serialize_entry("id", &self.id)?;
        match &self.outcome {
            Outcome::Result(v) => m.serialize_entry("result", v)?,
            Outcome::Error(e) => m.serialize_entry("error", e)?,
        }
        m.end()
    }
}

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Message::Request(r) => r.serialize(s),
            Message::Notification(n) => n.serialize(s),
            Message::Response(r) => r.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Message {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Raw::deserialize(d)?;
        Message::from_raw(raw).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_three_kinds() {
        let r = Message::parse(br#"{"jsonrpc":"2.0","id":"a","method":"ping"}"#).unwrap();
        assert!(matches!(
            r,
            Message::Request(Request {
                id: RequestId::String(_),
                ..
            })
        ));
        let n = Message::parse(br#"{"jsonrpc":"2.0","method":"x","params":{}}"#).unwrap();
        assert!(matches!(n, Message::Notification(_)));
        let e = Message::parse(
            br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"bad"}}"#,
        )
        .unwrap();
        assert!(matches!(
            e,
            Message::Response(Response {
                id: None,
                outcome: Outcome::Error(_)
            })
        ));
    }

    #[test]
    fn result_null_is_a_result() {
        let m = Message::parse(br#"{"jsonrpc":"2.0","id":1,"result":null}"#).unwrap();
        assert_eq!(
            m,
            Message::Response(Response::result(RequestId::Number(1), Value::Null))
        );
    }

    #[test]
    fn names_what_is_wrong() {
        assert_eq!(Message::parse(b"[]"), Err(ParseError::Batch));
        assert_eq!(
            Message::parse(b"3"),
            Err(ParseError::NotAnObject("a number"))
        );
        assert!(matches!(Message::parse(b"{"), Err(ParseError::NotJson(_))));
        assert!(matches!(Message::parse(b""), Err(ParseError::NotJson(_))));
        assert!(matches!(
            Message::parse(br#"{"jsonrpc":"1.0","id":1,"result":1}"#),
            Err(ParseError::BadVersion(_))
        ));
        assert!(matches!(
            Message::parse(br#"{"jsonrpc":"2.0","id":1.5,"result":1}"#),
            Err(ParseError::Invalid(_))
        ));
        assert!(matches!(
            Message::parse(
                br#"{"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":"x"}}"#
            ),
            Err(ParseError::Invalid(_))
        ));
        assert!(matches!(
            Message::parse(br#"{"jsonrpc":"2.0","id":1,"error":{"code":"x"}}"#),
            Err(ParseError::Invalid(_))
        ));
        assert!(matches!(
            Message::parse(br#"{"jsonrpc":"2.0","id":null,"method":"x"}"#),
            Err(ParseError::Invalid(_))
        ));
        assert!(matches!(
            Message::parse(br#"{"jsonrpc":"2.0","method":"x","params":3}"#),
            Err(ParseError::Invalid(_))
        ));
    }

    #[test]
    fn serialises_with_version_first() {
        let m = Message::Request(Request::new(1, "ping", None));
        assert_eq!(
            String::from_utf8(m.to_vec()).unwrap(),
            r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#
        );
    }
}
