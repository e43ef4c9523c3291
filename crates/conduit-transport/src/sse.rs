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

use std::collections::VecDeque;
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
///
/// Lines are found with `memchr` and parsed straight out of the pushed bytes: only an
/// unfinished line's head is kept between pushes, and an unfinished `data:` line is appended to
/// the event's data as it arrives, so a large event is held once (in its data), never also in a
/// line buffer.
#[derive(Debug)]
pub struct SseParser {
    /// The head of an unfinished line (not a `data:` line, or not yet known to be one).
    line: Vec<u8>,
    /// An unfinished `data:` line is being appended to `data`.
    in_data_line: bool,
    /// The `data:` prefix of the unfinished data line ended the last push: a leading space in
    /// the next bytes is the optional separator and is dropped.
    strip_space: bool,
    /// The previous line ended with `\r`: a `\n` at the start of the next chunk belongs to it.
    skip_lf: bool,
    data: Vec<u8>,
    has_data: bool,
    event: Option<String>,
    last_id: Option<String>,
    retry: Option<u64>,
    limit: usize,
    at_start: bool,
    /// Complete events not pulled yet.
    ready: VecDeque<SseEvent>,
    /// The limit was broken; reported after the events that came before it.
    failed: Option<SseError>,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

impl SseParser {
    /// A parser that refuses events or lines larger than `limit` bytes.
    pub fn new(limit: usize) -> Self {
        SseParser {
            line: Vec::new(),
            in_data_line: false,
            strip_space: false,
            skip_lf: false,
            data: Vec::new(),
            has_data: false,
            event: None,
            last_id: None,
            retry: None,
            limit,
            at_start: true,
            ready: VecDeque::new(),
            failed: None,
        }
    }

    /// Starts from a known last event id and retry delay, e.g. when a resumed stream replaces
    /// a broken one.
    pub fn seed(&mut self, last_event_id: Option<String>, retry_ms: Option<u64>) {
        self.last_id = last_event_id;
        self.retry = retry_ms;
    }

    /// Appends received bytes (complete events become available to
    /// [`next_event`](Self::next_event)).
    pub fn push(&mut self, bytes: &[u8]) {
        if self.failed.is_none() {
            if let Err(e) = self.consume(bytes) {
                self.failed = Some(e);
            }
        }
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
        self.has_data || self.in_data_line || !self.line.is_empty()
    }

    /// Pulls the next complete event, if the pushed bytes contain one.
    pub fn next_event(&mut self) -> Result<Option<SseEvent>, SseError> {
        if let Some(event) = self.ready.pop_front() {
            return Ok(Some(event));
        }
        match &self.failed {
            Some(e) => Err(e.clone()),
            None => Ok(None),
        }
    }

    fn consume(&mut self, mut bytes: &[u8]) -> Result<(), SseError> {
        while !bytes.is_empty() {
            if self.skip_lf {
                self.skip_lf = false;
                if bytes[0] == b'\n' {
                    bytes = &bytes[1..];
                    continue;
                }
            }
            if self.strip_space {
                self.strip_space = false;
                if bytes[0] == b' ' {
                    bytes = &bytes[1..];
                    continue;
                }
            }
            let newline = memchr::memchr2(b'\n', b'\r', bytes);
            let (segment, rest) = match newline {
                Some(end) => {
                    self.skip_lf = bytes[end] == b'\r';
                    (&bytes[..end], &bytes[end + 1..])
                }
                None => (bytes, &[][..]),
            };
            bytes = rest;
            if self.in_data_line {
                self.append_data(segment)?;
                if newline.is_some() {
                    self.in_data_line = false;
                    self.data.push(b'\n');
                }
                continue;
            }
            if newline.is_some() {
                if self.line.is_empty() {
                    self.line_complete(segment)?;
                } else {
                    let mut line = std::mem::take(&mut self.line);
                    if line.len() + segment.len() > self.limit {
                        return Err(SseError::TooLarge { limit: self.limit });
                    }
                    line.extend_from_slice(segment);
                    let result = self.line_complete(&line);
                    line.clear();
                    self.line = line;
                    result?;
                }
                continue;
            }
            // An unfinished line: keep its head, or stream it into the data if it is a data line.
            if self.line.len() + segment.len() > self.limit {
                return Err(SseError::TooLarge { limit: self.limit });
            }
            self.line.extend_from_slice(segment);
            let head = self.line_head_offset();
            if self.line[head..].starts_with(b"data:") {
                self.at_start = false;
                let value_at = head + 5;
                let line = std::mem::take(&mut self.line);
                self.in_data_line = true;
                self.has_data = true;
                match line.get(value_at) {
                    Some(b' ') => self.append_data(&line[value_at + 1..])?,
                    Some(_) => self.append_data(&line[value_at..])?,
                    None => self.strip_space = true,
                }
            }
        }
        Ok(())
    }

