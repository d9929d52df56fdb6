//! Deliveries end to end: the real server sends signed requests to a real receiver,
//! retries failures, parks dead letters, replays them, and disables failing endpoints.

use std::time::Duration;

use crate::common::receiver::{Reply, status};
use crate::common::verify::{hex_signature, standard_signature};
use crate::common::{Receiver, Server};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn deliveries_path(webhook: &Value) -> String {
    format!("/v1/deliveries?webhook_id={}", webhook["id"].as_str().unwrap())
}

fn all_have_status(list: &Value, n: usize, status: &str) -> bool {
    let data = list["data"].as_array().unwrap();
    data.len() == n && data.iter().all(|d| d["status"] == status)
}

#[tokio::test]
async fn delivery_is_signed_and_carries_the_envelope_and_headers() {
    let server = Server::start(&[]).await;
    let receiver = Receiver::start().await;
    let webhook = server
        .create_webhook(json!({"url": receiver.url, "events": ["scan.*"], "headers": {"X-Team": "appsec"}}))
        .await;
    let secret = webhook["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    let accepted = server.send_event("scan.completed", json!({"scanId": "scan_1", "violations": {"total": 5}})).await;
    assert_eq!(accepted["deliveries"], 1);

    let got = receiver.wait_for(1, 10).await;
    let req = &got[0];
    assert_eq!(req.header("content-type"), "application/json");
    assert!(req.header("user-agent").starts_with("scanhook/"), "{}", req.header("user-agent"));
    assert_eq!(req.header("x-scanhook-event"), "scan.completed");
    assert!(req.header("x-scanhook-delivery").starts_with("dlv_"));
    assert_eq!(req.header("x-scanhook-attempt"), "1");
    assert_eq!(req.header("x-team"), "appsec");
    assert_eq!(req.header("webhook-id"), accepted["id"].as_str().unwrap());

    let body = req.json();
    assert_eq!(body["id"], accepted["id"]);
    assert_eq!(body["type"], "scan.completed");
    assert_eq!(body["data"], json!({"scanId": "scan_1", "violations": {"total": 5}}));
    let sent_at: chrono::DateTime<chrono::Utc> = body["timestamp"].as_str().unwrap().parse().unwrap();
    let accepted_at: chrono::DateTime<chrono::Utc> = accepted["timestamp"].as_str().unwrap().parse().unwrap();
    assert_eq!(sent_at, accepted_at);
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["id", "type", "timestamp", "data"]);

    let expected = standard_signature(&secret, req.header("webhook-id"), req.header("webhook-timestamp"), &req.body);
    assert_eq!(req.header("webhook-signature"), expected);
    assert_eq!(req.header("x-scanhook-signature"), hex_signature(&secret, &req.body));
    let ts: i64 = req.header("webhook-timestamp").parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - ts).abs() < 60);
}

#[tokio::test]
async fn a_secret_chosen_by_the_user_keys_both_signatures_with_its_bytes() {
    let server = Server::start(&[]).await;
    let receiver = Receiver::start().await;
    let secret = "your-webhook-secret-from-juro";
    let webhook = server.create_webhook(json!({"url": receiver.url, "events": ["*"], "secret": secret})).await;
    assert_eq!(webhook["secret"], secret);
    server.send_event("violation.detected", json!({"rule": "gdpr"})).await;
    let req = &receiver.wait_for(1, 10).await[0];
    // What a Juro or ComplianceLayer receiver computes: hex HMAC of the raw body.
    assert_eq!(req.header("x-scanhook-signature"), hex_signature(secret, &req.body));
    let expected = standard_signature(secret, req.header("webhook-id"), req.header("webhook-timestamp"), &req.body);
    assert_eq!(req.header("webhook-signature"), expected);
}

#[tokio::test]
async fn only_matching_active_endpoints_receive_an_event() {
    let server = Server::start(&[]).await;
    let (all, scans, violations, inactive) =
        (Receiver::start().await, Receiver::start().await, Receiver::start().await, Receiver::start().await);
    server.create_webhook(json!({"url": all.url, "events": ["*"]})).await;
    server.create_webhook(json!({"url": scans.url, "events": ["scan.*"]})).await;
    server.create_webhook(json!({"url": violations.url, "events": ["violation.detected"]})).await;
    server.create_webhook(json!({"url": inactive.url, "events": ["*"], "active": false})).await;

    assert_eq!(server.send_event("scan.completed", json!({})).await["deliveries"], 2);
    assert_eq!(server.send_event("violation.detected", json!({})).await["deliveries"], 2);
    assert_eq!(server.send_event("violation.resolved", json!({})).await["deliveries"], 1);
    all.wait_for(3, 10).await;
    scans.wait_for(1, 10).await;
    violations.wait_for(1, 10).await;
    // Settle, then check nothing extra arrived anywhere.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(all.received().len(), 3);
    assert_eq!(scans.received()[0].header("x-scanhook-event"), "scan.completed");
    assert_eq!(scans.received().len(), 1);
    assert_eq!(violations.received().len(), 1);
    assert!(inactive.received().is_empty());
}

