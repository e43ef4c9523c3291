//! Discovery: `WWW-Authenticate` challenges, RFC 9728 protected resource metadata, and RFC 8414
//! / OpenID Connect authorization server metadata, in the order the MCP specification sets.

use serde_json::{Map, Value};
use url::Url;

use super::error::{OAuthError, OAuthErrorKind};
use super::http::OAuthHttp;

/// The parameters of a `Bearer` challenge (RFC 6750 §3, RFC 9728 §5.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BearerChallenge {
    /// `resource_metadata`: the URL of the protected resource metadata.
    pub resource_metadata: Option<String>,
    /// `scope`: the scopes the resource requires.
    pub scope: Option<String>,
    /// `error`, e.g. `invalid_token` or `insufficient_scope`.
    pub error: Option<String>,
}

impl BearerChallenge {
    /// Parses the `WWW-Authenticate` values; the parameters of the first `Bearer` challenge
    /// win (parameters outside a Bearer challenge are ignored).
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        let mut out = BearerChallenge::default();
        for value in values {
            let mut in_bearer = false;
            for (scheme, name, val) in tokenize(value) {
                if let Some(scheme) = scheme {
                    in_bearer = scheme.eq_ignore_ascii_case("bearer")
                        || scheme.eq_ignore_ascii_case("dpop");
                }
                if !in_bearer {
                    continue;
                }
                let slot = match name.to_ascii_lowercase().as_str() {
                    "resource_metadata" => &mut out.resource_metadata,
                    "scope" => &mut out.scope,
                    "error" => &mut out.error,
                    _ => continue,
                };
                if slot.is_none() {
                    *slot = Some(val);
                }
            }
        }
        out
    }

    /// `true` for `error="insufficient_scope"`.
    pub fn is_insufficient_scope(&self) -> bool {
        self.error.as_deref() == Some("insufficient_scope")
    }
}

/// Splits a challenge list into `(scheme starting here, param name, param value)` triples.
fn tokenize(input: &str) -> Vec<(Option<String>, String, String)> {
    let mut out = Vec::new();
    let bytes = input.as_bytes();
    let mut i = 0;
    let mut pending_scheme: Option<String> = None;
    while i < bytes.len() {
        while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b',' || bytes[i] == b'\t') {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && !matches!(bytes[i], b' ' | b',' | b'=' | b'\t') {
            i += 1;
        }
        let token = &input[start..i];
        if token.is_empty() {
            if i < bytes.len() {
                i += 1;
            }
            continue;
        }
        let mut j = i;
        while j < bytes.len() && bytes[j] == b' ' {
            j += 1;
        }
        if j < bytes.len() && bytes[j] == b'=' {
            // name=value
            i = j + 1;
            while i < bytes.len() && bytes[i] == b' ' {
                i += 1;
            }
            let value = if i < bytes.len() && bytes[i] == b'"' {
                i += 1;
                let mut v = String::new();
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' && i + 1 < bytes.len() {
                        i += 1;
                    }
                    let ch_len = utf8_len(bytes[i]);
                    v.push_str(&input[i..(i + ch_len).min(bytes.len())]);
                    i += ch_len;
                }
                i += 1;
                v
            } else {
                let vs = i;
                while i < bytes.len() && bytes[i] != b',' {
                    i += 1;
                }
                input[vs..i].trim().to_owned()
            };
            out.push((pending_scheme.take(), token.to_owned(), value));
        } else {
            // A scheme name (token68 values are ignored).
            pending_scheme = Some(token.to_owned());
            out.push((pending_scheme.clone(), String::new(), String::new()));
            pending_scheme = None;
        }
    }
    out
}

fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

/// RFC 9728 protected resource metadata (the fields the flow uses; the rest is kept).
#[derive(Debug, Clone)]
pub struct ResourceMetadata {
    /// Where it was fetched from.
    pub url: String,
    /// `resource`: the protected resource's identifier.
    pub resource: String,
    /// `authorization_servers`: issuer identifiers.
    pub authorization_servers: Vec<String>,
    /// `scopes_supported`.
    pub scopes_supported: Option<Vec<String>>,
    /// The whole document.
    pub raw: Map<String, Value>,
}

/// RFC 8414 / OpenID Connect authorization server metadata.
#[derive(Debug, Clone)]
pub struct AuthorizationServerMetadata {
    /// `issuer` (checked against the issuer identifier it was discovered for), or `None` for
    /// the 2025-03-26 default endpoints used when no metadata exists.
    pub issuer: Option<String>,
    /// `authorization_endpoint`.
    pub authorization_endpoint: String,
    /// `token_endpoint`.
    pub token_endpoint: String,
    /// `registration_endpoint`.
    pub registration_endpoint: Option<String>,
    /// `scopes_supported`.
    pub scopes_supported: Option<Vec<String>>,
    /// `code_challenge_methods_supported` (`None` when absent).
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// `token_endpoint_auth_methods_supported` (`None` when absent).
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// `client_id_metadata_document_supported`.
    pub client_id_metadata_document_supported: bool,
    /// `authorization_response_iss_parameter_supported` (RFC 9207).
    pub iss_parameter_supported: bool,
    /// The URL the document was fetched from (`None` for default endpoints).
    pub url: Option<String>,
}

