use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use http::header::{HeaderName, AUTHORIZATION, HOST, LOCATION};
use http::{Method, Response, StatusCode};
use serde_json::{json, Value};
use sha2::Digest as _;

use crate::http_util::{empty, finish, json as json_response, json_with_headers, Body};
use crate::router::HttpRequest;
use crate::state::{lock, State};

/// Configuration of the test authorization server.
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    pub(crate) protect_mcp: bool,
    pub(crate) protect_ws: bool,
    pub(crate) token_lifetime: Duration,
    pub(crate) advertised_expires_in: Option<u64>,
    pub(crate) rotate_refresh_tokens: bool,
    pub(crate) clients: Vec<(String, Option<String>)>,
    pub(crate) scopes_supported: Vec<String>,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        OAuthConfig {
            protect_mcp: true,
            protect_ws: false,
            token_lifetime: Duration::from_secs(3600),
            advertised_expires_in: None,
            rotate_refresh_tokens: true,
            clients: vec![("test-client".into(), Some("test-secret".into()))],
            scopes_supported: vec!["mcp".into(), "tools".into()],
        }
    }
}

impl OAuthConfig {
    /// Whether `/mcp` requires a token (default `true`).
    #[must_use]
    pub fn protect_mcp(mut self, on: bool) -> Self {
        self.protect_mcp = on;
        self
    }

    /// Whether the WebSocket upgrade at `/ws` requires a token too (default `false`): without
    /// a live one the upgrade is answered 401 with the same challenge as `/mcp`.
    #[must_use]
    pub fn protect_ws(mut self, on: bool) -> Self {
        self.protect_ws = on;
        self
    }

    /// How long issued access tokens live (default one hour); `expires_in` says the same
    /// unless [`advertise_expires_in`](Self::advertise_expires_in) overrides it.
    #[must_use]
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = lifetime;
        self
    }

    /// The `expires_in` put in token responses, independently of the real lifetime.
    #[must_use]
    pub fn advertise_expires_in(mut self, seconds: u64) -> Self {
        self.advertised_expires_in = Some(seconds);
        self
    }

    /// Whether a refresh issues a new refresh token and revokes the old one (default `true`);
    /// when off, refresh responses omit `refresh_token` and the old one stays valid.
    #[must_use]
    pub fn rotate_refresh_tokens(mut self, on: bool) -> Self {
        self.rotate_refresh_tokens = on;
        self
    }

    /// Adds a pre-registered client (`secret` `None` for a public client). The default client
    /// is `test-client` / `test-secret`.
    #[must_use]
    pub fn client(mut self, id: impl Into<String>, secret: Option<&str>) -> Self {
        self.clients.push((id.into(), secret.map(str::to_owned)));
        self
    }
}

/// One request to a token endpoint, as received.
#[derive(Debug, Clone)]
pub struct TokenRequestRecord {
    /// The path (`/token` or `/servers/<id>/oauth/token`).
    pub path: String,
    /// `grant_type`.
    pub grant_type: String,
    /// The form fields in wire order.
    pub form: Vec<(String, String)>,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The HTTP status answered.
    pub status: u16,
}

struct Code {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    scope: Option<String>,
}

#[derive(Default)]
struct Inner {
    tokens: HashMap<String, Instant>,
    refresh: HashMap<String, (String, Option<String>)>,
    codes: HashMap<String, Code>,
    clients: HashMap<String, Option<String>>,
    log: Vec<TokenRequestRecord>,
    counter: u64,
}

/// The authorization server's state.
pub(crate) struct AuthServer {
    config: Option<OAuthConfig>,
    inner: Mutex<Inner>,
}

impl AuthServer {
    pub(crate) fn new(config: Option<OAuthConfig>) -> Self {
        let mut inner = Inner::default();
        if let Some(c) = &config {
            for (id, secret) in &c.clients {
                inner.clients.insert(id.clone(), secret.clone());
            }
        }
        AuthServer {
            config,
            inner: Mutex::new(inner),
        }
    }

    pub(crate) fn token_requests(&self) -> Vec<TokenRequestRecord> {
        lock(&self.inner).log.clone()
    }

    pub(crate) fn revoke_all(&self) {
        lock(&self.inner).tokens.clear();
    }

    fn mint(&self, inner: &mut Inner, prefix: &str) -> String {
        inner.counter += 1;
        let random: [u8; 12] = rand::random();
        format!(
            "{prefix}-{}-{}",
            inner.counter,
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random)
        )
    }
}

