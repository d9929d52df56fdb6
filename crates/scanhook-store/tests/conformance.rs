//! The contract every `Store` backend must honour, written once against `dyn Store`.
//! A new backend adds itself to `backends()` and passes the same suite.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use scanhook_core::{
    AccountId, ApiKeyId, AttemptId, DeliveryStatus, EventId, EventType, ExtraHeaders, WebhookId, WebhookSecret,
    WebhookUrl,
};
use scanhook_store::postgres::PostgresStore;
use scanhook_store::sqlite::SqliteStore;
use scanhook_store::*;

#[path = "conformance/fifo.rs"]
mod fifo;
#[path = "conformance/opevents.rs"]
mod opevents;
#[path = "conformance/queue.rs"]
mod queue;
#[path = "conformance/sessions.rs"]
mod sessions;
mod support;
use support::TestDatabase;

struct Backend {
    name: &'static str,
    store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
    _database: Option<TestDatabase>,
}

/// SQLite always; PostgreSQL too when a server answers at `SCANHOOK_TEST_POSTGRES_URL`
/// (default: this machine's, trust auth), each call on a database of its own.
async fn backends() -> Vec<Backend> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("conformance.db"), scanhook_store::SecretBox::random()).unwrap();
    let mut all = vec![Backend { name: "sqlite", store: Arc::new(sqlite), _dir: Some(dir), _database: None }];
    if let Some(database) = TestDatabase::create().await {
        let store = PostgresStore::connect_config(database.config.clone(), 8, scanhook_store::SecretBox::random())
            .await
            .unwrap();
        all.push(Backend { name: "postgres", store: Arc::new(store), _dir: None, _database: Some(database) });
    }
    all
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

async fn account(store: &dyn Store, name: &str) -> AccountId {
    let key =
        NewApiKey { id: ApiKeyId::generate(), name: "k".into(), key_hash: format!("hash-{name}"), prefix: "p".into() };
    store.create_account(NewAccount { id: AccountId::generate(), name: name.into() }, key, t0()).await.unwrap().id
}

fn new_webhook(url: &str, events: &[&str]) -> NewWebhook {
    NewWebhook {
        id: WebhookId::generate(),
        url: WebhookUrl::parse(url).unwrap(),
        description: None,
        events: events.iter().map(|e| e.to_string()).collect(),
        secret: WebhookSecret::generate(),
        headers: ExtraHeaders::default(),
        active: true,
        projects: Vec::new(),
        min_severity: None,
        format: Default::default(),
    }
}

async fn webhook(store: &dyn Store, account: &AccountId, events: &[&str]) -> Webhook {
    store.create_webhook(account, new_webhook("https://example.com/hook", events), 10, t0()).await.unwrap()
}

fn event(event_type: &str, idempotency: Option<(&str, &str)>) -> NewEvent {
    NewEvent {
        id: EventId::generate(),
        event_type: EventType::parse(event_type).unwrap(),
        timestamp: t0(),
        data: r#"{"k":1}"#.into(),
        target: None,
        idempotency: idempotency.map(|(k, h)| (k.to_string(), h.to_string())),
        first_attempt_at: t0(),
        scope: EventScope::default(),
        trace_parent: None,
    }
}

fn created(i: Ingested) -> Event {
    match i {
        Ingested::Created(e) => e,
        Ingested::Replayed(_) => panic!("expected a new event"),
    }
}

fn attempt(claimed: &Claimed, status: u16) -> Attempt {
    Attempt {
        id: AttemptId::generate(),
        delivery_id: claimed.delivery_id.clone(),
        number: claimed.attempt_count + 1,
        started_at: t0(),
        latency_ms: 3,
        status_code: Some(status),
        error: (status >= 300).then(|| format!("endpoint answered HTTP {status}")),
        request_headers: vec![("x".into(), "y".into())],
        request_body: None,
        response_headers: vec![],
        response_body: Some("ok".into()),
    }
}

#[tokio::test]
async fn accounts_are_listed_newest_id_first_in_keyset_pages_and_read_one_by_one() {
    for b in backends().await {
        let s = b.store.as_ref();
        let (admin, _) = s.ensure_default_account(t0()).await.unwrap();
        let mut ids = vec![admin.id.clone()];
        for name in ["a", "b", "c"] {
            ids.push(account(s, name).await);
        }
        ids.sort_by(|x, y| y.as_str().cmp(x.as_str()));
        let first = s.list_accounts(Page { limit: 3, cursor: None }).await.unwrap();
        let got: Vec<_> = first.items.iter().map(|a| a.id.clone()).collect();
        assert_eq!(got, ids[..3], "{}: newest ID first", b.name);
        assert_eq!(first.next_cursor.as_deref(), Some(ids[2].as_str()), "{}", b.name);
        let rest = s.list_accounts(Page { limit: 3, cursor: first.next_cursor }).await.unwrap();
        let got: Vec<_> = rest.items.iter().map(|a| a.id.clone()).collect();
        assert_eq!((got, rest.next_cursor), (ids[3..].to_vec(), None), "{}", b.name);
        let listed_admin = first.items.iter().chain(&rest.items).find(|a| a.is_admin).unwrap();
        assert_eq!(listed_admin.id, admin.id, "{}: exactly the default account is the admin", b.name);
        let one = s.get_account(&ids[1]).await.unwrap();
        assert_eq!((one.id.clone(), one.is_admin), (ids[1].clone(), ids[1] == admin.id), "{}", b.name);
        assert!(["a", "b", "c", "default"].contains(&one.name.as_str()), "{}", b.name);
        let unknown = s.get_account(&AccountId::generate()).await;
        assert!(matches!(unknown, Err(StoreError::NotFound)), "{}", b.name);
    }
}

#[tokio::test]
async fn an_accounts_own_ingest_limit_is_set_read_listed_and_cleared() {
    for b in backends().await {
        let s = b.store.as_ref();
        let (a, other) = (account(s, "a").await, account(s, "b").await);
        assert_eq!(s.get_account(&a).await.unwrap().ingest_limit, None, "{}: the deployment's at first", b.name);
        let quota = IngestQuota { per_second: 50, burst: 200 };
        let set = s.set_account_ingest_limit(&a, Some(quota)).await.unwrap();
        assert_eq!(set.ingest_limit, Some(quota), "{}", b.name);
        assert_eq!(s.get_account(&a).await.unwrap().ingest_limit, Some(quota), "{}", b.name);
        let listed = s.list_accounts(Page { limit: 10, cursor: None }).await.unwrap().items;
        let limit_of = |id: &AccountId| listed.iter().find(|x| &x.id == id).unwrap().ingest_limit;
        assert_eq!((limit_of(&a), limit_of(&other)), (Some(quota), None), "{}: only that account's", b.name);
        let cleared = s.set_account_ingest_limit(&a, None).await.unwrap();
        assert_eq!(cleared.ingest_limit, None, "{}", b.name);
        let unknown = s.set_account_ingest_limit(&AccountId::generate(), Some(quota)).await;
        assert!(matches!(unknown, Err(StoreError::NotFound)), "{}", b.name);
    }
}

#[tokio::test]
async fn ingest_fans_out_to_matching_active_endpoints_only() {
    for b in backends().await {
        let s = b.store.as_ref();
        let acc = account(s, "a").await;
        let scans = webhook(s, &acc, &["scan.*"]).await;
        webhook(s, &acc, &["violation.detected"]).await;
        let off = webhook(s, &acc, &["*"]).await;
        let patch = WebhookPatch { active: Some(false), ..Default::default() };
        s.update_webhook(&acc, &off.id, patch, t0()).await.unwrap();
        let e = created(s.ingest_event(&acc, event("scan.completed", None), t0()).await.unwrap());
        assert_eq!(e.delivery_count, 1, "{}", b.name);
        let list = s.list_deliveries(&acc, DeliveryFilter::default(), Page { limit: 10, cursor: None }).await.unwrap();
        assert_eq!(list.items.len(), 1);
        assert_eq!(list.items[0].webhook_id, scans.id);
        assert_eq!(list.items[0].status, DeliveryStatus::Pending);
    }
}

#[tokio::test]
async fn idempotency_returns_the_first_event_and_rejects_a_different_request() {
    for b in backends().await {
        let s = b.store.as_ref();
        let acc = account(s, "a").await;
        webhook(s, &acc, &["*"]).await;
        let first = created(s.ingest_event(&acc, event("scan.completed", Some(("k1", "h1"))), t0()).await.unwrap());
        match s.ingest_event(&acc, event("scan.completed", Some(("k1", "h1"))), t0()).await.unwrap() {
            Ingested::Replayed(e) => assert_eq!(e.id, first.id, "{}", b.name),
            Ingested::Created(_) => panic!("{}: a repeat must not create", b.name),
        }
        let err = s.ingest_event(&acc, event("scan.completed", Some(("k1", "h2"))), t0()).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(Conflict::IdempotencyKeyReused)), "{}: {err}", b.name);
        // Keys are per account.
        let other = account(s, "b").await;
        assert!(matches!(
            s.ingest_event(&other, event("scan.completed", Some(("k1", "h9"))), t0()).await.unwrap(),
            Ingested::Created(_)
        ));
        let all = s.list_deliveries(&acc, DeliveryFilter::default(), Page { limit: 10, cursor: None }).await.unwrap();
        assert_eq!(all.items.len(), 1);
    }
}

#[tokio::test]
async fn a_batch_is_one_unit_with_a_result_per_event_and_keys_as_if_sent_in_order() {
    for b in backends().await {
        let s = b.store.as_ref();
        let acc = account(s, "a").await;
        webhook(s, &acc, &["*"]).await;
        let before = created(s.ingest_event(&acc, event("scan.completed", Some(("old", "h0"))), t0()).await.unwrap());
        let batch = vec![
            event("scan.completed", Some(("k2", "h1"))),
            event("scan.completed", Some(("old", "h0"))),
            event("scan.completed", Some(("old", "other"))),
            event("scan.completed", None),
            event("scan.completed", Some(("k2", "h1"))),
            event("scan.completed", Some(("k1", "h1"))),
        ];
        let results = s.ingest_events(&acc, batch, t0()).await.unwrap();
        assert_eq!(results.len(), 6, "{}", b.name);
        let first = match &results[0] {
            Ok(Ingested::Created(e)) => e.id.clone(),
            other => panic!("{}: {other:?}", b.name),
        };
        assert!(matches!(&results[1], Ok(Ingested::Replayed(e)) if e.id == before.id), "{}", b.name);
        assert!(
            matches!(&results[2], Err(StoreError::Conflict(Conflict::IdempotencyKeyReused))),
            "{}: a refusal is that event's only",
            b.name
        );
        assert!(matches!(&results[3], Ok(Ingested::Created(e)) if e.delivery_count == 1), "{}", b.name);
        assert!(matches!(&results[4], Ok(Ingested::Replayed(e)) if e.id == first), "{}", b.name);
        assert!(matches!(&results[5], Ok(Ingested::Created(_))), "{}", b.name);
        let all = s.list_deliveries(&acc, DeliveryFilter::default(), Page { limit: 10, cursor: None }).await.unwrap();
        assert_eq!(all.items.len(), 4, "{}: one per event created", b.name);

        // Batches sharing keys in opposite orders, at once: each waits, none deadlocks.
        let keys: Vec<String> = (0..20).map(|i| format!("c{i:02}")).collect();
        let forward: Vec<NewEvent> = keys.iter().map(|k| event("scan.completed", Some((k, "h")))).collect();
        let backward: Vec<NewEvent> = keys.iter().rev().map(|k| event("scan.completed", Some((k, "h")))).collect();
        let (a, z) = tokio::join!(s.ingest_events(&acc, forward, t0()), s.ingest_events(&acc, backward, t0()));
        let (a, z) = (a.unwrap(), z.unwrap());
        let made = a.iter().chain(&z).filter(|r| matches!(r, Ok(Ingested::Created(_)))).count();
        assert_eq!(made, 20, "{}: each key made one event", b.name);
    }
}

#[tokio::test]
async fn leases_hide_claimed_work_until_they_expire_or_are_released() {
    for b in backends().await {
        let s = b.store.as_ref();
        let acc = account(s, "a").await;
        webhook(s, &acc, &["*"]).await;
        s.ingest_event(&acc, event("scan.completed", None), t0()).await.unwrap();
        let lease_end = t0() + Duration::seconds(60);
        let mine = s.claim_due("w1", t0(), lease_end, 10).await.unwrap();
        assert_eq!(mine.len(), 1, "{}", b.name);
        assert!(s.claim_due("w2", t0(), lease_end, 10).await.unwrap().is_empty(), "{}: leased work is hidden", b.name);
        assert_eq!(
            s.next_due_at().await.unwrap(),
            Some(lease_end),
            "{}: leased work is due when its lease ends",
            b.name
        );
        // The lease expires: another worker takes over, and the first one's late result is
        // not applied to the delivery.
        let later = lease_end + Duration::seconds(1);
        let theirs = s.claim_due("w2", later, later + Duration::seconds(60), 10).await.unwrap();
        assert_eq!(theirs.len(), 1, "{}", b.name);
        let done = |c: &Claimed, outcome| Completion {
            delivery_id: c.delivery_id.clone(),
            webhook_id: c.webhook.id.clone(),
            attempt: Some(attempt(c, 200)),
            outcome,
            note: None,
            endpoint: None,
        };
        s.complete("w1", vec![done(&mine[0], Outcome::RetryAt(later))], 10, later).await.unwrap();
        let (d, attempts) = s.get_delivery(&acc, &mine[0].delivery_id).await.unwrap();
        assert_eq!(d.status, DeliveryStatus::Pending, "{}", b.name);
        assert_eq!(attempts.len(), 1, "{}: the late attempt is still logged", b.name);
        s.release("w2", vec![theirs[0].delivery_id.clone()], later).await.unwrap();
        let again = s.claim_due("w3", later, later + Duration::seconds(60), 10).await.unwrap();
        assert_eq!(again.len(), 1, "{}: released work is due at once", b.name);
        s.complete("w3", vec![done(&again[0], Outcome::Succeeded)], 10, later).await.unwrap();
        let (d, _) = s.get_delivery(&acc, &again[0].delivery_id).await.unwrap();
        assert_eq!((d.status, d.attempt_count), (DeliveryStatus::Succeeded, 1), "{}", b.name);
    }
}

