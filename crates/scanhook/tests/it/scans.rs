//! The scan lifecycle through the API into a real receiver.

use crate::common::{Receiver, Server};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_scan_starts_fails_once_and_tells_its_subscribers() {
    let server = Server::start(&[]).await;
    let receiver = Receiver::start().await;
    server.create_webhook(json!({"url": receiver.url, "events": ["scan.*"]})).await;
    let (_, project) =
        server.post("/v1/projects", json!({"name": "api", "target": "https://github.com/acme/api"})).await;
    let project_id = project["id"].as_str().unwrap();

    let (code, scan) = server.post("/v1/scans", json!({"project": project_id, "rules": ["gdpr", "owasp"]})).await;
    assert_eq!(code, StatusCode::CREATED, "{scan}");
    let scan_id = scan["id"].as_str().unwrap().to_string();
    assert_eq!(scan["status"], "running");
    assert_eq!(scan["target"], "https://github.com/acme/api", "the project's target by default");

    let started = receiver.wait_for(1, 10).await[0].json();
    assert_eq!(started["type"], "scan.started");
    assert_eq!(started["data"]["scanId"], scan_id.as_str());
    assert_eq!(started["data"]["projectId"], project_id);
    assert_eq!(started["data"]["rules"], json!(["gdpr", "owasp"]));

    let fail = json!({"error": {"code": "SCAN_FAILED", "message": "Insufficient disk space"}});
    let (code, failed) = server.post(&format!("/v1/scans/{scan_id}/fail"), fail.clone()).await;
    assert_eq!(code, StatusCode::OK, "{failed}");
    assert_eq!(failed["status"], "failed");
    let event = receiver.wait_for(2, 10).await[1].json();
    assert_eq!(event["type"], "scan.failed");
    assert_eq!(event["data"]["error"], json!({"code": "SCAN_FAILED", "message": "Insufficient disk space"}));
    assert!(event["data"]["duration"].as_f64().unwrap() >= 0.0);

    // A scan ends once: a second end is refused and emits nothing.
    let (code, problem) = server.post(&format!("/v1/scans/{scan_id}/fail"), fail).await;
    assert_eq!(code, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["code"], "scan_ended", "a stable code, whatever the backend");
    assert!(problem["message"].as_str().unwrap().contains("already ended (failed)"), "{problem}");
    let (_, events) = server.get("/v1/events?type=scan.failed").await;
    assert_eq!(events["data"].as_array().unwrap().len(), 1);
    assert_eq!(server.get(&format!("/v1/scans/{scan_id}")).await.1["error"]["code"], "SCAN_FAILED");
}

