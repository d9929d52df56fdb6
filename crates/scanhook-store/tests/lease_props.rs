//! The lease state machine, as a property: random sequences of claims, outcomes, worker
//! crashes (their leases simply expire), releases, renewals and clock steps, run against
//! the real store (SQLite, and PostgreSQL where a server answers) with a pinned clock and
//! checked against a model. A delivery is never lost,
//! never claimed before it is due, never held by two owners at once, and once the workers
//! stop crashing every delivery ends succeeded or dead.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use scanhook_core::{
    AccountId, ApiKeyId, AttemptId, DeliveryId, DeliveryStatus, EventId, EventType, ExtraHeaders, WebhookId,
    WebhookSecret, WebhookUrl,
};
use scanhook_store::postgres::PostgresStore;
use scanhook_store::sqlite::SqliteStore;
use scanhook_store::*;

mod support;

const WORKERS: usize = 3;
const LEASE_MS: i64 = 1_000;

#[derive(Debug, Clone)]
enum Done {
    Success,
    Retry(i64),
    Dead,
}

#[derive(Debug, Clone)]
enum Op {
    Claim { worker: usize, limit: u32 },
    Complete { worker: usize, pick: usize, done: Done },
    Crash { worker: usize },
    Release { worker: usize },
    Renew { worker: usize },
    Advance(i64),
}

fn op() -> impl Strategy<Value = Op> {
    let worker = 0..WORKERS;
    let done = prop_oneof![Just(Done::Success), (0i64..3_000).prop_map(Done::Retry), Just(Done::Dead)];
    prop_oneof![
        3 => (worker.clone(), 1u32..4).prop_map(|(worker, limit)| Op::Claim { worker, limit }),
        3 => (worker.clone(), 0usize..4, done).prop_map(|(worker, pick, done)| Op::Complete { worker, pick, done }),
        1 => worker.clone().prop_map(|worker| Op::Crash { worker }),
        1 => worker.clone().prop_map(|worker| Op::Release { worker }),
        2 => worker.prop_map(|worker| Op::Renew { worker }),
        2 => (0i64..2_500).prop_map(Op::Advance),
    ]
}

/// What the store should hold for one delivery.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    status: DeliveryStatus,
    /// When it is due: its next attempt, or while leased, its lease's end.
    due: i64,
    owner: Option<usize>,
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn at(ms: i64) -> DateTime<Utc> {
    t0() + Duration::milliseconds(ms)
}

fn owner(worker: usize) -> String {
    format!("w{worker}")
}

fn completion(c: &Claimed, done: &Done, now: i64) -> Completion {
    let outcome = match done {
        Done::Success => Outcome::Succeeded,
        Done::Retry(delay) => Outcome::RetryAt(at(now + delay)),
        Done::Dead => Outcome::Dead { counts_as_failure: false },
    };
    let attempt = Attempt {
        id: AttemptId::generate(),
        delivery_id: c.delivery_id.clone(),
        number: c.attempt_count + 1,
        started_at: at(now),
        latency_ms: 1,
        status_code: Some(200),
        error: None,
        request_headers: Vec::new(),
        request_body: None,
        response_headers: Vec::new(),
        response_body: None,
    };
    Completion {
        delivery_id: c.delivery_id.clone(),
        webhook_id: c.webhook.id.clone(),
        attempt: Some(attempt),
        outcome,
        note: None,
        endpoint: None,
    }
}

async fn setup(store: &dyn Store, deliveries: usize) -> (AccountId, HashMap<DeliveryId, Row>) {
    let key = NewApiKey { id: ApiKeyId::generate(), name: "k".into(), key_hash: "h".into(), prefix: "p".into() };
    let account =
        store.create_account(NewAccount { id: AccountId::generate(), name: "a".into() }, key, t0()).await.unwrap();
    let webhook = NewWebhook {
        id: WebhookId::generate(),
        url: WebhookUrl::parse("https://example.com/hook").unwrap(),
        description: None,
        events: vec!["*".into()],
        secret: WebhookSecret::generate(),
        headers: ExtraHeaders::default(),
        active: true,
        projects: Vec::new(),
        min_severity: None,
        format: Default::default(),
    };
    store.create_webhook(&account.id, webhook, 10, t0()).await.unwrap();
    for i in 0..deliveries {
        let event = NewEvent {
            id: EventId::generate(),
            event_type: EventType::parse("scan.completed").unwrap(),
            timestamp: t0(),
            data: "{}".into(),
            target: None,
            idempotency: None,
            first_attempt_at: at(i as i64 * 100),
            scope: EventScope::default(),
            trace_parent: None,
        };
        store.ingest_event(&account.id, event, t0()).await.unwrap();
    }
    let page = Page { limit: 100, cursor: None };
    let list = store.list_deliveries(&account.id, DeliveryFilter::default(), page).await.unwrap();
    let rows = list
        .items
        .into_iter()
        .map(|d| {
            let due = d.next_attempt_at.unwrap().timestamp_millis() - t0().timestamp_millis();
            (d.id, Row { status: DeliveryStatus::Pending, due, owner: None })
        })
        .collect();
    (account.id, rows)
}

