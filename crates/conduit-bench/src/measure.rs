//! The measurements: round-trip latency and throughput, SSE parsing, memory (in child
//! processes), and the CLI against curl.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use conduit::transport::sse::SseParser;

use crate::clients::{Caller, Target};
use crate::Sizes;

/// Round-trip latency at one call in flight.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Latency {
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
    /// Client CPU time per call (this thread), when the platform reports it.
    pub(crate) cpu: Option<Duration>,
}

/// Throughput at many calls in flight.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Throughput {
    pub(crate) calls_per_sec: f64,
    pub(crate) cpu: Option<Duration>,
}

/// CPU time this thread has run, from `/proc/thread-self/schedstat` (nanoseconds, the same
/// accounting as `getrusage(RUSAGE_THREAD)` at a finer resolution). `None` off Linux.
pub(crate) fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

fn cpu_per_call(start: Option<Duration>, calls: usize) -> Option<Duration> {
    let end = thread_cpu()?;
    let spent = end.checked_sub(start?)?;
    Some(spent / calls.max(1) as u32)
}

/// `warmup` calls, then `calls` sequential calls, each timed.
pub(crate) async fn latency<T: Target>(
    target: &T,
    warmup: usize,
    calls: usize,
) -> Result<Latency, String> {
    let mut worker = target.worker().await?;
    for _ in 0..warmup {
        worker.call().await?;
    }
    let mut times = Vec::with_capacity(calls);
    let cpu_start = thread_cpu();
    for _ in 0..calls {
        let t = Instant::now();
        worker.call().await?;
        times.push(t.elapsed());
    }
    let cpu = cpu_per_call(cpu_start, calls);
    times.sort_unstable();
    let pick = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    Ok(Latency {
        p50: pick(0.50),
        p99: pick(0.99),
        cpu,
    })
}

/// `inflight` workers calling concurrently, `per_worker` calls each, after a warm-up round.
pub(crate) async fn throughput<T: Target>(
    target: &T,
    inflight: usize,
    per_worker: usize,
) -> Result<Throughput, String> {
    let mut workers = Vec::with_capacity(inflight);
    for _ in 0..inflight {
        workers.push(target.worker().await?);
    }
    for r in round::<T>(&mut workers, 2).await {
        r?;
    }
    let cpu_start = thread_cpu();
    let started = Instant::now();
    for r in round::<T>(&mut workers, per_worker).await {
        r?;
    }
    let elapsed = started.elapsed();
    let calls = inflight * per_worker;
    Ok(Throughput {
        calls_per_sec: calls as f64 / elapsed.as_secs_f64(),
        cpu: cpu_per_call(cpu_start, calls),
    })
}

/// Every worker makes `n` calls; all workers run concurrently.
async fn round<T: Target>(workers: &mut [T::Worker], n: usize) -> Vec<Result<(), String>> {
    let futures = workers.iter_mut().map(|w| async move {
        for _ in 0..n {
            w.call().await?;
        }
        Ok::<(), String>(())
    });
    futures_util::future::join_all(futures).await
}

/// SSE parsing alone: `total` bytes of 64 KiB JSON events, pushed in 64 KiB chunks.
/// Returns (bytes, events, elapsed).
pub(crate) fn sse_parser(total: usize) -> Result<(usize, usize, Duration), String> {
    let payload = format!(
        r#"{{"jsonrpc":"2.0","method":"notifications/message","params":{{"level":"info","data":"{}"}}}}"#,
        "y".repeat(64 * 1024)
    );
    let event = format!("id: 1\nevent: message\ndata: {payload}\n\n");
    let mut stream = Vec::with_capacity(total + event.len());
    while stream.len() < total {
        stream.extend_from_slice(event.as_bytes());
    }
    let mut parser = SseParser::new(16 << 20);
    let mut events = 0usize;
    let mut data_bytes = 0usize;
    let started = Instant::now();
    for chunk in stream.chunks(64 * 1024) {
        parser.push(chunk);
        while let Some(e) = parser.next_event().map_err(|e| e.to_string())? {
            events += 1;
            data_bytes += e.data.len();
        }
    }
    let elapsed = started.elapsed();
    if data_bytes == 0 {
        return Err("the parser produced no data".into());
    }
    Ok((stream.len(), events, elapsed))
}

/// Runs this binary as `--child kind url` and collects its `key=value` lines.
pub(crate) async fn spawn_child(
    kind: &str,
    url: &str,
    sizes: Sizes,
) -> Result<BTreeMap<String, f64>, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut cmd = tokio::process::Command::new(exe);
    cmd.args(["--child", kind, url])
        .args([
            sizes.sessions.to_string(),
            sizes.big_calls.to_string(),
            sizes.big_result_bytes.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(300), cmd.output())
        .await
        .map_err(|_| "the child took longer than 300 s".to_string())?
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!("the child failed ({})", output.status));
    }
    let mut values = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        if let Some((k, v)) = line.split_once('=') {
            if let Ok(v) = v.trim().parse::<f64>() {
                values.insert(k.trim().to_owned(), v);
            }
        }
    }
    Ok(values)
}