#[tokio::test]
async fn failed_attempts_are_retried_on_schedule_until_success() {
    let server = Server::start(&[]).await;
    let receiver = Receiver::start().await;
    receiver.script(&[status(500), status(503)]);
    let webhook = server.create_webhook(json!({"url": receiver.url, "events": ["scan.failed"]})).await;
    server.send_event("scan.failed", json!({"error": {"code": "SCAN_FAILED"}})).await;

    let got = receiver.wait_for(3, 15).await;
    let attempts: Vec<&str> = got.iter().map(|r| r.header("x-scanhook-attempt")).collect();
    assert_eq!(attempts, ["1", "2", "3"]);
    let ids: Vec<&str> = got.iter().map(|r| r.header("x-scanhook-delivery")).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "delivery id must be stable: {ids:?}");
    assert!(got.iter().all(|r| r.body == got[0].body), "every retry sends the same body");

    let list = server.wait_until(&deliveries_path(&webhook), 10, |l| all_have_status(l, 1, "succeeded")).await;
    let id = list["data"][0]["id"].as_str().unwrap();
    let (code, detail) = server.get(&format!("/v1/deliveries/{id}")).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(detail["attempts"], 3);
    let log = detail["attempt_log"].as_array().unwrap();
    let codes: Vec<&Value> = log.iter().map(|a| &a["status_code"]).collect();
    assert_eq!(codes, [&json!(500), &json!(503), &json!(200)]);
    assert_eq!(log[0]["error"], "endpoint answered HTTP 500");
    assert_eq!(log[2]["response"]["body"], "received");
    assert!(log[0]["request"]["body"].as_str().unwrap().contains("SCAN_FAILED"));
    let sent_headers = log[0]["request"]["headers"].as_array().unwrap();
    assert!(sent_headers.iter().any(|h| h[0] == "webhook-signature"));
}

#[tokio::test]
async fn a_timeout_is_a_failed_attempt() {
    let server = Server::start(&[("SCANHOOK_DELIVERY_TIMEOUT", "300ms"), ("SCANHOOK_LEASE", "2s")]).await;
    let receiver = Receiver::start().await;
    receiver.script(&[Reply { status: 200, delay: Duration::from_secs(2), retry_after: None }]);
    let webhook = server.create_webhook(json!({"url": receiver.url, "events": ["scan.started"]})).await;
    server.send_event("scan.started", json!({})).await;
    let list = server.wait_until(&deliveries_path(&webhook), 10, |l| all_have_status(l, 1, "succeeded")).await;
    let id = list["data"][0]["id"].as_str().unwrap();
    let (_, detail) = server.get(&format!("/v1/deliveries/{id}")).await;
    let log = detail["attempt_log"].as_array().unwrap();
    assert_eq!(log.len(), 2);
    assert!(log[0]["status_code"].is_null());
    assert_eq!(log[0]["error"], "timed out after 300ms");
    assert_eq!(log[1]["status_code"], 200);
}

#[tokio::test]
async fn dead_letters_can_be_retried_and_replayed() {
    let server = Server::start(&[]).await;
    let receiver = Receiver::start().await;
    receiver.always(status(500));
    let webhook = server.create_webhook(json!({"url": receiver.url, "events": ["*"]})).await;
    let wh = webhook["id"].as_str().unwrap();
    server.send_event("scan.completed", json!({"n": 1})).await;
    server.send_event("scan.completed", json!({"n": 2})).await;
    let list = server.wait_until(&deliveries_path(&webhook), 15, |l| all_have_status(l, 2, "dead")).await;
    assert_eq!(list["data"][0]["attempts"], 3, "three attempts per round, then dead");
    let (_, dead) = server.get("/v1/deliveries?status=dead").await;
    assert_eq!(dead["data"].as_array().unwrap().len(), 2);
    assert_eq!(receiver.received().len(), 6);

    receiver.always(status(200));
    // One by hand...
    let first = list["data"][0]["id"].as_str().unwrap().to_string();
    let (code, retried) = server.post(&format!("/v1/deliveries/{first}/retry"), json!({})).await;
    assert_eq!(code, StatusCode::ACCEPTED, "{retried}");
    assert_eq!(retried["status"], "pending");
    server.wait_until(&format!("/v1/deliveries/{first}"), 10, |d| d["status"] == "succeeded").await;
    let (code, again) = server.post(&format!("/v1/deliveries/{first}/retry"), json!({})).await;
    assert_eq!(code, StatusCode::ACCEPTED, "a succeeded delivery can be sent again: {again}");
    server
        .wait_until(&format!("/v1/deliveries/{first}"), 10, |d| d["status"] == "succeeded" && d["attempts"] == 5)
        .await;

    // ...and the rest of the endpoint's dead letters at once; `since` in the future selects none.
    let (_, none) = server.post(&format!("/v1/webhooks/{wh}/replay"), json!({"since": "2999-01-01T00:00:00Z"})).await;
    assert_eq!(none["requeued"], 0);
    let (code, replay) = server.post(&format!("/v1/webhooks/{wh}/replay"), json!({})).await;
    assert_eq!(code, StatusCode::ACCEPTED);
    assert_eq!(replay["requeued"], 1);
    server.wait_until(&deliveries_path(&webhook), 10, |l| all_have_status(l, 2, "succeeded")).await;
    let (code, missing) = server.post("/v1/webhooks/wh_01ARZ3NDEKTSV4RRFFQ69G5FAV/replay", json!({})).await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{missing}");
}

