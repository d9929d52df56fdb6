//! The prefill (`--prefill-deliveries N`): before the measured phases, the server's database
//! gets N past events, each with one succeeded delivery and its one attempt, spread over
//! the last `HISTORY_DAYS` days (inside the default 30-day retention, so the pruner has
//! nothing to do while the figures are taken).
//!
//! The history belongs to the benchmark's own account and endpoint: every index the
//! delivery path and the lists use (by account, by endpoint, by status) then holds it in
//! front of the live rows, as a server that has run for weeks does. History in another
//! account would sit in index ranges the measured requests never enter.
//!
//! The rows are written by SQL on the server's database (not through the API, which would
//! take hours), in batches of set-based `INSERT … SELECT` over a generated series. The
//! column expressions are plain SQL that both backends accept (`substr`, `||`, `>>`,
//! `&`, `CAST`); only the series and the parameters differ: `WITH RECURSIVE` and `?N` on
//! SQLite, `generate_series` and `$N` on PostgreSQL. IDs are valid ULIDs of the row's past
//! time (so they sort before the live ones, as real history does), with the row number as
//! their random part.
//!
//! On PostgreSQL the fill drops the three tables' secondary indexes and builds them again
//! afterwards with their own definitions (a sort instead of 10,000,000 insertions each),
//! skips the foreign-key triggers (`session_replication_role = replica`: the rows refer
//! to each other by construction), and ends with `VACUUM (ANALYZE)` and a `CHECKPOINT`, so
//! the history is what a server that has run for weeks holds: vacuumed, with statistics,
//! on disk (a fill without them leaves hint bits, the visibility map and an autovacuum of
//! 10,000,000 fresh rows to the measured phases).

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use rusqlite::{Connection, params};
use tokio_postgres::types::Type;

/// How far back the history reaches.
const HISTORY_DAYS: i64 = 28;
/// Rows of each table per transaction.
const BATCH: u64 = 500_000;
const CROCKFORD: &str = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

pub struct Filled {
    pub rows: u64,
    pub secs: f64,
    pub bytes: u64,
}

/// `chars` Crockford base-32 digits of the integer expression `x`, most significant first.
fn base32(x: &str, chars: u32) -> String {
    (0..chars)
        .rev()
        .map(|k| format!("substr('{CROCKFORD}', CAST(((({x}) >> {}) & 31) + 1 AS INTEGER), 1)", 5 * k))
        .collect::<Vec<_>>()
        .join(" || ")
}

/// A prefixed ULID for row number `i` at time `t` (ms): 48 bits of time, then the row
/// number as the 80 random bits (zero-padded: 50 bits are plenty).
fn ulid(prefix: &str, t: &str, i: &str) -> String {
    format!("'{prefix}_' || {} || '000000' || {}", base32(t, 10), base32(i, 10))
}

/// The three statements, over a CTE `h(i, t)` of row numbers and their times.
/// Parameters: ?1 account, ?2 webhook, ?3 first row, ?4 end row (exclusive), ?5 start of
/// the history (ms), ?6 its length (ms), ?7 rows in all.
fn statements(series: &str) -> [String; 3] {
    let h = format!("WITH RECURSIVE {series}, h(i, t) AS (SELECT i, ?5 + i * ?6 / ?7 FROM s)");
    let evt = ulid("evt", "t", "i");
    let dlv = ulid("dlv", "t", "i");
    let att = ulid("atm", "t + 40", "i");
    let events = format!(
        "{h} INSERT INTO events (id, account_id, type, timestamp, data, target_webhook_id, delivery_count)
         SELECT {evt}, ?1, CASE i % 4 WHEN 0 THEN 'scan.started' WHEN 3 THEN 'issue.critical' ELSE 'scan.completed' END,
             t, '{{\"scanId\":\"scan_' || i || '\",\"violations\":{{\"total\":5,\"critical\":1}}}}', NULL, 1
         FROM h"
    );
    let deliveries = format!(
        "{h} INSERT INTO deliveries (id, account_id, event_id, event_type, webhook_id, status, attempt_count,
             round_attempts, next_attempt_at, last_status_code, created_at, updated_at)
         SELECT {dlv}, ?1, {evt}, CASE i % 4 WHEN 0 THEN 'scan.started' WHEN 3 THEN 'issue.critical' ELSE 'scan.completed' END,
             ?2, 'succeeded', 1, 1, NULL, 200, t, t + 60
         FROM h"
    );
    // What the sender logs for a standard-signed delivery (signatures of the real length).
    let headers = format!(
        "'[[\"Content-Type\",\"application/json\"],[\"User-Agent\",\"scanhook/0.1.0\"],[\"X-Scanhook-Event\",\"scan.completed\"],'
         || '[\"X-Scanhook-Delivery\",\"' || {dlv} || '\"],[\"X-Scanhook-Attempt\",\"1\"],'
         || '[\"webhook-id\",\"' || {evt} || '\"],[\"webhook-timestamp\",\"' || (t / 1000) || '\"],'
         || '[\"webhook-signature\",\"v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=\"],'
         || '[\"X-Scanhook-Signature\",\"sha256=2b7e151628aed2a6abf7158809cf4f3c762e7160f38b4da56a784d9045190cfe\"]]'"
    );
    let attempts = format!(
        "{h} INSERT INTO attempts (id, delivery_id, number, started_at, latency_ms, status_code, error,
             request_headers, request_body, response_headers, response_body)
         SELECT {att}, {dlv}, 1, t + 40, 12 + i % 30, 200, NULL, {headers}, NULL,
             '[[\"content-type\",\"text/plain\"],[\"content-length\",\"2\"]]', 'ok'
         FROM h"
    );
    [events, deliveries, attempts]
}

