//! Ordered endpoints (`ordering: fifo`): only the head of an endpoint's queue is ever due,
//! it keeps its place through retries, the next goes when it succeeds, dies or is held, a
//! delivery sent again by hand joins the back, and unordered endpoints are unaffected.

use chrono::{DateTime, Duration, Utc};
use scanhook_core::format::{DeliveryFormat, Ordering};
use scanhook_core::{AccountId, DeliveryStatus, EventId, WebhookId};
use scanhook_store::*;

use super::{account, backends, created, event, new_webhook, succeeded, t0};

fn fifo() -> DeliveryFormat {
    DeliveryFormat { ordering: Ordering::Fifo, ..Default::default() }
}

async fn ordered(s: &dyn Store, acc: &AccountId) -> Webhook {
    let new = NewWebhook { format: fifo(), ..new_webhook("https://example.com/fifo", &["*"]) };
    s.create_webhook(acc, new, 10, t0()).await.unwrap()
}

async fn send(s: &dyn Store, acc: &AccountId, at: DateTime<Utc>) -> EventId {
    created(s.ingest_event(acc, NewEvent { first_attempt_at: at, ..event("scan.completed", None) }, at).await.unwrap())
        .id
}

/// What a claim at `at` leases of `webhook`, by event.
async fn claim_of(s: &dyn Store, webhook: &WebhookId, at: DateTime<Utc>) -> Vec<Claimed> {
    let claimed = s.claim_due("w", at, at + Duration::seconds(60), 100).await.unwrap();
    claimed.into_iter().filter(|c| &c.webhook.id == webhook).collect()
}

fn events(claimed: &[Claimed]) -> Vec<EventId> {
    claimed.iter().map(|c| c.event.id.clone()).collect()
}

fn outcome(c: &Claimed, outcome: Outcome) -> Completion {
    Completion { outcome, ..succeeded(c) }
}

#[tokio::test]
async fn an_ordered_endpoint_sends_only_its_head_and_moves_on_in_accept_order() {
    for b in backends().await {
        let s = b.store.as_ref();
        let acc = account(s, "a").await;
        let f = ordered(s, &acc).await;
        let u = super::webhook(s, &acc, &["*"]).await;
        let mut sent = Vec::new();
        for _ in 0..3 {
            sent.push(send(s, &acc, t0()).await);
        }
        let all = s.claim_due("w", t0(), t0() + Duration::seconds(60), 100).await.unwrap();
        let head: Vec<_> = all.iter().filter(|c| c.webhook.id == f.id).cloned().collect();
        assert_eq!(events(&head), sent[..1], "{}: only the head is due", b.name);
        assert_eq!(all.iter().filter(|c| c.webhook.id == u.id).count(), 3, "{}: unordered: all at once", b.name);
        let page = Page { limit: 10, cursor: None };
        let filter = DeliveryFilter { webhook_id: Some(f.id.clone()), ..Default::default() };
        let queued = s.list_deliveries(&acc, filter.clone(), page.clone()).await.unwrap().items;
        assert_eq!(queued.iter().filter(|d| d.next_attempt_at.is_none()).count(), 2, "{}: waiting", b.name);
        assert!(s.next_due_except(vec![], None).await.is_ok(), "{}: waiting ones have no time", b.name);

        // Accepted while the head is in flight: waits too.
        sent.push(send(s, &acc, t0()).await);
        assert!(claim_of(s, &f.id, t0()).await.is_empty(), "{}", b.name);

        // A retry keeps the head: nothing else goes meanwhile, and it comes back first.
        let later = t0() + Duration::seconds(10);
        s.complete("w", vec![outcome(&head[0], Outcome::RetryAt(later))], 10, t0()).await.unwrap();
        assert!(claim_of(s, &f.id, t0()).await.is_empty(), "{}: the head waits for its retry", b.name);
        let again = claim_of(s, &f.id, later).await;
        assert_eq!(events(&again), sent[..1], "{}: retried head", b.name);

        // Success moves on to the next; so does a death.
        s.complete("w", vec![succeeded(&again[0])], 10, later).await.unwrap();
        let second = claim_of(s, &f.id, later).await;
        assert_eq!(events(&second), sent[1..2], "{}", b.name);
        s.complete("w", vec![outcome(&second[0], Outcome::Dead { counts_as_failure: true })], 10, later).await.unwrap();
        let third = claim_of(s, &f.id, later).await;
        assert_eq!(events(&third), sent[2..3], "{}: a dead head lets the next go", b.name);

        // The dead one sent again by hand joins the back of the queue, behind the fourth.
        let retried = s.retry_delivery(&acc, &second[0].delivery_id, later).await.unwrap();
        assert_eq!(retried.next_attempt_at, None, "{}: waits its turn", b.name);
        assert!(claim_of(s, &f.id, later).await.is_empty(), "{}: the third is still in flight", b.name);
        s.complete("w", vec![succeeded(&third[0])], 10, later).await.unwrap();
        let fourth = claim_of(s, &f.id, later).await;
        assert_eq!(events(&fourth), sent[3..4], "{}", b.name);
        s.complete("w", vec![succeeded(&fourth[0])], 10, later).await.unwrap();
        let last = claim_of(s, &f.id, later).await;
        assert_eq!(events(&last), sent[1..2], "{}: the retried one last", b.name);
        s.complete("w", vec![succeeded(&last[0])], 10, later).await.unwrap();
        assert!(claim_of(s, &f.id, later + Duration::hours(1)).await.is_empty(), "{}", b.name);
        let done = s.list_deliveries(&acc, filter, page).await.unwrap().items;
        assert!(done.iter().all(|d| d.status == DeliveryStatus::Succeeded), "{}", b.name);
    }
}