/// Reads a `kB` field of `/proc/self/status` (e.g. `VmRSS`), in bytes.
fn proc_status_bytes(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024.0)
}

/// The child side: memory and large-result measurements, printed as `key=value` lines.
pub(crate) async fn child(
    args: &[String],
    alloc: &'static cap::Cap<std::alloc::System>,
) -> Result<(), String> {
    let kind = args.first().ok_or("no child kind")?.as_str();
    let url = args.get(1).ok_or("no url")?.as_str();
    let num = |i: usize| -> Result<usize, String> {
        args.get(i)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("argument {i} is missing"))
    };
    let sessions = num(2)?;
    let big_calls = num(3)?;
    let big_bytes = num(4)?;
    match kind {
        "memory" => {
            let before = alloc.allocated();
            let client = crate::clients::connect_conduit(url).await?;
            let mut worker = crate::clients::ConduitWorker(client.clone());
            worker.call().await?;
            tokio::time::sleep(Duration::from_millis(100)).await;
            println!(
                "idle_heap_bytes={}",
                alloc.allocated().saturating_sub(before)
            );
            drop(worker);
            let rss_before = proc_status_bytes("VmRSS:").unwrap_or(0.0);
            let mut clients = Vec::with_capacity(sessions);
            for _ in 0..sessions {
                let c = crate::clients::connect_conduit(url).await?;
                crate::clients::ConduitWorker(c.clone()).call().await?;
                clients.push(c);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            print_sessions(sessions, rss_before, alloc.allocated());
            drop(client);
        }
        #[cfg(feature = "rmcp")]
        "memory-rmcp" => {
            use crate::clients::rmcp_client::Rmcp;
            let before = alloc.allocated();
            let client = Rmcp::connect(url, "rmcp").await?;
            client.worker().await?.call().await?;
            tokio::time::sleep(Duration::from_millis(100)).await;
            println!(
                "idle_heap_bytes={}",
                alloc.allocated().saturating_sub(before)
            );
            let rss_before = proc_status_bytes("VmRSS:").unwrap_or(0.0);
            let mut clients = Vec::with_capacity(sessions);
            for _ in 0..sessions {
                let c = Rmcp::connect(url, "rmcp").await?;
                c.worker().await?.call().await?;
                clients.push(c);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            print_sessions(sessions, rss_before, alloc.allocated());
            drop(client);
        }
        "sse" => {
            let client = crate::clients::connect_conduit(url).await?;
            let call = || async {
                let result = client
                    .call_tool("echo", serde_json::json!({"message": "big"}))
                    .await
                    .map_err(|e| e.to_string())?;
                Ok::<usize, String>(result.content.len())
            };
            big_result(alloc, big_calls, big_bytes, call).await?;
        }
        #[cfg(feature = "rmcp")]
        "sse-rmcp" => {
            use crate::clients::rmcp_client::Rmcp;
            use rmcp::model::CallToolRequestParams;
            let client = Rmcp::connect(url, "rmcp").await?;
            let peer = client.service.peer().clone();
            let call = || async {
                let result = peer
                    .call_tool(CallToolRequestParams::new("echo"))
                    .await
                    .map_err(|e| e.to_string())?;
                Ok::<usize, String>(result.content.len())
            };
            big_result(alloc, big_calls, big_bytes, call).await?;
        }
        "loop" => {
            // For profiling and instruction counts (`perf stat`/`perf record` of
            // `conduit-bench --child loop json N W C`): its own server, then N calls per worker
            // on the `url` endpoint name (`json` or `sse`) with W workers in flight (0 or 1:
            // one at a time), by Conduit (C = 0) or the raw hyper baseline (C = 1). Prints the
            // wall time, calls/s and this (client) thread's CPU per call.
            let server = conduit_bench::server::start(1024).map_err(|e| e.to_string())?;
            let url = server.url(url);
            let workers = big_calls.max(1);
            if big_bytes == 1 {
                let raw = crate::clients::Raw::new(url, "raw");
                client_loop(&raw, sessions, workers).await?;
            } else {
                let conduit = crate::clients::Conduit::connect(&url, "conduit").await?;
                client_loop(&conduit, sessions, workers).await?;
                let _ = conduit.client.close().await;
            }
        }
        other => return Err(format!("unknown child kind {other:?}")),
    }
    Ok(())
}

/// `calls` calls on each of `workers` concurrent workers (the `loop` child).
async fn client_loop<T: Target>(target: &T, calls: usize, workers: usize) -> Result<(), String> {
    let mut pool = Vec::with_capacity(workers);
    for _ in 0..workers {
        pool.push(target.worker().await?);
    }
    let cpu_start = thread_cpu();
    let started = Instant::now();
    for r in round::<T>(&mut pool, calls).await {
        r?;
    }
    let elapsed = started.elapsed();
    let total = calls * workers;
    println!("seconds={}", elapsed.as_secs_f64());
    println!("calls_per_sec={:.0}", total as f64 / elapsed.as_secs_f64());
    if let Some(cpu) = cpu_per_call(cpu_start, total) {
        println!("client_cpu_us_per_call={:.2}", cpu.as_secs_f64() * 1e6);
    }
    Ok(())
}

fn print_sessions(sessions: usize, rss_before: f64, heap: usize) {
    println!("sessions={sessions}");
    println!("rss_base_bytes={rss_before}");
    println!(
        "rss_sessions_bytes={}",
        proc_status_bytes("VmRSS:").unwrap_or(0.0)
    );
    println!("heap_sessions_bytes={heap}");
}

/// Receives the `/big` result `calls` times: the first call's peak heap, then throughput.
async fn big_result<F, Fut>(
    alloc: &'static cap::Cap<std::alloc::System>,
    calls: usize,
    big_bytes: usize,
    call: F,
) -> Result<(), String>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<usize, String>>,
{
    let before = alloc.allocated();
    let peak_before = alloc.max_allocated();
    if call().await? == 0 {
        return Err("the large result has no content".into());
    }
    let peak = alloc.max_allocated();
    if peak > peak_before {
        println!("peak_heap_bytes={}", peak.saturating_sub(before));
    }
    println!("result_bytes={big_bytes}");
    let started = Instant::now();
    for _ in 0..calls {
        call().await?;
    }
    let elapsed = started.elapsed();
    println!("stream_bytes={}", big_bytes * calls);
    println!("seconds={}", elapsed.as_secs_f64());
    Ok(())
}

/// The CLI's `tools list` against curl sending the same requests.
pub(crate) struct CliTimes {
    pub(crate) conduit: Result<Duration, String>,
    pub(crate) requests: u64,
    pub(crate) curl: Result<Duration, String>,
}

pub(crate) async fn cli(server: &conduit_bench::server::Server, sizes: Sizes) -> CliTimes {
    let url = server.url("json");
    let conduit_bin = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("conduit")))
        .filter(|p| p.exists());
    let before = server.requests.load(std::sync::atomic::Ordering::Relaxed);
    let conduit = match &conduit_bin {
        None => Err("the `conduit` binary is not built next to conduit-bench".to_string()),
        Some(bin) => {
            time_runs(sizes.cli_runs, || {
                let mut c = tokio::process::Command::new(bin);
                c.args(["--url", &url, "tools", "list"]);
                c
            })
            .await
        }
    };
    let after = server.requests.load(std::sync::atomic::Ordering::Relaxed);
    let requests = (after - before) / sizes.cli_runs.max(1) as u64;
    // The same exchange as the CLI's: probe, initialize, initialized, tools/list, DELETE.
    let post = |body: &str| -> Vec<String> {
        [
            "-s",
            "-o",
            "/dev/null",
            "-X",
            "POST",
            &url,
            "-H",
            "content-type: application/json",
            "-H",
            "accept: application/json, text/event-stream",
            "-H",
            "mcp-session-id: bench-session-curl",
            "-d",
            body,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let mut curl_args: Vec<String> = Vec::new();
    for (i, body) in [
        r#"{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{}}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"0"}}}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{}}"#,
    ]
    .iter()
    .enumerate()
    {
        if i > 0 {
            curl_args.push("--next".into());
        }
        curl_args.extend(post(body));
    }
    curl_args.extend(
        ["--next", "-s", "-o", "/dev/null", "-X", "DELETE", &url]
            .iter()
            .map(|s| s.to_string()),
    );
    let curl_ok = std::process::Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    let curl = if curl_ok {
        time_runs(sizes.cli_runs, || {
            let mut c = tokio::process::Command::new("curl");
            c.args(&curl_args);
            c
        })
        .await
    } else {
        Err("curl is not installed".into())
    };
    CliTimes {
        conduit,
        requests,
        curl,
    }
}

async fn time_runs(
    runs: usize,
    make: impl Fn() -> tokio::process::Command,
) -> Result<Duration, String> {
    let mut total = Duration::ZERO;
    for _ in 0..runs.max(1) {
        let mut cmd = make();
        cmd.stdout(Stdio::null()).stderr(Stdio::piped());
        let started = Instant::now();
        let out = tokio::time::timeout(Duration::from_secs(30), cmd.output())
            .await
            .map_err(|_| "timed out after 30 s".to_string())?
            .map_err(|e| e.to_string())?;
        total += started.elapsed();
        if !out.status.success() {
            return Err(format!(
                "exited with {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    Ok(total / runs.max(1) as u32)
}
