//! The API contract through the real binary: unknown query parameters and unknown body
//! fields at any depth are refused by name, and every error is `application/problem+json`.

use crate::common::Server;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Sends a request and returns status, content type and JSON body.
async fn send(server: &Server, method: Method, path: &str, body: Option<Value>) -> (StatusCode, String, Value) {
    let mut req = server.client().request(method, server.url(path)).bearer_auth(&server.key);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let text = resp.text().await.expect("body");
    (status, content_type, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// A 4xx problem+json naming `field`.
fn assert_refused(answer: &(StatusCode, String, Value), status: u16, field: &str) {
    let (code, content_type, body) = answer;
    assert_eq!(code.as_u16(), status, "{body}");
    assert_eq!(content_type, "application/problem+json", "{body}");
    assert_eq!(body["field"], field, "{body}");
    assert!(body["message"].as_str().unwrap_or("").contains(field.rsplit('.').next().unwrap_or(field)), "{body}");
}

#[tokio::test]
async fn unknown_repeated_bad_or_overlong_query_parameters_are_refused_by_name() {
    let server = Server::start(&[]).await;
    // The defect: `webhook` (for `webhook_id`) used to be ignored, listing every delivery.
    assert_refused(&send(&server, Method::GET, "/v1/deliveries?webhook=wh_x", None).await, 422, "webhook");
    // Names of both of a route's parameter structs (filter and paging) are accepted together.
    let (code, _, body) = send(&server, Method::GET, "/v1/deliveries?status=dead&limit=5&cursor=", None).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_refused(&send(&server, Method::GET, "/v1/events?limit=1&limit=2", None).await, 422, "limit");
    assert_refused(&send(&server, Method::GET, "/v1/events?limit=many", None).await, 422, "limit");
    assert_refused(&send(&server, Method::GET, "/v1/events?since=yesterday", None).await, 422, "since");
    let long = format!("/v1/events?cursor={}", "c".repeat(5000));
    let (code, content_type, body) = send(&server, Method::GET, &long, None).await;
    assert_eq!(code, StatusCode::URI_TOO_LONG, "{body}");
    assert_eq!(content_type, "application/problem+json");

    // Every route of the document, also those that take no parameters at all.
    let (_, _, doc) = send(&server, Method::GET, "/v1/openapi.json", None).await;
    let mut routes = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let path = format!("{}?sort_by=name", path.replace("{id}", "x_unknown"));
            assert_refused(&send(&server, method, &path, None).await, 422, "sort_by");
            routes += 1;
        }
    }
    assert!(routes > 30, "only {routes} routes in the document");
}

#[tokio::test]
async fn unknown_fields_in_nested_body_objects_are_refused_with_their_path() {
    let server = Server::start(&[]).await;
    let hook = |signature: Value| json!({"url": "http://127.0.0.1:9/", "events": ["*"], "signature": signature});
    // The defect: an unknown field beside the tag of a unit variant used to be ignored.
    let standard = hook(json!({"scheme": "standard", "algorithm": "ed25519"}));
    assert_refused(&send(&server, Method::POST, "/v1/webhooks", Some(standard)).await, 422, "signature.algorithm");
    let hmac = hook(json!({"scheme": "hmac-sha256", "header": "X-Sig", "algo": "sha1"}));
    assert_refused(&send(&server, Method::POST, "/v1/webhooks", Some(hmac)).await, 422, "signature.algo");
    let (_, listed) = server.get("/v1/webhooks").await;
    assert_eq!(listed["data"], json!([]), "nothing is stored");

    let created = server.create_webhook(hook(json!({"scheme": "standard"}))).await;
    let path = format!("/v1/webhooks/{}", created["id"].as_str().unwrap());
    let patch = json!({"signature": {"scheme": "none", "key": "k"}});
    assert_refused(&send(&server, Method::PATCH, &path, Some(patch)).await, 422, "signature.key");
    assert_refused(&send(&server, Method::PATCH, &path, Some(json!({"colour": "red"}))).await, 422, "colour");

    // A scan's error and a report's findings.
    let (_, project) = server.post("/v1/projects", json!({"name": "shop"})).await;
    let (code, scan) = server.post("/v1/scans", json!({"project": project["id"]})).await;
    assert_eq!(code, StatusCode::CREATED, "{scan}");
    let scan_path = format!("/v1/scans/{}", scan["id"].as_str().unwrap());
    let fail = json!({"error": {"code": "oom", "message": "out of memory", "retryable": true}});
    assert_refused(
        &send(&server, Method::POST, &format!("{scan_path}/fail"), Some(fail)).await,
        422,
        "error.retryable",
    );
    let finding = json!({"rule": "r", "severity": "high", "file": "a.py", "line": 1, "message": "m", "cwe": "89"});
    let report = json!({"findings": [finding]});
    let answer = send(&server, Method::POST, &format!("{scan_path}/complete"), Some(report)).await;
    assert_refused(&answer, 422, "findings[0].cwe");
    let (_, scan) = server.get(&scan_path).await;
    assert_eq!(scan["status"], "running", "the refused requests changed nothing: {scan}");
}

