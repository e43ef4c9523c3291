//! `conduit` — call MCP servers and DataGrout gateways from the shell.

#![forbid(unsafe_code)]

mod auth_cmd;
mod call;
mod conformance;
mod conformance_auth_ext;
mod datagrout;
mod demo;
mod identity_cmd;
mod output;
mod stdio;
mod subscribe;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use conduit::{Client, Error};
use serde_json::Value;

/// Call MCP servers and DataGrout gateways from the shell.
#[derive(Debug, Parser)]
#[command(name = "conduit", version, about, propagate_version = true)]
#[command(after_help = "Example:\n  conduit --url http://127.0.0.1:8080/mcp tools list")]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
pub(crate) struct Global {
    /// The server's MCP endpoint URL.
    #[arg(long, global = true, env = "CONDUIT_URL")]
    pub(crate) url: Option<String>,
    /// Start a local MCP server and talk to it over stdio instead of --url:
    /// `"<command> <args>"` (shell-like quoting, no expansions).
    #[arg(
        long,
        global = true,
        value_name = "COMMAND LINE",
        conflicts_with = "url"
    )]
    stdio: Option<String>,
    /// A bearer token sent as `Authorization: Bearer …`.
    #[arg(long, global = true, env = "CONDUIT_TOKEN", hide_env_values = true)]
    bearer: Option<String>,
    /// OAuth client id for the client-credentials grant (with --client-secret).
    #[arg(long, global = true, env = "CONDUIT_CLIENT_ID")]
    client_id: Option<String>,
    /// OAuth client secret for the client-credentials grant.
    #[arg(
        long,
        global = true,
        env = "CONDUIT_CLIENT_SECRET",
        hide_env_values = true
    )]
    client_secret: Option<String>,
    /// The transport.
    #[arg(long, global = true, value_enum, default_value_t = TransportArg::Mcp)]
    transport: TransportArg,
    /// The deadline of each call, in seconds.
    #[arg(long, global = true, default_value_t = 60.0)]
    pub(crate) timeout: f64,
    /// Machine-readable output: one JSON document on stdout.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Accept any TLS certificate (dangerous; for local testing only).
    #[arg(long, global = true)]
    insecure: bool,
    /// Log verbosely to stderr (or set RUST_LOG).
    #[arg(long, short, global = true)]
    verbose: bool,
    #[command(flatten)]
    pub(crate) identity: identity_cmd::IdentityArgs,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum TransportArg {
    /// MCP Streamable HTTP.
    Mcp,
    /// Plain JSON-RPC over HTTP POST (a trailing /mcp in the URL becomes /rpc).
    Jsonrpc,
    /// WebSocket, datagrout-jsonrpc.v1 (http(s):// becomes ws(s)://).
    #[value(alias = "websocket")]
    Ws,
    /// The legacy HTTP+SSE transport of MCP 2024-11-05 (the URL is the server's SSE endpoint,
    /// e.g. …/sse). `mcp` also falls back to it when `initialize` is refused with 400/404/405.
    #[value(alias = "sse")]
    LegacySse,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List or call tools.
    #[command(subcommand)]
    Tools(ToolsCmd),
    /// List or read resources.
    #[command(subcommand)]
    Resources(ResourcesCmd),
    /// List or get prompts.
    #[command(subcommand)]
    Prompts(PromptsCmd),
    /// Check that the server is alive (ping, or server/discover in the stateless era).
    #[command(after_help = "Example:\n  conduit --url http://127.0.0.1:8080/mcp ping")]
    Ping,
    /// Stream topic events (WebSocket transport), one per line, until Ctrl-C.
    #[command(
        after_help = "Example:\n  conduit --transport ws --url wss://gateway.datagrout.ai/servers/UUID/ws subscribe 'tasks.42.*'"
    )]
    Subscribe {
        /// The topics, e.g. agents.ID.events, tools.NAME.results, tasks.ID.*.
        #[arg(required = true)]
        topics: Vec<String>,
        /// Exit after this many events.
        #[arg(long)]
        count: Option<u64>,
    },
    /// Stored credentials: status, logout.
    #[command(subcommand)]
    Auth(auth_cmd::AuthCmd),
    /// Run the test gateway in the foreground and print its URL.
    #[command(after_help = "Example:\n  conduit gateway --listen 127.0.0.1:8080")]
    Gateway {
        /// The address to listen on.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
        /// Answer requests with SSE streams instead of JSON bodies.
        #[arg(long)]
        sse: bool,
    },
    /// DataGrout extensions: discover, perform, estimate, flow, prism.
    #[command(flatten)]
    DataGrout(datagrout::DgCommand),
    /// mTLS identity: bootstrap, rotate, show.
    #[command(subcommand)]
    Identity(identity_cmd::IdentityCmd),
    /// Start the embedded test gateway and walk through a session.
    #[command(after_help = "Example:\n  conduit demo")]
    Demo,
    /// Print shell completions.
    #[command(
        after_help = "Example:\n  conduit completions bash > /etc/bash_completion.d/conduit"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// The client under test of the MCP conformance suite (reads MCP_CONFORMANCE_* variables).
    #[command(hide = true)]
    ConformanceClient {
        /// The scenario server's URL (appended by the suite).
        url: String,
    },
}

