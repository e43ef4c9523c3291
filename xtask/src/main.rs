//! Conduit's task runner: `cargo xtask <task>`.
//!
//! * `ci` — everything CI checks: formatting, clippy (warnings denied), the `conduit` crate's
//!   feature combinations (`cargo check`), the test suite, rustdoc (warnings denied) and the MCP
//!   conformance suite.
//! * `features` — `cargo check -p conduit` with no default features, and with each feature alone.
//! * `conformance` — only the official conformance suite, against `conduit conformance-client`.
//! * `bench` — the benchmark harness.
//!
//! The runner depends on nothing but the standard library so that it builds in seconds.

#![forbid(unsafe_code)]

mod conformance;
mod fuzz;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let task = args.first().map(String::as_str).unwrap_or("help");
    let rest = &args[args.len().min(1)..];
    let result = match task {
        "ci" => ci(),
        "fmt" => fmt_check(),
        "lint" => clippy(),
        "features" => features_check(),
        "test" => test(),
        "doc" => doc(),
        "conformance" => conformance::run(&root(), rest),
        "fuzz" => fuzz::run(&root(), rest),
        "bench" => bench(rest),
        "help" | "--help" | "-h" => {
            print_help();
            Ok(())
        }
        other => Err(format!("unknown task `{other}`; try `cargo xtask help`")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn print_help() {
    println!(
        "usage: cargo xtask <task>\n\n\
         tasks:\n  \
         ci           fmt check, clippy -D warnings, tests, rustdoc -D warnings, conformance, fuzz, bench --quick\n  \
         fmt          cargo fmt --check\n  \
         lint         cargo clippy --workspace --all-targets --all-features -- -D warnings\n  \
         features     cargo check -p conduit: --no-default-features, then each feature alone\n  \
         test         the test suite (nextest when installed, cargo test otherwise)\n  \
         doc          cargo doc --workspace --no-deps with warnings denied\n  \
         conformance  the official MCP conformance suite (client scenarios, every revision);\n               \
         `cargo xtask conformance --help` for its options\n  \
         fuzz         the cargo-fuzz targets, 10 s each (`--seconds N`, target names)\n  \
         bench        the benchmark harness (release build); writes docs/PERFORMANCE.md;\n               \
         `--quick` runs a seconds-long smoke version (debug build, writes nothing)"
    );
}

/// The workspace root: the parent of this crate's manifest directory.
pub(crate) fn root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// Runs `program args…` in the workspace root, failing with a message that names the command.
pub(crate) fn run(program: &str, args: &[&str], envs: &[(&str, &str)]) -> Result<(), String> {
    eprintln!("xtask: $ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(root())
        .status()
        .map_err(|e| format!("could not start `{program}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed ({status})", args.join(" ")))
    }
}

fn ci() -> Result<(), String> {
    fmt_check()?;
    clippy()?;
    features_check()?;
    test()?;
    doc()?;
    conformance::run(&root(), &[])?;
    fuzz::run(&root(), &["--seconds".to_owned(), "10".to_owned()])?;
    // Keeps the harness compiling and working; numbers never fail CI.
    bench(&["--quick".to_owned()])?;
    eprintln!("xtask: ci passed");
    Ok(())
}

fn fmt_check() -> Result<(), String> {
    run("cargo", &["fmt", "--all", "--", "--check"], &[])
}

fn clippy() -> Result<(), String> {
    run(
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )
}

/// The features of the `conduit` facade crate (its manifest's `[features]` table, `default`
/// left out), so that a new feature is checked without editing this file.
fn conduit_features() -> Result<Vec<String>, String> {
    let manifest = root().join("crates").join("conduit").join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .map_err(|e| format!("could not read {}: {e}", manifest.display()))?;
    let mut in_features = false;
    let mut features = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_features = line == "[features]";
            continue;
        }
        if !in_features || line.starts_with('#') {
            continue;
        }
        if let Some((name, _)) = line.split_once('=') {
            let name = name.trim();
            if !name.is_empty() && name != "default" {
                features.push(name.to_owned());
            }
        }
    }
    if features.is_empty() {
        return Err(format!("no features found in {}", manifest.display()));
    }
    Ok(features)
}

