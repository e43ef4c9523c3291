//! [`OAuthAuthorizer`]: the MCP authorization spec as a `conduit_http::Authorizer`.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use conduit_http::{AuthHookError, Authorizer, BoxFuture, Challenge, HttpClient, Retry};
use http::header::{HeaderValue, AUTHORIZATION};
use url::Url;

use super::config::OAuthConfig;
use super::discovery::{
    self, discover_authorization_server, discover_resource_metadata, legacy_default_endpoints,
    origin, AuthorizationServerMetadata, BearerChallenge,
};
use super::error::{OAuthError, OAuthErrorKind};
use super::flow::{self, ClientIdentity, Grant, TokenEndpointAuth};
use super::http::OAuthHttp;

/// Implements the MCP authorization specification as the HTTPS layer's
/// [`Authorizer`](conduit_http::Authorizer):
///
/// * adds `Authorization: Bearer …` while it holds a token, refreshing it shortly before
///   expiry (exactly one refresh in flight however many requests wait);
/// * on `401`: discovers the protected resource and its authorization server, refreshes the
///   token or runs the authorization code flow with PKCE through the configured
///   [`AuthorizationCodeHandler`](super::AuthorizationCodeHandler), and has the request
///   resent once;
/// * on `403 insufficient_scope`: step-up authorization with the union of the granted and the
///   challenged scopes, at most [`max_step_up`](OAuthConfig::max_step_up) times per scope.
///
/// Credentials are bound to the issuer that issued them: when the resource names another
/// authorization server, dynamically registered clients and tokens are dropped and the client
/// registers again.
pub struct OAuthAuthorizer {
    inner: Arc<Inner>,
}

struct Inner {
    http: OAuthHttp,
    server: Url,
    config: OAuthConfig,
    state: Mutex<State>,
    /// Serializes refreshes and flows: exactly one in flight.
    flight: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    grant: Option<Grant>,
    /// The identity the grant was issued to (for refreshing it).
    identity: Option<ClientIdentity>,
    /// Dynamically registered clients, by issuer.
    registered: HashMap<String, ClientIdentity>,
    /// The issuer a pre-registered client id was first used with.
    pre_registered_issuer: Option<String>,
    /// Bumped whenever credentials change.
    generation: u64,
    /// Step-up attempts by requested scope.
    step_ups: HashMap<String, u32>,
}

impl fmt::Debug for OAuthAuthorizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthAuthorizer")
            .field("server", &self.inner.server.as_str())
            .field("has_token", &self.state().grant.is_some())
            .finish_non_exhaustive()
    }
}

