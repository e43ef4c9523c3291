//! Onramp: a first-contact flow that turns an access code into client credentials.
//!
//! 1. `POST {gateway}/onramp` with `{agent_name, agent_type?, intended_use?, access_code?}` and
//!    no authentication; the answer carries `session_token`.
//! 2. `POST {gateway}/onramp/complete` with no body and `Authorization: Bearer <session_token>`;
//!    the answer is `{client_id, client_secret, token_url, scopes?, expires_in?, rpc_url?,
//!    mcp_url?}`.
//!
//! A `client_credentials` token from `token_url` then registers an identity
//! ([`Registrar::register`](crate::Registrar::register)).

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use conduit_http::HttpClient;
use serde_json::{json, Map, Value};

use crate::error::IdentityError;
use crate::wire::{exchange_json, join, json_request, optional_str, required_str};

/// What the agent tells the gateway about itself. `Debug` hides the access code.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct OnrampRequest {
    /// `agent_name`.
    pub agent_name: String,
    /// `agent_type`, when set.
    pub agent_type: Option<String>,
    /// `intended_use`, when set.
    pub intended_use: Option<String>,
    /// `access_code`, when set.
    pub access_code: Option<String>,
}

impl OnrampRequest {
    /// A request for an agent called `agent_name`.
    pub fn new(agent_name: impl Into<String>) -> Self {
        OnrampRequest {
            agent_name: agent_name.into(),
            ..Default::default()
        }
    }

    /// Sets `agent_type`.
    pub fn agent_type(mut self, value: impl Into<String>) -> Self {
        self.agent_type = Some(value.into());
        self
    }

    /// Sets `intended_use`.
    pub fn intended_use(mut self, value: impl Into<String>) -> Self {
        self.intended_use = Some(value.into());
        self
    }

    /// Sets `access_code`.
    pub fn access_code(mut self, value: impl Into<String>) -> Self {
        self.access_code = Some(value.into());
        self
    }

    fn to_json(&self) -> Value {
        let mut body = Map::new();
        body.insert("agent_name".into(), json!(self.agent_name));
        for (key, value) in [
            ("agent_type", &self.agent_type),
            ("intended_use", &self.intended_use),
            ("access_code", &self.access_code),
        ] {
            if let Some(v) = value {
                body.insert(key.into(), json!(v));
            }
        }
        Value::Object(body)
    }
}

impl fmt::Debug for OnrampRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnrampRequest")
            .field("agent_name", &self.agent_name)
            .field("agent_type", &self.agent_type)
            .field("intended_use", &self.intended_use)
            .field(
                "access_code",
                &self.access_code.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// The client credentials onramp hands out. `Debug` hides the secret.
#[derive(Clone)]
#[non_exhaustive]
pub struct OnrampCredentials {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret`.
    pub client_secret: String,
    /// `token_url`: where to exchange the credentials for a token.
    pub token_url: String,
    /// `scopes`, when given.
    pub scopes: Option<Vec<String>>,
    /// `expires_in`, when given.
    pub expires_in: Option<u64>,
    /// `rpc_url`, when given.
    pub rpc_url: Option<String>,
    /// `mcp_url`, when given: the MCP endpoint to connect to.
    pub mcp_url: Option<String>,
}

impl fmt::Debug for OnrampCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnrampCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("token_url", &self.token_url)
            .field("scopes", &self.scopes)
            .field("expires_in", &self.expires_in)
            .field("rpc_url", &self.rpc_url)
            .field("mcp_url", &self.mcp_url)
            .finish()
    }
}

/// Runs both onramp steps against `gateway` (a base URL such as `https://gateway.datagrout.ai`).
pub async fn onramp(
    http: &HttpClient,
    gateway: &str,
    request: &OnrampRequest,
    timeout: Duration,
) -> Result<OnrampCredentials, IdentityError> {
    let start = json_request(&join(gateway, "onramp"), &request.to_json(), None)?;
    let started = exchange_json(http, start, "onramp", timeout).await?;
    let session_token = required_str(&started, "session_token", "onramp")?;

    let complete = http::Request::post(join(gateway, "onramp/complete"))
        .header(http::header::ACCEPT, "application/json")
        .header(
            http::header::AUTHORIZATION,
            format!("Bearer {session_token}"),
        )
        .body(Bytes::new())
        .map_err(|_| IdentityError::InvalidResponse {
            what: "onramp",
            reason: "the `session_token` cannot be sent in a header".to_owned(),
        })?;
    let done = exchange_json(http, complete, "onramp completion", timeout).await?;
    let what = "onramp completion";
    Ok(OnrampCredentials {
        client_id: required_str(&done, "client_id", what)?,
        client_secret: required_str(&done, "client_secret", what)?,
        token_url: required_str(&done, "token_url", what)?,
        scopes: done.get("scopes").and_then(|v| match v {
            Value::Array(items) => Some(
                items
                    .iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect(),
            ),
            Value::String(s) => Some(s.split_whitespace().map(str::to_owned).collect()),
            _ => None,
        }),
        expires_in: done.get("expires_in").and_then(Value::as_u64),
        rpc_url: optional_str(&done, "rpc_url"),
        mcp_url: optional_str(&done, "mcp_url"),
    })
}
