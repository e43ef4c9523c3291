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
        other => Err(Error::Config(format!(
            "the {other:?} transport is not compiled in (enable the cargo feature `{}` of the `conduit` crate)",
            match other {
                TransportKind::JsonRpc => "jsonrpc",
                TransportKind::WebSocket => "ws",
                TransportKind::Mcp | TransportKind::LegacySse => "http",
                #[cfg(feature = "stdio")]
                TransportKind::Stdio => "stdio",
            }
        ))),
    }
}
