//! Roots: directories or files the client exposes (deprecated in 2026-07-28).

use super::common::{Meta, ResultType};

wire_struct! {
    /// A root.
    pub struct Root {
        /// A `file://` URI.
        req uri: String = "uri",
        ;
        /// A display name.
        opt name: String = "name",
        /// Metadata.
        opt meta: Meta = "_meta",
    }
}

wire_struct! {
    /// Result of `roots/list`.
    #[derive(Default)]
    pub struct ListRootsResult {
        /// The roots.
        #[serde(default)]
        req roots: Vec<Root> = "roots",
        ;
        /// `resultType` (2026-07-28).
        opt result_type: ResultType = "resultType",
        /// Metadata.
        opt meta: Meta = "_meta",
    }
}
