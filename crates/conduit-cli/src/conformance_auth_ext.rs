//! Conformance scenarios of the authorization extensions: client credentials with
//! `client_secret_basic` and `private_key_jwt`, workload-identity JWT-bearer, and
//! enterprise-managed authorization (ID-JAG exchange then JWT-bearer). Each builds the
//! authorizer an application would, from `MCP_CONFORMANCE_CONTEXT`, and hands it to the client.

use std::sync::Arc;

use conduit::auth::extensions::jwt_bearer::{IdJagRequest, JwtBearerClient, JwtBearerGrant};
use conduit::auth::{ClientCredentials, ClientCredentialsProvider, SigningKey, SourceAuthorizer};
use conduit::http::{Authorizer, HttpClient};
use serde_json::Value;

use crate::Failure;

fn fail(message: impl Into<String>) -> Failure {
    Failure {
        message: message.into(),
        code: 1,
    }
}

/// Whether `scenario` is one of ours.
pub(crate) fn handles(scenario: &str) -> bool {
    matches!(
        scenario,
        "auth/client-credentials-jwt"
            | "auth/client-credentials-basic"
            | "auth/wif-jwt-bearer"
            | "auth/enterprise-managed-authorization"
    )
}

fn context() -> Result<Value, Failure> {
    let raw = std::env::var("MCP_CONFORMANCE_CONTEXT")
        .map_err(|_| fail("MCP_CONFORMANCE_CONTEXT is not set"))?;
    serde_json::from_str(&raw)
        .map_err(|e| fail(format!("MCP_CONFORMANCE_CONTEXT is not JSON: {e}")))
}

fn field(ctx: &Value, name: &str) -> Result<String, Failure> {
    ctx.get(name)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| fail(format!("MCP_CONFORMANCE_CONTEXT has no `{name}`")))
}

/// What discovery found: the resource, the AS issuer and its token endpoint.
struct Discovered {
    resource: String,
    issuer: String,
    token_endpoint: String,
}

async fn get_json(http: &HttpClient, url: &str) -> Result<Value, Failure> {
    let request = conduit::http::reexports::http::Request::get(url)
        .header("accept", "application/json")
        .body(conduit::http::reexports::bytes::Bytes::new())
        .map_err(|e| fail(format!("bad discovery URL {url}: {e}")))?;
    let response = http
        .send_unauthenticated(request)
        .await
        .map_err(|e| fail(format!("GET {url}: {e}")))?;
    if !response.status().is_success() {
        return Err(fail(format!("GET {url}: {}", response.status())));
    }
    let body = response
        .into_body()
        .collect_limited(1024 * 1024)
        .await
        .map_err(|e| fail(format!("GET {url}: {e}")))?;
    serde_json::from_slice(&body).map_err(|e| fail(format!("GET {url}: not JSON: {e}")))
}

/// RFC 9728 then RFC 8414 discovery (path-inserted well-known URLs).
async fn discover(http: &HttpClient, server_url: &str) -> Result<Discovered, Failure> {
    let url = url::Url::parse(server_url).map_err(|e| fail(format!("bad server URL: {e}")))?;
    let origin = url.origin().ascii_serialization();
    let path = url.path().trim_end_matches('/');
    let prm = match get_json(
        http,
        &format!("{origin}/.well-known/oauth-protected-resource{path}"),
    )
    .await
    {
        Ok(prm) => prm,
        Err(_) => {
            get_json(
                http,
                &format!("{origin}/.well-known/oauth-protected-resource"),
            )
            .await?
        }
    };
    let resource = prm
        .get("resource")
        .and_then(Value::as_str)
        .unwrap_or(server_url)
        .to_owned();
    let issuer = prm
        .get("authorization_servers")
        .and_then(|a| a.get(0))
        .and_then(Value::as_str)
        .unwrap_or(&origin)
        .trim_end_matches('/')
        .to_owned();
    let as_url = url::Url::parse(&issuer).map_err(|e| fail(format!("bad issuer: {e}")))?;
    let as_path = as_url.path().trim_end_matches('/');
    let as_origin = as_url.origin().ascii_serialization();
    let meta = match get_json(
        http,
        &format!("{as_origin}/.well-known/oauth-authorization-server{as_path}"),
    )
    .await
    {
        Ok(m) => m,
        Err(_) => {
            get_json(
                http,
                &format!("{as_origin}/.well-known/openid-configuration{as_path}"),
            )
            .await?
        }
    };
    let token_endpoint = field(&meta, "token_endpoint")?;
    let issuer = meta
        .get("issuer")
        .and_then(Value::as_str)
        .unwrap_or(&issuer)
        .to_owned();
    Ok(Discovered {
        resource,
        issuer,
        token_endpoint,
    })
}

/// The authorizer for `scenario`.
pub(crate) async fn authorizer(
    scenario: &str,
    server_url: &str,
) -> Result<Arc<dyn Authorizer>, Failure> {
    let ctx = context()?;
    let http = HttpClient::with_defaults().map_err(|e| fail(e.to_string()))?;
    let found = discover(&http, server_url).await?;
    let client_id = field(&ctx, "client_id")?;
    let err = |e: conduit::auth::TokenError| fail(e.to_string());
    Ok(match scenario {
        "auth/client-credentials-basic" => {
            let config = ClientCredentials::new(client_id, field(&ctx, "client_secret")?)
                .basic_auth()
                .token_endpoint(&found.token_endpoint)
                .map_err(err)?;
            Arc::new(ClientCredentialsProvider::new(config, http))
        }
        "auth/client-credentials-jwt" => {
            let key = SigningKey::from_pkcs8_pem(&field(&ctx, "private_key_pem")?).map_err(err)?;
            let config = ClientCredentials::private_key_jwt(client_id, key)
                .assertion_audience(found.issuer)
                .token_endpoint(&found.token_endpoint)
                .map_err(err)?;
            Arc::new(ClientCredentialsProvider::new(config, http))
        }
        "auth/wif-jwt-bearer" => {
            let grant = JwtBearerGrant::new(
                &found.token_endpoint,
                field(&ctx, "valid_jwt")?,
                JwtBearerClient::Public(Some(client_id)),
            )
            .map_err(err)?;
            Arc::new(SourceAuthorizer(grant.into_source(http)))
        }
        "auth/enterprise-managed-authorization" => {
            let id_jag = IdJagRequest {
                idp_token_endpoint: url::Url::parse(&field(&ctx, "idp_token_endpoint")?)
                    .map_err(|e| fail(format!("bad idp_token_endpoint: {e}")))?,
                id_token: field(&ctx, "idp_id_token")?.into(),
                idp_client_id: field(&ctx, "idp_client_id")?,
                idp_client_secret: None,
                audience: found.issuer,
                resource: found.resource,
                scope: None,
            }
            .exchange(&http)
            .await
            .map_err(err)?;
            let grant = JwtBearerGrant::new(
                &found.token_endpoint,
                id_jag,
                JwtBearerClient::Basic {
                    client_id,
                    client_secret: field(&ctx, "client_secret")?.into(),
                },
            )
            .map_err(err)?;
            Arc::new(SourceAuthorizer(grant.into_source(http)))
        }
        other => return Err(fail(format!("not an auth extension scenario: {other}"))),
    })
}