    /// Where the field starts in the unfinished line: after a BOM on the stream's first line.
    fn line_head_offset(&self) -> usize {
        if self.at_start && self.line.starts_with(BOM) {
            BOM.len()
        } else {
            0
        }
    }

    fn append_data(&mut self, value: &[u8]) -> Result<(), SseError> {
        if self.data.len() + value.len() + 1 > self.limit {
            return Err(SseError::TooLarge { limit: self.limit });
        }
        self.data.extend_from_slice(value);
        Ok(())
    }

    fn line_complete(&mut self, mut line: &[u8]) -> Result<(), SseError> {
        if self.at_start {
            self.at_start = false;
            line = line.strip_prefix(BOM).unwrap_or(line);
        }
        if line.is_empty() {
            self.dispatch();
            return Ok(());
        }
        if line.len() > self.limit {
            return Err(SseError::TooLarge { limit: self.limit });
        }
        self.field(line)
    }

    fn field(&mut self, line: &[u8]) -> Result<(), SseError> {
        if line[0] == b':' {
            return Ok(());
        }
        let (name, value) = match memchr::memchr(b':', line) {
            Some(colon) => {
                let value = &line[colon + 1..];
                let value = value.strip_prefix(b" ").unwrap_or(value);
                (&line[..colon], value)
            }
            None => (line, &[][..]),
        };
        match name {
            b"data" => {
                self.append_data(value)?;
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

    fn dispatch(&mut self) {
        let event = self.event.take();
        if !self.has_data {
            self.data.clear();
            return;
        }
        self.has_data = false;
        let mut data = std::mem::take(&mut self.data);
        if data.last() == Some(&b'\n') {
            data.pop();
        }
        self.ready.push_back(SseEvent {
            id: self.last_id.clone(),
            event: event.filter(|e| e != "message"),
            data,
        });
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

    #[test]
    fn every_split_point_gives_the_same_events() {
        let stream: &[u8] = b"\xEF\xBB\xBFdata:a\r\ndata:  b\rid: 9\n: c\nevent: e\ndata\n\ndata: x\r\n\r\nretry: 7\ndata: y\n\n";
        let mut whole = SseParser::new(1024);
        whole.push(stream);
        let expected = all(&mut whole);
        assert_eq!(expected.len(), 3);
        assert_eq!(expected[0].data, b"a\n b\n");
        assert_eq!(expected[0].event.as_deref(), Some("e"));
        assert_eq!(expected[0].id.as_deref(), Some("9"));
        assert_eq!(expected[1].data, b"x");
        assert_eq!(expected[2].data, b"y");
        for a in 0..=stream.len() {
            for b in a..=stream.len() {
                let mut p = SseParser::new(1024);
                let mut got = Vec::new();
                for part in [&stream[..a], &stream[a..b], &stream[b..]] {
                    p.push(part);
                    got.extend(all(&mut p));
                }
                assert_eq!(got, expected, "split at {a} and {b}");
                assert_eq!(p.retry_ms(), Some(7));
                assert!(!p.has_partial_event());
            }
        }
    }

    #[test]
    fn events_before_a_broken_limit_are_delivered_first() {
        let mut p = SseParser::new(8);
        p.push(b"data: ok\n\ndata: 0123456789");
        assert_eq!(p.next_event().unwrap().unwrap().data, b"ok");
        assert_eq!(p.next_event(), Err(SseError::TooLarge { limit: 8 }));
        // The error is sticky: nothing after it is parsed.
        p.push(b"\n\ndata: a\n\n");
        assert_eq!(p.next_event(), Err(SseError::TooLarge { limit: 8 }));
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
