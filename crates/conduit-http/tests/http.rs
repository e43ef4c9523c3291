//! Plain-HTTP behaviour of `HttpClient` against local servers: headers, the authorizer hook and
//! its single retry, timeouts, size limits, connection errors, redirects.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use conduit_http::{
    AuthHookError, Authorizer, BoxFuture, Challenge, HttpClient, HttpConfig, HttpError, Retry,
    StaticBearer, TimeoutPhase,
};
use futures_util::StreamExt;
use http::header::{AUTHORIZATION, USER_AGENT, WWW_AUTHENTICATE};
use http::{HeaderValue, Request, StatusCode};
use http_body_util::BodyExt;
use tokio::io::AsyncWriteExt;

use common::{read_request_head, serve, serve_counted, serve_raw, text};

fn client(builder: conduit_http::HttpConfigBuilder) -> HttpClient {
    HttpClient::new(builder.build().unwrap()).unwrap()
}

fn get(url: String) -> Request<Bytes> {
    Request::get(url).body(Bytes::new()).unwrap()
}

/// An authorizer that rotates to a fresh token when challenged, and counts its calls.
#[derive(Debug)]
struct Rotating {
    token: Mutex<String>,
    authorize_calls: AtomicUsize,
    challenges: Mutex<Vec<Challenge>>,
    decision: Retry,
}

impl Rotating {
    fn new(decision: Retry) -> Arc<Self> {
        Arc::new(Rotating {
            token: Mutex::new("stale".into()),
            authorize_calls: AtomicUsize::new(0),
            challenges: Mutex::new(Vec::new()),
            decision,
        })
    }
}

impl Authorizer for Rotating {
    fn authorize<'a>(
        &'a self,
        request: &'a mut http::request::Parts,
    ) -> BoxFuture<'a, Result<(), AuthHookError>> {
        Box::pin(async move {
            tokio::task::yield_now().await; // a real hook would await a token cache
            self.authorize_calls.fetch_add(1, Ordering::SeqCst);
            let value = format!("Bearer {}", self.token.lock().unwrap());
            request
                .headers
                .insert(AUTHORIZATION, HeaderValue::try_from(value).unwrap());
            Ok(())
        })
    }

    fn on_unauthorized<'a>(
        &'a self,
        challenge: &'a Challenge,
    ) -> BoxFuture<'a, Result<Retry, AuthHookError>> {
        Box::pin(async move {
            self.challenges.lock().unwrap().push(challenge.clone());
            *self.token.lock().unwrap() = "fresh".into();
            Ok(self.decision)
        })
    }
}

/// A server that accepts only `Bearer fresh`, echoes the request body, and counts requests.
async fn fresh_only_server(
    status_on_reject: u16,
    challenge: &'static str,
) -> (String, Arc<AtomicUsize>) {
    let (url, hits, _accepted) = fresh_only_server_counted(status_on_reject, challenge).await;
    (url, hits)
}

async fn fresh_only_server_counted(
    status_on_reject: u16,
    challenge: &'static str,
) -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let (addr, accepted) = serve_counted(move |req: Request<hyper::body::Incoming>| {
        counter.fetch_add(1, Ordering::SeqCst);
        async move {
            let ok =
                req.headers().get(AUTHORIZATION).map(|v| v.as_bytes()) == Some(b"Bearer fresh");
            let body = req.into_body().collect().await.unwrap().to_bytes();
            if ok {
                text(200, body)
            } else {
                let mut resp = text(status_on_reject, "token rejected");
                resp.headers_mut()
                    .insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
                resp
            }
        }
    })
    .await;
    (format!("http://{addr}/mcp"), hits, accepted)
}

