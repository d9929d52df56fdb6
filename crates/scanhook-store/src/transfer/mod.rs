//! Moving a deployment from SQLite to PostgreSQL (`scanhook migrate-store`): every table
//! of [`PLAN`], in its order (referenced before referencing), copied row for row into an
//! empty scanhook database in ONE PostgreSQL transaction — the target's migration, the
//! copy and the check of each table's row count commit together or not at all.
//!
//! Both schemas have the same tables and columns (migrations/postgres/0001_schema.sql says
//! so); the copy reads the column lists of both at run time and refuses when they differ,
//! and refuses a table missing from [`PLAN`], so a migration added to one backend only
//! stops the copy instead of losing data (`tests/transfer.rs` checks the plan against both
//! freshly migrated schemas). Values copy exactly (`cells.rs`). Secrets are copied as
//! stored, sealed: the PostgreSQL deployment must use the same encryption key, which is
//! why the target is migrated with the source's key (its `meta.key_check` is the
//! source's). Deliveries leased when the SQLite server stopped come over due, their
//! leases dropped; the periodic jobs' leases are not copied.

mod cells;
mod source;

use std::path::Path;

use chrono::{DateTime, Utc};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

use crate::postgres::{self, Settings};
use crate::sqlite::SqliteStore;
use crate::{SecretBox, StoreError};
use cells::{Cell, Kind};
use source::Source;

/// What the copy does with a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Every row, as it is (deliveries: leases dropped).
    Copy,
    /// Every row, in place of what the target's migration wrote there (`meta`: the key
    /// check, sealed with the same key on both sides).
    Replace,
    /// Not copied, for the reason given.
    Skip(&'static str),
}

/// Every table of both schemas, in the order they are copied: a table comes after those
/// its foreign keys name.
pub const PLAN: &[(&str, Step)] = &[
    ("meta", Step::Replace),
    ("accounts", Step::Copy),
    ("api_keys", Step::Copy),
    ("webhooks", Step::Copy),
    ("events", Step::Copy),
    ("deliveries", Step::Copy),
    ("attempts", Step::Copy),
    ("projects", Step::Copy),
    ("scans", Step::Copy),
    ("violations", Step::Copy),
    ("violation_history", Step::Copy),
    ("audit_log", Step::Copy),
    ("job_leases", Step::Skip("leases of the old server's periodic jobs")),
];

/// PostgreSQL's own bookkeeping table (postgres/schema.rs), in no plan.
const TARGET_ONLY: &str = "schema_version";

#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("the SQLite database {0} does not exist")]
    NoSource(String),
    #[error("reading SQLite: {0}")]
    Source(String),
    #[error(
        "the target database holds tables that are not scanhook's ({0}); give scanhook a database of its own \
         (createdb)"
    )]
    ForeignTables(String),
    #[error(
        "the target database is not empty: {0}; migrate-store copies into an empty database only (a node \
         started on it already made its admin account: drop and create the database again)"
    )]
    NotEmpty(String),
    #[error("the two schemas differ: {0}; nothing was copied")]
    Schema(String),
    #[error("{table}.{column} of SQLite row {rowid}: {problem}; nothing was copied")]
    Value { table: String, column: String, rowid: i64, problem: String },
    #[error("{table}: {source_rows} rows in SQLite, {target_rows} in PostgreSQL after the copy; nothing was copied")]
    Count { table: String, source_rows: u64, target_rows: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for TransferError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Store(e.into())
    }
}

impl From<tokio_postgres::Error> for TransferError {
    fn from(e: tokio_postgres::Error) -> Self {
        Self::Store(e.into())
    }
}

impl From<deadpool_postgres::PoolError> for TransferError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Self::Store(e.into())
    }
}

/// What was copied.
#[derive(Debug, Default)]
pub struct Report {
    /// Each table of [`PLAN`] in order: its rows in both databases after the copy, or why
    /// it was not copied.
    pub tables: Vec<(&'static str, Result<u64, &'static str>)>,
    /// Deliveries that were leased in SQLite, now due.
    pub released_leases: u64,
    /// NUL characters PostgreSQL's text cannot hold, replaced by U+FFFD, per `table.column`.
    pub nul_replaced: Vec<(String, u64)>,
}

