//! Discovers an mTLS identity the way the client does and prints what its certificate says.
//!
//! ```text
//! cargo run -p conduit-identity --example show_identity [IDENTITY_DIR]
//! ```

use conduit_identity::{info, ConduitIdentity, SystemEnvironment};

fn main() {
    let dir = std::env::args_os().nth(1).map(std::path::PathBuf::from);
    match ConduitIdentity::discover(dir.as_deref(), &SystemEnvironment) {
        Ok(Some(identity)) => {
            println!("source:      {}", identity.source());
            println!("subject:     {}", identity.subject());
            println!("fingerprint: {}", identity.fingerprint());
            println!("not after:   {}", info::rfc3339(identity.not_after()));
            println!("days left:   {}", identity.days_left());
        }
        Ok(None) => println!(
            "no identity found (identity dir, CONDUIT_MTLS_CERT/KEY, CONDUIT_IDENTITY_DIR, ~/.conduit, ./.conduit)"
        ),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
