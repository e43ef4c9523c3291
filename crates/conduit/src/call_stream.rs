//! A tool call as a stream: its progress updates, then its result.
//!
//! [`Client::call_tool_stream`] returns a [`CallStream`], a `futures_core::Stream` of
//! [`CallEvent`]s: every `notifications/progress` of the call in order, then exactly one
//! [`CallEvent::Done`] with the outcome, then the end of the stream. Progress sent before the
//! result is never lost to a race with it (the client flushes it first). Dropping the stream
//! before `Done` abandons the call, which is cancelled as any dropped call is.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use conduit_protocol::mcp::{CallToolResult, ProgressNotificationParams};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::client::{CallOptions, Client};
use crate::Error;

/// How many progress updates a [`CallStream`] buffers for a slow reader before dropping
/// updates (never the result).
pub const CALL_STREAM_BUFFER: usize = 256;

/// One item of a [`CallStream`].
#[derive(Debug)]
#[non_exhaustive]
pub enum CallEvent {
    /// A progress notification of the call.
    Progress(ProgressNotificationParams),
    /// The call's outcome (the last item), as [`Client::call_tool_raw`] returns it.
    Done(Result<CallToolResult, Error>),
}

type CallFuture = Pin<Box<dyn Future<Output = Result<CallToolResult, Error>> + Send>>;

/// A tool call's progress updates followed by its outcome (see the module documentation).
pub struct CallStream {
    call: Option<CallFuture>,
    updates: mpsc::Receiver<ProgressNotificationParams>,
    outcome: Option<Result<CallToolResult, Error>>,
}

impl std::fmt::Debug for CallStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallStream")
            .field("finished", &self.call.is_none())
            .finish_non_exhaustive()
    }
}

impl CallStream {
    /// The next event, or `None` after [`CallEvent::Done`].
    pub async fn next_event(&mut self) -> Option<CallEvent> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_event(cx)).await
    }

    /// Waits for the outcome, discarding the progress updates still to come.
    pub async fn result(mut self) -> Result<CallToolResult, Error> {
        while let Some(event) = self.next_event().await {
            if let CallEvent::Done(outcome) = event {
                return outcome;
            }
        }
        Err(Error::Closed)
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<CallEvent>> {
        if let Some(call) = self.call.as_mut() {
            if let Poll::Ready(Some(p)) = self.updates.poll_recv(cx) {
                return Poll::Ready(Some(CallEvent::Progress(p)));
            }
            match call.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(outcome) => {
                    self.call = None;
                    self.outcome = Some(outcome);
                }
            }
        }
        // The call is over and its sender gone: drain what it delivered, then the outcome.
        if let Ok(p) = self.updates.try_recv() {
            return Poll::Ready(Some(CallEvent::Progress(p)));
        }
        Poll::Ready(self.outcome.take().map(CallEvent::Done))
    }
}

impl futures_core::Stream for CallStream {
    type Item = CallEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<CallEvent>> {
        self.get_mut().poll_event(cx)
    }
}

impl Client {
    /// Calls a tool and streams its progress updates followed by its outcome (see
    /// [`CallStream`]). `options` apply as for [`Client::call_tool_raw`] (its `progress`
    /// receiver, if any, is replaced by the stream's own).
    ///
    /// ```no_run
    /// # async fn run(client: conduit::Client) {
    /// use conduit::CallEvent;
    /// let mut call = client.call_tool_stream("slow", serde_json::json!({}), Default::default());
    /// while let Some(event) = call.next_event().await {
    ///     match event {
    ///         CallEvent::Progress(p) => println!("{} / {:?}", p.progress, p.total),
    ///         CallEvent::Done(result) => println!("{result:?}"),
    ///         _ => {}
    ///     }
    /// }
    /// # }
    /// ```
    pub fn call_tool_stream(
        &self,
        name: &str,
        arguments: Value,
        options: CallOptions,
    ) -> CallStream {
        let (tx, rx) = mpsc::channel(CALL_STREAM_BUFFER);
        let client = self.clone();
        let name = name.to_owned();
        let options = options.with_progress(tx);
        let call: CallFuture =
            Box::pin(async move { client.call_tool_raw(&name, arguments, options).await });
        CallStream {
            call: Some(call),
            updates: rx,
            outcome: None,
        }
    }
}
