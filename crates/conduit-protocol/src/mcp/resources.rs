//! Resources: listing, templates, reading and (stateful era) subscriptions.

use super::common::{Annotations, CacheScope, Cursor, Icon, Meta, ResultType};
use super::content::ResourceContents;
use super::stateless::InputResponses;

wire_struct! {
    /// A resource the server can read (also the body of a `resource_link` content block).
    pub struct Resource {
        /// The resource's URI.
        req uri: String = "uri",
        /// The programmatic name.
        req name: String = "name",
        ;
        /// A display name.
        opt title: String = "title",
        /// What the resource is.
        opt description: String = "description",
        /// The MIME type, if known.
        opt mime_type: String = "mimeType",
        /// Display hints.
        opt annotations: Annotations = "annotations",
        /// Size of the raw contents in bytes, if known.
        opt size: u64 = "size",
        /// Icons.
        opt icons: Vec<Icon> = "icons",
        /// Metadata.
        opt meta: Meta = "_meta",
    }
}

wire_struct! {
    /// A template (RFC 6570) for resource URIs.
    pub struct ResourceTemplate {
        /// The URI template.
        req uri_template: String = "uriTemplate",
        /// The programmatic name.
        req name: String = "name",
        ;
        /// A display name.
        opt title: String = "title",
        /// What the template is for.
        opt description: String = "description",
        /// The MIME type of every matching resource, if they share one.
        opt mime_type: String = "mimeType",
        /// Display hints.
        opt annotations: Annotations = "annotations",
        /// Icons.
        opt icons: Vec<Icon> = "icons",
        /// Metadata.
        opt meta: Meta = "_meta",
    }
}

wire_struct! {
    /// Result of `resources/list`.
    pub struct ListResourcesResult {
        /// This page of resources.
        #[serde(default)]
        req resources: Vec<Resource> = "resources",
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
    /// Result of `resources/templates/list`.
    pub struct ListResourceTemplatesResult {
        /// This page of templates.
        #[serde(default)]
        req resource_templates: Vec<ResourceTemplate> = "resourceTemplates",
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
    /// Parameters of `resources/read`.
    pub struct ReadResourceParams {
        /// The URI to read.
        req uri: String = "uri",
        ;
        /// Answers to a previous `InputRequiredResult` (2026-07-28 retry).
        opt input_responses: InputResponses = "inputResponses",
        /// The opaque state echoed from a previous `InputRequiredResult` (2026-07-28 retry).
        opt request_state: String = "requestState",
        /// Request metadata.
        opt meta: Meta = "_meta",
    }
}

wire_struct! {
    /// Result of `resources/read`.
    pub struct ReadResourceResult {
        /// The contents (several for a resource with sub-resources).
        #[serde(default)]
        req contents: Vec<ResourceContents> = "contents",
        ;
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
    /// Parameters of `resources/subscribe` and `resources/unsubscribe` (stateful era).
    pub struct SubscribeParams {
        /// The resource's URI.
        req uri: String = "uri",
        ;
        /// Request metadata.
        opt meta: Meta = "_meta",
    }
}

/// Parameters of `resources/unsubscribe`: the same shape as [`SubscribeParams`].
pub type UnsubscribeParams = SubscribeParams;

wire_struct! {
    /// Parameters of `notifications/resources/updated`.
    pub struct ResourceUpdatedParams {
        /// The URI that changed (possibly a sub-resource of the one subscribed to).
        req uri: String = "uri",
        ;
        /// Notification metadata.
        opt meta: Meta = "_meta",
    }
}
