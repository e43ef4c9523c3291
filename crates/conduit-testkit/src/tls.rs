//! The HTTPS listener of a gateway with mTLS: tokio-rustls (ring) that *requires* a client
//! certificate issued by the gateway's [`TestCa`], serving the same routes as the plain
//! listener (the WebSocket endpoint included, as `wss://`). The verified client certificate
//! travels to the routes as a request extension.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use crate::ca::{PeerCertificate, TestCa};
use crate::router;
use crate::state::State;

fn other(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// Builds the server configuration: the CA's server certificate for 127.0.0.1/localhost, and
/// a client verifier that requires a certificate chaining to the CA.
fn server_config(ca: &TestCa) -> std::io::Result<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(ca.ca_der()))
        .map_err(other)?;
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(other)?;
    let (cert_pem, key_pem) = ca.server_cert()?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(other)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(other)?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(other)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(other)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Binds the HTTPS listener and starts accepting. Returns its address and the accept task.
pub(crate) async fn start(
    state: Arc<State>,
    ca: TestCa,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let acceptor = TlsAcceptor::from(Arc::new(server_config(&ca)?));
    let listener = TcpListener::bind(SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0))).await?;
    let addr = listener.local_addr()?;
    ca.set_https_base(format!("https://{addr}"));
    let task = tokio::spawn(async move {
        let mut shutdown = state.shutdown_receiver();
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                () = signalled(&mut shutdown) => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let acceptor = acceptor.clone();
                        let state = Arc::clone(&state);
                        let ca = ca.clone();
                        connections.spawn(async move {
                            match acceptor.accept(stream).await {
                                Ok(tls) => serve(tls, state, ca).await,
                                Err(err) => tracing::debug!(%peer, %err, "TLS handshake refused"),
                            }
                        });
                    }
                    Err(err) => {
                        tracing::warn!(%err, "TLS accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    }
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        connections.shutdown().await;
    });
    Ok((addr, task))
}

async fn serve(
    tls: tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    state: Arc<State>,
    ca: TestCa,
) {
    let peer = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|certs| certs.first())
        .map(|c| c.as_ref().to_vec());
    let Some(peer) = peer else {
        // The verifier requires a certificate, so this does not happen; refuse anyway.
        return;
    };
    let mut shutdown = state.shutdown_receiver();
    let service = service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
        let state = Arc::clone(&state);
        ca.record_mtls(req.uri().path(), &peer);
        req.extensions_mut().insert(PeerCertificate(peer.clone()));
        async move { Ok::<_, Infallible>(router::route(state, req).await) }
    });
    let builder = auto::Builder::new(TokioExecutor::new());
    // With upgrades, so that `/ws` works over TLS (`wss://`) as it does on the plain listener.
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        () = signalled(&mut shutdown) => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(err) = result {
        tracing::debug!(%err, "TLS connection ended with an error");
    }
}

async fn signalled(rx: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = rx.wait_for(|down| *down).await;
}
