//! The report-memory phase: what one large scan report costs the server in peak memory.
//! Each report goes to a fresh server, so its peak RSS (VmHWM) is the report's alone: one
//! of findings (scanhook's JSON; all one finding moved around, so the store's work stays
//! small and the parse is what is measured), and one SARIF log whose bulk sits in fields
//! scanhook does not read (rule and result property bags).

use anyhow::{Context, bail};
use serde_json::json;

use crate::cluster::{Backend, Cluster};
use crate::{KEY, peak_rss_mb};

pub struct Peak {
    pub what: &'static str,
    pub bytes: usize,
    pub before_mb: f64,
    pub after_mb: f64,
}

/// A JSON report of about `bytes` bytes of findings.
fn findings_report(bytes: usize) -> String {
    let one = |i: usize| {
        format!(
            r#"{{"rule":"python.sql-injection","severity":"high","file":"src/app/db.py","line":{},"message":"User input reaches a SQL query built with string formatting"}}"#,
            i % 5000 + 1
        )
    };
    let mut out = String::with_capacity(bytes + 256);
    out.push_str(r#"{"findings":["#);
    let mut i = 0;
    while out.len() < bytes {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&one(i));
        i += 1;
    }
    out.push_str("]}");
    out
}

/// A SARIF log of one finding and about `bytes` bytes of `[{}, {}, …]` in property bags.
fn padded_sarif(bytes: usize) -> String {
    let pad = format!("[{}{{}}]", "{},".repeat(bytes / 6));
    format!(
        r#"{{"version":"2.1.0","runs":[{{"tool":{{"driver":{{"name":"t","rules":[{{"id":"r1","properties":{{"tags":{pad}}}}}]}}}},"results":[{{"ruleId":"r1","message":{{"text":"m"}},"properties":{{"bulk":{pad}}},"locations":[{{"physicalLocation":{{"artifactLocation":{{"uri":"a.py"}}}}}}]}}]}}]}}"#
    )
}

/// Peak RSS of a fresh server around one report of each kind, of about `bytes` each.
pub async fn run(binary: &str, backend: &Backend, bytes: usize) -> anyhow::Result<Vec<Peak>> {
    let reports = [
        ("findings (JSON)", "application/json", findings_report(bytes)),
        ("padding (SARIF)", "application/sarif+json", padded_sarif(bytes)),
    ];
    let mut peaks = Vec::new();
    for (what, content_type, body) in reports {
        let cluster = Cluster::start(binary, backend, 1).await?;
        let server = cluster.first()?;
        let client = reqwest::Client::new();
        let post = |path: &str, body: serde_json::Value| {
            client.post(format!("{}{path}", server.base)).bearer_auth(KEY).json(&body).send()
        };
        let project: serde_json::Value = post("/v1/projects", json!({"name": "bench"})).await?.json().await?;
        let scan: serde_json::Value = post("/v1/scans", json!({"project": project["id"]})).await?.json().await?;
        let scan = scan["id"].as_str().context("scan id")?;
        let before_mb = peak_rss_mb(server.child.id()).context("VmHWM")?;
        let size = body.len();
        let resp = client
            .post(format!("{}/v1/scans/{scan}/complete", server.base))
            .bearer_auth(KEY)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await?;
        if !resp.status().is_success() {
            bail!("the {what} report was refused: {}", resp.text().await?);
        }
        let after_mb = peak_rss_mb(server.child.id()).context("VmHWM")?;
        peaks.push(Peak { what, bytes: size, before_mb, after_mb });
    }
    Ok(peaks)
}
