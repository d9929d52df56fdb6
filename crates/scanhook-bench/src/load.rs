//! Phases 1 and 2 on a running cluster whose webhook sends everything to the sink:
//! throughput (`--events` as fast as `--concurrency` producers can send them, spread
//! round-robin over the nodes) and latency (`--rate` events/s for `--seconds`, each event
//! to the next node in turn). With `--batch N` both phases send N events per request
//! (`POST /v1/events/batch`; the latency phase a batch every N/rate seconds). Each phase reports what was accepted and delivered per
//! second, accept-to-arrival latency, the CPU the servers (and PostgreSQL) used, and the
//! servers' peak RSS at its end. The fan-out, fairness and backlog phases reuse these
//! pieces.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use bytes::Bytes;
use serde_json::json;

use crate::cluster::Cluster;
use crate::cpu::{Meter, Used};
use crate::{Args, KEY, Step, peak_rss_mb, producer, sink::Sink, wait_delivered};

/// One phase's figures.
pub struct Phase {
    pub accepted: f64,
    pub delivered: f64,
    pub p50: f64,
    pub p99: f64,
    pub cpu: Used,
    pub deliveries: u64,
    /// The servers' peak RSS (VmHWM, the largest of the nodes) at the phase's end, in MB.
    pub rss: Option<f64>,
}

impl Phase {
    /// Total CPU (scanhook and, where measured, the database) per delivery, in µs.
    pub fn cpu_per_delivery_us(&self) -> f64 {
        (self.cpu.scanhook + self.cpu.database.unwrap_or(0.0)) / self.deliveries as f64 * 1e6
    }

    /// Prints the figures; `ceiling` (the ceiling phase's requests/s) adds delivered/s as a
    /// share of it.
    pub fn print(&self, ceiling: Option<f64>) {
        println!("  accepted events/s:    {:>9.0}", self.accepted);
        match ceiling {
            Some(c) => println!(
                "  delivered/s:          {:>9.0}   ({:.0} % of the ceiling)",
                self.delivered,
                100.0 * self.delivered / c
            ),
            None => println!("  delivered/s:          {:>9.0}", self.delivered),
        }
        println!("  latency p50 (ms):     {:>9.1}   accept -> arrival", self.p50);
        println!("  latency p99 (ms):     {:>9.1}", self.p99);
        print_cpu(&self.cpu, self.deliveries);
        print_rss("  peak RSS at the end (MB):", self.rss);
    }
}

/// Prints the CPU used per delivery, and the database's share of it where it was measured.
pub fn print_cpu(cpu: &Used, deliveries: u64) {
    let per = |secs: f64| secs / deliveries as f64 * 1e6;
    let split = match cpu.database {
        Some(db) => format!(
            "scanhook {:.0} + database {:.0}; database share {:.0} %",
            per(cpu.scanhook),
            per(db),
            100.0 * db / (db + cpu.scanhook)
        ),
        None => format!("scanhook {:.0} + database n/a (in-process); database share n/a", per(cpu.scanhook)),
    };
    println!("  CPU per delivery (us): {:>8.0}   {split}", per(cpu.scanhook + cpu.database.unwrap_or(0.0)));
}

/// Prints `label` and the peak RSS in MB, or n/a.
pub fn print_rss(label: &str, mb: Option<f64>) {
    match mb {
        Some(mb) => println!("{label} {mb:>6.1}"),
        None => println!("{label}    n/a"),
    }
}

/// The largest peak RSS (VmHWM) of `cluster`'s nodes, in MB.
pub fn peak_rss(cluster: &Cluster) -> Option<f64> {
    cluster.pids().into_iter().filter_map(peak_rss_mb).reduce(f64::max)
}

pub struct Figures {
    pub throughput: Option<Phase>,
    pub latency: Option<Phase>,
    pub duplicates: u64,
    pub rss: Option<f64>,
    pub nodes: usize,
}

