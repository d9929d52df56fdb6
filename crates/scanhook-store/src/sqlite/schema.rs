//! Versioned migrations, applied in order on open. The schema version is SQLite's
//! `user_version`, so a database knows which migrations it has without an extra table.
//! (Hand-written rather than a migration crate: it is a dozen lines, and the crates for
//! rusqlite pin its version.)

use rusqlite::Connection;

use crate::StoreResult;

/// Each entry is one migration; append only, never edit a released one.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_core.sql"),
    include_str!("../../migrations/sqlite/0002_projects.sql"),
    include_str!("../../migrations/sqlite/0003_scans.sql"),
    include_str!("../../migrations/sqlite/0004_violations.sql"),
    include_str!("../../migrations/sqlite/0005_scan_progress.sql"),
    include_str!("../../migrations/sqlite/0006_webhook_filters.sql"),
    include_str!("../../migrations/sqlite/0007_delivery_format.sql"),
    include_str!("../../migrations/sqlite/0008_delivery_containment.sql"),
    include_str!("../../migrations/sqlite/0009_secrets_at_rest.sql"),
    include_str!("../../migrations/sqlite/0010_audit_log.sql"),
    include_str!("../../migrations/sqlite/0011_violation_analyses.sql"),
    include_str!("../../migrations/sqlite/0012_repository_paths.sql"),
    include_str!("../../migrations/sqlite/0013_lookalikes_and_history.sql"),
    include_str!("../../migrations/sqlite/0014_retention_and_list_indexes.sql"),
    include_str!("../../migrations/sqlite/0015_one_default_account.sql"),
    include_str!("../../migrations/sqlite/0016_job_leases.sql"),
    include_str!("../../migrations/sqlite/0017_dashboard_sessions.sql"),
    include_str!("../../migrations/sqlite/0018_endpoint_stats_and_dashboard_lists.sql"),
    include_str!("../../migrations/sqlite/0019_project_events_and_list_filters.sql"),
    include_str!("../../migrations/sqlite/0020_polite_retries.sql"),
    include_str!("../../migrations/sqlite/0021_fair_share.sql"),
    include_str!("../../migrations/sqlite/0022_fifo_endpoints.sql"),
    include_str!("../../migrations/sqlite/0023_endpoint_health.sql"),
    include_str!("../../migrations/sqlite/0024_event_trace_parent.sql"),
    include_str!("../../migrations/sqlite/0025_account_ingest_limit.sql"),
];

/// Whether the database has every migration of this build (one trivial read).
pub fn is_current(conn: &Connection) -> StoreResult<bool> {
    let current: usize = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    Ok(current >= MIGRATIONS.len())
}

pub fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let current: usize = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if current > MIGRATIONS.len() {
        return Err(crate::StoreError::Backend(
            format!(
                "the database is at schema version {current}, newer than this scanhook knows ({}); upgrade scanhook",
                MIGRATIONS.len()
            )
            .into(),
        ));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index + 1)?;
        tx.commit()?;
        tracing::info!(version = index + 1, "applied database migration");
    }
    Ok(())
}