fn string_list(map: &Map<String, Value>, key: &str) -> Option<Vec<String>> {
    map.get(key).and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    })
}

fn string(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// `scheme://host[:port]` of a URL, without a trailing slash.
pub(crate) fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// The protected resource metadata URLs to try for `server` without a header hint: the
/// path-inserted well-known URL, then the root one.
pub fn resource_metadata_urls(server: &Url) -> Vec<String> {
    let base = origin(server);
    let path = server.path().trim_end_matches('/');
    let mut urls = Vec::new();
    if !path.is_empty() {
        urls.push(format!("{base}/.well-known/oauth-protected-resource{path}"));
    }
    urls.push(format!("{base}/.well-known/oauth-protected-resource"));
    urls
}

/// The authorization server metadata URLs to try for an issuer, in the MCP specification's
/// priority order (RFC 8414 path insertion, OpenID path insertion, OpenID path appending; for
/// an issuer without a path RFC 8414 then OpenID).
pub fn authorization_server_metadata_urls(issuer: &str) -> Result<Vec<String>, OAuthError> {
    let url = Url::parse(issuer).map_err(|e| {
        OAuthError::new(
            OAuthErrorKind::Discovery,
            format!("the authorization server issuer `{issuer}` is not a URL: {e}"),
        )
    })?;
    let base = origin(&url);
    let path = url.path().trim_end_matches('/');
    Ok(if path.is_empty() {
        vec![
            format!("{base}/.well-known/oauth-authorization-server"),
            format!("{base}/.well-known/openid-configuration"),
        ]
    } else {
        vec![
            format!("{base}/.well-known/oauth-authorization-server{path}"),
            format!("{base}/.well-known/openid-configuration{path}"),
            format!("{base}{path}/.well-known/openid-configuration"),
        ]
    })
}

/// Fetches the protected resource metadata: from the challenge's `resource_metadata` when
/// given, otherwise from the well-known URLs in order. Validates `resource` against `server`.
/// `Ok(None)` when no document exists (the caller may fall back to 2025-03-26 behaviour).
pub async fn discover_resource_metadata(
    http: &OAuthHttp,
    server: &Url,
    hint: Option<&str>,
) -> Result<Option<ResourceMetadata>, OAuthError> {
    let candidates = match hint {
        Some(url) => vec![url.to_owned()],
        None => resource_metadata_urls(server),
    };
    for url in candidates {
        let Some(doc) = http.get_json(&url).await? else {
            continue;
        };
        let resource = string(&doc, "resource").ok_or_else(|| {
            OAuthError::new(
                OAuthErrorKind::Discovery,
                format!("protected resource metadata at {url} has no `resource`"),
            )
        })?;
        check_resource(server, &resource)?;
        let authorization_servers = string_list(&doc, "authorization_servers").unwrap_or_default();
        return Ok(Some(ResourceMetadata {
            url,
            resource,
            authorization_servers,
            scopes_supported: string_list(&doc, "scopes_supported"),
            raw: doc,
        }));
    }
    Ok(None)
}

/// RFC 9728 §3.3 (as the MCP specification applies it): the metadata's `resource` must name
/// the server: the same origin, and a path that is the server's path or a prefix of it at a
/// segment boundary.
pub fn check_resource(server: &Url, resource: &str) -> Result<(), OAuthError> {
    let mismatch = || {
        OAuthError::new(
            OAuthErrorKind::ResourceMismatch,
            format!(
                "the protected resource metadata is for `{resource}`, not for this server ({})",
                server_display(server)
            ),
        )
    };
    let parsed = Url::parse(resource).map_err(|_| mismatch())?;
    if origin(&parsed) != origin(server) {
        return Err(mismatch());
    }
    let want = parsed.path().trim_end_matches('/');
    let have = server.path().trim_end_matches('/');
    if want.is_empty() || have == want || have.starts_with(&format!("{want}/")) {
        Ok(())
    } else {
        Err(mismatch())
    }
}

fn server_display(server: &Url) -> String {
    format!("{}{}", origin(server), server.path())
}

/// Fetches and validates the authorization server metadata of `issuer`. The document's
/// `issuer` must equal `issuer` exactly (RFC 8414 §3.3).
pub async fn discover_authorization_server(
    http: &OAuthHttp,
    issuer: &str,
) -> Result<Option<AuthorizationServerMetadata>, OAuthError> {
    for url in authorization_server_metadata_urls(issuer)? {
        let Some(doc) = http.get_json(&url).await? else {
            continue;
        };
        let doc_issuer = string(&doc, "issuer");
        if doc_issuer.as_deref() != Some(issuer) {
            return Err(OAuthError::new(
                OAuthErrorKind::IssuerMismatch,
                format!(
                    "authorization server metadata at {url} names issuer `{}`, expected `{issuer}`; \
                     refusing to use it",
                    doc_issuer.as_deref().unwrap_or("<none>")
                ),
            ));
        }
        let required = |key: &str| {
            string(&doc, key).ok_or_else(|| {
                OAuthError::new(
                    OAuthErrorKind::Discovery,
                    format!("authorization server metadata at {url} has no `{key}`"),
                )
            })
        };
        return Ok(Some(AuthorizationServerMetadata {
            issuer: doc_issuer,
            authorization_endpoint: required("authorization_endpoint")?,
            token_endpoint: required("token_endpoint")?,
            registration_endpoint: string(&doc, "registration_endpoint"),
            scopes_supported: string_list(&doc, "scopes_supported"),
            code_challenge_methods_supported: string_list(&doc, "code_challenge_methods_supported"),
            token_endpoint_auth_methods_supported: string_list(
                &doc,
                "token_endpoint_auth_methods_supported",
            ),
            client_id_metadata_document_supported: doc
                .get("client_id_metadata_document_supported")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            iss_parameter_supported: doc
                .get("authorization_response_iss_parameter_supported")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            url: Some(url),
        }));
    }
    Ok(None)
}

/// The 2025-03-26 default endpoints (`/authorize`, `/token`, `/register` on the server's
/// origin), used only when legacy fallback is enabled and no metadata exists.
pub fn legacy_default_endpoints(server: &Url) -> AuthorizationServerMetadata {
    let base = origin(server);
    AuthorizationServerMetadata {
        issuer: None,
        authorization_endpoint: format!("{base}/authorize"),
        token_endpoint: format!("{base}/token"),
        registration_endpoint: Some(format!("{base}/register")),
        scopes_supported: None,
        code_challenge_methods_supported: None,
        token_endpoint_auth_methods_supported: None,
        client_id_metadata_document_supported: false,
        iss_parameter_supported: false,
        url: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_challenges() {
        let c = BearerChallenge::parse([
            r#"Bearer error="insufficient_scope", scope="a b", resource_metadata="https://x/.well-known/oauth-protected-resource/mcp""#,
        ]);
        assert_eq!(c.scope.as_deref(), Some("a b"));
        assert!(c.is_insufficient_scope());
        assert_eq!(
            c.resource_metadata.as_deref(),
            Some("https://x/.well-known/oauth-protected-resource/mcp")
        );
        let c = BearerChallenge::parse([r#"Basic realm="x", Bearer scope=read"#]);
        assert_eq!(c.scope.as_deref(), Some("read"));
        let c = BearerChallenge::parse([r#"Basic realm="x", scope="no""#]);
        assert_eq!(c.scope, None);
    }

    #[test]
    fn well_known_orders() {
        let server = Url::parse("https://h.example/public/mcp").unwrap();
        assert_eq!(
            resource_metadata_urls(&server),
            [
                "https://h.example/.well-known/oauth-protected-resource/public/mcp",
                "https://h.example/.well-known/oauth-protected-resource"
            ]
        );
        assert_eq!(
            authorization_server_metadata_urls("https://a.example/tenant1").unwrap(),
            [
                "https://a.example/.well-known/oauth-authorization-server/tenant1",
                "https://a.example/.well-known/openid-configuration/tenant1",
                "https://a.example/tenant1/.well-known/openid-configuration"
            ]
        );
        assert_eq!(
            authorization_server_metadata_urls("https://a.example").unwrap(),
            [
                "https://a.example/.well-known/oauth-authorization-server",
                "https://a.example/.well-known/openid-configuration"
            ]
        );
    }

    #[test]
    fn resource_check() {
        let server = Url::parse("http://127.0.0.1:9/mcp").unwrap();
        assert!(check_resource(&server, "http://127.0.0.1:9/mcp").is_ok());
        assert!(check_resource(&server, "http://127.0.0.1:9").is_ok());
        assert!(check_resource(&server, "http://127.0.0.1:9/").is_ok());
        assert!(check_resource(&server, "http://127.0.0.1:9/mc").is_err());
        assert!(check_resource(&server, "https://evil.example.com/mcp").is_err());
        assert!(check_resource(&server, "http://127.0.0.1:10/mcp").is_err());
    }
}
