//! The official MCP conformance suite (`@modelcontextprotocol/conformance`), run against
//! `conduit conformance-client`. Wired in by the foundation issue.

use std::path::Path;

/// Runs the conformance suite. Until the client exists this is a no-op that says so.
pub(crate) fn run(_root: &Path, _args: &[String]) -> Result<(), String> {
    eprintln!("xtask: conformance: no client scenarios wired yet");
    Ok(())
}
