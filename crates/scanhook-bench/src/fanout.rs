//! The fan-out phase (`--fanout N`): on a fresh cluster, N webhooks all point at the sink
//! (distinct URLs, `?ep=<i>`), every one subscribed to every event, so each event makes N
//! deliveries. `--events / N` events (at least one) go out as in phase 1, as fast as the
//! servers accept them, so the phase makes about as many deliveries as phase 1; it prints
//! deliveries/s, CPU per delivery and accept-to-arrival latency.

use crate::cluster::{Backend, Cluster};
use crate::{Args, create_webhook, load, meter, sink::Sink};

pub struct FanOut {
    pub endpoints: u64,
    pub events: u64,
    pub phase: load::Phase,
}

impl FanOut {
    pub fn print(&self, args: &Args) {
        println!(
            "fan-out phase ({} events to {} endpoints, {} deliveries, {} producers):",
            self.events,
            self.endpoints,
            self.events * self.endpoints,
            args.concurrency
        );
        self.phase.print(None);
    }
}

pub async fn run(args: &Args, backend: &Backend, sink: &Sink, client: &reqwest::Client) -> anyhow::Result<FanOut> {
    let endpoints = args.fanout;
    let most = endpoints.to_string();
    let cluster =
        Cluster::start_with(&args.binary, backend, args.last_nodes(), &[("SCANHOOK_MAX_WEBHOOKS", &most)]).await?;
    for i in 0..endpoints {
        create_webhook(args, client, &cluster, &format!("{}?ep={i}", sink.url)).await?;
    }
    let events = (args.events / endpoints).max(1);
    let phase = load::throughput(args, &cluster, &meter(&cluster).await?, sink, events, endpoints).await?;
    Ok(FanOut { endpoints, events, phase })
}
