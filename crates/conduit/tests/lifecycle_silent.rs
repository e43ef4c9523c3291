//! `LifecycleMode::Auto` against a legacy server that never answers `server/discover`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use conduit::{Client, Era, Error, LifecycleMode};
use conduit_testkit::{DiscoverRejection, EraSupport, Faults, GatewayConfig, TestGateway};

async fn silent_legacy_gateway() -> TestGateway {
    TestGateway::start(
        GatewayConfig::default()
            .era(EraSupport::StatefulOnly)
            .discover_rejection(DiscoverRejection::Silent),
    )
    .await
    .expect("gateway starts")
}

#[tokio::test]
async fn auto_falls_back_to_initialize_when_discover_goes_unanswered() {
    let gw = silent_legacy_gateway().await;
    let client = Client::builder(gw.url())
        .lifecycle(LifecycleMode::Auto)
        .timeout(Duration::from_secs(30))
        .discover_timeout(Duration::from_millis(300))
        .connect()
        .await
        .expect("connects through the initialize fallback");
    assert_eq!(client.era(), Some(Era::Stateful));
    assert_eq!(gw.requests_for("server/discover").len(), 1);
    assert_eq!(gw.requests_for("initialize").len(), 1);
    let tools = client.list_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "echo"));
    client.close().await.unwrap();
}

#[tokio::test]
async fn both_failures_are_reported_when_the_fallback_fails_too() {
    let gw = silent_legacy_gateway().await;
    gw.set_faults(Faults {
        initialize_version: Some("1999-01-01".into()),
        ..Faults::default()
    });
    let Err(err) = Client::builder(gw.url())
        .timeout(Duration::from_secs(30))
        .discover_timeout(Duration::from_millis(300))
        .connect()
        .await
    else {
        panic!("no session can begin");
    };
    match &err {
        Error::Handshake {
            discover,
            initialize,
        } => {
            assert!(
                matches!(**discover, Error::Timeout { ref method, .. } if method == "server/discover"),
                "{discover:?}"
            );
            assert!(
                matches!(**initialize, Error::UnsupportedVersion { ref received, .. } if received == "1999-01-01"),
                "{initialize:?}"
            );
        }
        other => panic!("expected both failures, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("server/discover") && text.contains("1999-01-01"),
        "{text}"
    );
}

#[tokio::test]
async fn a_zero_discover_timeout_is_a_configuration_error() {
    let Err(err) = Client::builder("http://127.0.0.1:9/mcp")
        .discover_timeout(Duration::ZERO)
        .connect()
        .await
    else {
        panic!("refused");
    };
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert!(err.to_string().contains("discover timeout"), "{err}");
}
