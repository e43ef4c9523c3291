//! Method names of every request and notification in both eras.

/// `initialize` (client → server, stateful).
pub const INITIALIZE: &str = "initialize";
/// `notifications/initialized` (client → server, stateful).
pub const NOTIFICATIONS_INITIALIZED: &str = "notifications/initialized";
/// `ping` (either direction, stateful; removed in 2026-07-28).
pub const PING: &str = "ping";
/// `server/discover` (client → server, stateless).
pub const SERVER_DISCOVER: &str = "server/discover";
/// `subscriptions/listen` (client → server, stateless).
pub const SUBSCRIPTIONS_LISTEN: &str = "subscriptions/listen";
/// `notifications/subscriptions/acknowledged` (server → client, stateless).
pub const NOTIFICATIONS_SUBSCRIPTIONS_ACKNOWLEDGED: &str =
    "notifications/subscriptions/acknowledged";

/// `notifications/cancelled` (either direction).
pub const NOTIFICATIONS_CANCELLED: &str = "notifications/cancelled";
/// `notifications/progress` (either direction).
pub const NOTIFICATIONS_PROGRESS: &str = "notifications/progress";

/// `tools/list`.
pub const TOOLS_LIST: &str = "tools/list";
/// `tools/call`.
pub const TOOLS_CALL: &str = "tools/call";
/// `notifications/tools/list_changed`.
pub const NOTIFICATIONS_TOOLS_LIST_CHANGED: &str = "notifications/tools/list_changed";

/// `resources/list`.
pub const RESOURCES_LIST: &str = "resources/list";
/// `resources/templates/list`.
pub const RESOURCES_TEMPLATES_LIST: &str = "resources/templates/list";
/// `resources/read`.
pub const RESOURCES_READ: &str = "resources/read";
/// `resources/subscribe` (stateful).
pub const RESOURCES_SUBSCRIBE: &str = "resources/subscribe";
/// `resources/unsubscribe` (stateful).
pub const RESOURCES_UNSUBSCRIBE: &str = "resources/unsubscribe";
/// `notifications/resources/updated`.
pub const NOTIFICATIONS_RESOURCES_UPDATED: &str = "notifications/resources/updated";
/// `notifications/resources/list_changed`.
pub const NOTIFICATIONS_RESOURCES_LIST_CHANGED: &str = "notifications/resources/list_changed";

/// `prompts/list`.
pub const PROMPTS_LIST: &str = "prompts/list";
/// `prompts/get`.
pub const PROMPTS_GET: &str = "prompts/get";
/// `notifications/prompts/list_changed`.
pub const NOTIFICATIONS_PROMPTS_LIST_CHANGED: &str = "notifications/prompts/list_changed";

/// `completion/complete`.
pub const COMPLETION_COMPLETE: &str = "completion/complete";

/// `logging/setLevel` (stateful).
pub const LOGGING_SET_LEVEL: &str = "logging/setLevel";
/// `notifications/message`.
pub const NOTIFICATIONS_MESSAGE: &str = "notifications/message";

/// `roots/list` (server → client; an input request in 2026-07-28).
pub const ROOTS_LIST: &str = "roots/list";
/// `notifications/roots/list_changed` (client → server, stateful).
pub const NOTIFICATIONS_ROOTS_LIST_CHANGED: &str = "notifications/roots/list_changed";

/// `sampling/createMessage` (server → client; an input request in 2026-07-28).
pub const SAMPLING_CREATE_MESSAGE: &str = "sampling/createMessage";

/// `elicitation/create` (server → client; an input request in 2026-07-28).
pub const ELICITATION_CREATE: &str = "elicitation/create";
/// `notifications/elicitation/complete` (server → client, 2025-11-25 only).
pub const NOTIFICATIONS_ELICITATION_COMPLETE: &str = "notifications/elicitation/complete";

/// `tasks/get` (2025-11-25 core and 2026 tasks extension).
pub const TASKS_GET: &str = "tasks/get";
/// `tasks/result` (2025-11-25).
pub const TASKS_RESULT: &str = "tasks/result";
/// `tasks/list` (2025-11-25).
pub const TASKS_LIST: &str = "tasks/list";
/// `tasks/cancel` (2025-11-25 core and 2026 tasks extension).
pub const TASKS_CANCEL: &str = "tasks/cancel";
/// `tasks/update` (2026 tasks extension).
pub const TASKS_UPDATE: &str = "tasks/update";
/// `notifications/tasks/status` (2025-11-25).
pub const NOTIFICATIONS_TASKS_STATUS: &str = "notifications/tasks/status";
/// `notifications/tasks` (2026 tasks extension).
pub const NOTIFICATIONS_TASKS: &str = "notifications/tasks";

