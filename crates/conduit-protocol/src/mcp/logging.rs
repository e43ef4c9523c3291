//! Logging: `logging/setLevel` (stateful era), `notifications/message`, and the per-request
//! `io.modelcontextprotocol/logLevel` (stateless era). Deprecated in 2026-07-28.

use serde_json::Value;

use super::common::Meta;

string_enum! {
    /// Log severity (RFC 5424 levels).
    pub enum LoggingLevel {
        /// Debug.
        Debug = "debug",
        /// Info.
        Info = "info",
        /// Notice.
        Notice = "notice",
        /// Warning.
        Warning = "warning",
        /// Error.
        Error = "error",
        /// Critical.
        Critical = "critical",
        /// Alert.
        Alert = "alert",
        /// Emergency.
        Emergency = "emergency",
    }
}

impl LoggingLevel {
    /// Severity rank: 0 for `debug` up to 7 for `emergency`; `None` for an unknown level.
    pub fn severity(&self) -> Option<u8> {
        Some(match self {
            LoggingLevel::Debug => 0,
            LoggingLevel::Info => 1,
            LoggingLevel::Notice => 2,
            LoggingLevel::Warning => 3,
            LoggingLevel::Error => 4,
            LoggingLevel::Critical => 5,
            LoggingLevel::Alert => 6,
            LoggingLevel::Emergency => 7,
            LoggingLevel::Other(_) => return None,
        })
    }
}

wire_struct! {
    /// Parameters of `logging/setLevel`.
    pub struct SetLevelParams {
        /// The lowest level the client wants.
        req level: LoggingLevel = "level",
        ;
        /// Request metadata.
        opt meta: Meta = "_meta",
    }
}

wire_struct! {
    /// Parameters of `notifications/message`.
    pub struct LoggingMessageParams {
        /// The severity.
        req level: LoggingLevel = "level",
        /// The payload: any JSON.
        #[serde(default)]
        req data: Value = "data",
        ;
        /// The logger's name.
        opt logger: String = "logger",
        /// Notification metadata.
        opt meta: Meta = "_meta",
    }
}
