//! Starting `@modelcontextprotocol/server-everything` for the interop tests, bound to 127.0.0.1
//! through the `loopback.cjs` preload. `cargo xtask test` installs it and sets `CONDUIT_NODE`
//! and `CONDUIT_SERVER_EVERYTHING`; without them (a bare `cargo test`) the tests say so and
//! return.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

/// A running server; the process is killed when this is dropped.
pub struct Server {
    _child: tokio::process::Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
}

/// Starts the server in `mode` (`streamableHttp` or `sse`), or `None` when it is not installed.
pub async fn start(mode: &str) -> Option<Server> {
    let (Some(node), Some(entry)) = (
        std::env::var_os("CONDUIT_NODE"),
        std::env::var_os("CONDUIT_SERVER_EVERYTHING"),
    ) else {
        eprintln!(
            "skipping: CONDUIT_NODE / CONDUIT_SERVER_EVERYTHING not set (run `cargo xtask test`)"
        );
        return None;
    };
    let preload = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/loopback.cjs");
    let mut child = tokio::process::Command::new(node)
        .arg("--require")
        .arg(preload)
        .arg(entry)
        .arg(mode)
        .env("PORT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("server-everything starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let port = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(port) = line.strip_prefix("CONDUIT_LISTENING ") {
                return port.trim().parse::<u16>().unwrap();
            }
        }
        panic!("server-everything exited before listening");
    })
    .await
    .expect("server-everything listens within 30 s");
    // Keep draining stderr so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Some(Server {
        _child: child,
        base: format!("http://127.0.0.1:{port}"),
    })
}