#[tokio::test]
async fn plain_request_and_response() {
    let addr = serve(|req: Request<hyper::body::Incoming>| async move {
        let ua = req
            .headers()
            .get(USER_AGENT)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let extra = req
            .headers()
            .get("x-extra")
            .map(|v| v.to_str().unwrap().to_owned());
        let overridden = req
            .headers()
            .get("x-over")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = req.into_body().collect().await.unwrap().to_bytes();
        text(
            200,
            format!(
                "ua={ua} extra={extra:?} over={overridden:?} body={}",
                String::from_utf8_lossy(&body)
            ),
        )
    })
    .await;
    let client = client(
        HttpConfig::builder()
            .default_header("x-extra", "1")
            .default_header("x-over", "default"),
    );
    let request = Request::post(format!("http://{addr}/echo"))
        .header("x-over", "mine")
        .body(Bytes::from_static(b"ping"))
        .unwrap();
    let response = client.send(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap();
    let body = String::from_utf8(body.to_vec()).unwrap();
    assert!(body.starts_with("ua=conduit/"), "{body}");
    assert!(body.contains(r#"extra=Some("1")"#), "{body}");
    assert!(body.contains(r#"over=Some("mine")"#), "{body}");
    assert!(body.ends_with("body=ping"), "{body}");
}

#[tokio::test]
async fn connection_is_reused() {
    let (addr, accepted) =
        serve_counted(|_req: Request<hyper::body::Incoming>| async { text(200, "x") }).await;
    let client = client(HttpConfig::builder());
    for _ in 0..3 {
        let response = client.send(get(format!("http://{addr}/"))).await.unwrap();
        assert_eq!(response.into_body().collect().await.unwrap(), "x");
    }
    // A clone shares the pool and works too.
    let clone = client.clone();
    let response = clone.send(get(format!("http://{addr}/"))).await.unwrap();
    assert_eq!(response.into_body().collect().await.unwrap(), "x");
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "one keep-alive connection"
    );
}

#[tokio::test]
async fn static_bearer_adds_authorization() {
    let addr = serve(|req: Request<hyper::body::Incoming>| async move {
        match req.headers().get(AUTHORIZATION) {
            Some(v) if v == "Bearer abc" => text(200, "welcome"),
            _ => text(401, "who are you"),
        }
    })
    .await;
    let bearer = Arc::new(StaticBearer::new("abc").unwrap());
    let client = client(HttpConfig::builder().authorizer(bearer));
    let response = client.send(get(format!("http://{addr}/"))).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.into_body().collect().await.unwrap(), "welcome");

    // `send_unauthenticated` skips the hook and passes the 401 through.
    let response = client
        .send_unauthenticated(get(format!("http://{addr}/")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // So does a derived client without authorizer, over the same pool.
    let response = client
        .without_authorizer()
        .send(get(format!("http://{addr}/")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn unauthorized_then_retry_once_with_new_token() {
    let (url, hits, accepted) =
        fresh_only_server_counted(401, r#"Bearer error="invalid_token""#).await;
    let auth = Rotating::new(Retry::Resend);
    let client = client(HttpConfig::builder()).with_authorizer(auth.clone());
    let request = Request::post(url.clone())
        .body(Bytes::from_static(b"{\"id\":1}"))
        .unwrap();
    let response = client.send(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // The body was sent again on the retry.
    assert_eq!(response.into_body().collect().await.unwrap(), "{\"id\":1}");
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "the 401 body was drained, connection kept"
    );
    assert_eq!(auth.authorize_calls.load(Ordering::SeqCst), 2);
    let challenges = auth.challenges.lock().unwrap();
    assert_eq!(challenges.len(), 1);
    assert_eq!(challenges[0].status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenges[0].uri().to_string(), url);
    assert_eq!(
        challenges[0].www_authenticate_str().collect::<Vec<_>>(),
        [r#"Bearer error="invalid_token""#]
    );
}

#[derive(Debug)]
struct AlwaysResend(AtomicUsize);

impl Authorizer for AlwaysResend {
    fn authorize<'a>(
        &'a self,
        request: &'a mut http::request::Parts,
    ) -> BoxFuture<'a, Result<(), AuthHookError>> {
        request
            .headers
            .insert(AUTHORIZATION, HeaderValue::from_static("Bearer never-good"));
        Box::pin(async { Ok(()) })
    }

    fn on_unauthorized<'a>(
        &'a self,
        _challenge: &'a Challenge,
    ) -> BoxFuture<'a, Result<Retry, AuthHookError>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(Retry::Resend) })
    }
}

#[tokio::test]
async fn unauthorized_twice_is_an_error_with_the_challenge() {
    let challenge =
        r#"Bearer resource_metadata="http://127.0.0.1/.well-known/oauth-protected-resource""#;
    let (url, hits) = fresh_only_server(401, challenge).await;
    let auth = Arc::new(AlwaysResend(AtomicUsize::new(0)));
    let client = client(HttpConfig::builder().authorizer(auth.clone()));
    let err = client.send(get(url)).await.unwrap_err();
    assert_eq!(hits.load(Ordering::SeqCst), 2, "exactly one retry");
    assert_eq!(
        auth.0.load(Ordering::SeqCst),
        1,
        "on_unauthorized asked once"
    );
    assert!(err.is_unauthorized());
    assert_eq!(err.status(), Some(StatusCode::UNAUTHORIZED));
    match &err {
        HttpError::Unauthorized {
            status,
            www_authenticate,
            body_excerpt,
            host,
        } => {
            assert_eq!(*status, StatusCode::UNAUTHORIZED);
            assert_eq!(www_authenticate, &vec![challenge.to_owned()]);
            assert_eq!(body_excerpt, "token rejected");
            assert!(host.starts_with("127.0.0.1:"));
        }
        other => panic!("unexpected {other:?}"),
    }
    let shown = err.to_string();
    assert!(shown.contains("127.0.0.1:"), "{shown}");
    assert!(!shown.contains("never-good"), "{shown}");
}

#[tokio::test]
async fn give_up_means_one_request_only() {
    let (url, hits) = fresh_only_server(401, "Bearer").await;
    let bearer = Arc::new(StaticBearer::new("s3cr3t-token").unwrap());
    let client = client(HttpConfig::builder().authorizer(bearer));
    let err = client.send(get(url)).await.unwrap_err();
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert!(matches!(err, HttpError::Unauthorized { .. }));
    let debug = format!("{err:?} {err} {client:?}");
    assert!(!debug.contains("s3cr3t-token"), "{debug}");
}

#[tokio::test]
async fn forbidden_insufficient_scope_triggers_step_up() {
    let (url, hits) = fresh_only_server(
        403,
        r#"Bearer error="insufficient_scope", scope="tools:call""#,
    )
    .await;
    let auth = Rotating::new(Retry::Resend);
    let client = client(HttpConfig::builder().authorizer(auth.clone()));
    let response = client.send(get(url)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    let challenges = auth.challenges.lock().unwrap();
    assert_eq!(challenges[0].status(), StatusCode::FORBIDDEN);
    assert!(challenges[0].is_insufficient_scope());
}

#[tokio::test]
async fn plain_forbidden_is_a_response() {
    let (url, hits) = fresh_only_server(403, r#"Bearer error="access_denied""#).await;
    let auth = Rotating::new(Retry::Resend);
    let client = client(HttpConfig::builder().authorizer(auth.clone()));
    let response = client.send(get(url)).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert!(auth.challenges.lock().unwrap().is_empty());
}

#[derive(Debug)]
struct Failing;

impl Authorizer for Failing {
    fn authorize<'a>(
        &'a self,
        _request: &'a mut http::request::Parts,
    ) -> BoxFuture<'a, Result<(), AuthHookError>> {
        Box::pin(async { Err(AuthHookError::new("token endpoint unreachable")) })
    }

    fn on_unauthorized<'a>(
        &'a self,
        _challenge: &'a Challenge,
    ) -> BoxFuture<'a, Result<Retry, AuthHookError>> {
        Box::pin(async { Ok(Retry::GiveUp) })
    }
}

#[tokio::test]
async fn authorizer_failure_is_reported() {
    let addr = serve(|_req: Request<hyper::body::Incoming>| async { text(200, "") }).await;
    let client = client(HttpConfig::builder().authorizer(Arc::new(Failing)));
    let err = client
        .send(get(format!("http://{addr}/")))
        .await
        .unwrap_err();
    match &err {
        HttpError::Auth { source, .. } => {
            assert_eq!(source.message(), "token endpoint unreachable")
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let addr = serve(move |_req: Request<hyper::body::Incoming>| {
        counter.fetch_add(1, Ordering::SeqCst);
        async {
            let mut resp = text(302, "");
            resp.headers_mut().insert(
                http::header::LOCATION,
                HeaderValue::from_static("http://127.0.0.1:9/elsewhere"),
            );
            resp
        }
    })
    .await;
    let client =
        client(HttpConfig::builder().authorizer(Arc::new(StaticBearer::new("t").unwrap())));
    let response = client.send(get(format!("http://{addr}/"))).await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn response_header_timeout() {
    // Reads the request, then never answers (holding the connection open).
    let addr = serve_raw(|mut tcp| async move {
        let _ = read_request_head(&mut tcp).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(tcp);
    })
    .await;
    let client = client(HttpConfig::builder().response_header_timeout(Duration::from_millis(200)));
    let err = client
        .send(get(format!("http://{addr}/")))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(
        matches!(
            err,
            HttpError::Timeout {
                phase: TimeoutPhase::ResponseHeaders,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}

#[tokio::test]
async fn body_read_idle_timeout() {
    let addr = serve_raw(|mut tcp| async move {
        let _ = read_request_head(&mut tcp).await;
        tcp.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nfirst")
            .await
            .unwrap();
        tcp.flush().await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let client = client(HttpConfig::builder().read_idle_timeout(Duration::from_millis(200)));
    let response = client.send(get(format!("http://{addr}/"))).await.unwrap();
    let mut body = response.into_body();
    assert_eq!(body.exact_len(), Some(100));
    assert_eq!(body.chunk().await.unwrap().unwrap(), "first");
    let err = body.chunk().await.unwrap().unwrap_err();
    assert!(
        matches!(
            err,
            HttpError::Timeout {
                phase: TimeoutPhase::BodyRead,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(body.chunk().await.is_none(), "a failed body stays finished");
}

#[tokio::test]
async fn slow_consumer_is_not_an_idle_timeout() {
    let addr = serve(|_req: Request<hyper::body::Incoming>| async { text(200, "data") }).await;
    let client = client(HttpConfig::builder().read_idle_timeout(Duration::from_millis(100)));
    let response = client.send(get(format!("http://{addr}/"))).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Read as a stream.
    let chunks: Vec<_> = StreamExt::collect::<Vec<_>>(response.into_body()).await;
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].as_ref().unwrap(), "data");
}

#[tokio::test]
async fn too_large_by_content_length() {
    let addr =
        serve(|_req: Request<hyper::body::Incoming>| async { text(200, vec![b'x'; 10_000]) }).await;
    let client = client(HttpConfig::builder().max_body_bytes(1000));
    let response = client.send(get(format!("http://{addr}/"))).await.unwrap();
    let err = response.into_body().collect().await.unwrap_err();
    assert!(
        matches!(err, HttpError::TooLarge { limit: 1000, .. }),
        "{err:?}"
    );

    // An explicit limit overrides the configured one.
    let response = client.send(get(format!("http://{addr}/"))).await.unwrap();
    let body = response.into_body().collect_limited(10_000).await.unwrap();
    assert_eq!(body.len(), 10_000);
}

#[tokio::test]
async fn too_large_while_streaming_chunked() {
    // Chunked body without Content-Length: 10 chunks of 100 bytes, slowly.
    let addr = serve_raw(|mut tcp| async move {
        let _ = read_request_head(&mut tcp).await;
        tcp.write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
            .await
            .unwrap();
        for _ in 0..10 {
            let chunk = [b'y'; 100];
            let _ = tcp.write_all(b"64\r\n").await;
            let _ = tcp.write_all(&chunk).await;
            let _ = tcp.write_all(b"\r\n").await;
            let _ = tcp.flush().await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _ = tcp.write_all(b"0\r\n\r\n").await;
    })
    .await;
    let client = client(HttpConfig::builder());
    let response = client.send(get(format!("http://{addr}/"))).await.unwrap();
    assert_eq!(response.body().exact_len(), None);
    let err = response.into_body().collect_limited(250).await.unwrap_err();
    assert!(
        matches!(err, HttpError::TooLarge { limit: 250, .. }),
        "{err:?}"
    );

    let response = client.send(get(format!("http://{addr}/"))).await.unwrap();
    let body = response.into_body().collect_limited(1000).await.unwrap();
    assert_eq!(body.len(), 1000);
}

#[tokio::test]
async fn connection_refused_names_the_address() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = client(HttpConfig::builder().connect_timeout(Duration::from_secs(2)));
    let err = client
        .send(get(format!("http://{addr}/mcp")))
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(matches!(err, HttpError::Connect { .. }), "{err:?}");
    assert_eq!(err.host(), Some(addr.to_string().as_str()));
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test]
async fn invalid_uri_does_not_leak_query() {
    let client = client(HttpConfig::builder());
    let err = client
        .send(get("mailto://example.com/?token=secret".into()))
        .await
        .unwrap_err();
    assert!(matches!(err, HttpError::InvalidUri { .. }), "{err:?}");
    assert!(!err.to_string().contains("secret"), "{err}");
}

#[test]
fn static_bearer_debug_is_redacted() {
    let bearer = StaticBearer::new("super-secret-token").unwrap();
    assert_eq!(format!("{bearer:?}"), "StaticBearer(<redacted>)");
    assert_eq!(format!("{bearer:#?}"), "StaticBearer(<redacted>)");
    let config = HttpConfig::builder()
        .authorizer(Arc::new(bearer))
        .build()
        .unwrap();
    assert!(!format!("{config:?}").contains("super-secret-token"));
}

#[tokio::test]
async fn body_from_bytes_is_usable_by_adapters() {
    let body = conduit_http::Body::from_bytes(Bytes::from_static(b"abc"));
    assert_eq!(body.collect().await.unwrap(), "abc");
}

/// Renews its token on a plain challenge and learns the `DPoP-Nonce` of a nonce challenge
/// (RFC 9449 §9), echoing it in an `x-nonce` header.
#[derive(Debug, Default)]
struct NonceLearner {
    fresh: Mutex<bool>,
    nonce: Mutex<Option<String>>,
    challenges: AtomicUsize,
}

impl Authorizer for NonceLearner {
    fn authorize<'a>(
        &'a self,
        request: &'a mut http::request::Parts,
    ) -> BoxFuture<'a, Result<(), AuthHookError>> {
        let token = if *self.fresh.lock().unwrap() {
            "Bearer fresh"
        } else {
            "Bearer stale"
        };
        request
            .headers
            .insert(AUTHORIZATION, HeaderValue::from_static(token));
        if let Some(nonce) = self.nonce.lock().unwrap().clone() {
            request
                .headers
                .insert("x-nonce", HeaderValue::try_from(nonce).unwrap());
        }
        Box::pin(async { Ok(()) })
    }

    fn on_unauthorized<'a>(
        &'a self,
        challenge: &'a Challenge,
    ) -> BoxFuture<'a, Result<Retry, AuthHookError>> {
        self.challenges.fetch_add(1, Ordering::SeqCst);
        let decision = match challenge.headers().get("dpop-nonce") {
            Some(nonce) => {
                *self.nonce.lock().unwrap() = Some(nonce.to_str().unwrap().to_owned());
                Retry::ResendWithNonce
            }
            None => {
                *self.fresh.lock().unwrap() = true;
                Retry::Resend
            }
        };
        Box::pin(async move { Ok(decision) })
    }
}

/// 401 without a fresh token; 401 `use_dpop_nonce` with `DPoP-Nonce: n-<hit>` without the
/// nonce of an earlier answer (or always, when `always_nonce`); else 200.
async fn nonce_server(always_nonce: bool) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let addr = serve(move |req: Request<hyper::body::Incoming>| {
        let hit = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            let fresh =
                req.headers().get(AUTHORIZATION).map(|v| v.as_bytes()) == Some(b"Bearer fresh");
            let has_nonce = req.headers().contains_key("x-nonce");
            if !fresh {
                let mut resp = text(401, "no token");
                resp.headers_mut()
                    .insert(WWW_AUTHENTICATE, HeaderValue::from_static("DPoP"));
                resp
            } else if always_nonce || !has_nonce {
                let mut resp = text(401, "nonce required");
                resp.headers_mut().insert(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"DPoP error="use_dpop_nonce""#),
                );
                resp.headers_mut().insert(
                    "dpop-nonce",
                    HeaderValue::try_from(format!("n-{hit}")).unwrap(),
                );
                resp
            } else {
                text(200, "ok")
            }
        }
    })
    .await;
    (format!("http://{addr}/mcp"), hits)
}

#[tokio::test]
async fn a_nonce_challenge_after_renewed_credentials_gets_its_own_retry() {
    let (url, hits) = nonce_server(false).await;
    let auth = Arc::new(NonceLearner::default());
    let client = client(HttpConfig::builder().authorizer(auth.clone()));
    let response = client.send(get(url)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        3,
        "token retry, then nonce retry"
    );
    assert_eq!(auth.challenges.load(Ordering::SeqCst), 2);
    assert_eq!(auth.nonce.lock().unwrap().as_deref(), Some("n-1"));
}

#[tokio::test]
async fn only_one_nonce_retry_per_request() {
    let (url, hits) = nonce_server(true).await;
    let auth = Arc::new(NonceLearner::default());
    let client = client(HttpConfig::builder().authorizer(auth.clone()));
    let err = client.send(get(url)).await.unwrap_err();
    assert!(
        matches!(err, HttpError::Unauthorized { status, .. } if status == StatusCode::UNAUTHORIZED),
        "{err:?}"
    );
    assert_eq!(
        hits.load(Ordering::SeqCst),
        3,
        "one credentials and one nonce retry"
    );
    assert_eq!(auth.challenges.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn exactly_one_host_header_names_the_endpoint() {
    // The client sets `Host` itself on HTTP/1.1 (cached per endpoint); a `Host` the caller set
    // is kept as it is; either way exactly one goes out.
    let heads = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = Arc::clone(&heads);
    let addr = serve_raw(move |mut tcp| {
        let seen = Arc::clone(&seen);
        async move {
            loop {
                let head = read_request_head(&mut tcp).await;
                if head.is_empty() {
                    return;
                }
                seen.lock().unwrap().push(head);
                if tcp
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
    })
    .await;
    let client = client(HttpConfig::builder());
    for _ in 0..2 {
        let response = client
            .send(get(format!("http://{addr}/mcp")))
            .await
            .unwrap();
        assert_eq!(response.into_body().collect().await.unwrap(), "ok");
    }
    let custom = Request::get(format!("http://{addr}/mcp"))
        .header(http::header::HOST, "example.test")
        .body(Bytes::new())
        .unwrap();
    let response = client.send(custom).await.unwrap();
    assert_eq!(response.into_body().collect().await.unwrap(), "ok");

    let heads = heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 3, "{heads:?}");
    let hosts = |head: &str| -> Vec<String> {
        head.lines()
            .filter_map(|l| l.split_once(':'))
            .filter(|(name, _)| name.eq_ignore_ascii_case("host"))
            .map(|(_, value)| value.trim().to_owned())
            .collect()
    };
    assert_eq!(hosts(&heads[0]), vec![addr.to_string()]);
    assert_eq!(hosts(&heads[1]), vec![addr.to_string()]);
    assert_eq!(hosts(&heads[2]), vec!["example.test".to_owned()]);
}
