//! Keep-alive pings and the connection's health.
//!
//! With [`ClientBuilder::keepalive`](crate::ClientBuilder::keepalive) the client pings the
//! server every interval (the spec's SHOULD for detecting dead connections): `ping` in the
//! stateful era, `server/discover` in the stateless era (which has no `ping`). Each probe
//! has its own deadline (the interval or the client's timeout, whichever is shorter) and goes
//! through the ordinary request path, so an expired session is renewed by the probe itself.
//! The outcome is published as a [`Health`]: [`Client::health`] reads it,
//! [`Client::health_updates`] watches it. Transitions are logged (`warn` when the server
//! stops answering, `info` when it answers again). Without keep-alive the health stays
//! [`HealthState::Unknown`]. The task holds no strong reference to the client: it ends when
//! the client is closed or dropped.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::watch;

use crate::client::{CallOptions, Client, ClientInner};

/// What the last keep-alive probes found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum HealthState {
    /// No probe has finished yet (or keep-alive is off).
    #[default]
    Unknown,
    /// The last probe was answered.
    Healthy,
    /// The last probe failed (see [`Health::last_error`]).
    Unhealthy,
}

/// The connection's health as seen by the keep-alive probes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Health {
    /// The verdict of the last probe.
    pub state: HealthState,
    /// Probes that failed in a row (0 after a success).
    pub consecutive_failures: u32,
    /// Probes answered since the client started.
    pub successes: u64,
    /// Why the last failed probe failed (kept until the next success).
    pub last_error: Option<String>,
    /// How long the last answered probe took.
    pub last_round_trip: Option<Duration>,
}

/// The health channel of a client.
pub(crate) type HealthSender = watch::Sender<Health>;

/// Starts the keep-alive task of `inner`.
pub(crate) fn spawn(inner: &Arc<ClientInner>, interval: Duration) {
    let weak = Arc::downgrade(inner);
    let probe_timeout = interval.min(inner.settings.timeout);
    tokio::spawn(run(weak, interval, probe_timeout));
}

async fn run(client: Weak<ClientInner>, interval: Duration, probe_timeout: Duration) {
    let start = tokio::time::Instant::now() + interval;
    let mut ticker = tokio::time::interval_at(start, interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let Some(inner) = client.upgrade() else {
            return;
        };
        let client = Client::from_inner(inner);
        if client.is_closed() {
            return;
        }
        let started = tokio::time::Instant::now();
        let outcome = client.ping_with(CallOptions::timeout(probe_timeout)).await;
        if client.is_closed() {
            return;
        }
        let elapsed = started.elapsed();
        client.health_sender().send_modify(|h| match &outcome {
            Ok(_) => {
                if h.state == HealthState::Unhealthy {
                    tracing::info!(
                        after_failures = h.consecutive_failures,
                        "the server answers keep-alive probes again"
                    );
                }
                h.state = HealthState::Healthy;
                h.consecutive_failures = 0;
                h.successes += 1;
                h.last_error = None;
                h.last_round_trip = Some(elapsed);
            }
            Err(e) => {
                if h.state != HealthState::Unhealthy {
                    tracing::warn!(error = %e, "a keep-alive probe failed");
                }
                h.state = HealthState::Unhealthy;
                h.consecutive_failures = h.consecutive_failures.saturating_add(1);
                h.last_error = Some(e.to_string());
            }
        });
    }
}

impl Client {
    /// The connection's health as the keep-alive probes last found it (see
    /// [`ClientBuilder::keepalive`](crate::ClientBuilder::keepalive)).
    pub fn health(&self) -> Health {
        self.health_sender().borrow().clone()
    }

    /// A receiver that sees every change of [`Client::health`].
    pub fn health_updates(&self) -> watch::Receiver<Health> {
        self.health_sender().subscribe()
    }
}