/// `cargo check -p conduit` with no default features and with each feature alone: every
/// combination a user may pick must build, without warnings (code left unused by a missing
/// feature shows up here only). `check` only, in the shared target directory.
fn features_check() -> Result<(), String> {
    check_without_warnings(&[])?;
    for feature in conduit_features()? {
        check_without_warnings(&["--features", &feature])?;
    }
    Ok(())
}

/// `cargo check -p conduit --no-default-features <extra>`, failing on errors and on warnings.
fn check_without_warnings(extra: &[&str]) -> Result<(), String> {
    let mut args = vec!["check", "-p", "conduit", "--no-default-features"];
    args.extend_from_slice(extra);
    eprintln!("xtask: $ cargo {}", args.join(" "));
    let output = Command::new("cargo")
        .args(&args)
        .current_dir(root())
        .output()
        .map_err(|e| format!("could not start `cargo`: {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprint!("{stderr}");
    if !output.status.success() {
        return Err(format!(
            "`cargo {}` failed ({})",
            args.join(" "),
            output.status
        ));
    }
    if stderr.lines().any(|l| l.starts_with("warning")) {
        return Err(format!("`cargo {}` produced warnings", args.join(" ")));
    }
    Ok(())
}

fn has_nextest() -> bool {
    Command::new("cargo")
        .args(["nextest", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// The test suite. The interop tests need Node 22 and the reference server, so the pinned
/// conformance tooling is installed first and its paths exported as `CONDUIT_NODE`,
/// `CONDUIT_SERVER_EVERYTHING` and `CONDUIT_OAUTH2_MOCK_SERVER`.
fn test() -> Result<(), String> {
    let tooling = conformance::install(&root())?;
    let env = tooling.env()?;
    if has_nextest() {
        run(
            "cargo",
            &[
                "nextest",
                "run",
                "--workspace",
                "--all-features",
                "--no-fail-fast",
            ],
            &env,
        )?;
        // nextest does not run doctests.
        run(
            "cargo",
            &["test", "--workspace", "--all-features", "--doc"],
            &env,
        )
    } else {
        run("cargo", &["test", "--workspace", "--all-features"], &env)
    }
}

fn doc() -> Result<(), String> {
    run(
        "cargo",
        &["doc", "--workspace", "--no-deps", "--all-features"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )
}

/// `cargo xtask bench [--quick]`: builds the `conduit` CLI and the `conduit-bench` harness (with
/// its `rmcp` feature, so rmcp is compiled only here and in `--all-features` builds) and runs the
/// harness. The full run uses the release profile and writes `docs/PERFORMANCE.md`; `--quick`
/// uses the dev profile (already built by the test step of `ci`) and writes nothing.
fn bench(rest: &[String]) -> Result<(), String> {
    let quick = rest.iter().any(|a| a == "--quick");
    // Quick: the same feature set as the test step (`--workspace --all-features`), so the
    // artifacts are already there. Full: only what the harness runs, optimised.
    let build: Vec<&str> = if quick {
        vec!["build", "--workspace", "--all-features"]
    } else {
        vec![
            "build",
            "--release",
            "-p",
            "conduit-cli",
            "-p",
            "conduit-bench",
            "--features",
            "conduit-bench/rmcp",
        ]
    };
    run("cargo", &build, &[])?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let exe = target
        .join(if quick { "debug" } else { "release" })
        .join("conduit-bench");
    let exe = exe.to_string_lossy().into_owned();
    let out = root().join("docs").join("PERFORMANCE.md");
    let out = out.to_string_lossy().into_owned();
    let mut args: Vec<&str> = Vec::new();
    if quick {
        args.extend(["--quick", "--command", "cargo xtask bench --quick"]);
    } else {
        args.extend(["--write", &out, "--command", "cargo xtask bench"]);
    }
    run(&exe, &args, &[])
}