#[tokio::test]
async fn an_ordered_endpoint_keeps_its_order_while_disabled_and_when_its_ordering_changes() {
    for b in backends().await {
        let s = b.store.as_ref();
        let acc = account(s, "a").await;
        let f = ordered(s, &acc).await;
        let sent = [send(s, &acc, t0()).await, send(s, &acc, t0()).await];
        // The head dies and the endpoint is disabled: the next is held when it comes up.
        let head = claim_of(s, &f.id, t0()).await;
        s.complete("w", vec![outcome(&head[0], Outcome::Dead { counts_as_failure: true })], 1, t0()).await.unwrap();
        let next = claim_of(s, &f.id, t0()).await;
        assert_eq!(events(&next), sent[1..2], "{}", b.name);
        s.complete("w", vec![outcome(&next[0], Outcome::Held)], 1, t0()).await.unwrap();
        let third = send(s, &acc, t0()).await;
        let fourth = send(s, &acc, t0()).await;
        s.enable_webhook(&acc, &f.id, Missed::Replay, t0()).await.unwrap();
        for expected in [&sent[1], &third, &fourth] {
            let c = claim_of(s, &f.id, t0()).await;
            assert_eq!(
                events(&c),
                std::slice::from_ref(expected),
                "{}: replayed in their places, one at a time",
                b.name
            );
            s.complete("w", vec![succeeded(&c[0])], 1, t0()).await.unwrap();
        }

        // Made unordered, every waiting delivery is due at once.
        let waiting = [send(s, &acc, t0()).await, send(s, &acc, t0()).await, send(s, &acc, t0()).await];
        assert_eq!(events(&claim_of(s, &f.id, t0()).await), waiting[..1], "{}", b.name);
        let patch = WebhookPatch { format: Some(DeliveryFormat::default()), ..Default::default() };
        s.update_webhook(&acc, &f.id, patch, t0()).await.unwrap();
        assert_eq!(events(&claim_of(s, &f.id, t0()).await), waiting[1..], "{}: all due", b.name);

        // Made ordered again, its pending deliveries queue in the order they were made.
        let u = super::webhook(s, &acc, &["*"]).await;
        let pending = [send(s, &acc, t0()).await, send(s, &acc, t0()).await];
        let patch = WebhookPatch { format: Some(fifo()), ..Default::default() };
        s.update_webhook(&acc, &u.id, patch, t0()).await.unwrap();
        assert_eq!(events(&claim_of(s, &u.id, t0()).await), pending[..1], "{}: head only", b.name);
    }
}

/// PostgreSQL, READ COMMITTED: a completion of the head and an ingest for the same
/// endpoint at once must not leave the new delivery waiting with nothing ahead of it.
#[tokio::test]
async fn an_ingest_beside_the_heads_completion_never_strands_the_queue() {
    for b in backends().await {
        let s = b.store.clone();
        let acc = account(s.as_ref(), "a").await;
        let f = ordered(s.as_ref(), &acc).await;
        send(s.as_ref(), &acc, t0()).await;
        for round in 0..20 {
            let head = claim_of(s.as_ref(), &f.id, t0()).await;
            assert_eq!(head.len(), 1, "{}: round {round}: one head due", b.name);
            let (done, ingested) = tokio::join!(
                s.complete("w", vec![succeeded(&head[0])], 10, t0()),
                s.ingest_event(&acc, event("scan.completed", None), t0()),
            );
            done.unwrap();
            ingested.unwrap();
        }
        assert_eq!(claim_of(s.as_ref(), &f.id, t0()).await.len(), 1, "{}", b.name);
    }
}