fn base_url(req: &HttpRequest) -> String {
    let host = req
        .parts
        .headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response<Body> {
    json_response(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

/// Answers the OAuth routes; `None` for any other path (or when OAuth is off).
pub(crate) fn route(state: &State, req: &HttpRequest) -> Option<Response<Body>> {
    let server = &state.oauth;
    let config = server.config.as_ref()?;
    let path = req.parts.uri.path();
    let base = base_url(req);
    let is_token_path = path == "/token"
        || path == "/oauth/token"
        || (path.starts_with("/servers/")
            && path.ends_with("/oauth/token")
            && path.split('/').count() == 5);
    Some(match path {
        "/.well-known/oauth-protected-resource" | "/.well-known/oauth-protected-resource/mcp" => {
            json_response(
                StatusCode::OK,
                &json!({
                    "resource": format!("{base}/mcp"),
                    "authorization_servers": [base],
                    "scopes_supported": config.scopes_supported,
                    "bearer_methods_supported": ["header"],
                }),
            )
        }
        "/.well-known/oauth-authorization-server" | "/.well-known/openid-configuration" => {
            json_response(
                StatusCode::OK,
                &json!({
                    "issuer": base,
                    "authorization_endpoint": format!("{base}/authorize"),
                    "token_endpoint": format!("{base}/token"),
                    "registration_endpoint": format!("{base}/register"),
                    "response_types_supported": ["code"],
                    "grant_types_supported": [
                        "authorization_code", "refresh_token", "client_credentials",
                        "urn:ietf:params:oauth:grant-type:token-exchange"
                    ],
                    "code_challenge_methods_supported": ["S256"],
                    "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "none"],
                    "scopes_supported": config.scopes_supported,
                    "authorization_response_iss_parameter_supported": true,
                }),
            )
        }
        "/register" if req.parts.method == Method::POST => register(server, req),
        "/authorize" if req.parts.method == Method::GET => authorize(server, req, &base),
        _ if is_token_path && req.parts.method == Method::POST => token(server, config, req),
        _ => return None,
    })
}

/// When `/mcp` (or `/ws`) is protected and the request has no live token: the 401 to answer.
pub(crate) fn guard(state: &State, req: &HttpRequest) -> Option<Response<Body>> {
    let config = state.oauth.config.as_ref()?;
    let protected = match req.parts.uri.path() {
        "/mcp" => config.protect_mcp,
        "/ws" => config.protect_ws,
        _ => false,
    };
    if !protected {
        return None;
    }
    let presented = req
        .parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let live = presented.as_ref().is_some_and(|t| {
        lock(&state.oauth.inner)
            .tokens
            .get(t)
            .is_some_and(|exp| Instant::now() < *exp)
    });
    if live {
        return None;
    }
    let base = base_url(req);
    let mut challenge = format!(
        r#"Bearer resource_metadata="{base}/.well-known/oauth-protected-resource/mcp", scope="mcp""#
    );
    if presented.is_some() {
        challenge.push_str(r#", error="invalid_token""#);
    }
    Some(json_with_headers(
        StatusCode::UNAUTHORIZED,
        &json!({"error": "unauthorized"}),
        &[(http::header::WWW_AUTHENTICATE, challenge)],
    ))
}

fn register(server: &AuthServer, req: &HttpRequest) -> Response<Body> {
    let Some(meta) = req.json.as_ref().and_then(Value::as_object) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client_metadata",
            "body must be a JSON object",
        );
    };
    let mut inner = lock(&server.inner);
    let client_id = server.mint(&mut inner, "client");
    let public = meta
        .get("token_endpoint_auth_method")
        .and_then(Value::as_str)
        == Some("none");
    let secret = (!public).then(|| server.mint(&mut inner, "secret"));
    inner.clients.insert(client_id.clone(), secret.clone());
    let mut out = meta.clone();
    out.insert("client_id".into(), json!(client_id));
    if let Some(s) = secret {
        out.insert("client_secret".into(), json!(s));
    }
    json_response(StatusCode::CREATED, &Value::Object(out))
}

fn query_pairs(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn authorize(server: &AuthServer, req: &HttpRequest, base: &str) -> Response<Body> {
    let q: HashMap<String, String> = query_pairs(req.parts.uri.query().unwrap_or(""))
        .into_iter()
        .collect();
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let (client_id, redirect_uri) = (get("client_id"), get("redirect_uri"));
    if !lock(&server.inner).clients.contains_key(&client_id) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "unknown client_id",
        );
    }
    if get("response_type") != "code" || redirect_uri.is_empty() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "response_type=code and redirect_uri are required",
        );
    }
    if get("code_challenge_method") != "S256" || get("code_challenge").is_empty() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "PKCE S256 is required",
        );
    }
    let mut inner = lock(&server.inner);
    let code = server.mint(&mut inner, "code");
    inner.codes.insert(
        code.clone(),
        Code {
            client_id,
            redirect_uri: redirect_uri.clone(),
            challenge: get("code_challenge"),
            scope: q.get("scope").cloned(),
        },
    );
    let mut location = redirect_uri;
    location.push(if location.contains('?') { '&' } else { '?' });
    location.push_str(
        &url::form_urlencoded::Serializer::new(String::new())
            .append_pair("code", &code)
            .append_pair("state", &get("state"))
            .append_pair("iss", base)
            .finish(),
    );
    finish(
        Response::builder()
            .status(StatusCode::FOUND)
            .header(LOCATION, location),
        empty(),
    )
}

