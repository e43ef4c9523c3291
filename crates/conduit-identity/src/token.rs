//! A minimal OAuth 2.1 `client_credentials` token request, for bootstrap and onramp only.
//! (Long-lived token handling — caching, refresh, 401 retry — belongs to `conduit-auth`.)

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use conduit_http::HttpClient;

use crate::error::IdentityError;
use crate::wire::{exchange_json, required_str};

/// An access token. `Debug` and `Display` never show it.
#[derive(Clone)]
pub struct AccessToken(String);

impl AccessToken {
    /// The token text, to put in an `Authorization` header.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

/// Requests a token with the `client_credentials` grant: a form POST of `grant_type`,
/// `client_id`, `client_secret` (in the body, as the reference does) and `scope` when given.
/// The response must carry `access_token`.
pub async fn client_credentials_token(
    http: &HttpClient,
    token_url: &str,
    client_id: &str,
    client_secret: &str,
    scope: Option<&str>,
    timeout: Duration,
) -> Result<AccessToken, IdentityError> {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "client_credentials")
        .append_pair("client_id", client_id)
        .append_pair("client_secret", client_secret);
    if let Some(scope) = scope {
        form.append_pair("scope", scope);
    }
    let request = http::Request::post(token_url)
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(http::header::ACCEPT, "application/json")
        .body(Bytes::from(form.finish()))
        .map_err(|e| IdentityError::Config(format!("invalid token URL {token_url}: {e}")))?;
    let response = exchange_json(http, request, "token request", timeout).await?;
    Ok(AccessToken(required_str(
        &response,
        "access_token",
        "token request",
    )?))
}

/// The token endpoint of a DataGrout server URL: `{origin}/servers/{id}/oauth/token` when the
/// path has a `/servers/{id}` prefix; otherwise the last path segment when it is `mcp`, `rpc`
/// or `ws` is dropped and `/oauth/token` appended. (The reference cuts at the first `/mcp`,
/// which is wrong for `/rpc`, `/ws` and hosts starting with `mcp.`.)
pub fn derive_token_endpoint(server_url: &str) -> Result<String, IdentityError> {
    let mut url = url::Url::parse(server_url)
        .map_err(|e| IdentityError::Config(format!("invalid server URL {server_url:?}: {e}")))?;
    let segments: Vec<String> = url
        .path_segments()
        .map(|s| s.filter(|p| !p.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();
    let mut base: Vec<String> = match segments.iter().position(|s| s == "servers") {
        Some(i) if i + 1 < segments.len() => segments[..i + 2].to_vec(),
        _ => {
            let mut s = segments.clone();
            if s.last()
                .is_some_and(|last| matches!(last.as_str(), "mcp" | "rpc" | "ws"))
            {
                s.pop();
            }
            s
        }
    };
    base.push("oauth".to_owned());
    base.push("token".to_owned());
    url.set_path(&format!("/{}", base.join("/")));
    url.set_query(None);
    url.set_fragment(None);
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_endpoints() {
        for (input, expected) in [
            (
                "https://gateway.datagrout.ai/servers/u1/mcp",
                "https://gateway.datagrout.ai/servers/u1/oauth/token",
            ),
            (
                "https://gateway.datagrout.ai/servers/u1/rpc",
                "https://gateway.datagrout.ai/servers/u1/oauth/token",
            ),
            (
                "https://mcp.example.com/mcp",
                "https://mcp.example.com/oauth/token",
            ),
            ("http://127.0.0.1:9/mcp", "http://127.0.0.1:9/oauth/token"),
        ] {
            assert_eq!(derive_token_endpoint(input).unwrap(), expected, "{input}");
        }
    }

    #[test]
    fn token_is_redacted() {
        assert!(!format!("{:?}", AccessToken("s3cret".into())).contains("s3cret"));
    }
}
