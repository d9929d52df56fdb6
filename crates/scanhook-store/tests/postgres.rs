//! What only the PostgreSQL backend has to show: several nodes opening one new database at
//! once (migrations under an advisory lock), and a start with another encryption key
//! refused. Skipped, saying so, where no server answers (`support`).

use scanhook_store::SecretBox;
use scanhook_store::postgres::PostgresStore;

mod support;
use support::TestDatabase;

#[tokio::test]
async fn nodes_opening_a_new_database_at_once_migrate_it_once() {
    let Some(db) = TestDatabase::create().await else { return };
    let key = SecretBox::from_base64(&SecretBox::generate_key()).unwrap();
    let opens = (0..6).map(|_| {
        let (config, key) = (db.config.clone(), key.clone());
        tokio::spawn(async move { PostgresStore::connect_config(config, 2, key).await })
    });
    for open in opens {
        open.await.unwrap().expect("every node opens the database");
    }
    let (client, connection) = db.config.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let versions: i64 = client.query_one("SELECT COUNT(*) FROM schema_version", &[]).await.unwrap().get(0);
    let checks: i64 = client.query_one("SELECT COUNT(*) FROM meta WHERE name = 'key_check'", &[]).await.unwrap().get(0);
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres")).unwrap().count();
    assert_eq!((versions, checks), (migrations as i64, 1));
}

#[tokio::test]
async fn another_encryption_key_is_refused_before_anything_is_read() {
    let Some(db) = TestDatabase::create().await else { return };
    PostgresStore::connect_config(db.config.clone(), 1, SecretBox::random()).await.unwrap();
    let refused = PostgresStore::connect_config(db.config.clone(), 1, SecretBox::random()).await;
    let err = refused.err().expect("another key is refused").to_string();
    assert!(err.contains("SCANHOOK_ENCRYPTION_KEY"), "{err}");
}

/// An endpoint of every event.
fn any_endpoint() -> scanhook_store::NewWebhook {
    scanhook_store::NewWebhook {
        id: scanhook_core::WebhookId::generate(),
        url: scanhook_core::WebhookUrl::parse("https://example.com/hook").unwrap(),
        description: None,
        events: vec!["*".into()],
        secret: scanhook_core::WebhookSecret::generate(),
        headers: Default::default(),
        active: true,
        projects: Vec::new(),
        min_severity: None,
        format: Default::default(),
    }
}

/// A node's listener hears work another node made due (once that unit commits), so an
/// idle dispatcher wakes at once instead of at its next poll.
#[tokio::test]
async fn an_idle_node_hears_deliveries_another_node_made_due() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use chrono::Utc;
    use scanhook_core::{AccountId, ApiKeyId, EventId, EventType};
    use scanhook_store::*;

    let Some(db) = TestDatabase::create().await else { return };
    let key = SecretBox::from_base64(&SecretBox::generate_key()).unwrap();
    let idle = PostgresStore::connect_config(db.config.clone(), 1, key.clone()).await.unwrap();
    let busy = PostgresStore::connect_config(db.config.clone(), 1, key).await.unwrap();
    let (woken, wakes) = (Arc::new(tokio::sync::Notify::new()), Arc::new(AtomicUsize::new(0)));
    let (w, n) = (woken.clone(), wakes.clone());
    let listener = idle.listen_for_work(move || {
        n.fetch_add(1, Ordering::SeqCst);
        w.notify_one();
    });
    let heard = |what: &'static str| {
        let woken = woken.clone();
        async move { tokio::time::timeout(Duration::from_secs(5), woken.notified()).await.expect(what) }
    };
    heard("the listener wakes its node once it listens").await;
    assert_eq!(wakes.load(Ordering::SeqCst), 1);

    let now = Utc::now();
    let api_key = NewApiKey { id: ApiKeyId::generate(), name: "k".into(), key_hash: "h".into(), prefix: "p".into() };
    let acc = busy.create_account(NewAccount { id: AccountId::generate(), name: "a".into() }, api_key, now);
    let acc = acc.await.unwrap().id;
    busy.create_webhook(&acc, any_endpoint(), 10, now).await.unwrap();
    assert_eq!(wakes.load(Ordering::SeqCst), 1, "nothing is due yet");
    let event = NewEvent {
        id: EventId::generate(),
        event_type: EventType::parse("scan.completed").unwrap(),
        timestamp: now,
        data: "{}".into(),
        target: None,
        idempotency: None,
        first_attempt_at: now,
        scope: EventScope::default(),
    };
    busy.ingest_event(&acc, event, now).await.unwrap();
    heard("an ingest on another node wakes this one").await;
    listener.abort();
}

/// Each table's sequential and index scans so far, and each index's.
async fn scan_counters(client: &tokio_postgres::Client) -> std::collections::BTreeMap<String, i64> {
    client.batch_execute("SELECT pg_stat_clear_snapshot()").await.unwrap();
    let tables = client
        .query(
            "SELECT 'seq ' || relname, seq_scan FROM pg_stat_user_tables UNION ALL \
                SELECT 'idx ' || indexrelname, idx_scan FROM pg_stat_user_indexes",
            &[],
        )
        .await
        .unwrap();
    tables.iter().map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1))).collect()
}

