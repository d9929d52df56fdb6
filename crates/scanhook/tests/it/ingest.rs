//! Producers' events at volume: the per-account ingest limit (429 with `Retry-After`, one
//! account's limit never slowing another) and `POST /v1/events/batch` (one result per
//! event, idempotency within and across batches, bounds, every accepted event delivered).

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Receiver, Server};

async fn new_account(server: &Server, name: &str) -> String {
    let (code, account) = server.post("/v1/accounts", json!({"name": name})).await;
    assert_eq!(code, StatusCode::CREATED, "{account}");
    account["api_key"]["key"].as_str().unwrap().to_string()
}

/// POSTs `body` to `path` with `key`: status, `Retry-After` and the JSON answer.
async fn post_as(server: &Server, key: &str, path: &str, body: &Value) -> (StatusCode, Option<u64>, Value) {
    let resp = server.client().post(server.url(path)).bearer_auth(key).json(body).send().await.unwrap();
    let status = resp.status();
    let retry_after = resp.headers().get("retry-after").map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
    let content_type = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
    let json: Value = resp.json().await.unwrap();
    if status.is_client_error() {
        assert_eq!(content_type.as_deref(), Some("application/problem+json"), "{json}");
    }
    (status, retry_after, json)
}

fn event(n: u32) -> Value {
    json!({"type": "scan.completed", "data": {"n": n}})
}