/// Fills the SQLite database at `db` (migrated, its server stopped) with `n` past events,
/// deliveries and attempts for `webhook` and its account.
pub fn sqlite(db: &Path, webhook: &str, n: u64) -> anyhow::Result<Filled> {
    let started = Instant::now();
    let mut c = Connection::open(db).with_context(|| format!("opening {}", db.display()))?;
    let account: String = c
        .query_row("SELECT account_id FROM webhooks WHERE id = ?1", [webhook], |r| r.get(0))
        .context("the benchmark's webhook is not in the database")?;
    // For the fill only: the file is a throwaway until the server opens it again, which
    // puts it back in WAL mode with its own settings.
    c.pragma_update(None, "journal_mode", "MEMORY")?;
    c.pragma_update(None, "synchronous", "OFF")?;
    c.pragma_update(None, "cache_size", -256 * 1024)?;
    let series = "s(i) AS (SELECT ?3 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < ?4)";
    let statements = statements(series);
    let span = HISTORY_DAYS * 86_400_000;
    // Ends an hour ago: nothing of the history is due, nothing is past retention.
    let start = chrono::Utc::now().timestamp_millis() - 3_600_000 - span;
    let mut from = 0;
    while from < n {
        let to = (from + BATCH).min(n);
        let tx = c.transaction()?;
        for sql in &statements {
            tx.prepare_cached(sql)?.execute(params![
                account,
                webhook,
                from as i64,
                to as i64,
                start,
                span,
                n as i64
            ])?;
        }
        tx.commit()?;
        from = to;
    }
    // No `ANALYZE`: scanhook's databases have no statistics, and their plans are the ones
    // `sqlite/plans.rs` checks.
    c.pragma_update(None, "journal_mode", "WAL")?;
    drop(c);
    // On disk before the server starts again, so that the kernel's writeback of the fill
    // does not land in the measured phases (synchronous=OFF left it all to the kernel).
    std::fs::File::open(db)?.sync_all()?;
    let bytes = std::fs::metadata(db)?.len();
    Ok(Filled { rows: n, secs: started.elapsed().as_secs_f64(), bytes })
}

/// The three statements for PostgreSQL: `$N` parameters, typed, over `generate_series`.
fn postgres_statements() -> [String; 3] {
    let series = "s(i) AS (SELECT generate_series(?3, ?4 - 1))";
    statements(series).map(|sql| {
        // ?1 and ?2 are text; the rest BIGINT (highest first: no ?1 inside ?10).
        (3..=7)
            .rev()
            .fold(sql, |sql, n| sql.replace(&format!("?{n}"), &format!("${n}::BIGINT")))
            .replace("?1", "$1::TEXT")
            .replace("?2", "$2::TEXT")
    })
}

/// The tables the prefill writes.
const TABLES: [&str; 3] = ["events", "deliveries", "attempts"];

