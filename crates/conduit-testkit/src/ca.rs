//! [`TestCa`]: a certificate authority for mTLS tests, speaking the DataGrout CA's JSON.
//!
//! Routes (on both listeners of a gateway configured with [`GatewayConfig::mtls`](crate::GatewayConfig::mtls)):
//!
//! * `POST /identity/register` — `Authorization: Bearer <accepted token>`,
//!   `{"public_key_pem", "name"}` → `{id, name, cert_pem, fingerprint, registered_at,
//!   valid_until, ca_cert_pem}` (`ca_cert_pem` can be switched off);
//! * `POST /identity/rotate` — same body, authenticated by the client certificate (so only on
//!   the HTTPS listener); answers 401 without one;
//! * `GET /ca.pem` — the CA certificate;
//! * `POST /onramp` (`{agent_name, access_code?}` → `{session_token}`) and
//!   `POST /onramp/complete` (Bearer session token → client credentials);
//! * `POST /oauth/token` — `client_credentials` for the registered client, whose tokens are
//!   then accepted by `/identity/register`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{Method, Response, StatusCode};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SubjectPublicKeyInfo,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::http_util::{json, text, Body};
use crate::router::HttpRequest;
use crate::state::lock;

/// The client certificate a TLS connection presented, as a request extension.
#[derive(Clone, Debug)]
pub(crate) struct PeerCertificate(pub(crate) Vec<u8>);

/// One certificate the CA issued through its endpoints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedCertificate {
    /// `"register"` or `"rotate"`.
    pub kind: &'static str,
    /// The `id` answered.
    pub id: String,
    /// The `name` requested.
    pub name: String,
    /// SHA-256 of the issued certificate (lowercase hex).
    pub fingerprint: String,
    /// For rotations: the fingerprint of the client certificate that authenticated the call.
    pub presented: Option<String>,
}

/// A request that arrived on the HTTPS listener, with the client certificate it came with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MtlsRequest {
    /// The request path.
    pub path: String,
    /// SHA-256 (lowercase hex) of the presented client certificate.
    pub client_fingerprint: String,
}

struct Inner {
    key: KeyPair,
    params: CertificateParams,
    cert_pem: String,
    cert_der: Vec<u8>,
    settings: Mutex<Settings>,
    log: Mutex<Log>,
}

struct Settings {
    lifetime: Duration,
    include_ca: bool,
    tokens: HashSet<String>,
    clients: HashMap<String, String>,
    access_code: Option<String>,
    https_base: Option<String>,
}

#[derive(Default)]
struct Log {
    issued: Vec<IssuedCertificate>,
    mtls: Vec<MtlsRequest>,
    onramp_sessions: HashSet<String>,
    next_id: u64,
}

/// A test certificate authority (ECDSA P-256, made with rcgen). Clones share state.
#[derive(Clone)]
pub struct TestCa {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

fn other(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn offset(unix: i64) -> std::io::Result<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp(unix).map_err(other)
}

fn unix_of(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

/// SHA-256 of DER bytes as lowercase hex.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl TestCa {
    /// A new CA named `CN=Conduit Test CA`. Issued certificates live 30 days unless
    /// [`set_cert_lifetime`](Self::set_cert_lifetime) says otherwise. It accepts no bearer token
    /// until [`accept_token`](Self::accept_token) or the client registered with
    /// [`client_credentials`](Self::client_credentials) gets one.
    pub fn new() -> std::io::Result<TestCa> {
        Self::named("Conduit Test CA")
    }

    /// A new CA with the given common name.
    pub fn named(common_name: &str) -> std::io::Result<TestCa> {
        let key = KeyPair::generate().map_err(other)?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, common_name);
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.not_before = offset(now_unix() - 3600)?;
        params.not_after = offset(now_unix() + 10 * 365 * 86_400)?;
        let cert = params.self_signed(&key).map_err(other)?;
        Ok(TestCa {
            inner: Arc::new(Inner {
                cert_pem: cert.pem(),
                cert_der: cert.der().to_vec(),
                key,
                params,
                settings: Mutex::new(Settings {
                    lifetime: Duration::from_secs(30 * 86_400),
                    include_ca: true,
                    tokens: HashSet::new(),
                    clients: HashMap::new(),
                    access_code: None,
                    https_base: None,
                }),
                log: Mutex::new(Log::default()),
            }),
        })
    }

    /// The CA certificate (PEM).
    pub fn ca_pem(&self) -> String {
        self.inner.cert_pem.clone()
    }

    /// The CA certificate (DER).
    pub fn ca_der(&self) -> Vec<u8> {
        self.inner.cert_der.clone()
    }

    /// Accepts `token` as the bearer of `/identity/register`.
    pub fn accept_token(&self, token: impl Into<String>) -> &Self {
        lock(&self.inner.settings).tokens.insert(token.into());
        self
    }

