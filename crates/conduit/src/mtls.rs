//! mTLS identity in the facade: builder options, discovery at connect, bootstrap, rotation.
//!
//! # When an identity is used
//!
//! 1. [`disable_mtls(true)`](ClientBuilder::disable_mtls) — never (even an explicit identity is
//!    dropped);
//! 2. an explicit [`identity`](ClientBuilder::identity) — always;
//! 3. otherwise discovery ([`ConduitIdentity::discover`]) runs when
//!    [`identity_auto(true)`](ClientBuilder::identity_auto) or
//!    [`identity_dir`](ClientBuilder::identity_dir) is set — a broken identity is then an error —
//!    or, silently, for `*.datagrout.ai` URLs (as the reference README promises): there a broken
//!    identity is logged at `WARN` and the client connects without one.
//!
//! # Rotation
//!
//! With an identity and [`auto_rotate`](ClientBuilder::auto_rotate) on (the default), the
//! client checks the certificate's own not-after:
//!
//! * **at connect**: a certificate within [`rotation_margin`](ClientBuilder::rotation_margin)
//!   (default 7 days) of expiry is renewed before the first request;
//! * **in the background**: a task sleeps until the margin is reached (re-checking at least
//!   every [`rotation_check_interval`](ClientBuilder::rotation_check_interval), default 1 h)
//!   and renews then; a failed renewal is logged and retried after a minute (or the interval,
//!   if shorter).
//!
//! Renewal calls `{endpoint}/rotate` with a new keypair over mTLS, saves the result atomically
//! into the identity's directory (when it has one), and swaps it into a
//! [`SharedIdentity`]: calls made afterwards present the new certificate (the HTTP client opens
//! new connections; the WebSocket renews its connection at the first call made while none is in
//! flight); calls in flight keep their connection and finish undisturbed. The task ends with the
//! client.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use conduit_http::{HttpClient, HttpConfig};
use conduit_identity::onramp::{onramp, OnrampRequest};
use conduit_identity::{
    save_identity, ConduitIdentity, Environment, IdentityError, Registrar, SharedIdentity,
    SystemEnvironment, DIR_NAME,
};
use tokio::task::JoinHandle;

use crate::{Client, ClientBuilder, Error};

/// Default [`ClientBuilder::rotation_margin`]: 7 days.
pub const DEFAULT_ROTATION_MARGIN: Duration = Duration::from_secs(7 * 86_400);
/// Default [`ClientBuilder::rotation_check_interval`]: 1 hour.
pub const DEFAULT_ROTATION_CHECK_INTERVAL: Duration = Duration::from_secs(3600);
/// Back-off after a failed background rotation (capped by the check interval).
const ROTATION_RETRY: Duration = Duration::from_secs(60);

/// The identity options of a [`ClientBuilder`].
#[derive(Debug, Clone)]
pub(crate) struct MtlsOptions {
    identity: Option<ConduitIdentity>,
    auto: bool,
    dir: Option<PathBuf>,
    disabled: bool,
    env: Arc<dyn Environment>,
    endpoint: Option<String>,
    rotation_endpoint: Option<String>,
    ca_url: Option<Option<String>>,
    token_endpoint: Option<String>,
    margin: Duration,
    interval: Duration,
    auto_rotate: bool,
}

impl Default for MtlsOptions {
    fn default() -> Self {
        MtlsOptions {
            identity: None,
            auto: false,
            dir: None,
            disabled: false,
            env: Arc::new(SystemEnvironment),
            endpoint: None,
            rotation_endpoint: None,
            ca_url: None,
            token_endpoint: None,
            margin: DEFAULT_ROTATION_MARGIN,
            interval: DEFAULT_ROTATION_CHECK_INTERVAL,
            auto_rotate: true,
        }
    }
}

impl ClientBuilder {
    /// Presents this identity on every TLS connection (and trusts its CA bundle for the server,
    /// in addition to the public roots).
    pub fn identity(mut self, identity: ConduitIdentity) -> Self {
        self.mtls.identity = Some(identity);
        self
    }