/// Requests a client sends in the stateful era (2025-11-25 set).
pub const STATEFUL_CLIENT_REQUESTS: &[&str] = &[
    PING,
    INITIALIZE,
    COMPLETION_COMPLETE,
    LOGGING_SET_LEVEL,
    PROMPTS_GET,
    PROMPTS_LIST,
    RESOURCES_LIST,
    RESOURCES_TEMPLATES_LIST,
    RESOURCES_READ,
    RESOURCES_SUBSCRIBE,
    RESOURCES_UNSUBSCRIBE,
    TOOLS_CALL,
    TOOLS_LIST,
    TASKS_GET,
    TASKS_RESULT,
    TASKS_LIST,
    TASKS_CANCEL,
];

/// Requests a server sends in the stateful era (2025-11-25 set).
pub const STATEFUL_SERVER_REQUESTS: &[&str] = &[
    PING,
    SAMPLING_CREATE_MESSAGE,
    ROOTS_LIST,
    ELICITATION_CREATE,
    TASKS_GET,
    TASKS_RESULT,
    TASKS_LIST,
    TASKS_CANCEL,
];

/// Notifications a client sends in the stateful era.
pub const STATEFUL_CLIENT_NOTIFICATIONS: &[&str] = &[
    NOTIFICATIONS_CANCELLED,
    NOTIFICATIONS_PROGRESS,
    NOTIFICATIONS_INITIALIZED,
    NOTIFICATIONS_ROOTS_LIST_CHANGED,
    NOTIFICATIONS_TASKS_STATUS,
];

/// Notifications a server sends in the stateful era.
pub const STATEFUL_SERVER_NOTIFICATIONS: &[&str] = &[
    NOTIFICATIONS_CANCELLED,
    NOTIFICATIONS_PROGRESS,
    NOTIFICATIONS_MESSAGE,
    NOTIFICATIONS_RESOURCES_UPDATED,
    NOTIFICATIONS_RESOURCES_LIST_CHANGED,
    NOTIFICATIONS_TOOLS_LIST_CHANGED,
    NOTIFICATIONS_PROMPTS_LIST_CHANGED,
    NOTIFICATIONS_ELICITATION_COMPLETE,
    NOTIFICATIONS_TASKS_STATUS,
];

/// Requests a client sends in the stateless era (core, then the tasks extension).
pub const STATELESS_CLIENT_REQUESTS: &[&str] = &[
    SERVER_DISCOVER,
    COMPLETION_COMPLETE,
    PROMPTS_GET,
    PROMPTS_LIST,
    RESOURCES_LIST,
    RESOURCES_TEMPLATES_LIST,
    RESOURCES_READ,
    SUBSCRIPTIONS_LISTEN,
    TOOLS_CALL,
    TOOLS_LIST,
    TASKS_GET,
    TASKS_UPDATE,
    TASKS_CANCEL,
];

/// Notifications a server sends in the stateless era (core, then the tasks extension).
pub const STATELESS_SERVER_NOTIFICATIONS: &[&str] = &[
    NOTIFICATIONS_CANCELLED,
    NOTIFICATIONS_PROGRESS,
    NOTIFICATIONS_MESSAGE,
    NOTIFICATIONS_RESOURCES_UPDATED,
    NOTIFICATIONS_RESOURCES_LIST_CHANGED,
    NOTIFICATIONS_TOOLS_LIST_CHANGED,
    NOTIFICATIONS_PROMPTS_LIST_CHANGED,
    NOTIFICATIONS_SUBSCRIPTIONS_ACKNOWLEDGED,
    NOTIFICATIONS_TASKS,
];

/// Whether `method` is a notification of either era (by name only).
pub fn is_known_notification(method: &str) -> bool {
    STATEFUL_CLIENT_NOTIFICATIONS.contains(&method)
        || STATEFUL_SERVER_NOTIFICATIONS.contains(&method)
        || STATELESS_SERVER_NOTIFICATIONS.contains(&method)
}
