//! Operational events: recording an outcome that makes a delivery dead or disables its
//! endpoint emits `delivery.dead` / `endpoint.disabled` in the same unit, once; a health
//! change is guarded by the old value and emits once; none reaches the endpoint it is about,
//! and an operational event's own dead delivery emits nothing (no cascade).

use chrono::Duration;
use scanhook_core::opevents::{Health, Summary};
use scanhook_core::{AccountId, DeliveryStatus, EventType, WebhookId};
use scanhook_store::*;

use super::{account, attempt, backends, event, t0, webhook};

async fn events_of(s: &dyn Store, acc: &AccountId, event_type: &str) -> Vec<serde_json::Value> {
    let filter = EventFilter { event_type: Some(EventType::parse(event_type).unwrap()), ..Default::default() };
    let page = s.list_events(acc, filter, Page { limit: 50, cursor: None }).await.unwrap();
    page.items.iter().map(|e| serde_json::from_str(&e.data).unwrap()).collect()
}

async fn deliveries_to(s: &dyn Store, acc: &AccountId, webhook: &WebhookId) -> Vec<Delivery> {
    let filter = DeliveryFilter { webhook_id: Some(webhook.clone()), ..Default::default() };
    s.list_deliveries(acc, filter, Page { limit: 50, cursor: None }).await.unwrap().items
}

fn dead(c: &Claimed, status: u16) -> Completion {
    Completion {
        delivery_id: c.delivery_id.clone(),
        webhook_id: c.webhook.id.clone(),
        attempt: Some(attempt(c, status)),
        outcome: Outcome::Dead { counts_as_failure: true },
        note: None,
        endpoint: None,
    }
}

#[tokio::test]
async fn a_dead_delivery_and_an_auto_disable_each_emit_once_to_other_endpoints_only() {
    for b in backends().await {
        let s = b.store.as_ref();
        let acc = account(s, "a").await;
        // It subscribes to everything, its own operational events included: it gets none.
        let failing = webhook(s, &acc, &["*"]).await;
        let ops = webhook(s, &acc, &["endpoint.*", "delivery.dead"]).await;
        s.ingest_event(&acc, event("scan.completed", None), t0()).await.unwrap();
        let claimed = s.claim_due("w", t0(), t0() + Duration::seconds(60), 10).await.unwrap();
        assert_eq!(claimed.len(), 1, "{}", b.name);
        s.complete("w", vec![dead(&claimed[0], 500)], 1, t0()).await.unwrap();
        // The same outcome again (a retried batch, another node): its lease is gone, nothing moves.
        s.complete("w", vec![dead(&claimed[0], 500)], 1, t0()).await.unwrap();

        let dead_events = events_of(s, &acc, "delivery.dead").await;
        assert_eq!(dead_events.len(), 1, "{}", b.name);
        let data = &dead_events[0];
        assert_eq!(data["deliveryId"], claimed[0].delivery_id.as_str(), "{}", b.name);
        assert_eq!(data["endpointId"], failing.id.as_str());
        assert_eq!(data["eventType"], "scan.completed");
        assert_eq!((data["attempts"].as_u64(), data["lastStatus"].as_u64()), (Some(1), Some(500)));
        assert!(data.get("data").is_none() && !data.to_string().contains("\"k\""), "no event data: {data}");
        let disabled = events_of(s, &acc, "endpoint.disabled").await;
        assert_eq!(disabled.len(), 1, "{}", b.name);
        assert!(disabled[0]["reason"].as_str().unwrap().contains("HTTP 500"), "{}", disabled[0]);

        let to_ops = deliveries_to(s, &acc, &ops.id).await;
        let mut types: Vec<&str> = to_ops.iter().map(|d| d.event_type.as_str()).collect();
        types.sort();
        assert_eq!(types, ["delivery.dead", "endpoint.disabled"], "{}", b.name);
        let to_failing = deliveries_to(s, &acc, &failing.id).await;
        assert_eq!(to_failing.len(), 1, "{}: only its own scan event, nothing about itself", b.name);

        // The ops endpoint's deliveries die too: operational events never emit operational
        // events about their own deliveries.
        let claimed = s.claim_due("w", t0(), t0() + Duration::seconds(60), 10).await.unwrap();
        assert_eq!(claimed.len(), 2, "{}", b.name);
        let outcomes = claimed.iter().map(|c| dead(c, 500)).collect();
        s.complete("w", outcomes, 0, t0()).await.unwrap();
        assert!(deliveries_to(s, &acc, &ops.id).await.iter().all(|d| d.status == DeliveryStatus::Dead));
        assert_eq!(events_of(s, &acc, "delivery.dead").await.len(), 1, "{}: no cascade", b.name);
    }
}

