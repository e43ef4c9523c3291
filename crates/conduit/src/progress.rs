//! Per-call progress and cancellation: where a call's `notifications/progress` go, the
//! "reset the timeout on progress" clock, and the explicit [`CancelHandle`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use conduit_protocol::mcp::ProgressNotificationParams;
use tokio::sync::{mpsc, watch, Notify};
use tokio::time::Instant;

/// Where the progress notifications of one call go.
#[derive(Clone)]
pub(crate) struct ProgressSink {
    /// The caller's receiver, if any.
    pub(crate) user: Option<mpsc::Sender<ProgressNotificationParams>>,
    /// The caller's callback, if any.
    pub(crate) callback: Option<ProgressCallback>,
    /// Ticks on every notification (resets the call's idle deadline).
    pub(crate) activity: Option<Arc<watch::Sender<()>>>,
}

impl ProgressSink {
    pub(crate) fn deliver(&self, progress: ProgressNotificationParams) {
        if let Some(a) = &self.activity {
            a.send_replace(());
        }
        if let Some(callback) = &self.callback {
            (callback.0)(progress.clone());
        }
        if let Some(user) = &self.user {
            // A slow consumer loses progress updates rather than stalling the stream.
            let _ = user.try_send(progress);
        }
    }
}

/// A function called with each progress notification of a call (see
/// [`CallOptions::on_progress`](crate::CallOptions::on_progress)). It runs on the client's
/// dispatcher, in order: keep it quick and never block in it.
#[derive(Clone)]
pub struct ProgressCallback(pub(crate) Arc<dyn Fn(ProgressNotificationParams) + Send + Sync>);

impl ProgressCallback {
    /// Wraps `f`.
    pub fn new(f: impl Fn(ProgressNotificationParams) + Send + Sync + 'static) -> Self {
        ProgressCallback(Arc::new(f))
    }
}

impl std::fmt::Debug for ProgressCallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgressCallback(..)")
    }
}

/// Cancels calls made with it (see [`CallOptions::cancel`](crate::CallOptions)). Cheap to
/// clone; one handle may cancel several calls. Cancelling sends `notifications/cancelled` for
/// each call in flight (stateful era) or closes its stream (stateless era), and the call
/// returns [`Error::Cancelled`](crate::Error::Cancelled) — never a success.
#[derive(Clone, Debug, Default)]
pub struct CancelHandle {
    inner: Arc<CancelInner>,
}

#[derive(Debug, Default)]
struct CancelInner {
    cancelled: AtomicBool,
    notify: Notify,
}

impl CancelHandle {
    /// A new, not yet cancelled handle.
    pub fn new() -> Self {
        CancelHandle::default()
    }

    /// Cancels every call made with this handle, now and later.
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::Release);
        self.inner.notify.notify_waiters();
    }

    /// Whether [`CancelHandle::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::Acquire)
    }

    /// Resolves once cancelled.
    pub async fn cancelled(&self) {
        loop {
            let notified = self.inner.notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

/// Why waiting for a response stopped early.
pub(crate) enum Stop {
    /// The deadline passed (idle or overall), with the duration that applied.
    Timeout(Duration),
    /// The caller cancelled.
    Cancelled,
}

/// Runs `fut` under a deadline of `timeout`; with `activity`, each progress tick pushes the
/// deadline back to `timeout` from now, but never past `max_total` from the start.
pub(crate) async fn with_deadline<F: std::future::Future>(
    fut: F,
    timeout: Duration,
    activity: Option<watch::Receiver<()>>,
    max_total: Option<Duration>,
    cancel: Option<&CancelHandle>,
) -> Result<F::Output, Stop> {
    let start = Instant::now();
    let hard = max_total.map(|m| start + m);
    tokio::pin!(fut);
    let mut activity = activity;
    let mut deadline = start + timeout;
    loop {
        let effective = match hard {
            Some(h) if h < deadline => h,
            _ => deadline,
        };
        let ticked = async {
            match activity.as_mut() {
                Some(rx) => {
                    if rx.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
                None => std::future::pending::<()>().await,
            }
        };
        let cancelled = async {
            match cancel {
                Some(c) => c.cancelled().await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            out = &mut fut => return Ok(out),
            _ = tokio::time::sleep_until(effective) => {
                let applied = if Some(effective) == hard && hard != Some(deadline) {
                    max_total.unwrap_or(timeout)
                } else {
                    timeout
                };
                return Err(Stop::Timeout(applied));
            }
            _ = ticked => {
                deadline = Instant::now() + timeout;
            }
            _ = cancelled => return Err(Stop::Cancelled),
        }
    }
}