async fn event_count(server: &Server, key: &str) -> usize {
    let (_, list) = server.call(reqwest::Method::GET, "/v1/events?limit=250", None, Some(key)).await;
    list["data"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn an_account_over_its_ingest_limit_is_told_when_to_return_and_others_are_untouched() {
    // One token a second, three at once.
    let server = Server::start(&[("SCANHOOK_INGEST_RATE", "1"), ("SCANHOOK_INGEST_BURST", "3")]).await;
    let (noisy, quiet) = (server.key.clone(), new_account(&server, "quiet").await);

    for n in 0..3 {
        let (code, _, body) = post_as(&server, &noisy, "/v1/events", &event(n)).await;
        assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    }
    let (code, retry_after, body) = post_as(&server, &noisy, "/v1/events", &event(3)).await;
    assert_eq!(code, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["code"], "rate_limited", "{body}");
    assert_eq!(body["status"], 429, "{body}");
    let wait = retry_after.expect("a Retry-After header");
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    // A batch counts each of its events: refused whole, nothing stored.
    let (code, retry_after, body) =
        post_as(&server, &noisy, "/v1/events/batch", &json!({"events": [event(4), event(5)]})).await;
    assert_eq!(code, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(retry_after.is_some_and(|s| s >= 1));
    // More events at once than the burst could ever hold is the request's fault.
    let (code, _, body) =
        post_as(&server, &noisy, "/v1/events/batch", &json!({"events": [event(6), event(7), event(8), event(9)]}))
            .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "events", "{body}");
    assert_eq!(event_count(&server, &noisy).await, 3);

    // The other account has its own bucket, full, while the first one's is empty.
    for n in 0..3 {
        let (code, _, body) = post_as(&server, &quiet, "/v1/events", &event(n)).await;
        assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    }

    // After the wait it was told, the first account is heard again.
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let (code, _, body) = post_as(&server, &noisy, "/v1/events", &event(10)).await;
    assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    assert_eq!(event_count(&server, &noisy).await, 4);
    assert_eq!(event_count(&server, &quiet).await, 3);
}

#[tokio::test]
async fn without_a_configured_limit_events_are_not_limited() {
    let server = Server::start(&[]).await;
    let events: Vec<Value> = (0..100).map(event).collect();
    for _ in 0..3 {
        let (code, body) = server.post("/v1/events/batch", json!({ "events": events })).await;
        assert_eq!(code, StatusCode::OK, "{body}");
    }
    assert_eq!(event_count(&server, &server.key).await, 250);

    // A limit that cannot be meant refuses to start, naming the setting.
    let mut server = server;
    server.kill();
    let log = server.start_fails_with(&[("SCANHOOK_INGEST_RATE", "0")]);
    assert!(log.contains("ingest-rate") || log.contains("INGEST_RATE"), "{log}");
    let log = server.start_fails_with(&[("SCANHOOK_INGEST_BURST", "500")]);
    assert!(log.contains("ingest-rate") || log.contains("INGEST_RATE"), "{log}");
}

#[tokio::test]
async fn the_admin_gives_one_account_a_limit_of_its_own_and_takes_it_back() {
    // No deployment limit: only the account the admin limits is limited.
    let server = Server::start(&[]).await;
    let (code, created) = server.post("/v1/accounts", json!({"name": "noisy"})).await;
    assert_eq!(code, StatusCode::CREATED, "{created}");
    let (noisy_id, noisy) = (created["id"].as_str().unwrap().to_string(), created["api_key"]["key"].as_str().unwrap());
    assert_eq!((&created["ingest_rate"], &created["ingest_burst"]), (&Value::Null, &Value::Null));
    let quiet = new_account(&server, "quiet").await;
    let path = format!("/v1/accounts/{noisy_id}");
    let patch =
        async |body: Value, key: Option<&str>| server.call(reqwest::Method::PATCH, &path, Some(body), key).await;

    // Only the admin may, and bad values name their field; none of it changes anything.
    let (code, body) = patch(json!({"ingest_rate": 1}), Some(noisy)).await;
    assert_eq!(code, StatusCode::FORBIDDEN, "{body}");
    for (bad, field) in [
        (json!({"ingest_rate": 0}), "ingest_rate"),
        (json!({"ingest_rate": 100_001}), "ingest_rate"),
        (json!({"ingest_rate": "fast"}), "ingest_rate"),
        (json!({"ingest_burst": 5}), "ingest_burst"),
        (json!({"ingest_rate": 1, "ingest_burst": 0}), "ingest_burst"),
        (json!({"ingest_rate": null, "ingest_burst": 5}), "ingest_burst"),
        (json!({"ingest_rates": 1}), "ingest_rates"),
    ] {
        let (code, body) = patch(bad.clone(), None).await;
        assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert!(body["field"].as_str().is_some_and(|f| f.contains(field)), "{bad}: {body}");
    }
    let (_, account) = server.get(&path).await;
    assert_eq!(account["ingest_rate"], Value::Null, "{account}");
    for n in 0..5 {
        let (code, _, body) = post_as(&server, noisy, "/v1/events", &event(n)).await;
        assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    }

    // One a second, two at once.
    let (code, account) = patch(json!({"ingest_rate": 1, "ingest_burst": 2}), None).await;
    assert_eq!(code, StatusCode::OK, "{account}");
    assert_eq!((&account["ingest_rate"], &account["ingest_burst"]), (&json!(1), &json!(2)), "{account}");
    let (_, read) = server.get(&path).await;
    assert_eq!((&read["ingest_rate"], &read["ingest_burst"]), (&json!(1), &json!(2)), "{read}");
    for n in 5..7 {
        let (code, _, body) = post_as(&server, noisy, "/v1/events", &event(n)).await;
        assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    }
    let (code, retry_after, body) = post_as(&server, noisy, "/v1/events", &event(7)).await;
    assert_eq!(code, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(retry_after.is_some_and(|s| s >= 1), "{body}");
    assert!(body["message"].as_str().is_some_and(|d| d.contains("at most 1 events per second")), "{body}");
    // The other account is untouched.
    for n in 0..5 {
        let (code, _, body) = post_as(&server, &quiet, "/v1/events", &event(n)).await;
        assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    }

    // Back to the deployment's (none): heard at once.
    let (code, account) = patch(json!({"ingest_rate": null}), None).await;
    assert_eq!(code, StatusCode::OK, "{account}");
    assert_eq!((&account["ingest_rate"], &account["ingest_burst"]), (&Value::Null, &Value::Null));
    for n in 8..12 {
        let (code, _, body) = post_as(&server, noisy, "/v1/events", &event(n)).await;
        assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    }
    assert_eq!(event_count(&server, noisy).await, 11);

    // Both changes are in the admin's audit log, from and to.
    let (_, log) = server.get("/v1/audit-log?action=account.updated").await;
    let entries = log["data"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{log}");
    assert_eq!(entries[0]["target_id"], noisy_id.as_str());
    assert_eq!(entries[0]["changes"]["ingest_rate"], json!({"from": 1, "to": null}), "{log}");
    assert_eq!(entries[1]["changes"]["ingest_burst"], json!({"from": null, "to": 2}), "{log}");
}

#[tokio::test]
async fn a_batch_answers_each_event_in_order_and_delivers_every_accepted_one() {
    let server = Server::start(&[]).await;
    let receiver = Receiver::start().await;
    server.create_webhook(json!({"url": receiver.url, "events": ["scan.*"]})).await;

    let first = json!({"type": "scan.completed", "data": {"scan": 1}, "idempotency_key": "k-1"});
    let batch = json!({"events": [
        first,
        {"type": "Not.A.Type", "data": {}},
        {"type": "scan.started", "data": [1, 2]},
        // The same key and event: the first one's answer.
        {"type": "scan.completed", "data": { "scan" : 1 }, "idempotency_key": "k-1"},
        // The same key, another event: refused, as a lone request would be.
        {"type": "scan.completed", "data": {"scan": 2}, "idempotency_key": "k-1"},
        {"type": "scan.started", "idempotency_key": " padded "},
        {"type": "scan.failed", "data": {"reason": "timeout"}},
    ]});
    let (code, body) = server.post("/v1/events/batch", batch).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let results = body["results"].as_array().expect("results");
    assert_eq!(results.len(), 7, "{body}");
    let status: Vec<u64> = results.iter().map(|r| r["status"].as_u64().unwrap()).collect();
    assert_eq!(status, [202, 422, 422, 202, 409, 422, 202], "{body}");
    let fields: Vec<&str> = results.iter().map(|r| r["error"]["field"].as_str().unwrap_or("")).collect();
    assert_eq!(fields[1], "events[1].type");
    assert_eq!(fields[2], "events[2].data");
    assert_eq!(fields[5], "events[5].idempotency_key");
    assert_eq!(results[4]["error"]["code"], "idempotency_key_reused", "{body}");
    assert_eq!(results[1]["error"]["code"], "validation_failed", "{body}");
    assert_eq!(results[0]["replayed"], false);
    assert_eq!(results[3]["replayed"], true);
    assert_eq!(results[3]["event"]["id"], results[0]["event"]["id"]);
    assert_eq!(results[0]["event"]["deliveries"], 1);
    assert!(results[6]["event"]["id"].as_str().unwrap().starts_with("evt_"));

    // Half a surrogate pair is no character, in a batch as alone.
    let raw = r#"{"events": [{"type": "scan.started", "data": {"x": "\ud800"}}]}"#;
    let (code, lone) = server.post_raw("/v1/events/batch", "application/json", raw.to_string()).await;
    assert_eq!(code, StatusCode::OK, "{lone}");
    assert_eq!(lone["results"][0]["status"], 422, "{lone}");
    assert_eq!(lone["results"][0]["error"]["field"], "events[0].data", "{lone}");

    // Across batches, and with the single endpoint, a key is one key.
    let (code, again) = server.post("/v1/events/batch", json!({"events": [first.clone()]})).await;
    assert_eq!(code, StatusCode::OK, "{again}");
    assert_eq!(again["results"][0]["replayed"], true);
    assert_eq!(again["results"][0]["event"]["id"], results[0]["event"]["id"]);
    let resp = server
        .client()
        .post(server.url("/v1/events"))
        .bearer_auth(&server.key)
        .header("Idempotency-Key", "k-1")
        .json(&json!({"type": "scan.completed", "data": {"scan": 1}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    assert_eq!(resp.headers()["idempotent-replayed"], "true");
    let single: Value = resp.json().await.unwrap();
    assert_eq!(single["id"], results[0]["event"]["id"]);

    // Exactly the two events created were stored and delivered, each once.
    let accepted: BTreeSet<String> =
        [0, 6].iter().map(|&i| results[i]["event"]["id"].as_str().unwrap().to_string()).collect();
    let got = receiver.wait_for(2, 20).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got_ids: Vec<String> =
        receiver.received().iter().map(|r| r.json()["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(got_ids.len(), 2, "{got_ids:?}");
    assert_eq!(got_ids.into_iter().collect::<BTreeSet<_>>(), accepted);
    assert_eq!(got.len(), 2);
    assert_eq!(event_count(&server, &server.key).await, 2);
}

#[tokio::test]
async fn a_full_batch_is_delivered_whole() {
    let server = Server::start(&[]).await;
    let receiver = Receiver::start().await;
    server.create_webhook(json!({"url": receiver.url, "events": ["scan.*"]})).await;
    let events: Vec<Value> = (0..100)
        .map(|n| json!({"type": "scan.completed", "data": {"n": n}, "idempotency_key": format!("n-{n}")}))
        .collect();
    let (code, body) = server.post("/v1/events/batch", json!({ "events": events })).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let accepted: BTreeSet<String> =
        body["results"].as_array().unwrap().iter().map(|r| r["event"]["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(accepted.len(), 100);
    receiver.wait_for(100, 30).await;
    let delivered: BTreeSet<String> =
        receiver.received().iter().map(|r| r.json()["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(delivered, accepted);
}

#[tokio::test]
async fn a_batch_out_of_bounds_is_refused_whole_naming_the_field() {
    let server = Server::start(&[]).await;
    let too_many: Vec<Value> = (0..101).map(event).collect();
    for (body, field) in [
        (json!({ "events": too_many }), "events"),
        (json!({"events": []}), "events"),
        (json!({"events": [event(0), {"type": 7}]}), "events[1].type"),
        (json!({"events": [event(0), {"type": "scan.started", "colour": "red"}]}), "events[1].colour"),
        (json!({"events": [{"data": {}}]}), "events[0].type"),
        (json!({}), "events"),
    ] {
        let (code, problem) = server.post("/v1/events/batch", body).await;
        assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["field"], field, "{problem}");
    }
    // Every event refused is still an answer per event, and stores nothing.
    let (code, body) =
        server.post("/v1/events/batch", json!({"events": [{"type": "BAD"}, {"type": "a.b", "data": 1}]})).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["results"][0]["status"], 422, "{body}");
    assert_eq!(body["results"][1]["error"]["field"], "events[1].data", "{body}");
    // The body limit holds as for a single event.
    let big = "x".repeat(1024 * 1024);
    let (code, problem) =
        server.post("/v1/events/batch", json!({"events": [{"type": "a.b", "data": {"big": big}}]})).await;
    assert_eq!(code, StatusCode::PAYLOAD_TOO_LARGE, "{problem}");
    assert_eq!(event_count(&server, &server.key).await, 0);
}
