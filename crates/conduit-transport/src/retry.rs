//! Retries of what is safe to send again, as a [`Transport`] decorator.
//!
//! A request is sent again only when that cannot execute it twice:
//!
//! * the connection failed before the request was delivered ([`TransportError::not_delivered`]);
//! * the server refused it without processing it: HTTP 429 or 503 (its `Retry-After` is honoured,
//!   up to a cap);
//! * or the request is idempotent ([`RequestContext::idempotent`]: lists, reads, gets, ping —
//!   and `tools/call` only when the caller opted in) and the failure is transient: a timeout,
//!   a stream that ended early, a connection lost mid-response, HTTP 502 or 504.
//!
//! Delays grow exponentially with full jitter. The decorator has no deadline of its own: the
//! client's per-call deadline bounds the whole exchange, retries included.

use std::sync::Arc;
use std::time::Duration;

use conduit_protocol::jsonrpc::{Notification, Request, Response};

use crate::{BoxFuture, RequestContext, Transport, TransportError};

/// How many times and how patiently to retry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 disables retries). Default 3.
    pub max_attempts: u32,
    /// The first backoff ceiling; it doubles on each retry. Default 100 ms.
    pub initial_backoff: Duration,
    /// The largest backoff ceiling. Default 5 s.
    pub max_backoff: Duration,
    /// The longest `Retry-After` honoured; a server asking for more gets its error returned.
    /// Default 30 s.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The delay before retry number `retry` (0-based) after `error`, or `None` when the error
    /// must not be retried.
    pub fn delay(&self, retry: u32, error: &TransportError, idempotent: bool) -> Option<Duration> {
        if retry + 1 >= self.max_attempts {
            return None;
        }
        let retryable = match error {
            TransportError::SessionExpired { .. } => false,
            e if e.not_delivered() => true,
            TransportError::Status {
                status: 429 | 503, ..
            } => true,
            TransportError::Status {
                status: 502 | 504, ..
            }
            | TransportError::Timeout { .. }
            | TransportError::StreamEnded { .. }
            | TransportError::Other { .. } => idempotent,
            _ => false,
        };
        if !retryable {
            return None;
        }
        let ceiling = self
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(retry))
            .min(self.max_backoff);
        let jittered = ceiling.mul_f64(rand::random::<f64>());
        match error {
            TransportError::Status {
                retry_after: Some(after),
                ..
            } => {
                if *after > self.max_retry_after {
                    None
                } else {
                    Some((*after).max(jittered))
                }
            }
            _ => Some(jittered),
        }
    }
}

/// A transport that retries what is safe to retry (see the [module docs](self)).
pub struct Retrying {
    inner: Arc<dyn Transport>,
    policy: RetryPolicy,
}

impl std::fmt::Debug for Retrying {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Retrying")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Retrying {
    /// Wraps `inner` with `policy`.
    pub fn new(inner: Arc<dyn Transport>, policy: RetryPolicy) -> Self {
        Retrying { inner, policy }
    }
}

