//! Nothing accepted is lost: a real server process is killed with SIGKILL mid-stream (or
//! stopped with SIGTERM) and restarted on the same data; every accepted event still
//! reaches the endpoint at least once.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::receiver::Reply;
use crate::common::{Receiver, Server};
use serde_json::json;

fn received_event_ids(receiver: &Receiver) -> HashSet<String> {
    receiver.received().iter().map(|r| r.header("webhook-id").to_string()).collect()
}

async fn wait_for_all(receiver: &Receiver, accepted: &HashSet<String>, secs: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let got = received_event_ids(receiver);
        let missing: Vec<_> = accepted.difference(&got).collect();
        if missing.is_empty() {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("{} accepted events never arrived, e.g. {:?}", missing.len(), &missing[..missing.len().min(5)]);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn sigkill_mid_stream_loses_no_accepted_event() {
    let mut server = Server::start(&[]).await;
    let receiver = Receiver::start().await;
    // Slow answers keep deliveries in flight (leased) when the process dies.
    receiver.always(Reply { status: 200, delay: Duration::from_millis(30), retry_after: None });
    server.create_webhook(json!({"url": receiver.url, "events": ["*"]})).await;

    let accepted = Arc::new(Mutex::new(HashSet::new()));
    let producer = {
        let (client, url, key, accepted) =
            (server.client().clone(), server.url("/v1/events"), server.key.clone(), accepted.clone());
        tokio::spawn(async move {
            for i in 0..10_000 {
                let body = json!({"type": "scan.progress", "data": {"i": i}});
                let Ok(resp) = client.post(&url).bearer_auth(&key).json(&body).send().await else { break };
                if resp.status() != reqwest::StatusCode::ACCEPTED {
                    break;
                }
                let Ok(json) = resp.json::<serde_json::Value>().await else { break };
                accepted.lock().unwrap().insert(json["id"].as_str().unwrap().to_string());
            }
        })
    };
    receiver.wait_for(40, 20).await;
    server.kill();
    producer.await.unwrap();
    let accepted = accepted.lock().unwrap().clone();
    assert!(accepted.len() >= 40, "only {} events were accepted before the kill", accepted.len());

    server.restart().await;
    // Deliveries that were in flight at the kill are still leased to the dead process...
    let (_, pending) = server.get("/v1/deliveries?status=pending").await;
    assert!(
        !pending["data"].as_array().unwrap().is_empty(),
        "the kill should leave deliveries unfinished, or this test proves nothing"
    );
    // ...and come back when their 3 s leases expire.
    wait_for_all(&receiver, &accepted, 60).await;
    let mut pending = pending;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !pending["data"].as_array().unwrap().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "deliveries left pending: {pending}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        pending = server.get("/v1/deliveries?status=pending&limit=1").await.1;
    }
    let total = receiver.received().len();
    let unique = received_event_ids(&receiver).len();
    assert!(
        total > unique,
        "requests cut off by the kill are sent again (at-least-once): {total} requests, {unique} events"
    );
}

#[tokio::test]
async fn sigterm_finishes_or_releases_in_flight_work_and_exits_cleanly() {
    let mut server = Server::start(&[("SCANHOOK_SHUTDOWN_GRACE", "200ms")]).await;
    let receiver = Receiver::start().await;
    receiver.always(Reply { status: 200, delay: Duration::from_millis(500), retry_after: None });
    server.create_webhook(json!({"url": receiver.url, "events": ["*"]})).await;
    let mut accepted = HashSet::new();
    for i in 0..20 {
        let event = server.send_event("scan.completed", json!({"i": i})).await;
        accepted.insert(event["id"].as_str().unwrap().to_string());
    }
    receiver.wait_for(1, 10).await;
    assert!(server.terminate(), "SIGTERM must end the process with success");
    assert!(server.log().contains("shutting down"), "{}", server.log());

    receiver.always(Reply { status: 200, delay: Duration::ZERO, retry_after: None });
    server.restart().await;
    wait_for_all(&receiver, &accepted, 30).await;
}
