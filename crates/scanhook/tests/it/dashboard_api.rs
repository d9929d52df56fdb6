//! What the dashboard reads, through HTTP and the command line: an endpoint's stats from
//! real attempts against a real receiver that fails some and is slow on others; a
//! project's scans by status; the delivery log by event type and time; alerts as events.

use std::time::Duration;

use crate::cli::Cli;
use crate::common::receiver::{Reply, status};
use crate::common::{Receiver, Server};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn slow(code: u16, ms: u64) -> Reply {
    Reply { status: code, delay: Duration::from_millis(ms), retry_after: None }
}

/// Sends one event and waits until its one delivery has its outcome, so attempts are made
/// in the order of the receiver's script.
async fn deliver_one(server: &Server, webhook: &str) -> String {
    let event = server.send_event("scan.completed", json!({})).await;
    let path = format!("/v1/deliveries?event_id={}&webhook_id={webhook}", event["id"].as_str().unwrap());
    let list = server
        .wait_until(&path, 20, |l| l["data"][0]["status"] == "succeeded" || l["data"][0]["status"] == "dead")
        .await;
    list["data"][0]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn an_endpoints_stats_count_its_failures_and_latency_and_name_its_last_error() {
    // One attempt per delivery: a failure is dead at once.
    let server = Server::start(&[("SCANHOOK_RETRY_SCHEDULE", "0s"), ("SCANHOOK_DISABLE_AFTER", "100")]).await;
    let receiver = Receiver::start().await;
    receiver.script(&[status(200), slow(200, 700), status(500), status(204), slow(503, 300), status(502)]);
    let webhook = server.create_webhook(json!({"url": receiver.url, "events": ["scan.*"]})).await;
    let id = webhook["id"].as_str().unwrap();
    let quiet = server.create_webhook(json!({"url": receiver.url, "events": ["nothing.ever"]})).await;

    let mut deliveries = Vec::new();
    for _ in 0..6 {
        deliveries.push(deliver_one(&server, id).await);
    }
    let (code, stats) = server.get(&format!("/v1/webhooks/{id}/stats")).await;
    assert_eq!(code, StatusCode::OK, "{stats}");
    for window in ["last_hour", "last_day"] {
        let w = &stats[window];
        assert_eq!((w["attempts"].as_u64(), w["failures"].as_u64()), (Some(6), Some(3)), "{stats}");
        assert_eq!(w["success_rate"], 0.5, "{stats}");
        assert_eq!(w["latency_sample"], 6, "{stats}");
        // Nearest rank of six: p95 is the slowest (the 700 ms answer), p50 the third.
        let (p50, p95) = (w["p50_latency_ms"].as_u64().unwrap(), w["p95_latency_ms"].as_u64().unwrap());
        assert!(p95 >= 700, "{stats}");
        assert!(p50 < 700, "{stats}");
    }
    assert_eq!(stats["consecutive_failures"], 2, "the 503 and the 502, newest back: {stats}");
    assert_eq!(stats["last_error"]["status_code"], 502, "{stats}");
    assert_eq!(stats["last_error"]["error"], "endpoint answered HTTP 502", "{stats}");
    assert_eq!(stats["last_error"]["delivery_id"], deliveries[5].as_str(), "{stats}");
    assert_eq!(stats["last_delivery"]["id"], deliveries[5].as_str(), "{stats}");
    assert_eq!(stats["last_delivery"]["status"], "dead", "{stats}");
    assert_eq!(stats["sample_size"], 10_000);

    // The other endpoint of the same receiver has had nothing.
    let (_, none) = server.get(&format!("/v1/webhooks/{}/stats", quiet["id"].as_str().unwrap())).await;
    assert_eq!(none["last_day"]["attempts"], 0, "{none}");
    assert!(none["last_day"].get("success_rate").is_none() && none.get("last_error").is_none(), "{none}");
    let (code, missing) = server.get("/v1/webhooks/wh_01HM9Q8E9A7C1N5Y0R6F4U3W8B/stats").await;
    assert_eq!((code, &missing["code"]), (StatusCode::NOT_FOUND, &json!("not_found")), "{missing}");

    // The command line shows the same answer as a table, or the API's JSON as it is.
    let cli = Cli::of(&server);
    let table = cli.run(&["webhooks", "stats", id]).await;
    let text = table.ok();
    assert!(text.contains("LAST HOUR") && text.contains("LAST 24 H"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("success rate") && l.contains("50.00 %")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("failures in a row") && l.ends_with(" 2")), "{text}");
    assert!(text.contains("HTTP 502"), "{text}");
    let json = cli.json(&["webhooks", "stats", id]).await;
    assert_eq!(json["last_day"]["failures"], 3);
    cli.run(&["webhooks", "stats", "wh_01HM9Q8E9A7C1N5Y0R6F4U3W8B"])
        .await
        .fails(1, &["HTTP 404", "no webhook with ID"]);
}

#[tokio::test]
async fn the_dashboards_lists_filter_by_status_type_and_time() {
    let server = Server::start(&[("SCANHOOK_DISPATCH", "false")]).await;
    server.create_webhook(json!({"url": "https://example.com/hook", "events": ["*"]})).await;
    let (_, project) = server.post("/v1/projects", json!({"name": "web"})).await;
    let project = project["id"].as_str().unwrap();
    let mut scans = Vec::new();
    for _ in 0..3 {
        let (code, scan) = server.post("/v1/scans", json!({"project": project})).await;
        assert_eq!(code, StatusCode::CREATED, "{scan}");
        scans.push(scan["id"].as_str().unwrap().to_string());
    }
    let fail = json!({"error": {"code": "crashed", "message": "boom"}});
    assert_eq!(server.post(&format!("/v1/scans/{}/fail", scans[0]), fail).await.0, StatusCode::OK);

    let ids = |list: &Value| -> Vec<String> {
        list["data"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_string()).collect()
    };
    // Newest first is the IDs' order: ULIDs made in one millisecond are ordered by their
    // random part, not by the order they were made in.
    let mut newest = scans.clone();
    newest.sort_by(|a, b| b.cmp(a));
    let (_, page) = server.get(&format!("/v1/projects/{project}/scans?limit=2")).await;
    assert_eq!(ids(&page), newest[..2].to_vec(), "newest first: {page}");
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = server.get(&format!("/v1/projects/{project}/scans?limit=2&cursor={cursor}")).await;
    assert_eq!(ids(&rest), vec![newest[2].clone()], "{rest}");
    let (_, failed) = server.get(&format!("/v1/projects/{project}/scans?status=failed")).await;
    assert_eq!(ids(&failed), vec![scans[0].clone()], "{failed}");
    let (code, bad) = server.get(&format!("/v1/projects/{project}/scans?status=finished")).await;
    assert_eq!((code, &bad["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("status")), "{bad}");
    let (code, _) = server.get("/v1/projects/proj_01HM9Q8E9A7C1N5Y0R6F4U3W8B/scans").await;
    assert_eq!(code, StatusCode::NOT_FOUND);

    // An alert is an `alert.triggered` event, listed by that type.
    let alert =
        json!({"project": project, "alert_type": "config_change", "severity": "high", "title": "t", "message": "m"});
    let (code, raised) = server.post("/v1/alerts", alert).await;
    assert_eq!(code, StatusCode::ACCEPTED, "{raised}");
    let (_, alerts) = server.get("/v1/events?type=alert.triggered").await;
    assert_eq!(alerts["data"].as_array().unwrap().len(), 1, "{alerts}");
    assert_eq!(alerts["data"][0]["id"], raised["event_id"]);

    // Deliveries by event type and by the time they were made.
    let (_, started) = server.get("/v1/deliveries?event_type=scan.started").await;
    assert_eq!(started["data"].as_array().unwrap().len(), 3, "{started}");
    assert!(started["data"].as_array().unwrap().iter().all(|d| d["event_type"] == "scan.started"));
    let (_, by_alert) = server.get("/v1/deliveries?event_type=alert.triggered").await;
    let made: chrono::DateTime<chrono::Utc> = by_alert["data"][0]["created_at"].as_str().unwrap().parse().unwrap();
    let at = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let since = format!("/v1/deliveries?since={}", at(made));
    let (_, later) = server.get(&since).await;
    assert!(later["data"].as_array().unwrap().iter().all(|d| d["created_at"].as_str().unwrap() >= at(made).as_str()));
    assert!(ids(&later).contains(&by_alert["data"][0]["id"].as_str().unwrap().to_string()), "{later}");
    let until = format!("/v1/deliveries?until={}&event_type=alert.triggered", at(made));
    let (_, before) = server.get(&until).await;
    assert!(before["data"].as_array().unwrap().is_empty(), "until is exclusive: {before}");
    let (code, bad) = server.get("/v1/deliveries?event_type=Not%20a%20type").await;
    assert_eq!((code, &bad["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("event_type")), "{bad}");
    let (code, bad) = server.get("/v1/deliveries?since=yesterday").await;
    assert_eq!(code.as_u16() / 100, 4, "{bad}");

    // And from the command line.
    let cli = Cli::of(&server);
    let table = cli.run(&["scans", "list", "--project", project, "--status", "failed"]).await;
    let text = table.ok();
    assert!(text.starts_with("ID ") && text.contains(&scans[0]) && !text.contains(&scans[1]), "{text}");
    let listed = cli.json(&["deliveries", "list", "--type", "scan.started", "--since", "1h"]).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 3, "{listed}");
    let none = cli.json(&["deliveries", "list", "--until", "1h"]).await;
    assert!(none["data"].as_array().unwrap().is_empty(), "{none}");
}
