//! `tools call`: progress on stderr (a bar on a terminal, JSON lines with `--json`) and
//! Ctrl-C that cancels the call properly before exiting.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use conduit::protocol::mcp::{CallToolResult, ProgressNotificationParams};
use conduit::{CallOptions, CancelHandle, Client};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::Failure;

/// Exit code after Ctrl-C (128 + SIGINT), as shells report it.
pub(crate) const INTERRUPTED: u8 = 130;

/// How long the call may take to wind down after Ctrl-C before the CLI exits anyway.
const WIND_DOWN: Duration = Duration::from_secs(3);

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ProgressView {
    /// One JSON object per notification on stderr.
    JsonLines,
    /// An indicatif bar on stderr (a terminal).
    Bar,
    /// Nothing (stderr is not a terminal and no `--json`).
    Hidden,
}

/// Calls `name`, showing progress and honouring Ctrl-C. The caller closes the client (which
/// lets a pending `notifications/cancelled` go out).
pub(crate) async fn call(
    client: &Client,
    name: &str,
    args: Value,
    json: bool,
) -> Result<CallToolResult, Failure> {
    let view = if json {
        ProgressView::JsonLines
    } else if std::io::stderr().is_terminal() {
        ProgressView::Bar
    } else {
        ProgressView::Hidden
    };
    let cancel = CancelHandle::new();
    let mut options = CallOptions {
        cancel: Some(cancel.clone()),
        ..CallOptions::default()
    };
    let shower = if view == ProgressView::Hidden {
        None
    } else {
        let (tx, rx) = mpsc::channel(64);
        options.progress = Some(tx);
        Some(tokio::spawn(show_progress(rx, view)))
    };

    // Listen before the request goes out, so that an early Ctrl-C cancels it too.
    let interrupted = interrupt();
    let call = client.call_tool_raw(name, args, options);
    tokio::pin!(call);
    let outcome = tokio::select! {
        result = &mut call => Some(result),
        _ = interrupted => None,
    };
    let result = match outcome {
        Some(result) => result,
        None => {
            cancel.cancel();
            // The call notices the cancellation, arms `notifications/cancelled` and returns.
            let _ = tokio::time::timeout(WIND_DOWN, &mut call).await;
            if let Some(task) = shower {
                task.abort();
                let _ = task.await;
            }
            return Err(Failure {
                message: format!("interrupted: the call to `{name}` was cancelled"),
                code: INTERRUPTED,
            });
        }
    };
    if let Some(task) = shower {
        // The call's sender is gone: the task drains what is queued and ends.
        let _ = tokio::time::timeout(Duration::from_secs(1), task).await;
    }
    Ok(result?)
}

/// Resolves on Ctrl-C (SIGINT). The listener is registered when this is called, not when the
/// future is first polled. Never resolves when no listener can be registered.
fn interrupt() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    async move {
        #[cfg(unix)]
        if let Some(s) = sigint.as_mut() {
            if s.recv().await.is_some() {
                return;
            }
            std::future::pending::<()>().await;
        }
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

async fn show_progress(mut rx: mpsc::Receiver<ProgressNotificationParams>, view: ProgressView) {
    let mut bar: Option<indicatif::ProgressBar> = None;
    while let Some(p) = rx.recv().await {
        match view {
            ProgressView::JsonLines => {
                let line = json!({
                    "progress": number(p.progress),
                    "total": p.total.map(number),
                    "message": p.message,
                });
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "{line}");
            }
            ProgressView::Bar => {
                let bar = bar.get_or_insert_with(new_bar);
                update_bar(bar, &p);
            }
            ProgressView::Hidden => {}
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}

/// A whole number as a JSON integer (`3`, not `3.0`), anything else as it is.
fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

fn new_bar() -> indicatif::ProgressBar {
    let bar =
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Scale of fractional progress values on the bar (indicatif counts in integers).
const SCALE: f64 = 1000.0;

fn update_bar(bar: &indicatif::ProgressBar, p: &ProgressNotificationParams) {
    let to_units = |v: f64| {
        if v.is_finite() && v > 0.0 {
            (v * SCALE).round() as u64
        } else {
            0
        }
    };
    match p.total {
        Some(total) if total > 0.0 => {
            if bar.length() != Some(to_units(total)) {
                bar.set_length(to_units(total));
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% {msg}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
            }
        }
        _ => {
            if bar.length().is_some() {
                bar.unset_length();
                bar.set_style(
                    indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                );
            }
        }
    }
    bar.set_position(to_units(p.progress));
    if let Some(message) = &p.message {
        bar.set_message(message.clone());
    }
}
