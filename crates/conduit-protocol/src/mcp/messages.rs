//! Typed views of the messages a client receives from a server.
//!
//! Parsing is by method name. A method this crate does not know is not an error: it comes back
//! as the raw JSON-RPC message in the `Other` variant. A known method whose params are malformed
//! is an error naming the method.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::jsonrpc::{Notification, Request, RequestId};

use super::common::PaginatedParams;
use super::common::{from_params, to_params, NotificationParams, RequestParams};
use super::elicitation::{ElicitRequestParams, ElicitationCompleteParams};
use super::logging::LoggingMessageParams;
use super::methods as m;
use super::resources::ResourceUpdatedParams;
use super::sampling::CreateMessageParams;
use super::stateless::SubscriptionsAcknowledgedParams;
use super::tasks::{DetailedTask, TaskIdParams, TaskStatusNotificationParams};
use super::utilities::{CancelledNotificationParams, ProgressNotificationParams};

/// Why a known message could not be parsed.
#[derive(Debug)]
pub struct MessageParamsError {
    /// The method.
    pub method: String,
    /// The serde error.
    pub error: serde_json::Error,
}

impl std::fmt::Display for MessageParamsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed params for `{}`: {}", self.method, self.error)
    }
}

impl std::error::Error for MessageParamsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

fn typed<T: DeserializeOwned>(
    method: &str,
    params: Option<&serde_json::Value>,
) -> Result<T, MessageParamsError> {
    from_params(params).map_err(|error| MessageParamsError {
        method: method.to_owned(),
        error,
    })
}

/// A notification from a server, in either era.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ServerNotification {
    /// `notifications/cancelled`.
    Cancelled(CancelledNotificationParams),
    /// `notifications/progress`.
    Progress(ProgressNotificationParams),
    /// `notifications/message`.
    LoggingMessage(LoggingMessageParams),
    /// `notifications/resources/updated`.
    ResourceUpdated(ResourceUpdatedParams),
    /// `notifications/resources/list_changed`.
    ResourceListChanged(NotificationParams),
    /// `notifications/tools/list_changed`.
    ToolListChanged(NotificationParams),
    /// `notifications/prompts/list_changed`.
    PromptListChanged(NotificationParams),
    /// `notifications/elicitation/complete` (2025-11-25).
    ElicitationComplete(ElicitationCompleteParams),
    /// `notifications/tasks/status` (2025-11-25).
    TaskStatus(TaskStatusNotificationParams),
    /// `notifications/tasks` (2026 tasks extension).
    Tasks(Box<DetailedTask>),
    /// `notifications/subscriptions/acknowledged` (2026-07-28).
    SubscriptionsAcknowledged(SubscriptionsAcknowledgedParams),
    /// Any other method, kept as received.
    Other(Notification),
}

impl ServerNotification {
    /// Parses a notification by its method.
    pub fn parse(n: &Notification) -> Result<Self, MessageParamsError> {
        let p = n.params.as_ref();
        let meth = n.method.as_str();
        Ok(match meth {
            m::NOTIFICATIONS_CANCELLED => Self::Cancelled(typed(meth, p)?),
            m::NOTIFICATIONS_PROGRESS => Self::Progress(typed(meth, p)?),
            m::NOTIFICATIONS_MESSAGE => Self::LoggingMessage(typed(meth, p)?),
            m::NOTIFICATIONS_RESOURCES_UPDATED => Self::ResourceUpdated(typed(meth, p)?),
            m::NOTIFICATIONS_RESOURCES_LIST_CHANGED => Self::ResourceListChanged(typed(meth, p)?),
            m::NOTIFICATIONS_TOOLS_LIST_CHANGED => Self::ToolListChanged(typed(meth, p)?),
            m::NOTIFICATIONS_PROMPTS_LIST_CHANGED => Self::PromptListChanged(typed(meth, p)?),
            m::NOTIFICATIONS_ELICITATION_COMPLETE => Self::ElicitationComplete(typed(meth, p)?),
            m::NOTIFICATIONS_TASKS_STATUS => Self::TaskStatus(typed(meth, p)?),
            m::NOTIFICATIONS_TASKS => Self::Tasks(Box::new(typed(meth, p)?)),
            m::NOTIFICATIONS_SUBSCRIPTIONS_ACKNOWLEDGED => {
                Self::SubscriptionsAcknowledged(typed(meth, p)?)
            }
            _ => Self::Other(n.clone()),
        })
    }

