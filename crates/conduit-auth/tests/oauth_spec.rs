//! The MCP authorization flow against a real authorization server and protected resource on
//! 127.0.0.1, started by each test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use conduit_auth::oauth::{
    HeadlessRedirect, OAuthAuthorizer, OAuthConfig, OAuthError, OAuthErrorKind,
};
use conduit_http::{HttpClient, HttpError};
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;

#[derive(Clone, Copy, PartialEq)]
enum Iss {
    Correct,
    Wrong,
    Omit,
}

/// How the test authorization server behaves.
#[derive(Clone)]
struct Behaviour {
    pkce_methods: Option<Vec<&'static str>>,
    iss: Iss,
    iss_advertised: bool,
    wrong_state: bool,
    cimd: bool,
    registration: bool,
    prm: bool,
    prm_resource: Option<String>,
    code_expires_in: u64,
    /// Scope required for `/mcp/admin` (403 insufficient_scope otherwise).
    admin_scope: &'static str,
    as_scopes: Option<Vec<&'static str>>,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            pkce_methods: Some(vec!["S256"]),
            iss: Iss::Correct,
            iss_advertised: true,
            wrong_state: false,
            cimd: false,
            registration: true,
            prm: true,
            prm_resource: None,
            code_expires_in: 3600,
            admin_scope: "admin",
            as_scopes: None,
        }
    }
}

#[derive(Default)]
struct Log {
    registrations: Vec<Value>,
    authorizations: Vec<HashMap<String, String>>,
    token_requests: Vec<HashMap<String, String>>,
    /// token -> scopes
    tokens: HashMap<String, String>,
    counter: u32,
}

struct Server {
    base: String,
    log: Arc<Mutex<Log>>,
}

impl Server {
    async fn start(behaviour: Behaviour) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let log = Arc::new(Mutex::new(Log::default()));
        let (b, l, u) = (Arc::new(behaviour), log.clone(), base.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (b, l, u) = (b.clone(), l.clone(), u.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req| handle(b.clone(), l.clone(), u.clone(), req));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Server { base, log }
    }

    fn mcp(&self) -> String {
        format!("{}/mcp", self.base)
    }

    fn grants(&self, grant_type: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .token_requests
            .iter()
            .filter(|r| r.get("grant_type").map(String::as_str) == Some(grant_type))
            .count()
    }
}

fn json_response(status: StatusCode, v: Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(v.to_string())))
        .unwrap()
}

