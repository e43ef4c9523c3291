//! The MCP stdio transport: the client starts a local MCP server as a child process and talks
//! newline-delimited JSON-RPC over its standard input and output.
//!
//! * One line per message, UTF-8, no embedded newlines; a line longer than
//!   [`StdioConfig::max_line_bytes`] is a protocol violation that ends the transport with
//!   [`TransportError::TooLarge`].
//! * Requests are multiplexed by id over the one pipe: a response goes to the caller waiting for
//!   its id; server requests and notifications go to the client's inbound channel; a response
//!   with an unknown id is logged and dropped; a line that is not JSON-RPC is logged and skipped.
//! * The server's standard error is forwarded to `tracing` (target
//!   `conduit_transport_stdio::stderr`, level `info`), never treated as an error.
//! * When the process dies, every pending call fails at once with
//!   [`TransportError::ProcessExited`] (it may or may not have run: it is never resent). The
//!   next call starts the server again, per the [`RestartPolicy`] (default: up to 5 restarts
//!   in a row, with a growing pause, the count reset once a process has lived a minute): in the
//!   stateless era the call is simply sent to the new process; in the stateful era it fails
//!   with [`TransportError::SessionExpired`], which makes the client initialise the new process
//!   and resend the call. With [`RestartPolicy::Never`], or once the budget is spent, every
//!   later call fails with `ProcessExited`.
//! * [`StdioTransport::shutdown`] (and [`Transport::close`]) follows the spec: close the
//!   server's stdin, wait; send `SIGTERM`, wait; send `SIGKILL` — each wait bounded. Dropping the
//!   last handle kills the process.
//! * In the stateless era a request is cancelled with `notifications/cancelled`, as there is no
//!   per-request stream to close ([`StatelessCancellation::Notification`]).
//!
//! ```no_run
//! # async fn run() -> Result<(), conduit_transport::TransportError> {
//! use conduit_transport_stdio::{StdioConfig, StdioTransport};
//!
//! let (tx, _rx) = tokio::sync::mpsc::channel(conduit_transport::INBOUND_CAPACITY);
//! let config = StdioConfig::from_command_line("npx -y @modelcontextprotocol/server-everything stdio")?;
//! let transport = StdioTransport::spawn(config, tx)?;
//! // … hand it to a client (`conduit::Client::builder_stdio` does all of this) …
//! transport.shutdown().await?;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod framing;

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use conduit_protocol::jsonrpc::{Message, Notification, Request, RequestId, Response};
use conduit_transport::{
    BoxFuture, Era, Inbound, InboundSender, RequestContext, StatelessCancellation, Transport,
    TransportError,
};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub use framing::split_command_line;

/// The default limit of one line the server writes: 16 MiB.
pub const DEFAULT_MAX_LINE_BYTES: usize = 16 * 1024 * 1024;
/// The longest stderr line forwarded as one log event; longer lines are cut.
const MAX_STDERR_LINE: usize = 64 * 1024;
/// How long to wait for the process to exit after `SIGKILL` before giving up.
const KILL_WAIT: Duration = Duration::from_secs(5);
/// How long to wait for an exit status after the server closed its standard output.
const EXIT_STATUS_WAIT: Duration = Duration::from_secs(1);
/// Outgoing messages queued for the writer task.
const WRITE_QUEUE: usize = 256;

/// Whether and how often a server process that died is started again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RestartPolicy {
    /// A dead process stays dead: every later call fails with
    /// [`TransportError::ProcessExited`].
    Never,
    /// The next call after a death starts a new process, at most `max_in_a_row` times in a
    /// row; a process that lives at least `stable_after` resets the count. Restarts in a row
    /// pause 100 ms, 200 ms, 400 ms, … (at most 5 s) first, so a crash loop cannot spin.
    OnNextCall {
        /// Restarts allowed in a row.
        max_in_a_row: u32,
        /// How long a process must live for its death not to count as "in a row".
        stable_after: Duration,
    },
}

impl Default for RestartPolicy {
    fn default() -> Self {
        RestartPolicy::OnNextCall {
            max_in_a_row: 5,
            stable_after: Duration::from_secs(60),
        }
    }
}

/// The longest pause before a restart.
const MAX_RESTART_PAUSE: Duration = Duration::from_secs(5);

