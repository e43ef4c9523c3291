//! Parses a few JSON-RPC messages and prints how each was classified.
//!
//! `cargo run -p conduit-protocol --example parse`

use conduit_protocol::jsonrpc::Message;

fn main() {
    let inputs: [&[u8]; 4] = [
        br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
        br#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":5}}"#,
        br#"{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}"#,
        br#"{"jsonrpc":"2.0","id":1}"#,
    ];
    for input in inputs {
        match Message::parse(input) {
            Ok(msg) => println!("ok:    {msg:?}"),
            Err(err) => println!("error: {err}"),
        }
    }
}