#[tokio::test]
async fn a_renewed_lease_keeps_work_from_other_workers_and_only_its_owner_renews_it() {
    for b in backends().await {
        let s = b.store.as_ref();
        let acc = account(s, "a").await;
        webhook(s, &acc, &["*"]).await;
        for _ in 0..2 {
            s.ingest_event(&acc, event("scan.completed", None), t0()).await.unwrap();
        }
        let mine = s.claim_due("w1", t0(), t0() + Duration::seconds(60), 10).await.unwrap();
        assert_eq!(mine.len(), 2, "{}", b.name);
        let (kept, lapsed) = (mine[0].delivery_id.clone(), mine[1].delivery_id.clone());
        let renewed = |owner: &'static str, ids: Vec<scanhook_core::DeliveryId>, secs: i64| async move {
            s.renew_leases(owner, ids, t0() + Duration::seconds(secs)).await.unwrap()
        };
        assert_eq!(renewed("w1", vec![kept.clone()], 120).await, 1, "{}", b.name);
        assert_eq!(renewed("w2", vec![lapsed.clone()], 120).await, 0, "{}: not w2's lease", b.name);

        // Past the first lease: only the delivery whose lease was not renewed is due.
        let later = t0() + Duration::seconds(61);
        let theirs = s.claim_due("w2", later, later + Duration::seconds(60), 10).await.unwrap();
        let ids: Vec<_> = theirs.iter().map(|c| c.delivery_id.clone()).collect();
        assert_eq!(ids, vec![lapsed.clone()], "{}: the renewed lease holds", b.name);
        assert_eq!(theirs[0].expired_leases, 1, "{}: the lapsed lease counts", b.name);
        assert_eq!(renewed("w1", vec![kept.clone(), lapsed.clone()], 180).await, 1, "{}: w2 holds it now", b.name);
        assert_eq!(s.next_due_at().await.unwrap(), Some(later + Duration::seconds(60)), "{}", b.name);

        // Renewing never counts as a claim, and a delivery with an outcome is not leased again.
        let done = Completion {
            delivery_id: kept.clone(),
            webhook_id: mine[0].webhook.id.clone(),
            attempt: Some(attempt(&mine[0], 200)),
            outcome: Outcome::Succeeded,
            note: None,
            endpoint: None,
        };
        s.complete("w1", vec![done], 10, later).await.unwrap();
        assert_eq!(renewed("w1", vec![kept.clone()], 240).await, 0, "{}: it has an outcome", b.name);
        let (d, _) = s.get_delivery(&acc, &kept).await.unwrap();
        assert_eq!((d.status, d.attempt_count), (DeliveryStatus::Succeeded, 1), "{}", b.name);
    }
}

#[tokio::test]
async fn dead_deliveries_count_towards_disabling_and_can_be_replayed() {
    for b in backends().await {
        let s = b.store.as_ref();
        let acc = account(s, "a").await;
        let wh = webhook(s, &acc, &["*"]).await;
        for _ in 0..2 {
            s.ingest_event(&acc, event("scan.completed", None), t0()).await.unwrap();
        }
        let claimed = s.claim_due("w", t0(), t0() + Duration::seconds(60), 10).await.unwrap();
        for c in &claimed {
            let completion = Completion {
                delivery_id: c.delivery_id.clone(),
                webhook_id: c.webhook.id.clone(),
                attempt: Some(attempt(c, 500)),
                outcome: Outcome::Dead { counts_as_failure: true },
                note: None,
                endpoint: None,
            };
            s.complete("w", vec![completion], 2, t0()).await.unwrap();
        }
        let (d, attempts) = s.get_delivery(&acc, &claimed[0].delivery_id).await.unwrap();
        assert_eq!(d.last_error, attempts[0].error, "{}: the last attempt's error, stored once", b.name);
        let w = s.get_webhook(&acc, &wh.id).await.unwrap();
        assert!(!w.active, "{}", b.name);
        assert_eq!(w.consecutive_failures, 2);
        assert!(w.disabled_reason.unwrap().contains("HTTP 500"));
        let dead = DeliveryFilter { status: Some(DeliveryStatus::Dead), ..Default::default() };
        assert_eq!(
            s.list_deliveries(&acc, dead.clone(), Page { limit: 10, cursor: None }).await.unwrap().items.len(),
            2
        );
        assert_eq!(s.replay_dead(&acc, &wh.id, Some(t0() + Duration::days(1)), t0()).await.unwrap(), 0);
        assert_eq!(s.replay_dead(&acc, &wh.id, None, t0()).await.unwrap(), 2, "{}", b.name);
        assert_eq!(s.next_due_at().await.unwrap(), Some(t0()));
        // Enabling clears the disable and the count.
        let patch = WebhookPatch { active: Some(true), ..Default::default() };
        let w = s.update_webhook(&acc, &wh.id, patch, t0()).await.unwrap();
        assert!(w.active && w.disabled_reason.is_none() && w.consecutive_failures == 0, "{}", b.name);
    }
}

#[tokio::test]
async fn accounts_are_isolated_and_limits_hold() {
    for b in backends().await {
        let s = b.store.as_ref();
        let (a, other) = (account(s, "a").await, account(s, "b").await);
        let wh = webhook(s, &a, &["*"]).await;
        assert!(matches!(s.get_webhook(&other, &wh.id).await, Err(StoreError::NotFound)), "{}", b.name);
        assert!(matches!(s.delete_webhook(&other, &wh.id).await, Err(StoreError::NotFound)));
        assert!(matches!(s.replay_dead(&other, &wh.id, None, t0()).await, Err(StoreError::NotFound)));
        let e = created(s.ingest_event(&a, event("scan.completed", None), t0()).await.unwrap());
        assert!(matches!(s.get_event(&other, &e.id).await, Err(StoreError::NotFound)));
        let page = Page { limit: 10, cursor: None };
        assert!(s.list_deliveries(&other, DeliveryFilter::default(), page).await.unwrap().items.is_empty());

        let new = |n: u32| new_webhook(&format!("https://example.com/{n}"), &["*"]);
        s.create_webhook(&other, new(1), 2, t0()).await.unwrap();
        s.create_webhook(&other, new(2), 2, t0()).await.unwrap();
        let err = s.create_webhook(&other, new(3), 2, t0()).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(Conflict::WebhookLimit { limit: 2 })), "{}: {err}", b.name);
    }
}

#[tokio::test]
async fn project_changes_emit_their_events_in_the_same_unit_of_work() {
    for b in backends().await {
        let s = b.store.as_ref();
        let acc = account(s, "a").await;
        webhook(s, &acc, &["project.*"]).await;
        let stamp = EventStamp { timestamp: t0(), first_attempt_at: t0(), trace_parent: None };
        let new = NewProject {
            id: scanhook_core::ProjectId::generate(),
            name: "web".into(),
            target: None,
            score_drop_threshold: 10,
            scan_time_limit_secs: 3600,
        };
        let p = s.create_project(&acc, new, stamp).await.unwrap();
        let other = account(s, "b").await;
        assert!(matches!(s.delete_project(&other, &p.id, stamp).await, Err(StoreError::NotFound)), "{}", b.name);
        s.delete_project(&acc, &p.id, stamp).await.unwrap();
        let page = Page { limit: 10, cursor: None };
        let events = s.list_events(&acc, EventFilter::default(), page.clone()).await.unwrap().items;
        let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
        assert_eq!(types.len(), 2, "{}", b.name);
        assert!(types.contains(&"project.created") && types.contains(&"project.deleted"), "{}: {types:?}", b.name);
        assert!(events.iter().all(|e| e.delivery_count == 1), "{}: derived events fan out like any other", b.name);
        assert!(s.list_events(&other, EventFilter::default(), page).await.unwrap().items.is_empty());
    }
}

#[tokio::test]
async fn a_scan_ends_once_and_each_change_emits_its_event() {
    for b in backends().await {
        let s = b.store.as_ref();
        let acc = account(s, "a").await;
        webhook(s, &acc, &["scan.*"]).await;
        let stamp = EventStamp { timestamp: t0(), first_attempt_at: t0(), trace_parent: None };
        let project = NewProject {
            id: scanhook_core::ProjectId::generate(),
            name: "web".into(),
            target: Some("example.com".into()),
            score_drop_threshold: 10,
            scan_time_limit_secs: 600,
        };
        let project = s.create_project(&acc, project, stamp).await.unwrap();
        let new = |project_id| NewScan {
            id: scanhook_core::ScanId::generate(),
            project_id,
            target: None,
            rules: vec!["soc2".into()],
            time_limit_secs: None,
            analysis: Default::default(),
            root: None,
        };
        let other = account(s, "b").await;
        assert!(matches!(s.start_scan(&other, new(project.id.clone()), stamp).await, Err(StoreError::NotFound)));
        let scan = s.start_scan(&acc, new(project.id.clone()), stamp).await.unwrap();
        assert_eq!(scan.status, ScanStatus::Running, "{}", b.name);
        assert_eq!(scan.target.as_deref(), Some("example.com"));
        assert_eq!(scan.deadline_at, t0() + Duration::seconds(600), "{}: the project's limit", b.name);
        let error = ("E".to_string(), "boom".to_string());
        let failed = s.fail_scan(&acc, &scan.id, error.clone(), stamp).await.unwrap();
        assert_eq!((failed.status, failed.error.clone()), (ScanStatus::Failed, Some(error.clone())), "{}", b.name);
        let again = s.fail_scan(&acc, &scan.id, error, stamp).await.unwrap_err();
        assert!(matches!(again, StoreError::Conflict(Conflict::ScanEnded { .. })), "{}: {again}", b.name);
        let filter = |t: &str| EventFilter { event_type: Some(EventType::parse(t).unwrap()), ..Default::default() };
        let page = Page { limit: 10, cursor: None };
        assert_eq!(s.list_events(&acc, filter("scan.started"), page.clone()).await.unwrap().items.len(), 1);
        assert_eq!(s.list_events(&acc, filter("scan.failed"), page).await.unwrap().items.len(), 1, "{}", b.name);
    }
}

fn findings(range: std::ops::Range<u32>, severity: scanhook_core::scan::Severity) -> Vec<scanhook_core::scan::Finding> {
    range
        .map(|i| {
            let (rule, file, message) = ("r", format!("src/{i}.rs"), "tainted input");
            scanhook_core::scan::Finding {
                rule: rule.into(),
                severity,
                file: file.clone(),
                uri: None,
                line: 1,
                message: message.into(),
                suggestion: None,
                fingerprint: scanhook_core::scan::fingerprint(rule, &file, message),
                line_hash: None,
                analysis: Default::default(),
            }
        })
        .collect()
}

#[tokio::test]
async fn a_report_larger_than_a_unit_of_work_completes_whole() {
    use scanhook_core::scan::Severity;
    for b in backends().await {
        let s = b.store.as_ref();
        let acc = account(s, "a").await;
        webhook(s, &acc, &["violation.*", "issue.*"]).await;
        let stamp = EventStamp { timestamp: t0(), first_attempt_at: t0(), trace_parent: None };
        let project = NewProject {
            id: scanhook_core::ProjectId::generate(),
            name: "big".into(),
            target: None,
            score_drop_threshold: 10,
            scan_time_limit_secs: 600,
        };
        let project = s.create_project(&acc, project, stamp).await.unwrap();
        let scan = |id: &scanhook_core::ProjectId| NewScan {
            id: scanhook_core::ScanId::generate(),
            project_id: id.clone(),
            target: None,
            rules: Vec::new(),
            time_limit_secs: None,
            analysis: Default::default(),
            root: None,
        };
        // 5,000 findings (every one twice for the first 500) in several units of work.
        let mut report = findings(0..4_990, Severity::High);
        report.extend(findings(4_990..5_000, Severity::Critical));
        report.extend(findings(0..500, Severity::High));
        let first = s.start_scan(&acc, scan(&project.id), stamp).await.unwrap();
        let done = s
            .complete_scan(&acc, &first.id, ScanReport { findings: report, ..Default::default() }, stamp)
            .await
            .unwrap();
        assert_eq!((done.detected, done.resolved, done.open), (5_000, 0, 5_000), "{}", b.name);
        assert_eq!(done.scan.status, ScanStatus::Completed);

        // The next scan finds only the first 1,000: the other 4,000 are resolved.
        let second = s.start_scan(&acc, scan(&project.id), stamp).await.unwrap();
        let report = ScanReport { findings: findings(0..1_000, Severity::High), ..Default::default() };
        let done = s.complete_scan(&acc, &second.id, report, stamp).await.unwrap();
        assert_eq!((done.detected, done.resolved, done.open), (0, 4_000, 1_000), "{}", b.name);

        let page = Page { limit: 10_000, cursor: None };
        let mut counts = std::collections::HashMap::<String, usize>::new();
        for e in s.list_events(&acc, EventFilter::default(), page.clone()).await.unwrap().items {
            *counts.entry(e.event_type.as_str().to_string()).or_default() += 1;
        }
        let count = |t: &str| counts.get(t).copied().unwrap_or(0);
        assert_eq!(count("violation.detected"), 5_000, "{}: one event per distinct finding", b.name);
        assert_eq!(count("issue.critical"), 10, "{}", b.name);
        assert_eq!(count("violation.resolved"), 4_000, "{}", b.name);
        let open = ViolationFilter { open: Some(true), ..Default::default() };
        assert_eq!(s.list_violations(&acc, &project.id, open, page).await.unwrap().items.len(), 1_000, "{}", b.name);
    }
}

