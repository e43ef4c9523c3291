//! [`Client::subscribe`]: topic subscriptions on transports with server push.

use crate::{Client, Error, Subscription};

impl Client {
    /// Subscribes to a server topic (DataGrout patterns: `agents.<id>.events`,
    /// `tools.<name>.results`, `tasks.<id>.*`, `flows.<id>.*`, `governor.<uuid>`).
    ///
    /// Only the WebSocket transport carries topics; on the others this fails with
    /// [`TransportError::Unsupported`](crate::transport::TransportError::Unsupported). The
    /// [`Subscription`] is a `Stream` of [`TopicEvent`](crate::TopicEvent)s and has `recv()`;
    /// it survives reconnections (a [`TopicEvent::Reconnected`](crate::TopicEvent::Reconnected)
    /// marks each gap) and unsubscribes when dropped.
    pub async fn subscribe(&self, topic: &str) -> Result<Subscription, Error> {
        if self.is_closed() {
            return Err(Error::Closed);
        }
        if topic.is_empty() {
            return Err(Error::Config("the topic must not be empty".into()));
        }
        let timeout = self.settings().timeout;
        match tokio::time::timeout(timeout, self.transport().subscribe(topic)).await {
            Err(_) => Err(Error::Timeout {
                method: "subscribe".into(),
                after: timeout,
            }),
            Ok(r) => r.map_err(Error::Transport),
        }
    }

    /// Ends a subscription and waits (boundedly) for the server to confirm.
    pub async fn unsubscribe(&self, subscription: Subscription) -> Result<(), Error> {
        subscription.unsubscribe().await.map_err(Error::Transport)
    }
}
