//! Versioned migrations, applied in order on open, in one transaction under a transaction
//! advisory lock: of several nodes starting at once, one migrates and the others wait for it,
//! then find nothing left to do. DDL is transactional in PostgreSQL, so a migration that
//! fails leaves the schema as it was. The version is a row of `schema_version`.

use crate::crypto::KEY_CHECK;
use crate::{SecretBox, StoreError, StoreResult};

/// Each entry is one migration; append only, never edit a released one.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/0001_schema.sql"),
    include_str!("../../migrations/postgres/0002_ids_compare_bytewise.sql"),
    include_str!("../../migrations/postgres/0003_dashboard_sessions.sql"),
    include_str!("../../migrations/postgres/0004_endpoint_stats_and_dashboard_lists.sql"),
    include_str!("../../migrations/postgres/0005_project_events_and_list_filters.sql"),
    include_str!("../../migrations/postgres/0006_polite_retries.sql"),
    include_str!("../../migrations/postgres/0007_fair_share.sql"),
    include_str!("../../migrations/postgres/0008_fifo_endpoints.sql"),
    include_str!("../../migrations/postgres/0009_endpoint_health.sql"),
    include_str!("../../migrations/postgres/0010_event_trace_parent.sql"),
    include_str!("../../migrations/postgres/0011_account_ingest_limit.sql"),
];

/// The advisory lock's key: "scanhook" in ASCII, so it will not collide with another
/// application's lock on a shared server by chance.
const MIGRATION_LOCK: i64 = 0x7363_616e_686f_6f6b;

/// Whether the database has every migration of this build (one trivial read).
pub async fn is_current(client: &deadpool_postgres::Client) -> StoreResult<bool> {
    let row = client.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[]).await?;
    Ok(row.try_get::<_, i64>(0)? >= MIGRATIONS.len() as i64)
}

pub async fn migrate(client: &mut deadpool_postgres::Client, key: &SecretBox) -> StoreResult<()> {
    let tx = client.transaction().await?;
    migrate_in(&tx, key).await?;
    tx.commit().await?;
    Ok(())
}

/// [`migrate`] inside the caller's transaction, which then commits it with what else it
/// writes, or rolls both back (`transfer.rs`).
pub(crate) async fn migrate_in(tx: &super::Tx<'_>, key: &SecretBox) -> StoreResult<()> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
        .await?;
    let current: i64 = tx.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[]).await?.get(0);
    let current = usize::try_from(current).unwrap_or(usize::MAX);
    if current > MIGRATIONS.len() {
        return Err(StoreError::Backend(
            format!(
                "the database is at schema version {current}, newer than this scanhook knows ({}); upgrade scanhook",
                MIGRATIONS.len()
            )
            .into(),
        ));
    }
    // Before migrating too: no migration may seal anything with a wrong key.
    if current > 0 {
        check_key(tx, key).await?;
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        tx.batch_execute(sql).await?;
        let version = i64::try_from(index + 1).unwrap_or(i64::MAX);
        tx.execute("INSERT INTO schema_version (version) VALUES ($1)", &[&version]).await?;
        tracing::info!(version, "applied PostgreSQL migration");
    }
    tx.execute(
        "INSERT INTO meta (name, value) VALUES ('key_check', $1) ON CONFLICT (name) DO NOTHING",
        &[&key.seal(KEY_CHECK)],
    )
    .await?;
    check_key(tx, key).await?;
    Ok(())
}

/// Stops with a clear error when `key` is not the key this database's secrets were sealed
/// with (`meta.key_check`, as in SQLite).
async fn check_key(tx: &super::Tx<'_>, key: &SecretBox) -> StoreResult<()> {
    let sealed: String = tx.query_one("SELECT value FROM meta WHERE name = 'key_check'", &[]).await?.get(0);
    match key.open(&sealed) {
        Ok(plain) if plain == KEY_CHECK => Ok(()),
        _ => Err(StoreError::Backend(
            "the encryption key is not the one this database's secrets were encrypted with: start with the \
             SCANHOOK_ENCRYPTION_KEY it was created with"
                .into(),
        )),
    }
}
