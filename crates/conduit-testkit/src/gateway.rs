//! [`TestGateway`]: binds, accepts connections, and shuts down without leaking tasks.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::config::GatewayConfig;
use crate::faults::Faults;
use crate::record::RecordedRequest;
use crate::state::State;
use crate::{mcp, router};

/// How long shutdown waits for in-flight connections before aborting them.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(1);

/// A running MCP test server. Stops on [`shutdown`](Self::shutdown) or when dropped.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use conduit_testkit::{GatewayConfig, TestGateway};
///
/// let gateway = TestGateway::start(GatewayConfig::default()).await?;
/// println!("MCP endpoint: {}", gateway.url());
/// gateway.shutdown().await;
/// # Ok(()) }
/// ```
pub struct TestGateway {
    state: Arc<State>,
    local_addr: SocketAddr,
    server: Option<JoinHandle<()>>,
    stopped: watch::Receiver<bool>,
    https: Option<(SocketAddr, JoinHandle<()>)>,
}

impl std::fmt::Debug for TestGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestGateway")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl TestGateway {
    /// Every request received by the OAuth token endpoints, in order.
    pub fn token_requests(&self) -> Vec<crate::oauth::TokenRequestRecord> {
        self.state.oauth.token_requests()
    }

    /// Declares (`Some(name)`) or removes (`None`) the `x-mcp-header` of `parameter` of the tool
    /// `route`, both in what `tools/list` advertises and in what the gateway enforces on
    /// stateless `tools/call`: the tool changed after a client listed it. The parameters are
    /// `region`, `tenant` (strings), `priority` (integer), `dry_run` (boolean) and `query`
    /// (string); initially `region` is declared as `Region`.
    pub fn declare_param_header(&self, parameter: &str, header: Option<&str>) {
        self.state.param_headers.declare(parameter, header);
    }

    /// Like [`TestGateway::declare_param_header`], but changes only what the gateway enforces:
    /// `tools/list` keeps advertising the old declarations (a stale listing), so a client
    /// following the listing keeps being refused with `-32020` `HeaderMismatch`.
    pub fn enforce_param_header(&self, parameter: &str, header: Option<&str>) {
        self.state.param_headers.enforce(parameter, header);
    }

    /// Revokes every issued access token, so the next MCP request gets a 401.
    pub fn revoke_tokens(&self) {
        self.state.oauth.revoke_all();
    }

    /// Binds `config.listen` and starts serving. Must be called inside a Tokio runtime.
    pub async fn start(config: GatewayConfig) -> std::io::Result<TestGateway> {
        let listener = TcpListener::bind(config.listen).await?;
        let local_addr = listener.local_addr()?;
        let state = Arc::new(State::new(config));
        let (stopped_tx, stopped) = watch::channel(false);
        let https = match state.config.mtls.clone() {
            Some(ca) => Some(crate::tls::start(Arc::clone(&state), ca).await?),
            None => None,
        };
        let server = tokio::spawn(accept_loop(listener, Arc::clone(&state), stopped_tx));
        tracing::info!(%local_addr, "conduit test gateway listening");
        Ok(TestGateway {
            state,
            local_addr,
            server: Some(server),
            stopped,
            https,
        })
    }

    /// The MCP endpoint, `http://ADDR/mcp`.
    pub fn url(&self) -> String {
        format!("{}{}", self.base_url(), mcp::PATH)
    }

    /// The server root, `http://ADDR`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// The MCP endpoint on the mTLS listener, `https://127.0.0.1:PORT/mcp` (only with
    /// [`GatewayConfig::mtls`]). Clients must trust [`TestCa::ca_pem`](crate::TestCa::ca_pem) and
    /// present a certificate it issued.
    pub fn https_url(&self) -> Option<String> {
        self.https_base_url().map(|b| format!("{b}{}", mcp::PATH))
    }

    /// The root of the mTLS listener, `https://127.0.0.1:PORT`.
    pub fn https_base_url(&self) -> Option<String> {
        self.https
            .as_ref()
            .map(|(addr, _)| format!("https://{addr}"))
    }

    /// The certificate authority (only with [`GatewayConfig::mtls`]).
    pub fn ca(&self) -> Option<&crate::TestCa> {
        self.state.config.mtls.as_ref()
    }

    /// The CA's registration base on the plain listener, `http://ADDR/identity`
    /// (`/register` appended by clients).
    pub fn identity_endpoint(&self) -> String {
        format!("{}/identity", self.base_url())
    }

    /// The CA's registration base on the mTLS listener, `https://127.0.0.1:PORT/identity`
    /// (where `/rotate` is authenticated by the client certificate).
    pub fn https_identity_endpoint(&self) -> Option<String> {
        self.https_base_url().map(|b| format!("{b}/identity"))
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The configuration the gateway runs with.
    pub fn config(&self) -> &GatewayConfig {
        &self.state.config
    }

    /// Every HTTP request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests()
    }

    /// The logged POSTs whose JSON-RPC method is `method`.
    pub fn requests_for(&self, method: &str) -> Vec<RecordedRequest> {
        self.state
            .requests()
            .into_iter()
            .filter(|r| r.is_rpc(method))
            .collect()
    }

    /// Empties the request log.
    pub fn clear_requests(&self) {
        self.state.clear_requests();
    }

    /// Ends every existing session: their ids now answer 404 and their streams close.
    pub fn expire_sessions(&self) {
        self.state.expire_sessions();
    }

    /// How many sessions `initialize` has created since start.
    pub fn sessions_created(&self) -> usize {
        self.state.sessions_created()
    }

    /// How many stateful requests arrived on a session before its `notifications/initialized`
    /// (they are served, as the spec allows, but counted here).
    pub fn requests_before_initialized(&self) -> usize {
        self.state.early_requests()
    }

    /// How many sessions are currently alive.
    pub fn sessions_active(&self) -> usize {
        self.state.sessions_active()
    }

    /// The faults currently active.
    pub fn faults(&self) -> Faults {
        self.state.faults()
    }

    /// Replaces the active faults; takes effect for the next request.
    pub fn set_faults(&self, faults: Faults) {
        self.state.set_faults(faults);
    }

    /// Sends a JSON-RPC message on every open `GET /mcp` stream; returns how many streams got it.
    pub fn push_to_listeners(&self, message: Value) -> usize {
        mcp::push_to_listeners(&self.state, &message)
    }

    /// Announces that the `kind` list changed (`"tools"`, `"prompts"` or `"resources"`):
    /// `notifications/<kind>/list_changed` on every open `GET /mcp` stream (stateful era) and on
    /// every `subscriptions/listen` stream that opted in to it (stateless era). Returns how many
    /// streams got it.
    pub fn notify_list_changed(&self, kind: &str) -> usize {
        crate::features::subscriptions::list_changed(&self.state, kind)
    }

    /// Announces that resource `uri` changed: `notifications/resources/updated` on every open
    /// `GET /mcp` stream and on every `subscriptions/listen` stream subscribed to `uri`. Returns
    /// how many streams got it.
    pub fn update_resource(&self, uri: &str) -> usize {
        crate::features::subscriptions::resource_updated(&self.state, uri)
    }

    /// Every `subscriptions/listen` request received so far, with its state (open, closed by
    /// the client, or ended by the gateway).
    pub fn listens(&self) -> Vec<crate::ListenRecord> {
        crate::features::subscriptions::records(&self.state)
    }

    /// Ends every open `subscriptions/listen` stream gracefully (the listen result, carrying
    /// the subscription id, then the end of the stream), as a server shutting down does.
    /// Returns how many were ended.
    pub fn end_listens(&self) -> usize {
        crate::features::subscriptions::end_all(&self.state)
    }

    /// Closes every open `subscriptions/listen` stream abruptly (the end of the body, no
    /// result), as a broken connection would. Returns how many were closed.
    pub fn drop_listens(&self) -> usize {
        crate::features::subscriptions::drop_all(&self.state)
    }

    /// Completes the stateful-era task `task_id` (as if its work finished) and pushes
    /// `notifications/tasks/status` with its new state to every open `GET /mcp` stream.
    /// `None` when no such task exists; otherwise how many streams got the notification.
    pub fn complete_task(&self, task_id: &str) -> Option<usize> {
        crate::features::tasks::complete_and_notify(&self.state, task_id)
    }

    /// Marks the URL elicitation `elicitation_id` (issued by the `needs_consent` tool's
    /// `-32042`) as completed by the user, and pushes `notifications/elicitation/complete` to
    /// every open `GET /mcp` stream. `None` when the gateway never issued that id; otherwise
    /// how many streams got the notification.
    pub fn complete_url_elicitation(&self, elicitation_id: &str) -> Option<usize> {
        crate::features::url_elicitation::complete(&self.state, elicitation_id)
    }

    /// How many calls of the unlisted tool `hold` are in flight: such a call stays unanswered
    /// until [`release_held_calls`](Self::release_held_calls) (or a minute passes, then it
    /// ends with a tool error), so a test can change something under a call in flight.
    pub fn held_calls(&self) -> usize {
        self.state.holds.held()
    }

    /// Answers every call of the tool `hold` in flight now (`"released: <label>"`); returns
    /// how many there were.
    pub fn release_held_calls(&self) -> usize {
        self.state.holds.release()
    }

    /// The JSON-RPC endpoint, `http://ADDR/rpc`.
    pub fn rpc_url(&self) -> String {
        format!("{}/rpc", self.base_url())
    }

    /// The WebSocket endpoint, `ws://ADDR/ws`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.local_addr)
    }

    /// The WebSocket endpoint on the mTLS listener, `wss://127.0.0.1:PORT/ws` (only with
    /// [`GatewayConfig::mtls`]): the same `/ws` as [`ws_url`](Self::ws_url), over TLS that
    /// requires a client certificate issued by the gateway's CA.
    pub fn wss_url(&self) -> Option<String> {
        self.https
            .as_ref()
            .map(|(addr, _)| format!("wss://{addr}/ws"))
    }

    /// Publishes an event on `topic` to every WebSocket subscription whose pattern matches it
    /// (`*` matches one segment; a trailing `*` matches the rest); returns how many
    /// subscriptions got it.
    pub fn publish(&self, topic: &str, event: &str, data: Value) -> usize {
        self.state.ws.publish(topic, event, &data)
    }

    /// Drops every WebSocket connection abruptly (no close frame), as a network failure would;
    /// returns how many were open.
    pub fn drop_ws_connections(&self) -> usize {
        self.state.ws.drop_all()
    }

    /// While on, WebSocket connections stay open but read nothing and answer nothing (not even
    /// pings), like a dead peer.
    pub fn set_ws_unresponsive(&self, on: bool) {
        self.state.ws.set_unresponsive(on);
    }

    /// How many WebSocket connections are open.
    pub fn ws_connections(&self) -> usize {
        self.state.ws.open_connections()
    }

    /// How many WebSocket connections were accepted since start.
    pub fn ws_connections_accepted(&self) -> u64 {
        self.state.ws.accepted()
    }

    /// The topic patterns subscribed to on the open WebSocket connections.
    pub fn ws_subscriptions(&self) -> Vec<String> {
        self.state.ws.subscriptions()
    }

    /// Stops accepting, ends open streams, lets in-flight requests finish (briefly), and waits
    /// until every task is gone.
    pub async fn shutdown(mut self) {
        self.state.begin_shutdown();
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        if let Some((_, https)) = self.https.take() {
            let _ = https.await;
        }
    }

    /// Resolves when the server has stopped serving. It normally serves until
    /// [`shutdown`](Self::shutdown) or drop, so a foreground server races this against a signal:
    /// `tokio::select! { () = gateway.wait() => {}, _ = tokio::signal::ctrl_c() => {} }`.
    pub async fn wait(&self) {
        let mut stopped = self.stopped.clone();
        let _ = stopped.wait_for(|s| *s).await;
    }
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        self.state.begin_shutdown();
        if let Some(server) = self.server.take() {
            // Aborting the accept loop drops its JoinSet, which aborts every connection task.
            server.abort();
        }
        if let Some((_, https)) = self.https.take() {
            https.abort();
        }
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<State>, stopped: watch::Sender<bool>) {
    let mut shutdown = state.shutdown_receiver();
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = signalled(&mut shutdown) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(serve_connection(stream, peer, Arc::clone(&state)));
                }
                Err(err) => {
                    // Transient (e.g. too many open files): back off briefly and keep serving.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        connections.shutdown().await;
    }
    stopped.send_replace(true);
}

async fn serve_connection(stream: TcpStream, peer: SocketAddr, state: Arc<State>) {
    let mut shutdown = state.shutdown_receiver();
    let service_state = Arc::clone(&state);
    let service = service_fn(move |req| {
        let state = Arc::clone(&service_state);
        async move { Ok::<_, Infallible>(router::route(state, req).await) }
    });
    let builder = auto::Builder::new(TokioExecutor::new());
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        () = signalled(&mut shutdown) => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(err) = result {
        tracing::debug!(%peer, %err, "connection ended with an error");
    }
}

/// Resolves once the shutdown flag is set (or its sender is gone).
async fn signalled(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|down| *down).await;
}
