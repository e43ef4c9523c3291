//! Responses that arrive on a stream other than their request's own.
//!
//! A request's response normally comes in its own `POST` response (a JSON body or the SSE
//! stream the `POST` opened). It can come elsewhere only on an SSE stream: the background `GET`
//! stream (resuming a stream of an earlier request), or — from a server that does so — another
//! request's SSE stream. A request therefore needs a waiter only while it reads an SSE response;
//! a JSON answer never looks anywhere else.
//!
//! Registering costs a `oneshot`, a hash-map insert and remove under a mutex; so a request
//! registers up front only while another SSE stream is being read ([`Pending::readers`] > 0),
//! and otherwise when (and if) its own response turns out to be an SSE stream. A response that
//! arrives for a request not (yet) registered is kept in a small bounded stash, which a late
//! registration checks first, so the window between sending the `POST` and seeing its head
//! loses nothing.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use conduit_protocol::jsonrpc::{RequestId, Response};
use tokio::sync::oneshot;

/// How many unclaimed responses are kept (oldest dropped first).
pub(crate) const STASH_LIMIT: usize = 32;

/// The waiters, the stash, and the count of SSE streams being read.
#[derive(Default)]
pub(crate) struct Pending {
    state: Mutex<State>,
    /// SSE streams currently being read (the `GET` stream and request streams).
    readers: AtomicUsize,
}

#[derive(Default)]
struct State {
    waiters: HashMap<RequestId, oneshot::Sender<Response>>,
    stash: VecDeque<Response>,
}

/// What [`Pending::register`] found.
pub(crate) enum Registration {
    /// The response already arrived on another stream.
    Arrived(Response),
    /// Wait on this receiver (the entry is removed when the [`Waiter`] drops).
    Waiting(oneshot::Receiver<Response>),
}

impl Pending {
    /// Whether another SSE stream is being read, so that a request should register before it
    /// sends.
    pub(crate) fn streams_open(&self) -> bool {
        self.readers.load(Ordering::Acquire) > 0
    }

    /// Counts one SSE stream as being read until the guard drops.
    pub(crate) fn reading(&self) -> ReaderGuard<'_> {
        self.readers.fetch_add(1, Ordering::AcqRel);
        ReaderGuard { pending: self }
    }

    /// Adjusts the count of streams being read by `delta` (for a reader that cannot hold a
    /// [`ReaderGuard`], the background `GET` stream).
    pub(crate) fn readers_add(&self, delta: isize) {
        if delta >= 0 {
            self.readers
                .fetch_add(delta.unsigned_abs(), Ordering::AcqRel);
        } else {
            self.readers
                .fetch_sub(delta.unsigned_abs(), Ordering::AcqRel);
        }
    }

    /// Registers a waiter for `id`, unless its response is already in the stash.
    pub(crate) fn register(&self, id: &RequestId) -> Registration {
        let (tx, rx) = oneshot::channel();
        let Ok(mut state) = self.state.lock() else {
            return Registration::Waiting(rx);
        };
        if let Some(at) = state.stash.iter().position(|r| r.id.as_ref() == Some(id)) {
            if let Some(response) = state.stash.remove(at) {
                return Registration::Arrived(response);
            }
        }
        state.waiters.insert(id.clone(), tx);
        Registration::Waiting(rx)
    }

    /// Removes the waiter of `id` (the request finished).
    pub(crate) fn unregister(&self, id: &RequestId) {
        if let Ok(mut state) = self.state.lock() {
            state.waiters.remove(id);
        }
    }

    /// Hands a response that arrived on a stream not its own to its waiter, or stashes it for
    /// a request that has not registered yet.
    pub(crate) fn deliver(&self, response: Response) {
        let Some(id) = response.id.clone() else {
            tracing::warn!("dropping an error response without an id that arrived on a stream");
            return;
        };
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let response = match state.waiters.remove(&id) {
            Some(tx) => match tx.send(response) {
                Ok(()) => return,
                // The waiter gave up (its call ended); nothing will ask again.
                Err(_) => {
                    tracing::warn!(%id, "dropping a response whose request is no longer waiting");
                    return;
                }
            },
            None => response,
        };
        if state.stash.len() >= STASH_LIMIT {
            if let Some(old) = state.stash.pop_front() {
                tracing::warn!(
                    id = ?old.id,
                    "dropping a response that matches no request in flight"
                );
            }
        }
        state.stash.push_back(response);
    }

    /// Forgets stashed responses (the session ended: their ids may be reused).
    pub(crate) fn clear_stash(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.stash.clear();
        }
    }

    /// How many responses are stashed (for tests).
    #[cfg(test)]
    pub(crate) fn stashed(&self) -> usize {
        self.state.lock().map(|s| s.stash.len()).unwrap_or(0)
    }
}

/// Decrements [`Pending::readers`] when a stream stops being read.
pub(crate) struct ReaderGuard<'a> {
    pending: &'a Pending,
}

impl Drop for ReaderGuard<'_> {
    fn drop(&mut self) {
        self.pending.readers.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Removes a registered waiter when the request finishes, however it finishes.
pub(crate) struct Waiter<'a> {
    pub(crate) pending: &'a Pending,
    pub(crate) id: RequestId,
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        self.pending.unregister(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use conduit_protocol::jsonrpc::Outcome;

    fn response(id: i64) -> Response {
        Response {
            id: Some(RequestId::Number(id)),
            outcome: Outcome::Result(serde_json::json!({"n": id})),
        }
    }

    #[tokio::test]
    async fn a_waiter_receives_its_response() {
        let pending = Pending::default();
        let Registration::Waiting(rx) = pending.register(&RequestId::Number(1)) else {
            panic!("nothing was stashed")
        };
        pending.deliver(response(1));
        assert_eq!(rx.await.unwrap().id, Some(RequestId::Number(1)));
        assert_eq!(pending.stashed(), 0);
    }

    #[test]
    fn an_early_response_is_stashed_for_a_late_registration() {
        let pending = Pending::default();
        pending.deliver(response(7));
        assert_eq!(pending.stashed(), 1);
        match pending.register(&RequestId::Number(7)) {
            Registration::Arrived(r) => assert_eq!(r.id, Some(RequestId::Number(7))),
            Registration::Waiting(_) => panic!("the stashed response was not found"),
        }
        assert_eq!(pending.stashed(), 0);
        assert!(matches!(
            pending.register(&RequestId::Number(8)),
            Registration::Waiting(_)
        ));
    }

    #[test]
    fn the_stash_is_bounded_and_cleared() {
        let pending = Pending::default();
        for i in 0..(STASH_LIMIT as i64 + 5) {
            pending.deliver(response(i));
        }
        assert_eq!(pending.stashed(), STASH_LIMIT);
        // The oldest went first.
        assert!(matches!(
            pending.register(&RequestId::Number(0)),
            Registration::Waiting(_)
        ));
        pending.clear_stash();
        assert_eq!(pending.stashed(), 0);
    }

    #[test]
    fn readers_are_counted_while_guards_live() {
        let pending = Pending::default();
        assert!(!pending.streams_open());
        let a = pending.reading();
        let b = pending.reading();
        assert!(pending.streams_open());
        drop(a);
        assert!(pending.streams_open());
        drop(b);
        assert!(!pending.streams_open());
    }
}