#[tokio::test]
async fn bad_scan_input_is_refused_and_changes_nothing() {
    let server = Server::start(&[]).await;
    let (_, project) = server.post("/v1/projects", json!({"name": "api"})).await;
    let project_id = project["id"].as_str().unwrap();

    let (code, problem) = server.post("/v1/scans", json!({"project": "proj_01ARZ3NDEKTSV4RRFFQ69G5FAV"})).await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{problem}");
    let (code, problem) = server.post("/v1/scans", json!({"project": project_id, "rules": ["gdpr", " "]})).await;
    assert_eq!((code, problem["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("rules[1]")), "{problem}");
    let (code, problem) = server.post("/v1/scans", json!({})).await;
    assert_eq!((code, problem["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("project")), "{problem}");

    let (_, scan) = server.post("/v1/scans", json!({"project": project_id})).await;
    let path = format!("/v1/scans/{}/fail", scan["id"].as_str().unwrap());
    let (code, problem) = server.post(&path, json!({"error": {"code": "", "message": "x"}})).await;
    assert_eq!((code, problem["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("error.code")), "{problem}");
    assert_eq!(server.get(&format!("/v1/scans/{}", scan["id"].as_str().unwrap())).await.1["status"], "running");
    assert_eq!(
        server
            .post("/v1/scans/scan_01ARZ3NDEKTSV4RRFFQ69G5FAV/fail", json!({"error": {"code": "a", "message": "b"}}))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

fn count_events(list: &serde_json::Value) -> usize {
    list["data"].as_array().unwrap().len()
}

#[tokio::test]
async fn completed_scans_open_move_and_resolve_violations() {
    let server = Server::start(&[]).await;
    let receiver = Receiver::start().await;
    server.create_webhook(json!({"url": receiver.url, "events": ["violation.*", "issue.critical"]})).await;
    let (_, project) = server.post("/v1/projects", json!({"name": "api"})).await;
    let project_id = project["id"].as_str().unwrap().to_string();
    let start = || async {
        let (_, scan) = server.post("/v1/scans", json!({"project": project_id, "rules": ["gdpr"]})).await;
        scan["id"].as_str().unwrap().to_string()
    };
    let gdpr = |line: u32| {
        json!({"rule": "gdpr", "severity": "high", "file": "src/auth.js", "line": line,
        "message": "Personal data stored without encryption", "suggestion": "Use encryption for storing personal data"})
    };
    let sqli = json!({"rule": "owasp-a03", "severity": "critical", "file": "src/db.js", "line": 10, "message": "SQL injection"});
    let weak =
        json!({"rule": "soc2", "severity": "medium", "file": "src/log.js", "line": 3, "message": "Secrets in logs"});

    // First scan: two new violations, one of them critical.
    let first = start().await;
    let (code, done) = server
        .post(
            &format!("/v1/scans/{first}/complete"),
            json!({"findings": [gdpr(42), sqli], "score": 92, "files_scanned": 150}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{done}");
    assert_eq!(
        (done["detected"].as_u64(), done["resolved"].as_u64(), done["open"].as_u64()),
        (Some(2), Some(0), Some(2))
    );
    assert_eq!(done["status"], "completed");
    let got = receiver.wait_for(3, 10).await;
    let detected: Vec<_> = got.iter().map(|r| r.json()).filter(|e| e["type"] == "violation.detected").collect();
    assert_eq!(detected.len(), 2);
    let auth = detected.iter().find(|e| e["data"]["rule"] == "gdpr").unwrap();
    assert_eq!(auth["data"]["scanId"], first.as_str());
    assert_eq!(auth["data"]["projectId"], project_id.as_str());
    assert_eq!((auth["data"]["file"].as_str(), auth["data"]["line"].as_u64()), (Some("src/auth.js"), Some(42)));
    assert_eq!(auth["data"]["suggestion"], "Use encryption for storing personal data");
    let critical = got.iter().map(|r| r.json()).find(|e| e["type"] == "issue.critical").unwrap();
    assert_eq!((critical["data"]["file"].as_str(), critical["data"]["line"].as_u64()), (Some("src/db.js"), Some(10)));
    let (_, completed) = server.get("/v1/events?type=scan.completed").await;
    let counts = &completed["data"][0]["data"]["violations"];
    assert_eq!(*counts, json!({"total": 2, "critical": 1, "high": 1, "medium": 0, "low": 0}));
    assert_eq!(completed["data"][0]["data"]["filesScanned"], 150);

    // Second scan: the GDPR finding only moved, the injection is fixed, a new one appears.
    let second = start().await;
    let (_, done) = server.post(&format!("/v1/scans/{second}/complete"), json!({"findings": [gdpr(57), weak]})).await;
    assert_eq!(
        (done["detected"].as_u64(), done["resolved"].as_u64(), done["open"].as_u64()),
        (Some(1), Some(1), Some(2))
    );
    let got = receiver.wait_for(5, 10).await;
    let resolved = got.iter().map(|r| r.json()).find(|e| e["type"] == "violation.resolved").unwrap();
    assert_eq!(resolved["data"]["resolvedBy"], "scan");
    assert_eq!(resolved["data"]["rule"], "owasp-a03");
    assert_eq!(resolved["data"]["scanId"], second.as_str());
    let (_, detected) = server.get("/v1/events?type=violation.detected").await;
    assert_eq!(count_events(&detected), 3, "the moved finding is not detected again");

    // The project's violations: the moved one kept its ID and took the new line.
    let violations = format!("/v1/projects/{project_id}/violations");
    let (_, open) = server.get(&format!("{violations}?status=open")).await;
    assert_eq!(count_events(&open), 2, "{open}");
    let moved = open["data"].as_array().unwrap().iter().find(|v| v["rule"] == "gdpr").unwrap().clone();
    assert_eq!((moved["line"].as_u64(), moved["first_scan_id"].as_str()), (Some(57), Some(first.as_str())));
    let (_, resolved) = server.get(&format!("{violations}?status=resolved")).await;
    assert_eq!(resolved["data"][0]["resolved_by"], "scan");
    let (_, medium) = server.get(&format!("{violations}?severity=medium")).await;
    assert_eq!(count_events(&medium), 1);
    let (code, problem) = server.get(&format!("{violations}?status=gone")).await;
    assert_eq!((code, problem["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("status")));

    // Resolved by hand: the event says who.
    let by_hand = format!("/v1/violations/{}/resolve", moved["id"].as_str().unwrap());
    let (code, fixed) = server.post(&by_hand, json!({"resolved_by": "user_123456789"})).await;
    assert_eq!((code, fixed["status"].as_str()), (StatusCode::OK, Some("resolved")), "{fixed}");
    let got = receiver.wait_for(6, 10).await;
    let manual = got[5].json();
    assert_eq!(
        (manual["type"].as_str(), manual["data"]["resolvedBy"].as_str()),
        (Some("violation.resolved"), Some("user_123456789"))
    );
    let (code, problem) = server.post(&by_hand, json!({"resolved_by": "someone"})).await;
    assert_eq!((code, problem["code"].as_str()), (StatusCode::CONFLICT, Some("violation_resolved")), "{problem}");
    let (_, open) = server.get(&format!("{violations}?status=open")).await;
    assert_eq!(count_events(&open), 1);

    // A finding with a bad field is refused whole; the scan stays running.
    let third = start().await;
    let bad =
        json!({"findings": [gdpr(1), {"rule": "x", "severity": "urgent", "file": "f", "line": 1, "message": "m"}]});
    let (code, problem) = server.post(&format!("/v1/scans/{third}/complete"), bad).await;
    assert_eq!(
        (code, problem["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("findings[1].severity")),
        "{problem}"
    );
    assert_eq!(server.get(&format!("/v1/scans/{third}")).await.1["status"], "running");

    // SARIF from a scanner: its violations are new, and the one still open stays open: it
    // was reported without a tool, so Semgrep's scan did not look for it.
    let sarif = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/sarif/semgrep.sarif")).unwrap();
    let resp = server
        .client()
        .post(server.url(&format!("/v1/scans/{third}/complete")))
        .bearer_auth(&server.key)
        .header("Content-Type", "application/sarif+json")
        .body(sarif)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let done: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(done["resolved"], 0, "another tool's scan resolves nothing of this one: {done}");
    assert_eq!(done["covered"], json!([{"tool": "Semgrep OSS"}]));
    let detected = done["detected"].as_u64().unwrap();
    assert!(detected > 0 && done["open"] == detected + 1, "{done}");
    let (code, _) = server.post(&format!("/v1/scans/{third}/complete"), json!({})).await;
    assert_eq!(code, StatusCode::CONFLICT, "a scan ends once");
    let bad_sarif = server
        .client()
        .post(server.url(&format!("/v1/scans/{}/complete", start().await)))
        .bearer_auth(&server.key)
        .header("Content-Type", "application/sarif+json")
        .body(r#"{"version": "2.0.0", "runs": []}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad_sarif.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: serde_json::Value = bad_sarif.json().await.unwrap();
    assert!(problem["message"].as_str().unwrap().contains("2.0.0"), "{problem}");
}

#[tokio::test]
async fn progress_is_throttled_and_overdue_scans_time_out_even_across_a_restart() {
    let mut server = Server::start(&[]).await;
    let receiver = Receiver::start().await;
    server.create_webhook(json!({"url": receiver.url, "events": ["scan.progress", "scan.timeout"]})).await;
    let (_, project) = server.post("/v1/projects", json!({"name": "api"})).await;
    let project_id = project["id"].as_str().unwrap().to_string();

    let (_, scan) = server.post("/v1/scans", json!({"project": project_id})).await;
    let progress = format!("/v1/scans/{}/progress", scan["id"].as_str().unwrap());
    let (code, first) =
        server.post(&progress, json!({"percent": 10, "files_scanned": 12, "message": "scanning src/"})).await;
    assert_eq!((code, first["sent"].as_bool()), (StatusCode::OK, Some(true)), "{first}");
    let (_, second) = server.post(&progress, json!({"percent": 20})).await;
    assert_eq!(second["sent"], false, "a second update within 5 s is stored, not sent");
    let (code, problem) = server.post(&progress, json!({"percent": 101})).await;
    assert_eq!((code, problem["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("percent")));
    let sent = receiver.wait_for(1, 10).await[0].json();
    assert_eq!((sent["type"].as_str(), sent["data"]["percent"].as_u64()), (Some("scan.progress"), Some(10)));
    assert_eq!(sent["data"]["filesScanned"], 12);

    // A short limit passes while the server runs...
    let (_, quick) = server.post("/v1/scans", json!({"project": project_id, "time_limit_secs": 1})).await;
    let quick_id = quick["id"].as_str().unwrap().to_string();
    server.wait_until(&format!("/v1/scans/{quick_id}"), 10, |s| s["status"] == "timed_out").await;
    let (code, _) = server.post(&format!("/v1/scans/{quick_id}/complete"), json!({})).await;
    assert_eq!(code, StatusCode::CONFLICT, "a timed-out scan has ended");

    // ...and another while it is down: caught on the next start.
    let (_, late) = server.post("/v1/scans", json!({"project": project_id, "time_limit_secs": 2})).await;
    let late_id = late["id"].as_str().unwrap().to_string();
    server.kill();
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    server.restart().await;
    server.wait_until(&format!("/v1/scans/{late_id}"), 10, |s| s["status"] == "timed_out").await;
    // At least once: a delivery whose outcome the kill cut off is sent again, and receivers
    // tell it by its ID; so count the distinct timeouts.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let timeouts = loop {
        let mut timeouts: Vec<_> =
            receiver.received().iter().map(|r| r.json()).filter(|e| e["type"] == "scan.timeout").collect();
        timeouts.sort_by_key(|e| e["id"].to_string());
        timeouts.dedup_by_key(|e| e["id"].to_string());
        if timeouts.len() >= 2 || tokio::time::Instant::now() > deadline {
            break timeouts;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(timeouts.len(), 2);
    assert!(timeouts.iter().any(|e| e["data"]["scanId"] == late_id.as_str()));
    assert!(timeouts.iter().all(|e| e["data"]["status"] == "timed_out"));
}

#[tokio::test]
async fn score_drops_critical_issues_and_raised_alerts_trigger_alerts() {
    let server = Server::start(&[]).await;
    let receiver = Receiver::start().await;
    server.create_webhook(json!({"url": receiver.url, "events": ["alert.triggered", "score.changed"]})).await;
    let (_, project) = server.post("/v1/projects", json!({"name": "shop", "target": "example.com"})).await;
    let project_id = project["id"].as_str().unwrap().to_string();
    let complete = |body: serde_json::Value| {
        let server = &server;
        let project_id = project_id.clone();
        async move {
            let (_, scan) = server.post("/v1/scans", json!({"project": project_id})).await;
            let (code, done) = server.post(&format!("/v1/scans/{}/complete", scan["id"].as_str().unwrap()), body).await;
            assert_eq!(code, StatusCode::OK, "{done}");
        }
    };
    complete(json!({"score": 92, "grade": "A-"})).await;
    let critical =
        json!({"rule": "tls", "severity": "critical", "file": "nginx.conf", "line": 1, "message": "TLS 1.0 enabled"});
    complete(json!({"score": 78, "grade": "C+", "findings": [critical]})).await;

    let got: Vec<_> = receiver.wait_for(3, 10).await.iter().map(|r| r.json()).collect();
    let changed = got.iter().find(|e| e["type"] == "score.changed").unwrap();
    assert_eq!((changed["data"]["oldScore"].as_u64(), changed["data"]["newScore"].as_u64()), (Some(92), Some(78)));
    assert_eq!(changed["data"]["change"], -14);
    let alert = |kind: &str| got.iter().find(|e| e["data"]["alert_type"] == kind).unwrap().clone();
    let drop = alert("score_drop");
    assert_eq!(drop["data"]["message"], "Score decreased from 92 to 78 (-14 points)");
    assert_eq!((drop["data"]["old_value"].as_str(), drop["data"]["new_value"].as_str()), (Some("92"), Some("78")));
    assert_eq!(
        (drop["data"]["severity"].as_str(), drop["data"]["domain"].as_str()),
        (Some("high"), Some("example.com"))
    );
    assert_eq!((drop["data"]["score"].as_u64(), drop["data"]["grade"].as_str()), (Some(78), Some("C+")));
    assert_eq!(alert("critical_issue")["data"]["severity"], "critical");

    // A smaller drop than the threshold (10) raises no alert, only score.changed.
    complete(json!({"score": 75})).await;
    receiver.wait_for(4, 10).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 4);

    let raised = json!({"project": project_id, "alert_type": "cert_expiring_soon", "severity": "medium",
        "title": "Certificate expires in 7 days", "message": "example.com certificate expires on 2026-12-01"});
    let (code, out) = server.post("/v1/alerts", raised.clone()).await;
    assert_eq!((code, out["deliveries"].as_u64()), (StatusCode::ACCEPTED, Some(1)), "{out}");
    let cert = receiver.wait_for(5, 10).await[4].json();
    assert_eq!(
        (cert["data"]["alert_type"].as_str(), cert["data"]["alert_id"].as_str()),
        (Some("cert_expiring_soon"), out["alert_id"].as_str())
    );
    let mut wrong = raised.clone();
    wrong["alert_type"] = json!("score_drop");
    let (code, problem) = server.post("/v1/alerts", wrong).await;
    assert_eq!((code, problem["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("alert_type")), "{problem}");
}

#[tokio::test]
async fn endpoints_can_take_only_some_projects_and_severities() {
    let server = Server::start(&[]).await;
    let (everything, only_web, severe) = (Receiver::start().await, Receiver::start().await, Receiver::start().await);
    let (_, web) = server.post("/v1/projects", json!({"name": "web"})).await;
    let (_, api) = server.post("/v1/projects", json!({"name": "api"})).await;
    let (web_id, api_id) = (web["id"].as_str().unwrap().to_string(), api["id"].as_str().unwrap().to_string());
    server.create_webhook(json!({"url": everything.url, "events": ["violation.detected"]})).await;
    let hook = server
        .create_webhook(json!({"url": only_web.url, "events": ["violation.detected"], "projects": [web_id]}))
        .await;
    assert_eq!(hook["projects"], json!([web_id]));
    server.create_webhook(json!({"url": severe.url, "events": ["violation.detected"], "min_severity": "high"})).await;

    for (project, severity) in [(&web_id, "low"), (&api_id, "critical")] {
        let (_, scan) = server.post("/v1/scans", json!({"project": project})).await;
        let finding =
            json!({"rule": "r", "severity": severity, "file": "f", "line": 1, "message": format!("{severity} thing")});
        server
            .post(&format!("/v1/scans/{}/complete", scan["id"].as_str().unwrap()), json!({"findings": [finding]}))
            .await;
    }
    everything.wait_for(2, 10).await;
    let web_only = only_web.wait_for(1, 10).await;
    let high = severe.wait_for(1, 10).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!((only_web.received().len(), severe.received().len()), (1, 1));
    assert_eq!(web_only[0].json()["data"]["projectId"], web_id.as_str());
    assert_eq!(high[0].json()["data"]["severity"], "critical");

    let (code, problem) =
        server.post("/v1/webhooks", json!({"url": "https://x.example/h", "events": ["*"], "projects": ["nope"]})).await;
    assert_eq!((code, problem["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("projects[0]")));
    let unknown =
        json!({"url": "https://x.example/h", "events": ["*"], "projects": [web_id, "proj_01ARZ3NDEKTSV4RRFFQ69G5FAV"]});
    let (code, problem) = server.post("/v1/webhooks", unknown).await;
    assert_eq!((code, problem["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("projects[1]")), "{problem}");
    assert!(problem["message"].as_str().unwrap().contains("no project"), "{problem}");
    let (code, problem) = server
        .post("/v1/webhooks", json!({"url": "https://x.example/h", "events": ["*"], "min_severity": "urgent"}))
        .await;
    assert_eq!((code, problem["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("min_severity")));
}

#[tokio::test]
async fn a_report_may_be_far_larger_than_an_event_up_to_its_own_limit() {
    let server = Server::start(&[("SCANHOOK_MAX_REPORT_BYTES", "1300000")]).await;
    let (_, project) = server.post("/v1/projects", json!({"name": "monorepo"})).await;
    let project_id = project["id"].as_str().unwrap();
    let finding = |i: usize| {
        json!({"rule": "taint", "severity": "low", "file": format!("src/{i}.rs"), "line": 1,
               "message": "User input reaches a sink without validation"})
    };
    let report = |n: usize| json!({"findings": (0..n).map(finding).collect::<Vec<_>>()});
    // About 1.2 MB: over the 1 MiB limit of events, within the report limit. (Bodies over a
    // limit stay close to it: the server answers before reading them, and a client still
    // sending megabytes may see the connection closed instead of the answer.)
    let big = report(10_000);
    assert!(big.to_string().len() > 1024 * 1024);
    let (code, _) = server.post("/v1/events", json!({"type": "x.y", "data": big})).await;
    assert_eq!(code, StatusCode::PAYLOAD_TOO_LARGE);

    let (_, scan) = server.post("/v1/scans", json!({"project": project_id})).await;
    let complete = format!("/v1/scans/{}/complete", scan["id"].as_str().unwrap());
    let (code, problem) = server.post(&complete, report(11_500)).await;
    assert_eq!(code, StatusCode::PAYLOAD_TOO_LARGE, "over SCANHOOK_MAX_REPORT_BYTES: {problem}");
    let (code, outcome) = server.post(&complete, big).await;
    assert_eq!(code, StatusCode::OK, "{outcome}");
    assert_eq!((outcome["detected"].as_u64(), outcome["open"].as_u64()), (Some(10_000), Some(10_000)));
    let (_, open) = server.get(&format!("/v1/projects/{project_id}/violations?status=open&limit=1")).await;
    assert_eq!(open["data"].as_array().unwrap().len(), 1);
}
