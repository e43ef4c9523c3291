//! Change notifications, logging, completion and list caching — the same API in both eras.
//!
//! * [`Client::listen`]: one [`NotificationStream`] of the changes a [`SubscriptionFilter`]
//!   asks for, whatever the era:
//!   * **Stateful era** (2025-11-25 and before): the server pushes `list_changed` on the
//!     session's `GET` stream, and each URI of `resource_subscriptions` is subscribed with
//!     `resources/subscribe` before `listen` returns. Dropping the stream sends
//!     `resources/unsubscribe` for each (in the background). Only the notification types the
//!     filter asks for reach the stream, even when the server sends more.
//!   * **Stateless era** (2026-07-28): a `subscriptions/listen` request carrying the filter
//!     stays open for as long as the stream lives. `listen` returns once the server has
//!     acknowledged it, and the stream's first item is that
//!     `notifications/subscriptions/acknowledged` (its `notifications` field is what the server
//!     agreed to honour). Only notifications carrying this subscription's
//!     `io.modelcontextprotocol/subscriptionId` (or none at all) and matching the filter reach
//!     the stream. Dropping the stream closes the request's SSE stream, which is how the
//!     client cancels a subscription over HTTP. When the connection breaks (or an idle
//!     timeout ends it) the request is sent again after a backoff, the list cache is emptied
//!     (changes may have been missed), and the server's new acknowledgement arrives on the same
//!     stream. After five failed attempts in a row, or when the server ends the subscription
//!     gracefully (its `subscriptions/listen` result) or refuses it, the stream ends after
//!     delivering what had arrived, and [`NotificationStream::listen_outcome`] tells how.
//! * [`Client::set_level`]: `logging/setLevel` (stateful) or the `logLevel` `_meta` key of
//!   every later request (stateless); [`Client::log_messages`] streams `notifications/message`
//!   (which also go to `tracing`, target `conduit::server`).
//! * [`Client::complete`] sends `completion/complete`.
//! * List caching: [`Client::list_tools`], [`Client::list_prompts`], [`Client::list_resources`]
//!   and [`Client::list_resource_templates`] go through a cache that follows the 2026-07-28
//!   `ttlMs` hint of `CacheableResult`. A result with `ttlMs > 0` (the smallest over its pages)
//!   is served from memory until the TTL runs out or the matching `list_changed` notification
//!   arrives — on a listen stream or the stateful `GET` stream, whether or not anyone consumes
//!   a stream; `ttlMs` 0 or absent (every stateful-era server) means "fetch every time". The
//!   cache belongs to one [`Client`], and a client holds one credential, so entries never cross
//!   authorization contexts: `cacheScope: "private"` results are cached exactly like `"public"`
//!   ones, per client. [`Client::invalidate_lists`] empties it; the `*_page` methods and
//!   [`Client::list_all`] never use it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use conduit_protocol::jsonrpc::RequestId;
use conduit_protocol::mcp::{
    CompleteParams, CompleteResult, LoggingLevel, Meta, ServerNotification, SubscriptionFilter,
};
use conduit_transport::Era;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::client::{CallOptions, Client, ClientInner};
use crate::notifications::NotificationStream;
use crate::Error;

/// `_meta` key naming the `subscriptions/listen` stream a notification belongs to.
const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

/// The longest a list is kept, whatever `ttlMs` says.
const MAX_TTL: Duration = Duration::from_secs(24 * 3600);

/// One cached list.
struct Entry {
    expires: Instant,
    items: Vec<Value>,
}

/// Cached list results by method, and a generation per method that every invalidation bumps,
/// so that a fetch that was in flight when a `list_changed` arrived is not stored.
#[derive(Default)]
pub(crate) struct ListCache {
    entries: Mutex<HashMap<String, Entry>>,
    generations: Mutex<HashMap<String, u64>>,
}

impl ListCache {
    fn generation(&self, method: &str) -> u64 {
        self.generations
            .lock()
            .ok()
            .and_then(|g| g.get(method).copied())
            .unwrap_or(0)
    }

    fn drop_methods(&self, methods: &[&str]) {
        // Bump first: a fetch finishing between the two locks then sees the new generation.
        if let Ok(mut g) = self.generations.lock() {
            for m in methods {
                *g.entry((*m).to_owned()).or_insert(0) += 1;
            }
        }
        if let Ok(mut e) = self.entries.lock() {
            for m in methods {
                e.remove(*m);
            }
        }
    }
}

/// The list methods the cache serves.
const CACHED_LISTS: &[&str] = &[
    "tools/list",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
];