async fn run(store: &dyn Store, ops: Vec<Op>, deliveries: usize) -> Result<(), TestCaseError> {
    let (account, mut model) = setup(store, deliveries).await;
    let mut now = 0i64;
    // What each worker believes it holds (a worker whose lease expired still believes it,
    // and its late outcome must not apply); a crash forgets it.
    let mut held: Vec<Vec<Claimed>> = vec![Vec::new(); WORKERS];
    for op in ops {
        match op {
            Op::Claim { worker, limit } => {
                let claimed = store.claim_due(&owner(worker), at(now), at(now + LEASE_MS), limit).await.unwrap();
                for c in claimed {
                    let row = model.get_mut(&c.delivery_id).expect("a claimed delivery exists");
                    prop_assert_eq!(row.status, DeliveryStatus::Pending, "only pending work is claimed");
                    prop_assert!(row.due <= now, "claimed at {} before it was due at {}", now, row.due);
                    // An earlier owner's lease has ended (due <= now), so no two hold it.
                    row.owner = Some(worker);
                    row.due = now + LEASE_MS;
                    held[worker].push(c);
                }
            }
            Op::Complete { worker, pick, done } => {
                if held[worker].is_empty() {
                    continue;
                }
                let index = pick % held[worker].len();
                let c = held[worker].remove(index);
                store.complete(&owner(worker), vec![completion(&c, &done, now)], 0, at(now)).await.unwrap();
                let row = model.get_mut(&c.delivery_id).unwrap();
                if row.owner == Some(worker) {
                    *row = match done {
                        Done::Success => Row { status: DeliveryStatus::Succeeded, due: row.due, owner: None },
                        Done::Retry(delay) => Row { status: DeliveryStatus::Pending, due: now + delay, owner: None },
                        Done::Dead => Row { status: DeliveryStatus::Dead, due: row.due, owner: None },
                    };
                }
            }
            Op::Crash { worker } => held[worker].clear(),
            Op::Release { worker } => {
                let ids: Vec<_> = held[worker].drain(..).map(|c| c.delivery_id).collect();
                store.release(&owner(worker), ids.clone(), at(now)).await.unwrap();
                for id in ids {
                    let row = model.get_mut(&id).unwrap();
                    if row.owner == Some(worker) {
                        row.owner = None;
                        row.due = now;
                    }
                }
            }
            Op::Renew { worker } => {
                // What a live worker does for all it holds; only what it still owns and has
                // no outcome moves, even when its lease ran out unnoticed meanwhile.
                // A worker may believe it holds one delivery twice (it claimed it again once
                // its lease ran out); it renews each once.
                let mut ids: Vec<_> = held[worker].iter().map(|c| c.delivery_id.clone()).collect();
                ids.sort();
                ids.dedup();
                let renewed = store.renew_leases(&owner(worker), ids.clone(), at(now + LEASE_MS)).await.unwrap();
                let mut expected = 0;
                for id in ids {
                    let row = model.get_mut(&id).unwrap();
                    if row.owner == Some(worker) && row.status == DeliveryStatus::Pending {
                        row.due = now + LEASE_MS;
                        expected += 1;
                    }
                }
                prop_assert_eq!(renewed, expected, "renewed leases");
            }
            Op::Advance(ms) => now += ms,
        }
        check(store, &account, &model).await?;
    }
    // The workers stop crashing: a healthy one drains everything.
    for _ in 0..50 {
        let next = store.next_due_at().await.unwrap();
        let Some(next) = next else { break };
        now = now.max(next.timestamp_millis() - t0().timestamp_millis());
        let claimed = store.claim_due("healthy", at(now), at(now + LEASE_MS), 100).await.unwrap();
        let done = claimed.iter().map(|c| completion(c, &Done::Success, now)).collect();
        store.complete("healthy", done, 0, at(now)).await.unwrap();
    }
    let page = Page { limit: 100, cursor: None };
    let all = store.list_deliveries(&account, DeliveryFilter::default(), page).await.unwrap().items;
    prop_assert_eq!(all.len(), deliveries, "no delivery is lost");
    for d in all {
        prop_assert!(matches!(d.status, DeliveryStatus::Succeeded | DeliveryStatus::Dead), "{:?} did not end", d);
    }
    Ok(())
}

/// The store agrees with the model on every delivery's status.
async fn check(store: &dyn Store, account: &AccountId, model: &HashMap<DeliveryId, Row>) -> Result<(), TestCaseError> {
    let page = Page { limit: 100, cursor: None };
    let all = store.list_deliveries(account, DeliveryFilter::default(), page).await.unwrap().items;
    prop_assert_eq!(all.len(), model.len(), "no delivery is lost");
    for d in all {
        let row = &model[&d.id];
        prop_assert_eq!(d.status, row.status);
        if d.status == DeliveryStatus::Pending {
            let due = d.next_attempt_at.map(|t| t.timestamp_millis() - t0().timestamp_millis());
            prop_assert_eq!(due, Some(row.due), "due time of {}", d.id);
        }
    }
    Ok(())
}

proptest! {
    // Each case opens a database: keep the count bounded so the suite runs in seconds.
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn leases_never_lose_double_hold_or_rush_a_delivery(ops in prop::collection::vec(op(), 1..40), deliveries in 1usize..5) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let store = SqliteStore::open(&dir.path().join("lease.db"), SecretBox::random()).unwrap();
            run(&store, ops, deliveries).await
        })?;
    }
}

proptest! {
    // A fresh PostgreSQL database per case costs a few hundred milliseconds: fewer cases.
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn leases_never_lose_double_hold_or_rush_a_delivery_on_postgresql(
        ops in prop::collection::vec(op(), 1..40),
        deliveries in 1usize..5,
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            // Skipped, saying so, where no server answers.
            let Some(database) = support::TestDatabase::create().await else { return Ok(()) };
            let store = PostgresStore::connect_config(database.config.clone(), 2, SecretBox::random()).await.unwrap();
            run(&store, ops, deliveries).await
        })?;
    }
}
