//! `--stdio "<command> <args>"`: the server is a local process started by the CLI.

use std::time::Duration;

use conduit::{Client, ClientBuilder};

use crate::{Failure, Global};

/// Starts the server process and runs the lifecycle over its stdin/stdout. The process is
/// shut down (stdin closed, then SIGTERM, then SIGKILL) when the command closes the client.
pub(crate) async fn connect(line: &str, global: &Global) -> Result<Client, Failure> {
    if line.trim().is_empty() {
        return Err(Failure::usage(
            "--stdio needs a command, e.g. --stdio \"node server.js\"",
        ));
    }
    if !(global.timeout > 0.0 && global.timeout.is_finite()) {
        return Err(Failure::usage(
            "--timeout must be a positive number of seconds",
        ));
    }
    if global.bearer.is_some() {
        tracing::warn!("--bearer is ignored with --stdio");
    }
    let builder =
        ClientBuilder::stdio_command_line(line).timeout(Duration::from_secs_f64(global.timeout));
    Ok(builder.connect().await?)
}