#[tokio::test]
async fn a_410_gone_disable_emits_endpoint_disabled_with_its_reason() {
    for b in backends().await {
        let s = b.store.as_ref();
        let acc = account(s, "a").await;
        let gone = webhook(s, &acc, &["scan.*"]).await;
        webhook(s, &acc, &["endpoint.disabled"]).await;
        s.ingest_event(&acc, event("scan.completed", None), t0()).await.unwrap();
        let claimed = s.claim_due("w", t0(), t0() + Duration::seconds(60), 10).await.unwrap();
        let done = Completion {
            outcome: Outcome::RetryAt(t0() + Duration::seconds(5)),
            endpoint: Some(EndpointAction::Disable("the receiver answered 410 Gone".into())),
            ..dead(&claimed[0], 410)
        };
        s.complete("w", vec![done], 0, t0()).await.unwrap();
        let disabled = events_of(s, &acc, "endpoint.disabled").await;
        assert_eq!(disabled.len(), 1, "{}", b.name);
        assert_eq!(disabled[0]["endpointId"], gone.id.as_str());
        assert_eq!(disabled[0]["reason"], "the receiver answered 410 Gone");
        assert!(events_of(s, &acc, "delivery.dead").await.is_empty(), "{}: it is still pending", b.name);
    }
}

#[tokio::test]
async fn a_health_change_is_guarded_by_the_old_value_and_emitted_once() {
    for b in backends().await {
        let s = b.store.as_ref();
        let acc = account(s, "a").await;
        let wh = webhook(s, &acc, &["*"]).await;
        let ops = webhook(s, &acc, &["endpoint.*"]).await;
        let bad = Summary { attempts: 20, failures: 10, p95_ms: 40 };
        let good = Summary { attempts: 100, failures: 0, p95_ms: 40 };
        assert!(!s.set_health(wh.id.clone(), Health::Healthy, good, t0()).await.unwrap(), "{}: already", b.name);
        assert!(s.set_health(wh.id.clone(), Health::Failing, bad, t0()).await.unwrap(), "{}", b.name);
        assert!(!s.set_health(wh.id.clone(), Health::Failing, bad, t0()).await.unwrap(), "{}: once", b.name);
        assert!(s.set_health(wh.id.clone(), Health::Healthy, good, t0()).await.unwrap(), "{}", b.name);
        assert!(!s.set_health(WebhookId::generate(), Health::Failing, bad, t0()).await.unwrap(), "{}", b.name);

        let failing = events_of(s, &acc, "endpoint.failing").await;
        assert_eq!(failing.len(), 1, "{}", b.name);
        assert_eq!((failing[0]["failures"].as_u64(), failing[0]["failureRate"].as_f64()), (Some(10), Some(0.5)));
        assert_eq!(events_of(s, &acc, "endpoint.recovered").await.len(), 1, "{}", b.name);
        assert_eq!(deliveries_to(s, &acc, &ops.id).await.len(), 2, "{}", b.name);
        assert!(deliveries_to(s, &acc, &wh.id).await.is_empty(), "{}: never about itself", b.name);
    }
}
