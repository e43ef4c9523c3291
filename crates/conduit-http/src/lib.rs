//! The shared HTTPS layer of Conduit.
//!
//! Every HTTP-speaking part of Conduit — the Streamable HTTP transport, plain JSON-RPC over HTTP,
//! OAuth token requests, the DataGrout CA client — sends through [`HttpClient`]:
//!
//! * one hyper-util connection pool over hyper-rustls, with the **ring** crypto provider only
//!   (passed explicitly; no process-wide provider is installed or required);
//! * HTTP/1.1 with keep-alive, HTTP/2 when negotiated by ALPN;
//! * trust in the webpki roots plus caller-supplied CAs, or — explicitly and loudly —
//!   [`tls_danger_accept_invalid_certs`](HttpConfigBuilder::tls_danger_accept_invalid_certs);
//! * connect, response-header and body read-idle timeouts, and a size limit for buffered bodies;
//! * no redirects are followed, so credentials never leave their origin.
//!
//! Higher crates plug in through two hooks (dependency inversion — this crate depends on no
//! other Conduit crate):
//!
//! * [`ClientCertificate`] supplies the mTLS client certificate (implemented by
//!   `conduit-identity`);
//! * [`Authorizer`] adds credentials and reacts to `401` / `403 insufficient_scope` with one
//!   retry (implemented by `conduit-auth`; [`StaticBearer`] and [`NoAuth`] are provided).
//!
//! ```no_run
//! # async fn demo() -> Result<(), conduit_http::HttpError> {
//! use std::sync::Arc;
//! use bytes::Bytes;
//! use conduit_http::{HttpClient, HttpConfig, StaticBearer};
//!
//! let bearer = StaticBearer::new("token").expect("valid token");
//! let client = HttpClient::new(HttpConfig::builder().authorizer(Arc::new(bearer)).build()?)?;
//! let request = http::Request::post("https://example.com/mcp")
//!     .header("content-type", "application/json")
//!     .body(Bytes::from_static(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#))
//!     .expect("valid request");
//! let response = client.send(request).await?;
//! println!("{}", response.status());
//! let body = response.into_body().collect().await?;
//! println!("{} bytes", body.len());
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod auth;
mod body;
mod client;
mod config;
mod error;
mod tls;

pub use auth::{AuthHookError, Authorizer, BoxFuture, Challenge, NoAuth, Retry, StaticBearer};
pub use body::Body;
pub use client::HttpClient;
pub use config::{
    HttpConfig, HttpConfigBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_POOL_IDLE_TIMEOUT, DEFAULT_READ_IDLE_TIMEOUT, DEFAULT_RESPONSE_HEADER_TIMEOUT,
    DEFAULT_USER_AGENT,
};
pub use error::{body_excerpt, BoxError, HttpError, TimeoutPhase};
pub use tls::{Alpn, ClientCertificate, ReloadableClientCertificate, StaticClientCertificate};

/// Re-exports of the crates that appear in this crate's public API, so that dependents
/// implement the hooks against exactly the same versions.
pub mod reexports {
    pub use bytes;
    pub use http;
    pub use rustls;
    pub use rustls_pki_types;
}
