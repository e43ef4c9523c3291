//! Runs a test gateway in the foreground until Ctrl-C.
//!
//! `cargo run -p conduit-testkit --example serve [-- --sse] [-- --port 8080]`

use conduit_testkit::{GatewayConfig, ResponseMode, TestGateway};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut config = GatewayConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--sse" => config = config.response_mode(ResponseMode::Sse),
            "--port" => {
                let port: u16 = args.next().and_then(|p| p.parse().ok()).ok_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::InvalidInput, "--port needs a number")
                })?;
                config = config.listen(([127, 0, 0, 1], port).into());
            }
            other => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("unknown argument {other:?} (expected --sse or --port N)"),
                ))
            }
        }
    }
    let gateway = TestGateway::start(config).await?;
    println!("{}", gateway.url());
    tokio::select! {
        () = gateway.wait() => {}
        result = tokio::signal::ctrl_c() => result?,
    }
    gateway.shutdown().await;
    Ok(())
}
