//! Feeds an SSE stream to the parser in small chunks and prints the events.
//!
//! `cargo run -p conduit-transport --example sse`

use conduit_transport::sse::SseParser;

fn main() {
    let stream = b"id: s1-0\ndata:\n\nid: s1-1\nretry: 500\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n";
    let mut parser = SseParser::new(1 << 20);
    for chunk in stream.chunks(7) {
        parser.push(chunk);
        loop {
            match parser.next_event() {
                Ok(Some(event)) => println!(
                    "event id={:?} data={}",
                    event.id,
                    String::from_utf8_lossy(&event.data)
                ),
                Ok(None) => break,
                Err(err) => {
                    eprintln!("error: {err}");
                    return;
                }
            }
        }
    }
    println!(
        "last event id: {:?}, retry: {:?} ms",
        parser.last_event_id(),
        parser.retry_ms()
    );
}
