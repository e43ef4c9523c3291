//! `cargo xtask fuzz [--seconds N] [TARGET…]`: the cargo-fuzz targets in `fuzz/`, each run for a
//! bounded time. CI runs every target briefly; run longer by hand, e.g.
//! `cargo xtask fuzz --seconds 600 sse_parse`. Crashes are saved under
//! `fuzz/artifacts/<target>/` by libFuzzer; fix them with a regression test.
//!
//! cargo-fuzz is installed from crates.io when missing. Targets run without a sanitizer
//! (`-s none`), which works on the stable toolchain this project uses; the code under test
//! forbids `unsafe`, so the coverage-guided search for panics is what matters.

use std::path::Path;
use std::process::Command;

/// Every fuzz target, as named in `fuzz/Cargo.toml`.
pub(crate) const TARGETS: [&str; 3] = ["jsonrpc_parse", "sse_parse", "pem_load"];

fn has_cargo_fuzz() -> bool {
    Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Runs the fuzz targets named in `args` (all when none), `--seconds` each (default 10).
pub(crate) fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let mut seconds = 10u64;
    let mut targets: Vec<String> = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--seconds" => {
                let value = iter.next().ok_or("--seconds needs a number")?;
                seconds = value
                    .parse()
                    .map_err(|_| format!("--seconds takes a whole number, got {value:?}"))?;
            }
            t if TARGETS.contains(&t) => targets.push(t.to_owned()),
            other => {
                return Err(format!(
                    "unknown fuzz argument {other:?}; targets: {}",
                    TARGETS.join(", ")
                ))
            }
        }
    }
    if targets.is_empty() {
        targets = TARGETS.iter().map(|t| (*t).to_owned()).collect();
    }
    if !has_cargo_fuzz() {
        crate::run("cargo", &["install", "cargo-fuzz", "--locked"], &[])?;
    }
    let fuzz_dir = root.join("fuzz");
    let max_time = format!("-max_total_time={seconds}");
    for target in &targets {
        // New inputs go to the (ignored) working corpus; the committed seeds are read only.
        let corpus = fuzz_dir.join("corpus").join(target);
        std::fs::create_dir_all(&corpus)
            .map_err(|e| format!("could not create {}: {e}", corpus.display()))?;
        let seeds = fuzz_dir.join("seeds").join(target);
        eprintln!("xtask: fuzz {target} for {seconds} s");
        let status = Command::new("cargo")
            .args(["fuzz", "run", "-s", "none", target])
            .arg(&corpus)
            .arg(&seeds)
            .args(["--", &max_time, "-max_len=4096"])
            .current_dir(&fuzz_dir)
            .status()
            .map_err(|e| format!("could not start cargo fuzz: {e}"))?;
        if !status.success() {
            return Err(format!(
                "fuzz target {target} failed ({status}); the crashing input is in fuzz/artifacts/{target}/"
            ));
        }
    }
    Ok(())
}