fn form(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

async fn handle(
    b: Arc<Behaviour>,
    log: Arc<Mutex<Log>>,
    base: String,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let query: HashMap<String, String> = req
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let auth_header = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let issuer = base.clone();
    let prm_url = format!("{base}/.well-known/oauth-protected-resource/mcp");
    let resp = match path.as_str() {
        "/.well-known/oauth-protected-resource/mcp" if b.prm => json_response(
            StatusCode::OK,
            json!({
                "resource": b.prm_resource.clone().unwrap_or_else(|| format!("{base}/mcp")),
                "authorization_servers": [issuer],
            }),
        ),
        "/.well-known/oauth-authorization-server" => {
            let mut m = json!({
                "issuer": issuer,
                "authorization_endpoint": format!("{base}/authorize"),
                "token_endpoint": format!("{base}/token"),
                "response_types_supported": ["code"],
                "token_endpoint_auth_methods_supported": ["none"],
                "authorization_response_iss_parameter_supported": b.iss_advertised,
                "client_id_metadata_document_supported": b.cimd,
            });
            if let Some(p) = &b.pkce_methods {
                m["code_challenge_methods_supported"] = json!(p);
            }
            if b.registration {
                m["registration_endpoint"] = json!(format!("{base}/register"));
            }
            if let Some(s) = &b.as_scopes {
                m["scopes_supported"] = json!(s);
            }
            json_response(StatusCode::OK, m)
        }
        "/register" => {
            let v: Value = serde_json::from_slice(&body).unwrap();
            log.lock().unwrap().registrations.push(v);
            json_response(StatusCode::CREATED, json!({"client_id": "dyn-client"}))
        }
        "/authorize" => {
            log.lock().unwrap().authorizations.push(query.clone());
            let mut loc = url::Url::parse(&query["redirect_uri"]).unwrap();
            {
                let mut q = loc.query_pairs_mut();
                q.append_pair(
                    "code",
                    &format!("code:{}", query.get("scope").cloned().unwrap_or_default()),
                );
                let state = if b.wrong_state {
                    "forged".to_owned()
                } else {
                    query["state"].clone()
                };
                q.append_pair("state", &state);
                match b.iss {
                    Iss::Correct => {
                        q.append_pair("iss", &issuer);
                    }
                    Iss::Wrong => {
                        q.append_pair("iss", "https://evil.example.com");
                    }
                    Iss::Omit => {}
                }
            }
            Response::builder()
                .status(StatusCode::FOUND)
                .header("location", loc.as_str())
                .body(Full::new(Bytes::new()))
                .unwrap()
        }
        "/token" => {
            let f = form(&body);
            let mut log = log.lock().unwrap();
            log.token_requests.push(f.clone());
            log.counter += 1;
            let token = format!("tok-{}", log.counter);
            let (scope, expires_in) = match f.get("grant_type").map(String::as_str) {
                Some("authorization_code") => (
                    f["code"].trim_start_matches("code:").to_owned(),
                    b.code_expires_in,
                ),
                _ => (String::new(), 3600),
            };
            let scope = scope
                .split(' ')
                .filter(|s| *s != "never")
                .collect::<Vec<_>>()
                .join(" ");
            let scope = if scope.is_empty() {
                log.tokens.values().last().cloned().unwrap_or_default()
            } else {
                scope
            };
            log.tokens.insert(token.clone(), scope.clone());
            json_response(
                StatusCode::OK,
                json!({
                    "access_token": token,
                    "token_type": "Bearer",
                    "expires_in": expires_in,
                    "refresh_token": format!("refresh-{}", log.counter),
                    "scope": scope,
                }),
            )
        }
        "/mcp" | "/mcp/admin" => {
            let token = auth_header
                .as_deref()
                .and_then(|h| h.strip_prefix("Bearer "))
                .map(str::to_owned);
            let scopes = token.and_then(|t| log.lock().unwrap().tokens.get(&t).cloned());
            match scopes {
                None => Response::builder()
                    .status(StatusCode::UNAUTHORIZED)
                    .header(
                        "www-authenticate",
                        format!(r#"Bearer resource_metadata="{prm_url}", scope="read""#),
                    )
                    .body(Full::new(Bytes::new()))
                    .unwrap(),
                Some(s) if path == "/mcp/admin" && !s.split(' ').any(|x| x == b.admin_scope) => {
                    Response::builder()
                        .status(StatusCode::FORBIDDEN)
                        .header(
                            "www-authenticate",
                            format!(
                                r#"Bearer error="insufficient_scope", scope="{}", resource_metadata="{prm_url}""#,
                                b.admin_scope
                            ),
                        )
                        .body(Full::new(Bytes::new()))
                        .unwrap()
                }
                Some(_) => json_response(StatusCode::OK, json!({"ok": true})),
            }
        }
        _ => json_response(StatusCode::NOT_FOUND, json!({"error": "not_found"})),
    };
    Ok(resp)
}

fn client_for(server: &Server, config: OAuthConfig) -> (HttpClient, Arc<OAuthAuthorizer>) {
    let http = HttpClient::with_defaults().unwrap();
    let config = config.handler(Arc::new(HeadlessRedirect::new(
        "http://127.0.0.1:9/callback",
    )));
    let auth = Arc::new(OAuthAuthorizer::new(http.clone(), &server.mcp(), config).unwrap());
    (http.with_authorizer(auth.clone()), auth)
}

async fn post(http: &HttpClient, url: &str) -> Result<StatusCode, HttpError> {
    let req = http::Request::post(url)
        .body(Bytes::from_static(b"{}"))
        .unwrap();
    http.send(req).await.map(|r| r.status())
}

fn kind(err: &HttpError) -> Option<OAuthErrorKind> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(o) = e.downcast_ref::<OAuthError>() {
            return Some(o.kind());
        }
        cur = e.source();
    }
    None
}