    /// Discovers an identity when none is given explicitly (the reference order: identity dir,
    /// `CONDUIT_MTLS_CERT`/`_KEY`, `CONDUIT_IDENTITY_DIR`, `~/.conduit`, `./.conduit`). A broken
    /// identity found on the way is an error. Always on for `*.datagrout.ai` URLs, silently.
    pub fn identity_auto(mut self, on: bool) -> Self {
        self.mtls.auto = on;
        self
    }

    /// The identity directory searched first by discovery (and implies it), and where
    /// bootstrap saves (default `~/.conduit`).
    pub fn identity_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.mtls.dir = Some(dir.into());
        self
    }

    /// Turns mTLS off completely: no discovery, and even an explicit identity is not presented.
    pub fn disable_mtls(mut self, on: bool) -> Self {
        self.mtls.disabled = on;
        self
    }

    /// Where discovery reads environment variables and the home and working directories
    /// (default: the process). Tests pass a [`MapEnvironment`](conduit_identity::MapEnvironment).
    pub fn identity_environment(mut self, env: Arc<dyn Environment>) -> Self {
        self.mtls.env = env;
        self
    }

    /// The CA registration base (`/register`, `/rotate` appended); default
    /// [`DEFAULT_ENDPOINT`](conduit_identity::DEFAULT_ENDPOINT).
    pub fn identity_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.mtls.endpoint = Some(endpoint.into());
        self
    }

    /// A different base for `/rotate` only (default: [`identity_endpoint`](Self::identity_endpoint)).
    pub fn rotation_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.mtls.rotation_endpoint = Some(endpoint.into());
        self
    }

    /// Where bootstrap fetches the CA bundle when the CA's answer has none (default
    /// [`DEFAULT_CA_URL`](conduit_identity::DEFAULT_CA_URL); `None` skips the fetch).
    pub fn identity_ca_url(mut self, url: Option<String>) -> Self {
        self.mtls.ca_url = Some(url);
        self
    }

    /// The OAuth token endpoint for [`bootstrap_identity_oauth`](Self::bootstrap_identity_oauth)
    /// (default: derived from the URL, `{origin}/servers/{id}/oauth/token`). With the `auth`
    /// feature, [`token_endpoint`](Self::token_endpoint) sets it too.
    pub fn identity_token_endpoint(mut self, url: impl Into<String>) -> Self {
        self.mtls.token_endpoint = Some(url.into());
        self
    }

    /// Renew the certificate when it is this close to expiry (default 7 days).
    pub fn rotation_margin(mut self, margin: Duration) -> Self {
        self.mtls.margin = margin;
        self
    }

    /// The longest the background task waits between expiry checks (default 1 h).
    pub fn rotation_check_interval(mut self, interval: Duration) -> Self {
        if interval.is_zero() {
            self.errors
                .push("the rotation check interval must be greater than zero".into());
        }
        self.mtls.interval = interval;
        self
    }

    /// Whether the client renews its certificate on its own (default true).
    pub fn auto_rotate(mut self, on: bool) -> Self {
        self.mtls.auto_rotate = on;
        self
    }

    /// Bootstraps an identity with an access token, then connects with mTLS alone.
    ///
    /// Reuses a discovered identity that is not within the rotation margin of expiry;
    /// otherwise generates an ECDSA P-256 keypair, registers it at `{endpoint}/register`,
    /// saves `identity.pem`, `identity_key.pem` and `ca.pem` into the identity directory
    /// (default `~/.conduit`; 0700, key 0600, atomic writes) and connects presenting it. The
    /// token is used for registration only.
    pub async fn bootstrap_identity(
        mut self,
        auth_token: &str,
        name: &str,
    ) -> Result<Client, Error> {
        if let Some(first) = self.errors.first() {
            return Err(Error::Config(first.clone()));
        }
        if let Some(existing) =
            ConduitIdentity::discover(self.mtls.dir.as_deref(), self.mtls.env.as_ref())?
        {
            if !existing.needs_rotation(self.mtls.margin) {
                tracing::info!(source = %existing.source(), "bootstrap: reusing the existing identity");
                return self.identity(existing).connect().await;
            }
        }
        let registrar = self.registrar(false)?;
        let registration = registrar.register(auth_token, name).await?;
        let dir = self.save_dir()?;
        save_identity(&registration.identity, &dir)?;
        let identity = registration.identity.with_dir(dir);
        self.mtls.disabled = false;
        self.identity(identity).connect().await
    }

    /// [`bootstrap_identity`](Self::bootstrap_identity) with a token from the OAuth
    /// `client_credentials` grant at the [`identity_token_endpoint`](Self::identity_token_endpoint).
    pub async fn bootstrap_identity_oauth(
        self,
        client_id: &str,
        client_secret: &str,
        name: &str,
    ) -> Result<Client, Error> {
        let token_url = match &self.mtls.token_endpoint {
            Some(url) => url.clone(),
            None => conduit_auth::derive_token_endpoint(&self.url)
                .map_err(|e| Error::Auth(Box::new(e)))?
                .to_string(),
        };
        let http = self.plain_http()?;
        let token =
            client_credentials_token(&http, &token_url, client_id, client_secret, self.timeout)
                .await?;
        self.bootstrap_identity(&token, name).await
    }

    /// Onramp, then bootstrap: `{gateway}/onramp` and `{gateway}/onramp/complete` turn the
    /// request (agent name, access code) into client credentials, a `client_credentials` token
    /// from their `token_url` registers an identity, and the client connects to the answer's
    /// `mcp_url` (or this builder's URL when the answer has none) with mTLS alone.
    pub async fn bootstrap_onramp(
        mut self,
        gateway: &str,
        request: OnrampRequest,
    ) -> Result<Client, Error> {
        let http = self.plain_http()?;
        let credentials = onramp(&http, gateway, &request, self.timeout).await?;
        if let Some(mcp_url) = &credentials.mcp_url {
            self.url = mcp_url.clone();
        }
        if self.url.is_empty() {
            return Err(Error::Config(
                "onramp returned no mcp_url and no URL was given".into(),
            ));
        }
        let token = client_credentials_token(
            &http,
            &credentials.token_url,
            &credentials.client_id,
            credentials.client_secret.as_str(),
            self.timeout,
        )
        .await?;
        self.bootstrap_identity(&token, &request.agent_name).await
    }

    fn base_http_config(&self) -> Result<HttpConfig, Error> {
        match &self.http_config {
            Some(c) => Ok(c.clone()),
            None => HttpConfig::builder()
                .connect_timeout(self.connect_timeout)
                .response_header_timeout(self.timeout)
                .tls_danger_accept_invalid_certs(self.danger_accept_invalid_certs)
                .build()
                .map_err(|e| Error::Config(e.to_string())),
        }
    }

    fn plain_http(&self) -> Result<HttpClient, Error> {
        HttpClient::new(self.base_http_config()?).map_err(|e| Error::Config(e.to_string()))
    }

    fn registrar(&self, rotation: bool) -> Result<Registrar, Error> {
        registrar(&self.mtls, self.plain_http()?, self.timeout, rotation)
    }

    fn save_dir(&self) -> Result<PathBuf, Error> {
        match &self.mtls.dir {
            Some(d) => Ok(d.clone()),
            None => self
                .mtls
                .env
                .home_dir()
                .map(|h| h.join(DIR_NAME))
                .ok_or_else(|| {
                    Error::Config(
                        "no home directory to save the identity in; set identity_dir".into(),
                    )
                }),
        }
    }
}