/// Four findings alike but for their line: one fixed while the others moved, then back.
#[tokio::test]
async fn look_alikes_are_violations_of_their_own_and_a_fixed_one_that_returns_reopens() {
    use scanhook_core::scan::Severity;
    for b in backends().await {
        let s = b.store.as_ref();
        let acc = account(s, "a").await;
        webhook(s, &acc, &["violation.*"]).await;
        let stamp = |secs: i64| {
            let at = t0() + Duration::seconds(secs);
            EventStamp { timestamp: at, first_attempt_at: at, trace_parent: None }
        };
        let project = NewProject {
            id: scanhook_core::ProjectId::generate(),
            name: "shop".into(),
            target: None,
            score_drop_threshold: 10,
            scan_time_limit_secs: 600,
        };
        let project = s.create_project(&acc, project, stamp(0)).await.unwrap().id;
        let at_lines = |lines: &[u32]| -> Vec<_> {
            let one = findings(0..1, Severity::Low).remove(0);
            lines.iter().map(|&line| scanhook_core::scan::Finding { line, ..one.clone() }).collect()
        };
        let complete = async |lines: &[u32], secs: i64| {
            let new = NewScan {
                id: scanhook_core::ScanId::generate(),
                project_id: project.clone(),
                target: None,
                rules: Vec::new(),
                time_limit_secs: None,
                analysis: Default::default(),
                root: None,
            };
            let scan = s.start_scan(&acc, new, stamp(secs)).await.unwrap();
            let report = ScanReport { findings: at_lines(lines), ..Default::default() };
            s.complete_scan(&acc, &scan.id, report, stamp(secs)).await.unwrap()
        };
        let page = Page { limit: 100, cursor: None };
        let by_line = async |open: bool| -> std::collections::BTreeMap<u32, scanhook_core::ViolationId> {
            let filter = ViolationFilter { open: Some(open), ..Default::default() };
            let listed = s.list_violations(&acc, &project, filter, page.clone()).await.unwrap().items;
            listed.into_iter().map(|v| (v.finding.line, v.id)).collect()
        };

        let done = complete(&[8, 13, 17, 22], 1).await;
        assert_eq!((done.detected, done.open), (4, 4), "{}: four look-alikes, four violations", b.name);
        let first = by_line(true).await;

        // The second is fixed; a line added above the third moved it and the fourth.
        let done = complete(&[8, 18, 23], 2).await;
        assert_eq!((done.detected, done.resolved, done.open), (0, 1, 3), "{}", b.name);
        let resolved = by_line(false).await;
        assert_eq!(resolved.keys().collect::<Vec<_>>(), [&13], "{}: exactly the fixed one", b.name);
        let moved = by_line(true).await;
        let ids = |m: &std::collections::BTreeMap<u32, scanhook_core::ViolationId>,
                   lines: &[u32]|
         -> Vec<scanhook_core::ViolationId> { lines.iter().map(|l| m[l].clone()).collect() };
        assert_eq!(ids(&moved, &[8, 18, 23]), ids(&first, &[8, 17, 22]), "{}: the same violations", b.name);

        // The fix is undone: the same violation reopens, and keeps its history.
        let done = complete(&[8, 13, 17, 22], 3).await;
        assert_eq!((done.detected, done.reopened, done.resolved, done.open), (1, 1, 0, 4), "{}", b.name);
        assert_eq!(by_line(true).await, first, "{}: every violation as it was", b.name);
        let (reopened, history) = s.get_violation(&acc, &first[&13]).await.unwrap();
        assert!(reopened.open && reopened.resolved_at.is_none(), "{}", b.name);
        let actions: Vec<_> = history.iter().map(|c| (c.action.as_str(), c.at, c.by.as_deref())).collect();
        let expected = [
            ("detected", stamp(1).timestamp, None),
            ("resolved", stamp(2).timestamp, Some("scan")),
            ("reopened", stamp(3).timestamp, None),
        ];
        assert_eq!(actions, expected, "{}", b.name);

        let filter =
            EventFilter { event_type: Some(EventType::parse("violation.detected").unwrap()), ..Default::default() };
        let events = s.list_events(&acc, filter, page.clone()).await.unwrap().items;
        let data: Vec<serde_json::Value> = events.iter().map(|e| serde_json::from_str(&e.data).unwrap()).collect();
        let reopening: Vec<_> = data.iter().filter(|d| d["reopened"] == true).collect();
        assert_eq!((data.len(), reopening.len()), (5, 1), "{}", b.name);
        assert_eq!(reopening[0]["violationId"], first[&13].as_str(), "{}", b.name);
        let resolved_at = scanhook_core::envelope::format_timestamp(stamp(2).timestamp);
        assert_eq!(reopening[0]["resolvedAt"], resolved_at.as_str(), "{}", b.name);
        let other = account(s, "b").await;
        assert!(matches!(s.get_violation(&other, &first[&13]).await, Err(StoreError::NotFound)), "{}", b.name);
    }
}

#[tokio::test]
async fn delivery_formats_round_trip_and_a_rotation_keeps_the_old_secret_for_its_grace_period() {
    use scanhook_core::format::{BodyJson, DeliveryFormat, Encoding, Kind, Signature};
    for b in backends().await {
        let s = b.store.as_ref();
        let acc = account(s, "a").await;
        let format = DeliveryFormat {
            signature: Signature::HmacSha256 {
                header: Some("X-Juro-Signature".into()),
                prefix: String::new(),
                encoding: Encoding::Base64,
            },
            bearer_token: Some("tok".into()),
            timeout_secs: Some(5),
            kind: Kind::Slack,
            template: Some(".data".into()),
            extra_payload: Some(serde_json::Map::from_iter([("k".to_string(), serde_json::json!(1))])),
            header_prefix: Some("X-Juro".into()),
            body_json: BodyJson::Javascript,
            cloudevents: None,
            max_in_flight: Some(7),
            rate_limit: Some(100),
            rate_limit_burst: Some(20),
            ordering: scanhook_core::format::Ordering::Fifo,
        };
        let new = NewWebhook { format: format.clone(), ..new_webhook("https://example.com/h", &["*"]) };
        let w = s.create_webhook(&acc, new, 10, t0()).await.unwrap();
        assert_eq!(s.get_webhook(&acc, &w.id).await.unwrap().format, format, "{}", b.name);
        assert!(w.previous_secret.is_none());

        let fresh = WebhookSecret::generate();
        let until = t0() + Duration::hours(24);
        let other = account(s, "b").await;
        let foreign = s.rotate_webhook_secret(&other, &w.id, fresh.clone(), until, t0()).await;
        assert!(matches!(foreign, Err(StoreError::NotFound)), "{}", b.name);
        let rotated = s.rotate_webhook_secret(&acc, &w.id, fresh.clone(), until, t0()).await.unwrap();
        assert_eq!(rotated.secret.expose(), fresh.expose(), "{}", b.name);
        let (old, old_until) = rotated.previous_secret.expect("the old secret is kept");
        assert_eq!((old.expose(), old_until), (w.secret.expose(), until), "{}", b.name);

        // A patch that replaces the secret (a change between shared and Ed25519 schemes)
        // ends the grace at once: the old secret cannot sign under the new scheme.
        let key = WebhookSecret::generate_for(scanhook_core::SecretKind::Ed25519);
        let format = DeliveryFormat { signature: Signature::StandardEd25519, ..format };
        let patch = WebhookPatch { secret: Some(key.clone()), format: Some(format), ..Default::default() };
        let switched = s.update_webhook(&acc, &w.id, patch, t0()).await.unwrap();
        assert_eq!(switched.secret.expose(), key.expose(), "{}", b.name);
        assert!(switched.previous_secret.is_none(), "{}", b.name);
        let unchanged = s.update_webhook(&acc, &w.id, WebhookPatch::default(), t0()).await.unwrap();
        assert_eq!(unchanged.secret.expose(), key.expose(), "a patch without a secret keeps it: {}", b.name);
    }
}

fn succeeded(c: &Claimed) -> Completion {
    Completion {
        delivery_id: c.delivery_id.clone(),
        webhook_id: c.webhook.id.clone(),
        attempt: Some(attempt(c, 200)),
        outcome: Outcome::Succeeded,
        note: None,
        endpoint: None,
    }
}

#[tokio::test]
async fn complete_drops_outcomes_of_deleted_endpoints_and_keeps_the_rest() {
    for b in backends().await {
        let s = b.store.clone();
        let acc = account(s.as_ref(), "a").await;
        let (gone, kept) = (webhook(s.as_ref(), &acc, &["*"]).await, webhook(s.as_ref(), &acc, &["*"]).await);
        for _ in 0..3 {
            s.ingest_event(&acc, event("scan.completed", None), t0()).await.unwrap();
        }
        let claimed = s.claim_due("w", t0(), t0() + Duration::seconds(60), 10).await.unwrap();
        assert_eq!(claimed.len(), 6, "{}", b.name);
        s.delete_webhook(&acc, &gone.id).await.unwrap();
        // The outcomes and an API write share a group commit; none may spoil another.
        let outcomes = claimed.iter().map(succeeded).collect();
        let (recorded, created) = tokio::join!(
            s.complete("w", outcomes, 10, t0()),
            s.create_webhook(&acc, new_webhook("https://example.com/new", &["*"]), 10, t0()),
        );
        recorded.unwrap_or_else(|e| panic!("{}: {e}", b.name));
        created.unwrap_or_else(|e| panic!("{}: {e}", b.name));
        let filter = DeliveryFilter { webhook_id: Some(kept.id.clone()), ..Default::default() };
        let mine = s.list_deliveries(&acc, filter, Page { limit: 10, cursor: None }).await.unwrap().items;
        assert_eq!(mine.len(), 3, "{}", b.name);
        for d in mine {
            let (d, attempts) = s.get_delivery(&acc, &d.id).await.unwrap();
            assert_eq!((d.status, attempts.len()), (DeliveryStatus::Succeeded, 1), "{}", b.name);
        }
        let filter = DeliveryFilter { webhook_id: Some(gone.id.clone()), ..Default::default() };
        let theirs = s.list_deliveries(&acc, filter, Page { limit: 10, cursor: None }).await.unwrap().items;
        assert!(theirs.is_empty(), "{}", b.name);
    }
}

#[tokio::test]
async fn expired_leases_are_counted_until_an_outcome() {
    for b in backends().await {
        let s = b.store.as_ref();
        let acc = account(s, "a").await;
        webhook(s, &acc, &["*"]).await;
        s.ingest_event(&acc, event("scan.completed", None), t0()).await.unwrap();
        let lease = Duration::seconds(60);
        let mut at = t0();
        for expired in 0..3 {
            let c = s.claim_due("w", at, at + lease, 10).await.unwrap();
            assert_eq!(c[0].expired_leases, expired, "{}", b.name);
            at += lease + Duration::seconds(1);
        }
        // A release is no crash: the count stays.
        let c = s.claim_due("w", at, at + lease, 10).await.unwrap();
        s.release("w", vec![c[0].delivery_id.clone()], at).await.unwrap();
        let c = s.claim_due("w", at, at + lease, 10).await.unwrap();
        assert_eq!(c[0].expired_leases, 3, "{}", b.name);
        let retry = Completion { outcome: Outcome::RetryAt(at), ..succeeded(&c[0]) };
        s.complete("w", vec![retry], 10, at).await.unwrap();
        let c = s.claim_due("w", at, at + lease, 10).await.unwrap();
        assert_eq!(c[0].expired_leases, 0, "{}: an outcome resets the count", b.name);
    }
}

#[tokio::test]
async fn deliveries_are_held_for_an_endpoint_disabled_after_failures() {
    for b in backends().await {
        let s = b.store.as_ref();
        let acc = account(s, "a").await;
        let (failing, off) = (webhook(s, &acc, &["*"]).await, webhook(s, &acc, &["*"]).await);
        let patch = WebhookPatch { active: Some(false), ..Default::default() };
        s.update_webhook(&acc, &off.id, patch, t0()).await.unwrap();
        s.ingest_event(&acc, event("scan.completed", None), t0()).await.unwrap();
        let c = s.claim_due("w", t0(), t0() + Duration::seconds(60), 10).await.unwrap();
        let dead = Completion { outcome: Outcome::Dead { counts_as_failure: true }, ..succeeded(&c[0]) };
        s.complete("w", vec![dead], 1, t0()).await.unwrap();
        assert!(s.get_webhook(&acc, &failing.id).await.unwrap().disabled_reason.is_some(), "{}", b.name);

        let mut made = Vec::new();
        for i in 0..3 {
            let at = t0() + Duration::seconds(i);
            let e = created(
                s.ingest_event(&acc, NewEvent { timestamp: at, ..event("scan.completed", None) }, at).await.unwrap(),
            );
            assert_eq!(e.delivery_count, 1, "{}: held for the failing endpoint, none for the one switched off", b.name);
            made.push(e.id);
        }
        let later = t0() + Duration::minutes(5);
        assert!(s.claim_due("w", later, later, 10).await.unwrap().is_empty(), "{}: held is not due", b.name);
        let held = DeliveryFilter { status: Some(DeliveryStatus::Held), ..Default::default() };
        let page = Page { limit: 10, cursor: None };
        assert_eq!(s.list_deliveries(&acc, held.clone(), page.clone()).await.unwrap().items.len(), 3, "{}", b.name);

        let w = s.enable_webhook(&acc, &failing.id, Missed::Replay, later).await.unwrap();
        assert!(w.active && w.disabled_reason.is_none(), "{}", b.name);
        let order: Vec<_> = s
            .claim_due("w", later, later + Duration::seconds(60), 10)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.event.id)
            .collect();
        assert_eq!(order, made, "{}: oldest first", b.name);
    }
}

