//! The connection actor: owns the socket's state (pending requests, subscriptions), reads
//! frames, pings, and reconnects. A writer task owns the sending half of each connection.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use conduit_http::HttpClient;
use conduit_protocol::jsonrpc::{Message, Outcome, Request, RequestId, Response};
use conduit_transport::topics::{SubscriptionQueue, TopicEvent};
use conduit_transport::{Inbound, InboundSender, TransportError};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::connect::{self, Socket, Target};
use crate::{Stats, WsConfig};

type Reply<T> = oneshot::Sender<Result<T, TransportError>>;

/// What callers ask of the actor.
pub(crate) enum Command {
    Request {
        request: Request,
        idempotent: bool,
        reply: Reply<Response>,
    },
    Send {
        message: Message,
        reply: Reply<()>,
    },
    Subscribe {
        key: u64,
        topic: String,
        queue: Arc<SubscriptionQueue>,
        reply: Reply<()>,
    },
    Unsubscribe {
        key: u64,
        reply: Option<Reply<()>>,
    },
    Close {
        reply: oneshot::Sender<()>,
    },
}

/// A request on the wire, by wire id.
enum Pending {
    Call {
        request: Request,
        idempotent: bool,
        reply: Reply<Response>,
    },
    Subscribe {
        key: u64,
    },
    Unsubscribe {
        reply: Option<Reply<()>>,
    },
}

impl Pending {
    fn abandoned(&self) -> bool {
        match self {
            Pending::Call { reply, .. } => reply.is_closed(),
            _ => false,
        }
    }
}

struct Sub {
    topic: String,
    queue: Arc<SubscriptionQueue>,
    server_id: Option<String>,
    /// The caller of `subscribe`, until the server confirms.
    confirm: Option<Reply<()>>,
}

/// How a connection ended.
enum End {
    Lost(String),
    Close(oneshot::Sender<()>),
    Dropped,
    /// The client certificate changed and nothing was in flight: reconnect now, so that the
    /// next calls present the new certificate.
    Renew,
}

/// The generation of `http`'s client certificate (see `ClientCertificate::generation`).
pub(crate) fn certificate_generation(http: &HttpClient) -> u64 {
    http.config()
        .client_certificate()
        .map_or(0, |certificate| certificate.generation())
}

pub(crate) fn ws_config(config: &WsConfig) -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(config.max_message_bytes))
        .max_frame_size(Some(config.max_message_bytes))
}

pub(crate) struct Actor {
    http: HttpClient,
    target: Arc<Target>,
    config: WsConfig,
    inbound: Option<InboundSender>,
    stats: Arc<Stats>,
    next_wire: u64,
    pending: HashMap<String, Pending>,
    subs: HashMap<u64, Sub>,
    by_server: HashMap<String, u64>,
    /// Commands that arrived while disconnected.
    waiting: VecDeque<Command>,
    /// Retry-safe calls to send again on the next connection.
    resend: Vec<(Request, Reply<Response>)>,
    /// The client-certificate generation the current connection was opened with.
    generation: u64,
}

impl Actor {
    pub(crate) fn new(
        http: HttpClient,
        target: Target,
        config: WsConfig,
        inbound: Option<InboundSender>,
        stats: Arc<Stats>,
        generation: u64,
    ) -> Self {
        Actor {
            http,
            target: Arc::new(target),
            config,
            inbound,
            stats,
            next_wire: 1,
            pending: HashMap::new(),
            subs: HashMap::new(),
            by_server: HashMap::new(),
            waiting: VecDeque::new(),
            resend: Vec::new(),
            generation,
        }
    }

    pub(crate) async fn run(
        mut self,
        socket: Socket,
        mut commands: mpsc::UnboundedReceiver<Command>,
    ) {
        let mut socket = socket;
        loop {
            let end = self.session(socket, &mut commands).await;
            self.stats.connected.store(false, Ordering::Release);
            let mut immediate = false;
            let reason = match end {
                End::Renew => {
                    immediate = true;
                    "renewing the connection with the new client certificate".to_owned()
                }
                End::Close(reply) => {
                    self.shutdown(|| TransportError::Closed);
                    let _ = reply.send(());
                    return;
                }
                End::Dropped => {
                    self.shutdown(|| TransportError::Closed);
                    return;
                }
                End::Lost(reason) => reason,
            };
            if immediate {
                tracing::info!(url = %self.target.uri, "the client certificate changed: reconnecting to present it");
            } else {
                tracing::warn!(url = %self.target.uri, %reason, "WebSocket connection lost");
            }
            self.connection_lost(&reason);
            if !self.config.reconnect && !immediate {
                self.shutdown(|| TransportError::ConnectionLost {
                    reason: reason.clone(),
                });
                return;
            }
            match self.reconnect(&mut commands, immediate).await {
                Ok(s) => socket = s,
                Err(end) => {
                    if let End::Close(reply) = end {
                        let _ = reply.send(());
                    }
                    return;
                }
            }
            let n = self.stats.reconnects.fetch_add(1, Ordering::AcqRel) + 1;
            self.stats.connected.store(true, Ordering::Release);
            tracing::info!(url = %self.target.uri, reconnects = n, "WebSocket reconnected");
            for sub in self.subs.values() {
                if sub.confirm.is_none() {
                    sub.queue.push(TopicEvent::Reconnected { attempt: n });
                }
            }
        }
    }