fn registrar(
    opts: &MtlsOptions,
    http: HttpClient,
    timeout: Duration,
    rotation: bool,
) -> Result<Registrar, Error> {
    let mut registrar = Registrar::new(http).timeout(timeout);
    let endpoint = if rotation {
        opts.rotation_endpoint.as_ref().or(opts.endpoint.as_ref())
    } else {
        opts.endpoint.as_ref()
    };
    if let Some(endpoint) = endpoint {
        registrar = registrar.endpoint(endpoint.clone());
    }
    if let Some(ca_url) = &opts.ca_url {
        registrar = registrar.ca_url(ca_url.clone());
    }
    Ok(registrar)
}

/// Whether `url`'s host is `datagrout.ai` or a subdomain of it.
pub(crate) fn is_datagrout_host(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let host = if host.starts_with('[') {
        host
    } else {
        host.split(':').next().unwrap_or("")
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "datagrout.ai" || host.ends_with(".datagrout.ai")
}

/// Decides which identity (if any) the client presents.
pub(crate) fn resolve(opts: &MtlsOptions, url: &str) -> Result<Option<ConduitIdentity>, Error> {
    if opts.disabled {
        if opts.identity.is_some() {
            tracing::debug!("mTLS disabled: the explicit identity is not presented");
        }
        return Ok(None);
    }
    if let Some(identity) = &opts.identity {
        return Ok(Some(identity.clone()));
    }
    if opts.auto || opts.dir.is_some() {
        return Ok(ConduitIdentity::discover(
            opts.dir.as_deref(),
            opts.env.as_ref(),
        )?);
    }
    if is_datagrout_host(url) {
        return match ConduitIdentity::discover(None, opts.env.as_ref()) {
            Ok(found) => Ok(found),
            Err(e) => {
                tracing::warn!(error = %e, "ignoring a broken mTLS identity (set identity_auto to make this an error)");
                Ok(None)
            }
        };
    }
    Ok(None)
}

/// Renews an identity and swaps it in; shared by the background task and
/// [`Client::rotate_identity`].
#[derive(Debug)]
pub(crate) struct Rotator {
    shared: SharedIdentity,
    registrar: Registrar,
    margin: Duration,
    interval: Duration,
    lock: tokio::sync::Mutex<()>,
    /// Set when a renewal produced a certificate that is itself within the margin (a CA that
    /// issues certificates shorter than the margin): the loop then waits an interval first.
    short_lived: std::sync::atomic::AtomicBool,
}

impl Rotator {
    async fn rotate_now(&self) -> Result<ConduitIdentity, IdentityError> {
        let _guard = self.lock.lock().await;
        let current = self.shared.current();
        let renewed = self.registrar.rotate(&current, None).await?.identity;
        if let Some(dir) = renewed.dir() {
            save_identity(&renewed, dir)?;
        } else {
            tracing::warn!("the rotated identity has no directory and is kept in memory only");
        }
        self.shared.replace(renewed.clone());
        self.short_lived.store(
            renewed.needs_rotation(self.margin),
            std::sync::atomic::Ordering::Release,
        );
        tracing::info!(
            old = %current.fingerprint(),
            new = %renewed.fingerprint(),
            not_after = %conduit_identity::info::rfc3339(renewed.not_after()),
            "mTLS identity rotated"
        );
        Ok(renewed)
    }

    /// How long until the current certificate enters the margin (zero if it has).
    fn until_due(&self) -> Duration {
        let current = self.shared.current();
        let due = current
            .not_after()
            .checked_sub(self.margin)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        due.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
    }
}

async fn rotation_loop(rotator: Arc<Rotator>) {
    loop {
        let wait = rotator.until_due();
        if !wait.is_zero() {
            tokio::time::sleep(wait.min(rotator.interval)).await;
            continue;
        }
        if rotator
            .short_lived
            .swap(false, std::sync::atomic::Ordering::AcqRel)
        {
            // Just renewed, and the CA issues certificates shorter than the margin: don't spin.
            tokio::time::sleep(rotator.interval).await;
            continue;
        }
        match rotator.rotate_now().await {
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "mTLS identity rotation failed; will retry");
                tokio::time::sleep(ROTATION_RETRY.min(rotator.interval)).await;
            }
        }
    }
}

