//! Builder options of the `auth` feature: client credentials and delegation, with the
//! reference SDK's precedence (delegation > client credentials > authorization code > bearer).

use std::sync::Arc;

use conduit_auth::{ClientCredentials, ClientCredentialsProvider, DelegatedProvider};
use conduit_http::{Authorizer, HttpClient};

use crate::{ClientBuilder, Error};

/// The credential flows configured on a builder.
#[derive(Debug, Default)]
pub(crate) struct Credentials {
    client_credentials: Option<ClientCredentials>,
    token_endpoint: Option<String>,
    delegation: Option<DelegatedProvider>,
}

impl Credentials {
    /// Puts the highest-precedence credential flow on `http` (overriding a bearer token).
    pub(crate) fn install(self, http: HttpClient, url: &str) -> Result<HttpClient, Error> {
        if let Some(delegation) = self.delegation {
            return Ok(http.with_authorizer(Arc::new(delegation) as Arc<dyn Authorizer>));
        }
        if let Some(mut config) = self.client_credentials {
            if let Some(endpoint) = &self.token_endpoint {
                config = config
                    .token_endpoint(endpoint)
                    .map_err(|e| Error::Config(e.to_string()))?;
            }
            let provider = ClientCredentialsProvider::new(config, http.without_authorizer())
                .for_server(url)
                .map_err(|e| Error::Config(e.to_string()))?;
            return Ok(http.with_authorizer(Arc::new(provider)));
        }
        Ok(http)
    }
}

impl ClientBuilder {
    /// OAuth client credentials, as the reference's `client_id` + `client_secret`: the secret
    /// is sent in the token request body; the token endpoint is derived from the server URL
    /// (`…/servers/<id>/oauth/token`) unless [`token_endpoint`](Self::token_endpoint) is set.
    /// Takes precedence over [`bearer`](Self::bearer).
    pub fn client_credentials(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        self.credentials.client_credentials =
            Some(ClientCredentials::new(client_id, client_secret.into()));
        self
    }

    /// A fully configured client-credentials grant (basic auth, `private_key_jwt`, margin…).
    pub fn client_credentials_config(mut self, config: ClientCredentials) -> Self {
        self.credentials.client_credentials = Some(config);
        self
    }

    /// The scope requested by [`client_credentials`](Self::client_credentials).
    pub fn oauth_scope(mut self, scope: impl Into<String>) -> Self {
        match self.credentials.client_credentials.take() {
            Some(c) => self.credentials.client_credentials = Some(c.scope(scope)),
            None => self
                .errors
                .push("oauth_scope needs client_credentials first".into()),
        }
        self
    }

    /// The token endpoint of [`client_credentials`](Self::client_credentials) (and of the
    /// identity bootstrap's OAuth variant).
    pub fn token_endpoint(mut self, url: impl Into<String>) -> Self {
        let url = url.into();
        #[cfg(feature = "identity")]
        {
            self = self.identity_token_endpoint(url.clone());
        }
        self.credentials.token_endpoint = Some(url);
        self
    }

    /// RFC 8693 delegation; takes precedence over every other credential.
    pub fn delegation(mut self, provider: DelegatedProvider) -> Self {
        self.credentials.delegation = Some(provider);
        self
    }
}
