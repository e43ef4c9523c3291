//! The PEM loader: real key formats load, arbitrary text is refused with an error naming the
//! input (never a panic), and surrounding text or line endings do not change the result.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use conduit_identity::{ConduitIdentity, IdentityError};
use proptest::prelude::*;

const EC_CERT: &str = include_str!("fixtures/ec_cert.pem");
const EC_SEC1_KEY: &str = include_str!("fixtures/ec_sec1_key.pem");
const RSA_CERT: &str = include_str!("fixtures/rsa_cert.pem");
const RSA_PKCS1_KEY: &str = include_str!("fixtures/rsa_pkcs1_key.pem");

fn generated() -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["pem-test".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    (cert.pem(), key.serialize_pem())
}

#[test]
fn sec1_and_pkcs1_keys_load() {
    let ec = ConduitIdentity::from_pem(EC_CERT, EC_SEC1_KEY, None).unwrap();
    assert!(
        ec.info().subject.contains("conduit-sec1-fixture"),
        "{}",
        ec.info().subject
    );
    let rsa = ConduitIdentity::from_pem(RSA_CERT, RSA_PKCS1_KEY, None).unwrap();
    assert!(
        rsa.info().subject.contains("conduit-pkcs1-fixture"),
        "{}",
        rsa.info().subject
    );
}

#[test]
fn a_key_of_another_certificate_is_refused() {
    let err = ConduitIdentity::from_pem(EC_CERT, RSA_PKCS1_KEY, None).unwrap_err();
    assert!(matches!(err, IdentityError::KeyMismatch { .. }), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Arbitrary text as certificate or key: an error, never a panic.
    #[test]
    fn arbitrary_text_is_refused(cert in "[ -~\n]{0,200}", key in "[ -~\n]{0,200}") {
        prop_assert!(ConduitIdentity::from_pem(&cert, &key, None).is_err());
        prop_assert!(ConduitIdentity::from_pem(EC_CERT, &key, None).is_err());
        prop_assert!(ConduitIdentity::from_pem(&cert, EC_SEC1_KEY, None).is_err());
    }

    /// Text around the PEM blocks and CRLF line endings do not matter.
    #[test]
    fn surrounding_text_and_line_endings_do_not_matter(
        before in "[a-zA-Z0-9 .:]{0,40}",
        after in "[a-zA-Z0-9 .:]{0,40}",
        crlf in any::<bool>(),
    ) {
        let cert = format!("{before}\n{EC_CERT}\n{after}\n");
        let key = format!("{before}\n{EC_SEC1_KEY}{after}\n");
        let (cert, key) = if crlf {
            (cert.replace('\n', "\r\n"), key.replace('\n', "\r\n"))
        } else {
            (cert, key)
        };
        let id = ConduitIdentity::from_pem(&cert, &key, None).unwrap();
        let plain = ConduitIdentity::from_pem(EC_CERT, EC_SEC1_KEY, None).unwrap();
        prop_assert_eq!(id.info().fingerprint.clone(), plain.info().fingerprint.clone());
    }

    /// A damaged certificate body is refused (an error naming the input), never a panic.
    #[test]
    fn damaged_certificates_are_refused(cut in 30usize..400, junk in "[A-Za-z0-9+/]{1,8}") {
        let (cert, key) = generated();
        let begin = cert.find('\n').unwrap() + 1;
        let at = (begin + cut).min(cert.len() - 30);
        let damaged = format!("{}{}{}", &cert[..at], junk, &cert[at + junk.len().min(cert.len() - at)..]);
        if damaged != cert {
            if let Err(e) = ConduitIdentity::from_pem(&damaged, &key, None) {
                prop_assert!(!e.to_string().is_empty());
            }
        }
    }
}