impl Transport for Retrying {
    fn request(
        &self,
        request: Request,
        ctx: RequestContext,
    ) -> BoxFuture<'_, Result<Response, TransportError>> {
        Box::pin(async move { self.request_ref(&request, &ctx).await })
    }

    /// Every attempt lends the same request to the wrapped transport: nothing is copied, however
    /// many attempts there are (a transport without its own `request_ref` copies it per attempt).
    fn request_ref<'a>(
        &'a self,
        request: &'a Request,
        ctx: &'a RequestContext,
    ) -> BoxFuture<'a, Result<Response, TransportError>> {
        Box::pin(async move {
            let mut retry = 0;
            loop {
                match self.inner.request_ref(request, ctx).await {
                    Ok(response) => return Ok(response),
                    Err(e) => match self.policy.delay(retry, &e, ctx.idempotent) {
                        Some(delay) => {
                            tracing::debug!(
                                method = %request.method, error = %e, retry, ?delay,
                                "retrying a request that is safe to send again"
                            );
                            tokio::time::sleep(delay).await;
                            retry += 1;
                        }
                        None => return Err(e),
                    },
                }
            }
        })
    }

    fn notify(
        &self,
        notification: Notification,
        ctx: RequestContext,
    ) -> BoxFuture<'_, Result<(), TransportError>> {
        Box::pin(async move {
            let mut retry = 0;
            loop {
                match self.inner.notify(notification.clone(), ctx.clone()).await {
                    Ok(()) => return Ok(()),
                    // A notification is retried only when it certainly was not delivered.
                    Err(e) if e.not_delivered() => match self.policy.delay(retry, &e, false) {
                        Some(delay) => {
                            tokio::time::sleep(delay).await;
                            retry += 1;
                        }
                        None => return Err(e),
                    },
                    Err(e) => return Err(e),
                }
            }
        })
    }

    fn respond(
        &self,
        response: Response,
        ctx: RequestContext,
    ) -> BoxFuture<'_, Result<(), TransportError>> {
        self.inner.respond(response, ctx)
    }

    fn session_established(&self, protocol_version: &str) {
        self.inner.session_established(protocol_version);
    }

    fn reset_session(&self) {
        self.inner.reset_session();
    }

    fn close(&self) -> BoxFuture<'_, Result<(), TransportError>> {
        self.inner.close()
    }

    // Everything else is the wrapped transport's own answer.

    fn handshake(&self) -> crate::Handshake {
        self.inner.handshake()
    }

    fn stateless_cancellation(&self) -> crate::StatelessCancellation {
        self.inner.stateless_cancellation()
    }

    fn legacy_fallback(&self) -> BoxFuture<'_, Result<bool, TransportError>> {
        self.inner.legacy_fallback()
    }

    fn subscribe<'a>(
        &'a self,
        topic: &'a str,
    ) -> BoxFuture<'a, Result<crate::topics::Subscription, TransportError>> {
        self.inner.subscribe(topic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, retry_after: Option<Duration>) -> TransportError {
        TransportError::Status {
            status,
            body: String::new(),
            retry_after,
        }
    }

    #[test]
    fn only_safe_failures_are_retried() {
        let p = RetryPolicy::default();
        let connect = TransportError::Connect {
            target: "h:1".into(),
            source: "refused".into(),
        };
        assert!(p.delay(0, &connect, false).is_some());
        assert!(p.delay(0, &status(429, None), false).is_some());
        assert!(p.delay(0, &status(503, None), false).is_some());
        assert!(
            p.delay(0, &status(502, None), false).is_none(),
            "not idempotent"
        );
        assert!(p.delay(0, &status(502, None), true).is_some());
        assert!(p
            .delay(0, &TransportError::StreamEnded { resumed: false }, false)
            .is_none());
        assert!(p
            .delay(0, &TransportError::StreamEnded { resumed: false }, true)
            .is_some());
        assert!(p.delay(0, &status(500, None), true).is_none());
        assert!(p.delay(0, &status(400, None), true).is_none());
        assert!(p
            .delay(0, &TransportError::Malformed("x".into()), true)
            .is_none());
        assert!(p
            .delay(
                0,
                &TransportError::SessionExpired {
                    session: "s".into()
                },
                true
            )
            .is_none());
    }

    #[test]
    fn attempts_and_retry_after_are_bounded() {
        let p = RetryPolicy::default();
        assert!(p.delay(1, &status(503, None), true).is_some());
        assert!(
            p.delay(2, &status(503, None), true).is_none(),
            "3 attempts in all"
        );
        let wait = p
            .delay(0, &status(429, Some(Duration::from_secs(2))), false)
            .unwrap();
        assert!(wait >= Duration::from_secs(2));
        assert!(p
            .delay(0, &status(429, Some(Duration::from_secs(3600))), false)
            .is_none());
        assert!(RetryPolicy::none()
            .delay(0, &status(503, None), true)
            .is_none());
    }
}