/// How to start the server process, and the transport's limits.
#[derive(Clone)]
pub struct StdioConfig {
    program: OsString,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    current_dir: Option<PathBuf>,
    max_line_bytes: usize,
    close_grace: Duration,
    terminate_grace: Duration,
    restart: RestartPolicy,
}

impl std::fmt::Debug for StdioConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Environment values may hold secrets (API keys): only their names are shown.
        let env: Vec<_> = self.env.iter().map(|(k, _)| k).collect();
        f.debug_struct("StdioConfig")
            .field("program", &self.program)
            .field("args", &self.args)
            .field("env (names)", &env)
            .field("current_dir", &self.current_dir)
            .field("max_line_bytes", &self.max_line_bytes)
            .field("close_grace", &self.close_grace)
            .field("terminate_grace", &self.terminate_grace)
            .field("restart", &self.restart)
            .finish()
    }
}

impl StdioConfig {
    /// Starts `program` (looked up in `PATH` when it has no slash) with no arguments.
    pub fn new(program: impl Into<OsString>) -> Self {
        StdioConfig {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            current_dir: None,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            close_grace: Duration::from_secs(2),
            terminate_grace: Duration::from_secs(2),
            restart: RestartPolicy::default(),
        }
    }

    /// Whether a process that died is started again (default: [`RestartPolicy::default`]).
    pub fn restart(mut self, policy: RestartPolicy) -> Self {
        self.restart = policy;
        self
    }

    /// Parses `"<command> <args>"` with shell-like quoting (`'…'`, `"…"`, `\`), without any
    /// expansion. An empty line or unbalanced quotes are an error.
    pub fn from_command_line(line: &str) -> Result<Self, TransportError> {
        let words = split_command_line(line)
            .map_err(|e| TransportError::other(format!("invalid command line {line:?}: {e}")))?;
        let mut words = words.into_iter();
        let program = words
            .next()
            .ok_or_else(|| TransportError::other("the command line is empty"))?;
        Ok(StdioConfig::new(program).args(words))
    }

    /// Appends one argument.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Appends arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable of the process (the rest of the environment is inherited).
    /// Values never appear in `Debug` output.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// The working directory of the process (default: the caller's).
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.current_dir = Some(dir.into());
        self
    }

    /// The longest line accepted from the server (default [`DEFAULT_MAX_LINE_BYTES`]).
    pub fn max_line_bytes(mut self, limit: usize) -> Self {
        self.max_line_bytes = limit.max(1);
        self
    }

    /// How long [`StdioTransport::shutdown`] waits after closing stdin (`close`) and after
    /// `SIGTERM` (`terminate`) before escalating (defaults 2 s each).
    pub fn shutdown_grace(mut self, close: Duration, terminate: Duration) -> Self {
        self.close_grace = close;
        self.terminate_grace = terminate;
        self
    }

    /// The command as one line, for messages.
    pub fn display(&self) -> String {
        std::iter::once(&self.program)
            .chain(self.args.iter())
            .map(|s| s.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The program to start.
    pub fn program(&self) -> &std::ffi::OsStr {
        &self.program
    }
}

/// How the server process ended in [`StdioTransport::shutdown`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShutdownOutcome {
    /// It had already exited, or exited after its stdin was closed.
    Exited(ExitStatus),
    /// It exited after `SIGTERM` (or, off Unix, the platform's termination).
    Terminated(ExitStatus),
    /// It had to be killed (`SIGKILL`).
    Killed(ExitStatus),
    /// An earlier shutdown already reaped it.
    AlreadyShutDown,
}

/// Why the transport can no longer carry messages.
#[derive(Clone, Debug)]
enum Dead {
    Closed,
    Exited(String),
    TooLarge(usize),
}

impl Dead {
    fn error(&self, command: &str) -> TransportError {
        match self {
            Dead::Closed => TransportError::Closed,
            Dead::Exited(status) => TransportError::ProcessExited {
                command: command.to_owned(),
                status: status.clone(),
            },
            Dead::TooLarge(limit) => TransportError::TooLarge { limit: *limit },
        }
    }
}

type Waiter = oneshot::Sender<Result<Response, TransportError>>;

#[derive(Default)]
struct Pending {
    waiters: HashMap<RequestId, Waiter>,
    dead: Option<Dead>,
}

/// One line to write, and where to report the outcome.
struct Outgoing {
    line: Vec<u8>,
    done: oneshot::Sender<std::io::Result<()>>,
}

