//! DPoP (RFC 9449): proofs of possession signed with a per-client ES256 key, server nonces,
//! and an [`Authorizer`] presenting tokens with the `DPoP` scheme.
//!
//! The authorization server's nonce (§8) is handled by [`DpopProver::request_token`]: a
//! `400 use_dpop_nonce` reply with a `DPoP-Nonce` header is retried once with a new proof
//! carrying it. Nonces from `DPoP-Nonce` headers of any reply are remembered per origin.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use conduit_http::{AuthHookError, Authorizer, BoxFuture, Challenge, HttpClient, Retry};
use http::header::{HeaderValue, AUTHORIZATION};
use serde_json::{json, Value};
use url::Url;

use crate::jwt::{random_id, unix_now, SigningKey};
use crate::token::{endpoint_error, post_form, AccessToken, FormReply, TokenError, TokenSource};

/// The `DPoP` request and `DPoP-Nonce` response headers.
pub const DPOP_HEADER: &str = "dpop";
/// The header carrying a server nonce.
pub const DPOP_NONCE_HEADER: &str = "dpop-nonce";

/// Signs DPoP proofs with one key and remembers server nonces per origin.
#[derive(Clone)]
pub struct DpopProver {
    key: SigningKey,
    nonces: Arc<Mutex<HashMap<String, String>>>,
}

impl fmt::Debug for DpopProver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopProver")
            .field("jkt", &self.key.thumbprint())
            .finish_non_exhaustive()
    }
}

impl DpopProver {
    /// A prover with a fresh P-256 key.
    pub fn generate() -> Result<Self, TokenError> {
        Ok(Self::new(SigningKey::generate()?))
    }

