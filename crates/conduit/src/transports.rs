//! Building the transport a [`TransportKind`](crate::TransportKind) names, and the URL rewrites
//! the reference SDK applies for each.

use std::sync::Arc;

use conduit_http::HttpClient;
use conduit_transport::{InboundSender, Transport};

use crate::builder::TransportKind;
use crate::Error;

/// The endpoint URL a transport is given, from the URL the user configured, exactly as the
/// reference SDK rewrites it:
///
/// * [`TransportKind::Mcp`] and [`TransportKind::LegacySse`] — unchanged;
/// * [`TransportKind::JsonRpc`] — a trailing `/mcp` becomes `/rpc`; nothing else changes;
/// * [`TransportKind::WebSocket`] — `https://` becomes `wss://` and `http://` becomes `ws://`;
///   the path is kept (DataGrout serves WebSocket at `…/servers/{uuid}/ws`).
///
/// ```
/// use conduit::{endpoint_url, TransportKind};
/// assert_eq!(endpoint_url(TransportKind::JsonRpc, "https://g.example/servers/u/mcp"), "https://g.example/servers/u/rpc");
/// assert_eq!(endpoint_url(TransportKind::WebSocket, "https://g.example/servers/u/ws"), "wss://g.example/servers/u/ws");
/// assert_eq!(endpoint_url(TransportKind::WebSocket, "http://127.0.0.1:1/ws"), "ws://127.0.0.1:1/ws");
/// ```
pub fn endpoint_url(kind: TransportKind, url: &str) -> String {
    match kind {
        TransportKind::Mcp | TransportKind::LegacySse => url.to_owned(),
        #[cfg(feature = "stdio")]
        TransportKind::Stdio => url.to_owned(),
        TransportKind::JsonRpc => match url.strip_suffix("/mcp") {
            Some(base) => format!("{base}/rpc"),
            None => url.to_owned(),
        },
        TransportKind::WebSocket => {
            if let Some(rest) = url.strip_prefix("https://") {
                format!("wss://{rest}")
            } else if let Some(rest) = url.strip_prefix("http://") {
                format!("ws://{rest}")
            } else {
                url.to_owned()
            }
        }
    }
}

/// The legacy HTTP+SSE transport's settings: the defaults, with the builder's response size
/// limit.
#[cfg(feature = "http")]
pub(crate) fn legacy_config(
    max_response_bytes: Option<usize>,
) -> conduit_transport_http::legacy::LegacySseConfig {
    let defaults = conduit_transport_http::legacy::LegacySseConfig::default();
    conduit_transport_http::legacy::LegacySseConfig {
        max_message_bytes: max_response_bytes.unwrap_or(defaults.max_message_bytes),
        ..defaults
    }
}

/// Options of the non-default transports, collected by the builder.
#[derive(Clone, Debug, Default)]
pub(crate) struct TransportOptions {
    #[cfg(feature = "ws")]
    pub(crate) ws: Option<conduit_transport_ws::WsConfig>,
    /// The builder's response size limit (the legacy HTTP+SSE transport uses it too).
    pub(crate) max_response_bytes: Option<usize>,
}

/// Builds a JSON-RPC or WebSocket transport (`Mcp` is built by the builder itself).
#[allow(unused_variables)]
pub(crate) async fn build(
    kind: TransportKind,
    http: HttpClient,
    url: &str,
    options: &TransportOptions,
    inbound: InboundSender,
) -> Result<Arc<dyn Transport>, Error> {
    match kind {
        #[cfg(feature = "jsonrpc")]
        TransportKind::JsonRpc => Ok(Arc::new(
            conduit_transport_jsonrpc::JsonRpcHttp::new(http, url, Default::default())
                .map_err(|e| Error::Config(e.to_string()))?,
        )),
        #[cfg(feature = "ws")]
        TransportKind::WebSocket => {
            let config = options.ws.clone().unwrap_or_default();
            Ok(Arc::new(
                conduit_transport_ws::WebSocket::connect(http, url, config, Some(inbound)).await?,
            ))
        }
        #[cfg(feature = "http")]
        TransportKind::LegacySse => Ok(Arc::new(
            conduit_transport_http::legacy::LegacySse::connect(
                http,
                url,
                legacy_config(options.max_response_bytes),
                inbound,
            )
            .await?,
        )),
        other => Err(not_compiled_in(other, url)),
    }
}