    /// Reconnects with backoff, parking commands meanwhile. `Err` means the actor must stop
    /// (it has already failed everything).
    async fn reconnect(
        &mut self,
        commands: &mut mpsc::UnboundedReceiver<Command>,
        immediate: bool,
    ) -> Result<Socket, End> {
        let mut attempt: u32 = 0;
        loop {
            let delay = if immediate && attempt == 0 {
                std::time::Duration::ZERO
            } else {
                self.config.backoff.delay(attempt)
            };
            let wake = Instant::now() + delay;
            loop {
                tokio::select! {
                    () = tokio::time::sleep_until(wake) => break,
                    cmd = commands.recv() => match cmd {
                        None => {
                            self.shutdown(|| TransportError::Closed);
                            return Err(End::Dropped);
                        }
                        Some(Command::Close { reply }) => {
                            self.shutdown(|| TransportError::Closed);
                            return Err(End::Close(reply));
                        }
                        Some(cmd) => self.park(cmd),
                    },
                }
            }
            let ws_config = ws_config(&self.config);
            let http = self.http.clone();
            let target = Arc::clone(&self.target);
            let generation = certificate_generation(&self.http);
            let open = async move { connect::open(&http, &target, ws_config).await };
            tokio::pin!(open);
            let result = loop {
                tokio::select! {
                    r = &mut open => break r,
                    cmd = commands.recv() => match cmd {
                        None => {
                            self.shutdown(|| TransportError::Closed);
                            return Err(End::Dropped);
                        }
                        Some(Command::Close { reply }) => {
                            self.shutdown(|| TransportError::Closed);
                            return Err(End::Close(reply));
                        }
                        Some(cmd) => self.park(cmd),
                    },
                }
            };
            match result {
                Ok(socket) => {
                    self.generation = generation;
                    return Ok(socket);
                }
                Err(e) => {
                    attempt = attempt.saturating_add(1);
                    tracing::debug!(error = %e, attempt, "WebSocket reconnection failed");
                    if self
                        .config
                        .backoff
                        .max_attempts
                        .is_some_and(|max| attempt >= max)
                    {
                        let message = format!("gave up reconnecting after {attempt} attempts: {e}");
                        self.shutdown(|| TransportError::ConnectionLost {
                            reason: message.clone(),
                        });
                        return Err(End::Dropped);
                    }
                }
            }
        }
    }

    /// A command received while disconnected.
    fn park(&mut self, cmd: Command) {
        match cmd {
            Command::Unsubscribe { key, reply } => {
                // Not subscribed on any connection now: forgetting it is enough.
                if let Some(sub) = self.subs.remove(&key) {
                    sub.queue.close();
                    if let Some(confirm) = sub.confirm {
                        let _ = confirm.send(Err(TransportError::Closed));
                    }
                }
                if let Some(reply) = reply {
                    let _ = reply.send(Ok(()));
                }
            }
            Command::Subscribe {
                key,
                topic,
                queue,
                reply,
            } => {
                // Subscribed when the connection is back.
                self.subs.insert(
                    key,
                    Sub {
                        topic,
                        queue,
                        server_id: None,
                        confirm: Some(reply),
                    },
                );
            }
            other => self.waiting.push_back(other),
        }
    }

    /// Fails or keeps the requests that were in flight when the connection dropped.
    fn connection_lost(&mut self, reason: &str) {
        self.by_server.clear();
        for sub in self.subs.values_mut() {
            sub.server_id = None;
        }
        for (_, pending) in self.pending.drain() {
            match pending {
                Pending::Call {
                    request,
                    idempotent,
                    reply,
                } => {
                    if reply.is_closed() {
                        continue;
                    }
                    if idempotent {
                        self.resend.push((request, reply));
                    } else {
                        let _ = reply.send(Err(TransportError::ConnectionLost {
                            reason: reason.to_owned(),
                        }));
                    }
                }
                Pending::Subscribe { .. } => {} // renewed on the next connection
                Pending::Unsubscribe { reply } => {
                    if let Some(reply) = reply {
                        let _ = reply.send(Ok(()));
                    }
                }
            }
        }
    }

