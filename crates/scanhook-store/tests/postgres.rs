//! What only the PostgreSQL backend has to show: several nodes opening one new database at
//! once (migrations under an advisory lock), a start with another encryption key refused,
//! and the URL's `sslmode` honoured (`tls.rs`). Skipped, saying so, where no server answers (`support`).

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
    // Each migration applied once: one row per version, 1 to the latest.
    let row = client.query_one("SELECT COUNT(*), COALESCE(MAX(version), 0) FROM schema_version", &[]).await.unwrap();
    let (versions, latest): (i64, i64) = (row.get(0), row.get(1));
    let checks: i64 = client.query_one("SELECT COUNT(*) FROM meta WHERE name = 'key_check'", &[]).await.unwrap().get(0);
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres")).unwrap().count();
    assert_eq!((versions, latest, checks), (migrations as i64, migrations as i64, 1));
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
        trace_parent: None,
    };
    busy.ingest_event(&acc, event, now).await.unwrap();
    heard("an ingest on another node wakes this one").await;
    listener.abort();
}

/// The test database's URL with `query` appended, its host replaced by `host`.
fn url_of(config: &tokio_postgres::Config, host: &str, query: &str) -> String {
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let (user, db) = (config.get_user().unwrap_or("postgres"), config.get_dbname().unwrap_or("postgres"));
    format!("postgres://{user}@{host}:{port}/{db}?{query}")
}

/// A store on `config`'s database by a URL of `host` with `query`, sealing with `key`.
async fn open(
    config: &tokio_postgres::Config,
    host: &str,
    query: &str,
    key: &SecretBox,
) -> scanhook_store::StoreResult<PostgresStore> {
    PostgresStore::connect(&url_of(config, host, query), 1, key.clone()).await
}

/// The error and its causes, as `serve` prints them.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text = format!("{text}: {c}");
        cause = c.source();
    }
    text
}

/// Whether the store's pooled connection (named by `application_name`) is encrypted, as
/// the server sees it.
async fn encrypted(client: &tokio_postgres::Client, name: &str) -> bool {
    let sql = "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = $1";
    client.query_one(sql, &[&name]).await.expect("the store's connection").get(0)
}

/// `sslmode=require` encrypts the store's connections and `disable` does not; with the
/// server's own certificate as `sslrootcert`, `verify-full` connects by the name the
/// certificate holds and refuses another, which `verify-ca` accepts; the public roots do not
/// trust a self-signed certificate. Skipped where the server has no TLS.
#[tokio::test]
async fn the_urls_sslmode_decides_whether_and_how_the_connection_is_encrypted() {
    let Some(db) = TestDatabase::create().await else { return };
    let (client, connection) = db.config.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let ssl: String = client.query_one("SHOW ssl", &[]).await.unwrap().get(0);
    if ssl != "on" {
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "SKIPPED the sslmode test: the PostgreSQL server has ssl=off");
        return;
    }
    let key = SecretBox::random();
    let _required = open(&db.config, "127.0.0.1", "sslmode=require&application_name=tls_required", &key).await.unwrap();
    assert!(encrypted(&client, "tls_required").await, "sslmode=require encrypts");
    let _plain = open(&db.config, "127.0.0.1", "sslmode=disable&application_name=tls_disabled", &key).await.unwrap();
    assert!(!encrypted(&client, "tls_disabled").await, "sslmode=disable does not");
    let _preferred = open(&db.config, "127.0.0.1", "application_name=tls_preferred", &key).await.unwrap();
    assert!(encrypted(&client, "tls_preferred").await, "prefer, the default, encrypts when the server can");
    let public = open(&db.config, "127.0.0.1", "sslmode=verify-full", &key)
        .await
        .err()
        .expect("a self-signed certificate is not trusted");
    assert!(chain(&public).contains("UnknownIssuer"), "{}", chain(&public));

    let cert: String = client.query_one("SHOW ssl_cert_file", &[]).await.unwrap().get(0);
    let readable = std::fs::read_to_string(&cert).is_ok_and(|pem| pem.contains("BEGIN CERTIFICATE"));
    let names_localhost = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-ext", "subjectAltName", "-in", &cert])
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("DNS:localhost"));
    if !(readable && names_localhost) {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED verify-ca/verify-full: {cert} is not a readable certificate for localhost"
        );
        return;
    }
    let root = format!("sslrootcert={cert}");
    let by_name = format!("sslmode=verify-full&{root}&application_name=tls_full");
    let _full = open(&db.config, "localhost", &by_name, &key).await.unwrap();
    assert!(encrypted(&client, "tls_full").await);
    let wrong_name = open(&db.config, "127.0.0.1", &format!("sslmode=verify-full&{root}"), &key)
        .await
        .err()
        .expect("127.0.0.1 is not localhost");
    assert!(chain(&wrong_name).contains("not valid for name"), "{}", chain(&wrong_name));
    let _chain = open(&db.config, "127.0.0.1", &format!("sslmode=verify-ca&{root}&application_name=tls_ca"), &key)
        .await
        .unwrap();
    assert!(encrypted(&client, "tls_ca").await, "verify-ca checks the chain, not the name");
}