/// The cargo feature of the `conduit` crate that compiles in `kind`.
fn feature_of(kind: TransportKind) -> &'static str {
    match kind {
        TransportKind::Mcp | TransportKind::LegacySse => "http",
        TransportKind::JsonRpc => "jsonrpc",
        TransportKind::WebSocket => "ws",
        #[cfg(feature = "stdio")]
        TransportKind::Stdio => "stdio",
    }
}

/// Whether the transport `kind` is compiled into this build.
pub(crate) fn is_compiled_in(kind: TransportKind) -> bool {
    match kind {
        TransportKind::Mcp | TransportKind::LegacySse => cfg!(feature = "http"),
        TransportKind::JsonRpc => cfg!(feature = "jsonrpc"),
        TransportKind::WebSocket => cfg!(feature = "ws"),
        #[cfg(feature = "stdio")]
        TransportKind::Stdio => true,
    }
}

fn not_compiled_in(kind: TransportKind, url: &str) -> Error {
    let name = match kind {
        TransportKind::Mcp => "Streamable HTTP (TransportKind::Mcp, the default)",
        TransportKind::LegacySse => "HTTP+SSE (TransportKind::LegacySse)",
        TransportKind::JsonRpc => "JSON-RPC over HTTP (TransportKind::JsonRpc)",
        TransportKind::WebSocket => "WebSocket (TransportKind::WebSocket)",
        #[cfg(feature = "stdio")]
        TransportKind::Stdio => "stdio (TransportKind::Stdio)",
    };
    Error::Config(format!(
        "cannot connect to {}: the {name} transport is not compiled in; enable the cargo feature `{}` of the `conduit` crate",
        redact(url),
        feature_of(kind)
    ))
}

/// The URL for a message: without query, fragment or user info, which may carry credentials.
fn redact(url: &str) -> String {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    let url = &url[..end];
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority = rest.split('/').next().unwrap_or(rest);
    match authority.rfind('@') {
        Some(at) => format!("{}{}", &url[..scheme_end], &rest[at + 1..]),
        None => url.to_owned(),
    }
}

/// Refuses, before anything is sent, a transport this build does not contain (the `conduit`
/// crate's cargo features choose them), with an error naming the feature to enable.
pub(crate) fn ensure_compiled_in(kind: TransportKind, url: &str) -> Result<(), Error> {
    if is_compiled_in(kind) {
        Ok(())
    } else {
        Err(not_compiled_in(kind, url))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_missing_transport_names_its_feature_without_leaking_credentials() {
        let Error::Config(message) = not_compiled_in(
            TransportKind::Mcp,
            "https://user:secret@g.example/servers/u/mcp?token=abc#x",
        ) else {
            panic!("not a configuration error")
        };
        assert!(message.contains("feature `http`"), "{message}");
        assert!(
            message.contains("https://g.example/servers/u/mcp"),
            "{message}"
        );
        assert!(
            !message.contains("secret") && !message.contains("abc"),
            "{message}"
        );
        let Error::Config(message) = not_compiled_in(TransportKind::WebSocket, "ws://h/a@b") else {
            panic!("not a configuration error")
        };
        assert!(message.contains("feature `ws`"), "{message}");
        assert!(message.contains("ws://h/a@b"), "{message}");
        assert_eq!(
            is_compiled_in(TransportKind::JsonRpc),
            cfg!(feature = "jsonrpc")
        );
    }

    /// Only in builds without the `http` feature (`cargo test -p conduit --no-default-features`).
    #[cfg(not(feature = "http"))]
    #[tokio::test]
    async fn connecting_over_http_without_the_feature_is_a_config_error() {
        let err = crate::Client::builder("http://127.0.0.1:9/mcp")
            .connect()
            .await
            .unwrap_err();
        match err {
            Error::Config(m) => assert!(m.contains("feature `http`"), "{m}"),
            other => panic!("expected a configuration error, got {other:?}"),
        }
    }
}
