//! Conduit's benchmark harness, run with `cargo xtask bench` (or `cargo xtask bench --quick`).
//!
//! The `conduit-bench` binary starts one fast local server ([`server`]) and measures, in one
//! run, a raw hyper client (the limit of the machine), Conduit and — with the `rmcp` feature —
//! rmcp against it. See `docs/PERFORMANCE.md` for what is measured and the latest numbers.
//!
//! This library part exposes the server so that examples and other tools can reuse it.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod server;
