//! Any byte stream, cut anywhere: the SSE parser never panics, respects its limit, and yields
//! the same events whatever the chunking.
#![no_main]

use conduit_transport::sse::{SseError, SseEvent, SseParser};
use libfuzzer_sys::fuzz_target;

const LIMIT: usize = 4096;

fn run(chunks: &[&[u8]]) -> Result<Vec<SseEvent>, SseError> {
    let mut parser = SseParser::new(LIMIT);
    let mut events = Vec::new();
    for chunk in chunks {
        parser.push(chunk);
        while let Some(event) = parser.next_event()? {
            assert!(event.data.len() <= LIMIT);
            events.push(event);
        }
    }
    Ok(events)
}

fuzz_target!(|data: &[u8]| {
    // The first byte chooses a chunk size; the rest is the stream.
    let Some((&split, stream)) = data.split_first() else { return };
    let size = usize::from(split).max(1);
    let whole = run(&[stream]);
    let chunks: Vec<&[u8]> = stream.chunks(size).collect();
    let chunked = run(&chunks);
    // Limits may trip at different points; when neither trips, the events are identical.
    if let (Ok(a), Ok(b)) = (whole, chunked) {
        assert_eq!(a, b);
    }
});
