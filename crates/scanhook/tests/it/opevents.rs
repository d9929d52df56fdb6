//! Operational events end to end: an ops endpoint subscribed to `endpoint.*` and
//! `delivery.dead` hears of another endpoint's dead deliveries, its auto-disable, and its
//! failing and recovery; the endpoint they are about never hears of itself, even when it
//! subscribes to everything.

use std::collections::BTreeMap;

use crate::common::receiver::status;
use crate::common::{Receiver, Server};
use serde_json::{Value, json};

fn types(bodies: &[Value]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for body in bodies {
        *counts.entry(body["type"].as_str().unwrap_or("?").to_string()).or_default() += 1;
    }
    counts
}

async fn deliveries_to(server: &Server, webhook: &Value) -> Vec<Value> {
    let path = format!("/v1/deliveries?webhook_id={}&limit=200", webhook["id"].as_str().unwrap());
    server.get(&path).await.1["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn an_ops_endpoint_hears_of_dead_deliveries_and_an_auto_disable_and_the_failing_endpoint_does_not() {
    let server = Server::start(&[("SCANHOOK_DISABLE_AFTER", "2"), ("SCANHOOK_RETRY_SCHEDULE", "0s")]).await;
    let (failing, ops) = (Receiver::start().await, Receiver::start().await);
    failing.always(status(500));
    let broken = server.create_webhook(json!({"url": failing.url, "events": ["*"]})).await;
    let id = broken["id"].as_str().unwrap();
    // Rendered for Slack, as an ops channel would take them.
    server.create_webhook(json!({"url": ops.url, "events": ["endpoint.*", "delivery.dead"], "kind": "slack"})).await;

    let sent = [
        server.send_event("scan.completed", json!({"scanId": "scan_1"})).await,
        server.send_event("scan.completed", json!({"scanId": "scan_2"})).await,
    ];
    let got: Vec<Value> = ops.wait_for(3, 20).await.iter().map(|r| r.json()).collect();
    let texts: Vec<&str> = got.iter().map(|b| b["text"].as_str().unwrap()).collect();
    let url = failing.url.as_str();
    let dead = texts.iter().filter(|t| **t == format!("Delivery of scan.completed given up after 1 attempts: {url}"));
    assert_eq!(dead.count(), 2, "{texts:?}");
    assert!(texts.contains(&format!("Endpoint disabled: {url}").as_str()), "{texts:?}");
    let body = serde_json::to_string(&got).unwrap();
    assert!(body.contains(id) && body.contains("2 consecutive failed deliveries"), "{body}");
    assert!(!body.contains("scan_1") && !body.contains("scan_2"), "no event data in operational events: {body}");

    // The events themselves, as the API lists them (the ops endpoint got them rendered).
    let (_, listed) = server.get("/v1/events?type=delivery.dead").await;
    let listed = listed["data"].as_array().unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    let event_ids: Vec<&str> = sent.iter().map(|s| s["id"].as_str().unwrap()).collect();
    for event in listed {
        assert_eq!(event["data"]["endpointId"], id);
        assert!(event_ids.contains(&event["data"]["eventId"].as_str().unwrap()), "{event}");
        assert_eq!(event["data"]["lastStatus"], 500);
    }
    let (_, disabled) = server.get("/v1/events?type=endpoint.disabled").await;
    assert_eq!(disabled["data"].as_array().unwrap().len(), 1, "{disabled}");

    // Emitted with the state change, so the failing endpoint's deliveries are all there is:
    // its two scan events, and nothing about itself (not even held for when it is enabled).
    let own = deliveries_to(&server, &broken).await;
    assert_eq!(own.len(), 2, "{own:?}");
    assert!(own.iter().all(|d| d["event_type"] == "scan.completed"), "{own:?}");
    assert_eq!(types(&failing.received().iter().map(|r| r.json()).collect::<Vec<_>>()).len(), 1);
}

#[tokio::test]
async fn an_endpoint_that_starts_failing_and_recovers_is_announced_once_each_and_never_to_itself() {
    let server = Server::start(&[("SCANHOOK_DISABLE_AFTER", "1000"), ("SCANHOOK_RETRY_SCHEDULE", "0s")]).await;
    let (flaky, ops) = (Receiver::start().await, Receiver::start().await);
    flaky.script(&[status(500); 10]);
    flaky.always(status(200));
    let endpoint = server.create_webhook(json!({"url": flaky.url, "events": ["*"]})).await;
    let id = endpoint["id"].as_str().unwrap();
    server.create_webhook(json!({"url": ops.url, "events": ["endpoint.*"]})).await;

    // Ten attempts, all failed: above 10 % with the ten attempts the rule needs.
    for i in 0..10 {
        server.send_event("scan.completed", json!({"n": i})).await;
    }
    let got = ops.wait_for(1, 20).await;
    let failing = got[0].json();
    assert_eq!(failing["type"], "endpoint.failing", "{failing}");
    assert_eq!(failing["data"]["endpointId"], id);
    assert_eq!(failing["data"]["failures"], 10);
    assert_eq!(failing["data"]["failureRate"], 1.0);

    // Recovered only once at most 5 % of the last 100 failed: 95 successes in a row.
    for i in 0..95 {
        server.send_event("scan.completed", json!({"n": i})).await;
    }
    let got = ops.wait_for(2, 30).await;
    let recovered = got[1].json();
    assert_eq!(recovered["type"], "endpoint.recovered", "{recovered}");
    assert_eq!(recovered["data"]["attempts"], 100);
    // Judged once per recorded batch: at 5 failures, or fewer if one batch took several.
    assert!(recovered["data"]["failures"].as_u64().is_some_and(|f| f <= 5), "{recovered}");
    let to_flaky = server
        .wait_until(&format!("/v1/deliveries?webhook_id={id}&status=succeeded&limit=200"), 20, |l| {
            l["data"].as_array().is_some_and(|d| d.len() == 95)
        })
        .await;
    assert!(to_flaky["data"].as_array().unwrap().iter().all(|d| d["event_type"] == "scan.completed"));

    // Each change once, and the endpoint heard of neither (nor of its ten dead deliveries).
    let all: Vec<Value> = ops.received().iter().map(|r| r.json()).collect();
    assert_eq!(types(&all), BTreeMap::from([("endpoint.failing".into(), 1), ("endpoint.recovered".into(), 1)]));
    let own: Vec<Value> = flaky.received().iter().map(|r| r.json()).collect();
    assert_eq!(types(&own), BTreeMap::from([("scan.completed".into(), 105)]));
    assert_eq!(deliveries_to(&server, &endpoint).await.len(), 105);
}

#[tokio::test]
async fn a_failing_endpoint_is_still_failing_after_a_restart_and_its_recovery_is_announced_once() {
    let mut server = Server::start(&[("SCANHOOK_DISABLE_AFTER", "1000"), ("SCANHOOK_RETRY_SCHEDULE", "0s")]).await;
    let (flaky, ops) = (Receiver::start().await, Receiver::start().await);
    flaky.script(&[status(500); 10]);
    flaky.always(status(200));
    server.create_webhook(json!({"url": flaky.url, "events": ["scan.*"]})).await;
    server.create_webhook(json!({"url": ops.url, "events": ["endpoint.*"]})).await;
    for i in 0..10 {
        server.send_event("scan.completed", json!({"n": i})).await;
    }
    assert_eq!(ops.wait_for(1, 20).await[0].json()["type"], "endpoint.failing");

    // The new process's windows start empty: the state it judges against is the stored one.
    assert!(server.terminate(), "a clean stop");
    server.restart().await;
    for i in 0..10 {
        server.send_event("scan.completed", json!({"n": i})).await;
    }
    let recovered = ops.wait_for(2, 20).await[1].json();
    assert_eq!(recovered["type"], "endpoint.recovered", "{recovered}");
    assert_eq!((recovered["data"]["attempts"].as_u64(), recovered["data"]["failures"].as_u64()), (Some(10), Some(0)));
    for i in 0..20 {
        server.send_event("scan.completed", json!({"n": i})).await;
    }
    // 30 scan events to the endpoint and the two announcements, all delivered: nothing more.
    server
        .wait_until("/v1/deliveries?status=succeeded&limit=250", 20, |l| l["data"].as_array().unwrap().len() == 32)
        .await;
    let all: Vec<Value> = ops.received().iter().map(|r| r.json()).collect();
    assert_eq!(types(&all), BTreeMap::from([("endpoint.failing".into(), 1), ("endpoint.recovered".into(), 1)]));
}