#[tokio::test]
async fn errors_are_problem_json_on_every_path() {
    let server = Server::start(&[]).await;
    for (method, path) in [(Method::GET, "/v1/no-such-route"), (Method::GET, "/v1/webhooks/wh_missing")] {
        let (code, content_type, body) = send(&server, method, path, None).await;
        assert_eq!(code, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(content_type, "application/problem+json", "{path}");
    }
    let resp = server.client().delete(server.url("/v1/events")).bearer_auth(&server.key).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let allow = resp.headers()["allow"].to_str().unwrap().to_string();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    let resp =
        server.client().post(server.url("/v1/projects")).bearer_auth(&server.key).body("{").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
}

/// Found by schemathesis: serde read a struct from a JSON array, and refused `64.0` where
/// the document (JSON Schema) says `integer`.
#[tokio::test]
async fn bodies_are_objects_and_whole_floats_are_integers() {
    let server = Server::start(&[]).await;
    let (code, _, body) = send(&server, Method::POST, "/v1/projects", Some(json!(["shop", null]))).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (_, listed) = server.get("/v1/projects").await;
    assert_eq!(listed["data"], json!([]), "nothing is created from an array");

    let project = json!({"name": "shop", "score_drop_threshold": 64.0, "scan_time_limit_secs": 6514.0});
    let (code, _, created) = send(&server, Method::POST, "/v1/projects", Some(project)).await;
    assert_eq!(code, StatusCode::CREATED, "{created}");
    assert_eq!(created["score_drop_threshold"], 64);
    let half = json!({"name": "shop", "score_drop_threshold": 64.5});
    let (code, _, body) = send(&server, Method::POST, "/v1/projects", Some(half)).await;
    assert_eq!((code.as_u16(), &body["field"]), (422, &json!("score_drop_threshold")), "{body}");
}

/// Found by schemathesis: a count past what the store keeps was a 500.
#[tokio::test]
async fn counts_past_the_stores_range_are_refused() {
    let server = Server::start(&[]).await;
    let (_, project) = server.post("/v1/projects", json!({"name": "shop"})).await;
    let (_, scan) = server.post("/v1/scans", json!({"project": project["id"]})).await;
    let scan_path = format!("/v1/scans/{}", scan["id"].as_str().unwrap());
    let huge = json!({"percent": 5, "files_scanned": 9_223_372_036_854_775_808_u64});
    let answer = send(&server, Method::POST, &format!("{scan_path}/progress"), Some(huge)).await;
    assert_refused(&answer, 422, "files_scanned");
    let huge = json!({"findings": [], "files_scanned": 9_223_372_036_854_775_808_u64});
    let answer = send(&server, Method::POST, &format!("{scan_path}/complete"), Some(huge)).await;
    assert_refused(&answer, 422, "files_scanned");
}
