//! Any bytes as a certificate, key and CA bundle: the identity loader answers with an identity
//! or an error, never a panic.
#![no_main]

use conduit_identity::ConduitIdentity;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // Split the input in three at the first two NUL bytes (or use it whole three times).
    let mut parts = text.splitn(3, '\0');
    let cert = parts.next().unwrap_or("");
    let key = parts.next().unwrap_or(cert);
    let ca = parts.next();
    let _ = ConduitIdentity::from_pem(cert, key, ca);
});
