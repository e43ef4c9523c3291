//! HTTPS behaviour against local rustls servers with a throwaway PKI: trust decisions, the
//! insecure option, ALPN, and client certificates (mTLS) through the `ClientCertificate` hook.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use bytes::Bytes;
use conduit_http::{
    Alpn, HttpClient, HttpConfig, HttpError, ReloadableClientCertificate, StaticClientCertificate,
};
use http::{Request, StatusCode, Version};
use rustls_pki_types::ServerName;

use common::{serve_tls, text, TestPki};

async fn hello_server(config: Arc<rustls::ServerConfig>) -> String {
    let addr = serve_tls(
        |req: Request<hyper::body::Incoming>| async move {
            text(200, format!("hello over {:?}", req.version()))
        },
        config,
    )
    .await;
    format!("https://127.0.0.1:{}/", addr.port())
}

fn get(url: &str) -> Request<Bytes> {
    Request::get(url).body(Bytes::new()).unwrap()
}

#[tokio::test]
async fn unknown_ca_is_a_certificate_error() {
    let pki = TestPki::new();
    let url = hello_server(pki.server_config()).await;
    let client = HttpClient::new(HttpConfig::default()).unwrap();
    let err = client.send(get(&url)).await.unwrap_err();
    assert!(err.is_tls(), "{err:?}");
    assert!(err.is_certificate_error(), "{err:?}");
    assert!(matches!(
        err.rustls_error(),
        Some(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer
        ))
    ));
    assert!(err.to_string().contains("127.0.0.1:"), "{err}");
}

#[tokio::test]
async fn extra_root_is_trusted_and_h2_is_negotiated() {
    let pki = TestPki::new();
    let url = hello_server(pki.server_config()).await;
    let config = HttpConfig::builder()
        .add_root_certificate(pki.ca_der.clone())
        .build()
        .unwrap();
    let client = HttpClient::new(config).unwrap();
    let response = client.send(get(&url)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.version(), Version::HTTP_2);
    assert_eq!(
        response.into_body().collect().await.unwrap(),
        "hello over HTTP/2.0"
    );
}

#[tokio::test]
async fn http1_only_when_http2_disabled() {
    let pki = TestPki::new();
    let url = hello_server(pki.server_config()).await;
    let config = HttpConfig::builder()
        .add_root_certificate(pki.ca_der.clone())
        .http2(false)
        .build()
        .unwrap();
    let response = HttpClient::new(config)
        .unwrap()
        .send(get(&url))
        .await
        .unwrap();
    assert_eq!(response.version(), Version::HTTP_11);
}

