//! The event catalogue is the contract: every payload scanhook really sends validates
//! against the schema `GET /v1/event-types` publishes for its type, and a receiver author
//! can ask for any type's example.

use std::collections::HashMap;

use crate::common::receiver::status;
use crate::common::{Receiver, Server};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A producer's event type, sent to drive an endpoint's health window.
const PING: &str = "load.ping";

#[tokio::test]
async fn every_emitted_payload_matches_its_published_schema() {
    // One attempt per delivery, and no disable after failures: `flaky` below fails ten times.
    let mut server = Server::start(&[("SCANHOOK_RETRY_SCHEDULE", "0s"), ("SCANHOOK_DISABLE_AFTER", "1000")]).await;
    let receiver = Receiver::start().await;
    let hook = server.create_webhook(json!({"url": receiver.url, "events": ["*"]})).await;
    let hook_id = hook["id"].as_str().unwrap().to_string();

    // Operational events about two other endpoints: one answers 410 Gone (endpoint.disabled),
    // one fails ten times (delivery.dead, endpoint.failing), then succeeds until its last 100
    // attempts are healthy again (endpoint.recovered).
    let (gone, flaky) = (Receiver::start().await, Receiver::start().await);
    gone.always(status(410));
    flaky.script(&[status(500); 10]);
    server.create_webhook(json!({"url": gone.url, "events": ["project.created"]})).await;
    server.create_webhook(json!({"url": flaky.url, "events": [PING]})).await;
    for i in 0..105 {
        server.send_event(PING, json!({"i": i})).await;
    }
    server.wait_until("/v1/events?type=endpoint.recovered", 30, |l| l["data"].as_array().unwrap().len() == 1).await;

    // Drive every kind of event through the API.
    let (_, project) = server.post("/v1/projects", json!({"name": "web", "target": "example.com"})).await;
    let project_id = project["id"].as_str().unwrap().to_string();
    let scan = |body: Value| {
        let (server, project_id) = (&server, project_id.clone());
        async move {
            let mut body = body;
            body["project"] = json!(project_id);
            server.post("/v1/scans", body).await.1["id"].as_str().unwrap().to_string()
        }
    };
    let first = scan(json!({"rules": ["owasp"]})).await;
    server.post(&format!("/v1/scans/{first}/progress"), json!({"percent": 50, "files_scanned": 3})).await;
    let findings = json!([
        {"rule": "owasp", "severity": "critical", "file": "db.js", "line": 4, "message": "SQL injection"},
        {"rule": "gdpr", "severity": "high", "file": "auth.js", "line": 42, "message": "PII unencrypted", "suggestion": "Encrypt"},
    ]);
    server
        .post(&format!("/v1/scans/{first}/complete"), json!({"findings": findings, "score": 92, "grade": "A-"}))
        .await;
    let second = scan(json!({})).await;
    let (_, done) =
        server.post(&format!("/v1/scans/{second}/complete"), json!({"score": 70, "files_scanned": 10})).await;
    assert_eq!(done["resolved"], 2);
    let third = scan(json!({})).await;
    server.post(&format!("/v1/scans/{third}/fail"), json!({"error": {"code": "E", "message": "boom"}})).await;
    let fourth = scan(json!({"time_limit_secs": 1})).await;
    server.wait_until(&format!("/v1/scans/{fourth}"), 10, |s| s["status"] == "timed_out").await;
    let alert =
        json!({"project": project_id, "alert_type": "config_change", "severity": "low", "title": "t", "message": "m"});
    server.post("/v1/alerts", alert).await;
    server.wait_until("/v1/events?type=endpoint.disabled", 10, |l| l["data"].as_array().unwrap().len() == 1).await;
    let (_, catalogue) = server.get("/v1/event-types").await;
    let types: Vec<String> =
        catalogue["data"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap().to_string()).collect();
    for event_type in &types {
        let (code, out) = server.post(&format!("/v1/webhooks/{hook_id}/test"), json!({"type": event_type})).await;
        assert_eq!(code, StatusCode::ACCEPTED, "{event_type}: {out}");
    }
    server.call(reqwest::Method::DELETE, &format!("/v1/projects/{project_id}"), None, None).await;

    let (_, events) = server.get("/v1/events?limit=250").await;
    let sent = events["data"].as_array().unwrap().len();
    let got = receiver.wait_for(sent, 20).await;
    let schemas: HashMap<&str, jsonschema::Validator> = catalogue["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["type"].as_str().unwrap(), jsonschema::validator_for(&e["schema"]).expect("a valid schema")))
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    for request in &got {
        let envelope = request.json();
        let event_type = envelope["type"].as_str().unwrap();
        if event_type == PING {
            // A producer's own type: not scanhook's to describe.
            continue;
        }
        let validator = schemas.get(event_type).unwrap_or_else(|| panic!("{event_type} is not in the catalogue"));
        let errors: Vec<String> = validator.iter_errors(&envelope["data"]).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{event_type}: {errors:?}\n{}", envelope["data"]);
        if envelope["data"].get("test").is_none() {
            seen.insert(event_type.to_string());
        }
    }
    let real: Vec<&str> = seen.iter().map(String::as_str).collect();
    let expected = [
        "alert.triggered",
        "delivery.dead",
        "endpoint.disabled",
        "endpoint.failing",
        "endpoint.recovered",
        "issue.critical",
        "project.created",
        "project.deleted",
        "scan.completed",
        "scan.failed",
        "scan.progress",
        "scan.started",
        "scan.timeout",
        "score.changed",
        "violation.detected",
        "violation.resolved",
    ];
    assert_eq!(real, expected, "each type was sent for real, not only as a test");
    assert_eq!(types.len(), expected.len() + 1, "the catalogue lists them all, and webhook.test");

    let (code, problem) = server.post(&format!("/v1/webhooks/{hook_id}/test"), json!({"type": "scan.exploded"})).await;
    assert_eq!((code, problem["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("type")), "{problem}");
    server.kill();
}