/// Drops the cached list a `list_changed` notification refers to.
pub(crate) fn invalidate(inner: &ClientInner, notification: &str) {
    let methods: &[&str] = match notification {
        "notifications/tools/list_changed" => &["tools/list"],
        "notifications/prompts/list_changed" => &["prompts/list"],
        "notifications/resources/list_changed" => &["resources/list", "resources/templates/list"],
        _ => &[],
    };
    inner.cache.drop_methods(methods);
}

tokio::task_local! {
    /// Told the id of each request sent from the task (the `subscriptions/listen` task uses it
    /// to learn its subscription id).
    static ON_REQUEST_ID: Arc<dyn Fn(&RequestId) + Send + Sync>;
}

/// Called by `Client::request_with` with each request id it sends.
pub(crate) fn note_request_id(id: &RequestId) {
    let _ = ON_REQUEST_ID.try_with(|hook| hook(id));
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

/// The `_meta` of the change notifications a listen stream carries.
fn meta_of(n: &ServerNotification) -> Option<&Meta> {
    use ServerNotification as N;
    match n {
        N::ToolListChanged(p) | N::PromptListChanged(p) | N::ResourceListChanged(p) => {
            p.meta.as_ref()
        }
        N::ResourceUpdated(u) => u.meta.as_ref(),
        N::SubscriptionsAcknowledged(a) => a.meta.as_ref(),
        _ => None,
    }
}

/// Whether a notification belongs to the listen stream whose request ids are `ids`: it names
/// one of them, or (a lenient reading of servers that leave the id out) it names none and is
/// not another subscription's acknowledgement.
fn belongs(ids: &Mutex<Vec<Value>>, n: &ServerNotification) -> bool {
    match meta_of(n).and_then(|m| m.get(SUBSCRIPTION_ID)) {
        Some(id) => ids.lock().is_ok_and(|ids| ids.contains(id)),
        None => !matches!(n, ServerNotification::SubscriptionsAcknowledged(_)),
    }
}

/// How many times in a row a broken `subscriptions/listen` is sent again before the stream
/// ends with the error (the count restarts whenever the server acknowledges).
const MAX_RELISTENS: u32 = 5;

/// Keeps a `subscriptions/listen` request open: it ends when the stream is dropped (which
/// aborts the task running this, closing the request's SSE stream), when the server ends the
/// subscription (`Ok`), or with the error of a request that cannot be sent again. A transport
/// failure (the connection broke, an idle timeout) sends the request again after a backoff;
/// the new acknowledgement then reaches the stream, and the list cache is emptied, as changes
/// may have been missed meanwhile.
async fn hold_listen(client: &Client, params: Value, acks: &AtomicUsize) -> Result<(), Error> {
    const METHOD: &str = "subscriptions/listen";
    let mut failures = 0u32;
    loop {
        let acked_before = acks.load(Ordering::Acquire);
        // A listen request is long-lived by design; only the stream's lifetime bounds it.
        let options = CallOptions::timeout(Duration::from_secs(365 * 24 * 3600));
        match client
            .request_with(METHOD, Some(params.clone()), options)
            .await
        {
            Ok(_) => {
                tracing::debug!("the server ended a subscriptions/listen stream");
                return Ok(());
            }
            Err(Error::Transport(e)) if !client.is_closed() => {
                let acknowledged = acks.load(Ordering::Acquire) > acked_before;
                failures = if acknowledged { 1 } else { failures + 1 };
                if failures > MAX_RELISTENS {
                    return Err(Error::Transport(e));
                }
                client.invalidate_lists();
                let delay = Duration::from_millis(250 << failures.min(6));
                tracing::debug!(error = %e, delay_ms = delay.as_millis() as u64, "subscriptions/listen broke; listening again");
                tokio::time::sleep(delay).await;
            }
            Err(e) => {
                tracing::debug!(error = %e, "subscriptions/listen ended");
                return Err(e);
            }
        }
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
    /// documentation). In the stateless era `listen` returns once the server acknowledged the
    /// subscription, and the stream's first item is that
    /// `notifications/subscriptions/acknowledged`; a server that refuses `subscriptions/listen`
    /// (or does not acknowledge it within the client's request timeout) is an error here.
    /// Dropping the stream ends the subscription on the server. In the stateful era the
    /// notifications come over the server-to-client GET stream: a client built with
    /// [`ClientBuilder::listen_stream(false)`](crate::ClientBuilder::listen_stream) gets only
    /// those the server sends on its calls' own streams.
    pub async fn listen(&self, filter: SubscriptionFilter) -> Result<NotificationStream, Error> {
        match self.era() {
            Some(Era::Stateless) => self.listen_stateless(filter).await,
            _ => {
                let f = filter.clone();
                let mut stream = self.inner().hub.subscribe(move |n| wanted(&f, n));
                let uris = filter.resource_subscriptions.clone().unwrap_or_default();
                let mut done = Unsubscribe {
                    client: self.clone(),
                    uris: Vec::new(),
                };
                for uri in &uris {
                    // On failure, dropping `done` undoes the subscriptions made so far.
                    self.subscribe_resource(uri).await?;
                    done.uris.push(uri.clone());
                }
                if !done.uris.is_empty() {
                    stream.guard = Some(Box::new(done));
                }
                Ok(stream)
            }
        }
    }

    async fn listen_stateless(
        &self,
        filter: SubscriptionFilter,
    ) -> Result<NotificationStream, Error> {
        const METHOD: &str = "subscriptions/listen";
        let ids: Arc<Mutex<Vec<Value>>> = Arc::default();
        let f = filter.clone();
        let mine = Arc::clone(&ids);
        let acked = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&acked);
        let mut stream = self.inner().hub.subscribe(move |n| {
            let ours = wanted(&f, n) && belongs(&mine, n);
            if ours && matches!(n, ServerNotification::SubscriptionsAcknowledged(_)) {
                counter.fetch_add(1, Ordering::AcqRel);
            }
            ours
        });
        let hook_ids = Arc::clone(&ids);
        let hook: Arc<dyn Fn(&RequestId) + Send + Sync> = Arc::new(move |id: &RequestId| {
            if let (Ok(mut ids), Ok(id)) = (hook_ids.lock(), serde_json::to_value(id)) {
                ids.push(id);
            }
        });
        let client = self.clone();
        let params = json!({ "notifications": filter });
        let (done_tx, mut done_rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(ON_REQUEST_ID.scope(hook, async move {
            let outcome = hold_listen(&client, params, &acked).await;
            let _ = done_tx.send(outcome);
        }));
        stream.guard = Some(Box::new(AbortOnDrop(task)));
        let timeout = self.inner().settings.timeout;
        tokio::select! {
            first = stream.recv() => match first {
                Some(ack) => stream.first = Some(ack),
                None => return Err(Error::Closed),
            },
            outcome = &mut done_rx => {
                return Err(match outcome {
                    Ok(Err(e)) => e,
                    Ok(Ok(())) => Error::protocol(
                        METHOD,
                        "the server ended the subscription before acknowledging it",
                    ),
                    Err(_) => Error::Closed,
                })
            }
            () = tokio::time::sleep(timeout) => {
                return Err(Error::Timeout { method: METHOD.to_owned(), after: timeout })
            }
        }
        let flusher = self.clone();
        stream.end = Some(Box::pin(async move {
            let outcome = done_rx.await.unwrap_or(Err(Error::Closed));
            // Notifications the server sent before its final result are queued in the
            // dispatcher ahead of this flush: once it is through, they are on the stream.
            flusher.inner().flush_inbound().await;
            outcome
        }));
        Ok(stream)
    }

    /// Every item of a list method through the list cache (see the module documentation):
    /// served from memory while the server's `ttlMs` hint holds and no matching `list_changed`
    /// arrived since; fetched (all pages) otherwise. `list_tools`, `list_prompts`,
    /// `list_resources` and `list_resource_templates` use it.
    pub async fn cached_list<T: DeserializeOwned>(
        &self,
        method: &str,
        field: &str,
    ) -> Result<Vec<T>, Error> {
        let cache = &self.inner().cache;
        let cached = cache.entries.lock().ok().and_then(|e| {
            e.get(method)
                .filter(|entry| Instant::now() < entry.expires)
                .map(|entry| entry.items.clone())
        });
        let items = match cached {
            Some(items) => items,
            None => {
                let generation = cache.generation(method);
                let (items, ttl) = self.fetch_all_raw(method, field).await?;
                if let Some(ttl) = ttl.filter(|t| !t.is_zero()) {
                    if CACHED_LISTS.contains(&method) {
                        if let Ok(mut e) = cache.entries.lock() {
                            // Not if a `list_changed` arrived while fetching.
                            if cache.generation(method) == generation {
                                e.insert(
                                    method.to_owned(),
                                    Entry {
                                        expires: Instant::now() + ttl,
                                        items: items.clone(),
                                    },
                                );
                            }
                        }
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

    /// Empties the list cache, so that the next `list_tools`, `list_prompts`, `list_resources`
    /// and `list_resource_templates` fetch from the server whatever `ttlMs` said. (Lists fetched
    /// one page at a time, and [`Client::list_all`], never use the cache.)
    pub fn invalidate_lists(&self) {
        self.inner().cache.drop_methods(CACHED_LISTS);
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
            let page_ttl = result
                .get("ttlMs")
                .and_then(Value::as_u64)
                .map_or(Duration::ZERO, |ms| Duration::from_millis(ms).min(MAX_TTL));
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
