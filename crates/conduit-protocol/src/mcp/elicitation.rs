//! Elicitation: the server asks the user for input, through a form (a restricted JSON Schema) or
//! an out-of-band URL.
//!
//! A request without `mode` is a form request ([`ElicitRequestParams::Form`] with `mode: None`).

use serde::de::{Deserializer, Error as _};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::jsonrpc::ErrorObject;

use super::common::{serialize_tagged, JsonObject, Meta, ResultType};
use super::tasks::TaskMetadata;

/// The explicit `"mode": "form"` of a form request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FormMode {
    /// `"form"`.
    #[serde(rename = "form")]
    Form,
}

wire_struct! {
    /// A form elicitation: the client renders `requestedSchema` and returns the user's answers.
    pub struct ElicitFormParams {
        /// What to tell the user.
        req message: String = "message",
        /// The restricted JSON Schema (flat object of primitive properties), verbatim.
        req requested_schema: JsonObject = "requestedSchema",
        ;
        /// `Some` when the server wrote `"mode": "form"`; `None` when it left the mode implicit.
        opt mode: FormMode = "mode",
        /// Run as a task (2025-11-25).
        opt task: TaskMetadata = "task",
        /// Request metadata.
        opt meta: Meta = "_meta",
    }
}

wire_struct! {
    /// A URL elicitation (2025-11-25 on): the user visits `url` out of band. `mode: "url"` is
    /// written by [`ElicitRequestParams`] and is not a member here.
    pub struct ElicitUrlParams {
        /// Why the user should go there.
        req message: String = "message",
        /// The URL.
        req url: String = "url",
        ;
        /// The elicitation's id (2025-11-25 only; removed in 2026-07-28).
        opt elicitation_id: String = "elicitationId",
        /// Run as a task (2025-11-25).
        opt task: TaskMetadata = "task",
        /// Request metadata.
        opt meta: Meta = "_meta",
    }
}

/// Parameters of `elicitation/create`, chosen by `mode`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ElicitRequestParams {
    /// `mode` absent or `"form"`.
    Form(ElicitFormParams),
    /// `mode: "url"`.
    Url(ElicitUrlParams),
    /// Another mode, kept verbatim (a client must refuse it with `-32602`).
    Other(JsonObject),
}

impl ElicitRequestParams {
    /// The mode, as the client should treat it (`"form"` when absent).
    pub fn mode(&self) -> &str {
        match self {
            ElicitRequestParams::Form(_) => "form",
            ElicitRequestParams::Url(_) => "url",
            ElicitRequestParams::Other(m) => m.get("mode").and_then(Value::as_str).unwrap_or(""),
        }
    }

    /// The message shown to the user, if any.
    pub fn message(&self) -> Option<&str> {
        match self {
            ElicitRequestParams::Form(f) => Some(&f.message),
            ElicitRequestParams::Url(u) => Some(&u.message),
            ElicitRequestParams::Other(m) => m.get("message").and_then(Value::as_str),
        }
    }
}

impl From<ElicitFormParams> for ElicitRequestParams {
    fn from(v: ElicitFormParams) -> Self {
        ElicitRequestParams::Form(v)
    }
}

impl From<ElicitUrlParams> for ElicitRequestParams {
    fn from(v: ElicitUrlParams) -> Self {
        ElicitRequestParams::Url(v)
    }
}

impl Serialize for ElicitRequestParams {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ElicitRequestParams::Form(f) => f.serialize(s),
            ElicitRequestParams::Url(u) => serialize_tagged("mode", "url", u, s),
            ElicitRequestParams::Other(m) => m.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for ElicitRequestParams {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut m = JsonObject::deserialize(d)?;
        match m.get("mode") {
            None | Some(Value::Null) => {
                m.shift_remove("mode");
                serde_json::from_value(Value::Object(m))
                    .map(ElicitRequestParams::Form)
                    .map_err(|e| D::Error::custom(format!("form elicitation: {e}")))
            }
            Some(Value::String(s)) if s == "form" => serde_json::from_value(Value::Object(m))
                .map(ElicitRequestParams::Form)
                .map_err(|e| D::Error::custom(format!("form elicitation: {e}"))),
            Some(Value::String(s)) if s == "url" => {
                m.shift_remove("mode");
                serde_json::from_value(Value::Object(m))
                    .map(ElicitRequestParams::Url)
                    .map_err(|e| D::Error::custom(format!("url elicitation: {e}")))
            }
            Some(_) => Ok(ElicitRequestParams::Other(m)),
        }
    }
}

string_enum! {
    /// What the user did.
    pub enum ElicitAction {
        /// Submitted or confirmed.
        Accept = "accept",
        /// Explicitly declined.
        Decline = "decline",
        /// Dismissed without choosing.
        Cancel = "cancel",
    }
}

wire_struct! {
    /// Result of `elicitation/create`.
    pub struct ElicitResult {
        /// What the user did.
        req action: ElicitAction = "action",
        ;
        /// The submitted form values (accepted form requests only).
        opt content: JsonObject = "content",
        /// `resultType` (2026-07-28).
        opt result_type: ResultType = "resultType",
        /// Metadata.
        opt meta: Meta = "_meta",
    }
}

wire_struct! {
    /// Parameters of `notifications/elicitation/complete` (2025-11-25 only).
    pub struct ElicitationCompleteParams {
        /// The URL elicitation that finished.
        req elicitation_id: String = "elicitationId",
        ;
        /// Notification metadata.
        opt meta: Meta = "_meta",
    }
}

wire_struct! {
    /// The `data` of a `-32042` URL-elicitation-required error (2025-11-25 only).
    pub struct UrlElicitationRequiredData {
        /// The elicitations (URL mode) the user must complete before retrying.
        #[serde(default)]
        req elicitations: Vec<ElicitRequestParams> = "elicitations",
        ;
    }
}

impl UrlElicitationRequiredData {
    /// Reads the data of a `-32042` error; `None` for another code or unreadable data.
    pub fn from_error(error: &ErrorObject) -> Option<Self> {
        if error.code != super::error_codes::URL_ELICITATION_REQUIRED {
            return None;
        }
        UrlElicitationRequiredData::deserialize(error.data.as_ref()?).ok()
    }
}
