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
//! default durable SQLite, or with `--database-url postgres://…` on a fresh PostgreSQL
//! database of its own (created on that server, dropped afterwards). With `--nodes N`,
//! N servers share the one database, producers are spread over them round-robin, and
//! the CPU reported is all of theirs and PostgreSQL's (`cpu.rs`); `--nodes 1,3` runs
//! phases 1 and 2 once per count, each on a fresh database.
//!
//! 4. Report memory: a fresh server's peak RSS around one `--report-mib` report of findings,
//!    and around one of padding (bulk in fields scanhook does not read).
//!
//! 0. Ceiling (`ceiling.rs`, before any server starts): the same producers POST a
//!    delivery's body straight to the sink; phase 1's delivered/s is printed as a share of
//!    that rate.
//!
//! Then, each on a fresh cluster of the last `--nodes` count and off unless their size is
//! given: fan-out to `--fanout N` endpoints (`fanout.rs`), phase 2 alone and beside
//! `--hanging N` endpoints that never answer (`fairness.rs`), and the drain of a
//! `--backlog N` built with the dispatcher off, with the server's RSS sampled
//! (`backlog.rs`). `--phases` selects which phases run; every phase with a server prints
//! its peak RSS at its end.
//!
//! With `--prefill-deliveries N`, phases 1 and 2 run first on a server with an empty
//! database; then a second server is started (it migrates its database and the webhook is
//! created), stopped, its database filled with N past deliveries of that webhook
//! (`prefill`), and started again; phases 1 to 4 run on it, and the prefilled figures
//! are printed beside the empty ones with their ratio.

mod backlog;
mod ceiling;
mod cluster;
mod cpu;
mod fairness;
mod fanout;
mod load;
mod phases;
mod prefill;
mod producer;
mod report_memory;
mod scan_report;
mod sink;

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::json;

use cluster::{Backend, Cluster};
pub(crate) use phases::Step;

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
    /// A PostgreSQL server to run on (`postgres://user@host:port/database`; the benchmark
    /// connects to that database to create one of its own per cluster,
    /// `scanhook_bench_<pid>_<n>`, and drops it afterwards). Default: SQLite.
    #[arg(long)]
    pub(crate) database_url: Option<String>,
    /// `scanhook serve` processes on the one database (at most 16); a comma-separated list
    /// (`1,3`) runs phases 1 and 2 once per count, each on a fresh database.
    #[arg(long, value_delimiter = ',', default_value = "1",
          value_parser = clap::value_parser!(u64).range(1..=16))]
    pub(crate) nodes: Vec<u64>,
    /// Events per request in phases 1 and 2: 1 sends each with `POST /v1/events`; more
    /// (at most 100) sends them in batches with `POST /v1/events/batch`.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub(crate) batch: u64,
    /// The endpoint's `max_in_flight` (its cap of open requests on each node). Default 512,
    /// the node's own default cap across endpoints, so a run measures the engine and not
    /// the endpoint's cap; 0 leaves it out, for a binary from before the setting (an A/B).
    #[arg(long, default_value_t = 512)]
    pub(crate) endpoint_max_in_flight: u32,
    /// The phases to run, comma-separated. Default: all of them, where the ones with a size
    /// (report, report-memory, fanout, fairness, backlog) run only when it is not 0, so
    /// fanout, fairness and backlog are off unless their flag is given.
    #[arg(long, value_delimiter = ',')]
    pub(crate) phases: Option<Vec<Step>>,
    /// Endpoints of the fan-out phase, all pointing at the sink (0: off). It sends
    /// `--events / N` events, so about as many deliveries as phase 1.
    #[arg(long, default_value_t = 0)]
    pub(crate) fanout: u64,
    /// Hanging endpoints of the fairness phase (0: off): the latency phase runs alone, then
    /// beside them.
    #[arg(long, default_value_t = 0)]
    pub(crate) hanging: u64,
    /// The hanging endpoints' `timeout`, in seconds (1 to 30; 0 leaves it out, so the
    /// server's delivery timeout applies).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(0..=30))]
    pub(crate) hanging_timeout: u32,
    /// Deliveries of the backlog phase (0: off): built with the dispatcher off, then
    /// drained with it on while the server's RSS is sampled.
    #[arg(long, default_value_t = 0)]
    pub(crate) backlog: u64,
    /// A setting for every server the benchmark starts (`NAME=VALUE`, repeatable), after
    /// its own: `--server-env SCANHOOK_METRICS=false` measures a run without metrics.
    #[arg(long, value_parser = parse_setting)]
    pub(crate) server_env: Vec<(String, String)>,
    /// Export every server's traces over OTLP to a sink of the benchmark's own
    /// (`SCANHOOK_OTLP_ENDPOINT`), which answers each export 200 and counts it: the cost of
    /// tracing, measured against a run without.
    #[arg(long)]
    pub(crate) otlp: bool,
}