impl Figures {
    /// Prints the phases that ran; `ceiling` as in [`Phase::print`] (phase 1 only).
    pub fn print(&self, args: &Args, ceiling: Option<f64>) {
        let per_request = match args.batch {
            1 => String::new(),
            n => format!(", {n} per request"),
        };
        if let Some(phase) = &self.throughput {
            println!("throughput phase ({} events, {} producers{per_request}):", args.events, args.concurrency);
            phase.print(ceiling);
        }
        if let Some(phase) = &self.latency {
            println!("latency phase ({} events/s for {} s{per_request}):", args.rate, args.seconds);
            phase.print(None);
        }
        println!("duplicate deliveries:   {:>9}", self.duplicates);
        match (self.rss, self.nodes) {
            (Some(mb), 1) => println!("server peak RSS (MB):   {mb:>9.1}"),
            (Some(mb), n) => println!("server peak RSS (MB):   {mb:>9.1}   the largest of {n} nodes"),
            (None, _) => println!("server peak RSS (MB):         n/a"),
        }
    }
}

pub fn event_body(i: u64) -> serde_json::Value {
    json!({"type": "scan.completed", "data": {"scanId": format!("scan_{i}"), "violations": {"total": 5, "critical": 1}}})
}

/// A batch's body: events `from..from + n`.
pub fn batch_body(from: u64, n: u64) -> serde_json::Value {
    json!({ "events": (from..from + n).map(event_body).collect::<Vec<_>>() })
}

/// Sends events `i..i + n` (one with `POST /v1/events`, more as a batch); true if every one
/// was accepted.
async fn send_events(client: &reqwest::Client, base: &str, i: u64, n: u64) -> bool {
    if n == 1 {
        let sent = client.post(format!("{base}/v1/events")).bearer_auth(KEY).json(&event_body(i)).send().await;
        return matches!(sent, Ok(r) if r.status().as_u16() == 202);
    }
    let sent = client.post(format!("{base}/v1/events/batch")).bearer_auth(KEY).json(&batch_body(i, n)).send().await;
    match sent {
        Ok(r) if r.status().as_u16() == 200 => {
            r.bytes().await.is_ok_and(|answer| producer::accepted_in(&answer) == n as usize)
        }
        _ => false,
    }
}

/// One producer per `--concurrency`, spread round-robin over the nodes, each sending `body`
/// as its single event.
pub async fn producers(args: &Args, cluster: &Cluster, body: &Bytes) -> anyhow::Result<Vec<producer::Producer>> {
    let mut producers = Vec::new();
    for k in 0..args.concurrency as usize {
        let node = &cluster.nodes[k % cluster.nodes.len()];
        let addr = node.base.trim_start_matches("http://");
        producers.push(producer::Producer::connect(addr, KEY, body.clone()).await?);
    }
    Ok(producers)
}

/// Sends `total` events over `producers` as fast as the servers accept them, `batch` per
/// request (1: `POST /v1/events`); how many were not accepted.
pub async fn send_all(producers: Vec<producer::Producer>, total: u64, batch: u64) -> anyhow::Result<u64> {
    let next = Arc::new(AtomicU64::new(0));
    let full = Bytes::from(serde_json::to_vec(&batch_body(0, batch))?);
    let producers: Vec<_> = producers
        .into_iter()
        .map(|mut producer| {
            let (next, full) = (next.clone(), full.clone());
            tokio::spawn(async move {
                let mut failed = 0u64;
                loop {
                    let from = next.fetch_add(batch, Ordering::Relaxed);
                    if from >= total {
                        break;
                    }
                    let n = batch.min(total - from);
                    let sent = if batch == 1 {
                        producer.send().await
                    } else if n == batch {
                        producer.send_batch(full.clone(), n as usize).await
                    } else {
                        // Only the last batch may be short.
                        let body = Bytes::from(serde_json::to_vec(&batch_body(0, n)).unwrap_or_default());
                        producer.send_batch(body, n as usize).await
                    };
                    if !sent {
                        failed += n;
                    }
                }
                failed
            })
        })
        .collect();
    let mut failed = 0;
    for p in producers {
        failed += p.await?;
    }
    Ok(failed)
}