/// A claim takes each endpoint's fair share and leaves the rest due, unleased: an endpoint
/// at most its `max_in_flight` less what the claimer has in flight, none of one it passes
/// over, and of a rate-limited one what its bucket holds (one bucket for every claimer,
/// kept on the endpoint), saying when an empty bucket refills.
#[tokio::test]
async fn a_claim_takes_each_endpoints_fair_share() {
    use scanhook_core::format::DeliveryFormat;
    for b in backends().await {
        let s = b.store.as_ref();
        let acc = account(s, "a").await;
        let with = |format: DeliveryFormat| NewWebhook { format, ..new_webhook("https://example.com/h", &["*"]) };
        let capped = DeliveryFormat { max_in_flight: Some(2), ..Default::default() };
        let paced = DeliveryFormat { rate_limit: Some(1), rate_limit_burst: Some(2), ..Default::default() };
        let capped = s.create_webhook(&acc, with(capped), 10, t0()).await.unwrap();
        let paced = s.create_webhook(&acc, with(paced), 10, t0()).await.unwrap();
        let plain = webhook(s, &acc, &["*"]).await;
        let skipped = webhook(s, &acc, &["*"]).await;
        for _ in 0..5 {
            s.ingest_event(&acc, event("scan.completed", None), t0()).await.unwrap();
        }
        let count = |c: &Claim, w: &Webhook| c.items.iter().filter(|i| i.webhook.id == w.id).count();
        let lease = t0() + Duration::seconds(60);
        let limits = ClaimLimits {
            busy: HashMap::from([(capped.id.clone(), 1)]),
            skip: vec![skipped.id.clone()],
            ..Default::default()
        };
        let first = s.claim("w1", t0(), lease, 100, limits).await.unwrap();
        let took = [&capped, &paced, &plain, &skipped].map(|w| count(&first, w));
        assert_eq!(took, [1, 2, 5, 0], "{}", b.name);
        let refill = t0() + Duration::seconds(1);
        assert_eq!(first.empty, vec![(paced.id.clone(), refill)], "{}", b.name);

        // Another claimer draws from the same bucket; the rest stayed due.
        let second = s.claim("w2", t0(), lease, 100, ClaimLimits::default()).await.unwrap();
        let took = [&capped, &paced, &plain, &skipped].map(|w| count(&second, w));
        assert_eq!(took, [2, 0, 0, 5], "{}", b.name);
        assert_eq!(second.empty, vec![(paced.id.clone(), refill)], "{}", b.name);
        let third = s.claim("w3", refill, lease, 100, ClaimLimits::default()).await.unwrap();
        let took = [&capped, &paced, &plain, &skipped].map(|w| count(&third, w));
        assert_eq!(took, [2, 1, 0, 0], "{}: a token a second", b.name);
        assert_eq!(s.next_due_except(vec![capped.id.clone()], None).await.unwrap(), Some(t0()), "{}", b.name);
        assert_eq!(s.next_due_except(vec![capped.id.clone(), paced.id.clone()], None).await.unwrap(), Some(lease));
    }
}

/// A claim that read every due delivery says so (`read_all`); a later one given
/// `due_after` reads only what became due after it, and a `reopened` endpoint's deliveries
/// due up to it, oldest first, so a passed-over endpoint's backlog is not read again.
#[tokio::test]
async fn a_claim_after_what_one_passed_over_reads_only_the_rest() {
    for b in backends().await {
        let s = b.store.as_ref();
        let acc = account(s, "a").await;
        let stuck = webhook(s, &acc, &["*"]).await;
        let other = webhook(s, &acc, &["*"]).await;
        let t1 = t0() + Duration::seconds(1);
        let lease = t1 + Duration::seconds(60);
        for _ in 0..5 {
            s.ingest_event(&acc, event("scan.completed", None), t0()).await.unwrap();
        }
        let skip = || ClaimLimits { skip: vec![stuck.id.clone()], ..Default::default() };
        let first = s.claim("w", t0(), lease, 100, skip()).await.unwrap();
        assert_eq!(first.items.len(), 5, "{}", b.name);
        assert!(first.items.iter().all(|i| i.webhook.id == other.id), "{}", b.name);
        // PostgreSQL cannot tell (SKIP LOCKED), and then never uses `due_after`.
        let tells = b.name == "sqlite";
        assert_eq!(first.read_all, tells, "{}", b.name);

        let mut made = Vec::new();
        for _ in 0..3 {
            let new = NewEvent { timestamp: t1, first_attempt_at: t1, ..event("scan.completed", None) };
            made.push(created(s.ingest_event(&acc, new, t1).await.unwrap()).id);
        }
        let after = ClaimLimits { due_after: Some(t0()), ..skip() };
        let second = s.claim("w", t1, lease, 100, after).await.unwrap();
        let events: Vec<_> = second.items.iter().map(|i| (i.webhook.id.clone(), i.event.id.clone())).collect();
        let expected: Vec<_> = made.iter().map(|e| (other.id.clone(), e.clone())).collect();
        assert_eq!(events, expected, "{}: only what became due after", b.name);
        assert_eq!(second.read_all, tells, "{}", b.name);

        // The stuck endpoint left the skip set: its oldest first, up to the limit.
        let reopened = ClaimLimits { due_after: Some(t1), reopened: vec![stuck.id.clone()], ..Default::default() };
        let third = s.claim("w", t1, lease, 4, reopened).await.unwrap();
        assert_eq!(third.items.len(), 4, "{}", b.name);
        assert!(third.items.iter().all(|i| i.webhook.id == stuck.id), "{}", b.name);
        assert!(third.items.iter().all(|i| i.event.timestamp == t0()), "{}: oldest first", b.name);
        assert!(!third.read_all, "{}: a full batch may have left some", b.name);
        // Four of the stuck endpoint's are still due, all before `t1`; after it only leases end.
        assert_eq!(s.next_due_except(vec![], Some(t1)).await.unwrap(), Some(lease), "{}", b.name);
        assert_eq!(s.next_due_except(vec![], None).await.unwrap(), Some(t0()), "{}", b.name);
        let rest = s.claim("w", t1, lease, 100, ClaimLimits::default()).await.unwrap();
        assert_eq!(rest.items.len(), 4, "{}", b.name);
    }
}

/// An ingest may lease the deliveries it makes in its own unit of work, on the terms a
/// claim would: its owner's fair share, at most its limit, nothing skipped, nothing held,
/// nothing not due yet. What it leaves stays due for a claim; what it leased no claim sees.
#[tokio::test]
async fn an_ingest_leases_its_new_deliveries_as_a_claim_would() {
    use scanhook_core::format::DeliveryFormat;
    for b in backends().await {
        let s = b.store.as_ref();
        let acc = account(s, "a").await;
        let with = |format: DeliveryFormat| NewWebhook { format, ..new_webhook("https://example.com/h", &["*"]) };
        let capped = s
            .create_webhook(&acc, with(DeliveryFormat { max_in_flight: Some(2), ..Default::default() }), 10, t0())
            .await
            .unwrap();
        let plain = webhook(s, &acc, &["*"]).await;
        let skipped = webhook(s, &acc, &["*"]).await;
        let until = t0() + Duration::seconds(60);
        let lease = |limit| Lease {
            owner: "w1".into(),
            until,
            limit,
            limits: ClaimLimits {
                busy: HashMap::from([(capped.id.clone(), 2)]),
                skip: vec![skipped.id.clone()],
                ..Default::default()
            },
        };
        let (ingested, claim) =
            s.ingest_event_leased(&acc, event("scan.completed", None), t0(), lease(10)).await.unwrap();
        let made = created(ingested);
        assert_eq!(made.delivery_count, 3, "{}", b.name);
        let leased: Vec<_> = claim.items.iter().map(|c| (c.webhook.id.clone(), c.event.id.clone())).collect();
        assert_eq!(leased, vec![(plain.id.clone(), made.id.clone())], "{}: only the endpoint with room", b.name);
        assert_eq!(claim.items[0].expired_leases, 0, "{}", b.name);
        assert_eq!(claim.passed_over, 1, "{}: the skipped endpoint's, unread", b.name);

        // The rest stayed due for a claim; the leased one is not due before its lease ends.
        let other = s.claim("w2", t0(), until, 100, ClaimLimits::default()).await.unwrap();
        let mut ids: Vec<_> = other.items.iter().map(|c| c.webhook.id.clone()).collect();
        ids.sort();
        let mut want = vec![capped.id.clone(), skipped.id.clone()];
        want.sort();
        assert_eq!(ids, want, "{}", b.name);
        let done: Vec<Completion> = claim.items.iter().map(succeeded).collect();
        s.complete("w1", done, 0, t0()).await.unwrap();
        let (got, _) = s.get_delivery(&acc, &claim.items[0].delivery_id).await.unwrap();
        assert_eq!(got.status, DeliveryStatus::Succeeded, "{}: its owner records the outcome", b.name);

        // A batch leases at most the limit; an event not yet due is not leased.
        let (results, claim) = s
            .ingest_events_leased(
                &acc,
                vec![event("scan.completed", None), event("scan.completed", None)],
                t0(),
                lease(1),
            )
            .await
            .unwrap();
        assert_eq!(results.len(), 2, "{}", b.name);
        assert_eq!(claim.items.len(), 1, "{}: the limit", b.name);
        let later = NewEvent { first_attempt_at: t0() + Duration::seconds(5), ..event("scan.completed", None) };
        let (_, claim) = s.ingest_event_leased(&acc, later, t0(), lease(10)).await.unwrap();
        assert!(claim.items.is_empty(), "{}: not due yet", b.name);
    }
}

/// A receiver's `Retry-After` pauses its endpoint on every node (only ever longer), a
/// delivery that waits for the pause keeps its attempts and last error, and `410 Gone`
/// disables the endpoint at once with the reason given, its delivery held.
#[tokio::test]
async fn a_receiver_can_pause_or_disable_its_endpoint() {
    for b in backends().await {
        let s = b.store.as_ref();
        let acc = account(s, "a").await;
        // Scan events only: the disable's `endpoint.disabled` would reach `paused` too.
        let (paused, gone) = (webhook(s, &acc, &["scan.*"]).await, webhook(s, &acc, &["scan.*"]).await);
        s.ingest_event(&acc, event("scan.completed", None), t0()).await.unwrap();
        let lease = Duration::seconds(60);
        let c = s.claim_due("w", t0(), t0() + lease, 10).await.unwrap();
        let on = |w: &Webhook| c.iter().find(|c| c.webhook.id == w.id).unwrap();
        assert_eq!(on(&paused).webhook.retry_not_before, None, "{}", b.name);
        let until = t0() + Duration::seconds(30);
        let asked = Completion {
            attempt: Some(attempt(on(&paused), 429)),
            outcome: Outcome::RetryAt(until),
            endpoint: Some(EndpointAction::PauseUntil(until)),
            ..succeeded(on(&paused))
        };
        let ended = Completion {
            attempt: Some(attempt(on(&gone), 410)),
            outcome: Outcome::Held,
            endpoint: Some(EndpointAction::Disable("the receiver answered 410 Gone".into())),
            ..succeeded(on(&gone))
        };
        s.complete("w", vec![asked, ended], 10, t0()).await.unwrap();
        assert_eq!(s.get_webhook(&acc, &paused.id).await.unwrap().retry_not_before, Some(until), "{}", b.name);
        let off = s.get_webhook(&acc, &gone.id).await.unwrap();
        assert!(!off.active && off.disabled_at == Some(t0()), "{}", b.name);
        assert_eq!(off.disabled_reason.as_deref(), Some("the receiver answered 410 Gone"), "{}", b.name);
        let held = DeliveryFilter { status: Some(DeliveryStatus::Held), ..Default::default() };
        let page = Page { limit: 10, cursor: None };
        assert_eq!(s.list_deliveries(&acc, held, page.clone()).await.unwrap().items.len(), 1, "{}", b.name);

        // The paused endpoint's next delivery comes due, is seen paused and waits; a
        // shorter pause asked meanwhile does not shorten it.
        s.ingest_event(&acc, event("scan.completed", None), t0()).await.unwrap();
        let c = s.claim_due("w", t0(), t0() + lease, 10).await.unwrap();
        assert_eq!(c.len(), 1, "{}: the disabled endpoint's delivery is held", b.name);
        assert_eq!(c[0].webhook.retry_not_before, Some(until), "{}", b.name);
        let wait = Completion {
            attempt: None,
            outcome: Outcome::Wait(until),
            endpoint: Some(EndpointAction::PauseUntil(t0() + Duration::seconds(5))),
            ..succeeded(&c[0])
        };
        s.complete("w", vec![wait], 10, t0()).await.unwrap();
        assert_eq!(s.get_webhook(&acc, &paused.id).await.unwrap().retry_not_before, Some(until), "{}", b.name);
        let (waited, attempts) = s.get_delivery(&acc, &c[0].delivery_id).await.unwrap();
        assert_eq!(waited.status, DeliveryStatus::Pending, "{}", b.name);
        assert_eq!((waited.attempt_count, attempts.len()), (0, 0), "{}: waiting is no attempt", b.name);
        assert_eq!(waited.next_attempt_at, Some(until), "{}", b.name);
        let soon = t0() + Duration::seconds(29);
        assert!(s.claim_due("w", soon, soon + lease, 10).await.unwrap().is_empty(), "{}", b.name);
        let due = s.claim_due("w", until, until + lease, 10).await.unwrap();
        assert_eq!(due.len(), 2, "{}: both are due when the pause ends", b.name);
        assert!(due.iter().all(|d| d.expired_leases == 0 && d.round_attempts <= 1), "{}", b.name);
    }
}

