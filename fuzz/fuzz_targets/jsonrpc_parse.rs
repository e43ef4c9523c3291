//! Any bytes given to the JSON-RPC parser: an answer, never a panic; what parses round-trips.
#![no_main]

use conduit_protocol::jsonrpc::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = Message::parse(data) {
        let again = Message::parse(&message.to_vec()).expect("re-serialised messages parse");
        assert_eq!(again, message);
    }
});
