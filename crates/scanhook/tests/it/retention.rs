//! Retention end to end: the real server, with retention of seconds, prunes old succeeded
//! deliveries, their attempts and events, forgets idempotency keys, blanks attempt bodies
//! sooner, and keeps deliveries still to be sent (and their events) however old; a dead
//! delivery is kept for the retention counted from its death.

use std::time::Duration;

use crate::common::receiver::status;
use crate::common::{Receiver, Server};
use reqwest::StatusCode;
use serde_json::{Value, json};

const RETENTION: &[(&str, &str)] = &[
    ("SCANHOOK_RETENTION", "3s"),
    ("SCANHOOK_ATTEMPT_BODY_RETENTION", "1s"),
    // A failing delivery retries at once, then after 6s, then dies: pending past the
    // retention of its event, dead afterwards.
    ("SCANHOOK_RETRY_SCHEDULE", "0s,100ms,6s"),
];

/// Sends an event with an idempotency key: its id, and whether it was a replay.
async fn send_keyed(server: &Server, event_type: &str, key: &str) -> (String, bool) {
    let response = server
        .client()
        .post(server.url("/v1/events"))
        .bearer_auth(&server.key)
        .header("Idempotency-Key", key)
        .json(&json!({"type": event_type, "data": {"key": key}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let replayed = response.headers().get("idempotent-replayed").is_some_and(|v| v == "true");
    let body: Value = response.json().await.unwrap();
    (body["id"].as_str().unwrap().to_string(), replayed)
}

fn gone(problem: &Value) -> bool {
    problem["code"] == "not_found"
}

async fn only_delivery(server: &Server, webhook: &Value, status: &str) -> Value {
    let path = format!("/v1/deliveries?webhook_id={}", webhook["id"].as_str().unwrap());
    let list = server
        .wait_until(&path, 15, |l| l["data"].as_array().is_some_and(|d| d.len() == 1 && d[0]["status"] == status))
        .await;
    list["data"][0].clone()
}

#[tokio::test]
async fn old_history_is_pruned_and_work_still_to_send_is_kept() {
    let server = Server::start(RETENTION).await;
    let (ok, failing) = (Receiver::start().await, Receiver::start().await);
    failing.always(status(500));
    let to_ok = server.create_webhook(json!({"url": ok.url, "events": ["scan.completed"]})).await;
    let to_failing = server.create_webhook(json!({"url": failing.url, "events": ["scan.failed"]})).await;

    let (succeeded_event, _) = send_keyed(&server, "scan.completed", "key-succeeded").await;
    let (failing_event, _) = send_keyed(&server, "scan.failed", "key-failing").await;
    // Before retention: a repeat is the same event.
    assert_eq!(send_keyed(&server, "scan.completed", "key-succeeded").await, (succeeded_event.clone(), true));
    let succeeded = only_delivery(&server, &to_ok, "succeeded").await;
    let succeeded_id = succeeded["id"].as_str().unwrap();
    failing.wait_for(2, 10).await;

    // The success goes with its attempts and its event once past the retention.
    let path = format!("/v1/deliveries?webhook_id={}", to_ok["id"].as_str().unwrap());
    server.wait_until(&path, 10, |l| l["data"].as_array().is_some_and(|d| d.is_empty())).await;
    let (code, _) = server.get(&format!("/v1/deliveries/{succeeded_id}")).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let event_path = format!("/v1/events/{succeeded_event}");
    server.wait_until(&event_path, 5, gone).await;

    // The failing delivery is still retrying (its last attempt is due at about 6s): it
    // and its event, older than the retention, are kept; its attempts' bodies are gone.
    let retrying = only_delivery(&server, &to_failing, "pending").await;
    let (code, _) = server.get(&format!("/v1/events/{failing_event}")).await;
    assert_eq!(code, StatusCode::OK, "an event with a delivery still to send is kept");
    let (_, detail) = server.get(&format!("/v1/deliveries/{}", retrying["id"].as_str().unwrap())).await;
    let log = detail["attempt_log"].as_array().unwrap();
    assert_eq!(log.len(), 2, "{detail}");
    for attempt in log {
        assert_eq!(attempt["status_code"], 500, "the outcome stays: {attempt}");
        assert_eq!(attempt["response"]["body"], "", "the body is pruned after 1s: {attempt}");
    }

    // Keys are forgotten: a repeat of either is a new event, although the failing one's
    // event is still there.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let (again, replayed) = loop {
        let sent = send_keyed(&server, "scan.failed", "key-failing").await;
        if !sent.1 || tokio::time::Instant::now() > deadline {
            break sent;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(!replayed && again != failing_event, "the key outlived the retention");
    let (again, replayed) = send_keyed(&server, "scan.completed", "key-succeeded").await;
    assert!(!replayed && again != succeeded_event, "a pruned event's key is gone with it");

    // Dead: kept for the retention from its death, although its event is older.
    let dead = server
        .wait_until(&format!("/v1/deliveries/{}", retrying["id"].as_str().unwrap()), 15, |d| d["status"] == "dead")
        .await;
    let (code, _) = server.get(&format!("/v1/events/{failing_event}")).await;
    assert_eq!(code, StatusCode::OK, "the event of a dead delivery is kept: {dead}");
    // Then it goes too, and its event with it.
    let dead_path = format!("/v1/deliveries/{}", retrying["id"].as_str().unwrap());
    server.wait_until(&dead_path, 10, gone).await;
    server.wait_until(&format!("/v1/events/{failing_event}"), 5, gone).await;
}

#[tokio::test]
async fn attempt_bodies_may_not_be_kept_longer_than_history() {
    let mut server = Server::start(&[]).await;
    assert!(server.terminate());
    let log = server.start_fails_with(&[("SCANHOOK_RETENTION", "1h"), ("SCANHOOK_ATTEMPT_BODY_RETENTION", "2h")]);
    assert!(log.contains("SCANHOOK_ATTEMPT_BODY_RETENTION"), "{log}");
    assert!(log.contains("must not be longer than the retention"), "{log}");
    let log = server.start_fails_with(&[("SCANHOOK_RETENTION", "forever")]);
    assert!(log.contains("SCANHOOK_RETENTION") || log.contains("--retention"), "{log}");
}
