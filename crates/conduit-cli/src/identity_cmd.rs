//! `conduit identity …` and the global identity options (`--identity-dir`, `--cert`, `--key`,
//! `--ca-cert`, `--no-mtls`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use conduit::identity::{save_identity, ConduitIdentity, Registrar, SystemEnvironment, DIR_NAME};
use conduit::{ClientBuilder, Error};
use serde_json::json;

use crate::{Failure, Global};

/// The global identity options.
#[derive(Debug, Args)]
pub(crate) struct IdentityArgs {
    /// The identity directory (identity.pem, identity_key.pem, ca.pem); searched first, and
    /// where `identity bootstrap` saves.
    #[arg(long, global = true, env = "CONDUIT_IDENTITY_DIR")]
    pub(crate) identity_dir: Option<PathBuf>,
    /// A client certificate file (PEM) for mTLS; needs --key.
    #[arg(long, global = true, requires = "key")]
    pub(crate) cert: Option<PathBuf>,
    /// The private key of --cert (PEM: PKCS#8, SEC1 or PKCS#1).
    #[arg(long, global = true, requires = "cert")]
    pub(crate) key: Option<PathBuf>,
    /// A CA bundle (PEM) trusted for the server, in addition to the public roots.
    #[arg(long, global = true)]
    pub(crate) ca_cert: Option<PathBuf>,
    /// Never present a client certificate (no discovery either).
    #[arg(long, global = true)]
    pub(crate) no_mtls: bool,
}

/// `conduit identity …`
#[derive(Debug, Subcommand)]
pub(crate) enum IdentityCmd {
    /// Register a new identity with the CA and save it (then connect with mTLS alone).
    #[command(
        after_help = "Example:\n  conduit identity bootstrap --url https://gateway.datagrout.ai/servers/UUID/mcp --token TOKEN --name my-laptop"
    )]
    Bootstrap {
        /// An access token for registration.
        #[arg(
            long,
            env = "CONDUIT_TOKEN",
            hide_env_values = true,
            conflicts_with = "client_id"
        )]
        token: Option<String>,
        /// OAuth client id (client_credentials) instead of a token.
        #[arg(long, requires = "client_secret")]
        client_id: Option<String>,
        /// OAuth client secret.
        #[arg(long, env = "CONDUIT_CLIENT_SECRET", hide_env_values = true)]
        client_secret: Option<String>,
        /// The identity's name (the certificate's common name).
        #[arg(long)]
        name: String,
        /// Where to save (default: --identity-dir, else ~/.conduit).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The CA registration base URL (default: DataGrout's).
        #[arg(long)]
        endpoint: Option<String>,
        /// Where to fetch the CA bundle when the CA's answer has none.
        #[arg(long)]
        ca_url: Option<String>,
        /// The OAuth token endpoint (default: derived from --url).
        #[arg(long)]
        token_endpoint: Option<String>,
    },
    /// Renew the current identity with the CA (a new keypair, authenticated over mTLS).
    #[command(after_help = "Example:\n  conduit identity rotate --identity-dir ~/.conduit")]
    Rotate {
        /// The CA registration base URL (default: DataGrout's).
        #[arg(long)]
        endpoint: Option<String>,
    },
    /// Show the identity discovery finds: source, subject, fingerprint, expiry, days left.
    #[command(after_help = "Example:\n  conduit identity show --json")]
    Show,
}

/// Applies the global identity options to a client builder.
pub(crate) fn apply(
    mut builder: ClientBuilder,
    args: &IdentityArgs,
) -> Result<ClientBuilder, Failure> {
    let identity = if args.no_mtls { None } else { explicit(args)? };
    match (&identity, &args.ca_cert) {
        (Some(identity), _) => builder = builder.identity(identity.clone()),
        (None, Some(ca)) => builder = builder.http_config(trust(ca)?),
        (None, None) => {}
    }
    if args.no_mtls {
        return Ok(builder.disable_mtls(true));
    }
    if let Some(dir) = &args.identity_dir {
        builder = builder.identity_dir(dir);
    }
    Ok(builder)
}

/// An HTTP configuration trusting the CA bundle in `path` (plus the public roots).
fn trust(path: &std::path::Path) -> Result<conduit::http::HttpConfig, Failure> {
    let pem = std::fs::read(path)
        .map_err(|e| Failure::usage(format!("cannot read --ca-cert {}: {e}", path.display())))?;
    conduit::http::HttpConfig::builder()
        .add_root_certificates_pem(pem)
        .build()
        .map_err(|e| Failure::usage(format!("--ca-cert {}: {e}", path.display())))
}

fn explicit(args: &IdentityArgs) -> Result<Option<ConduitIdentity>, Failure> {
    match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => Ok(Some(
            ConduitIdentity::from_paths(cert, key, args.ca_cert.as_deref())
                .map_err(|e| Failure::from(Error::from(e)))?,
        )),
        _ => Ok(None),
    }
}

