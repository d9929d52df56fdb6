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
    assert_eq!((versions, checks), (1, 1));
}

#[tokio::test]
async fn another_encryption_key_is_refused_before_anything_is_read() {
    let Some(db) = TestDatabase::create().await else { return };
    PostgresStore::connect_config(db.config.clone(), 1, SecretBox::random()).await.unwrap();
    let refused = PostgresStore::connect_config(db.config.clone(), 1, SecretBox::random()).await;
    let err = refused.err().expect("another key is refused").to_string();
    assert!(err.contains("SCANHOOK_ENCRYPTION_KEY"), "{err}");
}