    /// The method name.
    pub fn method(&self) -> &str {
        match self {
            Self::Cancelled(_) => m::NOTIFICATIONS_CANCELLED,
            Self::Progress(_) => m::NOTIFICATIONS_PROGRESS,
            Self::LoggingMessage(_) => m::NOTIFICATIONS_MESSAGE,
            Self::ResourceUpdated(_) => m::NOTIFICATIONS_RESOURCES_UPDATED,
            Self::ResourceListChanged(_) => m::NOTIFICATIONS_RESOURCES_LIST_CHANGED,
            Self::ToolListChanged(_) => m::NOTIFICATIONS_TOOLS_LIST_CHANGED,
            Self::PromptListChanged(_) => m::NOTIFICATIONS_PROMPTS_LIST_CHANGED,
            Self::ElicitationComplete(_) => m::NOTIFICATIONS_ELICITATION_COMPLETE,
            Self::TaskStatus(_) => m::NOTIFICATIONS_TASKS_STATUS,
            Self::Tasks(_) => m::NOTIFICATIONS_TASKS,
            Self::SubscriptionsAcknowledged(_) => m::NOTIFICATIONS_SUBSCRIPTIONS_ACKNOWLEDGED,
            Self::Other(n) => &n.method,
        }
    }

    /// Back to a JSON-RPC notification.
    pub fn to_notification(&self) -> Result<Notification, serde_json::Error> {
        fn n<T: Serialize>(method: &str, p: &T) -> Result<Notification, serde_json::Error> {
            Ok(Notification::new(method, to_params(p)?))
        }
        let meth = self.method();
        match self {
            Self::Cancelled(p) => n(meth, p),
            Self::Progress(p) => n(meth, p),
            Self::LoggingMessage(p) => n(meth, p),
            Self::ResourceUpdated(p) => n(meth, p),
            Self::ResourceListChanged(p)
            | Self::ToolListChanged(p)
            | Self::PromptListChanged(p) => n(meth, p),
            Self::ElicitationComplete(p) => n(meth, p),
            Self::TaskStatus(p) => n(meth, p),
            Self::Tasks(p) => n(meth, p),
            Self::SubscriptionsAcknowledged(p) => n(meth, p),
            Self::Other(x) => Ok(x.clone()),
        }
    }
}

/// A request from a server to the client (stateful era; in 2026-07-28 these arrive as input
/// requests instead).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ServerRequestKind {
    /// `ping`.
    Ping(RequestParams),
    /// `sampling/createMessage`.
    CreateMessage(Box<CreateMessageParams>),
    /// `roots/list`.
    ListRoots(RequestParams),
    /// `elicitation/create`.
    Elicit(ElicitRequestParams),
    /// `tasks/get`.
    GetTask(TaskIdParams),
    /// `tasks/result`.
    GetTaskPayload(TaskIdParams),
    /// `tasks/list`.
    ListTasks(PaginatedParams),
    /// `tasks/cancel`.
    CancelTask(TaskIdParams),
    /// Any other method, kept as received (answer with method-not-found).
    Other(Request),
}

/// A parsed server request with its id.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerRequest {
    /// The request id to answer.
    pub id: RequestId,
    /// What is asked.
    pub kind: ServerRequestKind,
}

impl ServerRequest {
    /// Parses a request by its method.
    pub fn parse(r: &Request) -> Result<Self, MessageParamsError> {
        use ServerRequestKind as K;
        let p = r.params.as_ref();
        let meth = r.method.as_str();
        let kind = match meth {
            m::PING => K::Ping(typed(meth, p)?),
            m::SAMPLING_CREATE_MESSAGE => K::CreateMessage(Box::new(typed(meth, p)?)),
            m::ROOTS_LIST => K::ListRoots(typed(meth, p)?),
            m::ELICITATION_CREATE => K::Elicit(typed(meth, p)?),
            m::TASKS_GET => K::GetTask(typed(meth, p)?),
            m::TASKS_RESULT => K::GetTaskPayload(typed(meth, p)?),
            m::TASKS_LIST => K::ListTasks(typed(meth, p)?),
            m::TASKS_CANCEL => K::CancelTask(typed(meth, p)?),
            _ => K::Other(r.clone()),
        };
        Ok(ServerRequest {
            id: r.id.clone(),
            kind,
        })
    }
}