struct Inner {
    command: String,
    pid: Option<u32>,
    started: tokio::time::Instant,
    config: StdioConfig,
    writer: Mutex<Option<mpsc::Sender<Outgoing>>>,
    child: tokio::sync::Mutex<Option<Child>>,
    pending: Mutex<Pending>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The child was spawned with kill_on_drop: dropping `child` kills it.
        if let Ok(mut tasks) = self.tasks.lock() {
            for t in tasks.drain(..) {
                t.abort();
            }
        }
    }
}

impl Inner {
    /// Marks the transport dead (first reason wins) and fails every pending call.
    fn fail_all(&self, reason: Dead) {
        let waiters: Vec<Waiter> = match self.pending.lock() {
            Ok(mut p) => {
                if p.dead.is_none() {
                    p.dead = Some(reason);
                }
                p.waiters.drain().map(|(_, w)| w).collect()
            }
            Err(_) => Vec::new(),
        };
        let dead = self.dead().unwrap_or(Dead::Closed);
        for w in waiters {
            let _ = w.send(Err(dead.error(&self.command)));
        }
    }

    fn dead(&self) -> Option<Dead> {
        self.pending.lock().ok().and_then(|p| p.dead.clone())
    }

    fn dead_error(&self) -> TransportError {
        self.dead().unwrap_or(Dead::Closed).error(&self.command)
    }

    /// Queues one message for the writer and waits until it is written and flushed.
    async fn write(&self, message: Message) -> Result<(), TransportError> {
        if let Some(dead) = self.dead() {
            return Err(dead.error(&self.command));
        }
        let mut line = message.to_vec();
        if line.contains(&b'\n') {
            return Err(TransportError::other(
                "refusing to send a message with an embedded newline",
            ));
        }
        line.push(b'\n');
        let sender = self
            .writer
            .lock()
            .ok()
            .and_then(|w| w.clone())
            .ok_or_else(|| self.dead_error())?;
        let (done, written) = oneshot::channel();
        sender
            .send(Outgoing { line, done })
            .await
            .map_err(|_| self.dead_error())?;
        match written.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => match self.dead() {
                Some(dead) => Err(dead.error(&self.command)),
                None => Err(TransportError::Other {
                    message: format!("could not write to the stdin of `{}`", self.command),
                    source: Some(Box::new(e)),
                }),
            },
            Err(_) => Err(self.dead_error()),
        }
    }
}

/// Removes a pending waiter when its request future is dropped.
struct WaiterGuard<'a> {
    inner: &'a Inner,
    id: Option<RequestId>,
}

impl Drop for WaiterGuard<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            if let Ok(mut p) = self.inner.pending.lock() {
                p.waiters.remove(&id);
            }
        }
    }
}

/// A running MCP server process and the JSON-RPC channel over its standard streams.
///
/// Cheap to share behind an `Arc`; many requests may be in flight at once.
pub struct StdioTransport {
    /// The current process.
    current: Mutex<Arc<Inner>>,
    config: StdioConfig,
    inbound: InboundSender,
    command: String,
    /// Serialises restarts; holds the number of restarts in a row.
    restarts: tokio::sync::Mutex<u32>,
    /// Set by `shutdown`: no restart after it.
    closed: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for StdioTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StdioTransport")
            .field("command", &self.command)
            .field("pid", &self.pid())
            .finish_non_exhaustive()
    }
}

