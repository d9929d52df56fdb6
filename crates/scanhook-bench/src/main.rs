//! `scripts/bench`: measures a real `scanhook serve` process on this machine.
//!
//! 1. Throughput: `--events` events as fast as `--concurrency` producers can send them, one
//!    endpoint subscribed; prints accepted events/s and delivered/s.
//! 2. Latency: `--rate` events/s for `--seconds`; prints p50/p99 from accept (the event's
//!    timestamp) to arrival at the sink.
//!
//! 3. Scan report: a scan completes with `--findings` findings, then the next scan resolves
//!    them all; prints how long each completion took to answer and to deliver.
//!
//! Then the server's peak RSS (VmHWM) before and after phase 3. The server runs on its
//! default durable SQLite.
//!
//! 4. Report memory: a fresh server's peak RSS around one `--report-mib` report of findings,
//!    and around one of padding (bulk in fields scanhook does not read).
//!
//! With `--prefill-deliveries N`, phases 1 and 2 run first on a server with an empty
//! database; then a second server is started (it migrates its database and the webhook is
//! created), stopped, its database filled with N past deliveries of that webhook
//! (`prefill`), and started again; phases 1 to 4 run on it, and the prefilled figures
//! are printed beside the empty ones with their ratio.

mod load;
mod prefill;
mod producer;
mod report_memory;
mod scan_report;
mod sink;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::json;

#[derive(Debug, Parser)]
pub(crate) struct Args {
    /// The scanhook binary to run.
    #[arg(long, default_value = "target/release/scanhook")]
    pub(crate) binary: String,
    /// Events in the throughput phase.
    #[arg(long, default_value_t = 50_000)]
    pub(crate) events: u64,
    /// Concurrent producers in the throughput phase.
    #[arg(long, default_value_t = 64)]
    pub(crate) concurrency: u64,
    /// Events per second in the latency phase.
    #[arg(long, default_value_t = 1_000)]
    pub(crate) rate: u64,
    /// Length of the latency phase.
    #[arg(long, default_value_t = 10)]
    pub(crate) seconds: u64,
    /// Findings in the scan-report phase (0 skips it).
    #[arg(long, default_value_t = 100_000)]
    pub(crate) findings: u64,
    /// Size of each report in the report-memory phase, in MiB (0 skips it; at most the
    /// server's 64 MiB report limit).
    #[arg(long, default_value_t = 64)]
    pub(crate) report_mib: usize,
    /// Past events, each with one succeeded delivery and its attempt, written into the
    /// server's database before phase 1 (0: an empty database).
    #[arg(long, default_value_t = 0)]
    pub(crate) prefill_deliveries: u64,
}

pub(crate) const KEY: &str = "shk_bench_admin_key_0123456789";

pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) base: String,
    dir: Option<tempfile::TempDir>,
}

