//! Phase 0, the machine's ceiling: the same load generator (`--concurrency` producers, one
//! keep-alive connection each) POSTs `--events` bodies of a delivery's size and shape (the
//! canonical envelope of phase 1's event, a fresh `X-Scanhook-Delivery` on each) straight
//! to the same sink, with no server in between. The sink does what it does for a delivery
//! (counts the ID once, reads the timestamp), so phase 1's delivered/s can be printed as a
//! share of this rate: what the engine gets of what this machine's sender and receiver
//! could do at all.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use bytes::Bytes;
use serde_json::json;

use crate::{Args, KEY, load, producer::Producer, sink::Sink};

pub struct Ceiling {
    pub requests: u64,
    pub body_bytes: usize,
    /// Requests answered per second.
    pub per_sec: f64,
}

impl Ceiling {
    pub fn print(&self, args: &Args) {
        println!(
            "ceiling phase ({} plain POSTs of {} bytes straight to the sink, {} producers):",
            self.requests, self.body_bytes, args.concurrency
        );
        println!("  requests/s:           {:>9.0}", self.per_sec);
    }
}

/// A delivery's body for phase 1's event: `{"id","type","timestamp","data"}`.
fn envelope() -> anyhow::Result<Bytes> {
    let event = load::event_body(0);
    let timestamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    // An event ID's length: `evt_` and 26 characters.
    let id = format!("evt_{:0<26}", "01KBENCH");
    let body = json!({"id": id, "type": event["type"], "timestamp": timestamp, "data": event["data"]});
    Ok(Bytes::from(serde_json::to_vec(&body)?))
}

pub async fn run(args: &Args, sink: &Sink) -> anyhow::Result<Ceiling> {
    let rest = sink.url.strip_prefix("http://").context("the sink's URL")?;
    let (addr, path) = rest.split_once('/').context("the sink's URL")?;
    let path = format!("/{path}");
    let body = envelope()?;
    let mut producers = Vec::new();
    for _ in 0..args.concurrency {
        producers.push(Producer::connect(addr, KEY, body.clone()).await?);
    }
    let next = Arc::new(AtomicU64::new(0));
    sink.measure_latency();
    let started = Instant::now();
    let tasks: Vec<_> = producers
        .into_iter()
        .map(|mut producer| {
            let (next, body, path, total) = (next.clone(), body.clone(), path.clone(), args.events);
            tokio::spawn(async move {
                let mut failed = 0u64;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        break;
                    }
                    let id = format!("dlv_ceiling_{i}");
                    let answer = producer.post(&path, body.clone(), Some(("x-scanhook-delivery", &id))).await;
                    if !matches!(answer, Some((200, _))) {
                        failed += 1;
                    }
                }
                failed
            })
        })
        .collect();
    let mut failed = 0;
    for task in tasks {
        failed += task.await?;
    }
    let secs = started.elapsed().as_secs_f64();
    if failed > 0 {
        bail!("ceiling: {failed} POSTs to the sink failed");
    }
    Ok(Ceiling { requests: args.events, body_bytes: body.len(), per_sec: args.events as f64 / secs })
}