#[derive(Debug, Subcommand)]
enum ToolsCmd {
    /// List every tool.
    #[command(
        after_help = "Example:\n  conduit --url http://127.0.0.1:8080/mcp tools list --json"
    )]
    List,
    /// Call a tool. Progress goes to stderr (a bar on a terminal, JSON lines with --json);
    /// Ctrl-C cancels the call and exits with 130.
    #[command(
        after_help = "Example:\n  conduit --url http://127.0.0.1:8080/mcp tools call add --args '{\"a\":2,\"b\":3}'"
    )]
    Call {
        /// The tool's name.
        name: String,
        /// The arguments, as a JSON object.
        #[arg(long, default_value = "{}")]
        args: String,
    },
}

#[derive(Debug, Subcommand)]
enum ResourcesCmd {
    /// List every resource.
    #[command(after_help = "Example:\n  conduit --url http://127.0.0.1:8080/mcp resources list")]
    List,
    /// Read a resource.
    #[command(
        after_help = "Example:\n  conduit --url http://127.0.0.1:8080/mcp resources read test://text/1"
    )]
    Read {
        /// The resource URI.
        uri: String,
    },
}

#[derive(Debug, Subcommand)]
enum PromptsCmd {
    /// List every prompt.
    #[command(after_help = "Example:\n  conduit --url http://127.0.0.1:8080/mcp prompts list")]
    List,
    /// Get a prompt.
    #[command(
        after_help = "Example:\n  conduit --url http://127.0.0.1:8080/mcp prompts get greeting --args '{\"name\":\"Ada\"}'"
    )]
    Get {
        /// The prompt's name.
        name: String,
        /// The arguments, as a JSON object.
        #[arg(long, default_value = "{}")]
        args: String,
    },
}

/// A failure to report: message on stderr, exit code.
pub(crate) struct Failure {
    pub(crate) message: String,
    pub(crate) code: u8,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure {
            message: e.to_string(),
            code: 1,
        }
    }
}

impl Failure {
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code: 2,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            if !f.message.is_empty() {
                eprintln!("error: {}", f.message);
            }
            ExitCode::from(f.code)
        }
    }
}