    /// A prover with `key`.
    pub fn new(key: SigningKey) -> Self {
        DpopProver {
            key,
            nonces: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The key's JWK thumbprint (`jkt`).
    pub fn thumbprint(&self) -> String {
        self.key.thumbprint()
    }

    fn origin(url: &Url) -> String {
        url.origin().ascii_serialization()
    }

    /// Remembers `nonce` for `url`'s origin.
    pub fn set_nonce(&self, url: &Url, nonce: &str) {
        self.nonces
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(Self::origin(url), nonce.to_owned());
    }

    /// Remembers the `DPoP-Nonce` of a reply, if any; `true` when there was one.
    pub fn learn_nonce(&self, url: &Url, headers: &http::HeaderMap) -> bool {
        match headers.get(DPOP_NONCE_HEADER).and_then(|v| v.to_str().ok()) {
            Some(nonce) => {
                self.set_nonce(url, nonce);
                true
            }
            None => false,
        }
    }

    /// A fresh proof for `method` `url` (query and fragment stripped from `htu`), with `ath`
    /// when `access_token` is given and the origin's nonce when one is known.
    pub fn proof(
        &self,
        method: &str,
        url: &Url,
        access_token: Option<&str>,
    ) -> Result<String, TokenError> {
        let mut htu = url.clone();
        htu.set_query(None);
        htu.set_fragment(None);
        let mut claims = json!({
            "jti": random_id(),
            "htm": method,
            "htu": htu.as_str(),
            "iat": unix_now(),
        });
        if let Some(nonce) = self
            .nonces
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&Self::origin(url))
        {
            claims["nonce"] = Value::String(nonce.clone());
        }
        if let Some(token) = access_token {
            use sha2::Digest as _;
            claims["ath"] = Value::String(
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(sha2::Sha256::digest(token.as_bytes())),
            );
        }
        self.key.sign(Some("dpop+jwt"), true, &claims)
    }

    /// POSTs a token request with a DPoP proof and parses the token response; on
    /// `400 use_dpop_nonce` with a nonce, retries once with a proof carrying it (RFC 9449 §8).
    pub async fn request_token(
        &self,
        http: &HttpClient,
        url: &Url,
        form: &[(&str, &str)],
        authorization: Option<HeaderValue>,
        timeout: Duration,
    ) -> Result<AccessToken, TokenError> {
        let reply = self
            .post_token_form(http, url, form, authorization, timeout)
            .await?;
        crate::token::parse_token_response(url, &reply)
    }

    pub(crate) async fn post_token_form(
        &self,
        http: &HttpClient,
        url: &Url,
        form: &[(&str, &str)],
        authorization: Option<HeaderValue>,
        timeout: Duration,
    ) -> Result<FormReply, TokenError> {
        let mut retried = false;
        loop {
            let proof = header(self.proof("POST", url, None)?)?;
            let reply = post_form(
                http,
                url,
                form,
                authorization.clone(),
                &[(DPOP_HEADER, proof)],
                timeout,
            )
            .await?;
            let fresh_nonce = self.learn_nonce(url, &reply.headers);
            if !retried && fresh_nonce && reply.status == http::StatusCode::BAD_REQUEST {
                if let TokenError::Endpoint { error: Some(e), .. } = endpoint_error(url, &reply) {
                    if e == "use_dpop_nonce" {
                        retried = true;
                        continue;
                    }
                }
            }
            return Ok(reply);
        }
    }
}

fn header(value: String) -> Result<HeaderValue, TokenError> {
    HeaderValue::try_from(value).map_err(|_| TokenError::Signing {
        reason: "the DPoP proof is not a valid header value".into(),
    })
}

/// Presents a DPoP-bound token from `source` as `Authorization: DPoP <token>` with a fresh
/// proof on every request; on a 401 invalidates the token and retries once, and on a
/// `use_dpop_nonce` challenge learns the resource's `DPoP-Nonce` and retries once with it.
#[derive(Debug, Clone)]
pub struct DpopAuthorizer {
    prover: DpopProver,
    source: Arc<dyn TokenSource>,
}

impl DpopAuthorizer {
    /// An authorizer proving possession with `prover` for tokens from `source`.
    pub fn new(prover: DpopProver, source: Arc<dyn TokenSource>) -> Self {
        DpopAuthorizer { prover, source }
    }
}

impl Authorizer for DpopAuthorizer {
    fn authorize<'a>(
        &'a self,
        request: &'a mut http::request::Parts,
    ) -> BoxFuture<'a, Result<(), AuthHookError>> {
        Box::pin(async move {
            let token: AccessToken =
                self.source.token().await.map_err(|e| {
                    AuthHookError::with_source("could not obtain an access token", e)
                })?;
            let url = Url::parse(&request.uri.to_string())
                .map_err(|_| AuthHookError::new("the request URI is not a URL"))?;
            let proof = self
                .prover
                .proof(request.method.as_str(), &url, Some(token.token.expose()))
                .map_err(|e| AuthHookError::with_source("could not sign a DPoP proof", e))?;
            let mut auth = HeaderValue::try_from(format!("DPoP {}", token.token.expose()))
                .map_err(|_| AuthHookError::new("the access token cannot be sent in a header"))?;
            auth.set_sensitive(true);
            request.headers.insert(AUTHORIZATION, auth);
            request.headers.insert(
                DPOP_HEADER,
                HeaderValue::try_from(proof)
                    .map_err(|_| AuthHookError::new("invalid DPoP proof header"))?,
            );
            Ok(())
        })
    }

    fn on_unauthorized<'a>(
        &'a self,
        challenge: &'a Challenge,
    ) -> BoxFuture<'a, Result<Retry, AuthHookError>> {
        Box::pin(async move {
            if challenge.status() != http::StatusCode::UNAUTHORIZED {
                return Ok(Retry::GiveUp);
            }
            let nonce_challenge = challenge
                .www_authenticate_str()
                .any(|v| v.contains("use_dpop_nonce"));
            if let Ok(url) = Url::parse(&challenge.uri().to_string()) {
                if self.prover.learn_nonce(&url, challenge.headers()) && nonce_challenge {
                    return Ok(Retry::ResendWithNonce);
                }
            }
            if nonce_challenge {
                // A nonce challenge without a nonce: the token is fine, nothing new to try.
                return Ok(Retry::GiveUp);
            }
            self.source.invalidate();
            Ok(Retry::Resend)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proof_has_the_rfc9449_shape() {
        let prover = DpopProver::generate().unwrap();
        let url = Url::parse("https://rs.example/mcp?x=1").unwrap();
        prover.set_nonce(&url, "n1");
        let proof = prover.proof("POST", &url, Some("tok")).unwrap();
        let header = jsonwebtoken::decode_header(&proof).unwrap();
        assert_eq!(header.typ.as_deref(), Some("dpop+jwt"));
        let jwk = header.jwk.unwrap();
        let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
        v.required_spec_claims.clear();
        v.validate_exp = false;
        let claims = jsonwebtoken::decode::<Value>(&proof, &key, &v)
            .unwrap()
            .claims;
        assert_eq!(claims["htu"], "https://rs.example/mcp");
        assert_eq!(claims["htm"], "POST");
        assert_eq!(claims["nonce"], "n1");
        assert!(claims["ath"].is_string());
        assert_ne!(prover.proof("POST", &url, None).unwrap(), proof);
    }
}