#[tokio::test]
async fn dynamic_registration_pkce_resource_and_iss() {
    let server = Server::start(Behaviour::default()).await;
    let (http, auth) = client_for(&server, OAuthConfig::new().client_name("t"));
    assert_eq!(post(&http, &server.mcp()).await.unwrap(), StatusCode::OK);
    let log = server.log.lock().unwrap();
    let reg = &log.registrations[0];
    assert_eq!(reg["client_name"], "t");
    assert_eq!(reg["token_endpoint_auth_method"], "none");
    assert_eq!(
        reg["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(reg["application_type"], "native");
    let a = &log.authorizations[0];
    assert_eq!(a["client_id"], "dyn-client");
    assert_eq!(a["code_challenge_method"], "S256");
    assert_eq!(a["code_challenge"].len(), 43);
    assert_eq!(a["resource"], server.mcp());
    assert_eq!(a["scope"], "read");
    let t = &log.token_requests[0];
    assert_eq!(t["resource"], server.mcp());
    assert_eq!(t["code_verifier"].len(), 43);
    drop(log);
    let grant = auth.grant().unwrap();
    assert_eq!(grant.client_id, "dyn-client");
    assert!(grant.expires_at.is_some());
    assert!(
        !format!("{grant:?}").contains("tok-"),
        "tokens leak into Debug"
    );
}

#[tokio::test]
async fn pkce_not_advertised_is_refused_unless_opted_out() {
    let server = Server::start(Behaviour {
        pkce_methods: None,
        ..Default::default()
    })
    .await;
    let (http, _) = client_for(&server, OAuthConfig::new());
    let err = post(&http, &server.mcp()).await.unwrap_err();
    assert_eq!(kind(&err), Some(OAuthErrorKind::PkceUnsupported), "{err:?}");
    assert!(server.log.lock().unwrap().authorizations.is_empty());

    let (http, _) = client_for(&server, OAuthConfig::new().allow_unadvertised_pkce(true));
    assert_eq!(post(&http, &server.mcp()).await.unwrap(), StatusCode::OK);

    let server = Server::start(Behaviour {
        pkce_methods: Some(vec!["plain"]),
        ..Default::default()
    })
    .await;
    let (http, _) = client_for(&server, OAuthConfig::new().allow_unadvertised_pkce(true));
    let err = post(&http, &server.mcp()).await.unwrap_err();
    assert_eq!(kind(&err), Some(OAuthErrorKind::PkceUnsupported));
}

#[tokio::test]
async fn state_mismatch_never_exchanges_the_code() {
    let server = Server::start(Behaviour {
        wrong_state: true,
        ..Default::default()
    })
    .await;
    let (http, _) = client_for(&server, OAuthConfig::new());
    let err = post(&http, &server.mcp()).await.unwrap_err();
    assert_eq!(kind(&err), Some(OAuthErrorKind::StateMismatch));
    assert!(server.log.lock().unwrap().token_requests.is_empty());
}

#[tokio::test]
async fn iss_is_validated() {
    for (iss, advertised, ok) in [
        (Iss::Wrong, true, false),
        (Iss::Omit, true, false),
        (Iss::Wrong, false, false),
        (Iss::Omit, false, true),
        (Iss::Correct, true, true),
    ] {
        let server = Server::start(Behaviour {
            iss,
            iss_advertised: advertised,
            ..Default::default()
        })
        .await;
        let (http, _) = client_for(&server, OAuthConfig::new());
        let result = post(&http, &server.mcp()).await;
        if ok {
            assert_eq!(result.unwrap(), StatusCode::OK);
        } else {
            assert_eq!(
                kind(&result.unwrap_err()),
                Some(OAuthErrorKind::IssMismatch)
            );
            assert!(server.log.lock().unwrap().token_requests.is_empty());
        }
    }
}

#[tokio::test]
async fn client_id_metadata_document_is_preferred_to_registration() {
    let server = Server::start(Behaviour {
        cimd: true,
        ..Default::default()
    })
    .await;
    let url = "https://client.example/metadata.json";
    let (http, _) = client_for(&server, OAuthConfig::new().client_metadata_url(url));
    assert_eq!(post(&http, &server.mcp()).await.unwrap(), StatusCode::OK);
    let log = server.log.lock().unwrap();
    assert!(log.registrations.is_empty());
    assert_eq!(log.authorizations[0]["client_id"], url);
}

#[tokio::test]
async fn no_registration_possible_is_a_typed_error() {
    let server = Server::start(Behaviour {
        registration: false,
        ..Default::default()
    })
    .await;
    let (http, _) = client_for(&server, OAuthConfig::new());
    let err = post(&http, &server.mcp()).await.unwrap_err();
    assert_eq!(kind(&err), Some(OAuthErrorKind::NoRegistrationEndpoint));
}

#[tokio::test]
async fn discovery_failures_are_clear() {
    let server = Server::start(Behaviour {
        prm: false,
        ..Default::default()
    })
    .await;
    let (http, _) = client_for(&server, OAuthConfig::new().legacy_fallback(false));
    let err = post(&http, &server.mcp()).await.unwrap_err();
    assert_eq!(kind(&err), Some(OAuthErrorKind::Discovery));
    let text = format!("{:?}", err);
    assert!(text.contains("oauth-protected-resource/mcp"), "{text}");

    let server = Server::start(Behaviour {
        prm_resource: Some("https://evil.example.com/mcp".into()),
        ..Default::default()
    })
    .await;
    let (http, _) = client_for(&server, OAuthConfig::new());
    let err = post(&http, &server.mcp()).await.unwrap_err();
    assert_eq!(kind(&err), Some(OAuthErrorKind::ResourceMismatch));
    assert!(server.log.lock().unwrap().authorizations.is_empty());
}

#[tokio::test]
async fn step_up_requests_the_union_of_scopes_and_is_limited() {
    let server = Server::start(Behaviour::default()).await;
    let (http, _) = client_for(&server, OAuthConfig::new());
    assert_eq!(post(&http, &server.mcp()).await.unwrap(), StatusCode::OK);
    let admin = format!("{}/mcp/admin", server.base);
    assert_eq!(post(&http, &admin).await.unwrap(), StatusCode::OK);
    {
        let log = server.log.lock().unwrap();
        let scope = &log.authorizations[1]["scope"];
        assert!(
            scope.split(' ').any(|s| s == "admin") && scope.split(' ').any(|s| s == "read"),
            "{scope}"
        );
    }

    // A server that never accepts: the step-up stops after the limit.
    let server = Server::start(Behaviour {
        admin_scope: "never",
        ..Default::default()
    })
    .await;
    let (http, _) = client_for(&server, OAuthConfig::new().max_step_up(2));
    let admin = format!("{}/mcp/admin", server.base);
    let mut last = None;
    for _ in 0..5 {
        last = Some(post(&http, &admin).await.unwrap_err());
    }
    assert_eq!(
        kind(last.as_ref().unwrap()),
        Some(OAuthErrorKind::StepUpLimit)
    );
    // 1 initial authorization + 2 step-ups.
    assert_eq!(server.log.lock().unwrap().authorizations.len(), 3);
}

#[tokio::test]
async fn one_refresh_for_fifty_concurrent_calls_with_rotation() {
    let server = Server::start(Behaviour::default()).await;
    // A stored grant that has expired (as if loaded from the grant file).
    let first: conduit_auth::oauth::Grant = serde_json::from_value(json!({
        "access_token": "expired",
        "client_id": "dyn-client",
        "token_endpoint": format!("{}/token", server.base),
        "refresh_token": "refresh-0",
        "expires_at": 1,
        "scope": "read",
        "resource": server.mcp(),
    }))
    .unwrap();
    let http = HttpClient::with_defaults().unwrap();
    let config = OAuthConfig::new().handler(Arc::new(HeadlessRedirect::new(
        "http://127.0.0.1:9/callback",
    )));
    let auth = Arc::new(
        OAuthAuthorizer::new(http.clone(), &server.mcp(), config)
            .unwrap()
            .with_grant(first),
    );
    let http = http.with_authorizer(auth.clone());

    let mut tasks = Vec::new();
    for _ in 0..50 {
        let http = http.clone();
        let url = server.mcp();
        tasks.push(tokio::spawn(
            async move { post(&http, &url).await.unwrap() },
        ));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(server.grants("refresh_token"), 1);
    assert_eq!(server.grants("authorization_code"), 0);
    let log = server.log.lock().unwrap();
    let refresh = &log.token_requests[0];
    assert_eq!(refresh["refresh_token"], "refresh-0");
    assert_eq!(refresh["client_id"], "dyn-client");
    assert_eq!(refresh["resource"], server.mcp());
    drop(log);
    let rotated = auth.grant().unwrap();
    assert_eq!(
        rotated.refresh_token.as_ref().unwrap().expose(),
        "refresh-1"
    );
    assert!(!rotated.expires_within(60));
    assert_eq!(rotated.scope.as_deref(), Some("read"));
}

#[tokio::test]
async fn grant_json_matches_the_reference_contract() {
    let grant: conduit_auth::oauth::Grant = serde_json::from_value(json!({
        "access_token": "a", "client_id": "c", "token_endpoint": "https://as/token"
    }))
    .unwrap();
    assert_eq!(
        serde_json::to_value(&grant).unwrap(),
        json!({"access_token": "a", "client_id": "c", "token_endpoint": "https://as/token"})
    );
    assert!(!grant.expires_within(60));
}
