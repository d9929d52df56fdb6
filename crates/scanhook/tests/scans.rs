//! The scan lifecycle through the API into a real receiver.

mod common;

use common::{Receiver, Server};
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