/// `name` as an SQL identifier (the same quoting in SQLite and PostgreSQL).
pub(crate) fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Copies the SQLite database at `source` into the empty PostgreSQL database `target`
/// (migrating both to this version's schema), all or nothing. `key` is the source's
/// encryption key. Deliveries leased in the source are due at `now` in the target.
/// Run it with every SQLite server stopped: the copy reads one snapshot.
pub async fn sqlite_to_postgres(
    source: &Path,
    target: &Settings,
    key: SecretBox,
    now: DateTime<Utc>,
) -> Result<Report, TransferError> {
    if !source.is_file() {
        return Err(TransferError::NoSource(source.display().to_string()));
    }
    // As `serve` opens it: migrated to this version, the key checked; then closed.
    drop(SqliteStore::open(source, key.clone())?);
    let mut src = Source::open(source)?;
    check_plan_covers(&src.tables().await?, "SQLite")?;

    let pool = postgres::pool(target, 1)?;
    let mut client = pool.get().await?;
    let present: Vec<String> = client
        .query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1",
            &[],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let foreign: Vec<&str> =
        present.iter().map(String::as_str).filter(|t| *t != TARGET_ONLY && !PLAN.iter().any(|(p, _)| p == t)).collect();
    if !foreign.is_empty() {
        return Err(TransferError::ForeignTables(foreign.join(", ")));
    }

    let tx = client.transaction().await?;
    postgres::schema::migrate_in(&tx, &key).await?;
    let all: Vec<String> = PLAN.iter().map(|(t, _)| quoted(t)).collect();
    // Nodes started meanwhile wait for the commit rather than write beside the copy.
    tx.batch_execute(&format!("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE", all.join(", "))).await?;
    let mut filled = Vec::new();
    for (table, step) in PLAN {
        let rows: i64 = tx.query_one(&format!("SELECT COUNT(*) FROM {}", quoted(table)), &[]).await?.get(0);
        if rows > 0 && *step != Step::Replace {
            filled.push(format!("{table} has {rows} row{}", if rows == 1 { "" } else { "s" }));
        }
    }
    if !filled.is_empty() {
        return Err(TransferError::NotEmpty(filled.join(", ")));
    }
    let target_tables: Vec<String> = tx
        .query("SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .filter(|t: &String| t != TARGET_ONLY)
        .collect();
    check_plan_covers(&target_tables, "PostgreSQL")?;

    let mut report = Report::default();
    let now_ms = now.timestamp_millis();
    for (table, step) in PLAN {
        match step {
            Step::Skip(reason) => {
                report.tables.push((table, Err(*reason)));
                continue;
            }
            Step::Replace => {
                tx.execute(&format!("DELETE FROM {}", quoted(table)), &[]).await?;
            }
            Step::Copy => {}
        }
        let columns = columns_of(&tx, &mut src, table).await?;
        copy_table(&tx, &mut src, table, &columns, now_ms, &mut report).await?;
        reset_identities(&tx, table, &columns).await?;
        let source_rows = src.count(table).await?;
        let target_rows: i64 = tx.query_one(&format!("SELECT COUNT(*) FROM {}", quoted(table)), &[]).await?.get(0);
        let target_rows = u64::try_from(target_rows).unwrap_or(0);
        if source_rows != target_rows {
            return Err(TransferError::Count { table: table.to_string(), source_rows, target_rows });
        }
        report.tables.push((table, Ok(target_rows)));
    }
    tx.commit().await?;
    Ok(report)
}

/// Refuses a database whose tables are not exactly those of [`PLAN`].
fn check_plan_covers(tables: &[String], side: &str) -> Result<(), TransferError> {
    let unplanned: Vec<&str> =
        tables.iter().map(String::as_str).filter(|t| !PLAN.iter().any(|(p, _)| p == t)).collect();
    let missing: Vec<&str> = PLAN.iter().map(|(t, _)| *t).filter(|p| !tables.iter().any(|t| t == p)).collect();
    if unplanned.is_empty() && missing.is_empty() {
        return Ok(());
    }
    Err(TransferError::Schema(format!(
        "{side}'s tables not in migrate-store's plan: [{}]; in the plan but not in {side}: [{}]",
        unplanned.join(", "),
        missing.join(", ")
    )))
}

/// One column of the target: its name, how values convert, and its binary COPY type.
struct Column {
    name: String,
    kind: Kind,
    ty: Type,
    identity: bool,
}

/// The target's columns of `table`, which must be exactly the source's.
async fn columns_of(tx: &postgres::Tx<'_>, src: &mut Source, table: &str) -> Result<Vec<Column>, TransferError> {
    let rows = tx
        .query(
            "SELECT column_name::text, data_type::text, is_identity::text = 'YES' FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            &[&table],
        )
        .await?;
    let mut columns = Vec::with_capacity(rows.len());
    for row in rows {
        let (name, data_type): (String, String) = (row.get(0), row.get(1));
        let Some((kind, ty)) = Kind::of(&data_type) else {
            return Err(TransferError::Schema(format!(
                "{table}.{name} is {data_type} in PostgreSQL, a type migrate-store does not copy yet"
            )));
        };
        columns.push(Column { name, kind, ty, identity: row.get(2) });
    }
    let mut theirs = src.columns(table).await?;
    let mut ours: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
    theirs.sort();
    ours.sort();
    if theirs != ours {
        return Err(TransferError::Schema(format!(
            "{table} has the columns [{}] in SQLite but [{}] in PostgreSQL",
            theirs.join(", "),
            ours.join(", ")
        )));
    }
    Ok(columns)
}

/// Streams `table`'s rows from SQLite into one binary COPY, a page at a time.
async fn copy_table(
    tx: &postgres::Tx<'_>,
    src: &mut Source,
    table: &str,
    columns: &[Column],
    now_ms: i64,
    report: &mut Report,
) -> Result<(), TransferError> {
    let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
    let list: Vec<String> = names.iter().map(|c| quoted(c)).collect();
    let sink = tx.copy_in(&format!("COPY {} ({}) FROM STDIN (FORMAT binary)", quoted(table), list.join(", "))).await?;
    let types: Vec<Type> = columns.iter().map(|c| c.ty.clone()).collect();
    let mut writer = std::pin::pin!(BinaryCopyInWriter::new(sink, &types));
    let lease = (table == "deliveries").then(|| Lease::columns(&names)).flatten();
    let mut nul = vec![0u64; columns.len()];
    let mut after = i64::MIN;
    loop {
        let page = src.page(table, &names, after).await?;
        let Some(&(last, _)) = page.last() else { break };
        after = last;
        for (rowid, mut values) in page {
            if let Some(lease) = &lease {
                report.released_leases += u64::from(lease.release(&mut values, now_ms));
            }
            let mut cells = Vec::with_capacity(columns.len());
            for ((value, column), nul) in values.into_iter().zip(columns).zip(nul.iter_mut()) {
                let cell = cells::convert(value, column.kind, nul).map_err(|problem| TransferError::Value {
                    table: table.to_string(),
                    column: column.name.clone(),
                    rowid,
                    problem,
                })?;
                cells.push(cell);
            }
            let params: Vec<&(dyn ToSql + Sync)> = cells.iter().map(|c: &Cell| c as &(dyn ToSql + Sync)).collect();
            writer.as_mut().write(&params).await?;
        }
    }
    writer.finish().await?;
    for (column, count) in columns.iter().zip(nul).filter(|(_, n)| *n > 0) {
        report.nul_replaced.push((format!("{table}.{}", column.name), count));
    }
    Ok(())
}

/// Identity columns (`violation_history.seq`) go on after the largest copied value.
async fn reset_identities(tx: &postgres::Tx<'_>, table: &str, columns: &[Column]) -> Result<(), TransferError> {
    for column in columns.iter().filter(|c| c.identity) {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence($1, $2), COALESCE((SELECT MAX({col}) FROM {t}), 0) + 1, false)",
            col = quoted(&column.name),
            t = quoted(table)
        );
        tx.query_one(&sql, &[&quoted(table), &column.name]).await?;
    }
    Ok(())
}