#[tokio::test]
async fn held_deliveries_are_given_up_as_dead_without_replay_missed() {
    for b in backends().await {
        let s = b.store.as_ref();
        let acc = account(s, "a").await;
        let wh = webhook(s, &acc, &["*"]).await;
        s.ingest_event(&acc, event("scan.completed", None), t0()).await.unwrap();
        let c = s.claim_due("w", t0(), t0() + Duration::seconds(60), 10).await.unwrap();
        let dead = Completion { outcome: Outcome::Dead { counts_as_failure: true }, ..succeeded(&c[0]) };
        s.complete("w", vec![dead], 1, t0()).await.unwrap();
        s.ingest_event(&acc, event("scan.completed", None), t0()).await.unwrap();
        let note = NOT_SENT_WHILE_DISABLED.to_string();
        s.enable_webhook(&acc, &wh.id, Missed::GiveUp(note.clone()), t0()).await.unwrap();
        let dead = DeliveryFilter { status: Some(DeliveryStatus::Dead), ..Default::default() };
        let items = s.list_deliveries(&acc, dead, Page { limit: 10, cursor: None }).await.unwrap().items;
        assert_eq!(items.len(), 2, "{}", b.name);
        assert!(items.iter().any(|d| d.last_error.as_deref() == Some(note.as_str())), "{}", b.name);
        assert_eq!(s.replay_dead(&acc, &wh.id, None, t0()).await.unwrap(), 2, "{}", b.name);
    }
}

#[tokio::test]
async fn a_completed_scan_resolves_only_violations_of_the_analyses_it_covered() {
    use scanhook_core::scan::{Analysis, Severity};
    for b in backends().await {
        let s = b.store.as_ref();
        let acc = account(s, "a").await;
        let stamp = EventStamp { timestamp: t0(), first_attempt_at: t0(), trace_parent: None };
        let project = NewProject {
            id: scanhook_core::ProjectId::generate(),
            name: "tools".into(),
            target: None,
            score_drop_threshold: 10,
            scan_time_limit_secs: 600,
        };
        let project = s.create_project(&acc, project, stamp).await.unwrap();
        let analysis = |tool: &str| Analysis { tool: tool.into(), category: String::new() };
        // Native findings take the scan's analysis; a SARIF report brings its own.
        let complete = async |started_as: Analysis, report: ScanReport| {
            let new = NewScan {
                id: scanhook_core::ScanId::generate(),
                project_id: project.id.clone(),
                target: None,
                rules: Vec::new(),
                time_limit_secs: None,
                analysis: started_as,
                root: None,
            };
            let scan = s.start_scan(&acc, new, stamp).await.unwrap();
            s.complete_scan(&acc, &scan.id, report, stamp).await.unwrap()
        };
        let native = |range| ScanReport { findings: findings(range, Severity::High), ..Default::default() };
        let done = complete(analysis("a"), native(0..3)).await;
        assert_eq!((done.detected, done.scan.covered.clone()), (3, vec![analysis("a")]), "{}", b.name);
        // The same fingerprints from another tool are other violations.
        let sarif = |range, tools: &[&str]| {
            let mut found = findings(range, Severity::High);
            found.iter_mut().for_each(|f| f.analysis = analysis(tools[0]));
            ScanReport { findings: found, analyses: tools.iter().map(|t| analysis(t)).collect(), ..Default::default() }
        };
        let done = complete(Analysis::default(), sarif(0..3, &["b"])).await;
        assert_eq!((done.detected, done.resolved, done.open), (3, 0, 6), "{}", b.name); // open: every tool's
        // Tool a finds nothing: only its three are resolved; b's stay open.
        let done = complete(analysis("a"), native(0..0)).await;
        assert_eq!(done.resolved, 3, "{}", b.name);
        // A log covering b and c with findings of b only: nothing of a's, b's one less.
        let done = complete(Analysis::default(), sarif(0..2, &["b", "c"])).await;
        assert_eq!((done.resolved, done.scan.covered.len()), (1, 2), "{}", b.name);
        let page = Page { limit: 100, cursor: None };
        let open = ViolationFilter { open: Some(true), tool: Some("b".into()), ..Default::default() };
        assert_eq!(s.list_violations(&acc, &project.id, open, page).await.unwrap().items.len(), 2, "{}", b.name);
    }
}

/// The operations the contract says behave as if serialised, run concurrently: each
/// holds without help from a single writer.
#[tokio::test]
async fn concurrent_writes_behave_as_if_serialised() {
    use scanhook_core::ScanId;
    for b in backends().await {
        let store = b.store.clone();
        // Nodes starting at once: one default account, created once.
        let starts = (0..8).map(|_| {
            let s = store.clone();
            tokio::spawn(async move { s.ensure_default_account(t0()).await })
        });
        let mut defaults = Vec::new();
        for start in starts {
            defaults.push(start.await.unwrap().unwrap());
        }
        assert_eq!(defaults.iter().filter(|(_, new)| *new).count(), 1, "{}", b.name);
        assert!(defaults.iter().all(|(a, _)| a.id == defaults[0].0.id && a.is_admin), "{}", b.name);

        let acc = account(store.as_ref(), "a").await;
        webhook(store.as_ref(), &acc, &["*"]).await;

        // One idempotency key, sixteen requests at once: one event, fifteen replays.
        let ingests = (0..16).map(|_| {
            let (s, acc) = (store.clone(), acc.clone());
            tokio::spawn(async move { s.ingest_event(&acc, event("scan.completed", Some(("k", "h"))), t0()).await })
        });
        let mut created = 0;
        for ingest in ingests {
            match ingest.await.unwrap() {
                Ok(Ingested::Created(_)) => created += 1,
                Ok(Ingested::Replayed(_)) => {}
                Err(e) => panic!("{}: a replay, never an error: {e}", b.name),
            }
        }
        let page = Page { limit: 100, cursor: None };
        assert_eq!(created, 1, "{}", b.name);
        assert_eq!(store.list_events(&acc, EventFilter::default(), page.clone()).await.unwrap().items.len(), 1);

        // Ten creates at a limit of three: three endpoints, never four.
        let other = account(store.as_ref(), "b").await;
        let creates = (0..10).map(|i| {
            let (s, other) = (store.clone(), other.clone());
            let new = new_webhook(&format!("https://example.com/{i}"), &["*"]);
            tokio::spawn(async move { s.create_webhook(&other, new, 3, t0()).await })
        });
        let mut made = 0;
        for create in creates {
            match create.await.unwrap() {
                Ok(_) => made += 1,
                Err(StoreError::Conflict(Conflict::WebhookLimit { limit: 3 })) => {}
                Err(e) => panic!("{}: {e}", b.name),
            }
        }
        assert_eq!(made, 3, "{}", b.name);
        assert_eq!(store.list_webhooks(&other, page.clone()).await.unwrap().items.len(), 3, "{}", b.name);

        // Two claimers never get the same delivery (8 each: within an endpoint's default
        // share of one claimer, 10).
        for _ in 0..40 {
            store.ingest_event(&acc, event("scan.started", None), t0()).await.unwrap();
        }
        let lease = t0() + Duration::seconds(60);
        let claims = ["w1", "w2"].map(|owner| {
            let s = store.clone();
            tokio::spawn(async move { s.claim_due(owner, t0(), lease, 8).await })
        });
        let mut seen = std::collections::HashSet::new();
        for claim in claims {
            for claimed in claim.await.unwrap().unwrap() {
                assert!(seen.insert(claimed.delivery_id), "{}: claimed twice", b.name);
            }
        }
        assert_eq!(seen.len(), 16, "{}", b.name);

        // A scan completed, failed and timed out at once ends once, with one event.
        let project = NewProject {
            id: scanhook_core::ProjectId::generate(),
            name: "p".into(),
            target: None,
            score_drop_threshold: 10,
            scan_time_limit_secs: 1,
        };
        let stamp = EventStamp { timestamp: t0(), first_attempt_at: t0(), trace_parent: None };
        let project = store.create_project(&acc, project, stamp).await.unwrap();
        let new = NewScan {
            id: ScanId::generate(),
            project_id: project.id,
            target: None,
            rules: Vec::new(),
            time_limit_secs: None,
            analysis: Default::default(),
            root: None,
        };
        let scan = store.start_scan(&acc, new, stamp).await.unwrap().id;
        let late = EventStamp {
            timestamp: t0() + Duration::seconds(5),
            first_attempt_at: t0() + Duration::seconds(5),
            trace_parent: None,
        };
        let (s1, s2, s3) = (store.clone(), store.clone(), store.clone());
        let (a1, a2, id1, id2) = (acc.clone(), acc.clone(), scan.clone(), scan.clone());
        let (completed, failed, timed_out) = tokio::join!(
            tokio::spawn(async move { s1.complete_scan(&a1, &id1, ScanReport::default(), late).await }),
            tokio::spawn(async move { s2.fail_scan(&a2, &id2, ("E".into(), "m".into()), late).await }),
            tokio::spawn(async move { s3.time_out_scans(late, 10).await }),
        );
        let ends = [completed.unwrap().is_ok(), failed.unwrap().is_ok(), timed_out.unwrap().unwrap() == 1];
        assert_eq!(ends.iter().filter(|e| **e).count(), 1, "{}: {ends:?}", b.name);
        let events = store.list_events(&acc, EventFilter::default(), Page { limit: 200, cursor: None }).await.unwrap();
        let ended = events.items.iter().filter(|e| {
            e.data.contains(scan.as_str())
                && matches!(e.event_type.as_str(), "scan.completed" | "scan.failed" | "scan.timeout")
        });
        assert_eq!(ended.count(), 1, "{}", b.name);
    }
}

/// Units of two scans of one project recording the same findings at once pair them one
/// after the other: the first opens the violations, the second finds them open (never a
/// second violation for one finding).
#[tokio::test]
async fn concurrent_units_of_scans_of_one_project_pair_findings_one_after_the_other() {
    use scanhook_core::scan::{Severity, group};
    for b in backends().await {
        let store = b.store.clone();
        let acc = account(store.as_ref(), "a").await;
        let stamp = EventStamp { timestamp: t0(), first_attempt_at: t0(), trace_parent: None };
        let project = NewProject {
            id: scanhook_core::ProjectId::generate(),
            name: "p".into(),
            target: None,
            score_drop_threshold: 10,
            scan_time_limit_secs: 600,
        };
        let project = store.create_project(&acc, project, stamp).await.unwrap().id;
        let mut units = Vec::new();
        for _ in 0..4 {
            let new = NewScan {
                id: scanhook_core::ScanId::generate(),
                project_id: project.clone(),
                target: None,
                rules: Vec::new(),
                time_limit_secs: None,
                analysis: Default::default(),
                root: None,
            };
            let scan = store.start_scan(&acc, new, stamp).await.unwrap().id;
            let (s, acc) = (store.clone(), acc.clone());
            let groups = group(findings(0..300, Severity::High));
            units.push(tokio::spawn(async move { s.record_findings(&acc, &scan, groups, stamp).await }));
        }
        for unit in units {
            unit.await.unwrap().unwrap();
        }
        let page = Page { limit: 1_000, cursor: None };
        let all = store.list_violations(&acc, &project, ViolationFilter::default(), page).await.unwrap();
        assert_eq!(all.items.len(), 300, "{}: one violation per finding", b.name);
    }
}