    /// Registers an OAuth client for `/oauth/token` (grant `client_credentials`).
    pub fn client_credentials(
        &self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> &Self {
        lock(&self.inner.settings)
            .clients
            .insert(client_id.into(), client_secret.into());
        self
    }

    /// Requires this `access_code` in `/onramp` requests (default: none required).
    pub fn onramp_access_code(&self, code: impl Into<String>) -> &Self {
        lock(&self.inner.settings).access_code = Some(code.into());
        self
    }

    /// How long certificates issued from now on are valid (short lifetimes test rotation).
    pub fn set_cert_lifetime(&self, lifetime: Duration) -> &Self {
        lock(&self.inner.settings).lifetime = lifetime;
        self
    }

    /// Whether responses carry `ca_cert_pem` (default true; false makes clients fetch
    /// `/ca.pem`).
    pub fn include_ca_in_responses(&self, include: bool) -> &Self {
        lock(&self.inner.settings).include_ca = include;
        self
    }

    /// Every certificate issued through the endpoints, in order.
    pub fn issued(&self) -> Vec<IssuedCertificate> {
        lock(&self.inner.log).issued.clone()
    }

    /// Every request received on the HTTPS listener, with its client certificate.
    pub fn mtls_requests(&self) -> Vec<MtlsRequest> {
        lock(&self.inner.log).mtls.clone()
    }

    /// Issues a client certificate and a fresh key directly (no endpoint), valid from
    /// `not_before` to `not_after` — e.g. an already expired one. Returns `(cert_pem, key_pem)`.
    pub fn issue_client_cert(
        &self,
        name: &str,
        not_before: SystemTime,
        not_after: SystemTime,
    ) -> std::io::Result<(String, String)> {
        let key = KeyPair::generate().map_err(other)?;
        let cert = self.sign_client(&key, name, unix_of(not_before), unix_of(not_after))?;
        Ok((cert.pem(), key.serialize_pem()))
    }

    /// A server certificate for `127.0.0.1` and `localhost`: `(cert_pem, key_pem)`.
    pub(crate) fn server_cert(&self) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
        let key = KeyPair::generate().map_err(other)?;
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).map_err(other)?;
        params
            .subject_alt_names
            .push(SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, "conduit test gateway");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.not_before = offset(now_unix() - 3600)?;
        params.not_after = offset(now_unix() + 30 * 86_400)?;
        let issuer = Issuer::from_params(&self.inner.params, &self.inner.key);
        let cert = params.signed_by(&key, &issuer).map_err(other)?;
        Ok((cert.pem().into_bytes(), key.serialize_pem().into_bytes()))
    }

    fn sign_client(
        &self,
        public_key: &impl rcgen::PublicKeyData,
        name: &str,
        not_before: i64,
        not_after: i64,
    ) -> std::io::Result<rcgen::Certificate> {
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.serial_number = Some(rand::random::<u64>().into());
        params.not_before = offset(not_before)?;
        params.not_after = offset(not_after)?;
        let issuer = Issuer::from_params(&self.inner.params, &self.inner.key);
        params.signed_by(public_key, &issuer).map_err(other)
    }

    pub(crate) fn set_https_base(&self, base: String) {
        lock(&self.inner.settings).https_base = Some(base);
    }

    pub(crate) fn record_mtls(&self, path: &str, client_der: &[u8]) {
        lock(&self.inner.log).mtls.push(MtlsRequest {
            path: path.to_owned(),
            client_fingerprint: fingerprint(client_der),
        });
    }

    /// Whether `path` is one of the CA's routes.
    pub(crate) fn owns(path: &str) -> bool {
        matches!(
            path,
            "/identity/register"
                | "/identity/rotate"
                | "/ca.pem"
                | "/onramp"
                | "/onramp/complete"
                | "/oauth/token"
        )
    }

    pub(crate) fn handle(&self, req: &HttpRequest) -> Response<Body> {
        let path = req.parts.uri.path();
        match (&req.parts.method, path) {
            (&Method::GET, "/ca.pem") => crate::http_util::finish(
                Response::builder()
                    .status(StatusCode::OK)
                    .header(http::header::CONTENT_TYPE, "application/x-pem-file"),
                crate::http_util::full(self.ca_pem()),
            ),
            (&Method::POST, "/identity/register") => {
                let token = bearer(req);
                let ok = token.is_some_and(|t| lock(&self.inner.settings).tokens.contains(t));
                if !ok {
                    return text(
                        StatusCode::UNAUTHORIZED,
                        "registration needs an accepted bearer token",
                    );
                }
                self.issue(req, "register", None)
            }
            (&Method::POST, "/identity/rotate") => {
                match req.parts.extensions.get::<PeerCertificate>() {
                    Some(peer) => {
                        let presented = fingerprint(&peer.0);
                        self.issue(req, "rotate", Some(presented))
                    }
                    None => text(
                        StatusCode::UNAUTHORIZED,
                        "rotation must be authenticated with the current client certificate (mTLS)",
                    ),
                }
            }
            (&Method::POST, "/onramp") => self.onramp_start(req),
            (&Method::POST, "/onramp/complete") => self.onramp_complete(req),
            (&Method::POST, "/oauth/token") => self.token(req),
            _ => text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed"),
        }
    }

    fn issue(
        &self,
        req: &HttpRequest,
        kind: &'static str,
        presented: Option<String>,
    ) -> Response<Body> {
        let Some(body) = req.json.as_ref() else {
            return text(StatusCode::BAD_REQUEST, "expected a JSON body");
        };
        let (Some(pem), Some(name)) = (
            body.get("public_key_pem").and_then(Value::as_str),
            body.get("name").and_then(Value::as_str),
        ) else {
            return text(
                StatusCode::BAD_REQUEST,
                "`public_key_pem` and `name` are required",
            );
        };
        let public_key = match SubjectPublicKeyInfo::from_pem(pem) {
            Ok(k) => k,
            Err(e) => return text(StatusCode::BAD_REQUEST, format!("bad public_key_pem: {e}")),
        };
        let (lifetime, include_ca) = {
            let s = lock(&self.inner.settings);
            (s.lifetime, s.include_ca)
        };
        let now = now_unix();
        let not_after = now + lifetime.as_secs() as i64;
        let cert = match self.sign_client(&public_key, name, now - 60, not_after) {
            Ok(c) => c,
            Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        };
        let fp = fingerprint(cert.der());
        let id = {
            let mut log = lock(&self.inner.log);
            log.next_id += 1;
            let id = format!("ident-{}", log.next_id);
            log.issued.push(IssuedCertificate {
                kind,
                id: id.clone(),
                name: name.to_owned(),
                fingerprint: fp.clone(),
                presented,
            });
            id
        };
        let mut answer = json!({
            "id": id,
            "name": name,
            "cert_pem": cert.pem(),
            "fingerprint": fp,
            "registered_at": now,
            "valid_until": not_after,
        });
        if include_ca {
            answer["ca_cert_pem"] = json!(self.ca_pem());
        }
        json(StatusCode::OK, &answer)
    }

    fn onramp_start(&self, req: &HttpRequest) -> Response<Body> {
        let Some(body) = req.json.as_ref() else {
            return text(StatusCode::BAD_REQUEST, "expected a JSON body");
        };
        if body.get("agent_name").and_then(Value::as_str).is_none() {
            return text(StatusCode::BAD_REQUEST, "`agent_name` is required");
        }
        let required = lock(&self.inner.settings).access_code.clone();
        if let Some(code) = required {
            if body.get("access_code").and_then(Value::as_str) != Some(code.as_str()) {
                return text(StatusCode::FORBIDDEN, "invalid access code");
            }
        }
        let session = format!("onramp-{:032x}", rand::random::<u128>());
        lock(&self.inner.log)
            .onramp_sessions
            .insert(session.clone());
        json(StatusCode::OK, &json!({ "session_token": session }))
    }

    fn onramp_complete(&self, req: &HttpRequest) -> Response<Body> {
        let Some(token) = bearer(req) else {
            return text(StatusCode::UNAUTHORIZED, "a session token is required");
        };
        if !lock(&self.inner.log).onramp_sessions.remove(token) {
            return text(StatusCode::UNAUTHORIZED, "unknown session token");
        }
        let client_id = format!("client-{:016x}", rand::random::<u64>());
        let client_secret = format!("secret-{:032x}", rand::random::<u128>());
        self.client_credentials(client_id.clone(), client_secret.clone());
        let host = req
            .parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1");
        let scheme = if req.parts.extensions.get::<PeerCertificate>().is_some() {
            "https"
        } else {
            "http"
        };
        let base = format!("{scheme}://{host}");
        let mcp_base = lock(&self.inner.settings)
            .https_base
            .clone()
            .unwrap_or_else(|| base.clone());
        json(
            StatusCode::OK,
            &json!({
                "client_id": client_id,
                "client_secret": client_secret,
                "token_url": format!("{base}/oauth/token"),
                "scopes": ["mcp"],
                "expires_in": 3600,
                "mcp_url": format!("{mcp_base}/mcp"),
            }),
        )
    }

    fn token(&self, req: &HttpRequest) -> Response<Body> {
        let form = parse_form(&req.body);
        let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        if get("grant_type") != Some("client_credentials") {
            return json(
                StatusCode::BAD_REQUEST,
                &json!({"error": "unsupported_grant_type"}),
            );
        }
        let (Some(id), Some(secret)) = (get("client_id"), get("client_secret")) else {
            return json(
                StatusCode::BAD_REQUEST,
                &json!({"error": "invalid_request"}),
            );
        };
        let valid = lock(&self.inner.settings)
            .clients
            .get(id)
            .map(String::as_str)
            == Some(secret);
        if !valid {
            return json(
                StatusCode::UNAUTHORIZED,
                &json!({"error": "invalid_client"}),
            );
        }
        let token = format!("at-{:032x}", rand::random::<u128>());
        self.accept_token(token.clone());
        json(
            StatusCode::OK,
            &json!({"access_token": token, "token_type": "Bearer", "expires_in": 3600}),
        )
    }
}

fn bearer(req: &HttpRequest) -> Option<&str> {
    req.parts
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// Parses `application/x-www-form-urlencoded`.
fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