/// Phase 1 (and the fan-out phase): `events` events as fast as `--concurrency` producers
/// can send them, each delivered `per_event` times; waits until every delivery arrived.
pub async fn throughput(
    args: &Args,
    cluster: &Cluster,
    meter: &Meter,
    sink: &Sink,
    events: u64,
    per_event: u64,
) -> anyhow::Result<Phase> {
    let body = Bytes::from(serde_json::to_vec(&event_body(0))?);
    let producers = producers(args, cluster, &body).await?;
    sink.measure_latency();
    let first = sink.count();
    let deliveries = events * per_event;
    let cpu = meter.start();
    let started = Instant::now();
    let failed = send_all(producers, events, args.batch).await?;
    let accept_secs = started.elapsed().as_secs_f64();
    if failed > 0 {
        bail!("{failed} events were not accepted");
    }
    if !wait_delivered(sink, first + deliveries, Duration::from_secs(600)).await {
        bail!("only {} of {deliveries} deliveries arrived", sink.count() - first);
    }
    let deliver_secs = started.elapsed().as_secs_f64();
    let used = cpu.finish();
    let (p50, p99) = sink.percentiles();
    Ok(Phase {
        accepted: events as f64 / accept_secs,
        delivered: deliveries as f64 / deliver_secs,
        p50,
        p99,
        cpu: used,
        deliveries,
        rss: peak_rss(cluster),
    })
}

/// Phase 2 (and the fairness phase): `--rate` events/s for `--seconds`, each to the next
/// node in turn; waits until each has arrived at the sink once.
pub async fn latency(args: &Args, cluster: &Cluster, meter: &Meter, sink: &Sink) -> anyhow::Result<Phase> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(1024).build()?;
    sink.measure_latency();
    let base_count = sink.count();
    let total = args.rate * args.seconds;
    let period = Duration::from_secs_f64(args.batch as f64 / args.rate as f64);
    let urls: Vec<String> = cluster.nodes.iter().map(|n| n.base.clone()).collect();
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut sends = tokio::task::JoinSet::new();
    let cpu = meter.start();
    let started = Instant::now();
    for (k, i) in (0..total).step_by(args.batch as usize).enumerate() {
        ticker.tick().await;
        let (client, url) = (client.clone(), urls[k % urls.len()].clone());
        let n = args.batch.min(total - i);
        sends.spawn(async move { send_events(&client, &url, i, n).await });
    }
    while let Some(ok) = sends.join_next().await {
        if !ok? {
            bail!("an event was not accepted in the latency phase");
        }
    }
    let accept_secs = started.elapsed().as_secs_f64();
    if !wait_delivered(sink, base_count + total, Duration::from_secs(120)).await {
        bail!("latency phase: only {} of {total} deliveries arrived", sink.count() - base_count);
    }
    let deliver_secs = started.elapsed().as_secs_f64();
    let used = cpu.finish();
    let (p50, p99) = sink.percentiles();
    Ok(Phase {
        accepted: total as f64 / accept_secs,
        delivered: total as f64 / deliver_secs,
        p50,
        p99,
        cpu: used,
        deliveries: total,
        rss: peak_rss(cluster),
    })
}

/// Phases 1 and 2, those of them `--phases` selects.
pub async fn run(args: &Args, cluster: &Cluster, meter: &Meter, sink: &Sink) -> anyhow::Result<Figures> {
    let duplicates = sink.duplicates();
    let throughput = match args.runs(Step::Throughput) {
        true => Some(throughput(args, cluster, meter, sink, args.events, 1).await?),
        false => None,
    };
    let latency = match args.runs(Step::Latency) {
        true => Some(latency(args, cluster, meter, sink).await?),
        false => None,
    };
    // Late duplicates (a lease that ran out) arrive after the originals.
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(Figures {
        throughput,
        latency,
        duplicates: sink.duplicates() - duplicates,
        rss: peak_rss(cluster),
        nodes: cluster.nodes.len(),
    })
}
