//! Server certificates that must be refused: expired, issued for another host, self-signed.
//! Each failure is a typed certificate error naming what was wrong; the insecure switch is the
//! only way past it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use bytes::Bytes;
use conduit_http::{HttpClient, HttpConfig};
use http::Request;
use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use common::{serve_tls, text};

struct Ca {
    der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

fn ca() -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "server-cert test CA");
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let cert = params.self_signed(&key).unwrap();
    Ca {
        der: cert.der().clone(),
        issuer: Issuer::new(params, key),
    }
}

fn server_params(names: &[&str]) -> CertificateParams {
    let mut params =
        CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).unwrap();
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params
}

fn server_config(chain: CertificateDer<'static>, key: &KeyPair) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![chain],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    Arc::new(config)
}

async fn serve(config: Arc<rustls::ServerConfig>) -> String {
    let addr = serve_tls(
        |_req: Request<hyper::body::Incoming>| async move { text(200, "hello") },
        config,
    )
    .await;
    format!("https://127.0.0.1:{}/", addr.port())
}

fn trusting(ca: &Ca) -> HttpClient {
    HttpClient::new(
        HttpConfig::builder()
            .add_root_certificate(ca.der.clone())
            .build()
            .unwrap(),
    )
    .unwrap()
}

fn get(url: &str) -> Request<Bytes> {
    Request::get(url).body(Bytes::new()).unwrap()
}

#[tokio::test]
async fn an_expired_server_certificate_is_refused() {
    let ca = ca();
    let key = KeyPair::generate().unwrap();
    let mut params = server_params(&["127.0.0.1"]);
    params.not_before = date_time_ymd(2020, 1, 1);
    params.not_after = date_time_ymd(2021, 1, 1);
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    let url = serve(server_config(cert.der().clone(), &key)).await;
    let err = trusting(&ca).send(get(&url)).await.unwrap_err();
    assert!(err.is_certificate_error(), "{err:?}");
    assert!(
        matches!(
            err.rustls_error(),
            Some(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Expired | rustls::CertificateError::ExpiredContext { .. }
            ))
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_certificate_for_another_host_is_refused() {
    let ca = ca();
    let key = KeyPair::generate().unwrap();
    let cert = server_params(&["gateway.example.invalid"])
        .signed_by(&key, &ca.issuer)
        .unwrap();
    let url = serve(server_config(cert.der().clone(), &key)).await;
    let err = trusting(&ca).send(get(&url)).await.unwrap_err();
    assert!(err.is_certificate_error(), "{err:?}");
    assert!(
        matches!(
            err.rustls_error(),
            Some(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                    | rustls::CertificateError::NotValidForNameContext { .. }
            ))
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_self_signed_certificate_is_refused_unless_explicitly_accepted() {
    let ca = ca();
    let key = KeyPair::generate().unwrap();
    let cert = server_params(&["127.0.0.1"]).self_signed(&key).unwrap();
    let url = serve(server_config(cert.der().clone(), &key)).await;
    let err = trusting(&ca).send(get(&url)).await.unwrap_err();
    assert!(err.is_certificate_error(), "{err:?}");

    let insecure = HttpClient::new(
        HttpConfig::builder()
            .tls_danger_accept_invalid_certs(true)
            .build()
            .unwrap(),
    )
    .unwrap();
    let response = insecure.send(get(&url)).await.unwrap();
    assert_eq!(response.status(), 200);
}
