//! Change notifications, logging, completion and list caching — the same API in both eras.
//!
//! * [`Client::listen`]: one [`NotificationStream`] of the changes a [`SubscriptionFilter`]
//!   asks for. Stateful era: the server pushes list_changed on the GET stream, and each URI of
//!   `resource_subscriptions` is subscribed with `resources/subscribe` (and unsubscribed when
//!   the stream is dropped). Stateless era: a `subscriptions/listen` request carrying the
//!   filter stays open for as long as the stream lives; dropping the stream closes it.
//! * [`Client::set_level`]: `logging/setLevel` (stateful) or the `logLevel` `_meta` key of
//!   every later request (stateless); [`Client::log_messages`] streams `notifications/message`
//!   (which also go to `tracing`, target `conduit::server`).
//! * [`Client::complete`] sends `completion/complete`.
//! * List caching: a `tools/list`, `prompts/list`, `resources/list` or
//!   `resources/templates/list` answered with `ttlMs > 0` is served from memory until the TTL
//!   runs out or the matching `list_changed` notification arrives ([`Client::cached_list`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use conduit_protocol::mcp::{
    CompleteParams, CompleteResult, LoggingLevel, ServerNotification, SubscriptionFilter,
};
use conduit_transport::Era;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::client::{CallOptions, Client, ClientInner};
use crate::notifications::NotificationStream;
use crate::Error;

/// Cached list results by method.
#[derive(Default)]
pub(crate) struct ListCache {
    entries: Mutex<HashMap<String, (Instant, Vec<Value>)>>,
}

/// Drops the cached list a `list_changed` notification refers to.
pub(crate) fn invalidate(inner: &ClientInner, notification: &str) {
    let methods: &[&str] = match notification {
        "notifications/tools/list_changed" => &["tools/list"],
        "notifications/prompts/list_changed" => &["prompts/list"],
        "notifications/resources/list_changed" => &["resources/list", "resources/templates/list"],
        _ => &[],
    };
    if let Ok(mut e) = inner.cache.entries.lock() {
        for m in methods {
            e.remove(*m);
        }
    }
}

fn wanted(filter: &SubscriptionFilter, n: &ServerNotification) -> bool {
    use ServerNotification as N;
    match n {
        N::ToolListChanged(_) => filter.tools_list_changed == Some(true),
        N::PromptListChanged(_) => filter.prompts_list_changed == Some(true),
        N::ResourceListChanged(_) => filter.resources_list_changed == Some(true),
        N::ResourceUpdated(u) => filter
            .resource_subscriptions
            .as_ref()
            .is_some_and(|uris| uris.contains(&u.uri)),
        N::TaskStatus(_) | N::Tasks(_) => filter.task_ids.is_some(),
        N::SubscriptionsAcknowledged(_) => true,
        _ => false,
    }
}

/// Undoes stateful resource subscriptions when a listen stream is dropped.
struct Unsubscribe {
    client: Client,
    uris: Vec<String>,
}

impl Drop for Unsubscribe {
    fn drop(&mut self) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let client = self.client.clone();
        let uris = std::mem::take(&mut self.uris);
        handle.spawn(async move {
            for uri in uris {
                if let Err(e) = client.unsubscribe_resource(&uri).await {
                    tracing::debug!(error = %e, uri, "resources/unsubscribe failed");
                }
            }
        });
    }
}

