//! Server-Sent Events: event framing and the registry of logical streams that makes them
//! resumable with `Last-Event-ID`.
//!
//! A *logical stream* outlives the HTTP connection that carries it: every event is kept in the
//! stream's history, and at most one connection (a *sink*) is attached at a time. Event ids are
//! `<stream id>-<sequence>`, so an id alone names the stream to resume.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};

/// Events kept per stream for replay.
const HISTORY_LIMIT: usize = 1024;
/// Finished streams kept for late resumption before the oldest are evicted.
const FINISHED_LIMIT: usize = 256;

/// Formats one SSE event. `data: None` produces a priming event (an id and empty data).
pub(crate) fn format_event(id: &str, retry_ms: Option<u64>, data: Option<&Value>) -> Bytes {
    let mut out = format!("id: {id}\n");
    if let Some(retry) = retry_ms {
        out.push_str(&format!("retry: {retry}\n"));
    }
    match data {
        // serde_json never emits raw newlines, so one data line always suffices.
        Some(value) => out.push_str(&format!("data: {value}\n\n")),
        None => out.push_str("data: \n\n"),
    }
    Bytes::from(out)
}

/// What a logical stream was opened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamKind {
    /// The answer to one POSTed request.
    Request,
    /// A standalone GET stream for server-initiated messages.
    Listener,
}

#[derive(Debug)]
struct LogicalStream {
    session: Option<String>,
    kind: StreamKind,
    next_seq: u64,
    history: VecDeque<(u64, Bytes)>,
    finished: bool,
    sink: Option<UnboundedSender<Bytes>>,
    opened: u64,
}

/// Why a `Last-Event-ID` could not be resumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResumeError {
    /// Malformed id, unknown stream, another session's stream, or history already evicted.
    UnknownEventId,
}

/// Every logical stream of a gateway.
#[derive(Debug, Default)]
pub(crate) struct Streams {
    streams: HashMap<String, LogicalStream>,
    opened: u64,
}

impl Streams {
    /// Opens a stream and attaches a fresh sink; returns its id and the receiving half.
    pub(crate) fn open(
        &mut self,
        session: Option<String>,
        kind: StreamKind,
    ) -> (String, UnboundedReceiver<Bytes>) {
        self.evict();
        let id = loop {
            let candidate = format!("{:016x}", rand::random::<u64>());
            if !self.streams.contains_key(&candidate) {
                break candidate;
            }
        };
        let (tx, rx) = mpsc::unbounded_channel();
        self.opened += 1;
        self.streams.insert(
            id.clone(),
            LogicalStream {
                session,
                kind,
                next_seq: 1,
                history: VecDeque::new(),
                finished: false,
                sink: Some(tx),
                opened: self.opened,
            },
        );
        (id, rx)
    }

    /// Appends an event (a message, or a priming event when `message` is `None`), delivering it to
    /// the attached sink if there is one. Returns the event id.
    pub(crate) fn emit(
        &mut self,
        stream: &str,
        message: Option<&Value>,
        retry_ms: Option<u64>,
    ) -> Option<String> {
        let s = self.streams.get_mut(stream)?;
        if s.finished {
            return None;
        }
        let seq = s.next_seq;
        s.next_seq += 1;
        let event_id = format!("{stream}-{seq}");
        let bytes = format_event(&event_id, retry_ms, message);
        if let Some(sink) = &s.sink {
            if sink.send(bytes.clone()).is_err() {
                s.sink = None;
            }
        }
        s.history.push_back((seq, bytes));
        while s.history.len() > HISTORY_LIMIT {
            s.history.pop_front();
        }
        Some(event_id)
    }

    /// Marks the stream complete and ends its connection, if any.
    pub(crate) fn finish(&mut self, stream: &str) {
        if let Some(s) = self.streams.get_mut(stream) {
            s.finished = true;
            s.sink = None;
        }
    }

    /// Whether the stream exists, is not finished and still has its connection.
    pub(crate) fn is_live(&self, stream: &str) -> bool {
        self.streams
            .get(stream)
            .is_some_and(|s| !s.finished && s.sink.as_ref().is_some_and(|k| !k.is_closed()))
    }

