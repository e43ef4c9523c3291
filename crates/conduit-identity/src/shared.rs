//! [`SharedIdentity`]: an identity that can be replaced at run time (rotation).

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use conduit_http::{ClientCertificate, ReloadableClientCertificate};
use rustls::client::ResolvesClientCert;

use crate::ConduitIdentity;

/// An identity slot shared by an HTTP client and whoever rotates it.
///
/// It implements [`ClientCertificate`] through `conduit-http`'s
/// [`ReloadableClientCertificate`]: every *new* TLS connection presents the identity current at
/// its handshake, and a replacement bumps the [generation](ClientCertificate::generation), so an
/// [`HttpClient`](conduit_http::HttpClient) sends the requests made afterwards on new
/// connections. Connections already open (and the calls in flight on them) keep the certificate
/// they were established with: replacing it never interrupts a call.
#[derive(Clone)]
pub struct SharedIdentity {
    slot: ReloadableClientCertificate,
    current: Arc<RwLock<ConduitIdentity>>,
}

impl SharedIdentity {
    /// A slot holding `identity`.
    pub fn new(identity: ConduitIdentity) -> Self {
        SharedIdentity {
            slot: ReloadableClientCertificate::with_certificate(identity.client_certificate()),
            current: Arc::new(RwLock::new(identity)),
        }
    }

    /// The identity presented by new connections.
    pub fn current(&self) -> ConduitIdentity {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Presents `identity` on every connection made from now on.
    pub fn replace(&self, identity: ConduitIdentity) {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        self.slot.set(identity.client_certificate());
        *current = identity;
    }
}

impl fmt::Debug for SharedIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SharedIdentity")
            .field(&self.current())
            .finish()
    }
}

impl ClientCertificate for SharedIdentity {
    fn resolver(&self) -> Arc<dyn ResolvesClientCert> {
        self.slot.resolver()
    }

    fn generation(&self) -> u64 {
        self.slot.generation()
    }
}
