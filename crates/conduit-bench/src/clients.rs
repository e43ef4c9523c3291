//! The clients under measurement, behind one small trait so that a new row (another transport,
//! another SDK) is one more implementation.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

/// One calling worker: performs `tools/call` round trips one at a time.
pub(crate) trait Caller {
    /// One complete `tools/call` round trip (response read and, for SDKs, decoded).
    async fn call(&mut self) -> Result<(), String>;
}

/// A client under test: hands out workers (for 64 in flight, 64 workers call concurrently).
pub(crate) trait Target {
    /// The worker type.
    type Worker: Caller;
    /// The row label.
    fn label(&self) -> String;
    /// A new worker. SDK clients share one client (and its pool) between workers; the raw
    /// baseline gives each worker its own connection.
    async fn worker(&self) -> Result<Self::Worker, String>;
}

// ---------------------------------------------------------------------------------------------
// Baseline: hyper's own HTTP/1.1 connection, the same bytes on the wire, no JSON decoding.

/// The raw hyper baseline.
pub(crate) struct Raw {
    pub(crate) url: String,
    pub(crate) label: String,
    ids: Arc<AtomicU64>,
}

impl Raw {
    pub(crate) fn new(url: String, label: &str) -> Self {
        Raw {
            url,
            label: label.to_owned(),
            ids: Arc::new(AtomicU64::new(1)),
        }
    }
}

pub(crate) struct RawWorker {
    sender: SendRequest<Full<Bytes>>,
    uri: http::Uri,
    ids: Arc<AtomicU64>,
}

impl Target for Raw {
    type Worker = RawWorker;

    fn label(&self) -> String {
        self.label.clone()
    }

    async fn worker(&self) -> Result<RawWorker, String> {
        let uri: http::Uri = self.url.parse().map_err(|e| format!("{e}"))?;
        let authority = uri.authority().ok_or("no authority")?.as_str().to_owned();
        let stream = tokio::net::TcpStream::connect(&authority)
            .await
            .map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        Ok(RawWorker {
            sender,
            uri,
            ids: self.ids.clone(),
        })
    }
}

impl Caller for RawWorker {
    async fn call(&mut self) -> Result<(), String> {
        let id = self.ids.fetch_add(1, Ordering::Relaxed);
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"echo","arguments":{{"message":"hi"}}}}}}"#
        );
        let request = http::Request::post(self.uri.clone())
            .header(http::header::HOST, "127.0.0.1")
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::ACCEPT, "application/json, text/event-stream")
            .header("mcp-session-id", "bench-session-raw")
            .header("mcp-protocol-version", "2025-11-25")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        self.sender.ready().await.map_err(|e| e.to_string())?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("HTTP {}", response.status()));
        }
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        if body.is_empty() {
            return Err("empty body".into());
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Conduit.

/// Conduit's `Client` over a given transport.
pub(crate) struct Conduit {
    pub(crate) client: conduit::Client,
    pub(crate) label: String,
}

impl Conduit {
    pub(crate) async fn connect(url: &str, label: &str) -> Result<Self, String> {
        let client = connect_conduit(url).await?;
        Ok(Conduit {
            client,
            label: label.to_owned(),
        })
    }
}

/// A Conduit client for the stateful era (the era every client in the table speaks).
pub(crate) async fn connect_conduit(url: &str) -> Result<conduit::Client, String> {
    conduit::Client::builder(url)
        .lifecycle(conduit::LifecycleMode::Stateful)
        .listen_stream(false)
        .connect()
        .await
        .map_err(|e| format!("conduit could not connect to {url}: {e}"))
}

pub(crate) struct ConduitWorker(pub(crate) conduit::Client);

impl Target for Conduit {
    type Worker = ConduitWorker;

    fn label(&self) -> String {
        self.label.clone()
    }

    async fn worker(&self) -> Result<ConduitWorker, String> {
        Ok(ConduitWorker(self.client.clone()))
    }
}

impl Caller for ConduitWorker {
    async fn call(&mut self) -> Result<(), String> {
        let result = self
            .0
            .call_tool("echo", serde_json::json!({"message": "hi"}))
            .await
            .map_err(|e| e.to_string())?;
        if result.content.is_empty() {
            return Err("empty content".into());
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// rmcp, the official Rust SDK.

#[cfg(feature = "rmcp")]
pub(crate) mod rmcp_client {
    use super::{Caller, Target};
    use rmcp::model::CallToolRequestParams;
    use rmcp::service::{Peer, RoleClient, RunningService};
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::ServiceExt;

    /// An rmcp client (Streamable HTTP over reqwest).
    pub(crate) struct Rmcp {
        pub(crate) service: RunningService<RoleClient, ()>,
        pub(crate) label: String,
    }

    impl Rmcp {
        pub(crate) async fn connect(url: &str, label: &str) -> Result<Self, String> {
            let transport = StreamableHttpClientTransport::from_uri(url.to_owned());
            let service = ()
                .serve(transport)
                .await
                .map_err(|e| format!("rmcp could not connect to {url}: {e}"))?;
            Ok(Rmcp {
                service,
                label: label.to_owned(),
            })
        }
    }

    pub(crate) struct RmcpWorker(Peer<RoleClient>);

    impl Target for Rmcp {
        type Worker = RmcpWorker;

        fn label(&self) -> String {
            self.label.clone()
        }

        async fn worker(&self) -> Result<RmcpWorker, String> {
            Ok(RmcpWorker(self.service.peer().clone()))
        }
    }

    impl Caller for RmcpWorker {
        async fn call(&mut self) -> Result<(), String> {
            let mut args = serde_json::Map::new();
            args.insert("message".into(), serde_json::Value::from("hi"));
            let result = self
                .0
                .call_tool(CallToolRequestParams::new("echo").with_arguments(args))
                .await
                .map_err(|e| e.to_string())?;
            if result.content.is_empty() {
                return Err("empty content".into());
            }
            Ok(())
        }
    }
}