    /// Fails everything and ends every subscription.
    fn shutdown(&mut self, error: impl Fn() -> TransportError) {
        for (_, pending) in self.pending.drain() {
            match pending {
                Pending::Call { reply, .. } => {
                    let _ = reply.send(Err(error()));
                }
                Pending::Unsubscribe { reply: Some(reply) } => {
                    let _ = reply.send(Ok(()));
                }
                _ => {}
            }
        }
        for (_, reply) in self.resend.drain(..) {
            let _ = reply.send(Err(error()));
        }
        for cmd in self.waiting.drain(..) {
            match cmd {
                Command::Request { reply, .. } => {
                    let _ = reply.send(Err(error()));
                }
                Command::Send { reply, .. } | Command::Subscribe { reply, .. } => {
                    let _ = reply.send(Err(error()));
                }
                Command::Unsubscribe {
                    reply: Some(reply), ..
                } => {
                    let _ = reply.send(Ok(()));
                }
                Command::Close { reply } => {
                    let _ = reply.send(());
                }
                Command::Unsubscribe { reply: None, .. } => {}
            }
        }
        for (_, sub) in self.subs.drain() {
            sub.queue.close();
            if let Some(confirm) = sub.confirm {
                let _ = confirm.send(Err(error()));
            }
        }
        self.by_server.clear();
    }

    fn wire_id(&mut self) -> String {
        let id = format!("ws-{}", self.next_wire);
        self.next_wire += 1;
        id
    }