/// The identity state a client keeps: the shared slot, the rotator, the background task
/// (aborted when the client is dropped).
#[derive(Debug)]
pub(crate) struct IdentityRuntime {
    shared: SharedIdentity,
    rotator: Arc<Rotator>,
    task: Option<JoinHandle<()>>,
}

impl Drop for IdentityRuntime {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Resolves the identity, renews it if due, and returns the HTTP configuration presenting it.
pub(crate) async fn prepare(
    opts: &MtlsOptions,
    url: &str,
    http_config: HttpConfig,
    timeout: Duration,
) -> Result<(HttpConfig, Option<IdentityRuntime>), Error> {
    let Some(identity) = resolve(opts, url)? else {
        return Ok((http_config, None));
    };
    let plain = HttpClient::new(http_config.clone()).map_err(|e| Error::Config(e.to_string()))?;
    let rotator = Arc::new(Rotator {
        shared: SharedIdentity::new(identity.clone()),
        registrar: registrar(opts, plain, timeout, true)?,
        margin: opts.margin,
        interval: opts.interval,
        lock: tokio::sync::Mutex::new(()),
        short_lived: std::sync::atomic::AtomicBool::new(false),
    });
    if opts.auto_rotate && identity.needs_rotation(opts.margin) {
        if let Err(e) = rotator.rotate_now().await {
            tracing::warn!(error = %e, "the mTLS identity is due for rotation, but renewal failed; using the current one");
        }
    }
    let current = rotator.shared.current();
    let config = http_config
        .to_builder()
        .client_certificate(Arc::new(rotator.shared.clone()))
        .add_root_certificates(current.ca_certificates().iter().cloned())
        .build()
        .map_err(|e| Error::Config(e.to_string()))?;
    let task = opts
        .auto_rotate
        .then(|| tokio::spawn(rotation_loop(Arc::clone(&rotator))));
    Ok((
        config,
        Some(IdentityRuntime {
            shared: rotator.shared.clone(),
            rotator,
            task,
        }),
    ))
}

impl Client {
    /// Bootstraps an identity with an access token and connects with mTLS alone (see
    /// [`ClientBuilder::bootstrap_identity`]; saves into `~/.conduit`).
    pub async fn bootstrap_identity(
        url: impl Into<String>,
        auth_token: &str,
        name: &str,
    ) -> Result<Client, Error> {
        ClientBuilder::new(url)
            .bootstrap_identity(auth_token, name)
            .await
    }