fn parse_setting(raw: &str) -> Result<(String, String), String> {
    match raw.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_string(), value.to_string())),
        _ => Err(format!("`{raw}` is not NAME=VALUE")),
    }
}

pub(crate) const KEY: &str = "shk_bench_admin_key_0123456789";

pub(crate) fn peak_rss_mb(pid: u32) -> Option<f64> {
    status_mb(pid, "VmHWM:")
}

/// A size of `/proc/<pid>/status` (`field` with its colon, such as `VmRSS:`), in MB.
pub(crate) fn status_mb(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
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

/// Subscribes `url` (the sink's) to every event, with `--endpoint-max-in-flight`; returns
/// the webhook's ID.
pub(crate) async fn create_webhook(
    args: &Args,
    client: &reqwest::Client,
    cluster: &Cluster,
    url: &str,
) -> anyhow::Result<String> {
    let mut body = json!({"url": url, "events": ["*"]});
    if args.endpoint_max_in_flight > 0 {
        body["max_in_flight"] = json!(args.endpoint_max_in_flight);
    }
    let resp =
        client.post(format!("{}/v1/webhooks", cluster.first()?.base)).bearer_auth(KEY).json(&body).send().await?;
    if resp.status().as_u16() != 201 {
        bail!("creating the webhook failed: {}", resp.text().await?);
    }
    let webhook: serde_json::Value = resp.json().await?;
    Ok(webhook["id"].as_str().context("the webhook's id")?.to_string())
}

/// What watches the CPU of `cluster`'s processes (and of PostgreSQL's, where it is local).
pub(crate) async fn meter(cluster: &Cluster) -> anyhow::Result<cpu::Meter> {
    Ok(match &cluster.database {
        None => cpu::Meter::sqlite(cluster.pids()),
        Some(db) => {
            let backend: i32 = db.connect().await?.query_one("SELECT pg_backend_pid()", &[]).await?.get(0);
            let backend = u32::try_from(backend).context("pg_backend_pid")?;
            cpu::Meter::postgres(cluster.pids(), backend, cluster::database_prefix())
        }
    })
}

/// The figures of one node count: on an empty database, and (with a prefill) on the
/// prefilled one.
struct Run {
    nodes: u64,
    empty: Option<load::Figures>,
    filled: Option<prefill::Filled>,
    /// On PostgreSQL, whether the prefilled rows have the server's rows' shape.
    shape: Option<bool>,
    figures: load::Figures,
}

/// Phases 1 and 2 with `nodes` servers (and the prefill, if asked); hands back the
/// figures and the cluster, still running.
async fn run(
    args: &Args,
    backend: &Backend,
    sink: &sink::Sink,
    client: &reqwest::Client,
    nodes: u64,
) -> anyhow::Result<(Run, Cluster)> {
    // With a prefill, the same phases 1 and 2 on an empty database first, for the ratio.
    let empty = match args.prefill_deliveries {
        0 => None,
        _ => {
            let cluster = Cluster::start(&args.binary, backend, nodes).await?;
            create_webhook(args, client, &cluster, &sink.url).await?;
            Some(load::run(args, &cluster, &meter(&cluster).await?, sink).await?)
        }
    };
    let mut cluster = Cluster::start(&args.binary, backend, nodes).await?;
    let webhook = create_webhook(args, client, &cluster, &sink.url).await?;
    let filled = match args.prefill_deliveries {
        0 => None,
        n => {
            cluster.stop()?;
            let filled = match (&cluster.database, cluster.sqlite_file()) {
                (Some(db), _) => prefill::postgres(&db.connect().await?, &webhook, n).await?,
                (None, Some(file)) => prefill::sqlite(&file, &webhook, n)?,
                (None, None) => bail!("the cluster has no database"),
            };
            eprintln!("prefilled {n} deliveries in {:.0} s", filled.secs);
            cluster.restart()?;
            Some(filled)
        }
    };
    let figures = load::run(args, &cluster, &meter(&cluster).await?, sink).await?;
    let shape = match (&cluster.database, &filled) {
        (Some(db), Some(_)) => Some(prefill::check_shape(&db.connect().await?).await?),
        _ => None,
    };
    Ok((Run { nodes, empty, filled, shape, figures }, cluster))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    args.check()?;
    let backend = Backend::from_url(args.database_url.as_deref()).await?;
    let sink = sink::Sink::start().await?;
    let client = reqwest::Client::builder().pool_max_idle_per_host(1024).build()?;
    let otlp = match args.otlp {
        true => Some(sink::Sink::start().await?),
        false => None,
    };
    let mut settings = args.server_env.clone();
    if let Some(otlp) = &otlp {
        let endpoint = otlp.url.trim_end_matches("/sink").to_string();
        settings.push(("SCANHOOK_OTLP_ENDPOINT".to_string(), endpoint));
    }
    for (name, value) in &settings {
        println!("every server runs with {name}={value}");
    }
    cluster::set_extra_settings(settings);

    // Phase 0: the machine's ceiling, before any server runs.
    let ceiling = match args.runs(Step::Ceiling) {
        true => Some(ceiling::run(&args, &sink).await?),
        false => None,
    };

    let mut runs = Vec::new();
    let mut last = None;
    if [Step::Throughput, Step::Latency, Step::Report].into_iter().any(|s| args.runs(s)) {
        for &nodes in &args.nodes {
            // One cluster at a time: the previous one stops (and its database goes) first.
            drop(last.take());
            let (run, cluster) = run(&args, &backend, &sink, &client, nodes).await?;
            runs.push(run);
            last = Some(cluster);
        }
    }

    // Phase 3: a large scan report, on the last cluster's first node.
    let mut report = None;
    let mut rss_after_report = None;
    if let Some(cluster) = &last
        && args.runs(Step::Report)
    {
        report = Some(scan_report::run(&client, &cluster.first()?.base, &sink, args.findings).await?);
        rss_after_report = peak_rss_mb(cluster.first()?.child.id());
    }
    drop(last);

    // Phase 4: peak memory of one large report, on fresh servers.
    let peaks = match args.runs(Step::ReportMemory) {
        // Room for the last finding and the closing brackets under the limit.
        true => report_memory::run(&args.binary, &backend, (args.report_mib << 20) - 4096).await?,
        false => Vec::new(),
    };

    // The phases of issue 14, each on a fresh cluster of the last node count.
    let fan_out = match args.runs(Step::Fanout) {
        true => Some(fanout::run(&args, &backend, &sink, &client).await?),
        false => None,
    };
    let fairness = match args.runs(Step::Fairness) {
        true => Some(fairness::run(&args, &backend, &sink, &client).await?),
        false => None,
    };
    let backlog = match args.runs(Step::Backlog) {
        true => Some(backlog::run(&args, &backend, &sink, &client).await?),
        false => None,
    };

    println!(
        "scanhook benchmark on {} ({} events, {} producers; then {} events/s for {} s)",
        backend.name(),
        args.events,
        args.concurrency,
        args.rate,
        args.seconds
    );
    if let Some(c) = &ceiling {
        c.print(&args);
    }
    for run in &runs {
        print_run(&args, run, ceiling.as_ref().map(|c| c.per_sec));
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
    if let Some(f) = &fan_out {
        f.print(&args);
    }
    if let Some(f) = &fairness {
        f.print(&args);
    }
    if let Some(b) = &backlog {
        b.print(&args);
    }
    println!("duplicate deliveries in all:  {}", sink.duplicates());
    if let Some(otlp) = &otlp {
        println!("OTLP exports received:        {}", otlp.count());
    }
    Ok(())
}

/// Prints one node count's figures; `ceiling` as in [`load::Phase::print`].
fn print_run(args: &Args, run: &Run, ceiling: Option<f64>) {
    let nodes = match run.nodes {
        1 => "1 node".to_string(),
        n => format!("{n} nodes"),
    };
    if let Some(f) = &run.filled {
        println!(
            "prefilled:  {} past events, deliveries and attempts in {:.0} s; database {:.2} GB",
            f.rows,
            f.secs,
            f.bytes as f64 / 1e9
        );
    }
    match run.shape {
        Some(true) => println!("prefilled rows: the server's shape (the same columns set as in its newest rows)"),
        Some(false) => println!("prefilled rows: NOT the server's shape (see the warnings above)"),
        None => {}
    }
    let Some(empty) = &run.empty else {
        println!("== {nodes}");
        run.figures.print(args, ceiling);
        return;
    };
    println!("== {nodes}, on an empty database:");
    empty.print(args, ceiling);
    println!("== {nodes}, on the prefilled database:");
    run.figures.print(args, ceiling);
    if let (Some(full), Some(none), Some(full_latency), Some(none_latency)) =
        (&run.figures.throughput, &empty.throughput, &run.figures.latency, &empty.latency)
    {
        println!(
            "prefilled / empty:   delivered/s {:.2}, CPU per delivery {:.2}, latency p99 {:.2} (latency phase)",
            full.delivered / none.delivered,
            full.cpu_per_delivery_us() / none.cpu_per_delivery_us(),
            full_latency.p99 / none_latency.p99
        );
    }
}
