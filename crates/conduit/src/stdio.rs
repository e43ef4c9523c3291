//! Clients of local server processes over stdio (feature `stdio`).
//!
//! A stdio client is built like any other: [`Client::builder_stdio`] (program and arguments),
//! [`ClientBuilder::stdio`] (a full [`StdioConfig`]) or [`ClientBuilder::stdio_command_line`]
//! (`"<command> <args>"`, as the CLI's `--stdio` takes it). The lifecycle is the same as over
//! HTTP (`Auto` probes `server/discover`, then falls back to `initialize`); the client's
//! [`Client::url`] reads `stdio:<command line>`. HTTP-only options (bearer, TLS, listen stream)
//! are ignored. [`Client::close`] shuts the process down per the spec (close stdin, `SIGTERM`,
//! `SIGKILL`).

use std::ffi::OsString;
use std::sync::Arc;

use conduit_transport::{InboundSender, Transport};
use conduit_transport_stdio::{StdioConfig, StdioTransport};

use crate::builder::{ClientBuilder, TransportKind};
use crate::{Client, Error};

impl ClientBuilder {
    /// A builder for a local server process started from `config`.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), conduit::Error> {
    /// use conduit::transport_stdio::StdioConfig;
    /// let config = StdioConfig::new("node").arg("server.js").env("LOG_LEVEL", "debug");
    /// let client = conduit::ClientBuilder::stdio(config).connect().await?;
    /// # Ok(()) }
    /// ```
    pub fn stdio(config: StdioConfig) -> Self {
        let mut builder = ClientBuilder::new(format!("stdio:{}", config.display()))
            .transport(TransportKind::Stdio);
        builder.stdio = Some(config);
        builder
    }

    /// A builder for `"<command> <args>"`, split with shell-like quoting (no expansions).
    /// A malformed line is reported by [`ClientBuilder::connect`].
    pub fn stdio_command_line(line: &str) -> Self {
        match StdioConfig::from_command_line(line) {
            Ok(config) => ClientBuilder::stdio(config),
            Err(e) => {
                let mut builder =
                    ClientBuilder::new(format!("stdio:{line}")).transport(TransportKind::Stdio);
                builder.push_error(e.to_string());
                builder
            }
        }
    }
}

impl Client {
    /// Starts building a client of the local server `program args…` over stdio.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), conduit::Error> {
    /// let client = conduit::Client::builder_stdio("npx", ["-y", "@modelcontextprotocol/server-everything", "stdio"])
    ///     .connect()
    ///     .await?;
    /// println!("{} tools", client.list_tools().await?.len());
    /// client.close().await?;
    /// # Ok(()) }
    /// ```
    pub fn builder_stdio<I, S>(program: impl Into<OsString>, args: I) -> ClientBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        ClientBuilder::stdio(StdioConfig::new(program).args(args))
    }
}

/// Starts the process of a stdio builder.
pub(crate) fn spawn(
    config: Option<StdioConfig>,
    inbound: InboundSender,
) -> Result<Arc<dyn Transport>, Error> {
    let config = config.ok_or_else(|| {
        Error::Config(
            "the stdio transport needs a command: use Client::builder_stdio or ClientBuilder::stdio"
                .into(),
        )
    })?;
    let transport = StdioTransport::spawn(config, inbound).map_err(Error::Transport)?;
    Ok(Arc::new(transport))
}
