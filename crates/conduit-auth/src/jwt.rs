//! ES256 JWT signing for client assertions (`private_key_jwt`, RFC 7523 §2.2) and DPoP proofs.
//!
//! Signatures come from `jsonwebtoken` on `ring` (the tree's one crypto provider); keys are
//! generated with `ring`. Nothing here formats or signs a JWT by hand.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};

use crate::token::TokenError;

/// `client_assertion_type` for JWT client authentication (RFC 7523 §2.2).
pub const CLIENT_ASSERTION_TYPE_JWT_BEARER: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long a client assertion is valid.
pub const ASSERTION_LIFETIME: Duration = Duration::from_secs(300);

/// An ES256 (P-256) signing key. `Debug` never prints the key.
#[derive(Clone)]
pub struct SigningKey {
    encoding: EncodingKey,
    /// The public point as a JWK (`kty`, `crv`, `x`, `y`).
    public_jwk: Value,
    key_id: Option<String>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &"ES256")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Loads a P-256 private key from PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, TokenError> {
        let bad = |what: &str| TokenError::Config {
            reason: format!("the ES256 private key {what}"),
        };
        let der = pem_body(pem).ok_or_else(|| bad("is not PKCS#8 PEM"))?;
        Self::from_pkcs8_der(&der).map_err(|_| bad("is not a P-256 PKCS#8 key"))
    }

    /// Loads a P-256 private key from PKCS#8 DER.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, TokenError> {
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng).map_err(
            |_| TokenError::Config {
                reason: "the ES256 private key is not a P-256 PKCS#8 key".into(),
            },
        )?;
        let point = pair.public_key().as_ref();
        // Uncompressed SEC1 point: 0x04 || x (32) || y (32).
        if point.len() != 65 || point[0] != 4 {
            return Err(TokenError::Config {
                reason: "unexpected P-256 public key encoding".into(),
            });
        }
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        Ok(SigningKey {
            encoding: EncodingKey::from_ec_der(der),
            public_jwk: json!({
                "kty": "EC",
                "crv": "P-256",
                "x": b64.encode(&point[1..33]),
                "y": b64.encode(&point[33..65]),
            }),
            key_id: None,
        })
    }

    /// A fresh random P-256 key (for DPoP, which binds tokens to a per-client key).
    pub fn generate() -> Result<Self, TokenError> {
        let rng = SystemRandom::new();
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).map_err(|_| {
                TokenError::Signing {
                    reason: "could not generate a P-256 key".into(),
                }
            })?;
        Self::from_pkcs8_der(pkcs8.as_ref())
    }

    /// Sets the `kid` put in the JWT header of client assertions.
    pub fn with_key_id(mut self, kid: impl Into<String>) -> Self {
        self.key_id = Some(kid.into());
        self
    }

    /// The public key as a JWK object (`kty`, `crv`, `x`, `y`).
    pub fn public_jwk(&self) -> &Value {
        &self.public_jwk
    }

    /// The RFC 7638 thumbprint of the public key (base64url SHA-256 of the canonical JWK).
    pub fn thumbprint(&self) -> String {
        use sha2::Digest as _;
        let field = |k: &str| self.public_jwk.get(k).and_then(Value::as_str).unwrap_or("");
        let canonical = format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            field("crv"),
            field("x"),
            field("y")
        );
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(canonical.as_bytes()))
    }

    /// Signs `claims` as an ES256 JWT with header `typ` (when given), the key id, and — when
    /// `embed_jwk` — the public key as `jwk` (DPoP proofs carry it).
    pub fn sign(
        &self,
        typ: Option<&str>,
        embed_jwk: bool,
        claims: &Value,
    ) -> Result<String, TokenError> {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = typ.map(str::to_owned);
        header.kid = if embed_jwk { None } else { self.key_id.clone() };
        if embed_jwk {
            header.jwk = Some(
                serde_json::from_value(self.public_jwk.clone()).map_err(|e| {
                    TokenError::Signing {
                        reason: format!("cannot express the public key as a JWK: {e}"),
                    }
                })?,
            );
        }
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(|e| TokenError::Signing {
            reason: e.to_string(),
        })
    }

    /// A `private_key_jwt` client assertion (RFC 7523 §3): `iss` = `sub` = `client_id`,
    /// `aud` = `audience` (the authorization server's issuer or token endpoint), a random
    /// `jti`, `iat` now and `exp` [`ASSERTION_LIFETIME`] later.
    pub fn client_assertion(&self, client_id: &str, audience: &str) -> Result<String, TokenError> {
        let now = unix_now();
        self.sign(
            Some("JWT"),
            false,
            &json!({
                "iss": client_id,
                "sub": client_id,
                "aud": audience,
                "jti": random_id(),
                "iat": now,
                "exp": now + ASSERTION_LIFETIME.as_secs(),
            }),
        )
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// 16 random bytes, base64url without padding.
pub(crate) fn random_id() -> String {
    let bytes: [u8; 16] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The DER inside a PEM block.
fn pem_body(pem: &str) -> Option<Vec<u8>> {
    let mut inside = false;
    let mut b64 = String::new();
    for line in pem.lines() {
        let line = line.trim();
        if line.starts_with("-----BEGIN ") {
            inside = true;
        } else if line.starts_with("-----END ") {
            break;
        } else if inside {
            b64.push_str(line);
        }
    }
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assertion_round_trips_through_a_verifier() {
        let key = SigningKey::generate().unwrap();
        let jwt = key
            .client_assertion("client-1", "https://as.example")
            .unwrap();
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.public_jwk().clone()).unwrap();
        let decoding = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::ES256);
        validation.set_audience(&["https://as.example"]);
        let data = jsonwebtoken::decode::<Value>(&jwt, &decoding, &validation).unwrap();
        assert_eq!(data.claims["iss"], "client-1");
        assert_eq!(data.claims["sub"], "client-1");
        assert!(!format!("{key:?}").contains(&key.public_jwk()["x"].to_string()));
    }

    #[test]
    fn rejects_non_pem() {
        assert!(SigningKey::from_pkcs8_pem("not a key").is_err());
    }
}
