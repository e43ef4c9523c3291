//! Content blocks: what tools return, prompts contain and sampling exchanges.
//!
//! [`ContentBlock`] and [`SamplingContent`] are chosen by their `type` member; a `type` this crate
//! does not know parses as `Unknown` with the raw object instead of failing the message.

use serde::de::{Deserializer, Error as _};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::{Annotations, JsonObject, Meta};
use super::resources::Resource;

wire_struct! {
    /// Text for or from a model (`type: "text"`).
    pub struct TextContent {
        /// The text.
        req text: String = "text",
        ;
        /// Display hints.
        opt annotations: Annotations = "annotations",
        /// Metadata.
        opt meta: Meta = "_meta",
    }
}

wire_struct! {
    /// An image (`type: "image"`).
    pub struct ImageContent {
        /// Base64-encoded image bytes.
        req data: String = "data",
        /// The image's MIME type.
        req mime_type: String = "mimeType",
        ;
        /// Display hints.
        opt annotations: Annotations = "annotations",
        /// Metadata.
        opt meta: Meta = "_meta",
    }
}

wire_struct! {
    /// Audio (`type: "audio"`, 2025-03-26 on).
    pub struct AudioContent {
        /// Base64-encoded audio bytes.
        req data: String = "data",
        /// The audio's MIME type.
        req mime_type: String = "mimeType",
        ;
        /// Display hints.
        opt annotations: Annotations = "annotations",
        /// Metadata.
        opt meta: Meta = "_meta",
    }
}

wire_struct! {
    /// The text of a resource.
    pub struct TextResourceContents {
        /// The resource's URI.
        req uri: String = "uri",
        /// The text.
        req text: String = "text",
        ;
        /// The MIME type, if known.
        opt mime_type: String = "mimeType",
        /// Metadata.
        opt meta: Meta = "_meta",
    }
}

wire_struct! {
    /// The binary contents of a resource.
    pub struct BlobResourceContents {
        /// The resource's URI.
        req uri: String = "uri",
        /// Base64-encoded bytes.
        req blob: String = "blob",
        ;
        /// The MIME type, if known.
        opt mime_type: String = "mimeType",
        /// Metadata.
        opt meta: Meta = "_meta",
    }
}

/// The contents of a resource: text or a base64 blob.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ResourceContents {
    /// Has a `text` member.
    Text(TextResourceContents),
    /// Has a `blob` member.
    Blob(BlobResourceContents),
    /// Neither `text` nor `blob`: kept verbatim.
    Other(JsonObject),
}

impl ResourceContents {
    /// The resource's URI, if present.
    pub fn uri(&self) -> Option<&str> {
        match self {
            ResourceContents::Text(t) => Some(&t.uri),
            ResourceContents::Blob(b) => Some(&b.uri),
            ResourceContents::Other(m) => m.get("uri").and_then(Value::as_str),
        }
    }

    /// The MIME type, if present.
    pub fn mime_type(&self) -> Option<&str> {
        match self {
            ResourceContents::Text(t) => t.mime_type.as_deref(),
            ResourceContents::Blob(b) => b.mime_type.as_deref(),
            ResourceContents::Other(m) => m.get("mimeType").and_then(Value::as_str),
        }
    }
}

impl From<TextResourceContents> for ResourceContents {
    fn from(v: TextResourceContents) -> Self {
        ResourceContents::Text(v)
    }
}

impl From<BlobResourceContents> for ResourceContents {
    fn from(v: BlobResourceContents) -> Self {
        ResourceContents::Blob(v)
    }
}

impl Serialize for ResourceContents {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ResourceContents::Text(t) => t.serialize(s),
            ResourceContents::Blob(b) => b.serialize(s),
            ResourceContents::Other(m) => m.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for ResourceContents {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m = JsonObject::deserialize(d)?;
        let v = |m| Value::Object(m);
        if m.get("text").is_some_and(Value::is_string) {
            serde_json::from_value(v(m))
                .map(ResourceContents::Text)
                .map_err(|e| D::Error::custom(format!("text resource contents: {e}")))
        } else if m.get("blob").is_some_and(Value::is_string) {
            serde_json::from_value(v(m))
                .map(ResourceContents::Blob)
                .map_err(|e| D::Error::custom(format!("blob resource contents: {e}")))
        } else {
            Ok(ResourceContents::Other(m))
        }
    }
}

