//! The backlog phase (`--backlog N`): a fresh cluster starts with its dispatcher off
//! (`SCANHOOK_DISPATCH=false`), the sink's endpoint is created, and N events are ingested
//! through the API (`POST /v1/events/batch`, 100 per request, `--concurrency` producers;
//! one per request with `POST /v1/events` on a binary from before the batch endpoint),
//! so N deliveries are pending in the server's own shape. Then the servers stop (SIGTERM)
//! and start again with the dispatcher on, and the phase measures how fast the backlog
//! drains (from their start, start-up included, to the last arrival; CPU likewise, the
//! servers' from their start), sampling the servers' RSS (VmRSS, the largest node's) every
//! 200 ms: once they listen, when a quarter, half and three quarters have arrived, at the
//! end, the highest sample, and the peak (VmHWM; the kernel updates it lazily, so it can
//! read a little under the highest sample).

use std::time::{Duration, Instant};

use anyhow::bail;
use bytes::Bytes;

use crate::cluster::{Backend, Cluster};
use crate::cpu::Used;
use crate::{Args, KEY, create_webhook, load, meter, producer, sink::Sink};

/// Events per request of the fill.
const FILL_BATCH: u64 = 100;
/// How often the RSS is sampled.
const SAMPLE: Duration = Duration::from_millis(200);

pub struct Backlog {
    pub deliveries: u64,
    /// Events per request of the fill.
    pub batch: u64,
    pub fill_secs: f64,
    pub drain_secs: f64,
    pub cpu: Used,
    /// (deliveries arrived, VmRSS in MB), every `SAMPLE`, the first at the start.
    samples: Vec<(u64, Option<f64>)>,
    pub peak: Option<f64>,
}

impl Backlog {
    /// The RSS when at least `share` of the backlog had arrived.
    fn rss_at(&self, share: f64) -> Option<f64> {
        let target = (self.deliveries as f64 * share).ceil() as u64;
        self.samples.iter().find(|(n, _)| *n >= target).and_then(|(_, mb)| *mb)
    }

    pub fn print(&self, args: &Args) {
        println!(
            "backlog phase ({} deliveries pending, ingested in {:.1} s with the dispatcher off, {} per request, {} producers):",
            self.deliveries, self.fill_secs, self.batch, args.concurrency
        );
        println!(
            "  drained/s:            {:>9.0}   in {:.1} s",
            self.deliveries as f64 / self.drain_secs,
            self.drain_secs
        );
        load::print_cpu(&self.cpu, self.deliveries);
        let mb = |m: Option<f64>| m.map_or("n/a".to_string(), |m| format!("{m:.1}"));
        let first = self.samples.first().and_then(|(_, m)| *m);
        let last = self.samples.last().and_then(|(_, m)| *m);
        let highest = self.samples.iter().filter_map(|(_, m)| *m).reduce(f64::max);
        println!(
            "  RSS (MB):   start {}, 25 % {}, 50 % {}, 75 % {}, end {}; highest sample {}   ({} samples)",
            mb(first),
            mb(self.rss_at(0.25)),
            mb(self.rss_at(0.50)),
            mb(self.rss_at(0.75)),
            mb(last),
            mb(highest),
            self.samples.len()
        );
        load::print_rss("  peak RSS at the end (MB):", self.peak);
    }
}

/// The largest current RSS (VmRSS) of the cluster's nodes, in MB.
fn rss_now(cluster: &Cluster) -> Option<f64> {
    cluster.pids().into_iter().filter_map(|pid| crate::status_mb(pid, "VmRSS:")).reduce(f64::max)
}

pub async fn run(args: &Args, backend: &Backend, sink: &Sink, client: &reqwest::Client) -> anyhow::Result<Backlog> {
    let n = args.backlog;
    let mut cluster =
        Cluster::start_with(&args.binary, backend, args.last_nodes(), &[("SCANHOOK_DISPATCH", "false")]).await?;
    create_webhook(args, client, &cluster, &sink.url).await?;
    let before = sink.count();
    let body = Bytes::from(serde_json::to_vec(&load::event_body(0))?);
    let producers = load::producers(args, &cluster, &body).await?;
    let started = Instant::now();
    // A batch of one first: a binary from before the batch endpoint is filled one event
    // per request.
    let probe = client
        .post(format!("{}/v1/events/batch", cluster.first()?.base))
        .bearer_auth(KEY)
        .json(&load::batch_body(0, 1))
        .send()
        .await?;
    let (batch, rest) = match probe.status().as_u16() {
        200 if producer::accepted_in(&probe.bytes().await?) == 1 => (FILL_BATCH, n - 1),
        404 | 405 => (1, n),
        status => bail!("backlog: POST /v1/events/batch answered {status}"),
    };
    let failed = load::send_all(producers, rest, batch).await?;
    let fill_secs = started.elapsed().as_secs_f64();
    if failed > 0 {
        bail!("backlog: {failed} events were not accepted");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    if sink.count() != before {
        bail!("backlog: deliveries arrived with the dispatcher off (does {} know SCANHOOK_DISPATCH?)", args.binary);
    }
    cluster.stop()?;
    cluster.unset("SCANHOOK_DISPATCH");
    // From the start of the servers: a first node drains while the next ones start.
    let started = Instant::now();
    cluster.restart()?;
    let cpu = meter(&cluster).await?.start_fresh();
    let deadline = started + Duration::from_secs(600.max(n / 100));
    let mut samples = vec![(0, rss_now(&cluster))];
    let mut sampled = Instant::now();
    loop {
        let arrived = sink.count() - before;
        if arrived >= n {
            break;
        }
        if Instant::now() > deadline {
            bail!("backlog: only {arrived} of {n} deliveries arrived");
        }
        if sampled.elapsed() >= SAMPLE {
            samples.push((arrived, rss_now(&cluster)));
            sampled = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let drain_secs = started.elapsed().as_secs_f64();
    let cpu = cpu.finish();
    samples.push((sink.count() - before, rss_now(&cluster)));
    let peak = load::peak_rss(&cluster);
    Ok(Backlog { deliveries: n, batch, fill_secs, drain_secs, cpu, samples, peak })
}
