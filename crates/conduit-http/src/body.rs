//! [`Body`], a response body with a read-idle timeout and bounded buffering.

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body::Body as _;
use hyper::body::Incoming;
use tokio::time::{Instant, Sleep};

use crate::error::{from_hyper, HttpError, TimeoutPhase};

enum Inner {
    Incoming(Incoming),
    Full(Option<Bytes>),
    Done,
}

/// A response body.
///
/// Read it chunk by chunk with [`chunk`](Body::chunk) (or as a [`futures_core::Stream`]), or
/// buffer it with [`collect`](Body::collect) / [`collect_limited`](Body::collect_limited).
/// Every read is bounded by the read-idle timeout: when no byte arrives for that long while
/// the reader is waiting, the read fails with a [`TimeoutPhase::BodyRead`] timeout. Time the
/// reader spends elsewhere between reads does not count.
///
/// After an error or the end of the body, further reads return `None`. Dropping a body before
/// its end closes the connection instead of returning it to the pool.
pub struct Body {
    inner: Inner,
    host: Arc<str>,
    idle_timeout: Duration,
    default_limit: usize,
    /// Armed while the reader waits; disarmed whenever data arrives.
    sleep: Option<Pin<Box<Sleep>>>,
    armed: bool,
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.inner {
            Inner::Incoming(_) => "streaming",
            Inner::Full(Some(_)) => "buffered",
            Inner::Full(None) | Inner::Done => "finished",
        };
        f.debug_struct("Body")
            .field("host", &self.host)
            .field("state", &state)
            .field("idle_timeout", &self.idle_timeout)
            .finish()
    }
}

impl Body {
    pub(crate) fn incoming(
        incoming: Incoming,
        host: Arc<str>,
        idle_timeout: Duration,
        default_limit: usize,
    ) -> Self {
        Body {
            inner: Inner::Incoming(incoming),
            host,
            idle_timeout,
            default_limit,
            sleep: None,
            armed: false,
        }
    }