/// Aborts the task holding a `subscriptions/listen` request open.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Client {
    /// Every notification the server sends, parsed (progress included).
    pub fn notifications(&self) -> NotificationStream {
        self.inner().hub.subscribe(|_| true)
    }

    /// The server's log messages (`notifications/message`).
    pub fn log_messages(&self) -> NotificationStream {
        self.inner()
            .hub
            .subscribe(|n| matches!(n, ServerNotification::LoggingMessage(_)))
    }

    /// Sets the lowest level of log messages the server should send.
    pub async fn set_level(&self, level: LoggingLevel) -> Result<(), Error> {
        if let Ok(mut l) = self.inner().log_level.lock() {
            *l = Some(level.clone());
        }
        if self.era() == Some(Era::Stateless) {
            // The stateless era has no setLevel: the level travels in each request's `_meta`.
            return Ok(());
        }
        self.request("logging/setLevel", Some(json!({ "level": level })))
            .await
            .map(|_| ())
    }

    /// `completion/complete`: suggestions for a prompt or resource-template argument.
    pub async fn complete(&self, params: CompleteParams) -> Result<CompleteResult, Error> {
        let params = serde_json::to_value(&params)
            .map_err(|e| Error::Config(format!("unencodable completion params: {e}")))?;
        self.request_typed("completion/complete", Some(params))
            .await
    }

    /// `resources/subscribe` (stateful era). In the stateless era use [`Client::listen`] with
    /// `resource_subscriptions`.
    pub async fn subscribe_resource(&self, uri: &str) -> Result<(), Error> {
        self.request("resources/subscribe", Some(json!({ "uri": uri })))
            .await
            .map(|_| ())
    }

    /// `resources/unsubscribe` (stateful era).
    pub async fn unsubscribe_resource(&self, uri: &str) -> Result<(), Error> {
        self.request("resources/unsubscribe", Some(json!({ "uri": uri })))
            .await
            .map(|_| ())
    }

    /// A stream of the change notifications `filter` asks for, in either era (see the module
    /// documentation). In the stateless era the stream's first item is the server's
    /// `notifications/subscriptions/acknowledged`.
    pub async fn listen(&self, filter: SubscriptionFilter) -> Result<NotificationStream, Error> {
        let f = filter.clone();
        let mut stream = self.inner().hub.subscribe(move |n| wanted(&f, n));
        match self.era() {
            Some(Era::Stateless) => {
                let client = self.clone();
                let params = json!({ "notifications": filter });
                let task = tokio::spawn(async move {
                    // A listen request is long-lived by design: it ends when the stream is
                    // dropped (which closes it) or when the server ends it.
                    let options = CallOptions::timeout(Duration::from_secs(365 * 24 * 3600));
                    if let Err(e) = client
                        .request_with("subscriptions/listen", Some(params), options)
                        .await
                    {
                        tracing::debug!(error = %e, "subscriptions/listen ended");
                    }
                });
                stream.guard = Some(Box::new(AbortOnDrop(task)));
            }
            _ => {
                let uris = filter.resource_subscriptions.clone().unwrap_or_default();
                let mut done = Vec::new();
                for uri in &uris {
                    self.subscribe_resource(uri).await?;
                    done.push(uri.clone());
                }
                if !done.is_empty() {
                    stream.guard = Some(Box::new(Unsubscribe {
                        client: self.clone(),
                        uris: done,
                    }));
                }
            }
        }
        Ok(stream)
    }

    /// Every item of a list method, served from the cache while the server's `ttlMs` hint
    /// holds and no `list_changed` arrived since; fetched (all pages) otherwise.
    pub async fn cached_list<T: DeserializeOwned>(
        &self,
        method: &str,
        field: &str,
    ) -> Result<Vec<T>, Error> {
        let cached = self
            .inner()
            .cache
            .entries
            .lock()
            .ok()
            .and_then(|e| e.get(method).cloned());
        let items = match cached {
            Some((expires, items)) if Instant::now() < expires => items,
            _ => {
                let (items, ttl) = self.fetch_all_raw(method, field).await?;
                if let Some(ttl) = ttl.filter(|t| !t.is_zero()) {
                    if let Ok(mut e) = self.inner().cache.entries.lock() {
                        e.insert(method.to_owned(), (Instant::now() + ttl, items.clone()));
                    }
                }
                items
            }
        };
        items
            .into_iter()
            .map(|v| {
                serde_json::from_value(v)
                    .map_err(|e| Error::protocol(method, format!("malformed `{field}`: {e}")))
            })
            .collect()
    }

    /// Every raw item of a list method and the smallest `ttlMs` of its pages.
    async fn fetch_all_raw(
        &self,
        method: &str,
        field: &str,
    ) -> Result<(Vec<Value>, Option<Duration>), Error> {
        let mut items = Vec::new();
        let mut ttl: Option<Duration> = None;
        let mut seen = std::collections::HashSet::new();
        let mut cursor: Option<String> = None;
        loop {
            let params = cursor.as_ref().map(|c| json!({ "cursor": c }));
            let mut result = self.request(method, params).await?;
            let page_ttl = match result.get("ttlMs").and_then(Value::as_i64) {
                Some(ms) if ms > 0 => Duration::from_millis(ms as u64),
                _ => Duration::ZERO,
            };
            ttl = Some(ttl.map_or(page_ttl, |t| t.min(page_ttl)));
            match result.get_mut(field).map(Value::take) {
                Some(Value::Array(v)) => items.extend(v),
                _ => {
                    return Err(Error::protocol(
                        method,
                        format!("the result has no `{field}` array"),
                    ))
                }
            }
            match result.get("nextCursor") {
                None | Some(Value::Null) => return Ok((items, ttl)),
                Some(Value::String(next)) => {
                    if !seen.insert(next.clone()) {
                        return Err(Error::CursorLoop {
                            method: method.to_owned(),
                            cursor: next.clone(),
                        });
                    }
                    cursor = Some(next.clone());
                }
                Some(_) => return Err(Error::protocol(method, "`nextCursor` is not a string")),
            }
        }
    }
}
