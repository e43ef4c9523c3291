//! An incremental Server-Sent Events parser (the WHATWG `text/event-stream` format).
//!
//! Bytes are pushed as they arrive, in chunks split anywhere (even inside a `\r\n`), and complete
//! events are pulled out. Nothing is buffered beyond the current incomplete event, and an event or
//! a line longer than the configured limit is an error rather than unbounded growth.
//!
//! ```
//! use conduit_transport::sse::SseParser;
//!
//! let mut parser = SseParser::new(1 << 20);
//! parser.push(b"id: 7\nretry: 500\ndata: {\"a\":\ndata: 1}\n\n");
//! let event = parser.next_event().unwrap().unwrap();
//! assert_eq!(event.data, b"{\"a\":\n1}");
//! assert_eq!(event.id.as_deref(), Some("7"));
//! assert_eq!(parser.retry_ms(), Some(500));
//! ```

use std::fmt;

/// One dispatched event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseEvent {
    /// The last event id at the time of dispatch (ids persist across events, as the format says).
    pub id: Option<String>,
    /// The `event:` type, when one was given (`message` is the default and is reported as `None`).
    pub event: Option<String>,
    /// The data lines joined with `\n`, without the final newline.
    pub data: Vec<u8>,
}

/// The stream broke the parser's limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SseError {
    /// An event's data (or a single line) grew past the limit, in bytes.
    TooLarge {
        /// The configured limit.
        limit: usize,
    },
}

impl fmt::Display for SseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SseError::TooLarge { limit } => {
                write!(f, "a server-sent event exceeded the limit of {limit} bytes")
            }
        }
    }
}

impl std::error::Error for SseError {}

/// The incremental parser. See the [module docs](self).
#[derive(Debug)]
pub struct SseParser {
    buf: Vec<u8>,
    /// Start of the unconsumed part of `buf`.
    pos: usize,
    /// The previous line ended with `\r`: a `\n` at the start of the next chunk belongs to it.
    skip_lf: bool,
    data: Vec<u8>,
    has_data: bool,
    event: Option<String>,
    last_id: Option<String>,
    retry: Option<u64>,
    limit: usize,
    at_start: bool,
}

impl SseParser {
    /// A parser that refuses events or lines larger than `limit` bytes.
    pub fn new(limit: usize) -> Self {
        SseParser {
            buf: Vec::new(),
            pos: 0,
            skip_lf: false,
            data: Vec::new(),
            has_data: false,
            event: None,
            last_id: None,
            retry: None,
            limit,
            at_start: true,
        }
    }