impl OAuthAuthorizer {
    /// An authorizer for the MCP server at `server_url`; metadata, registration and token
    /// requests go through `http` without its authorizer.
    pub fn new(
        http: HttpClient,
        server_url: &str,
        config: OAuthConfig,
    ) -> Result<Self, OAuthError> {
        let server = Url::parse(server_url).map_err(|e| {
            OAuthError::new(
                OAuthErrorKind::Config,
                format!("the server URL `{server_url}` is invalid: {e}"),
            )
        })?;
        Ok(OAuthAuthorizer {
            inner: Arc::new(Inner {
                http: match config.dpop.clone() {
                    Some(prover) => OAuthHttp::new(http.without_authorizer()).with_dpop(prover),
                    None => OAuthHttp::new(http.without_authorizer()),
                },
                server,
                config,
                state: Mutex::new(State::default()),
                flight: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// Starts from a stored grant (e.g. one written by the reference SDK). Refreshing it
    /// uses the grant's `client_id` as a public client unless a pre-registered secret is
    /// configured for the same id.
    pub fn with_grant(self, grant: Grant) -> Self {
        {
            let mut state = self.state();
            let secret = (self.inner.config.client_id.as_deref() == Some(grant.client_id.as_str()))
                .then(|| self.inner.config.client_secret.clone())
                .flatten();
            state.identity = Some(ClientIdentity {
                client_id: grant.client_id.clone(),
                auth: TokenEndpointAuth::choose(secret.is_some(), None),
                client_secret: secret,
                issuer: None,
                redirect_uri: None,
            });
            state.grant = Some(grant);
            state.generation += 1;
        }
        self
    }

    /// The current grant (to persist it), if any.
    pub fn grant(&self) -> Option<Grant> {
        self.state().grant.clone()
    }

    /// Runs discovery and the authorization code flow now, without waiting for a `401`
    /// (e.g. for a `login` command). Returns the new grant.
    pub async fn login(&self) -> Result<Grant, OAuthError> {
        let _flight = self.inner.flight.lock().await;
        self.run_flow(&BearerChallenge::default(), false).await
    }

    fn state(&self) -> MutexGuard<'_, State> {
        match self.inner.state.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn margin(&self) -> u64 {
        self.inner.config.refresh_margin.as_secs()
    }

    /// Refreshes an expiring grant; exactly one refresh runs at a time and callers that
    /// waited for it reuse its result.
    async fn refresh_if_expiring(&self) {
        let needs = {
            let state = self.state();
            state
                .grant
                .as_ref()
                .is_some_and(|g| g.refresh_token.is_some() && g.expires_within(self.margin()))
        };
        if !needs {
            return;
        }
        let _flight = self.inner.flight.lock().await;
        let (grant, identity) = {
            let state = self.state();
            match (&state.grant, &state.identity) {
                (Some(g), Some(i))
                    if g.refresh_token.is_some() && g.expires_within(self.margin()) =>
                {
                    (g.clone(), i.clone())
                }
                _ => return,
            }
        };
        match flow::refresh(&self.inner.http, &identity, &grant).await {
            Ok(fresh) => self.store(fresh, identity),
            Err(e) => tracing::debug!(error = %e, "refreshing the access token failed"),
        }
    }

    fn store(&self, grant: Grant, identity: ClientIdentity) {
        let mut state = self.state();
        state.grant = Some(grant);
        state.identity = Some(identity);
        state.generation += 1;
    }

    async fn handle_rejection(&self, challenge: &Challenge) -> Result<Retry, OAuthError> {
        let before = self.state().generation;
        let _flight = self.inner.flight.lock().await;
        if self.state().generation != before {
            // Another request renewed the credentials while this one waited.
            return Ok(Retry::Resend);
        }
        let parsed = BearerChallenge::parse(challenge.www_authenticate_str());
        let step_up =
            challenge.status() == http::StatusCode::FORBIDDEN || parsed.is_insufficient_scope();
        if !step_up {
            // A stale token: refresh when we can and the authorization server is unchanged.
            let refreshable = {
                let state = self.state();
                match (&state.grant, &state.identity) {
                    (Some(g), Some(i)) if g.refresh_token.is_some() => Some((g.clone(), i.clone())),
                    _ => None,
                }
            };
            if let Some((grant, identity)) = refreshable {
                let same_issuer = match &identity.issuer {
                    Some(issuer) => {
                        self.current_issuer(&parsed).await.ok().flatten().as_deref()
                            == Some(issuer.as_str())
                    }
                    None => true,
                };
                if same_issuer {
                    match flow::refresh(&self.inner.http, &identity, &grant).await {
                        Ok(fresh) => {
                            self.store(fresh, identity);
                            return Ok(Retry::Resend);
                        }
                        Err(e) => {
                            tracing::debug!(error = %e, "refresh failed; authorizing again")
                        }
                    }
                }
            }
        }
        self.run_flow(&parsed, step_up).await?;
        Ok(Retry::Resend)
    }

    /// The issuer the resource currently names (for the refresh-or-reauthorize decision).
    async fn current_issuer(
        &self,
        challenge: &BearerChallenge,
    ) -> Result<Option<String>, OAuthError> {
        let prm = discover_resource_metadata(
            &self.inner.http,
            &self.inner.server,
            challenge.resource_metadata.as_deref(),
        )
        .await?;
        Ok(prm.and_then(|p| p.authorization_servers.into_iter().next()))
    }

    async fn run_flow(
        &self,
        challenge: &BearerChallenge,
        step_up: bool,
    ) -> Result<Grant, OAuthError> {
        let timeout = self.inner.config.flow_timeout;
        tokio::time::timeout(timeout, self.run_flow_inner(challenge, step_up))
            .await
            .map_err(|_| {
                OAuthError::new(
                    OAuthErrorKind::UserAgent,
                    format!("the authorization flow did not finish within {timeout:?}"),
                )
            })?
    }

    async fn run_flow_inner(
        &self,
        challenge: &BearerChallenge,
        step_up: bool,
    ) -> Result<Grant, OAuthError> {
        let inner = &self.inner;
        let config = &inner.config;
        let http = &inner.http;

        // 1. Protected resource metadata, then the authorization server.
        let prm =
            discover_resource_metadata(http, &inner.server, challenge.resource_metadata.as_deref())
                .await?;
        let (issuer, resource) = match &prm {
            Some(prm) => {
                let issuer = prm.authorization_servers.first().cloned().ok_or_else(|| {
                    OAuthError::new(
                        OAuthErrorKind::Discovery,
                        format!(
                            "protected resource metadata at {} names no authorization server",
                            prm.url
                        ),
                    )
                })?;
                (issuer, prm.resource.clone())
            }
            None if config.legacy_fallback => (origin(&inner.server), canonical(&inner.server)),
            None => {
                return Err(OAuthError::new(
                    OAuthErrorKind::Discovery,
                    format!(
                        "no protected resource metadata found for {} (tried {})",
                        canonical(&inner.server),
                        challenge
                            .resource_metadata
                            .clone()
                            .map(|u| vec![u])
                            .unwrap_or_else(|| discovery::resource_metadata_urls(&inner.server))
                            .join(", ")
                    ),
                ))
            }
        };
        let metadata = match discover_authorization_server(http, &issuer).await? {
            Some(m) => m,
            None if prm.is_none() && config.legacy_fallback => {
                legacy_default_endpoints(&inner.server)
            }
            None => {
                return Err(OAuthError::new(
                    OAuthErrorKind::Discovery,
                    format!(
                        "no authorization server metadata found for issuer `{issuer}` (tried {})",
                        discovery::authorization_server_metadata_urls(&issuer)?.join(", ")
                    ),
                ))
            }
        };
        flow::check_pkce(&metadata, config.allow_unadvertised_pkce)?;

        // 2. Credentials from another authorization server are never reused.
        self.unbind_other_issuers(metadata.issuer.as_deref())?;

        // 3. A redirect target, then the client identity.
        let session = config.handler.start(http).await?;
        let redirect_uri = session.redirect_uri().to_owned();
        let identity = self.identity_for(&metadata, &redirect_uri).await?;

        // 4. Scopes.
        let scopes = self.select_scopes(
            challenge,
            prm.as_ref().and_then(|p| p.scopes_supported.as_deref()),
            &metadata,
            step_up,
        )?;

        // 5. Authorization request, redirect, checks, code exchange.
        let prepared =
            flow::prepare_authorization(&identity, &metadata, &redirect_uri, &scopes, &resource)?;
        let callback = session.complete(prepared.url.clone()).await?;
        let grant = flow::complete_authorization(
            http,
            &identity,
            &metadata,
            &redirect_uri,
            prepared,
            callback,
            &resource,
        )
        .await?;
        let grant = Grant {
            scope: grant
                .scope
                .clone()
                .or_else(|| (!scopes.is_empty()).then(|| scopes.join(" "))),
            ..grant
        };
        self.store(grant.clone(), identity);
        Ok(grant)
    }

    fn unbind_other_issuers(&self, issuer: Option<&str>) -> Result<(), OAuthError> {
        let mut state = self.state();
        if let (Some(bound), Some(now)) = (state.pre_registered_issuer.as_deref(), issuer) {
            if bound != now && self.inner.config.client_id.is_some() {
                return Err(OAuthError::new(
                    OAuthErrorKind::IssuerChanged,
                    format!(
                        "the pre-registered client id belongs to `{bound}`, but the server now \
                         names the authorization server `{now}`"
                    ),
                ));
            }
        }
        let stale = state
            .identity
            .as_ref()
            .is_some_and(|i| i.issuer.is_some() && i.issuer.as_deref() != issuer);
        if stale {
            state.grant = None;
            state.identity = None;
        }
        if let Some(now) = issuer {
            state.registered.retain(|k, _| k == now);
        }
        Ok(())
    }

    async fn identity_for(
        &self,
        metadata: &AuthorizationServerMetadata,
        redirect_uri: &str,
    ) -> Result<ClientIdentity, OAuthError> {
        let config = &self.inner.config;
        if let Some(client_id) = &config.client_id {
            if let Some(issuer) = &metadata.issuer {
                self.state()
                    .pre_registered_issuer
                    .get_or_insert_with(|| issuer.clone());
            }
            return Ok(ClientIdentity {
                client_id: client_id.clone(),
                client_secret: config.client_secret.clone(),
                auth: TokenEndpointAuth::choose(
                    config.client_secret.is_some(),
                    metadata.token_endpoint_auth_methods_supported.as_deref(),
                ),
                issuer: metadata.issuer.clone(),
                redirect_uri: None,
            });
        }
        if let Some(url) = &config.client_metadata_url {
            if metadata.client_id_metadata_document_supported {
                return Ok(ClientIdentity {
                    client_id: url.clone(),
                    client_secret: None,
                    auth: TokenEndpointAuth::None,
                    issuer: metadata.issuer.clone(),
                    redirect_uri: None,
                });
            }
        }
        let key = metadata.issuer.clone().unwrap_or_default();
        if let Some(existing) = self.state().registered.get(&key) {
            if existing.redirect_uri.as_deref() == Some(redirect_uri) {
                return Ok(existing.clone());
            }
        }
        let endpoint = metadata.registration_endpoint.as_deref().ok_or_else(|| {
            OAuthError::new(
                OAuthErrorKind::NoRegistrationEndpoint,
                format!(
                    "no client id is configured and the authorization server `{}` supports \
                     neither client ID metadata documents (with a configured URL) nor dynamic \
                     client registration",
                    metadata
                        .issuer
                        .as_deref()
                        .unwrap_or(&metadata.authorization_endpoint)
                ),
            )
        })?;
        let identity = flow::register(
            &self.inner.http,
            endpoint,
            &config.client_name,
            redirect_uri,
            metadata,
        )
        .await?;
        self.state().registered.insert(key, identity.clone());
        Ok(identity)
    }

    fn select_scopes(
        &self,
        challenge: &BearerChallenge,
        resource_scopes: Option<&[String]>,
        metadata: &AuthorizationServerMetadata,
        step_up: bool,
    ) -> Result<Vec<String>, OAuthError> {
        let config = &self.inner.config;
        let mut scopes: Vec<String> = Vec::new();
        fn push_into(scopes: &mut Vec<String>, s: &str) {
            if !s.is_empty() && !scopes.iter().any(|x| x == s) {
                scopes.push(s.to_owned());
            }
        }
        if let Some(explicit) = &config.scopes {
            explicit.iter().for_each(|s| push_into(&mut scopes, s));
        } else if let Some(scope) = &challenge.scope {
            scope
                .split_whitespace()
                .for_each(|s| push_into(&mut scopes, s));
        } else if let Some(list) = resource_scopes {
            list.iter().for_each(|s| push_into(&mut scopes, s));
        }
        // Keep what was granted before (re-authorization must not lose permissions).
        let prior = self.state().grant.as_ref().and_then(|g| g.scope.clone());
        if let Some(prior) = &prior {
            prior
                .split_whitespace()
                .for_each(|s| push_into(&mut scopes, s));
        }
        if config.offline_access
            && !scopes.is_empty()
            && metadata
                .scopes_supported
                .as_ref()
                .is_some_and(|s| s.iter().any(|x| x == "offline_access"))
        {
            push_into(&mut scopes, "offline_access");
        }
        if step_up {
            let key = {
                let mut sorted = scopes.clone();
                sorted.sort();
                sorted.join(" ")
            };
            let mut state = self.state();
            let count = state.step_ups.entry(key).or_insert(0);
            *count += 1;
            if *count > config.max_step_up {
                return Err(OAuthError::new(
                    OAuthErrorKind::StepUpLimit,
                    format!(
                        "the server keeps answering 403 insufficient_scope; gave up after {} \
                         step-up authorizations for scope `{}`",
                        config.max_step_up,
                        scopes.join(" ")
                    ),
                ));
            }
        }
        Ok(scopes)
    }
}

/// The server URL without query and fragment: the RFC 8707 resource when there is no PRM.
fn canonical(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    let s = u.to_string();
    if u.path() == "/" {
        s.trim_end_matches('/').to_owned()
    } else {
        s
    }
}

fn hook_error(e: OAuthError) -> AuthHookError {
    AuthHookError::with_source(e.message().to_owned(), e)
}

impl Authorizer for OAuthAuthorizer {
    fn authorize<'a>(
        &'a self,
        request: &'a mut http::request::Parts,
    ) -> BoxFuture<'a, Result<(), AuthHookError>> {
        Box::pin(async move {
            self.refresh_if_expiring().await;
            let access = self
                .state()
                .grant
                .as_ref()
                .map(|g| g.access_token.expose().to_owned());
            let token = match (&self.inner.config.dpop, access) {
                (Some(prover), Some(access)) => {
                    let url = Url::parse(&request.uri.to_string())
                        .map_err(|_| AuthHookError::new("the request URI is not a URL"))?;
                    let proof = prover
                        .proof(request.method.as_str(), &url, Some(&access))
                        .map_err(|e| {
                            AuthHookError::with_source("could not sign a DPoP proof", e)
                        })?;
                    request.headers.insert(
                        crate::extensions::dpop::DPOP_HEADER,
                        HeaderValue::try_from(proof)
                            .map_err(|_| AuthHookError::new("invalid DPoP proof header"))?,
                    );
                    Some(format!("DPoP {access}"))
                }
                (None, access) => access.map(|a| format!("Bearer {a}")),
                (Some(_), None) => None,
            };
            if let Some(token) = token {
                let mut value = HeaderValue::try_from(token).map_err(|_| {
                    AuthHookError::new(
                        "the access token contains characters not allowed in a header",
                    )
                })?;
                value.set_sensitive(true);
                request.headers.insert(AUTHORIZATION, value);
            }
            Ok(())
        })
    }

    fn on_unauthorized<'a>(
        &'a self,
        challenge: &'a Challenge,
    ) -> BoxFuture<'a, Result<Retry, AuthHookError>> {
        Box::pin(async move {
            if let Some(prover) = &self.inner.config.dpop {
                let nonce_challenge = challenge.status() == http::StatusCode::UNAUTHORIZED
                    && challenge
                        .www_authenticate_str()
                        .any(|v| v.contains("use_dpop_nonce"));
                if let Ok(url) = Url::parse(&challenge.uri().to_string()) {
                    if prover.learn_nonce(&url, challenge.headers()) && nonce_challenge {
                        return Ok(Retry::ResendWithNonce);
                    }
                }
            }
            self.handle_rejection(challenge).await.map_err(hook_error)
        })
    }
}