#[tokio::test]
async fn root_from_pem_is_trusted() {
    let pki = TestPki::new();
    let url = hello_server(pki.server_config()).await;
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        base64_lines(&pki.ca_der)
    );
    let config = HttpConfig::builder()
        .webpki_roots(false)
        .add_root_certificates_pem(pem)
        .build()
        .unwrap();
    let response = HttpClient::new(config)
        .unwrap()
        .send(get(&url))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn danger_accept_invalid_certs_connects() {
    let pki = TestPki::new();
    let url = hello_server(pki.server_config()).await;
    let config = HttpConfig::builder()
        .tls_danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    assert!(config.danger_accept_invalid_certs());
    let response = HttpClient::new(config)
        .unwrap()
        .send(get(&url))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn mtls_with_client_certificate_hook() {
    let pki = TestPki::new();
    let url = hello_server(pki.mtls_server_config()).await;
    let cert =
        StaticClientCertificate::new(pki.client_chain.clone(), pki.client_key.clone_key()).unwrap();
    let config = HttpConfig::builder()
        .add_root_certificate(pki.ca_der.clone())
        .client_certificate(Arc::new(cert))
        .build()
        .unwrap();
    let response = HttpClient::new(config)
        .unwrap()
        .send(get(&url))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // The PEM constructor yields an equivalent certificate.
    let cert = StaticClientCertificate::from_pem(
        pki.client_chain_pem.as_bytes(),
        pki.client_key_pem.as_bytes(),
    )
    .unwrap();
    assert!(!format!("{cert:?}").contains("PRIVATE"));
    let config = HttpConfig::builder()
        .add_root_certificate(pki.ca_der.clone())
        .client_certificate(Arc::new(cert))
        .http2(false)
        .build()
        .unwrap();
    let response = HttpClient::new(config)
        .unwrap()
        .send(get(&url))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn mtls_without_client_certificate_fails() {
    let pki = TestPki::new();
    let url = hello_server(pki.mtls_server_config()).await;
    // Over HTTP/2 and HTTP/1.1: the error travels differently through h2 and hyper's h1.
    for http2 in [true, false] {
        let config = HttpConfig::builder()
            .add_root_certificate(pki.ca_der.clone())
            .http2(http2)
            .build()
            .unwrap();
        let err = HttpClient::new(config)
            .unwrap()
            .send(get(&url))
            .await
            .unwrap_err();
        // In TLS 1.3 the server's refusal arrives after the client's side of the handshake, as
        // an alert; either way it must be recognisable as a certificate problem.
        assert!(err.is_tls(), "http2={http2}: {err:?}");
        assert!(err.is_certificate_error(), "http2={http2}: {err:?}");
    }
}

#[tokio::test]
async fn client_certificate_rotates_without_rebuilding_the_client() {
    let pki = TestPki::new();
    let url = hello_server(pki.mtls_server_config()).await;
    let slot = ReloadableClientCertificate::new();
    let config = HttpConfig::builder()
        .add_root_certificate(pki.ca_der.clone())
        .client_certificate(Arc::new(slot.clone()))
        .build()
        .unwrap();
    let client = HttpClient::new(config).unwrap();
    let err = client.send(get(&url)).await.unwrap_err();
    assert!(err.is_certificate_error(), "{err:?}");

    let cert =
        StaticClientCertificate::new(pki.client_chain.clone(), pki.client_key.clone_key()).unwrap();
    slot.set(&cert);
    let response = client.send(get(&url)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn mismatched_client_key_is_rejected_at_construction() {
    let pki = TestPki::new();
    let other = TestPki::new();
    let err = StaticClientCertificate::new(pki.client_chain.clone(), other.client_key.clone_key())
        .unwrap_err();
    assert!(matches!(err, HttpError::Config { .. }), "{err:?}");
    assert!(StaticClientCertificate::new(Vec::new(), pki.client_key.clone_key()).is_err());
}

#[tokio::test]
async fn rustls_config_is_reusable_for_websocket_style_connections() {
    let pki = TestPki::new();
    let cert =
        StaticClientCertificate::new(pki.client_chain.clone(), pki.client_key.clone_key()).unwrap();
    let config = HttpConfig::builder()
        .add_root_certificate(pki.ca_der.clone())
        .client_certificate(Arc::new(cert))
        .build()
        .unwrap();
    let addr = serve_tls(
        |_req: Request<hyper::body::Incoming>| async { text(200, "") },
        pki.mtls_server_config(),
    )
    .await;
    let tls = config.rustls_config(Alpn::Http1).unwrap();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let stream = tokio_rustls::TlsConnector::from(tls)
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .unwrap();
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
}

fn base64_lines(der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in der.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out.as_bytes()
        .chunks(64)
        .map(|l| std::str::from_utf8(l).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_reloadable_certificate_bumps_its_generation_on_every_change() {
    use conduit_http::ClientCertificate;
    let pki = TestPki::new();
    let cert =
        StaticClientCertificate::new(pki.client_chain.clone(), pki.client_key.clone_key()).unwrap();
    assert_eq!(cert.generation(), 0, "a fixed certificate never changes");
    let slot = ReloadableClientCertificate::new();
    let start = slot.generation();
    slot.set(&cert);
    let after_set = slot.generation();
    assert_ne!(after_set, start);
    // Clones share the slot, and so the generation.
    let clone = slot.clone();
    clone.clear();
    assert_ne!(slot.generation(), after_set);
    assert_eq!(slot.generation(), clone.generation());
}
