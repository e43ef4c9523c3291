//! State shared by every connection of one gateway: configuration, faults, sessions, SSE
//! streams, the request log and background tasks.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use http::request::Parts;
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::GatewayConfig;
use crate::faults::Faults;
use crate::record::RecordedRequest;
use crate::sse::Streams;

/// Locks a mutex, ignoring poisoning (the data stays usable for a test server).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One stateful-era session.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// The protocol version negotiated by `initialize`.
    pub(crate) protocol_version: String,
    /// Whether `notifications/initialized` has arrived.
    pub(crate) initialized: bool,
}

pub(crate) struct State {
    pub(crate) config: GatewayConfig,
    faults: Mutex<Faults>,
    log: Mutex<Vec<RecordedRequest>>,
    sessions: Mutex<HashMap<String, Session>>,
    sessions_created: AtomicUsize,
    early_requests: AtomicUsize,
    pub(crate) streams: Mutex<Streams>,
    shutdown: watch::Sender<bool>,
    tasks: Mutex<JoinSet<()>>,
    /// Open WebSocket connections and their subscriptions.
    pub(crate) ws: crate::ws::Hub,
    pub(crate) oauth: crate::oauth::AuthServer,
    /// Stateful server-to-client requests waiting for the client's response, by id.
    pub(crate) client_answers: Mutex<HashMap<String, tokio::sync::oneshot::Sender<Value>>>,
    /// `requestState` values issued by `input_required` results and not yet redeemed.
    pub(crate) request_states: Mutex<std::collections::HashSet<String>>,
    /// MCP tasks (see `features::tasks`).
    pub(crate) mcp_tasks: crate::features::tasks::TaskStore,
    /// Stateless `subscriptions/listen` streams (see `features::subscriptions`).
    pub(crate) listens: Mutex<crate::features::subscriptions::Registry>,
    /// The `x-mcp-header` declarations of the tool `route` (listed and enforced).
    pub(crate) param_headers: crate::features::param_headers::Declarations,
    /// URL elicitations issued by `-32042` (see `features::url_elicitation`).
    pub(crate) url_elicitations: crate::features::url_elicitation::Store,
    /// Calls of the unlisted `hold` tool waiting to be released.
    pub(crate) holds: crate::features::hold::Holds,
}

impl State {
    pub(crate) fn new(config: GatewayConfig) -> State {
        let faults = config.faults.clone();
        let oauth = crate::oauth::AuthServer::new(config.oauth.clone());
        State {
            oauth,
            config,
            faults: Mutex::new(faults),
            log: Mutex::new(Vec::new()),
            sessions: Mutex::new(HashMap::new()),
            sessions_created: AtomicUsize::new(0),
            early_requests: AtomicUsize::new(0),
            streams: Mutex::new(Streams::default()),
            shutdown: watch::channel(false).0,
            tasks: Mutex::new(JoinSet::new()),
            ws: crate::ws::Hub::default(),
            client_answers: Mutex::new(HashMap::new()),
            request_states: Mutex::new(std::collections::HashSet::new()),
            mcp_tasks: crate::features::tasks::TaskStore::default(),
            listens: Mutex::default(),
            param_headers: Default::default(),
            url_elicitations: Default::default(),
            holds: Default::default(),
        }
    }

    // ---- faults ----

    pub(crate) fn faults(&self) -> Faults {
        lock(&self.faults).clone()
    }

    pub(crate) fn set_faults(&self, faults: Faults) {
        *lock(&self.faults) = faults;
    }

    /// Consumes one pending version rejection ([`Faults::reject_versions`]), if any.
    pub(crate) fn take_version_rejection(&self) -> bool {
        let mut faults = lock(&self.faults);
        if faults.reject_versions > 0 {
            faults.reject_versions -= 1;
            true
        } else {
            false
        }
    }

    // ---- request log ----

    pub(crate) fn record(&self, parts: &Parts, body: Option<Value>) {
        let headers = parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let rpc_method = body
            .as_ref()
            .and_then(|b| b.get("method"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        lock(&self.log).push(RecordedRequest {
            http_method: parts.method.as_str().to_owned(),
            path: parts.uri.path().to_owned(),
            headers,
            body,
            rpc_method,
        });
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.log).clone()
    }

    pub(crate) fn clear_requests(&self) {
        lock(&self.log).clear();
    }

    // ---- sessions ----

    pub(crate) fn create_session(&self, protocol_version: &str) -> String {
        let mut sessions = lock(&self.sessions);
        let id = loop {
            let candidate = format!("{:032x}", rand::random::<u128>());
            if !sessions.contains_key(&candidate) {
                break candidate;
            }
        };
        sessions.insert(
            id.clone(),
            Session {
                protocol_version: protocol_version.to_owned(),
                initialized: false,
            },
        );
        self.sessions_created.fetch_add(1, Ordering::SeqCst);
        id
    }

    pub(crate) fn session(&self, id: &str) -> Option<Session> {
        lock(&self.sessions).get(id).cloned()
    }

    pub(crate) fn update_session(&self, id: &str, f: impl FnOnce(&mut Session)) {
        if let Some(s) = lock(&self.sessions).get_mut(id) {
            f(s);
        }
    }

    pub(crate) fn end_session(&self, id: &str) -> bool {
        let removed = lock(&self.sessions).remove(id).is_some();
        if removed {
            lock(&self.streams).close_session(id);
        }
        removed
    }

    pub(crate) fn expire_sessions(&self) {
        let ids: Vec<String> = lock(&self.sessions).drain().map(|(id, _)| id).collect();
        let mut streams = lock(&self.streams);
        for id in ids {
            streams.close_session(&id);
        }
    }

    pub(crate) fn sessions_created(&self) -> usize {
        self.sessions_created.load(Ordering::SeqCst)
    }

    pub(crate) fn note_early_request(&self) {
        self.early_requests.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn early_requests(&self) -> usize {
        self.early_requests.load(Ordering::SeqCst)
    }

    pub(crate) fn sessions_active(&self) -> usize {
        lock(&self.sessions).len()
    }

    // ---- lifecycle ----

    /// Spawns work that must survive the HTTP connection (e.g. an SSE answer being produced
    /// while the client reconnects). Aborted at shutdown.
    pub(crate) fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) {
        let mut tasks = lock(&self.tasks);
        while tasks.try_join_next().is_some() {}
        tasks.spawn(fut);
    }

    pub(crate) fn shutdown_receiver(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Resolves once shutdown has begun.
    pub(crate) async fn until_shutdown(&self) {
        let mut rx = self.shutdown.subscribe();
        let _ = rx.wait_for(|down| *down).await;
    }

    /// Begins shutdown: signals everyone, ends every SSE connection, aborts background work.
    pub(crate) fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
        crate::features::subscriptions::end_all(self);
        lock(&self.streams).close_all();
        lock(&self.tasks).abort_all();
    }
}
