//! The authorization retries of the WebSocket upgrade against a raw local server that scripts
//! its answers: a DPoP nonce challenge gets its own retry, counted apart from the credentials
//! retry, as over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use conduit_http::{AuthHookError, Authorizer, BoxFuture, Challenge, HttpClient, Retry};
use conduit_transport::TransportError;
use conduit_transport_ws::{WebSocket, WsConfig, SUBPROTOCOL};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

const LIMIT: Duration = Duration::from_secs(20);

/// One scripted answer to an upgrade request.
#[derive(Clone, Copy)]
enum Answer {
    /// 401 with `WWW-Authenticate: Bearer error="invalid_token"`.
    InvalidToken,
    /// 401 with a `DPoP-Nonce` header.
    NonceChallenge,
    /// 101 with the subprotocol.
    Accept,
}

/// Reads one request head.
async fn read_head(tcp: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if tcp.read(&mut byte).await.unwrap() == 0 {
            break;
        }
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Serves the script, one connection per answer; returns the address and the request heads.
async fn scripted(script: Vec<Answer>) -> (std::net::SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&heads);
    tokio::spawn(async move {
        for answer in script {
            let Ok((mut tcp, _)) = listener.accept().await else {
                return;
            };
            let head = read_head(&mut tcp).await;
            log.lock().unwrap().push(head.clone());
            let reply = match answer {
                Answer::InvalidToken => "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer error=\"invalid_token\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned(),
                Answer::NonceChallenge => "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: DPoP error=\"use_dpop_nonce\"\r\nDPoP-Nonce: nonce-1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned(),
                Answer::Accept => {
                    let key = header(&head, "sec-websocket-key").unwrap_or_default();
                    format!(
                        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: {SUBPROTOCOL}\r\n\r\n",
                        derive_accept_key(key.as_bytes())
                    )
                }
            };
            tcp.write_all(reply.as_bytes()).await.unwrap();
            if matches!(answer, Answer::Accept) {
                // Keep the connection open until the client goes away.
                let mut sink = [0u8; 256];
                while matches!(tcp.read(&mut sink).await, Ok(n) if n > 0) {}
            }
        }
    });
    (addr, heads)
}

/// Sends `Authorization: Bearer token-N` (N bumped by every credentials refresh) and, once a
/// nonce was learnt, `DPoP: <nonce>`.
#[derive(Debug, Default)]
struct Scripted {
    state: Mutex<(u32, Option<String>)>,
}

impl Authorizer for Scripted {
    fn authorize<'a>(
        &'a self,
        request: &'a mut http::request::Parts,
    ) -> BoxFuture<'a, Result<(), AuthHookError>> {
        let (generation, nonce) = self.state.lock().unwrap().clone();
        request.headers.insert(
            http::header::AUTHORIZATION,
            format!("Bearer token-{generation}").parse().unwrap(),
        );
        if let Some(nonce) = nonce {
            request.headers.insert("dpop", nonce.parse().unwrap());
        }
        Box::pin(std::future::ready(Ok(())))
    }

    fn on_unauthorized<'a>(
        &'a self,
        challenge: &'a Challenge,
    ) -> BoxFuture<'a, Result<Retry, AuthHookError>> {
        let mut state = self.state.lock().unwrap();
        let retry = match challenge
            .headers()
            .get("dpop-nonce")
            .and_then(|v| v.to_str().ok())
        {
            Some(nonce) => {
                state.1 = Some(nonce.to_owned());
                Retry::ResendWithNonce
            }
            None => {
                state.0 += 1;
                Retry::Resend
            }
        };
        Box::pin(std::future::ready(Ok(retry)))
    }
}

async fn connect(
    addr: std::net::SocketAddr,
    authorizer: Arc<Scripted>,
) -> Result<WebSocket, TransportError> {
    let http = HttpClient::with_defaults()
        .unwrap()
        .with_authorizer(authorizer);
    tokio::time::timeout(
        LIMIT,
        WebSocket::connect(http, &format!("ws://{addr}/ws"), WsConfig::default(), None),
    )
    .await
    .expect("bounded")
}

#[tokio::test]
async fn a_nonce_challenge_after_a_refresh_gets_its_own_retry() {
    let (addr, heads) = scripted(vec![
        Answer::InvalidToken,
        Answer::NonceChallenge,
        Answer::Accept,
    ])
    .await;
    let ws = connect(addr, Arc::new(Scripted::default())).await.unwrap();
    let heads = heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 3, "{heads:?}");
    assert_eq!(header(&heads[0], "authorization"), Some("Bearer token-0"));
    assert_eq!(header(&heads[1], "authorization"), Some("Bearer token-1"));
    assert_eq!(header(&heads[1], "dpop"), None);
    assert_eq!(header(&heads[2], "authorization"), Some("Bearer token-1"));
    assert_eq!(header(&heads[2], "dpop"), Some("nonce-1"));
    assert_eq!(
        header(&heads[2], "sec-websocket-protocol"),
        Some(SUBPROTOCOL)
    );
    conduit_transport::Transport::close(&ws).await.unwrap();
}

#[tokio::test]
async fn a_second_credentials_rejection_is_unauthorized() {
    let (addr, heads) = scripted(vec![Answer::InvalidToken, Answer::InvalidToken]).await;
    let err = connect(addr, Arc::new(Scripted::default()))
        .await
        .expect_err("two rejections");
    match err {
        TransportError::Unauthorized {
            status,
            www_authenticate,
            ..
        } => {
            assert_eq!(status, 401);
            assert_eq!(
                www_authenticate,
                vec!["Bearer error=\"invalid_token\"".to_owned()]
            );
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    assert_eq!(heads.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn only_one_nonce_retry() {
    let (addr, heads) = scripted(vec![Answer::NonceChallenge, Answer::NonceChallenge]).await;
    let err = connect(addr, Arc::new(Scripted::default()))
        .await
        .expect_err("a second nonce challenge is not retried");
    assert!(
        matches!(err, TransportError::Unauthorized { .. }),
        "{err:?}"
    );
    assert_eq!(heads.lock().unwrap().len(), 2);
}
