//! The WebSocket transport: DataGrout's `datagrout-jsonrpc.v1` subprotocol.
//!
//! One persistent `ws://` or `wss://` connection carries every request, multiplexed and matched
//! by id, plus topic subscriptions pushed by the server.
//!
//! * **Wire** (as the reference SDK): the upgrade offers the subprotocol
//!   [`SUBPROTOCOL`] and carries the [`Authorizer`](conduit_http::Authorizer)'s headers (a 401
//!   on the upgrade is answered as over HTTP: [`Authorizer::on_unauthorized`](conduit_http::Authorizer::on_unauthorized)
//!   may refresh the credentials for one more upgrade, then it is
//!   [`TransportError::Unauthorized`]); request
//!   ids on the wire are `"ws-1"`, `"ws-2"`, … from one counter shared with subscribe and
//!   unsubscribe (the caller's ids are restored on the responses); `subscribe` sends
//!   `{"topic": T}` and takes `result.subscription` (or the request id) as the subscription
//!   id; `unsubscribe` sends `{"subscription": ID}`; events arrive as id-less
//!   `{"method": "notification", "params": {"subscription", "event", "data"}}` frames. No MCP
//!   handshake ([`Handshake::None`]).
//! * **TLS** comes from [`HttpConfig::rustls_config`](conduit_http::HttpConfig::rustls_config)
//!   with [`Alpn::Http1`](conduit_http::Alpn::Http1): the same roots, client certificate (mTLS)
//!   and ring provider as the HTTP transports. A server refusing the client certificate is a
//!   [`TransportError::Connect`] whose message says so. When the client certificate changes
//!   (its [`generation`](conduit_http::ClientCertificate::generation) moves: identity rotation),
//!   the next call made while no call is in flight closes the connection and reconnects at
//!   once, so that it and later calls present the new certificate; calls in flight keep their
//!   connection and finish undisturbed.
//! * **Concurrency**: one actor task owns the connection state and a writer task owns the
//!   socket's sending half; responses are matched by id in any order (no head-of-line
//!   blocking). A response with an unknown id is logged and dropped.
//! * **Keepalive**: a ping every [`WsConfig::ping_interval`] (25 s, the reference's); a
//!   connection that sends nothing back for [`WsConfig::pong_timeout`] after a ping is
//!   declared dead, so a dead peer is detected within `ping_interval + pong_timeout`.
//! * **Reconnection** (the reference has none): after a drop the transport reconnects with
//!   jittered exponential backoff ([`Backoff`]), re-authenticates (the authorizer is asked
//!   again for the upgrade), subscribes again to every live topic and puts a
//!   [`TopicEvent::Reconnected`] marker in each subscription. Requests in flight at the drop
//!   fail with [`TransportError::ConnectionLost`], except those whose
//!   [`RequestContext::idempotent`] is set: they are sent again on the new connection.
//!   Requests made while reconnecting wait for the new connection (within the caller's
//!   deadline).
//! * **Buffers**: each subscription buffers at most [`WsConfig::subscription_capacity`] events,
//!   dropping the oldest and counting them (see [`conduit_transport::topics`]).
//! * [`Transport::close`] sends a close frame, fails everything pending with
//!   [`TransportError::Closed`], ends every subscription and stops both tasks, all within
//!   [`WsConfig::close_timeout`].

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod actor;
mod connect;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use conduit_http::HttpClient;
use conduit_protocol::jsonrpc::{Message, Notification, Request, Response};
use conduit_transport::topics::{Subscription, SubscriptionOwner, SubscriptionQueue};
use conduit_transport::{
    BoxFuture, Handshake, InboundSender, RequestContext, Transport, TransportError,
};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub use conduit_transport::topics::{TopicEvent, DEFAULT_SUBSCRIPTION_CAPACITY};

use actor::Command;

/// The WebSocket subprotocol DataGrout gateways speak.
pub const SUBPROTOCOL: &str = "datagrout-jsonrpc.v1";

/// The reference SDK's ping interval (and pong deadline).
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(25);

/// Jittered exponential backoff between reconnection attempts.
#[derive(Clone, Debug)]
pub struct Backoff {
    /// The delay before the first attempt (default 200 ms).
    pub initial: Duration,
    /// The longest delay (default 30 s).
    pub max: Duration,
    /// The growth factor between attempts (default 2).
    pub multiplier: f64,
    /// Give up after this many consecutive failed attempts (default: never). After giving up,
    /// the transport is closed and every call fails.
    pub max_attempts: Option<u32>,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(200),
            max: Duration::from_secs(30),
            multiplier: 2.0,
            max_attempts: None,
        }
    }
}

