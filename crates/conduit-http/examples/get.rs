//! Fetches a URL and prints the status and the body length.
//!
//! ```sh
//! cargo run -p conduit-http --example get -- https://example.com/
//! ```
//!
//! Set `RUST_LOG`-style tracing yourself if you want logs; this example installs no subscriber.

use bytes::Bytes;
use conduit_http::{HttpClient, HttpConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: get <url>");
        std::process::exit(2);
    };
    let client = HttpClient::new(HttpConfig::builder().build()?)?;
    let request = http::Request::get(url).body(Bytes::new())?;
    let response = match client.send(request).await {
        Ok(response) => response,
        Err(err) => {
            // Print the whole cause chain: `Display` names only this layer.
            let mut message = err.to_string();
            let mut source = std::error::Error::source(&err);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            eprintln!("error: {message}");
            std::process::exit(1);
        }
    };
    let status = response.status();
    let version = response.version();
    let body = response.into_body().collect().await?;
    println!("{status} ({version:?}), {} bytes", body.len());
    Ok(())
}
