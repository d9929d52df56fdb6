//! The scan-report phase: one scan completes with `n` findings (JSON), then the next scan
//! of the same project finds none of them, which resolves them all. Measures how long each
//! completion takes to answer and until its events have all arrived at the sink.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::{KEY, sink::Sink, wait_delivered};

pub struct Timing {
    pub answered: Duration,
    pub delivered: Duration,
    pub events: u64,
}

async fn call(client: &reqwest::Client, url: String, body: Value) -> anyhow::Result<Value> {
    let resp = client.post(&url).bearer_auth(KEY).json(&body).send().await?;
    let status = resp.status();
    let text = resp.text().await?;
    if !status.is_success() {
        bail!("POST {url}: {status}: {text}");
    }
    Ok(serde_json::from_str(&text)?)
}

fn findings(n: u64) -> Value {
    let severities = ["high", "medium", "low", "medium", "high", "low", "medium", "low", "info", "critical"];
    let all: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "rule": format!("rule-{}", i % 50),
                "severity": severities[(i % 10) as usize],
                "file": format!("src/module_{}/file_{}.rs", i % 97, i / 97),
                "line": i % 500 + 1,
                "message": format!("Finding number {i}: user input reaches a sensitive sink"),
            })
        })
        .collect();
    Value::Array(all)
}

/// Events one completion sends: one per new or resolved violation, one `issue.critical` per
/// new critical, `scan.started`, `scan.completed` and the `critical_issue` alert.
pub async fn run(client: &reqwest::Client, base: &str, sink: &Sink, n: u64) -> anyhow::Result<(Timing, Timing)> {
    let project = call(client, format!("{base}/v1/projects"), json!({"name": "bench"})).await?;
    let project = project["id"].as_str().context("project id")?.to_string();
    let report = json!({"findings": findings(n), "score": 40});
    let first = complete(client, base, sink, &project, report).await?;
    let second = complete(client, base, sink, &project, json!({"findings": [], "score": 100})).await?;
    Ok((first, second))
}

async fn complete(
    client: &reqwest::Client,
    base: &str,
    sink: &Sink,
    project: &str,
    report: Value,
) -> anyhow::Result<Timing> {
    let before = sink.count();
    let scan = call(client, format!("{base}/v1/scans"), json!({"project": project})).await?;
    let scan = scan["id"].as_str().context("scan id")?.to_string();
    let started = Instant::now();
    let outcome = call(client, format!("{base}/v1/scans/{scan}/complete"), report).await?;
    let answered = started.elapsed();
    let changed = outcome["detected"].as_u64().unwrap_or(0) + outcome["resolved"].as_u64().unwrap_or(0);
    // At least one event per changed violation plus scan.started and scan.completed.
    let target = before + changed + 2;
    if !wait_delivered(sink, target, Duration::from_secs(600)).await {
        bail!("scan report: only {} of at least {} deliveries arrived", sink.count() - before, target - before);
    }
    // Let the rest (issue.critical, alerts) arrive, then count.
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(Timing { answered, delivered: started.elapsed(), events: sink.count() - before })
}