impl StdioTransport {
    /// Starts the process and the tasks that read its stdout and stderr. Must be called within
    /// a Tokio runtime. Server requests and notifications are delivered to `inbound`.
    pub fn spawn(config: StdioConfig, inbound: InboundSender) -> Result<Self, TransportError> {
        let inner = start(&config, inbound.clone())?;
        Ok(StdioTransport {
            current: Mutex::new(inner),
            command: config.display(),
            config,
            inbound,
            restarts: tokio::sync::Mutex::new(0),
            closed: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The current process.
    fn current(&self) -> Arc<Inner> {
        match self.current.lock() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// After `dead` (the process a call found dead) exited: the process to use now, started
    /// per the restart policy, or `None` when it may not be restarted.
    async fn restarted(&self, dead: &Arc<Inner>) -> Option<Arc<Inner>> {
        let RestartPolicy::OnNextCall {
            max_in_a_row,
            stable_after,
        } = self.config.restart
        else {
            return None;
        };
        let mut in_a_row = self.restarts.lock().await;
        let now = self.current();
        if !Arc::ptr_eq(&now, dead) {
            // Another call restarted it meanwhile.
            return Some(now);
        }
        if self.closed.load(std::sync::atomic::Ordering::Acquire) {
            return None;
        }
        if dead.started.elapsed() >= stable_after {
            *in_a_row = 0;
        }
        if *in_a_row >= max_in_a_row {
            tracing::error!(command = %self.command, restarts = *in_a_row, "the MCP server process keeps dying; not restarting it again");
            return None;
        }
        let pause = Duration::from_millis(100)
            .saturating_mul(1u32 << (*in_a_row).min(6))
            .min(MAX_RESTART_PAUSE);
        tokio::time::sleep(pause).await;
        match start(&self.config, self.inbound.clone()) {
            Ok(fresh) => {
                *in_a_row += 1;
                tracing::warn!(command = %self.command, pid = fresh.pid, restart = *in_a_row, "restarted the MCP server process");
                if let Ok(mut c) = self.current.lock() {
                    *c = fresh.clone();
                }
                Some(fresh)
            }
            Err(e) => {
                tracing::error!(command = %self.command, error = %e, "could not restart the MCP server process");
                None
            }
        }
    }
}

/// Starts the process and its reader, writer and stderr tasks.
fn start(config: &StdioConfig, inbound: InboundSender) -> Result<Arc<Inner>, TransportError> {
    let config = config.clone();
    let command = config.display();
    let mut cmd = Command::new(&config.program);
    cmd.args(&config.args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in &config.env {
        cmd.env(k, v);
    }
    if let Some(dir) = &config.current_dir {
        cmd.current_dir(dir);
    }
    let mut child = cmd.spawn().map_err(|e| TransportError::Connect {
        target: command.clone(),
        source: Box::new(e),
    })?;
    let pid = child.id();
    let (Some(stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(TransportError::other(format!(
            "`{command}` started without piped standard streams"
        )));
    };
    let (tx, rx) = mpsc::channel(WRITE_QUEUE);
    let max_line = config.max_line_bytes;
    let inner = Arc::new(Inner {
        command: command.clone(),
        pid,
        started: tokio::time::Instant::now(),
        config,
        writer: Mutex::new(Some(tx)),
        child: tokio::sync::Mutex::new(Some(child)),
        pending: Mutex::new(Pending::default()),
        tasks: Mutex::new(Vec::new()),
    });
    tracing::debug!(command = %command, pid, "started the MCP server process");
    let tasks = vec![
        tokio::spawn(write_loop(stdin, rx)),
        tokio::spawn(read_loop(
            Arc::downgrade(&inner),
            BufReader::new(stdout),
            inbound,
            max_line,
        )),
        tokio::spawn(stderr_loop(command, BufReader::new(stderr))),
    ];
    if let Ok(mut t) = inner.tasks.lock() {
        t.extend(tasks);
    }
    Ok(inner)
}

impl StdioTransport {
    /// The id of the current process.
    pub fn pid(&self) -> Option<u32> {
        self.current().pid
    }

    /// The command that was started, as one line.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// Shuts the server down per the spec: closes its stdin and waits; then sends `SIGTERM` and
    /// waits; then sends `SIGKILL`. Each wait is bounded (see [`StdioConfig::shutdown_grace`]).
    /// Pending calls fail with [`TransportError::Closed`]. Calling it again is harmless.
    pub async fn shutdown(&self) -> Result<ShutdownOutcome, TransportError> {
        self.closed
            .store(true, std::sync::atomic::Ordering::Release);
        // A restart under way finishes before the current process is taken.
        drop(self.restarts.lock().await);
        let inner = &self.current();
        inner.fail_all(Dead::Closed);
        // Dropping the writer's sender lets it finish the queue and close stdin.
        if let Ok(mut w) = inner.writer.lock() {
            w.take();
        }
        let mut slot = inner.child.lock().await;
        let Some(child) = slot.as_mut() else {
            return Ok(ShutdownOutcome::AlreadyShutDown);
        };
        let outcome = shutdown_child(child, &inner.command, &inner.config).await;
        if outcome.is_ok() {
            slot.take();
        }
        if let Ok(mut tasks) = inner.tasks.lock() {
            for t in tasks.drain(..) {
                t.abort();
            }
        }
        outcome
    }

    async fn request_inner(
        &self,
        request: Request,
        ctx: RequestContext,
    ) -> Result<Response, TransportError> {
        let mut current = self.current();
        if let Some(Dead::Exited(_)) = current.dead() {
            if let Some(fresh) = self.restarted(&current).await {
                if ctx.era == Era::Stateful {
                    // The new process knows nothing of the old session: the client
                    // initialises it and sends this call again.
                    return Err(TransportError::SessionExpired {
                        session: format!(
                            "process {} of `{}`",
                            current.pid.unwrap_or(0),
                            self.command
                        ),
                    });
                }
                current = fresh;
            }
        }
        let inner = &*current;
        let id = request.id.clone();
        let (tx, rx) = oneshot::channel();
        {
            let mut p = inner
                .pending
                .lock()
                .map_err(|_| TransportError::other("the pending-request table is poisoned"))?;
            if let Some(dead) = &p.dead {
                return Err(dead.error(&inner.command));
            }
            if p.waiters.contains_key(&id) {
                return Err(TransportError::other(format!(
                    "a request with id {id:?} is already in flight"
                )));
            }
            p.waiters.insert(id.clone(), tx);
        }
        let _guard = WaiterGuard {
            inner,
            id: Some(id),
        };
        inner.write(Message::Request(request)).await?;
        match rx.await {
            Ok(result) => result,
            Err(_) => Err(inner.dead_error()),
        }
    }
}

/// Closes stdin (already done by the caller dropping the writer), then escalates.
async fn shutdown_child(
    child: &mut Child,
    command: &str,
    config: &StdioConfig,
) -> Result<ShutdownOutcome, TransportError> {
    if let Ok(Ok(status)) = tokio::time::timeout(config.close_grace, child.wait()).await {
        return Ok(ShutdownOutcome::Exited(status));
    }
    tracing::debug!(
        command,
        "the server did not exit after stdin closed; terminating"
    );
    if terminate(child) {
        if let Ok(Ok(status)) = tokio::time::timeout(config.terminate_grace, child.wait()).await {
            return Ok(ShutdownOutcome::Terminated(status));
        }
    }
    tracing::warn!(command, "the server did not exit after SIGTERM; killing it");
    let _ = child.start_kill();
    match tokio::time::timeout(KILL_WAIT, child.wait()).await {
        Ok(Ok(status)) => Ok(ShutdownOutcome::Killed(status)),
        Ok(Err(e)) => Err(TransportError::Other {
            message: format!("could not reap `{command}` after killing it"),
            source: Some(Box::new(e)),
        }),
        Err(_) => Err(TransportError::Timeout {
            phase: format!("waiting for `{command}` to exit after SIGKILL ({KILL_WAIT:?})"),
        }),
    }
}

/// Sends `SIGTERM`. Returns whether a signal was sent.
#[cfg(unix)]
fn terminate(child: &Child) -> bool {
    let Some(pid) = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).is_ok()
}

/// Off Unix there is no `SIGTERM`: go straight to killing.
#[cfg(not(unix))]
fn terminate(_child: &Child) -> bool {
    false
}

/// Describes an exit status for messages.
fn describe(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with status {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("was killed by signal {signal}");
        }
    }
    format!("exited ({status})")
}

/// Writes queued lines; when the queue closes (shutdown) stdin is dropped, which closes it.
async fn write_loop(mut stdin: ChildStdin, mut rx: mpsc::Receiver<Outgoing>) {
    while let Some(out) = rx.recv().await {
        let result = async {
            stdin.write_all(&out.line).await?;
            stdin.flush().await
        }
        .await;
        let failed = result.is_err();
        let _ = out.done.send(result);
        if failed {
            // A broken pipe: the process is gone; the reader reports why.
            break;
        }
    }
}

/// Reads the server's stdout: routes responses to their callers and the rest to `inbound`.
async fn read_loop(
    inner: Weak<Inner>,
    mut stdout: BufReader<tokio::process::ChildStdout>,
    inbound: InboundSender,
    max_line: usize,
) {
    let mut buf = Vec::new();
    let end = loop {
        match framing::read_line(&mut stdout, &mut buf, max_line).await {
            Ok(false) => break None,
            Err(framing::LineError::Io(e)) => {
                tracing::warn!(error = %e, "reading the server's stdout failed");
                break None;
            }
            Err(framing::LineError::TooLong) => break Some(Dead::TooLarge(max_line)),
            Ok(true) => {}
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let message = match Message::parse(&buf) {
            Ok(m) => m,
            Err(e) => {
                let excerpt = String::from_utf8_lossy(&buf[..buf.len().min(200)]).into_owned();
                tracing::warn!(error = %e, line = %excerpt, "skipping a line from the server's stdout that is not JSON-RPC");
                continue;
            }
        };
        match message {
            Message::Response(response) => {
                let Some(inner) = inner.upgrade() else { return };
                let Some(id) = response.id.clone() else {
                    tracing::warn!(?response.outcome, "the server sent an error tied to no request");
                    continue;
                };
                let waiter = inner
                    .pending
                    .lock()
                    .ok()
                    .and_then(|mut p| p.waiters.remove(&id));
                match waiter {
                    Some(w) => {
                        let _ = w.send(Ok(response));
                    }
                    None => tracing::warn!(?id, "dropping a response with an unknown id"),
                }
            }
            Message::Request(r) => {
                if inbound.send(Inbound::Request(r)).await.is_err() {
                    tracing::debug!("no one takes server requests any more");
                }
            }
            Message::Notification(n) => {
                if inbound.send(Inbound::Notification(n)).await.is_err() {
                    tracing::debug!("no one takes server notifications any more");
                }
            }
        }
    };
    let Some(inner) = inner.upgrade() else { return };
    let reason = match end {
        Some(too_large) => {
            tracing::error!(
                command = %inner.command,
                limit = max_line,
                "the server wrote a line longer than the limit; stopping it"
            );
            if let Ok(mut w) = inner.writer.lock() {
                w.take();
            }
            if let Some(child) = inner.child.lock().await.as_mut() {
                let _ = child.start_kill();
            }
            too_large
        }
        None => {
            if inner.dead().is_some() {
                // A shutdown is under way; it reports its own outcome.
                return;
            }
            let status = match inner.child.try_lock() {
                Ok(mut slot) => match slot.as_mut() {
                    Some(child) => match tokio::time::timeout(EXIT_STATUS_WAIT, child.wait()).await
                    {
                        Ok(Ok(status)) => describe(status),
                        _ => "closed its standard output".to_owned(),
                    },
                    None => "closed its standard output".to_owned(),
                },
                Err(_) => "closed its standard output".to_owned(),
            };
            tracing::warn!(command = %inner.command, %status, "the MCP server process ended");
            Dead::Exited(status)
        }
    };
    inner.fail_all(reason);
}

/// Forwards the server's stderr to `tracing`, line by line.
async fn stderr_loop(command: String, mut stderr: BufReader<tokio::process::ChildStderr>) {
    let mut buf = Vec::new();
    loop {
        match framing::read_line(&mut stderr, &mut buf, MAX_STDERR_LINE).await {
            Ok(true) => {
                let line = String::from_utf8_lossy(&buf);
                tracing::info!(target: "conduit_transport_stdio::stderr", command = %command, "{line}");
            }
            Ok(false) | Err(framing::LineError::Io(_)) => return,
            Err(framing::LineError::TooLong) => {
                tracing::info!(target: "conduit_transport_stdio::stderr", command = %command, "(a stderr line longer than {MAX_STDERR_LINE} bytes was skipped)");
                if !matches!(framing::skip_line(&mut stderr).await, Ok(true)) {
                    return;
                }
            }
        }
    }
}

impl Transport for StdioTransport {
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
        Box::pin(async move {
            self.current()
                .write(Message::Notification(notification))
                .await
        })
    }

    fn respond(
        &self,
        response: Response,
        _ctx: RequestContext,
    ) -> BoxFuture<'_, Result<(), TransportError>> {
        Box::pin(async move { self.current().write(Message::Response(response)).await })
    }

    fn stateless_cancellation(&self) -> StatelessCancellation {
        StatelessCancellation::Notification
    }

    fn close(&self) -> BoxFuture<'_, Result<(), TransportError>> {
        Box::pin(async move {
            let outcome = self.shutdown().await?;
            tracing::debug!(command = %self.command, ?outcome, "the MCP server process stopped");
            Ok(())
        })
    }
}