fn init_tracing(verbose: bool) {
    let default = if verbose { "debug" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn parse_args(text: &str) -> Result<Value, Failure> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Failure::usage(format!("--args is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(Failure::usage("--args must be a JSON object"));
    }
    Ok(value)
}

async fn connect(global: &Global) -> Result<Client, Failure> {
    if let Some(line) = &global.stdio {
        return stdio::connect(line, global).await;
    }
    let Some(url) = global.url.clone() else {
        return Err(Failure::usage(
            "no server URL: pass --url (or set CONDUIT_URL), or --stdio \"<command> <args>\"",
        ));
    };
    if !(global.timeout > 0.0 && global.timeout.is_finite()) {
        return Err(Failure::usage(
            "--timeout must be a positive number of seconds",
        ));
    }
    let mut builder = Client::builder(url)
        .timeout(Duration::from_secs_f64(global.timeout))
        .tls_danger_accept_invalid_certs(global.insecure);
    if let Some(token) = &global.bearer {
        builder = builder.bearer(token.clone());
    }
    builder = builder.transport(match global.transport {
        TransportArg::Mcp => conduit::TransportKind::Mcp,
        TransportArg::Jsonrpc => conduit::TransportKind::JsonRpc,
        TransportArg::Ws => conduit::TransportKind::WebSocket,
        TransportArg::LegacySse => conduit::TransportKind::LegacySse,
    });
    match (&global.client_id, &global.client_secret) {
        (Some(id), Some(secret)) => {
            builder = builder.client_credentials(id.clone(), secret.clone());
        }
        (None, None) => {
            if global.bearer.is_none() {
                if let Some(token) =
                    auth_cmd::stored_token(global.url.as_deref().unwrap_or_default()).await
                {
                    builder = builder.bearer(token);
                }
            }
        }
        _ => {
            return Err(Failure::usage(
                "--client-id and --client-secret go together",
            ))
        }
    }
    let builder = identity_cmd::apply(builder, &global.identity)?;
    Ok(builder.connect().await?)
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let global = cli.global;
    match cli.command {
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "conduit", &mut std::io::stdout());
            Ok(())
        }
        Command::Gateway { listen, sse } => demo::gateway(&listen, sse).await,
        Command::Demo => demo::demo().await,
        Command::Identity(cmd) => identity_cmd::run(cmd, &global).await,
        Command::ConformanceClient { url } => conformance::run(&url).await,
        Command::Subscribe { topics, count } => {
            let client = connect(&global).await?;
            let result = subscribe::run(&client, &topics, count, global.json).await;
            let _ = client.close().await;
            result
        }
        Command::Auth(cmd) => auth_cmd::run_async(cmd, global.url.as_deref(), global.json).await,
        Command::Ping => {
            let client = connect(&global).await?;
            let started = std::time::Instant::now();
            client.ping().await?;
            let elapsed = started.elapsed();
            if global.json {
                output::json(&serde_json::json!({
                    "ok": true,
                    "era": output::era_name(client.era()),
                    "protocolVersion": client.protocol_version(),
                    "ms": elapsed.as_secs_f64() * 1000.0,
                }));
            } else {
                println!(
                    "ok: {} answered in {:.1} ms (protocol {})",
                    client.url(),
                    elapsed.as_secs_f64() * 1000.0,
                    client.protocol_version().unwrap_or_default()
                );
            }
            client.close().await?;
            Ok(())
        }
        Command::DataGrout(cmd) => {
            let client = connect(&global).await?;
            let result = datagrout::run(&client, cmd, global.json).await;
            let _ = client.close().await;
            result
        }
        Command::Tools(cmd) => {
            let client = connect(&global).await?;
            let result = tools(&client, cmd, global.json).await;
            let _ = client.close().await;
            result
        }
        Command::Resources(cmd) => {
            let client = connect(&global).await?;
            let result = match cmd {
                ResourcesCmd::List => {
                    let resources = client.list_resources().await?;
                    if global.json {
                        output::json(&resources);
                    } else {
                        output::resources(&resources);
                    }
                    Ok(())
                }
                ResourcesCmd::Read { uri } => {
                    let result = client.read_resource(&uri).await?;
                    if global.json {
                        output::json(&result);
                    } else {
                        output::read_result(&result);
                    }
                    Ok(())
                }
            };
            let _ = client.close().await;
            result
        }
        Command::Prompts(cmd) => {
            let client = connect(&global).await?;
            let result = match cmd {
                PromptsCmd::List => {
                    let prompts = client.list_prompts().await?;
                    if global.json {
                        output::json(&prompts);
                    } else {
                        output::prompts(&prompts);
                    }
                    Ok(())
                }
                PromptsCmd::Get { name, args } => {
                    let args = parse_args(&args)?;
                    let result = client.get_prompt(&name, args).await?;
                    if global.json {
                        output::json(&result);
                    } else {
                        output::prompt_result(&result);
                    }
                    Ok(())
                }
            };
            let _ = client.close().await;
            result
        }
    }
}

async fn tools(client: &Client, cmd: ToolsCmd, json: bool) -> Result<(), Failure> {
    match cmd {
        ToolsCmd::List => {
            let tools = client.list_tools().await?;
            if json {
                output::json(&tools);
            } else {
                output::tools(&tools);
            }
            Ok(())
        }
        ToolsCmd::Call { name, args } => {
            let args = parse_args(&args)?;
            let result = call::call(client, &name, args, json).await?;
            if json {
                output::json(&result);
            } else {
                output::call_result(&result);
            }
            if result.is_error == Some(true) {
                return Err(Failure {
                    message: format!("tool `{name}` reported an error"),
                    code: 1,
                });
            }
            Ok(())
        }
    }
}
