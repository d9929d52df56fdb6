//! Phases 1 and 2 on a running server whose webhook sends everything to the sink:
//! throughput (`--events` as fast as `--concurrency` producers can send them) and latency
//! (`--rate` events/s for `--seconds`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use bytes::Bytes;
use serde_json::json;

use crate::{Args, KEY, Server, cpu_secs, peak_rss_mb, producer, sink::Sink, wait_delivered};

pub struct Figures {
    pub accepted: f64,
    pub delivered: f64,
    pub cpu_per_event_us: Option<f64>,
    pub p50: f64,
    pub p99: f64,
    pub rss: Option<f64>,
}

impl Figures {
    pub fn print(&self, rate: u64) {
        println!("accepted events/s:   {:>10.0}", self.accepted);
        println!("delivered/s:         {:>10.0}", self.delivered);
        if let Some(us) = self.cpu_per_event_us {
            println!("server CPU per event (us): {us:>4.0}   user + system, throughput phase");
        }
        println!("latency p50 (ms):    {:>10.1}   accept -> arrival at {rate} events/s", self.p50);
        println!("latency p99 (ms):    {:>10.1}", self.p99);
        match self.rss {
            Some(mb) => println!("server peak RSS (MB): {mb:>9.1}"),
            None => println!("server peak RSS (MB):       n/a"),
        }
    }
}

fn event_body(i: u64) -> serde_json::Value {
    json!({"type": "scan.completed", "data": {"scanId": format!("scan_{i}"), "violations": {"total": 5, "critical": 1}}})
}

async fn send_event(client: &reqwest::Client, url: &str, i: u64) -> bool {
    matches!(client.post(url).bearer_auth(KEY).json(&event_body(i)).send().await, Ok(r) if r.status().as_u16() == 202)
}

pub async fn run(args: &Args, server: &Server, sink: &Sink, client: &reqwest::Client) -> anyhow::Result<Figures> {
    let events_url = format!("{}/v1/events", server.base);

    // Phase 1: throughput.
    let cpu_before = cpu_secs(server.child.id());
    let next = Arc::new(AtomicU64::new(0));
    let addr = server.base.trim_start_matches("http://").to_string();
    let body = Bytes::from(serde_json::to_vec(&event_body(0))?);
    let mut producers = Vec::new();
    for _ in 0..args.concurrency {
        producers.push(producer::Producer::connect(&addr, KEY, body.clone()).await?);
    }
    let first = sink.count();
    let started = Instant::now();
    let producers: Vec<_> = producers
        .into_iter()
        .map(|mut producer| {
            let (next, total) = (next.clone(), args.events);
            tokio::spawn(async move {
                let mut failed = 0u64;
                while next.fetch_add(1, Ordering::Relaxed) < total {
                    if !producer.send().await {
                        failed += 1;
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
    let accept_secs = started.elapsed().as_secs_f64();
    if failed > 0 {
        bail!("{failed} events were not accepted");
    }
    if !wait_delivered(sink, first + args.events, Duration::from_secs(600)).await {
        bail!("only {} of {} deliveries arrived", sink.count() - first, args.events);
    }
    let deliver_secs = started.elapsed().as_secs_f64();
    let cpu_per_event_us = match (cpu_before, cpu_secs(server.child.id())) {
        (Some(before), Some(after)) => Some((after - before) / args.events as f64 * 1e6),
        _ => None,
    };

    // Phase 2: latency at a fixed rate.
    sink.measure_latency();
    let base_count = sink.count();
    let total = args.rate * args.seconds;
    let period = Duration::from_secs_f64(1.0 / args.rate as f64);
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..total {
        ticker.tick().await;
        let (client, url) = (client.clone(), events_url.clone());
        sends.spawn(async move { send_event(&client, &url, i).await });
    }
    while let Some(ok) = sends.join_next().await {
        if !ok? {
            bail!("an event was not accepted in the latency phase");
        }
    }
    if !wait_delivered(sink, base_count + total, Duration::from_secs(120)).await {
        bail!("latency phase: only {} of {total} deliveries arrived", sink.count() - base_count);
    }
    let (p50, p99) = sink.percentiles();
    let rss = peak_rss_mb(server.child.id());
    Ok(Figures {
        accepted: args.events as f64 / accept_secs,
        delivered: args.events as f64 / deliver_secs,
        cpu_per_event_us,
        p50,
        p99,
        rss,
    })
}
