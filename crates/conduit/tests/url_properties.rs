//! Properties of the URL rewriting the client does on the user's behalf: the transport endpoint
//! mapping (the reference SDK's rules) and the DataGrout token endpoint derivation (without the
//! reference's bugs).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use conduit::auth::derive_token_endpoint;
use conduit::{endpoint_url, TransportKind};
use proptest::prelude::*;

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,8}(\\.[a-z]{1,8}){0,2}",
        Just("mcp.example.com".to_owned()),
        Just("gateway.datagrout.ai".to_owned()),
        Just("127.0.0.1:8080".to_owned()),
    ]
}

fn path_segment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9-]{1,10}",
        Just("mcp".to_owned()),
        Just("servers".to_owned())
    ]
}

proptest! {
    #[test]
    fn mcp_urls_are_used_as_given(url in "[ -~]{0,60}") {
        prop_assert_eq!(endpoint_url(TransportKind::Mcp, &url), url);
    }

    #[test]
    fn jsonrpc_swaps_only_a_final_mcp_segment(
        scheme in prop_oneof![Just("http"), Just("https")],
        host in host(),
        segments in proptest::collection::vec(path_segment(), 0..4),
        tail in prop_oneof![Just("/mcp"), Just(""), Just("/other")],
    ) {
        let path = segments.iter().map(|s| format!("/{s}")).collect::<String>();
        let url = format!("{scheme}://{host}{path}{tail}");
        let rewritten = endpoint_url(TransportKind::JsonRpc, &url);
        if let Some(base) = url.strip_suffix("/mcp") {
            prop_assert_eq!(rewritten, format!("{base}/rpc"));
        } else {
            prop_assert_eq!(rewritten, url);
        }
    }

    #[test]
    fn websocket_maps_the_scheme_and_keeps_the_rest(
        secure in any::<bool>(),
        host in host(),
        segments in proptest::collection::vec(path_segment(), 0..4),
    ) {
        let path = segments.iter().map(|s| format!("/{s}")).collect::<String>();
        let (http, ws) = if secure { ("https", "wss") } else { ("http", "ws") };
        let url = format!("{http}://{host}{path}");
        let rewritten = endpoint_url(TransportKind::WebSocket, &url);
        prop_assert_eq!(&rewritten, &format!("{ws}://{host}{path}"));
        // Already a WebSocket URL: unchanged (idempotent).
        prop_assert_eq!(endpoint_url(TransportKind::WebSocket, &rewritten), rewritten.clone());
    }

    #[test]
    fn gateway_urls_map_to_the_servers_token_endpoint(
        scheme in prop_oneof![Just("http"), Just("https"), Just("ws"), Just("wss")],
        host in host(),
        id in "[a-f0-9-]{1,36}",
        tail in prop_oneof![Just("/mcp"), Just("/rpc"), Just("/ws"), Just(""), Just("/mcp/")],
    ) {
        let url = format!("{scheme}://{host}/servers/{id}{tail}");
        let derived = derive_token_endpoint(&url).unwrap();
        let http = if scheme == "https" || scheme == "wss" { "https" } else { "http" };
        prop_assert_eq!(derived.as_str(), format!("{http}://{host}/servers/{id}/oauth/token"));
    }

    #[test]
    fn derivation_never_panics(url in "[ -~]{0,80}") {
        if let Ok(derived) = derive_token_endpoint(&url) {
            prop_assert!(derived.path().ends_with("/oauth/token"), "{}", derived);
            prop_assert!(matches!(derived.scheme(), "http" | "https"));
        }
    }
}