wire_struct! {
    /// A resource embedded in a prompt or tool result (`type: "resource"`).
    pub struct EmbeddedResource {
        /// The contents.
        req resource: ResourceContents = "resource",
        ;
        /// Display hints.
        opt annotations: Annotations = "annotations",
        /// Metadata.
        opt meta: Meta = "_meta",
    }
}

wire_struct! {
    /// A model's request to call a tool, inside sampling (`type: "tool_use"`, 2025-11-25 on).
    pub struct ToolUseContent {
        /// Identifies this call; the matching result names it in `toolUseId`.
        req id: String = "id",
        /// The tool's name.
        req name: String = "name",
        /// The arguments.
        req input: JsonObject = "input",
        ;
        /// Metadata (clients should keep it when echoing the block back).
        opt meta: Meta = "_meta",
    }
}

wire_struct! {
    /// The result of a tool call, inside sampling (`type: "tool_result"`, 2025-11-25 on).
    pub struct ToolResultContent {
        /// The `id` of the matching [`ToolUseContent`].
        req tool_use_id: String = "toolUseId",
        /// Unstructured result content.
        #[serde(default)]
        req content: Vec<ContentBlock> = "content",
        ;
        /// Structured result.
        opt structured_content: Value = "structuredContent",
        /// Whether the call failed.
        opt is_error: bool = "isError",
        /// Metadata.
        opt meta: Meta = "_meta",
    }
}

tagged_enum! {
    /// A block of content in a tool result, prompt message or resource-bearing message.
    pub enum ContentBlock tag "type" {
        /// `text`.
        Text(TextContent) = "text",
        /// `image`.
        Image(ImageContent) = "image",
        /// `audio`.
        Audio(AudioContent) = "audio",
        /// `resource_link`: a reference to a resource the client may read.
        ResourceLink(Resource) = "resource_link",
        /// `resource`: an embedded resource.
        Resource(EmbeddedResource) = "resource",
    }
}

impl ContentBlock {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Self {
        ContentBlock::Text(TextContent::new(text))
    }

    /// The text, for a text block.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            ContentBlock::Text(t) => Some(&t.text),
            _ => None,
        }
    }
}

tagged_enum! {
    /// A block of content in a sampling message.
    pub enum SamplingContent tag "type" {
        /// `text`.
        Text(TextContent) = "text",
        /// `image`.
        Image(ImageContent) = "image",
        /// `audio`.
        Audio(AudioContent) = "audio",
        /// `tool_use`.
        ToolUse(ToolUseContent) = "tool_use",
        /// `tool_result`.
        ToolResult(ToolResultContent) = "tool_result",
    }
}

impl SamplingContent {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Self {
        SamplingContent::Text(TextContent::new(text))
    }
}

/// Sampling message content: one block or (2025-11-25 on) an array of blocks.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum SamplingContentList {
    /// A single block, written as an object.
    One(Box<SamplingContent>),
    /// Several blocks, written as an array.
    Many(Vec<SamplingContent>),
}

impl SamplingContentList {
    /// The blocks, however they were written.
    pub fn blocks(&self) -> &[SamplingContent] {
        match self {
            SamplingContentList::One(b) => std::slice::from_ref(b.as_ref()),
            SamplingContentList::Many(v) => v,
        }
    }
}

impl From<SamplingContent> for SamplingContentList {
    fn from(b: SamplingContent) -> Self {
        SamplingContentList::One(Box::new(b))
    }
}

impl From<Vec<SamplingContent>> for SamplingContentList {
    fn from(v: Vec<SamplingContent>) -> Self {
        SamplingContentList::Many(v)
    }
}

impl Serialize for SamplingContentList {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            SamplingContentList::One(b) => b.serialize(s),
            SamplingContentList::Many(v) => v.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for SamplingContentList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            v @ Value::Array(_) => serde_json::from_value(v)
                .map(SamplingContentList::Many)
                .map_err(D::Error::custom),
            v => serde_json::from_value(v)
                .map(|b| SamplingContentList::One(Box::new(b)))
                .map_err(D::Error::custom),
        }
    }
}