    /// One connection's life.
    async fn session(
        &mut self,
        socket: Socket,
        commands: &mut mpsc::UnboundedReceiver<Command>,
    ) -> End {
        let (sink, mut stream) = socket.split();
        let (out, out_rx) = mpsc::unbounded_channel::<WsMessage>();
        let mut writer = tokio::spawn(write_loop(sink, out_rx));

        // Renew subscriptions, resend retry-safe calls, then send what waited.
        let keys: Vec<u64> = self.subs.keys().copied().collect();
        for key in keys {
            self.send_subscribe(key, &out);
        }
        for (request, reply) in std::mem::take(&mut self.resend) {
            self.send_call(request, true, reply, &out);
        }
        while let Some(cmd) = self.waiting.pop_front() {
            if let Some(end) = self.handle(cmd, &out) {
                return self.finish(end, out, writer).await;
            }
        }

        let interval = self.config.ping_interval;
        let mut next_ping = Instant::now() + interval;
        let mut ping_sent: Option<Instant> = None;
        loop {
            let deadline = match ping_sent {
                Some(at) => at + self.config.pong_timeout,
                None => next_ping,
            };
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    None => return self.finish(End::Dropped, out, writer).await,
                    Some(cmd) => {
                        if let Some(end) = self.handle(cmd, &out) {
                            return self.finish(end, out, writer).await;
                        }
                    }
                },
                frame = stream.next() => match frame {
                    None => {
                        writer.abort();
                        return End::Lost("the server closed the connection".into());
                    }
                    Some(Err(e)) => {
                        writer.abort();
                        return End::Lost(e.to_string());
                    }
                    Some(Ok(frame)) => {
                        ping_sent = None;
                        if let WsMessage::Close(close) = &frame {
                            let why = close
                                .as_ref()
                                .map(|c| format!("the server closed the connection ({} {})", c.code, c.reason))
                                .unwrap_or_else(|| "the server closed the connection".into());
                            writer.abort();
                            return End::Lost(why);
                        }
                        self.on_frame(frame, &out);
                    }
                },
                () = tokio::time::sleep_until(deadline) => {
                    if ping_sent.is_some() {
                        writer.abort();
                        return End::Lost(format!(
                            "no answer to a ping within {:?}",
                            self.config.pong_timeout
                        ));
                    }
                    // Forget calls whose callers gave up (their deadline passed).
                    self.pending.retain(|_, p| !p.abandoned());
                    let _ = out.send(WsMessage::Ping(Vec::new().into()));
                    let now = Instant::now();
                    ping_sent = Some(now);
                    next_ping = now + interval;
                }
                _ = &mut writer => {
                    return End::Lost("writing to the connection failed".into());
                }
            }
        }
    }

    /// Ends a session on the caller's request: a close frame, briefly awaited.
    async fn finish(
        &mut self,
        end: End,
        out: mpsc::UnboundedSender<WsMessage>,
        mut writer: tokio::task::JoinHandle<()>,
    ) -> End {
        let _ = out.send(WsMessage::Close(None));
        drop(out);
        let grace = self.config.close_timeout / 2;
        if tokio::time::timeout(grace, &mut writer).await.is_err() {
            writer.abort();
        }
        end
    }

    /// Whether the connection should be renewed before sending a call: the client certificate
    /// changed since it was opened (rotation), it is a TLS connection, and no call is in flight
    /// on it (those keep their connection and finish undisturbed).
    fn renewal_due(&self) -> bool {
        self.target.tls
            && certificate_generation(&self.http) != self.generation
            && !self
                .pending
                .values()
                .any(|p| matches!(p, Pending::Call { .. }) && !p.abandoned())
    }

    /// Handles a command on a live connection; `Some` ends the session.
    fn handle(&mut self, cmd: Command, out: &mpsc::UnboundedSender<WsMessage>) -> Option<End> {
        if matches!(cmd, Command::Request { .. }) && self.renewal_due() {
            // Sent first thing on the renewed connection.
            self.waiting.push_front(cmd);
            return Some(End::Renew);
        }
        match cmd {
            Command::Request {
                request,
                idempotent,
                reply,
            } => self.send_call(request, idempotent, reply, out),
            Command::Send { message, reply } => {
                let frame =
                    WsMessage::text(String::from_utf8_lossy(&message.to_vec()).into_owned());
                let _ = reply.send(out.send(frame).map_err(|_| TransportError::ConnectionLost {
                    reason: "the connection's writer stopped".into(),
                }));
            }
            Command::Subscribe {
                key,
                topic,
                queue,
                reply,
            } => {
                self.subs.insert(
                    key,
                    Sub {
                        topic,
                        queue,
                        server_id: None,
                        confirm: Some(reply),
                    },
                );
                self.send_subscribe(key, out);
            }
            Command::Unsubscribe { key, reply } => {
                let Some(sub) = self.subs.remove(&key) else {
                    if let Some(reply) = reply {
                        let _ = reply.send(Ok(()));
                    }
                    return None;
                };
                sub.queue.close();
                if let Some(confirm) = sub.confirm {
                    let _ = confirm.send(Err(TransportError::Closed));
                }
                match sub.server_id {
                    Some(server_id) => {
                        self.by_server.remove(&server_id);
                        self.send_unsubscribe(&server_id, reply, out);
                    }
                    // Still being confirmed: unsubscribed when the confirmation arrives.
                    None => {
                        if let Some(reply) = reply {
                            let _ = reply.send(Ok(()));
                        }
                    }
                }
            }
            Command::Close { reply } => return Some(End::Close(reply)),
        }
        None
    }

    fn send_call(
        &mut self,
        request: Request,
        idempotent: bool,
        reply: Reply<Response>,
        out: &mpsc::UnboundedSender<WsMessage>,
    ) {
        if reply.is_closed() {
            return;
        }
        let wire = self.wire_id();
        let frame = Message::Request(Request {
            id: RequestId::String(wire.clone()),
            method: request.method.clone(),
            params: request.params.clone(),
        });
        let _ = out.send(text_frame(&frame));
        self.pending.insert(
            wire,
            Pending::Call {
                request,
                idempotent,
                reply,
            },
        );
    }

    fn send_subscribe(&mut self, key: u64, out: &mpsc::UnboundedSender<WsMessage>) {
        let Some(topic) = self.subs.get(&key).map(|s| s.topic.clone()) else {
            return;
        };
        let wire = self.wire_id();
        let frame = Message::Request(Request::new(
            RequestId::String(wire.clone()),
            "subscribe",
            Some(json!({ "topic": topic })),
        ));
        let _ = out.send(text_frame(&frame));
        self.pending.insert(wire, Pending::Subscribe { key });
    }

    fn send_unsubscribe(
        &mut self,
        server_id: &str,
        reply: Option<Reply<()>>,
        out: &mpsc::UnboundedSender<WsMessage>,
    ) {
        let wire = self.wire_id();
        let frame = Message::Request(Request::new(
            RequestId::String(wire.clone()),
            "unsubscribe",
            Some(json!({ "subscription": server_id })),
        ));
        let _ = out.send(text_frame(&frame));
        self.pending.insert(wire, Pending::Unsubscribe { reply });
    }

    fn on_frame(&mut self, frame: WsMessage, out: &mpsc::UnboundedSender<WsMessage>) {
        let bytes = match &frame {
            WsMessage::Text(t) => t.as_bytes(),
            WsMessage::Binary(_) => {
                tracing::debug!("ignoring a binary WebSocket frame");
                return;
            }
            _ => return, // ping/pong: handled by tungstenite; liveness already noted
        };
        let message = match Message::parse(bytes) {
            Ok(m) => m,
            Err(e) => {
                tracing::debug!(error = %e, "ignoring a frame that is not JSON-RPC");
                return;
            }
        };
        match message {
            Message::Response(response) => self.on_response(response, out),
            Message::Notification(n) if n.method == "notification" => self.on_event(n.params),
            Message::Notification(n) => self.deliver(Inbound::Notification(n)),
            Message::Request(r) => self.deliver(Inbound::Request(r)),
        }
    }

    fn deliver(&self, inbound: Inbound) {
        match &self.inbound {
            Some(tx) => {
                if tx.try_send(inbound).is_err() {
                    tracing::warn!(
                        "dropping a server message: the inbound queue is full or closed"
                    );
                }
            }
            None => tracing::debug!("ignoring a server message (no inbound receiver)"),
        }
    }

    fn on_event(&mut self, params: Option<Value>) {
        let params = params.unwrap_or(Value::Null);
        let server_id = match params.get("subscription") {
            Some(Value::String(s)) => s.clone(),
            Some(v @ Value::Number(_)) => v.to_string(),
            _ => {
                tracing::debug!("ignoring a notification frame without a subscription");
                return;
            }
        };
        let Some(sub) = self
            .by_server
            .get(&server_id)
            .and_then(|k| self.subs.get(k))
        else {
            tracing::debug!(subscription = %server_id, "ignoring an event for an unknown subscription");
            return;
        };
        let event = params
            .get("event")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let data = params.get("data").cloned().unwrap_or(Value::Null);
        sub.queue.push(TopicEvent::Event { event, data });
    }

    fn on_response(&mut self, response: Response, out: &mpsc::UnboundedSender<WsMessage>) {
        let wire = match &response.id {
            Some(RequestId::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => {
                tracing::warn!("dropping an error response without an id from the server");
                return;
            }
        };
        let Some(pending) = self.pending.remove(&wire) else {
            tracing::warn!(id = %wire, "dropping a response with an unknown id");
            return;
        };
        match pending {
            Pending::Call { request, reply, .. } => {
                let _ = reply.send(Ok(Response {
                    id: Some(request.id),
                    outcome: response.outcome,
                }));
            }
            Pending::Unsubscribe { reply } => {
                if let Some(reply) = reply {
                    let _ = reply.send(match response.outcome {
                        Outcome::Result(_) => Ok(()),
                        Outcome::Error(e) => Err(TransportError::other(format!(
                            "the server refused to unsubscribe: {e}"
                        ))),
                    });
                }
            }
            Pending::Subscribe { key } => match response.outcome {
                Outcome::Result(result) => {
                    let server_id = match result.get("subscription") {
                        Some(Value::String(s)) => s.clone(),
                        Some(v @ Value::Number(_)) => v.to_string(),
                        _ => wire.clone(),
                    };
                    match self.subs.get_mut(&key) {
                        Some(sub) => {
                            sub.server_id = Some(server_id.clone());
                            if let Some(confirm) = sub.confirm.take() {
                                let _ = confirm.send(Ok(()));
                            }
                            self.by_server.insert(server_id, key);
                        }
                        // Dropped while being confirmed.
                        None => self.send_unsubscribe(&server_id, None, out),
                    }
                }
                Outcome::Error(e) => {
                    if let Some(sub) = self.subs.remove(&key) {
                        sub.queue.close();
                        let error = TransportError::other(format!(
                            "the server refused the subscription to {:?}: {e}",
                            sub.topic
                        ));
                        match sub.confirm {
                            Some(confirm) => {
                                let _ = confirm.send(Err(error));
                            }
                            None => tracing::warn!(%error, "renewing a subscription failed"),
                        }
                    }
                }
            },
        }
    }
}

fn text_frame(message: &Message) -> WsMessage {
    WsMessage::text(String::from_utf8_lossy(&message.to_vec()).into_owned())
}

async fn write_loop(
    mut sink: futures_util::stream::SplitSink<Socket, WsMessage>,
    mut rx: mpsc::UnboundedReceiver<WsMessage>,
) {
    while let Some(frame) = rx.recv().await {
        let closing = matches!(frame, WsMessage::Close(_));
        if let Err(e) = sink.send(frame).await {
            tracing::debug!(error = %e, "WebSocket write failed");
            return;
        }
        if closing {
            break;
        }
    }
    let _ = sink.close().await;
}