/// Where a delivery's lease is, to drop it: a delivery leased in SQLite is due at once.
struct Lease {
    status: usize,
    owner: usize,
    until: usize,
    next_attempt_at: usize,
}

impl Lease {
    fn columns(names: &[String]) -> Option<Self> {
        let at = |n: &str| names.iter().position(|c| c == n);
        Some(Self {
            status: at("status")?,
            owner: at("lease_owner")?,
            until: at("lease_until")?,
            next_attempt_at: at("next_attempt_at")?,
        })
    }

    /// Drops the lease of a leased row; whether it had one. A pending delivery whose lease
    /// is dropped is due at `now_ms` (claiming had moved its next attempt to the lease's
    /// end). Its claim count stays: as after a lease that expired.
    fn release(&self, row: &mut [rusqlite::types::Value], now_ms: i64) -> bool {
        use rusqlite::types::Value;
        if matches!(row[self.owner], Value::Null) {
            return false;
        }
        row[self.owner] = Value::Null;
        row[self.until] = Value::Null;
        let later = !matches!(row[self.next_attempt_at], Value::Integer(at) if at <= now_ms);
        if later && matches!(&row[self.status], Value::Text(s) if s == "pending") {
            row[self.next_attempt_at] = Value::Integer(now_ms);
        }
        true
    }
}
