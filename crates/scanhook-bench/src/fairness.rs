//! The fairness phase (`--hanging N`): on a fresh cluster with the sink's endpoint (the
//! healthy one), the latency phase (`--rate` for `--seconds`) runs alone, then again
//! beside N more endpoints subscribed to the same events whose receivers accept the
//! connection, read, and never answer (one raw TCP listener each), so only the server's
//! timeout ends their attempts: `--hanging-timeout` seconds (default 5; 0 leaves the
//! field out, so the server's delivery timeout, 30 s by default, applies). They keep the
//! server's default `max_in_flight`. The sink sees only the healthy endpoint's
//! deliveries, so both runs' delivered/s and p50/p99 are the healthy endpoint's alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::bail;
use serde_json::json;
use tokio::io::AsyncReadExt;
use tokio::task::JoinSet;

use crate::cluster::{Backend, Cluster};
use crate::{Args, KEY, create_webhook, load, meter, sink::Sink};

pub struct Fairness {
    pub hanging: u64,
    pub alone: load::Phase,
    pub beside: load::Phase,
    /// Connections the hanging receivers accepted during the second run.
    pub connections: u64,
}

impl Fairness {
    pub fn print(&self, args: &Args) {
        let timeout = match args.hanging_timeout {
            0 => "the server's timeout".to_string(),
            t => format!("timeout {t} s"),
        };
        println!(
            "fairness phase (the healthy endpoint at {} events/s for {} s, alone, then beside {} hanging endpoints, {timeout}):",
            args.rate, args.seconds, self.hanging
        );
        println!("  alone:");
        self.alone.print(None);
        println!("  beside {} hanging endpoints ({} connections held):", self.hanging, self.connections);
        self.beside.print(None);
        println!(
            "  beside / alone:       delivered/s {:.2}, latency p50 {:.2}, p99 {:.2}",
            self.beside.delivered / self.alone.delivered,
            self.beside.p50 / self.alone.p50,
            self.beside.p99 / self.alone.p99
        );
    }
}

/// Receivers that accept, read and never answer; they stop listening when dropped (the
/// connections they hold end when the server closes them).
struct Hanging {
    urls: Vec<String>,
    connections: Arc<AtomicU64>,
    _listeners: JoinSet<()>,
}

impl Hanging {
    async fn start(n: u64) -> anyhow::Result<Hanging> {
        let connections = Arc::new(AtomicU64::new(0));
        let mut listeners = JoinSet::new();
        let mut urls = Vec::new();
        for _ in 0..n {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            urls.push(format!("http://{}/hang", listener.local_addr()?));
            let connections = connections.clone();
            listeners.spawn(async move {
                while let Ok((mut stream, _)) = listener.accept().await {
                    connections.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(async move {
                        let mut buf = vec![0u8; 16 * 1024];
                        // Reads until the other side closes; never writes.
                        while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
                    });
                }
            });
        }
        Ok(Hanging { urls, connections, _listeners: listeners })
    }
}

pub async fn run(args: &Args, backend: &Backend, sink: &Sink, client: &reqwest::Client) -> anyhow::Result<Fairness> {
    let most = (args.hanging + 1).to_string();
    let cluster =
        Cluster::start_with(&args.binary, backend, args.last_nodes(), &[("SCANHOOK_MAX_WEBHOOKS", &most)]).await?;
    create_webhook(args, client, &cluster, &sink.url).await?;
    let meter = meter(&cluster).await?;
    let alone = load::latency(args, &cluster, &meter, sink).await?;
    let hanging = Hanging::start(args.hanging).await?;
    for url in &hanging.urls {
        let mut body = json!({"url": url, "events": ["*"]});
        if args.hanging_timeout > 0 {
            body["timeout"] = json!(args.hanging_timeout);
        }
        let base = &cluster.first()?.base;
        let resp = client.post(format!("{base}/v1/webhooks")).bearer_auth(KEY).json(&body).send().await?;
        if resp.status().as_u16() != 201 {
            bail!("creating a hanging webhook failed: {}", resp.text().await?);
        }
    }
    let beside = load::latency(args, &cluster, &meter, sink).await?;
    let connections = hanging.connections.load(Ordering::Relaxed);
    if connections == 0 {
        bail!("fairness: no request reached the hanging endpoints");
    }
    drop(cluster);
    drop(hanging);
    Ok(Fairness { hanging: args.hanging, alone, beside, connections })
}