    /// Ends the connection carrying the stream without finishing the stream.
    pub(crate) fn detach(&mut self, stream: &str) {
        if let Some(s) = self.streams.get_mut(stream) {
            s.sink = None;
        }
    }

    /// Resumes the stream named by `last_event_id` for `session`: the returned receiver yields
    /// every later event, then either ends (stream finished) or stays attached for new events.
    pub(crate) fn resume(
        &mut self,
        session: &str,
        last_event_id: &str,
    ) -> Result<UnboundedReceiver<Bytes>, ResumeError> {
        let (stream, seq) = last_event_id
            .rsplit_once('-')
            .ok_or(ResumeError::UnknownEventId)?;
        let seq: u64 = seq.parse().map_err(|_| ResumeError::UnknownEventId)?;
        let s = self
            .streams
            .get_mut(stream)
            .ok_or(ResumeError::UnknownEventId)?;
        if s.session.as_deref() != Some(session) || seq >= s.next_seq {
            return Err(ResumeError::UnknownEventId);
        }
        // The event after `seq` must still be in history (or not yet emitted).
        if let Some((oldest, _)) = s.history.front() {
            if seq + 1 < *oldest {
                return Err(ResumeError::UnknownEventId);
            }
        }
        let (tx, rx) = mpsc::unbounded_channel();
        for (_, bytes) in s.history.iter().filter(|(n, _)| *n > seq) {
            // The receiver is alive in this scope; a send cannot fail.
            let _ = tx.send(bytes.clone());
        }
        // Replacing a previous sink ends that older connection.
        s.sink = if s.finished { None } else { Some(tx) };
        Ok(rx)
    }

    /// Ids of the listener streams that currently have a connection attached.
    pub(crate) fn attached_listeners(&mut self) -> Vec<String> {
        self.streams
            .iter_mut()
            .filter(|(_, s)| s.kind == StreamKind::Listener && !s.finished)
            .filter_map(|(id, s)| match &s.sink {
                Some(sink) if !sink.is_closed() => Some(id.clone()),
                _ => {
                    s.sink = None;
                    None
                }
            })
            .collect()
    }

    /// Ends every stream of `session` (session ended or expired).
    pub(crate) fn close_session(&mut self, session: &str) {
        for s in self.streams.values_mut() {
            if s.session.as_deref() == Some(session) {
                s.finished = true;
                s.sink = None;
            }
        }
    }

    /// Ends every connection (shutdown).
    pub(crate) fn close_all(&mut self) {
        for s in self.streams.values_mut() {
            s.finished = true;
            s.sink = None;
        }
    }

    fn evict(&mut self) {
        let finished = self.streams.values().filter(|s| s.finished).count();
        if finished <= FINISHED_LIMIT {
            return;
        }
        let mut done: Vec<(u64, String)> = self
            .streams
            .iter()
            .filter(|(_, s)| s.finished)
            .map(|(id, s)| (s.opened, id.clone()))
            .collect();
        done.sort();
        for (_, id) in done.into_iter().take(finished - FINISHED_LIMIT) {
            self.streams.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn resume_replays_after_id_and_continues() {
        let mut streams = Streams::default();
        let (id, mut rx) = streams.open(Some("s".into()), StreamKind::Request);
        let prime = streams.emit(&id, None, Some(10)).unwrap();
        streams.detach(&id);
        assert!(rx.try_recv().is_ok());
        streams.emit(&id, Some(&json!({"a": 1})), None);
        assert!(streams.resume("other", &prime).is_err());
        let mut resumed = streams.resume("s", &prime).unwrap();
        let replayed = resumed.try_recv().unwrap();
        assert!(std::str::from_utf8(&replayed).unwrap().contains("\"a\":1"));
        streams.emit(&id, Some(&json!({"b": 2})), None);
        streams.finish(&id);
        let live = resumed.try_recv().unwrap();
        assert!(std::str::from_utf8(&live)
            .unwrap()
            .contains(&format!("id: {id}-3")));
        assert!(resumed.try_recv().is_err());
    }

    #[test]
    fn priming_event_has_empty_data_and_retry() {
        let ev = format_event("x-1", Some(500), None);
        assert_eq!(&ev[..], b"id: x-1\nretry: 500\ndata: \n\n");
    }
}