/// The counters once they have settled: a server reports a session's counts some time
/// after its statements ran, so they are read until unchanged for 1.5 s.
async fn settled_counters(client: &tokio_postgres::Client) -> std::collections::BTreeMap<String, i64> {
    let mut last = scan_counters(client).await;
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        let now = scan_counters(client).await;
        if now == last {
            return now;
        }
        last = now;
    }
}

/// The dashboard's reads are served by indexes on PostgreSQL too. With sequential scans
/// priced out for the test database (as `enable_seqscan = off` does: the planner still
/// takes one where no index can serve), the real store runs an endpoint's stats, a
/// project's scans and the delivery log's new filters; the server's counters then show
/// the indexes made for them used, and no sequential scan of attempts, deliveries or scans.
#[tokio::test]
async fn the_dashboards_reads_are_served_by_indexes() {
    use chrono::{Duration, Utc};
    use scanhook_core::*;
    use scanhook_store::*;

    let Some(db) = TestDatabase::create().await else { return };
    let (admin, connection) = db.config.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let name = db.config.get_dbname().unwrap().to_string();
    admin.batch_execute(&format!("ALTER DATABASE {name} SET enable_seqscan = off")).await.unwrap();
    // The migrations build indexes and fill columns, which scans tables: in sessions of
    // their own, which report everything they counted when they end.
    let key = SecretBox::random();
    drop(PostgresStore::connect_config(db.config.clone(), 1, key.clone()).await.unwrap());
    let store = PostgresStore::connect_config(db.config.clone(), 2, key).await.unwrap();
    let migrated = settled_counters(&admin).await;

    let now = Utc::now();
    let key = NewApiKey { id: ApiKeyId::generate(), name: "k".into(), key_hash: "h".into(), prefix: "p".into() };
    let acc = store.create_account(NewAccount { id: AccountId::generate(), name: "a".into() }, key, now).await;
    let acc = acc.unwrap().id;
    let hook = store.create_webhook(&acc, any_endpoint(), 10, now).await.unwrap().id;
    let stamp = EventStamp { timestamp: now, first_attempt_at: now };
    let project = NewProject {
        id: ProjectId::generate(),
        name: "web".into(),
        target: None,
        score_drop_threshold: 10,
        scan_time_limit_secs: 60,
    };
    let project = store.create_project(&acc, project, stamp).await.unwrap().id;
    let scan = NewScan {
        id: ScanId::generate(),
        project_id: project.clone(),
        target: None,
        rules: vec![],
        time_limit_secs: None,
        analysis: Default::default(),
        root: None,
    };
    store.start_scan(&acc, scan, stamp).await.unwrap();
    let claimed = store.claim_due("w", now, now + Duration::seconds(60), 10).await.unwrap();
    let completions = claimed
        .iter()
        .map(|c| Completion {
            delivery_id: c.delivery_id.clone(),
            webhook_id: c.webhook.id.clone(),
            attempt: Some(Attempt {
                id: AttemptId::generate(),
                delivery_id: c.delivery_id.clone(),
                number: 1,
                started_at: now,
                latency_ms: 5,
                status_code: Some(500),
                error: Some("endpoint answered HTTP 500".into()),
                request_headers: vec![],
                request_body: None,
                response_headers: vec![],
                response_body: None,
            }),
            outcome: Outcome::Dead { counts_as_failure: true },
            note: None,
        })
        .collect();
    store.complete("w", completions, 100, now).await.unwrap();
    let before = settled_counters(&admin).await;
    // The delivery path above does not walk the attempt log either.
    assert_eq!(before["seq attempts"], migrated["seq attempts"], "the delivery path scanned attempts");

    let page = Page { limit: 10, cursor: None };
    let activity = store.webhook_activity(&acc, &hook, vec![now - Duration::hours(1)], now, 100).await.unwrap();
    assert_eq!(activity.counts[0].failures, 2, "project.created and scan.started, each failed once");
    for status in [None, Some(ScanStatus::Running)] {
        store.list_scans(&acc, &project, ScanFilter { status }, page.clone()).await.unwrap();
    }
    let filters = [
        DeliveryFilter { event_type: Some(EventType::parse("scan.started").unwrap()), ..Default::default() },
        DeliveryFilter { since: Some(now), until: Some(now + Duration::seconds(1)), ..Default::default() },
        DeliveryFilter { webhook_id: Some(hook.clone()), since: Some(now), ..Default::default() },
    ];
    for filter in filters {
        assert!(!store.list_deliveries(&acc, filter, page.clone()).await.unwrap().items.is_empty());
    }

    let used = ["attempts_webhook", "attempts_webhook_failed", "scans_list", "scans_status", "deliveries_event_type"];
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let after = loop {
        let after = scan_counters(&admin).await;
        let counted = |index: &str| after[&format!("idx {index}")] > before[&format!("idx {index}")];
        if used.iter().all(|index| counted(index)) {
            break settled_counters(&admin).await;
        }
        assert!(tokio::time::Instant::now() < deadline, "indexes not used: {before:?} → {after:?}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    for table in ["attempts", "deliveries", "scans"] {
        let key = format!("seq {table}");
        assert_eq!(after[&key], before[&key], "a sequential scan of {table}");
    }
}