/// Concurrent patches of different fields of one endpoint all land: a patch is read,
/// merged and written as one step.
#[tokio::test]
async fn concurrent_patches_of_one_endpoint_all_land() {
    for b in backends().await {
        let store = b.store.clone();
        let acc = account(store.as_ref(), "a").await;
        let hook = webhook(store.as_ref(), &acc, &["*"]).await.id;
        let patches = (0..8).map(|i| match i % 4 {
            0 => WebhookPatch { description: Some(Some(format!("d{i}"))), ..Default::default() },
            1 => WebhookPatch { events: Some(vec![format!("scan.e{i}")]), ..Default::default() },
            2 => WebhookPatch {
                url: Some(WebhookUrl::parse(&format!("https://example.com/{i}")).unwrap()),
                ..Default::default()
            },
            _ => WebhookPatch { projects: Some(vec![format!("proj_{i}")]), ..Default::default() },
        });
        let tasks: Vec<_> = patches
            .map(|patch| {
                let (s, acc, hook) = (store.clone(), acc.clone(), hook.clone());
                tokio::spawn(async move { s.update_webhook(&acc, &hook, patch, t0()).await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let got = store.get_webhook(&acc, &hook).await.unwrap();
        assert!(got.description.is_some(), "{}: the description landed", b.name);
        assert_ne!(got.events, vec!["*".to_string()], "{}: the events landed", b.name);
        assert_ne!(got.url.as_str(), "https://example.com/hook", "{}: the URL landed", b.name);
        assert!(!got.projects.is_empty(), "{}: the projects landed", b.name);
    }
}

/// Endpoints deleted while events come in: every ingest succeeds (its deliveries to a
/// deleted endpoint go with it), none fails for an endpoint that vanished under it.
#[tokio::test]
async fn ingests_succeed_while_endpoints_are_deleted() {
    for b in backends().await {
        let store = b.store.clone();
        let acc = account(store.as_ref(), "a").await;
        let mut hooks = Vec::new();
        for _ in 0..6 {
            hooks.push(webhook(store.as_ref(), &acc, &["*"]).await.id);
        }
        let mut ingests = Vec::new();
        let mut deletes = Vec::new();
        for i in 0..36 {
            let (s, a) = (store.clone(), acc.clone());
            ingests.push(tokio::spawn(async move { s.ingest_event(&a, event("scan.started", None), t0()).await }));
            if i % 6 == 0 {
                let (s, a, hook) = (store.clone(), acc.clone(), hooks.pop().unwrap());
                deletes.push(tokio::spawn(async move { s.delete_webhook(&a, &hook).await }));
            }
        }
        for ingest in ingests {
            ingest.await.unwrap().unwrap_or_else(|e| panic!("{}: {e}", b.name));
        }
        for delete in deletes {
            delete.await.unwrap().unwrap();
        }
        let left = store.list_deliveries(&acc, DeliveryFilter::default(), Page { limit: 500, cursor: None });
        assert!(left.await.unwrap().items.is_empty(), "{}: the deliveries went with their endpoints", b.name);
    }
}

#[tokio::test]
async fn retention_prunes_finished_deliveries_and_their_events_but_keeps_work_still_to_send() {
    use scanhook_core::retention::Prune;
    for b in backends().await {
        let s = b.store.as_ref();
        let acc = account(s, "a").await;
        webhook(s, &acc, &["scan.completed"]).await;
        webhook(s, &acc, &["scan.failed"]).await;
        webhook(s, &acc, &["scan.started"]).await;
        let ok = created(s.ingest_event(&acc, event("scan.completed", Some(("k1", "h1"))), t0()).await.unwrap());
        let dead = created(s.ingest_event(&acc, event("scan.failed", None), t0()).await.unwrap());
        let pending = created(s.ingest_event(&acc, event("scan.started", Some(("k2", "h2"))), t0()).await.unwrap());
        let unsent = created(s.ingest_event(&acc, event("violation.detected", None), t0()).await.unwrap());
        assert_eq!(unsent.delivery_count, 0);
        let claimed = s.claim_due("w", t0(), t0() + Duration::seconds(60), 10).await.unwrap();
        assert_eq!(claimed.len(), 3, "{}", b.name);
        let mut ids = std::collections::HashMap::new();
        for c in &claimed {
            let (outcome, status, at) = match c.event.event_type.as_str() {
                "scan.completed" => (Outcome::Succeeded, 200, t0() + Duration::seconds(1)),
                "scan.failed" => (Outcome::Dead { counts_as_failure: true }, 500, t0() + Duration::seconds(10)),
                _ => (Outcome::RetryAt(t0() + Duration::days(1)), 503, t0() + Duration::seconds(1)),
            };
            let mut logged = attempt(c, status);
            if status == 500 {
                logged.request_body = Some("a body of its own".into());
            }
            let done = Completion {
                delivery_id: c.delivery_id.clone(),
                webhook_id: c.webhook.id.clone(),
                attempt: Some(logged),
                outcome,
                note: None,
                endpoint: None,
            };
            s.complete("w", vec![done], 10, at).await.unwrap();
            ids.insert(c.event.event_type.as_str().to_string(), c.delivery_id.clone());
        }
        let delivery = |t: &str| ids[t].clone();

        // Bodies go first and alone; NULL (the envelope) stays NULL, a stored body becomes "".
        assert_eq!(s.prune(Prune::AttemptBodies, t0() + Duration::seconds(1), 500).await.unwrap(), 3, "{}", b.name);
        assert_eq!(s.prune(Prune::AttemptBodies, t0() + Duration::seconds(1), 500).await.unwrap(), 0);
        let (_, attempts) = s.get_delivery(&acc, &delivery("scan.failed")).await.unwrap();
        assert_eq!((attempts[0].request_body.as_deref(), attempts[0].response_body.as_deref()), (Some(""), None));
        assert_eq!(attempts[0].status_code, Some(500), "{}: the outcome stays", b.name);
        let (_, attempts) = s.get_delivery(&acc, &delivery("scan.started")).await.unwrap();
        assert_eq!((attempts[0].request_body.as_deref(), attempts[0].response_body.as_deref()), (None, None));

        // At t0+5s only the success is past retention; the dead one died at t0+10s.
        let cut = t0() + Duration::seconds(5);
        assert_eq!(s.prune(Prune::Deliveries, cut, 500).await.unwrap(), 1, "{}", b.name);
        let gone = s.get_delivery(&acc, &delivery("scan.completed")).await.unwrap_err();
        assert!(matches!(gone, StoreError::NotFound), "{}: {gone}", b.name);
        // Batches: one row per call here.
        assert_eq!(s.prune(Prune::Events, cut, 1).await.unwrap(), 1, "{}", b.name);
        assert_eq!(s.prune(Prune::Events, cut, 1).await.unwrap(), 1, "{}", b.name);
        assert_eq!(s.prune(Prune::Events, cut, 1).await.unwrap(), 0, "{}: the rest have deliveries", b.name);
        for e in [&ok, &unsent] {
            assert!(matches!(s.get_event(&acc, &e.id).await, Err(StoreError::NotFound)), "{}", b.name);
        }
        for e in [&dead, &pending] {
            s.get_event(&acc, &e.id).await.unwrap();
        }
        assert_eq!(s.prune(Prune::IdempotencyKeys, cut, 500).await.unwrap(), 1, "{}: the pending event's", b.name);
        assert_eq!(s.prune(Prune::IdempotencyKeys, cut, 500).await.unwrap(), 0);
        // Forgotten keys: a repeat is a new event, even with another request behind it.
        for (key, hash) in [("k1", "h1"), ("k2", "another request")] {
            let again = s.ingest_event(&acc, event("scan.completed", Some((key, hash))), t0()).await.unwrap();
            assert!(matches!(again, Ingested::Created(_)), "{}: {key} was forgotten", b.name);
        }

        // Past the dead delivery's retention it goes, and its event with it; the pending one
        // stays however old.
        let later = t0() + Duration::days(365);
        let (_, pending_attempts) = s.get_delivery(&acc, &delivery("scan.started")).await.unwrap();
        assert_eq!(s.prune(Prune::Deliveries, t0() + Duration::seconds(11), 500).await.unwrap(), 1, "{}", b.name);
        assert!(matches!(s.get_delivery(&acc, &delivery("scan.failed")).await, Err(StoreError::NotFound)));
        s.prune(Prune::Events, later, 500).await.unwrap();
        assert!(matches!(s.get_event(&acc, &dead.id).await, Err(StoreError::NotFound)), "{}", b.name);
        let (d, attempts) = s.get_delivery(&acc, &delivery("scan.started")).await.unwrap();
        assert_eq!((d.status, attempts.len()), (DeliveryStatus::Pending, pending_attempts.len()), "{}", b.name);
        s.get_event(&acc, &pending.id).await.unwrap();
    }
}

#[tokio::test]
async fn retention_prunes_finished_scans_that_nothing_names_and_keeps_the_score_baseline() {
    use scanhook_core::retention::Prune;
    use scanhook_core::scan::Severity;
    for b in backends().await {
        let s = b.store.as_ref();
        let acc = account(s, "a").await;
        let stamp = |secs: i64| EventStamp {
            timestamp: t0() + Duration::seconds(secs),
            first_attempt_at: t0() + Duration::seconds(secs),
            trace_parent: None,
        };
        let project = async |name: &str| {
            let new = NewProject {
                id: scanhook_core::ProjectId::generate(),
                name: name.into(),
                target: None,
                score_drop_threshold: 10,
                scan_time_limit_secs: 600,
            };
            s.create_project(&acc, new, stamp(0)).await.unwrap().id
        };
        let start = async |project: &scanhook_core::ProjectId, secs: i64| {
            let new = NewScan {
                id: scanhook_core::ScanId::generate(),
                project_id: project.clone(),
                target: None,
                rules: vec![],
                time_limit_secs: Some(86_400),
                analysis: Default::default(),
                root: None,
            };
            s.start_scan(&acc, new, stamp(secs)).await.unwrap().id
        };
        let complete = async |project: &scanhook_core::ProjectId, secs: i64, found: u32, score: Option<u32>| {
            let id = start(project, secs).await;
            let report = ScanReport { findings: findings(0..found, Severity::High), score, ..Default::default() };
            s.complete_scan(&acc, &id, report, stamp(secs)).await.unwrap();
            id
        };
        let web = project("web").await;
        let detects = complete(&web, 0, 1, None).await; // first (and history) of the violation
        let sees_again = complete(&web, 1, 1, None).await; // its last scan, until the next
        let resolves = complete(&web, 2, 0, None).await; // resolves it: last scan and history
        let failed = start(&web, 3).await;
        s.fail_scan(&acc, &failed, ("E".into(), "boom".into()), stamp(3)).await.unwrap();
        let running = start(&web, 4).await;
        let api = project("api").await;
        let older_score = complete(&api, 0, 0, Some(70)).await;
        let baseline = complete(&api, 1, 0, Some(60)).await;

        let cut = t0() + Duration::hours(1);
        assert_eq!(s.prune(Prune::Scans, cut, 500).await.unwrap(), 3, "{}", b.name);
        assert_eq!(s.prune(Prune::Scans, cut, 500).await.unwrap(), 0, "{}", b.name);
        for gone in [&sees_again, &failed, &older_score] {
            assert!(matches!(s.get_scan(&acc, gone).await, Err(StoreError::NotFound)), "{}: {gone}", b.name);
        }
        for kept in [&detects, &resolves, &running, &baseline] {
            s.get_scan(&acc, kept).await.unwrap_or_else(|e| panic!("{}: {kept}: {e}", b.name));
        }
        let open = ViolationFilter::default();
        let violations = s.list_violations(&acc, &web, open, Page { limit: 10, cursor: None }).await.unwrap();
        assert_eq!(violations.items.len(), 1, "{}: violations are never pruned", b.name);
        let (_, history) = s.get_violation(&acc, &violations.items[0].id).await.unwrap();
        assert_eq!(history.len(), 2, "{}", b.name);
    }
}

/// A periodic job runs on one node at a time: its lease has one holder, who renews it,
/// and another node takes over only once it expired.
#[tokio::test]
async fn a_job_lease_has_one_holder_at_a_time() {
    for b in backends().await {
        let store = b.store.clone();
        let at = |secs: i64| t0() + Duration::seconds(secs);
        let asks = (0..8).map(|i| {
            let s = store.clone();
            tokio::spawn(async move { s.lease_job("sweeper", &format!("node-{i}"), at(0), at(10)).await })
        });
        let mut holders = 0;
        for ask in asks {
            holders += usize::from(ask.await.unwrap().unwrap());
        }
        assert_eq!(holders, 1, "{}", b.name);
        let mut holder = None;
        for node in (0..8).map(|i| format!("node-{i}")) {
            if store.lease_job("sweeper", &node, at(5), at(15)).await.unwrap() {
                assert!(holder.replace(node).is_none(), "{}: one holder renews", b.name);
            }
        }
        let holder = holder.expect("the holder renews its lease");
        let other = if holder == "node-0" { "node-1" } else { "node-0" };
        assert!(!store.lease_job("sweeper", other, at(14), at(24)).await.unwrap(), "{}: still held", b.name);
        assert!(store.lease_job("retention", other, at(14), at(24)).await.unwrap(), "{}: jobs are apart", b.name);
        assert!(store.lease_job("sweeper", other, at(15), at(25)).await.unwrap(), "{}: expired, taken over", b.name);
        assert!(!store.lease_job("sweeper", &holder, at(16), at(26)).await.unwrap(), "{}: lost it", b.name);
    }
}

/// Scans of one project completed at once, all finding the same violations (more than a
/// unit's worth, so their units interleave): none of them resolves what the others saw.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_completions_of_one_project_resolve_nothing_that_was_found() {
    use scanhook_core::scan::Severity;
    for b in backends().await {
        let store = b.store.clone();
        let acc = account(store.as_ref(), "a").await;
        let stamp = EventStamp { timestamp: t0(), first_attempt_at: t0(), trace_parent: None };
        let project = NewProject {
            id: scanhook_core::ProjectId::generate(),
            name: "p".into(),
            target: None,
            score_drop_threshold: 10,
            scan_time_limit_secs: 600,
        };
        let project = store.create_project(&acc, project, stamp).await.unwrap().id;
        let start = async || {
            let new = NewScan {
                id: scanhook_core::ScanId::generate(),
                project_id: project.clone(),
                target: None,
                rules: Vec::new(),
                time_limit_secs: None,
                analysis: Default::default(),
                root: None,
            };
            store.start_scan(&acc, new, stamp).await.unwrap().id
        };
        let first = start().await;
        let report = || ScanReport { findings: findings(0..3_000, Severity::Low), ..Default::default() };
        store.complete_scan(&acc, &first, report(), stamp).await.unwrap();
        let mut scans = Vec::new();
        for _ in 0..3 {
            scans.push(start().await);
        }
        let completions = scans.into_iter().map(|scan| {
            let (s, acc, report) = (store.clone(), acc.clone(), report());
            tokio::spawn(async move { s.complete_scan(&acc, &scan, report, stamp).await })
        });
        for done in completions {
            assert_eq!(done.await.unwrap().unwrap().resolved, 0, "{}", b.name);
        }
        let open = ViolationFilter { open: Some(true), ..Default::default() };
        let page = Page { limit: 5_000, cursor: None };
        let listed = store.list_violations(&acc, &project, open, page).await.unwrap().items.len();
        assert_eq!(listed, 3_000, "{}", b.name);
    }
}

/// An attempt of `claimed` started at `at`, taking `latency_ms`, with this answer.
fn timed_attempt(claimed: &Claimed, at: DateTime<Utc>, latency_ms: u64, status: Option<u16>) -> Completion {
    let failed = status.is_none_or(|s| !(200..300).contains(&s));
    let error =
        failed.then(|| status.map_or("connection failed".to_string(), |s| format!("endpoint answered HTTP {s}")));
    Completion {
        delivery_id: claimed.delivery_id.clone(),
        webhook_id: claimed.webhook.id.clone(),
        attempt: Some(Attempt { started_at: at, latency_ms, status_code: status, error, ..attempt(claimed, 200) }),
        outcome: if failed { Outcome::RetryAt(t0() + Duration::hours(1)) } else { Outcome::Succeeded },
        note: None,
        endpoint: None,
    }
}

#[tokio::test]
async fn an_endpoints_activity_counts_its_windows_samples_its_newest_attempts_and_finds_its_last_failure() {
    for b in backends().await {
        let s = b.store.as_ref();
        let acc = account(s, "a").await;
        let (hook, other_hook) = (webhook(s, &acc, &["*"]).await, webhook(s, &acc, &["*"]).await);
        let since = vec![t0() - Duration::hours(1), t0() - Duration::hours(24)];
        let empty = s.webhook_activity(&acc, &hook.id, since.clone(), t0(), 10).await.unwrap();
        assert_eq!(empty.counts, vec![Default::default(); 2], "{}", b.name);
        assert!(empty.recent.is_empty() && empty.last_failure.is_none() && empty.last_delivery.is_none());

        for _ in 0..6 {
            s.ingest_event(&acc, event("scan.completed", None), t0()).await.unwrap();
        }
        let claimed = s.claim_due("w", t0(), t0() + Duration::seconds(60), 20).await.unwrap();
        let (mine, theirs): (Vec<_>, Vec<_>) = claimed.iter().partition(|c| c.webhook.id == hook.id);
        let ago = |secs: i64| t0() - Duration::seconds(secs);
        // Oldest first: outside both windows, in the day only, then in the hour; one in the future.
        let plan = [
            (ago(2 * 86_400), 5000, Some(500)),
            (ago(7200), 50, Some(200)),
            (ago(1800), 300, Some(500)),
            (ago(600), 100, Some(204)),
            (ago(60), 900, None),
            (t0() + Duration::seconds(5), 1, Some(200)),
        ];
        let mut outcomes: Vec<_> =
            mine.iter().zip(plan).map(|(c, (at, ms, st))| timed_attempt(c, at, ms, st)).collect();
        outcomes.extend(theirs.iter().map(|c| timed_attempt(c, ago(30), 7, Some(500))));
        s.complete("w", outcomes, 100, t0()).await.unwrap();

        let activity = s.webhook_activity(&acc, &hook.id, since.clone(), t0(), 3).await.unwrap();
        let counts: Vec<(u64, u64)> = activity.counts.iter().map(|c| (c.attempts, c.failures)).collect();
        assert_eq!(counts, vec![(3, 2), (4, 2)], "{}: windows end at now; the other endpoint is not counted", b.name);
        let recent: Vec<(u64, bool)> = activity.recent.iter().map(|a| (a.latency_ms, a.failed)).collect();
        assert_eq!(recent, vec![(900, true), (100, false), (300, true)], "{}: the newest 3, newest first", b.name);
        assert_eq!(activity.recent[0].started_at, ago(60));
        let failure = activity.last_failure.expect("a failure");
        assert_eq!((failure.started_at, failure.status_code), (ago(60), None), "{}", b.name);
        assert_eq!(failure.error.as_deref(), Some("connection failed"));
        let newest = mine.iter().map(|c| c.delivery_id.clone()).max().unwrap();
        assert_eq!(activity.last_delivery.map(|d| d.id), Some(newest), "{}", b.name);

        // The same figures whatever the backend: the stats are computed in core from these.
        let hour = scanhook_core::stats::window(since[0], activity.counts[0], &activity.recent);
        assert_eq!((hour.success_rate, hour.p50_ms, hour.p95_ms), (Some(0.3333), Some(300), Some(900)));

        let other = account(s, "b").await;
        let foreign = s.webhook_activity(&other, &hook.id, since.clone(), t0(), 3).await;
        assert!(matches!(foreign, Err(StoreError::NotFound)), "{}", b.name);
        let theirs = s.webhook_activity(&acc, &other_hook.id, since, t0(), 10).await.unwrap();
        assert_eq!(theirs.counts[0].failures, 6, "{}", b.name);
    }
}

#[tokio::test]
async fn deliveries_filter_by_event_type_and_time_and_scans_list_by_project_and_status() {
    for b in backends().await {
        let s = b.store.as_ref();
        let acc = account(s, "a").await;
        webhook(s, &acc, &["*"]).await;
        for (i, t) in ["scan.completed", "alert.triggered", "scan.completed"].iter().enumerate() {
            s.ingest_event(&acc, event(t, None), t0() + Duration::seconds(i as i64)).await.unwrap();
        }
        let page = Page { limit: 10, cursor: None };
        let acc_ref = &acc;
        let list = |filter: DeliveryFilter| async move {
            let items = s.list_deliveries(acc_ref, filter, Page { limit: 10, cursor: None }).await.unwrap().items;
            items.iter().map(|d| (d.event_type.to_string(), d.created_at)).collect::<Vec<_>>()
        };
        let completed =
            DeliveryFilter { event_type: Some(EventType::parse("scan.completed").unwrap()), ..Default::default() };
        let at = |i: i64| t0() + Duration::seconds(i);
        let scan_completed = "scan.completed".to_string();
        assert_eq!(list(completed).await, vec![(scan_completed.clone(), at(2)), (scan_completed.clone(), at(0))]);
        let window = DeliveryFilter { since: Some(at(1)), until: Some(at(2)), ..Default::default() };
        assert_eq!(list(window).await, vec![("alert.triggered".to_string(), at(1))], "{}: since ≤ t < until", b.name);
        let later = DeliveryFilter { since: Some(at(1)), ..Default::default() };
        assert_eq!(list(later).await.len(), 2, "{}", b.name);

        let stamp = EventStamp { timestamp: t0(), first_attempt_at: t0(), trace_parent: None };
        let project = NewProject {
            id: scanhook_core::ProjectId::generate(),
            name: "web".into(),
            target: None,
            score_drop_threshold: 10,
            scan_time_limit_secs: 600,
        };
        let project = s.create_project(&acc, project, stamp).await.unwrap();
        let mut started = Vec::new();
        for _ in 0..3 {
            let new = NewScan {
                id: scanhook_core::ScanId::generate(),
                project_id: project.id.clone(),
                target: None,
                rules: vec![],
                time_limit_secs: None,
                analysis: Default::default(),
                root: None,
            };
            started.push(s.start_scan(&acc, new, stamp).await.unwrap().id);
        }
        s.fail_scan(&acc, &started[1], ("E".into(), "boom".into()), stamp).await.unwrap();
        let first =
            s.list_scans(&acc, &project.id, ScanFilter::default(), Page { limit: 2, cursor: None }).await.unwrap();
        let ids: Vec<_> = first.items.iter().map(|s| s.id.clone()).collect();
        // IDs are ULIDs: two made in one millisecond are ordered by their random part, so
        // "newest first" is the IDs' order, not the order of the calls.
        let mut newest = started.clone();
        newest.sort_by(|a, b| b.as_str().cmp(a.as_str()));
        assert_eq!(ids, newest[..2].to_vec(), "{}: newest first", b.name);
        let rest = Page { limit: 2, cursor: first.next_cursor.clone() };
        let rest = s.list_scans(&acc, &project.id, ScanFilter::default(), rest).await.unwrap();
        assert_eq!((rest.items.len(), rest.next_cursor), (1, None), "{}", b.name);
        let failed = ScanFilter { status: Some(ScanStatus::Failed) };
        let failed = s.list_scans(&acc, &project.id, failed, page.clone()).await.unwrap().items;
        assert_eq!(failed.iter().map(|s| s.id.clone()).collect::<Vec<_>>(), vec![started[1].clone()], "{}", b.name);
        let other = account(s, "b").await;
        let foreign = s.list_scans(&other, &project.id, ScanFilter::default(), page).await;
        assert!(matches!(foreign, Err(StoreError::NotFound)), "{}", b.name);
    }
}

/// On PostgreSQL, every statement the store runs — every list with every filter, the
/// delivery path, scans from start to end, deletes and their cascades, retention — can be
/// served by an index: with sequential scans priced out of the planner's choices
/// (`enable_seqscan = off` for the database), the statistics show no table that grows
/// with use read from end to end. (SQLite's plans are checked statement by statement in
/// `src/sqlite/plans.rs`.)
#[tokio::test]
async fn on_postgresql_every_statement_can_use_an_index() {
    use scanhook_core::audit::AuditAction;
    use scanhook_core::scan::Severity;
    let Some(database) = TestDatabase::create().await else { return };
    let (admin, connection) = database.config.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let name: String = admin.query_one("SELECT current_database()", &[]).await.unwrap().get(0);
    admin.batch_execute(&format!("ALTER DATABASE {name} SET enable_seqscan = off")).await.unwrap();
    let key = scanhook_store::SecretBox::random();
    let connect = || PostgresStore::connect_config(database.config.clone(), 2, key.clone());
    // Migrations read whole tables (while they are empty): they run first, apart, and
    // only what the store does afterwards counts.
    drop(connect().await.unwrap());
    let before = settled_table_reads(&admin, None).await;
    let store = connect().await.unwrap();
    let s: &dyn Store = &store;

    let stamp = EventStamp { timestamp: t0(), first_attempt_at: t0(), trace_parent: None };
    let page = || Page { limit: 50, cursor: None };
    let later = || Page { limit: 50, cursor: Some("zzz".into()) };
    s.ensure_default_account(t0()).await.unwrap();
    let acc = account(s, "a").await;
    s.get_account(&acc).await.unwrap();
    s.list_accounts(page()).await.unwrap();
    s.list_accounts(later()).await.unwrap();
    s.list_api_keys(&acc).await.unwrap();
    s.find_key_owner("hash-a").await.unwrap();
    let hook = webhook(s, &acc, &["*"]).await;
    let spare = webhook(s, &acc, &["scan.*"]).await;
    s.get_webhook(&acc, &hook.id).await.unwrap();
    s.list_webhooks(&acc, later()).await.unwrap();
    let patch = WebhookPatch { description: Some(Some("d".into())), ..Default::default() };
    s.update_webhook(&acc, &hook.id, patch, t0()).await.unwrap();
    s.rotate_webhook_secret(&acc, &hook.id, WebhookSecret::generate(), t0(), t0()).await.unwrap();

    for key in [Some(("k1", "h1")), Some(("k1", "h1")), None, None] {
        s.ingest_event(&acc, event("scan.completed", key), t0()).await.unwrap();
    }
    // A rate limit (the claim draws from the endpoint's bucket) and an endpoint passed over.
    let format = scanhook_core::format::DeliveryFormat { rate_limit: Some(1000), ..Default::default() };
    let patch = WebhookPatch { format: Some(format), ..Default::default() };
    s.update_webhook(&acc, &hook.id, patch, t0()).await.unwrap();
    let passed = WebhookId::generate();
    let limits = ClaimLimits { skip: vec![passed.clone()], ..Default::default() };
    let claimed = s.claim("w", t0(), t0() + Duration::seconds(60), 10, limits).await.unwrap().items;
    assert!(claimed.len() >= 4, "every outcome below is recorded");
    let ids: Vec<_> = claimed.iter().map(|c| c.delivery_id.clone()).collect();
    s.renew_leases("w", ids.clone(), t0() + Duration::seconds(90)).await.unwrap();
    s.next_due_except(vec![passed], None).await.unwrap();
    s.release("w", ids[..1].to_vec(), t0()).await.unwrap();
    let outcomes = [
        (Outcome::Succeeded, None),
        (Outcome::RetryAt(t0()), Some(EndpointAction::PauseUntil(t0() + Duration::seconds(1)))),
        (Outcome::Dead { counts_as_failure: true }, Some(EndpointAction::Disable("gone".into()))),
        (Outcome::Wait(t0()), None),
    ];
    let done = claimed
        .iter()
        .zip(outcomes)
        .map(|(c, (outcome, endpoint))| Completion {
            delivery_id: c.delivery_id.clone(),
            webhook_id: c.webhook.id.clone(),
            attempt: Some(attempt(c, 500)),
            outcome,
            note: None,
            endpoint,
        })
        .collect();
    s.complete("w", done, 1, t0()).await.unwrap();
    s.next_due_at().await.unwrap();
    let dead = s
        .list_deliveries(&acc, DeliveryFilter { status: Some(DeliveryStatus::Dead), ..Default::default() }, page())
        .await
        .unwrap()
        .items;
    for d in &dead {
        s.get_delivery(&acc, &d.id).await.unwrap();
        s.retry_delivery(&acc, &d.id, t0()).await.unwrap();
    }
    s.replay_dead(&acc, &hook.id, Some(t0()), t0()).await.unwrap();
    s.replay_dead(&acc, &hook.id, None, t0()).await.unwrap();
    s.enable_webhook(&acc, &hook.id, Missed::Replay, t0()).await.unwrap();
    s.enable_webhook(&acc, &hook.id, Missed::GiveUp("skipped".into()), t0()).await.unwrap();
    let event_id = s.list_events(&acc, EventFilter::default(), page()).await.unwrap().items[0].id.clone();
    s.get_event(&acc, &event_id).await.unwrap();
    let windows = vec![t0() - Duration::hours(1), t0() - Duration::hours(24)];
    s.webhook_activity(&acc, &hook.id, windows, t0(), 100).await.unwrap();
    let event_type = EventType::parse("scan.completed").unwrap();
    for webhook_id in [None, Some(hook.id.clone())] {
        for event_id in [None, Some(event_id.clone())] {
            for status in [None, Some(DeliveryStatus::Pending)] {
                for event_type in [None, Some(event_type.clone())] {
                    for (since, until) in
                        [(None, None), (Some(t0()), None), (None, Some(t0())), (Some(t0()), Some(t0()))]
                    {
                        for page in [page(), later()] {
                            let filter = DeliveryFilter {
                                webhook_id: webhook_id.clone(),
                                event_id: event_id.clone(),
                                status,
                                event_type: event_type.clone(),
                                since,
                                until,
                            };
                            s.list_deliveries(&acc, filter, page).await.unwrap();
                        }
                    }
                }
            }
        }
    }

    let project = NewProject {
        id: scanhook_core::ProjectId::generate(),
        name: "web".into(),
        target: None,
        score_drop_threshold: 10,
        scan_time_limit_secs: 600,
    };
    let project = s.create_project(&acc, project, stamp).await.unwrap().id;
    for project_id in [None, Some(project.clone())] {
        for event_type in [None, Some(EventType::parse("scan.completed").unwrap())] {
            for since in [None, Some(t0())] {
                for until in [None, Some(t0())] {
                    for page in [page(), later()] {
                        let filter = EventFilter {
                            event_type: event_type.clone(),
                            project_id: project_id.clone(),
                            since,
                            until,
                        };
                        s.list_events(&acc, filter, page).await.unwrap();
                    }
                }
            }
        }
    }
    s.get_project(&acc, &project).await.unwrap();
    s.list_projects(&acc, later()).await.unwrap();
    s.update_project(&acc, &project, ProjectPatch { name: Some("web2".into()), ..Default::default() }, t0())
        .await
        .unwrap();
    let scan = || NewScan {
        id: scanhook_core::ScanId::generate(),
        project_id: project.clone(),
        target: None,
        rules: Vec::new(),
        time_limit_secs: Some(1),
        analysis: Default::default(),
        root: None,
    };
    for found in [0..20, 0..10] {
        let started = s.start_scan(&acc, scan(), stamp).await.unwrap();
        let progress =
            ScanProgress { percent: 50, files_scanned: Some(1), message: None, min_interval: Duration::seconds(0) };
        s.record_progress(&acc, &started.id, progress, stamp).await.unwrap();
        s.get_scan(&acc, &started.id).await.unwrap();
        let report = ScanReport { findings: findings(found, Severity::High), ..Default::default() };
        s.complete_scan(&acc, &started.id, report, stamp).await.unwrap();
    }
    let failed = s.start_scan(&acc, scan(), stamp).await.unwrap();
    s.fail_scan(&acc, &failed.id, ("crashed".into(), "it broke".into()), stamp).await.unwrap();
    s.start_scan(&acc, scan(), stamp).await.unwrap();
    let overdue = EventStamp { timestamp: t0() + Duration::seconds(10), first_attempt_at: t0(), trace_parent: None };
    s.time_out_scans(overdue, 10).await.unwrap();
    for status in [None, Some(ScanStatus::Failed)] {
        for page in [page(), later()] {
            s.list_scans(&acc, &project, ScanFilter { status }, page).await.unwrap();
        }
    }
    for open in [None, Some(true), Some(false)] {
        for severity in [None, Some(Severity::High)] {
            for tool in [None, Some("semgrep".to_string())] {
                for page in [page(), later()] {
                    let filter = ViolationFilter { open, severity, tool: tool.clone() };
                    s.list_violations(&acc, &project, filter, page).await.unwrap();
                }
            }
        }
    }
    s.count_violations(&acc, &project).await.unwrap();
    let open = ViolationFilter { open: Some(true), ..Default::default() };
    let violation = s.list_violations(&acc, &project, open, page()).await.unwrap().items[0].id.clone();
    s.get_violation(&acc, &violation).await.unwrap();
    s.resolve_violation(&acc, &violation, "me".into(), stamp).await.unwrap();

    let key = ApiKeyId::generate();
    let entry = AuditEntry {
        id: scanhook_core::AuditEntryId::generate(),
        account_id: acc.clone(),
        key_id: key,
        at: t0(),
        action: AuditAction::WebhookCreated,
        target_id: hook.id.as_str().into(),
        changes: Default::default(),
    };
    s.record_audit(entry).await.unwrap();
    for action in [None, Some(AuditAction::WebhookCreated)] {
        for target_id in [None, Some(hook.id.as_str().to_string())] {
            for (since, until) in [(None, None), (Some(t0()), None), (None, Some(t0())), (Some(t0()), Some(t0()))] {
                for page in [page(), later()] {
                    let filter = AuditFilter { action, target_id: target_id.clone(), since, until };
                    s.list_audit(&acc, filter, page).await.unwrap();
                }
            }
        }
    }
    s.lease_job("sweeper", "w", t0(), t0() + Duration::seconds(10)).await.unwrap();
    let far = t0() + Duration::days(400);
    for step in scanhook_core::retention::Prune::ALL {
        s.prune(step, far, 500).await.unwrap();
    }
    s.delete_webhook(&acc, &spare.id).await.unwrap();
    s.delete_project(&acc, &project, stamp).await.unwrap();
    drop(store);

    let after = settled_table_reads(&admin, Some(&before)).await;
    let read_whole: Vec<_> = after.iter().filter(|(table, (seq, _))| before[*table].0 < *seq).collect();
    assert!(read_whole.is_empty(), "tables read from end to end (sequential scans, index scans): {read_whole:?}");
    assert_eq!(after.len(), 8, "every table of the check exists: {after:?}");
}

/// Sequential and index scans of the tables that grow with use, once the statistics have
/// settled (they reach the shared view when sessions end): as long as they keep changing,
/// or while they are still `unlike` an earlier reading.
async fn settled_table_reads(
    admin: &tokio_postgres::Client,
    unlike: Option<&HashMap<String, (i64, i64)>>,
) -> HashMap<String, (i64, i64)> {
    let query = "SELECT relname::text, seq_scan, COALESCE(idx_scan, 0) FROM pg_stat_user_tables
                 WHERE relname IN ('accounts', 'events', 'deliveries', 'attempts', 'scans', 'violations', 'violation_history', 'audit_log')";
    let read = async || -> HashMap<String, (i64, i64)> {
        let rows = admin.query(query, &[]).await.unwrap();
        rows.iter().map(|r| (r.get(0), (r.get(1), r.get(2)))).collect()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut last = read().await;
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let now = read().await;
        if now == last && unlike.is_none_or(|earlier| *earlier != now) {
            return now;
        }
        assert!(std::time::Instant::now() < deadline, "the statistics did not settle");
        last = now;
    }
}

#[tokio::test]
async fn events_list_by_project_violations_count_exactly_and_the_audit_log_lists_by_time() {
    use scanhook_core::audit::AuditAction;
    use scanhook_core::scan::Severity;
    for b in backends().await {
        let s = b.store.as_ref();
        let acc = account(s, "a").await;
        let stamp = EventStamp { timestamp: t0(), first_attempt_at: t0(), trace_parent: None };
        let mut projects = Vec::new();
        for name in ["web", "api"] {
            let new = NewProject {
                id: scanhook_core::ProjectId::generate(),
                name: name.into(),
                target: None,
                score_drop_threshold: 10,
                scan_time_limit_secs: 600,
            };
            projects.push(s.create_project(&acc, new, stamp).await.unwrap().id);
        }
        s.ingest_event(&acc, event("scan.completed", None), t0()).await.unwrap();
        let scan = NewScan {
            id: scanhook_core::ScanId::generate(),
            project_id: projects[0].clone(),
            target: None,
            rules: vec![],
            time_limit_secs: None,
            analysis: Default::default(),
            root: None,
        };
        let scan = s.start_scan(&acc, scan, stamp).await.unwrap();
        let mut found = findings(0..3, Severity::High);
        found.extend(findings(3..4, Severity::Low));
        let report = ScanReport { findings: found, ..Default::default() };
        s.complete_scan(&acc, &scan.id, report, stamp).await.unwrap();

        let page = Page { limit: 100, cursor: None };
        let of = |project: &scanhook_core::ProjectId, t: Option<&str>| EventFilter {
            project_id: Some(project.clone()),
            event_type: t.map(|t| EventType::parse(t).unwrap()),
            ..Default::default()
        };
        let web = s.list_events(&acc, of(&projects[0], None), page.clone()).await.unwrap().items;
        let types: Vec<&str> = web.iter().map(|e| e.event_type.as_str()).collect();
        assert!(types.contains(&"project.created") && types.contains(&"scan.started"), "{}: {types:?}", b.name);
        assert!(types.contains(&"scan.completed") && types.contains(&"violation.detected"), "{}: {types:?}", b.name);
        assert_eq!(types.iter().filter(|t| **t == "scan.completed").count(), 1, "{}: not the producer's", b.name);
        let api = s.list_events(&acc, of(&projects[1], None), page.clone()).await.unwrap().items;
        assert_eq!(api.iter().map(|e| e.event_type.as_str()).collect::<Vec<_>>(), ["project.created"], "{}", b.name);
        let detected = s.list_events(&acc, of(&projects[0], Some("violation.detected")), page.clone()).await.unwrap();
        assert_eq!(detected.items.len(), 4, "{}", b.name);
        let other = account(s, "b").await;
        assert!(s.list_events(&other, of(&projects[0], None), page.clone()).await.unwrap().items.is_empty());

        let counts = s.count_violations(&acc, &projects[0]).await.unwrap();
        let open: Vec<_> = counts.open.iter().map(|(s, n)| (*s, *n)).collect();
        assert_eq!((open, counts.resolved), (vec![(Severity::Low, 1), (Severity::High, 3)], 0), "{}", b.name);
        let open = ViolationFilter { open: Some(true), severity: Some(Severity::Low), ..Default::default() };
        let low = s.list_violations(&acc, &projects[0], open, page.clone()).await.unwrap().items[0].id.clone();
        s.resolve_violation(&acc, &low, "me".into(), stamp).await.unwrap();
        let counts = s.count_violations(&acc, &projects[0]).await.unwrap();
        assert_eq!((counts.open.len(), counts.resolved), (1, 1), "{}", b.name);
        assert_eq!(s.count_violations(&acc, &projects[1]).await.unwrap(), ViolationCounts::default());
        assert!(matches!(s.count_violations(&other, &projects[0]).await, Err(StoreError::NotFound)), "{}", b.name);

        for i in 0..3 {
            let entry = AuditEntry {
                id: scanhook_core::AuditEntryId::generate(),
                account_id: acc.clone(),
                key_id: ApiKeyId::generate(),
                at: t0() + Duration::seconds(i),
                action: AuditAction::WebhookCreated,
                target_id: format!("wh_{i}"),
                changes: Default::default(),
            };
            s.record_audit(entry).await.unwrap();
        }
        let window = AuditFilter {
            since: Some(t0() + Duration::seconds(1)),
            until: Some(t0() + Duration::seconds(2)),
            ..Default::default()
        };
        let listed = s.list_audit(&acc, window, page.clone()).await.unwrap().items;
        assert_eq!(
            listed.iter().map(|e| e.target_id.as_str()).collect::<Vec<_>>(),
            ["wh_1"],
            "{}: since ≤ at < until",
            b.name
        );
        let later = AuditFilter { since: Some(t0() + Duration::seconds(1)), ..Default::default() };
        assert_eq!(s.list_audit(&acc, later, page).await.unwrap().items.len(), 2, "{}", b.name);
    }
}

#[tokio::test]
async fn an_events_trace_parent_comes_with_its_claimed_deliveries() {
    const TRACE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    for b in backends().await {
        let s = b.store.as_ref();
        let acc = account(s, "a").await;
        webhook(s, &acc, &["*"]).await;
        let traced = NewEvent { trace_parent: Some(TRACE.into()), ..event("scan.completed", None) };
        let traced = created(s.ingest_event(&acc, traced, t0()).await.unwrap());
        s.ingest_event(&acc, event("scan.completed", None), t0()).await.unwrap();
        let claim = s.claim("w1", t0(), t0() + Duration::seconds(60), 10, ClaimLimits::default()).await.unwrap();
        let got: Vec<_> = claim.items.iter().map(|c| (c.event.id == traced.id, c.trace_parent.clone())).collect();
        assert_eq!(got.len(), 2, "{}", b.name);
        for (is_traced, trace_parent) in got {
            assert_eq!(trace_parent.as_deref(), is_traced.then_some(TRACE), "{}", b.name);
        }
    }
}
