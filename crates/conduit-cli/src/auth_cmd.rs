//! `conduit auth status|logout` and the reuse of stored grants, over
//! `conduit::auth::FileGrantStore` (`$CONDUIT_HOME/grants` or `~/.conduit/grants`). The grants
//! are the reference SDK's Grant JSON, so a login made by either SDK is visible to both.
//! `auth login` runs the MCP authorization-code flow (PKCE, discovery, registration) and
//! stores the grant under the `--url` key that `connect` and `auth status` read.

use clap::Subcommand;
use conduit::auth::{FileGrantStore, GrantStore};

use crate::Failure;

/// Stored-credential commands.
#[derive(Debug, Subcommand)]
pub(crate) enum AuthCmd {
    /// Log in to --url with the authorization-code flow (the browser, or the URL printed)
    /// and store the grant (0600) for later commands.
    Login {
        /// Do not wait for a browser: read the authorization server's redirect directly
        /// (for servers that consent automatically, e.g. in tests).
        #[arg(long)]
        headless: bool,
        /// Request these scopes instead of the discovered ones (space separated).
        #[arg(long)]
        scope: Option<String>,
    },
    /// Show the stored grants (never the tokens): client, expiry, scope, refreshability.
    Status,
    /// Forget the stored grant of --url (or every grant with --all).
    Logout {
        /// Remove every stored grant.
        #[arg(long)]
        all: bool,
    },
}

fn store() -> Result<FileGrantStore, Failure> {
    FileGrantStore::default_location().map_err(|e| Failure {
        message: e.to_string(),
        code: 1,
    })
}

fn failure(e: impl std::fmt::Display) -> Failure {
    Failure {
        message: e.to_string(),
        code: 1,
    }
}

/// Runs `cmd`; `login` is asynchronous, the rest only touch the store.
pub(crate) async fn run_async(cmd: AuthCmd, url: Option<&str>, json: bool) -> Result<(), Failure> {
    match cmd {
        AuthCmd::Login { headless, scope } => {
            let url = url.ok_or_else(|| Failure::usage("auth login needs --url"))?;
            login(url, headless, scope.as_deref(), json).await
        }
        other => run(other, url, json),
    }
}

async fn login(url: &str, headless: bool, scope: Option<&str>, json: bool) -> Result<(), Failure> {
    use std::sync::Arc;
    let store = store()?;
    let mut config = conduit::auth::OAuthConfig::new().client_name("conduit-cli");
    if headless {
        config = config.handler(Arc::new(conduit::auth::oauth::HeadlessRedirect::new(
            "http://127.0.0.1/callback",
        )));
    }
    if let Some(scope) = scope {
        config = config.scopes(scope.split_whitespace().map(str::to_owned));
    }
    let http = conduit::http::HttpClient::with_defaults().map_err(failure)?;
    let authorizer = conduit::auth::OAuthAuthorizer::new(http, url, config).map_err(failure)?;
    let grant: conduit::auth::Grant = authorizer.login().await.map_err(failure)?;
    store.save(url, &grant).map_err(failure)?;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "url": url,
                "client_id": grant.client_id,
                "expires_at": grant.expires_at,
                "refreshable": grant.refresh_token.is_some(),
                "scope": grant.scope,
                "path": store.path_for(url).display().to_string(),
            })
        );
    } else {
        println!(
            "logged in to {url} as client {}; grant stored in {}",
            grant.client_id,
            store.path_for(url).display()
        );
    }
    Ok(())
}

pub(crate) fn run(cmd: AuthCmd, url: Option<&str>, json: bool) -> Result<(), Failure> {
    let store = store()?;
    match cmd {
        AuthCmd::Login { .. } => Err(Failure::usage("auth login runs asynchronously")),
        AuthCmd::Status => {
            let mut rows = Vec::new();
            for key in store.keys().map_err(failure)? {
                if url.is_some_and(|u| u != key) {
                    continue;
                }
                if let Some(grant) = store.load(&key).map_err(failure)? {
                    rows.push(serde_json::json!({
                        "url": key,
                        "client_id": grant.client_id,
                        "token_endpoint": grant.token_endpoint,
                        "expires_at": grant.expires_at,
                        "expired": grant.is_expired(),
                        "refreshable": grant.refresh_token.is_some(),
                        "scope": grant.scope,
                    }));
                }
            }
            if json {
                println!("{}", serde_json::Value::Array(rows));
            } else if rows.is_empty() {
                println!("no stored grants in {}", store.dir().display());
            } else {
                for r in rows {
                    println!(
                        "{}: client {} ({}{})",
                        r["url"].as_str().unwrap_or_default(),
                        r["client_id"].as_str().unwrap_or_default(),
                        if r["expired"] == true {
                            "expired"
                        } else {
                            "valid"
                        },
                        if r["refreshable"] == true {
                            ", refreshable"
                        } else {
                            ""
                        }
                    );
                }
            }
            Ok(())
        }
        AuthCmd::Logout { all } => {
            let keys: Vec<String> = if all {
                store.keys().map_err(failure)?
            } else {
                vec![url
                    .ok_or_else(|| Failure::usage("auth logout needs --url (or --all)"))?
                    .to_owned()]
            };
            let mut removed = 0;
            for key in keys {
                if store.remove(&key).map_err(failure)? {
                    removed += 1;
                }
            }
            println!("removed {removed} grant(s)");
            Ok(())
        }
    }
}

/// The stored grant's access token for `url`, refreshed (and saved) when expired.
pub(crate) async fn stored_token(url: &str) -> Option<String> {
    let store = FileGrantStore::default_location().ok()?;
    let grant = store.load(url).ok()??;
    if !grant.is_expired() {
        return Some(grant.access_token.expose().to_owned());
    }
    let http = conduit::http::HttpClient::with_defaults().ok()?;
    let refreshed = conduit::auth::store::refresh_grant(&http, &grant)
        .await
        .ok()?;
    if let Err(e) = store.save(url, &refreshed) {
        eprintln!("warning: could not save the refreshed grant: {e}");
    }
    Some(refreshed.access_token.expose().to_owned())
}
