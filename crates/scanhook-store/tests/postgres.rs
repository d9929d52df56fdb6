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
