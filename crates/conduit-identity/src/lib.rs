//! `conduit-identity`: mTLS client identities for Conduit.
//!
//! * [`ConduitIdentity`] — a certificate chain, its private key and an optional CA bundle, from
//!   PEM, files, the environment or [discovery](ConduitIdentity::discover) in the reference
//!   SDK's order; its subject, fingerprint and validity are read from the certificate.
//! * [`SharedIdentity`] — a replaceable identity for `conduit-http`'s client-certificate hook:
//!   rotation reaches new connections without disturbing calls in flight.
//! * [`Registrar`] — the DataGrout CA: register a fresh ECDSA P-256 keypair with a bearer token,
//!   rotate it over mTLS, fetch the CA bundle.
//! * [`save_identity`] — the reference file layout (`identity.pem`, `identity_key.pem`,
//!   `ca.pem`), written atomically into a 0700 directory with a 0600 key.
//! * [`onramp`](onramp::onramp) — first contact: an access code becomes client credentials.
//!
//! ```no_run
//! # async fn run() -> Result<(), conduit_identity::IdentityError> {
//! use conduit_identity::{save_identity, ConduitIdentity, Registrar, SystemEnvironment};
//!
//! let identity = match ConduitIdentity::discover(None, &SystemEnvironment)? {
//!     Some(found) => found,
//!     None => {
//!         let registrar = Registrar::new(conduit_identity::default_http()?);
//!         let registered = registrar.register("access-token", "my-laptop").await?;
//!         let dir = dirs::home_dir().unwrap_or_default().join(".conduit");
//!         save_identity(&registered.identity, &dir)?;
//!         registered.identity.with_dir(dir)
//!     }
//! };
//! println!("{} ({} days left)", identity.subject(), identity.days_left());
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod env;
mod error;
mod identity;
pub mod info;
pub mod onramp;
mod registration;
mod shared;
mod store;
mod wire;

pub use env::{Environment, MapEnvironment, SystemEnvironment};
pub use error::IdentityError;
pub use identity::{
    ConduitIdentity, IdentitySource, CA_FILE, CERT_FILE, DIR_NAME, ENV_CA, ENV_CERT, ENV_DIR,
    ENV_KEY, KEY_FILE,
};
pub use info::CertificateInfo;
pub use registration::{
    default_http, GeneratedKey, Registrar, Registration, DEFAULT_CA_URL, DEFAULT_ENDPOINT,
    DEFAULT_TIMEOUT,
};
pub use shared::SharedIdentity;
pub use store::{create_private_dir, save_identity, write_atomic, SavedPaths};