    /// A body that yields `bytes` (once, if non-empty) and ends — for tests and adapters.
    /// Its buffered-read limit is [`DEFAULT_MAX_BODY_BYTES`](crate::DEFAULT_MAX_BODY_BYTES).
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        Body {
            inner: Inner::Full((!bytes.is_empty()).then_some(bytes)),
            host: Arc::from(""),
            idle_timeout: crate::DEFAULT_READ_IDLE_TIMEOUT,
            default_limit: crate::DEFAULT_MAX_BODY_BYTES,
            sleep: None,
            armed: false,
        }
    }

    /// An empty body.
    pub fn empty() -> Self {
        Self::from_bytes(Bytes::new())
    }

    /// The exact length announced by the server (`Content-Length`), if any.
    pub fn exact_len(&self) -> Option<u64> {
        match &self.inner {
            Inner::Incoming(incoming) => incoming.size_hint().exact(),
            Inner::Full(Some(b)) => Some(b.len() as u64),
            Inner::Full(None) | Inner::Done => Some(0),
        }
    }

    /// The read-idle timeout applied to reads.
    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// Replaces the read-idle timeout, from the next read on: long-lived streams (a server's
    /// notification stream may stay quiet for minutes) use a longer one than responses.
    pub fn set_idle_timeout(&mut self, idle_timeout: Duration) {
        self.idle_timeout = idle_timeout;
        self.armed = false;
    }

    /// The next chunk of data, `None` at the end. Empty data frames and trailers are skipped.
    pub async fn chunk(&mut self) -> Option<Result<Bytes, HttpError>> {
        poll_fn(|cx| self.poll_chunk(cx)).await
    }

    /// Poll-based form of [`chunk`](Body::chunk).
    pub fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, HttpError>>> {
        loop {
            let incoming = match &mut self.inner {
                Inner::Done => return Poll::Ready(None),
                Inner::Full(bytes) => {
                    let next = bytes.take();
                    self.inner = Inner::Done;
                    return Poll::Ready(next.map(Ok));
                }
                Inner::Incoming(incoming) => incoming,
            };
            match Pin::new(incoming).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    self.armed = false;
                    match frame.into_data() {
                        Ok(data) if !data.is_empty() => return Poll::Ready(Some(Ok(data))),
                        // Empty data or trailers: keep reading.
                        _ => continue,
                    }
                }
                Poll::Ready(Some(Err(err))) => {
                    self.finish();
                    return Poll::Ready(Some(Err(from_hyper(&self.host, err))));
                }
                Poll::Ready(None) => {
                    self.finish();
                    return Poll::Ready(None);
                }
                Poll::Pending => return self.poll_idle(cx),
            }
        }
    }

    /// Polls the idle timer while the body has no data; fails the read when it fires.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, HttpError>>> {
        let deadline = Instant::now() + self.idle_timeout;
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if !self.armed {
            sleep.as_mut().reset(deadline);
            self.armed = true;
        }
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.finish();
                Poll::Ready(Some(Err(HttpError::Timeout {
                    phase: TimeoutPhase::BodyRead,
                    host: self.host.to_string(),
                    after: self.idle_timeout,
                })))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn finish(&mut self) {
        self.inner = Inner::Done;
        self.sleep = None;
        self.armed = false;
    }

    /// Buffers the whole body, up to the client's
    /// [`max_body_bytes`](crate::HttpConfigBuilder::max_body_bytes).
    pub async fn collect(self) -> Result<Bytes, HttpError> {
        let limit = self.default_limit;
        self.collect_limited(limit).await
    }

    /// Buffers the whole body, failing with [`HttpError::TooLarge`] as soon as it exceeds
    /// `limit` bytes: immediately when `Content-Length` announces more, otherwise when the
    /// chunk that crosses the limit arrives (at most `limit` bytes plus that chunk are ever
    /// held).
    pub async fn collect_limited(mut self, limit: usize) -> Result<Bytes, HttpError> {
        let too_large = |host: &str| HttpError::TooLarge {
            limit,
            host: host.to_owned(),
        };
        if let Some(len) = self.exact_len() {
            if len > limit as u64 {
                return Err(too_large(&self.host));
            }
        }
        let mut first: Option<Bytes> = None;
        let mut buf = BytesMut::new();
        while let Some(chunk) = self.chunk().await {
            let chunk = chunk?;
            let so_far = first.as_ref().map_or(0, Bytes::len) + buf.len();
            if so_far + chunk.len() > limit {
                return Err(too_large(&self.host));
            }
            // A single-chunk body is returned without copying.
            match first.take() {
                None if buf.is_empty() => first = Some(chunk),
                Some(previous) => {
                    buf.extend_from_slice(&previous);
                    buf.extend_from_slice(&chunk);
                }
                None => buf.extend_from_slice(&chunk),
            }
        }
        Ok(match first {
            Some(only) => only,
            None => buf.freeze(),
        })
    }

    /// Reads at most `max` bytes, stopping early at the end, on an error, or after `within`
    /// in total — used for error excerpts and draining; never fails.
    pub(crate) async fn read_prefix(mut self, max: usize, within: Duration) -> Bytes {
        let deadline = Instant::now() + within;
        let mut buf = BytesMut::new();
        while buf.len() < max {
            match tokio::time::timeout_at(deadline, self.chunk()).await {
                Ok(Some(Ok(chunk))) => {
                    let take = chunk.len().min(max - buf.len());
                    buf.extend_from_slice(&chunk[..take]);
                }
                _ => break,
            }
        }
        buf.freeze()
    }
}

impl futures_core::Stream for Body {
    type Item = Result<Bytes, HttpError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_chunk(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn from_bytes_yields_once() {
        let mut body = Body::from_bytes("hello");
        assert_eq!(body.exact_len(), Some(5));
        assert_eq!(body.chunk().await.unwrap().unwrap(), "hello");
        assert!(body.chunk().await.is_none());
        assert!(body.chunk().await.is_none());
        assert!(Body::empty().chunk().await.is_none());
    }

    #[tokio::test]
    async fn collect_limited_on_buffered() {
        assert_eq!(Body::from_bytes("abc").collect().await.unwrap(), "abc");
        let err = Body::from_bytes("abcd")
            .collect_limited(3)
            .await
            .unwrap_err();
        assert!(matches!(err, HttpError::TooLarge { limit: 3, .. }));
    }
}
