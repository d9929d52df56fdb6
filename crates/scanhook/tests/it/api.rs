//! The REST API through HTTP: authentication, tenant isolation, validation that names the
//! field and stores nothing, limits, pagination and idempotency.

use crate::common::{Receiver, Server};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn new_account(server: &Server, name: &str) -> String {
    let (code, account) = server.post("/v1/accounts", json!({"name": name})).await;
    assert_eq!(code, StatusCode::CREATED, "{account}");
    assert!(account["id"].as_str().unwrap().starts_with("acc_"));
    account["api_key"]["key"].as_str().unwrap().to_string()
}

fn assert_problem(code: StatusCode, body: &Value, status: u16, problem: &str, field: Option<&str>) {
    assert_eq!(code.as_u16(), status, "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["code"], problem, "{body}");
    assert!(!body["message"].as_str().unwrap_or("").is_empty(), "{body}");
    if let Some(field) = field {
        assert_eq!(body["field"], field, "{body}");
    }
}

#[tokio::test]
async fn requests_without_a_valid_key_are_refused_with_json() {
    let server = Server::start(&[]).await;
    let resp = server.client().get(server.url("/v1/webhooks")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let body: Value = resp.json().await.unwrap();
    assert_problem(StatusCode::UNAUTHORIZED, &body, 401, "unauthorized", None);

    let (code, body) = server.call(Method::GET, "/v1/webhooks", None, Some("shk_not_a_real_key_at_all")).await;
    assert_problem(code, &body, 401, "unauthorized", None);
    let resp = server.client().get(server.url("/v1/events")).header("Authorization", "Basic abc").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn accounts_never_see_or_receive_each_others_resources() {
    let server = Server::start(&[]).await;
    let other = new_account(&server, "tenant-b").await;
    let (mine, theirs) = (Receiver::start().await, Receiver::start().await);
    let my_hook = server.create_webhook(json!({"url": mine.url, "events": ["*"]})).await;
    let (code, their_hook) = server
        .call(Method::POST, "/v1/webhooks", Some(json!({"url": theirs.url, "events": ["*"]})), Some(&other))
        .await;
    assert_eq!(code, StatusCode::CREATED);

    // Reads, changes and deletes across accounts are "not found".
    let their_path = format!("/v1/webhooks/{}", their_hook["id"].as_str().unwrap());
    assert_eq!(server.get(&their_path).await.0, StatusCode::NOT_FOUND);
    let (code, _) = server.call(Method::PATCH, &their_path, Some(json!({"active": false})), None).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert_eq!(server.call(Method::DELETE, &their_path, None, None).await.0, StatusCode::NOT_FOUND);
    let (_, listed) = server.get("/v1/webhooks").await;
    let ids: Vec<&Value> = listed["data"].as_array().unwrap().iter().map(|w| &w["id"]).collect();
    assert_eq!(ids, [&my_hook["id"]]);

    // Events fan out within their own account only.
    let (_, their_event) = server
        .call(Method::POST, "/v1/events", Some(json!({"type": "scan.completed", "data": {"who": "b"}})), Some(&other))
        .await;
    server.send_event("scan.completed", json!({"who": "a"})).await;
    let a = mine.wait_for(1, 10).await;
    let b = theirs.wait_for(1, 10).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!((mine.received().len(), theirs.received().len()), (1, 1));
    assert_eq!(a[0].json()["data"]["who"], "a");
    assert_eq!(b[0].json()["data"]["who"], "b");

    let event_path = format!("/v1/events/{}", their_event["id"].as_str().unwrap());
    assert_eq!(server.get(&event_path).await.0, StatusCode::NOT_FOUND);
    assert_eq!(server.call(Method::GET, &event_path, None, Some(&other)).await.0, StatusCode::OK);
    let (_, my_deliveries) = server.get("/v1/deliveries").await;
    assert_eq!(my_deliveries["data"].as_array().unwrap().len(), 1);
    let their_delivery =
        server.call(Method::GET, "/v1/deliveries", None, Some(&other)).await.1["data"][0]["id"].clone();
    let path = format!("/v1/deliveries/{}", their_delivery.as_str().unwrap());
    assert_eq!(server.get(&path).await.0, StatusCode::NOT_FOUND);
    assert_eq!(server.post(&format!("{path}/retry"), json!({})).await.0, StatusCode::NOT_FOUND);

    // Only the admin key manages accounts.
    let (code, body) = server.call(Method::POST, "/v1/accounts", Some(json!({"name": "c"})), Some(&other)).await;
    assert_problem(code, &body, 403, "forbidden", None);
}

#[tokio::test]
async fn api_keys_can_be_created_listed_and_revoked() {
    let server = Server::start(&[]).await;
    let (code, created) = server.post("/v1/api-keys", json!({"name": "ci"})).await;
    assert_eq!(code, StatusCode::CREATED, "{created}");
    let key = created["key"].as_str().unwrap().to_string();
    assert_eq!(server.call(Method::GET, "/v1/webhooks", None, Some(&key)).await.0, StatusCode::OK);

    let (_, listed) = server.get("/v1/api-keys").await;
    let keys = listed["data"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "{listed}");
    assert!(keys.iter().all(|k| k.get("key").is_none()), "keys are never shown again");
    assert!(key.starts_with(created["prefix"].as_str().unwrap()));

    let path = format!("/v1/api-keys/{}", created["id"].as_str().unwrap());
    assert_eq!(server.call(Method::DELETE, &path, None, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(server.call(Method::GET, "/v1/webhooks", None, Some(&key)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(server.call(Method::DELETE, &path, None, None).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_webhook_input_names_the_field_and_stores_nothing() {
    let server = Server::start(&[]).await;
    let ok = |extra: Value| {
        let mut base = json!({"url": "https://example.com/hook", "events": ["scan.completed"]});
        base.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        base
    };
    let cases = [
        (ok(json!({"url": "ftp://example.com"})), "url"),
        (ok(json!({"url": "not a url"})), "url"),
        (ok(json!({"events": []})), "events"),
        (ok(json!({"events": ["scan.completed", "Scan.*"]})), "events[1]"),
        (ok(json!({"secret": "short"})), "secret"),
        (ok(json!({"headers": {"Content-Type": "text/plain"}})), "headers"),
        (ok(json!({"headers": {"bad header": "x"}})), "headers"),
        (ok(json!({"colour": "red"})), "colour"),
        (ok(json!({"active": "yes"})), "active"),
    ];
    for (body, field) in cases {
        let (code, problem) = server.post("/v1/webhooks", body.clone()).await;
        assert_problem(code, &problem, 422, "validation_failed", Some(field));
    }
    let resp = server
        .client()
        .post(server.url("/v1/webhooks"))
        .bearer_auth(&server.key)
        .body("{\"url\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let problem: Value = resp.json().await.unwrap();
    assert_eq!(problem["code"], "malformed_json");

    let (_, listed) = server.get("/v1/webhooks").await;
    assert!(listed["data"].as_array().unwrap().is_empty(), "nothing was stored: {listed}");
}

#[tokio::test]
async fn webhooks_can_be_read_changed_paged_and_deleted() {
    let server = Server::start(&[]).await;
    let created = server
        .create_webhook(json!({"url": "https://example.com/a", "events": ["scan.*"], "description": "SOC"}))
        .await;
    let path = format!("/v1/webhooks/{}", created["id"].as_str().unwrap());
    let (code, got) = server.get(&path).await;
    assert_eq!(code, StatusCode::OK);
    assert!(got.get("secret").is_none(), "the secret is only shown on create");
    assert_eq!(got["description"], "SOC");

    let (code, patched) = server
        .call(Method::PATCH, &path, Some(json!({"events": ["violation.*", "*"], "description": null})), None)
        .await;
    assert_eq!(code, StatusCode::OK, "{patched}");
    assert_eq!(patched["events"], json!(["violation.*", "*"]));
    assert!(patched.get("description").is_none());
    assert_eq!(patched["url"], "https://example.com/a");
    let (code, problem) = server.call(Method::PATCH, &path, Some(json!({"url": "gopher://x"})), None).await;
    assert_problem(code, &problem, 422, "validation_failed", Some("url"));
    assert_eq!(server.get(&path).await.1["url"], "https://example.com/a");

    for i in 0..4 {
        server.create_webhook(json!({"url": format!("https://example.com/{i}"), "events": ["*"]})).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("/v1/webhooks?limit=2&cursor={c}"),
            None => "/v1/webhooks?limit=2".into(),
        };
        let (_, page) = server.get(&query).await;
        let data = page["data"].as_array().unwrap();
        assert!(data.len() <= 2);
        seen.extend(data.iter().map(|w| w["id"].as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(seen, sorted, "newest first, no repeats");
    let (code, problem) = server.get("/v1/webhooks?limit=0").await;
    assert_problem(code, &problem, 422, "validation_failed", Some("limit"));
    // A cursor no page handed out is named, not answered with an empty page.
    for bad in ["%ZZ", "wh_1%27--", &"a".repeat(65)] {
        let (code, problem) = server.get(&format!("/v1/webhooks?cursor={bad}")).await;
        assert_problem(code, &problem, 422, "validation_failed", Some("cursor"));
    }

    assert_eq!(server.call(Method::DELETE, &path, None, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(server.get(&path).await.0, StatusCode::NOT_FOUND);
    assert_eq!(server.get("/v1/webhooks/not-an-id").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_account_has_at_most_ten_webhooks() {
    let server = Server::start(&[]).await;
    for i in 0..10 {
        server.create_webhook(json!({"url": format!("https://example.com/{i}"), "events": ["*"]})).await;
    }
    let (code, problem) = server.post("/v1/webhooks", json!({"url": "https://example.com/x", "events": ["*"]})).await;
    assert_problem(code, &problem, 409, "webhook_limit_reached", None);
    assert!(problem["message"].as_str().unwrap().contains("10 webhooks"), "{problem}");
    let (_, listed) = server.get("/v1/webhooks?limit=50").await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 10);
}

#[tokio::test]
async fn events_are_validated_idempotent_and_listed() {
    let server = Server::start(&[]).await;
    let receiver = Receiver::start().await;
    server.create_webhook(json!({"url": receiver.url, "events": ["scan.*"]})).await;

    for (body, field) in [
        (json!({"type": "Scan.Completed"}), "type"),
        (json!({"type": "scan"}), "type"),
        (json!({"type": "scan.completed", "data": [1, 2]}), "data"),
        (json!({"data": {}}), "type"),
        (json!({"type": "scan.completed", "extra": 1}), "extra"),
    ] {
        let (code, problem) = server.post("/v1/events", body).await;
        assert_problem(code, &problem, 422, "validation_failed", Some(field));
    }
    let big = "x".repeat(1024 * 1024 + 1);
    let (code, problem) = server.post("/v1/events", json!({"type": "scan.completed", "data": {"blob": big}})).await;
    assert_problem(code, &problem, 413, "payload_too_large", None);
    assert!(server.get("/v1/events").await.1["data"].as_array().unwrap().is_empty(), "nothing stored");

    let send = |key: &'static str, data: Value| {
        server
            .client()
            .post(server.url("/v1/events"))
            .bearer_auth(&server.key)
            .header("Idempotency-Key", key)
            .json(&json!({"type": "scan.completed", "data": data}))
            .send()
    };
    let first = send("scan-42-done", json!({"scanId": "42"})).await.unwrap();
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let first: Value = first.json().await.unwrap();
    let again = send("scan-42-done", json!({"scanId": "42"})).await.unwrap();
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(first, again, "a repeat returns the first answer");
    let conflict = send("scan-42-done", json!({"scanId": "43"})).await.unwrap();
    assert_eq!(conflict.status(), StatusCode::CONFLICT);
    let event_id = first["id"].as_str().unwrap();
    let (_, deliveries) = server.get(&format!("/v1/deliveries?event_id={event_id}")).await;
    assert_eq!(deliveries["data"].as_array().unwrap().len(), 1, "the repeat created nothing");

    server.send_event("violation.detected", json!({"rule": "owasp"})).await;
    let (code, event) = server.get(&format!("/v1/events/{event_id}")).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(event["data"], json!({"scanId": "42"}));
    assert_eq!(event["deliveries"], 1);
    let (_, all) = server.get("/v1/events").await;
    assert_eq!(all["data"].as_array().unwrap().len(), 2);
    let (_, scans) = server.get("/v1/events?type=scan.completed").await;
    assert_eq!(scans["data"].as_array().unwrap().len(), 1);
    let (_, later) = server.get("/v1/events?since=2999-01-01T00:00:00Z").await;
    assert!(later["data"].as_array().unwrap().is_empty());
    let (code, problem) = server.get("/v1/events?type=NOPE").await;
    assert_problem(code, &problem, 422, "validation_failed", Some("type"));
    let (code, problem) = server.get("/v1/deliveries?status=lost").await;
    assert_problem(code, &problem, 422, "validation_failed", Some("status"));
    // The endpoint takes scan.* only: the violation event is stored but not sent to it.
    assert_eq!(receiver.wait_for(1, 10).await[0].json()["id"], first["id"]);
}

#[tokio::test]
async fn the_openapi_document_is_served() {
    let server = Server::start(&[]).await;
    let resp = server.client().get(server.url("/v1/openapi.json")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let doc: Value = resp.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in ["/v1/webhooks", "/v1/events", "/v1/deliveries/{id}/retry", "/v1/webhooks/{id}/replay"] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
}