impl Backoff {
    /// The delay before attempt `attempt` (0-based): `initial * multiplier^attempt`, capped at
    /// `max`, then scaled by a random factor in `[0.5, 1.0)` so that many clients dropped at
    /// once do not reconnect in lockstep.
    pub fn delay(&self, attempt: u32) -> Duration {
        let base = self.initial.as_secs_f64() * self.multiplier.max(1.0).powi(attempt as i32);
        let capped = base.min(self.max.as_secs_f64()).max(0.0);
        let jitter = 0.5 + rand::random::<f64>() * 0.5;
        Duration::from_secs_f64(capped * jitter)
    }
}

/// Settings of the WebSocket transport.
#[derive(Clone, Debug)]
pub struct WsConfig {
    /// How often to ping (default 25 s, the reference's).
    pub ping_interval: Duration,
    /// How long to wait for any frame after a ping before declaring the connection dead
    /// (default 25 s).
    pub pong_timeout: Duration,
    /// Reconnection backoff.
    pub backoff: Backoff,
    /// Whether to reconnect after a drop (default true).
    pub reconnect: bool,
    /// Events buffered per subscription before the oldest are dropped (default 256).
    pub subscription_capacity: usize,
    /// The largest message accepted, in bytes (default 16 MiB).
    pub max_message_bytes: usize,
    /// How long `subscribe` and an explicit unsubscribe wait for the server (default 10 s).
    pub subscribe_timeout: Duration,
    /// How long `close` may take (default 2 s).
    pub close_timeout: Duration,
}

impl Default for WsConfig {
    fn default() -> Self {
        WsConfig {
            ping_interval: DEFAULT_PING_INTERVAL,
            pong_timeout: DEFAULT_PING_INTERVAL,
            backoff: Backoff::default(),
            reconnect: true,
            subscription_capacity: DEFAULT_SUBSCRIPTION_CAPACITY,
            max_message_bytes: 16 * 1024 * 1024,
            subscribe_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(2),
        }
    }
}

/// The WebSocket transport. Cheap to clone; all clones share one connection.
#[derive(Clone)]
pub struct WebSocket {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    url: String,
    config: WsConfig,
    commands: mpsc::UnboundedSender<Command>,
    closed: AtomicBool,
    next_key: AtomicU64,
    pub(crate) stats: Arc<Stats>,
    task: Mutex<Option<JoinHandle<()>>>,
}

/// Counters shared with the actor.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) reconnects: AtomicU64,
    pub(crate) connected: AtomicBool,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Ok(mut task) = self.task.lock() {
            if let Some(task) = task.take() {
                task.abort();
            }
        }
    }
}

impl std::fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("url", &self.inner.url)
            .field("connected", &self.is_connected())
            .field("reconnects", &self.reconnects())
            .finish_non_exhaustive()
    }
}

impl WebSocket {
    /// Connects to `url` (`ws://` or `wss://`), using `http`'s TLS settings and authorizer.
    /// Server-initiated requests and notifications other than topic events go to `inbound`.
    /// Fails if the first connection cannot be made; later drops are reconnected.
    pub async fn connect(
        http: HttpClient,
        url: &str,
        config: WsConfig,
        inbound: Option<InboundSender>,
    ) -> Result<Self, TransportError> {
        let target = connect::Target::parse(url)?;
        let ws_config = actor::ws_config(&config);
        let generation = actor::certificate_generation(&http);
        let socket = connect::open(&http, &target, ws_config).await?;
        let (tx, rx) = mpsc::unbounded_channel();
        let stats = Arc::new(Stats::default());
        stats.connected.store(true, Ordering::Release);
        let actor = actor::Actor::new(
            http,
            target,
            config.clone(),
            inbound,
            Arc::clone(&stats),
            generation,
        );
        let task = tokio::spawn(actor.run(socket, rx));
        Ok(WebSocket {
            inner: Arc::new(Inner {
                url: url.to_owned(),
                config,
                commands: tx,
                closed: AtomicBool::new(false),
                next_key: AtomicU64::new(1),
                stats,
                task: Mutex::new(Some(task)),
            }),
        })
    }

    /// The endpoint URL.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// How many times the connection was re-established.
    pub fn reconnects(&self) -> u64 {
        self.inner.stats.reconnects.load(Ordering::Acquire)
    }

    /// Whether the connection is currently up.
    pub fn is_connected(&self) -> bool {
        self.inner.stats.connected.load(Ordering::Acquire)
    }