/// Fills the PostgreSQL database of `c` (migrated, its servers stopped) with `n` past
/// events, deliveries and attempts for `webhook` and its account.
pub async fn postgres(c: &tokio_postgres::Client, webhook: &str, n: u64) -> anyhow::Result<Filled> {
    let started = Instant::now();
    let account: String = c
        .query_one("SELECT account_id FROM webhooks WHERE id = $1", &[&webhook])
        .await
        .context("the benchmark's webhook is not in the database")?
        .get(0);
    c.batch_execute(
        "SET session_replication_role = replica; SET synchronous_commit = off; SET maintenance_work_mem = '512MB'",
    )
    .await?;
    // The secondary indexes (not those of a constraint), to build again after the fill.
    let indexes: Vec<(String, String)> = c
        .query(
            "SELECT indexname::TEXT, indexdef FROM pg_indexes
             WHERE schemaname = 'public' AND tablename = ANY($1)
               AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            &[&TABLES.to_vec()],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    for (name, _) in &indexes {
        c.batch_execute(&format!("DROP INDEX {name}")).await?;
    }
    // Typed: not every statement uses every parameter.
    let types = [Type::TEXT, Type::TEXT, Type::INT8, Type::INT8, Type::INT8, Type::INT8, Type::INT8];
    let mut statements = Vec::new();
    for sql in postgres_statements() {
        statements.push(c.prepare_typed(&sql, &types).await?);
    }
    let span = HISTORY_DAYS * 86_400_000;
    let start = chrono::Utc::now().timestamp_millis() - 3_600_000 - span;
    let total = i64::try_from(n)?;
    let mut from = 0;
    while from < total {
        let to = (from + BATCH as i64).min(total);
        c.batch_execute("BEGIN").await?;
        for sql in &statements {
            c.execute(sql, &[&account, &webhook, &from, &to, &start, &span, &total]).await?;
        }
        c.batch_execute("COMMIT").await?;
        from = to;
    }
    for (_, definition) in &indexes {
        c.batch_execute(definition).await?;
    }
    for table in TABLES {
        c.batch_execute(&format!("VACUUM (ANALYZE) {table}")).await?;
    }
    c.batch_execute("CHECKPOINT").await?;
    let bytes: i64 = c.query_one("SELECT pg_database_size(current_database())", &[]).await?.get(0);
    Ok(Filled { rows: n, secs: started.elapsed().as_secs_f64(), bytes: u64::try_from(bytes)? })
}

/// Checks that the prefilled rows look like the ones the server wrote (run after the
/// measured phases): in each table, the oldest row (prefilled) and the newest (written by
/// the server) have the same columns NULL and not NULL. Says what differs, if anything.
pub async fn check_shape(c: &tokio_postgres::Client) -> anyhow::Result<bool> {
    let mut same = true;
    for table in TABLES {
        let row = |order: &str| {
            format!("SELECT row_to_json(t)::TEXT FROM (SELECT * FROM {table} ORDER BY id {order} LIMIT 1) t")
        };
        let oldest: String = c.query_one(&row("ASC"), &[]).await?.get(0);
        let newest: String = c.query_one(&row("DESC"), &[]).await?.get(0);
        let nulls = |json: &str| -> anyhow::Result<Vec<(String, bool)>> {
            let value: serde_json::Value = serde_json::from_str(json)?;
            let object = value.as_object().context("a row as a JSON object")?;
            Ok(object.iter().map(|(k, v)| (k.clone(), v.is_null())).collect())
        };
        if nulls(&oldest)? != nulls(&newest)? {
            eprintln!(
                "WARNING: the prefilled {table} differ from the server's:\n  prefilled: {oldest}\n  server's:  {newest}"
            );
            same = false;
        }
    }
    if same {
        eprintln!("prefilled rows: the same columns set as in the server's own (events, deliveries, attempts)");
    }
    Ok(same)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_ulids_of_the_row_time_that_sort_by_time() {
        let c = Connection::open_in_memory().unwrap();
        let id = |t: i64, i: i64| -> String {
            c.query_row(&format!("SELECT {}", ulid("evt", "?1", "?2")), [t, i], |r| r.get(0)).unwrap()
        };
        // The ULID specification's example time, 1469918176385 ms: 01ARYZ6S41.
        let a = id(1_469_918_176_385, 0);
        assert_eq!(a, format!("evt_01ARYZ6S41{}", "0".repeat(16)));
        let b = id(1_469_918_176_386, 7);
        assert_eq!(&b[4..14], "01ARYZ6S42");
        assert!(b.ends_with("0000000007"));
        assert!(a < b && b.len() == 30);
    }
}