impl Server {
    /// Stops the server as an operator would (SIGTERM) and hands back its data directory.
    fn stop(mut self) -> anyhow::Result<tempfile::TempDir> {
        let pid = self.child.id().to_string();
        if !Command::new("kill").args(["-TERM", &pid]).status()?.success() {
            bail!("could not signal the server ({pid})");
        }
        let status = self.child.wait()?;
        if !status.success() {
            bail!("the server stopped with {status}");
        }
        self.dir.take().context("the server's data directory")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(binary: &str) -> anyhow::Result<Server> {
    start_server_in(binary, tempfile::tempdir()?)
}

/// Starts a server on the data directory `dir` (its database is `scanhook.db` there).
fn start_server_in(binary: &str, dir: tempfile::TempDir) -> anyhow::Result<Server> {
    let mut child = Command::new(binary)
        .arg("serve")
        .env("SCANHOOK_LISTEN", "127.0.0.1:0")
        .env("SCANHOOK_DATA_DIR", dir.path())
        .env("SCANHOOK_API_KEY", KEY)
        .env("SCANHOOK_ALLOW_PRIVATE_NETWORKS", "true")
        .env("SCANHOOK_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {binary} (build it first: cargo build --release)"))?;
    let stdout = child.stdout.take().context("stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let Some(line) = lines.next() else { bail!("scanhook exited before listening") };
        if let Some(rest) = line?.strip_prefix("scanhook listening on ") {
            break rest.split_whitespace().next().unwrap_or_default().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Ok(Server { child, base, dir: Some(dir) })
}

/// CPU seconds (user + system) the process has used, from /proc/<pid>/stat.
pub(crate) fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at ") ".
    let rest = stat.rsplit_once(") ")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

pub(crate) fn peak_rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

pub(crate) async fn wait_delivered(sink: &sink::Sink, target: u64, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while sink.count() < target {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    true
}

/// Subscribes the sink to every event; returns the webhook's ID.
async fn create_webhook(client: &reqwest::Client, server: &Server, sink: &sink::Sink) -> anyhow::Result<String> {
    let resp = client
        .post(format!("{}/v1/webhooks", server.base))
        .bearer_auth(KEY)
        .json(&json!({"url": sink.url, "events": ["*"]}))
        .send()
        .await?;
    if resp.status().as_u16() != 201 {
        bail!("creating the webhook failed: {}", resp.text().await?);
    }
    let webhook: serde_json::Value = resp.json().await?;
    Ok(webhook["id"].as_str().context("the webhook's id")?.to_string())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let sink = sink::Sink::start().await?;
    let client = reqwest::Client::builder().pool_max_idle_per_host(1024).build()?;
    // With a prefill, the same phases 1 and 2 on an empty database first, for the ratio.
    let empty = match args.prefill_deliveries {
        0 => None,
        _ => {
            let server = start_server(&args.binary)?;
            create_webhook(&client, &server, &sink).await?;
            Some(load::run(&args, &server, &sink, &client).await?)
        }
    };
    let mut server = start_server(&args.binary)?;
    let webhook = create_webhook(&client, &server, &sink).await?;
    let filled = match args.prefill_deliveries {
        0 => None,
        n => {
            let dir = server.stop()?;
            let filled = prefill::sqlite(&dir.path().join("scanhook.db"), &webhook, n)?;
            eprintln!("prefilled {n} deliveries in {:.0} s", filled.secs);
            server = start_server_in(&args.binary, dir)?;
            Some(filled)
        }
    };
    let figures = load::run(&args, &server, &sink, &client).await?;

    // Phase 3: a large scan report.
    let report = match args.findings {
        0 => None,
        n => Some(scan_report::run(&client, &server.base, &sink, n).await?),
    };
    let rss_after_report = peak_rss_mb(server.child.id());
    drop(server);

    // Phase 4: peak memory of one large report, on fresh servers.
    let peaks = match args.report_mib {
        0 => Vec::new(),
        // Room for the last finding and the closing brackets under the limit.
        mib => report_memory::run(&args.binary, (mib << 20) - 4096).await?,
    };

    println!(
        "scanhook benchmark ({} events, {} producers; then {} events/s for {} s)",
        args.events, args.concurrency, args.rate, args.seconds
    );
    if let Some(f) = filled {
        println!(
            "prefilled:  {} past events, deliveries and attempts in {:.0} s; database {:.2} GB",
            f.rows,
            f.secs,
            f.bytes as f64 / 1e9
        );
    }
    if let Some(empty) = &empty {
        println!("on an empty database:");
        empty.print(args.rate);
        println!("on the prefilled database:");
    }
    figures.print(args.rate);
    if let Some(empty) = &empty {
        println!(
            "prefilled / empty:   delivered/s {:.2}, server CPU per event {}, latency p99 {:.2}",
            figures.delivered / empty.delivered,
            match (figures.cpu_per_event_us, empty.cpu_per_event_us) {
                (Some(a), Some(b)) => format!("{:.2}", a / b),
                _ => "n/a".to_string(),
            },
            figures.p99 / empty.p99
        );
    }
    if let Some((detect, resolve)) = report {
        println!("scan report with {} findings (JSON):", args.findings);
        for (what, t) in [("detect", detect), ("resolve", resolve)] {
            println!(
                "  {what:<8} answered in {:>6.2} s, {:>7} events delivered in {:>6.2} s",
                t.answered.as_secs_f64(),
                t.events,
                t.delivered.as_secs_f64()
            );
        }
        if let Some(mb) = rss_after_report {
            println!("server peak RSS after the report (MB): {mb:>6.1}");
        }
    }
    for peak in peaks {
        println!(
            "report of {} ({:.1} MiB): server peak RSS {:.1} MB before, {:.1} MB after (+{:.1} MB)",
            peak.what,
            peak.bytes as f64 / (1 << 20) as f64,
            peak.before_mb,
            peak.after_mb,
            peak.after_mb - peak.before_mb
        );
    }
    Ok(())
}
