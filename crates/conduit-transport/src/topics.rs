//! Topic subscriptions for transports that carry server push (the WebSocket transport).
//!
//! A [`Subscription`] is a bounded queue of [`TopicEvent`]s fed by the transport. It is a
//! [`futures_core::Stream`] and also has [`Subscription::recv`]. Dropping it unsubscribes (the
//! transport sends the unsubscribe frame in the background); [`Subscription::unsubscribe`] does
//! the same and waits for the server's answer.
//!
//! **Overflow policy: drop oldest and count.** Each subscription buffers at most `capacity`
//! events. When an event arrives at a full buffer, the oldest buffered event is discarded and
//! counted; the next item the subscriber receives is then a [`TopicEvent::Lagged`] carrying how
//! many events were lost since the previous one, followed by the newest events. A slow
//! subscriber therefore never makes memory grow and never stalls the connection or other
//! subscribers, and it always knows that it missed something.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Waker};

use serde_json::Value;

use crate::{BoxFuture, TransportError};

/// The default number of events a subscription buffers (the reference SDK's queue size).
pub const DEFAULT_SUBSCRIPTION_CAPACITY: usize = 256;

/// One item of a [`Subscription`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum TopicEvent {
    /// An event the server published on the topic.
    Event {
        /// The event name (`params.event` of the notification frame).
        event: String,
        /// The event payload (`params.data`).
        data: Value,
    },
    /// The connection was lost and re-established, and the subscription renewed: events
    /// published in between may be missing.
    Reconnected {
        /// How many reconnections this transport has made so far (1 for the first).
        attempt: u64,
    },
    /// The subscriber was too slow: this many of the oldest buffered events were discarded
    /// since the previous item.
    Lagged {
        /// How many events were discarded.
        dropped: u64,
    },
}

/// What a transport implements so that a [`Subscription`] can end itself.
pub trait SubscriptionOwner: Send + Sync + 'static {
    /// Forgets subscription `key` and unsubscribes from the server in the background (called
    /// on drop; must not block).
    fn release(&self, key: u64);

    /// Forgets subscription `key` and unsubscribes, waiting (boundedly) for the server.
    fn unsubscribe(&self, key: u64) -> BoxFuture<'_, Result<(), TransportError>>;
}

struct QueueState {
    items: VecDeque<TopicEvent>,
    lag: u64,
    closed: bool,
    waker: Option<Waker>,
}

/// The transport's end of a subscription: where it pushes events.
pub struct SubscriptionQueue {
    capacity: usize,
    state: Mutex<QueueState>,
    dropped_total: AtomicU64,
    notify: tokio::sync::Notify,
}

impl std::fmt::Debug for SubscriptionQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubscriptionQueue")
            .field("capacity", &self.capacity)
            .field("dropped_total", &self.dropped_total.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl SubscriptionQueue {
    /// A queue holding at most `capacity` items (at least 1).
    pub fn new(capacity: usize) -> Arc<Self> {
        Arc::new(SubscriptionQueue {
            capacity: capacity.max(1),
            state: Mutex::new(QueueState {
                items: VecDeque::new(),
                lag: 0,
                closed: false,
                waker: None,
            }),
            dropped_total: AtomicU64::new(0),
            notify: tokio::sync::Notify::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds an item; when the buffer is full the oldest item is dropped and counted. Never
    /// blocks. Items pushed after [`close`](Self::close) are ignored.
    pub fn push(&self, item: TopicEvent) {
        let waker = {
            let mut s = self.lock();
            if s.closed {
                return;
            }
            if s.items.len() >= self.capacity {
                s.items.pop_front();
                s.lag += 1;
                self.dropped_total.fetch_add(1, Ordering::Relaxed);
            }
            s.items.push_back(item);
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        self.notify.notify_one();
    }

    /// Ends the stream: buffered items are still delivered, then `None`.
    pub fn close(&self) {
        let waker = {
            let mut s = self.lock();
            s.closed = true;
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        self.notify.notify_one();
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// How many events were discarded by the overflow policy since the start.
    pub fn dropped_total(&self) -> u64 {
        self.dropped_total.load(Ordering::Relaxed)
    }

    fn poll_item(&self, cx: Option<&mut Context<'_>>) -> Poll<Option<TopicEvent>> {
        let mut s = self.lock();
        if s.lag > 0 {
            let dropped = std::mem::take(&mut s.lag);
            return Poll::Ready(Some(TopicEvent::Lagged { dropped }));
        }
        if let Some(item) = s.items.pop_front() {
            return Poll::Ready(Some(item));
        }
        if s.closed {
            return Poll::Ready(None);
        }
        if let Some(cx) = cx {
            s.waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// A live topic subscription: a stream of [`TopicEvent`]s. See the [module docs](self) for the
/// overflow policy.
pub struct Subscription {
    topic: String,
    key: u64,
    queue: Arc<SubscriptionQueue>,
    owner: Weak<dyn SubscriptionOwner>,
    released: AtomicBool,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("topic", &self.topic)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Subscription {
    /// Built by a transport: `key` identifies the subscription to its `owner`.
    pub fn new(
        topic: impl Into<String>,
        key: u64,
        queue: Arc<SubscriptionQueue>,
        owner: Weak<dyn SubscriptionOwner>,
    ) -> Self {
        Subscription {
            topic: topic.into(),
            key,
            queue,
            owner,
            released: AtomicBool::new(false),
        }
    }

    /// The topic subscribed to.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The next item, or `None` once the subscription or the transport is closed (buffered
    /// items are delivered first).
    pub async fn recv(&mut self) -> Option<TopicEvent> {
        loop {
            let notified = self.queue.notify.notified();
            if let Poll::Ready(item) = self.queue.poll_item(None) {
                return item;
            }
            notified.await;
        }
    }

    /// How many events the overflow policy discarded on this subscription so far.
    pub fn dropped_events(&self) -> u64 {
        self.queue.dropped_total()
    }

    /// Unsubscribes and waits (boundedly) for the server to acknowledge. The stream ends.
    pub async fn unsubscribe(self) -> Result<(), TransportError> {
        self.released.store(true, Ordering::Release);
        self.queue.close();
        match self.owner.upgrade() {
            Some(owner) => owner.unsubscribe(self.key).await,
            None => Ok(()),
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if self.released.swap(true, Ordering::AcqRel) {
            return;
        }
        self.queue.close();
        if let Some(owner) = self.owner.upgrade() {
            owner.release(self.key);
        }
    }
}

impl futures_core::Stream for Subscription {
    type Item = TopicEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<TopicEvent>> {
        self.queue.poll_item(Some(cx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(n: u64) -> TopicEvent {
        TopicEvent::Event {
            event: "e".into(),
            data: Value::from(n),
        }
    }

    #[test]
    fn overflow_drops_oldest_and_reports_the_gap() {
        let q = SubscriptionQueue::new(3);
        for n in 0..5 {
            q.push(ev(n));
        }
        assert_eq!(q.dropped_total(), 2);
        assert_eq!(
            q.poll_item(None),
            Poll::Ready(Some(TopicEvent::Lagged { dropped: 2 }))
        );
        for n in 2..5 {
            assert_eq!(q.poll_item(None), Poll::Ready(Some(ev(n))));
        }
        assert_eq!(q.poll_item(None), Poll::Pending);
        q.close();
        assert_eq!(q.poll_item(None), Poll::Ready(None));
        q.push(ev(9));
        assert_eq!(q.poll_item(None), Poll::Ready(None));
    }
}
