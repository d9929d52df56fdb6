//! The SQLite side of a transfer: one read-only connection in one read transaction, so
//! every table is read from the same snapshot, in pages of rows by `rowid` (bounded in
//! rows and bytes: no table is ever held whole in memory). rusqlite blocks, so each call
//! runs on the blocking pool and hands the connection back.

use std::path::Path;

use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};

use super::{TransferError, quoted};

/// Rows per page, at most.
const PAGE_ROWS: usize = 500;
/// Bytes of text and blobs per page, at most (a page stops after the row that passes it).
const PAGE_BYTES: usize = 8 * 1024 * 1024;

pub struct Source(Option<Connection>);

/// A page of rows, each with its `rowid` (where the next page starts).
pub type Page = Vec<(i64, Vec<Value>)>;

impl Source {
    /// Opens `path` read-only and starts the read transaction every later read shares.
    pub fn open(path: &Path) -> Result<Self, TransferError> {
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch("BEGIN")?;
        // The snapshot is taken by the first read; take it now.
        conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |_| Ok(()))?;
        Ok(Self(Some(conn)))
    }

    /// Runs `work` on the connection off the async threads.
    async fn run<T: Send + 'static>(
        &mut self,
        work: impl FnOnce(&Connection) -> Result<T, TransferError> + Send + 'static,
    ) -> Result<T, TransferError> {
        let conn = self.0.take().ok_or_else(|| TransferError::Source("an earlier read of SQLite failed".into()))?;
        let (conn, out) = tokio::task::spawn_blocking(move || {
            let out = work(&conn);
            (conn, out)
        })
        .await
        .map_err(|e| TransferError::Source(format!("reading SQLite stopped: {e}")))?;
        self.0 = Some(conn);
        out
    }

    /// The tables of the database (not SQLite's own).
    pub async fn tables(&mut self) -> Result<Vec<String>, TransferError> {
        self.run(|c| {
            let mut stmt = c.prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
            )?;
            Ok(stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// The columns of `table`, in order.
    pub async fn columns(&mut self, table: &str) -> Result<Vec<String>, TransferError> {
        let table = table.to_string();
        self.run(move |c| {
            let mut stmt = c.prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")?;
            Ok(stmt.query_map([table], |r| r.get(0))?.collect::<Result<_, _>>()?)
        })
        .await
    }

    pub async fn count(&mut self, table: &str) -> Result<u64, TransferError> {
        let sql = format!("SELECT COUNT(*) FROM {}", quoted(table));
        self.run(move |c| Ok(c.query_row(&sql, [], |r| r.get::<_, i64>(0))?.try_into().unwrap_or(0))).await
    }

    /// The rows of `table` after `rowid` `after`, oldest `rowid` first: `columns` of each.
    pub async fn page(&mut self, table: &str, columns: &[String], after: i64) -> Result<Page, TransferError> {
        let list: Vec<String> = columns.iter().map(|c| quoted(c)).collect();
        let sql = format!(
            "SELECT rowid, {} FROM {} WHERE rowid > ?1 ORDER BY rowid LIMIT {PAGE_ROWS}",
            list.join(", "),
            quoted(table)
        );
        let width = columns.len();
        self.run(move |c| {
            let mut stmt = c.prepare_cached(&sql)?;
            let mut rows = stmt.query([after])?;
            let (mut page, mut bytes) = (Vec::new(), 0);
            while let Some(row) = rows.next()? {
                let rowid: i64 = row.get(0)?;
                let mut values = Vec::with_capacity(width);
                for i in 0..width {
                    let value: Value = row.get(i + 1)?;
                    bytes += match &value {
                        Value::Text(s) => s.len(),
                        Value::Blob(b) => b.len(),
                        _ => 8,
                    };
                    values.push(value);
                }
                page.push((rowid, values));
                if bytes >= PAGE_BYTES {
                    break;
                }
            }
            Ok(page)
        })
        .await
    }
}
