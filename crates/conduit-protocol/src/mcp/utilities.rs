//! Progress and cancellation notifications.

use crate::jsonrpc::RequestId;

use super::common::{Meta, ProgressToken};

wire_struct! {
    /// Parameters of `notifications/progress`.
    pub struct ProgressNotificationParams {
        /// The token from the request's `_meta.progressToken`.
        req progress_token: ProgressToken = "progressToken",
        /// Progress so far (increases with each notification).
        #[serde(serialize_with = "crate::mcp::common::num::one")]
        req progress: f64 = "progress",
        ;
        /// The total, if known.
        #[serde(serialize_with = "crate::mcp::common::num::opt")]
        opt total: f64 = "total",
        /// A human-readable message (2025-03-26 on).
        opt message: String = "message",
        /// Notification metadata.
        opt meta: Meta = "_meta",
    }
}

wire_struct! {
    /// Parameters of `notifications/cancelled`.
    #[derive(Default)]
    pub struct CancelledNotificationParams {
        ;
        /// The request being cancelled (required except for 2025-11-25 task cancellation, which
        /// uses `tasks/cancel` instead).
        opt request_id: RequestId = "requestId",
        /// Why.
        opt reason: String = "reason",
        /// Notification metadata.
        opt meta: Meta = "_meta",
    }
}
