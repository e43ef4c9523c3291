//! `conduit-bench`: the benchmark harness behind `cargo xtask bench`.
//!
//! ```text
//! conduit-bench [--quick] [--write docs/PERFORMANCE.md] [--command "cargo xtask bench"]
//! ```
//!
//! One process starts the local server (on its own thread) and measures every client on the
//! main thread's single-threaded runtime, so "CPU per call" is the client's own CPU time. Memory
//! figures come from child processes (this binary re-run with `--child …`) so that the server
//! and the other clients do not count. The harness never fails on a number.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod clients;
mod measure;
mod report;

use std::time::Instant;

use clients::{Conduit, Raw};
use conduit_bench::server;
use report::Report;

/// Counts heap bytes (current and peak) for the memory figures.
#[global_allocator]
static ALLOC: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

/// How much work one run does.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sizes {
    pub(crate) quick: bool,
    pub(crate) warmup: usize,
    pub(crate) latency_calls: usize,
    pub(crate) inflight: usize,
    pub(crate) per_worker: usize,
    pub(crate) sse_parse_bytes: usize,
    pub(crate) big_result_bytes: usize,
    pub(crate) big_calls: usize,
    pub(crate) sessions: usize,
    pub(crate) cli_runs: usize,
}

impl Sizes {
    fn new(quick: bool) -> Self {
        if quick {
            Sizes {
                quick,
                warmup: 20,
                latency_calls: 200,
                inflight: 64,
                per_worker: 5,
                sse_parse_bytes: 4 << 20,
                big_result_bytes: 1 << 20,
                big_calls: 2,
                sessions: 20,
                cli_runs: 1,
            }
        } else {
            Sizes {
                quick,
                warmup: 500,
                latency_calls: 10_000,
                inflight: 64,
                per_worker: 300,
                sse_parse_bytes: 256 << 20,
                big_result_bytes: 12 << 20,
                big_calls: 10,
                sessions: 1000,
                cli_runs: 20,
            }
        }
    }
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("conduit-bench: no runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if args.first().map(String::as_str) == Some("--child") {
        let result = runtime.block_on(measure::child(&args[1..], &ALLOC));
        return match result {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("conduit-bench child: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let quick = args.iter().any(|a| a == "--quick");
    let write = value_of(&args, "--write");
    let command = value_of(&args, "--command").unwrap_or_else(|| "cargo xtask bench".into());
    let sizes = Sizes::new(quick);
    let started = Instant::now();
    let report = runtime.block_on(run(sizes));
    let markdown = report.markdown(&command, started.elapsed());
    println!("{markdown}");
    if let Some(path) = write {
        match std::fs::write(&path, &markdown) {
            Ok(()) => eprintln!("conduit-bench: wrote {path}"),
            Err(e) => eprintln!("conduit-bench: could not write {path}: {e}"),
        }
    }
    // Numbers never fail the run; only a harness that could not measure anything does.
    if report.is_empty() {
        std::process::ExitCode::FAILURE
    } else {
        std::process::ExitCode::SUCCESS
    }
}

fn value_of(args: &[String], flag: &str) -> Option<String> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1).cloned())
}

async fn run(sizes: Sizes) -> Report {
    let mut report = Report::new(sizes);
    let server = match server::start(sizes.big_result_bytes) {
        Ok(s) => s,
        Err(e) => {
            report.note(format!("could not start the server: {e}"));
            return report;
        }
    };
    eprintln!("conduit-bench: server on {}", server.addr);

    // Round trips: one row per (client, response mode).
    for mode in ["json", "sse"] {
        let url = server.url(mode);
        let raw = Raw::new(url.clone(), &format!("raw hyper ({mode})"));
        report.round_trips(&raw, true).await;
        match Conduit::connect(&url, &format!("Conduit Streamable HTTP ({mode})")).await {
            Ok(c) => {
                report.round_trips(&c, false).await;
                let _ = c.client.close().await;
            }
            Err(e) => report.note(e),
        }
        // Future transports (JSON-RPC over HTTP, WebSocket) add their rows here once
        // `conduit::TransportKind` has them.
        #[cfg(feature = "rmcp")]
        match clients::rmcp_client::Rmcp::connect(&url, &format!("rmcp Streamable HTTP ({mode})"))
            .await
        {
            Ok(r) => {
                report.round_trips(&r, false).await;
                let _ = r.service.cancel().await;
            }
            Err(e) => report.note(e),
        }
    }

    report.sse_parser(measure::sse_parser(sizes.sse_parse_bytes));
    let big = server.url("big");
    let children: &[(&str, &str)] = &[
        ("sse", "Conduit"),
        ("memory", "Conduit"),
        #[cfg(feature = "rmcp")]
        ("sse-rmcp", "rmcp"),
        #[cfg(feature = "rmcp")]
        ("memory-rmcp", "rmcp"),
    ];
    for (kind, who) in children {
        let url = if kind.starts_with("sse") {
            big.clone()
        } else {
            server.url("json")
        };
        match measure::spawn_child(kind, &url, sizes).await {
            Ok(values) => report.child(kind, who, values),
            Err(e) => report.note(format!("{kind} ({who}): {e}")),
        }
    }
    report.cli(measure::cli(&server, sizes).await);
    report
}