    /// Starts from a known last event id and retry delay, e.g. when a resumed stream replaces
    /// a broken one.
    pub fn seed(&mut self, last_event_id: Option<String>, retry_ms: Option<u64>) {
        self.last_id = last_event_id;
        self.retry = retry_ms;
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos > 4096 && self.pos * 2 > self.buf.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The id of the last event seen (set by any `id:` field, including priming events with no
    /// data), to send as `Last-Event-ID` when resuming.
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    /// The reconnection delay the server asked for with `retry:`, in milliseconds.
    pub fn retry_ms(&self) -> Option<u64> {
        self.retry
    }

    /// Whether bytes of an unfinished event or line are pending (a stream that ends here was cut
    /// in the middle of an event).
    pub fn has_partial_event(&self) -> bool {
        self.has_data || self.pos < self.buf.len()
    }

    /// Pulls the next complete event, if the pushed bytes contain one.
    pub fn next_event(&mut self) -> Result<Option<SseEvent>, SseError> {
        loop {
            let rest = &self.buf[self.pos..];
            if self.skip_lf {
                if rest.is_empty() {
                    return Ok(None);
                }
                self.skip_lf = false;
                if rest[0] == b'\n' {
                    self.pos += 1;
                    continue;
                }
            }
            let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') else {
                if rest.len() > self.limit {
                    return Err(SseError::TooLarge { limit: self.limit });
                }
                return Ok(None);
            };
            let terminator = rest[end];
            let line_start = self.pos;
            let line_end = self.pos + end;
            self.pos = line_end + 1;
            if terminator == b'\r' {
                self.skip_lf = true;
            }
            let mut line_from = line_start;
            if self.at_start {
                self.at_start = false;
                if self.buf[line_start..line_end].starts_with(b"\xEF\xBB\xBF") {
                    line_from += 3;
                }
            }
            if line_from == line_end {
                if let Some(event) = self.dispatch() {
                    return Ok(Some(event));
                }
                continue;
            }
            self.field(line_from, line_end)?;
        }
    }

    fn field(&mut self, from: usize, to: usize) -> Result<(), SseError> {
        let line = &self.buf[from..to];
        if line[0] == b':' {
            return Ok(());
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                let value = value.strip_prefix(b" ").unwrap_or(value);
                (&line[..colon], value)
            }
            None => (line, &[][..]),
        };
        match name {
            b"data" => {
                if self.data.len() + value.len() + 1 > self.limit {
                    return Err(SseError::TooLarge { limit: self.limit });
                }
                self.data.extend_from_slice(value);
                self.data.push(b'\n');
                self.has_data = true;
            }
            b"id" if !value.contains(&0) => {
                self.last_id = Some(String::from_utf8_lossy(value).into_owned());
            }
            b"event" => self.event = Some(String::from_utf8_lossy(value).into_owned()),
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                self.retry = std::str::from_utf8(value).ok().and_then(|s| s.parse().ok());
            }
            _ => {}
        }
        Ok(())
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        if !self.has_data {
            self.data.clear();
            return None;
        }
        self.has_data = false;
        let mut data = std::mem::take(&mut self.data);
        if data.last() == Some(&b'\n') {
            data.pop();
        }
        Some(SseEvent {
            id: self.last_id.clone(),
            event: event.filter(|e| e != "message"),
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all(parser: &mut SseParser) -> Vec<SseEvent> {
        let mut out = Vec::new();
        while let Some(e) = parser.next_event().unwrap() {
            out.push(e);
        }
        out
    }

    #[test]
    fn priming_event_sets_id_without_dispatching() {
        // An empty `data:` line *is* data: the event is dispatched with empty data, which the
        // transports skip. Comments dispatch nothing.
        let mut p = SseParser::new(1024);
        p.push(b"id: abc\ndata:\n\n: comment\n\n");
        let events = all(&mut p);
        assert_eq!(events.len(), 1);
        assert!(events[0].data.is_empty());
        let mut p = SseParser::new(1024);
        p.push(b"id: abc\n\n");
        assert_eq!(all(&mut p), vec![]);
        assert_eq!(p.last_event_id(), Some("abc"));
    }

    #[test]
    fn empty_data_line_dispatches_empty_event() {
        let mut p = SseParser::new(1024);
        p.push(b"id: 1\ndata\n\n");
        let events = all(&mut p);
        assert_eq!(events.len(), 1);
        assert!(events[0].data.is_empty());
    }

    #[test]
    fn crlf_split_across_chunks() {
        let mut p = SseParser::new(1024);
        p.push(b"data: a\r");
        assert_eq!(all(&mut p), vec![]);
        p.push(b"\n\r\n");
        let events = all(&mut p);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].data, b"a");
    }

    #[test]
    fn limits_are_enforced() {
        let mut p = SseParser::new(8);
        p.push(b"data: 0123456789\n");
        assert_eq!(p.next_event(), Err(SseError::TooLarge { limit: 8 }));
        let mut p = SseParser::new(8);
        p.push(b"data: 0123456789");
        assert_eq!(p.next_event(), Err(SseError::TooLarge { limit: 8 }));
    }

    #[test]
    fn event_type_and_bom() {
        let mut p = SseParser::new(1024);
        p.push(b"\xEF\xBB\xBFevent: ping\ndata: x\n\nevent: message\ndata: y\n\n");
        let events = all(&mut p);
        assert_eq!(events[0].event.as_deref(), Some("ping"));
        assert_eq!(events[1].event, None);
    }

    proptest! {
        /// Any split of the byte stream into chunks yields the same events.
        #[test]
        fn chunking_does_not_matter(
            events in proptest::collection::vec(("[a-z0-9]{0,6}", "[ -~]{0,20}"), 0..8),
            cuts in proptest::collection::vec(0usize..400, 0..10),
            crlf in any::<bool>(),
        ) {
            let nl = if crlf { "\r\n" } else { "\n" };
            let mut stream = String::new();
            for (id, data) in &events {
                stream.push_str(&format!("id: {id}{nl}data: {data}{nl}{nl}"));
            }
            let bytes = stream.as_bytes();
            let mut whole = SseParser::new(1 << 16);
            whole.push(bytes);
            let expected = all(&mut whole);
            prop_assert_eq!(expected.len(), events.len());

            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
            cuts.sort_unstable();
            let mut parser = SseParser::new(1 << 16);
            let mut got = Vec::new();
            let mut start = 0;
            for cut in cuts.into_iter().chain(std::iter::once(bytes.len())) {
                parser.push(&bytes[start..cut]);
                start = cut;
                got.extend(all(&mut parser));
            }
            prop_assert_eq!(got, expected);
        }
    }
}