fn token(server: &AuthServer, config: &OAuthConfig, req: &HttpRequest) -> Response<Body> {
    let form = query_pairs(&String::from_utf8_lossy(&req.body));
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let authorization = req
        .parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let grant_type = field("grant_type").unwrap_or_default();
    let response = issue(
        server,
        config,
        &grant_type,
        &field,
        authorization.as_deref(),
    );
    lock(&server.inner).log.push(TokenRequestRecord {
        path: req.parts.uri.path().to_owned(),
        grant_type,
        form: form.clone(),
        authorization,
        status: response.status().as_u16(),
    });
    response
}

/// The client authenticated by Basic or by the body; `Err` is the error response.
fn authenticate(
    server: &AuthServer,
    field: &dyn Fn(&str) -> Option<String>,
    authorization: Option<&str>,
) -> Result<String, Box<Response<Body>>> {
    let invalid = || {
        Err(Box::new(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        )))
    };
    let (id, secret) = match authorization.and_then(|a| a.strip_prefix("Basic ")) {
        Some(b64) => {
            let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b64) else {
                return invalid();
            };
            let raw = String::from_utf8_lossy(&raw).into_owned();
            let Some((id, secret)) = raw.split_once(':') else {
                return invalid();
            };
            let decode = |s: &str| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            (decode(id), Some(decode(secret)))
        }
        None => match field("client_id") {
            Some(id) => (id, field("client_secret")),
            None => return invalid(),
        },
    };
    match lock(&server.inner).clients.get(&id) {
        Some(Some(expected)) if secret.as_deref() == Some(expected.as_str()) => Ok(id),
        Some(None) => Ok(id),
        _ => invalid(),
    }
}

fn issue(
    server: &AuthServer,
    config: &OAuthConfig,
    grant_type: &str,
    field: &dyn Fn(&str) -> Option<String>,
    authorization: Option<&str>,
) -> Response<Body> {
    let client_id = match authenticate(server, field, authorization) {
        Ok(id) => id,
        Err(resp) => return *resp,
    };
    let mut inner = lock(&server.inner);
    let mut refresh_out = None;
    let mut issued_token_type = None;
    let scope;
    match grant_type {
        "client_credentials" => scope = field("scope"),
        "authorization_code" => {
            let Some(code) = field("code").and_then(|c| inner.codes.remove(&c)) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "unknown or used code",
                );
            };
            let verifier = field("code_verifier").unwrap_or_default();
            let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(sha2::Sha256::digest(verifier.as_bytes()));
            if code.client_id != client_id
                || Some(code.redirect_uri.as_str()) != field("redirect_uri").as_deref()
                || computed != code.challenge
            {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "code, client, redirect_uri or PKCE verifier mismatch",
                );
            }
            scope = code.scope;
            let rt = server.mint(&mut inner, "rt");
            inner
                .refresh
                .insert(rt.clone(), (client_id.clone(), scope.clone()));
            refresh_out = Some(rt);
        }
        "refresh_token" => {
            let presented = field("refresh_token").unwrap_or_default();
            let Some((owner, granted)) = inner.refresh.get(&presented).cloned() else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "unknown or revoked refresh token",
                );
            };
            if owner != client_id {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "refresh token of another client",
                );
            }
            scope = granted.clone();
            if config.rotate_refresh_tokens {
                inner.refresh.remove(&presented);
                let rt = server.mint(&mut inner, "rt");
                inner.refresh.insert(rt.clone(), (owner, granted));
                refresh_out = Some(rt);
            }
        }
        "urn:ietf:params:oauth:grant-type:token-exchange" => {
            let subject = field("subject_token").unwrap_or_default();
            let live = inner
                .tokens
                .get(&subject)
                .is_some_and(|e| Instant::now() < *e);
            if subject.is_empty() || (!live && !subject.starts_with("external-")) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "the subject token is not valid",
                );
            }
            scope = field("scope");
            issued_token_type = Some(
                field("requested_token_type")
                    .unwrap_or_else(|| "urn:ietf:params:oauth:token-type:access_token".into()),
            );
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant type not supported",
            );
        }
    }
    let token = server.mint(&mut inner, "at");
    inner
        .tokens
        .insert(token.clone(), Instant::now() + config.token_lifetime);
    let expires_in = config
        .advertised_expires_in
        .unwrap_or(config.token_lifetime.as_secs());
    let mut body = json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": expires_in,
    });
    if let Some(rt) = refresh_out {
        body["refresh_token"] = json!(rt);
    }
    if let Some(s) = scope {
        body["scope"] = json!(s);
    }
    if let Some(t) = issued_token_type {
        body["issued_token_type"] = json!(t);
    }
    json_with_headers(
        StatusCode::OK,
        &body,
        &[(HeaderName::from_static("cache-control"), "no-store".into())],
    )
}