fn current(args: &IdentityArgs) -> Result<ConduitIdentity, Failure> {
    if let Some(identity) = explicit(args)? {
        return Ok(identity);
    }
    ConduitIdentity::discover(args.identity_dir.as_deref(), &SystemEnvironment)
        .map_err(|e| Failure::from(Error::from(e)))?
        .ok_or_else(|| Failure {
            message: "no identity found (looked in --identity-dir, CONDUIT_MTLS_CERT/KEY, CONDUIT_IDENTITY_DIR, ~/.conduit, ./.conduit)".into(),
            code: 1,
        })
}

pub(crate) fn describe(identity: &ConduitIdentity) -> serde_json::Value {
    json!({
        "source": identity.source().to_string(),
        "subject": identity.subject(),
        "fingerprint": identity.fingerprint(),
        "notBefore": conduit::identity::info::rfc3339(identity.not_before()),
        "notAfter": conduit::identity::info::rfc3339(identity.not_after()),
        "daysLeft": identity.days_left(),
        "dir": identity.dir().map(|d| d.display().to_string()),
        "caBundle": identity.ca_pem().is_some(),
    })
}

pub(crate) fn print(identity: &ConduitIdentity, json: bool) {
    if json {
        crate::output::json(&describe(identity));
    } else {
        println!("source:      {}", identity.source());
        println!("subject:     {}", identity.subject());
        println!("fingerprint: {}", identity.fingerprint());
        println!(
            "valid:       {} .. {}",
            conduit::identity::info::rfc3339(identity.not_before()),
            conduit::identity::info::rfc3339(identity.not_after())
        );
        println!("days left:   {}", identity.days_left());
        if let Some(dir) = identity.dir() {
            println!("directory:   {}", dir.display());
        }
    }
}

pub(crate) async fn run(cmd: IdentityCmd, global: &Global) -> Result<(), Failure> {
    let timeout = Duration::from_secs_f64(global.timeout.max(0.001));
    match cmd {
        IdentityCmd::Show => {
            print(&current(&global.identity)?, global.json);
            Ok(())
        }
        IdentityCmd::Rotate { endpoint } => {
            let identity = current(&global.identity)?;
            let Some(dir) = identity
                .dir()
                .map(PathBuf::from)
                .or_else(|| global.identity.identity_dir.clone())
            else {
                return Err(Failure::usage(
                    "the identity has no directory to save into; pass --identity-dir",
                ));
            };
            let http =
                conduit::identity::default_http().map_err(|e| Failure::from(Error::from(e)))?;
            let mut registrar = Registrar::new(http).timeout(timeout);
            if let Some(endpoint) = endpoint {
                registrar = registrar.endpoint(endpoint);
            }
            let renewed = registrar
                .rotate(&identity, None)
                .await
                .map_err(|e| Failure::from(Error::from(e)))?
                .identity;
            save_identity(&renewed, &dir).map_err(|e| Failure::from(Error::from(e)))?;
            print(&renewed.with_dir(dir), global.json);
            Ok(())
        }
        IdentityCmd::Bootstrap {
            token,
            client_id,
            client_secret,
            name,
            dir,
            endpoint,
            ca_url,
            token_endpoint,
        } => {
            let Some(url) = global.url.clone() else {
                return Err(Failure::usage(
                    "no server URL: pass --url or set CONDUIT_URL",
                ));
            };
            let dir = dir
                .or_else(|| global.identity.identity_dir.clone())
                .or_else(|| dirs_home().map(|h| h.join(DIR_NAME)))
                .ok_or_else(|| Failure::usage("no home directory; pass --dir"))?;
            let mut builder = conduit::Client::builder(url)
                .timeout(timeout)
                .identity_dir(&dir)
                .identity_environment(Arc::new(SystemEnvironment));
            if let Some(ca) = &global.identity.ca_cert {
                builder = builder.http_config(trust(ca)?);
            }
            if let Some(endpoint) = endpoint {
                builder = builder.identity_endpoint(endpoint);
            }
            if let Some(ca_url) = ca_url {
                builder = builder.identity_ca_url(Some(ca_url));
            }
            if let Some(te) = token_endpoint {
                builder = builder.token_endpoint(te);
            }
            let client = match (token, client_id, client_secret) {
                (Some(token), None, _) => builder.bootstrap_identity(&token, &name).await?,
                (None, Some(id), Some(secret)) => {
                    builder
                        .bootstrap_identity_oauth(&id, &secret, &name)
                        .await?
                }
                _ => {
                    return Err(Failure::usage(
                        "pass --token, or --client-id with --client-secret",
                    ))
                }
            };
            if let Some(identity) = client.identity() {
                print(&identity, global.json);
            }
            client.close().await?;
            Ok(())
        }
    }
}

fn dirs_home() -> Option<PathBuf> {
    use conduit::identity::Environment;
    SystemEnvironment.home_dir()
}