#[tokio::test]
async fn an_endpoint_is_disabled_after_consecutive_dead_deliveries_and_can_be_enabled() {
    let server = Server::start(&[("SCANHOOK_DISABLE_AFTER", "2"), ("SCANHOOK_RETRY_SCHEDULE", "0s")]).await;
    let receiver = Receiver::start().await;
    receiver.always(status(500));
    let webhook = server.create_webhook(json!({"url": receiver.url, "events": ["*"]})).await;
    let path = format!("/v1/webhooks/{}", webhook["id"].as_str().unwrap());

    server.send_event("scan.completed", json!({})).await;
    server.wait_until(&path, 10, |w| w["consecutive_failures"] == 1).await;
    assert_eq!(server.get(&path).await.1["active"], true, "one dead delivery is not enough");
    server.send_event("scan.completed", json!({})).await;
    let disabled = server.wait_until(&path, 10, |w| w["active"] == false).await;
    let reason = disabled["disabled_reason"].as_str().unwrap();
    assert!(reason.contains("2 consecutive failed deliveries"), "{reason}");
    assert!(reason.contains("HTTP 500"), "{reason}");
    assert!(disabled["disabled_at"].is_string());

    // Nothing new reaches a disabled endpoint (its deliveries are held for it)...
    assert_eq!(server.send_event("scan.completed", json!({})).await["deliveries"], 1);
    // ...except a test event, so a fix can be checked before enabling it again.
    receiver.always(status(200));
    let (code, test) = server.post(&format!("{path}/test"), json!({})).await;
    assert_eq!(code, StatusCode::ACCEPTED, "{test}");
    let got = receiver.wait_for(3, 10).await;
    let body = got[2].json();
    assert_eq!(body["type"], "webhook.test");
    assert_eq!(body["data"]["test"], true);
    let delivery = format!("/v1/deliveries/{}", test["delivery_id"].as_str().unwrap());
    server.wait_until(&delivery, 10, |d| d["status"] == "succeeded").await;

    let (code, enabled) = server.post(&format!("{path}/enable"), json!({})).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(enabled["active"], true);
    assert!(enabled.get("disabled_reason").is_none());
    assert_eq!(enabled["consecutive_failures"], 0);
    assert_eq!(server.send_event("scan.completed", json!({})).await["deliveries"], 1);
    receiver.wait_for(4, 10).await;
}

#[tokio::test]
async fn event_data_reaches_the_receiver_byte_for_byte() {
    let server = Server::start(&[]).await;
    let receiver = Receiver::start().await;
    server.create_webhook(json!({"url": receiver.url, "events": ["*"]})).await;
    let data = r#"{"z": 1,  "a": [2.50, "ü"], "m": {"k": null}}"#;
    let resp = server
        .client()
        .post(server.url("/v1/events"))
        .bearer_auth(&server.key)
        .header("Content-Type", "application/json")
        .body(format!(r#"{{"type": "scan.completed", "data": {data}}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let got = receiver.wait_for(1, 10).await;
    let body = String::from_utf8(got[0].body.to_vec()).unwrap();
    assert!(body.ends_with(&format!(r#""data":{data}}}"#)), "key order, spacing and number forms are kept: {body}");
}

#[tokio::test]
async fn a_process_with_dispatch_off_stores_deliveries_and_sends_none() {
    let mut server = Server::start(&[("SCANHOOK_DISPATCH", "false")]).await;
    let receiver = Receiver::start().await;
    let webhook = server.create_webhook(json!({"url": receiver.url, "events": ["scan.*"]})).await;
    assert_eq!(server.send_event("scan.completed", json!({"scanId": "scan_1"})).await["deliveries"], 1);
    // Ten poll intervals: a dispatcher would have sent it many times over.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(receiver.received().is_empty(), "nothing leaves a process with dispatch off");
    let (_, list) = server.get(&deliveries_path(&webhook)).await;
    assert!(all_have_status(&list, 1, "pending"), "{list}");

    server.kill();
    server.restart_with(&[("SCANHOOK_DISPATCH", "true")]).await;
    assert_eq!(receiver.wait_for(1, 10).await.len(), 1, "the stored delivery goes out once a dispatcher runs");
}
