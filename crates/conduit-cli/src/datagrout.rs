//! `conduit discover | perform | estimate | flow | prism`: the DataGrout extensions. Every call
//! prints its receipt (credits, savings) under the result; `--json` puts it in the document.

use clap::Subcommand;
use conduit::datagrout::{CostEstimate, DgResponse, ToolMeta};
use conduit::Client;
use serde::Serialize;
use serde_json::Value;

use crate::Failure;

/// The DataGrout commands.
#[derive(Debug, Subcommand)]
pub(crate) enum DgCommand {
    /// Semantic search over the gateway's integrations.
    #[command(
        after_help = "Example:\n  conduit --url https://gateway.datagrout.ai/servers/UUID/mcp discover \"unpaid invoices\" --limit 5"
    )]
    Discover {
        /// What you are looking for.
        query: String,
        /// The maximum number of tools.
        #[arg(long, default_value_t = 10)]
        limit: u32,
    },
    /// Run an integration tool through the gateway (discovery.perform).
    #[command(
        after_help = "Example:\n  conduit --url URL perform salesforce@1/get_lead@1 --args '{\"id\":\"123\"}'"
    )]
    Perform {
        /// The tool, e.g. salesforce@1/get_lead@1.
        tool: String,
        /// Its arguments, as a JSON object.
        #[arg(long, default_value = "{}")]
        args: String,
    },
    /// Estimate what a tool call would cost (estimate_only: true).
    #[command(
        after_help = "Example:\n  conduit --url URL estimate salesforce@1/get_lead@1 --args '{\"id\":\"123\"}'"
    )]
    Estimate {
        /// The tool.
        tool: String,
        /// Its arguments, as a JSON object.
        #[arg(long, default_value = "{}")]
        args: String,
    },
    /// Run a flow plan from a JSON file (flow.into).
    #[command(after_help = "Example:\n  conduit --url URL flow plan.json")]
    Flow {
        /// The plan file (JSON).
        plan: std::path::PathBuf,
    },
    /// Convert data through a Prism lens (prism.focus, the lens being the target type).
    #[command(after_help = "Example:\n  conduit --url URL prism csv rows.json")]
    Prism {
        /// The lens (target type).
        lens: String,
        /// The data file (JSON).
        data: std::path::PathBuf,
        /// The source type.
        #[arg(long = "from", default_value = "json")]
        source_type: String,
    },
}

fn read_json(path: &std::path::Path) -> Result<Value, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| Failure::usage(format!("{} is not valid JSON: {e}", path.display())))
}

/// A result and its receipt, for `--json`.
#[derive(Serialize)]
struct Document<'a, T: Serialize> {
    result: &'a T,
    receipt: Option<&'a ToolMeta>,
}

fn print_receipt(meta: Option<&ToolMeta>) {
    match meta.and_then(|m| m.receipt.as_ref()) {
        Some(r) => println!(
            "receipt: {} credits (estimated {}, saved {}){}",
            r.net_credits,
            r.estimated_credits,
            r.savings,
            if r.receipt_id.is_empty() {
                String::new()
            } else {
                format!(", id {}", r.receipt_id)
            }
        ),
        None => println!("receipt: (none)"),
    }
}

fn print_response<T: Serialize>(response: &DgResponse<T>, json_out: bool, human: impl Fn(&T)) {
    if json_out {
        crate::output::json(&Document {
            result: &response.data,
            receipt: response.meta.as_ref(),
        });
    } else {
        human(&response.data);
        print_receipt(response.meta.as_ref());
    }
}

fn pretty(v: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
    );
}

/// Prints an estimate.
pub(crate) fn print_estimate(estimate: &CostEstimate, json_out: bool) {
    if json_out {
        crate::output::json(estimate);
    } else {
        match estimate.estimated_credits {
            Some(c) => println!("estimate: {} would cost {c} credits", estimate.tool),
            None => println!("estimate: the gateway gave no figure for {}", estimate.tool),
        }
    }
}

/// Runs one DataGrout command.
pub(crate) async fn run(client: &Client, cmd: DgCommand, json_out: bool) -> Result<(), Failure> {
    match cmd {
        DgCommand::Discover { query, limit } => {
            let found = client.discover(query).limit(limit).await?;
            print_response(&found, json_out, |d| {
                if d.tools.is_empty() {
                    println!("(no tools)");
                }
                for t in &d.tools {
                    println!(
                        "{:<34} {:>5} {}",
                        t.tool_name,
                        t.score.map(|s| format!("{s:.2}")).unwrap_or_default(),
                        t.description.as_deref().unwrap_or("")
                    );
                }
            });
        }
        DgCommand::Perform { tool, args } => {
            let args = crate::parse_args(&args)?;
            let response = client.perform(tool, args).await?;
            print_response(&response, json_out, pretty);
        }
        DgCommand::Estimate { tool, args } => {
            let args = crate::parse_args(&args)?;
            let estimate = client.estimate_cost(&tool, args).await?;
            print_estimate(&estimate, json_out);
        }
        DgCommand::Flow { plan } => {
            let plan = read_json(&plan)?;
            let response = client.flow_into(plan).await?;
            print_response(&response, json_out, pretty);
        }
        DgCommand::Prism {
            lens,
            data,
            source_type,
        } => {
            let data = read_json(&data)?;
            let response = client.prism_focus(data, &source_type, &lens).await?;
            print_response(&response, json_out, |v| {
                pretty(v.get("output").unwrap_or(v));
            });
        }
    }
    Ok(())
}

/// Prints the ledger totals.
pub(crate) fn print_ledger(client: &Client) {
    let ledger = client.ledger();
    for (tool, t) in &ledger.per_tool {
        println!(
            "{tool:<34} {} call(s), {} credits, saved {}",
            t.calls, t.credits_spent, t.credits_saved
        );
    }
    println!(
        "{:<34} {} call(s), {} credits, saved {}",
        "total", ledger.total.calls, ledger.total.credits_spent, ledger.total.credits_saved
    );
}