    /// Bootstraps an identity with OAuth `client_credentials` (see
    /// [`ClientBuilder::bootstrap_identity_oauth`]).
    pub async fn bootstrap_identity_oauth(
        url: impl Into<String>,
        client_id: &str,
        client_secret: &str,
        name: &str,
    ) -> Result<Client, Error> {
        ClientBuilder::new(url)
            .bootstrap_identity_oauth(client_id, client_secret, name)
            .await
    }

    /// Onramp and bootstrap (see [`ClientBuilder::bootstrap_onramp`]).
    pub async fn bootstrap_onramp(gateway: &str, request: OnrampRequest) -> Result<Client, Error> {
        ClientBuilder::new(String::new())
            .bootstrap_onramp(gateway, request)
            .await
    }

    /// The identity new connections present, if mTLS is in use.
    pub fn identity(&self) -> Option<ConduitIdentity> {
        self.settings()
            .identity
            .as_ref()
            .map(|r| r.shared.current())
    }

    /// Renews the identity now (see the module docs on rotation): calls in flight are not
    /// disturbed; connections opened afterwards present the new certificate.
    pub async fn rotate_identity(&self) -> Result<ConduitIdentity, Error> {
        match &self.settings().identity {
            Some(runtime) => Ok(runtime.rotator.rotate_now().await?),
            None => Err(Error::Config("this client has no mTLS identity".into())),
        }
    }
}

/// One `client_credentials` token (secret in the form body, as the reference SDK sends it),
/// through `conduit-auth`.
async fn client_credentials_token(
    http: &HttpClient,
    token_url: &str,
    client_id: &str,
    client_secret: &str,
    timeout: std::time::Duration,
) -> Result<String, Error> {
    use conduit_auth::token::TokenSource;
    let config = conduit_auth::ClientCredentials::new(client_id, client_secret.to_owned())
        .token_endpoint(token_url)
        .map_err(|e| Error::Auth(Box::new(e)))?
        .timeout(timeout);
    let provider = conduit_auth::ClientCredentialsProvider::new(config, http.without_authorizer());
    let token = provider
        .token()
        .await
        .map_err(|e| Error::Auth(Box::new(e)))?;
    Ok(token.token.expose().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datagrout_hosts() {
        for (url, expected) in [
            ("https://gateway.datagrout.ai/servers/x/mcp", true),
            ("https://datagrout.ai/mcp", true),
            ("https://GATEWAY.DataGrout.AI:443/mcp", true),
            ("https://user@app.datagrout.ai/x", true),
            ("https://evil.com/?u=datagrout.ai", false),
            ("https://datagrout.ai.evil.com/mcp", false),
            ("https://notdatagrout.ai/mcp", false),
            ("http://127.0.0.1:9/mcp", false),
        ] {
            assert_eq!(is_datagrout_host(url), expected, "{url}");
        }
    }
}
