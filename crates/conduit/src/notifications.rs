//! Notifications from the server, as streams: every notification
//! ([`Client::notifications`](crate::Client::notifications)), log messages
//! ([`Client::log_messages`](crate::Client::log_messages)) and change notifications
//! ([`Client::listen`](crate::Client::listen)).
//!
//! Each subscriber has its own bounded queue; a subscriber that falls behind loses the oldest
//! undelivered notifications (with a warning) rather than stalling the connection.

use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use conduit_protocol::mcp::ServerNotification;
use tokio::sync::mpsc;

/// The queue length of one subscriber.
pub const SUBSCRIBER_CAPACITY: usize = 256;

type Filter = Box<dyn Fn(&ServerNotification) -> bool + Send + Sync>;

struct Subscriber {
    filter: Filter,
    tx: mpsc::Sender<ServerNotification>,
}

/// Fans notifications out to subscribers.
#[derive(Default)]
pub(crate) struct Hub {
    subscribers: Mutex<Vec<Subscriber>>,
}

impl Hub {
    pub(crate) fn subscribe(
        &self,
        filter: impl Fn(&ServerNotification) -> bool + Send + Sync + 'static,
    ) -> NotificationStream {
        let (tx, rx) = mpsc::channel(SUBSCRIBER_CAPACITY);
        if let Ok(mut s) = self.subscribers.lock() {
            s.push(Subscriber {
                filter: Box::new(filter),
                tx,
            });
        }
        NotificationStream {
            rx,
            guard: None,
            first: None,
            end: None,
            outcome: None,
        }
    }

    pub(crate) fn publish(&self, n: &ServerNotification) {
        let Ok(mut subs) = self.subscribers.lock() else {
            return;
        };
        subs.retain(|s| !s.tx.is_closed());
        for s in subs.iter() {
            if (s.filter)(n) {
                if let Err(mpsc::error::TrySendError::Full(_)) = s.tx.try_send(n.clone()) {
                    tracing::warn!(
                        method = n.method(),
                        "a notification subscriber is behind; dropping a notification"
                    );
                }
            }
        }
    }
}

/// A stream of server notifications (a `futures_core::Stream`, and [`NotificationStream::recv`]
/// for plain `async` use). Ends when the client is dropped or closed.
pub struct NotificationStream {
    rx: mpsc::Receiver<ServerNotification>,
    /// Work that lives as long as the stream (a `subscriptions/listen` request, resource
    /// subscriptions to undo).
    pub(crate) guard: Option<Box<dyn Send + Sync>>,
    /// Delivered before anything in `rx` (the acknowledgement `listen` waited for).
    pub(crate) first: Option<ServerNotification>,
    /// Resolves when the work behind the stream ended (a `subscriptions/listen` request's
    /// outcome); the stream then ends once its queue is drained.
    pub(crate) end: Option<EndFuture>,
    outcome: Option<Result<(), crate::Error>>,
}

/// See [`NotificationStream::end`].
pub(crate) type EndFuture =
    Pin<Box<dyn std::future::Future<Output = Result<(), crate::Error>> + Send + Sync>>;

impl std::fmt::Debug for NotificationStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotificationStream").finish_non_exhaustive()
    }
}

impl NotificationStream {
    /// The next notification; `None` once the client is gone (or, for a stateless-era
    /// [`listen`](crate::Client::listen) stream, once its subscription ended).
    pub async fn recv(&mut self) -> Option<ServerNotification> {
        std::future::poll_fn(|cx| self.poll_next_item(cx)).await
    }

    /// The next notification already queued, if any.
    pub(crate) fn try_recv(&mut self) -> Result<ServerNotification, mpsc::error::TryRecvError> {
        match self.first.take() {
            Some(n) => Ok(n),
            None => self.rx.try_recv(),
        }
    }

    /// How the subscription behind a stateless-era [`listen`](crate::Client::listen) stream
    /// ended, once the stream has ended: `Ok(())` when the server closed it gracefully (its
    /// `subscriptions/listen` result), the error otherwise (e.g. the connection broke).
    /// `None` while it lasts, and for every other stream.
    pub fn listen_outcome(&self) -> Option<&Result<(), crate::Error>> {
        self.outcome.as_ref()
    }

    fn poll_next_item(&mut self, cx: &mut Context<'_>) -> Poll<Option<ServerNotification>> {
        if let Some(n) = self.first.take() {
            return Poll::Ready(Some(n));
        }
        if let Poll::Ready(item) = self.rx.poll_recv(cx) {
            return Poll::Ready(item);
        }
        if let Some(end) = self.end.as_mut() {
            if let Poll::Ready(outcome) = end.as_mut().poll(cx) {
                self.end = None;
                self.outcome = Some(outcome);
                // No more deliveries; what is already queued is still read below.
                self.rx.close();
            }
        }
        if self.outcome.is_some() {
            return self.rx.poll_recv(cx);
        }
        Poll::Pending
    }
}

impl futures_core::Stream for NotificationStream {
    type Item = ServerNotification;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.poll_next_item(cx)
    }
}