    /// Subscribes to `topic` (e.g. `agents.<id>.events`, `tools.<name>.results`,
    /// `tasks.<id>.*`, `flows.<id>.*`, `governor.<uuid>`).
    pub async fn subscribe(&self, topic: &str) -> Result<Subscription, TransportError> {
        self.inner.check_open()?;
        let key = self.inner.next_key.fetch_add(1, Ordering::Relaxed);
        let queue = SubscriptionQueue::new(self.inner.config.subscription_capacity);
        let (tx, rx) = oneshot::channel();
        self.inner.send(Command::Subscribe {
            key,
            topic: topic.to_owned(),
            queue: Arc::clone(&queue),
            reply: tx,
        })?;
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let subscription = Subscription::new(topic, key, queue, weak);
        let outcome = tokio::time::timeout(self.inner.config.subscribe_timeout, rx).await;
        match outcome {
            Err(_) => Err(TransportError::Timeout {
                phase: format!(
                    "waiting for the server to confirm the subscription to {topic:?} (after {:?})",
                    self.inner.config.subscribe_timeout
                ),
            }),
            Ok(Err(_)) => Err(self.inner.gone()),
            Ok(Ok(Err(e))) => Err(e),
            Ok(Ok(Ok(()))) => Ok(subscription),
        }
    }

    async fn request_inner(
        &self,
        request: Request,
        ctx: RequestContext,
    ) -> Result<Response, TransportError> {
        self.inner.check_open()?;
        let (tx, rx) = oneshot::channel();
        self.inner.send(Command::Request {
            request,
            idempotent: ctx.idempotent,
            reply: tx,
        })?;
        match rx.await {
            Ok(result) => result,
            Err(_) => Err(self.inner.gone()),
        }
    }

    async fn send_inner(&self, message: Message) -> Result<(), TransportError> {
        self.inner.check_open()?;
        let (tx, rx) = oneshot::channel();
        self.inner.send(Command::Send { message, reply: tx })?;
        match rx.await {
            Ok(result) => result,
            Err(_) => Err(self.inner.gone()),
        }
    }

    async fn close_inner(&self) -> Result<(), TransportError> {
        if self.inner.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let (tx, rx) = oneshot::channel();
        if self
            .inner
            .commands
            .send(Command::Close { reply: tx })
            .is_ok()
        {
            let _ = tokio::time::timeout(self.inner.config.close_timeout, rx).await;
        }
        let task = self.inner.task.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task {
            if !task.is_finished() {
                task.abort();
            }
        }
        self.inner.stats.connected.store(false, Ordering::Release);
        Ok(())
    }
}

impl Inner {
    fn check_open(&self) -> Result<(), TransportError> {
        if self.closed.load(Ordering::Acquire) || self.commands.is_closed() {
            Err(TransportError::Closed)
        } else {
            Ok(())
        }
    }

    fn send(&self, command: Command) -> Result<(), TransportError> {
        self.commands
            .send(command)
            .map_err(|_| TransportError::Closed)
    }

    /// The error for a reply channel dropped by the actor.
    fn gone(&self) -> TransportError {
        if self.closed.load(Ordering::Acquire) {
            TransportError::Closed
        } else {
            TransportError::ConnectionLost {
                reason: "the connection task ended".into(),
            }
        }
    }
}

/// Subscriptions end themselves through the actor.
impl SubscriptionOwner for Inner {
    fn release(&self, key: u64) {
        let _ = self
            .commands
            .send(Command::Unsubscribe { key, reply: None });
    }

    fn unsubscribe(&self, key: u64) -> BoxFuture<'_, Result<(), TransportError>> {
        Box::pin(async move {
            let (tx, rx) = oneshot::channel();
            if self
                .commands
                .send(Command::Unsubscribe {
                    key,
                    reply: Some(tx),
                })
                .is_err()
            {
                return Ok(());
            }
            let wait = self.config.subscribe_timeout;
            match tokio::time::timeout(wait, rx).await {
                Err(_) => Err(TransportError::Timeout {
                    phase: format!("waiting for the unsubscribe answer (after {wait:?})"),
                }),
                Ok(Err(_)) => Ok(()),
                Ok(Ok(result)) => result,
            }
        })
    }
}

impl Transport for WebSocket {
    fn request(
        &self,
        request: Request,
        ctx: RequestContext,
    ) -> BoxFuture<'_, Result<Response, TransportError>> {
        Box::pin(self.request_inner(request, ctx))
    }

    fn notify(
        &self,
        notification: Notification,
        _ctx: RequestContext,
    ) -> BoxFuture<'_, Result<(), TransportError>> {
        Box::pin(self.send_inner(Message::Notification(notification)))
    }

    fn respond(
        &self,
        response: Response,
        _ctx: RequestContext,
    ) -> BoxFuture<'_, Result<(), TransportError>> {
        Box::pin(self.send_inner(Message::Response(response)))
    }

    fn handshake(&self) -> Handshake {
        Handshake::None
    }

    fn subscribe<'a>(
        &'a self,
        topic: &'a str,
    ) -> BoxFuture<'a, Result<Subscription, TransportError>> {
        Box::pin(WebSocket::subscribe(self, topic))
    }

    fn close(&self) -> BoxFuture<'_, Result<(), TransportError>> {
        Box::pin(self.close_inner())
    }
}
