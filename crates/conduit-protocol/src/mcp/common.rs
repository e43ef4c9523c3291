//! Types shared by every part of the protocol: metadata, identities, annotations, pagination and
//! the common request/notification/result shapes.

use serde::ser::{Error as _, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A JSON object, in the order its members arrived.
pub type JsonObject = Map<String, Value>;

/// The contents of a `_meta` member: an open JSON object (see [`crate::mcp::meta`] for the
/// reserved keys).
pub type Meta = JsonObject;

/// An opaque pagination cursor.
pub type Cursor = String;

/// A progress token: a string or an integer chosen by the requester.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ProgressToken {
    /// An integer token.
    Number(i64),
    /// A string token.
    String(String),
}

impl From<i64> for ProgressToken {
    fn from(n: i64) -> Self {
        ProgressToken::Number(n)
    }
}

impl From<&str> for ProgressToken {
    fn from(s: &str) -> Self {
        ProgressToken::String(s.to_owned())
    }
}

impl From<String> for ProgressToken {
    fn from(s: String) -> Self {
        ProgressToken::String(s)
    }
}

string_enum! {
    /// The sender or recipient of a message in a conversation.
    pub enum Role {
        /// The human side.
        User = "user",
        /// The model side.
        Assistant = "assistant",
    }
}

string_enum! {
    /// The background an icon is designed for.
    pub enum IconTheme {
        /// A light background.
        Light = "light",
        /// A dark background.
        Dark = "dark",
    }
}

string_enum! {
    /// The kind of a result (2026-07-28 `resultType`). An absent `resultType` means
    /// [`ResultType::Complete`].
    pub enum ResultType {
        /// The request finished; the result carries its final content.
        Complete = "complete",
        /// The server needs more input first: the result is an
        /// [`InputRequiredResult`](crate::mcp::InputRequiredResult).
        InputRequired = "input_required",
        /// The tasks extension: the server runs the request asynchronously and returned a task
        /// handle ([`DetailedTask`](crate::mcp::DetailedTask)).
        Task = "task",
    }
}

string_enum! {
    /// Who may reuse a cached result (2026-07-28 `cacheScope`).
    pub enum CacheScope {
        /// No user-specific data: any client or intermediary may cache and share it.
        Public = "public",
        /// Reusable only within the same authorization context.
        Private = "private",
    }
}

wire_struct! {
    /// An icon a user interface may show for an implementation, tool, prompt or resource.
    pub struct Icon {
        /// An `https:` URL or a `data:` URI.
        req src: String = "src",
        ;
        /// A MIME type overriding the one the source reports.
        opt mime_type: String = "mimeType",
        /// Sizes such as `"48x48"` or `"any"`.
        opt sizes: Vec<String> = "sizes",
        /// The background the icon is designed for.
        opt theme: IconTheme = "theme",
    }
}

wire_struct! {
    /// The name and version of an MCP client or server (`clientInfo`, `serverInfo`).
    pub struct Implementation {
        /// The programmatic name.
        req name: String = "name",
        /// The implementation's version.
        req version: String = "version",
        ;
        /// A human-readable display name.
        opt title: String = "title",
        /// What the implementation does.
        opt description: String = "description",
        /// Icons for a user interface.
        opt icons: Vec<Icon> = "icons",
        /// The implementation's website.
        opt website_url: String = "websiteUrl",
    }
}

wire_struct! {
    /// Hints about how content is meant to be used or displayed.
    #[derive(Default)]
    pub struct Annotations {
        ;
        /// Who the content is for.
        opt audience: Vec<Role> = "audience",
        /// Importance from 0 (optional) to 1 (required).
        #[serde(serialize_with = "crate::mcp::common::num::opt")]
        opt priority: f64 = "priority",
        /// When the underlying data last changed (ISO 8601).
        opt last_modified: String = "lastModified",
    }
}

wire_struct! {
    /// Parameters carrying only `_meta`: `ping`, `roots/list`, `server/discover` and any request
    /// without parameters of its own.
    #[derive(Default)]
    pub struct RequestParams {
        ;
        /// Request metadata (see [`crate::mcp::RequestMeta`]).
        opt meta: Meta = "_meta",
    }
}

wire_struct! {
    /// Parameters carrying only `_meta`: `notifications/initialized` and the `list_changed`
    /// notifications.
    #[derive(Default)]
    pub struct NotificationParams {
        ;
        /// Notification metadata.
        opt meta: Meta = "_meta",
    }
}

wire_struct! {
    /// Parameters of a paginated list request (`tools/list`, `prompts/list`, `resources/list`,
    /// `resources/templates/list`, `tasks/list`).
    #[derive(Default)]
    pub struct PaginatedParams {
        ;
        /// Where to continue, as returned in a previous `nextCursor`.
        opt cursor: Cursor = "cursor",
        /// Request metadata.
        opt meta: Meta = "_meta",
    }
}

wire_struct! {
    /// A result with no content of its own (`ping`, `logging/setLevel`, `resources/subscribe`,
    /// `subscriptions/listen` on close, …).
    #[derive(Default)]
    pub struct EmptyResult {
        ;
        /// `resultType` (2026-07-28); absent means complete.
        opt result_type: ResultType = "resultType",
        /// Result metadata.
        opt meta: Meta = "_meta",
    }
}

/// Serialisers for JSON numbers held as `f64`: integral values are written without a fraction,
/// so that `5` read from the wire is written back as `5`, not `5.0`.
pub(crate) mod num {
    use serde::Serializer;

    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53

    pub(crate) fn one<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.fract() == 0.0 && v.abs() < EXACT {
            // Exact: an integral f64 below 2^53 converts without loss.
            #[allow(clippy::cast_possible_truncation)]
            s.serialize_i64(*v as i64)
        } else {
            s.serialize_f64(*v)
        }
    }

    pub(crate) fn opt<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => one(v, s),
            None => s.serialize_none(),
        }
    }
}

/// Serialises `value` (which must serialise to an object) with `tag_key: tag` written first.
pub(crate) fn serialize_tagged<T: Serialize, S: Serializer>(
    tag_key: &str,
    tag: &str,
    value: &T,
    s: S,
) -> Result<S::Ok, S::Error> {
    let inner = serde_json::to_value(value).map_err(S::Error::custom)?;
    let mut out = Map::new();
    out.insert(tag_key.to_owned(), Value::String(tag.to_owned()));
    match inner {
        Value::Object(m) => {
            for (k, v) in m {
                if k != tag_key {
                    out.insert(k, v);
                }
            }
        }
        other => {
            return Err(S::Error::custom(format!(
                "tagged value must be an object, found {other}"
            )))
        }
    }
    out.serialize(s)
}

/// Builds the `params` of a JSON-RPC request or notification from any serialisable params type.
///
/// Returns `None` for a value that serialises to an empty object, so that e.g.
/// `tools/list` without a cursor is sent without `params`.
pub fn to_params<T: Serialize>(params: &T) -> Result<Option<Value>, serde_json::Error> {
    match serde_json::to_value(params)? {
        Value::Object(m) if m.is_empty() => Ok(None),
        Value::Null => Ok(None),
        v => Ok(Some(v)),
    }
}

/// Parses the `params` (or `result`) of a message into a typed value; absent params parse as an
/// empty object, so types whose members are all optional accept a bare request.
pub fn from_params<T: serde::de::DeserializeOwned>(
    params: Option<&Value>,
) -> Result<T, serde_json::Error> {
    match params {
        Some(v) => T::deserialize(v),
        None => T::deserialize(Value::Object(Map::new())),
    }
}
