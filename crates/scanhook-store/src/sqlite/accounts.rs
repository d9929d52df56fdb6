//! Accounts and API keys.

use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params};
use scanhook_core::{AccountId, ApiKeyId};

use super::rows::{self, ms, time};
use crate::model::{Account, ApiKeyRecord, IngestQuota, KeyOwner, NewAccount, NewApiKey, Page, Paged};
use crate::{Conflict, StoreError, StoreResult};

fn account_row(row: &rusqlite::Row) -> rusqlite::Result<Account> {
    Ok(Account {
        id: AccountId::from_trusted(row.get(0)?),
        name: row.get(1)?,
        is_admin: row.get(2)?,
        created_at: time(row.get(3)?),
        ingest_limit: quota(row.get(4)?, row.get(5)?),
    })
}

/// An account's own ingest limit as stored: both columns or neither.
fn quota(per_second: Option<u32>, burst: Option<u32>) -> Option<IngestQuota> {
    Some(IngestQuota { per_second: per_second?, burst: burst? })
}

/// Sets (or with `None` clears) the account's own ingest limit.
pub fn set_ingest_limit(c: &Connection, id: &AccountId, limit: Option<IngestQuota>) -> StoreResult<Account> {
    let changed = c.execute(
        "UPDATE accounts SET ingest_rate = ?1, ingest_burst = ?2 WHERE id = ?3",
        params![limit.map(|l| l.per_second), limit.map(|l| l.burst), id.as_str()],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    get(c, id)
}

pub fn ensure_default(c: &Connection, now: DateTime<Utc>) -> StoreResult<(Account, bool)> {
    // Guarded by the unique index on the admin flag: of several nodes starting at once,
    // one inserts and the others find its account.
    let candidate = AccountId::generate();
    let created = c.execute(
        "INSERT INTO accounts (id, name, is_admin, created_at) VALUES (?1, 'default', 1, ?2)
         ON CONFLICT (is_admin) WHERE is_admin = 1 DO NOTHING",
        params![candidate.as_str(), ms(now)],
    )?;
    let account = c.query_row(
        "SELECT id, name, is_admin, created_at, ingest_rate, ingest_burst FROM accounts WHERE is_admin = 1",
        [],
        account_row,
    )?;
    Ok((account, created == 1))
}

pub fn create(c: &Connection, account: NewAccount, key: NewApiKey, now: DateTime<Utc>) -> StoreResult<Account> {
    c.execute(
        "INSERT INTO accounts (id, name, is_admin, created_at) VALUES (?1, ?2, 0, ?3)",
        params![account.id.as_str(), account.name, ms(now)],
    )?;
    insert_key(c, &account.id, &key, now)?;
    Ok(Account { id: account.id, name: account.name, is_admin: false, created_at: now, ingest_limit: None })
}

/// The statement behind [`list`] and its values: newest first by ID, from after the
/// cursor, one row more than the page holds (the primary key's index serves both).
pub(super) fn list_query(page: &Page) -> (&'static str, Vec<Value>) {
    let limit = Value::from(i64::from(page.limit) + 1);
    match &page.cursor {
        Some(cursor) => (
            "SELECT id, name, is_admin, created_at, ingest_rate, ingest_burst FROM accounts WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
            vec![Value::from(cursor.clone()), limit],
        ),
        None => (
            "SELECT id, name, is_admin, created_at, ingest_rate, ingest_burst FROM accounts ORDER BY id DESC LIMIT ?1",
            vec![limit],
        ),
    }
}

pub fn list(c: &Connection, page: Page) -> StoreResult<Paged<Account>> {
    let (sql, values) = list_query(&page);
    let mut stmt = c.prepare_cached(sql)?;
    let items = stmt.query_map(rusqlite::params_from_iter(values.iter()), account_row)?.collect::<Result<_, _>>()?;
    Ok(rows::paged(items, page.limit, |a: &Account| a.id.to_string()))
}

pub fn get(c: &Connection, id: &AccountId) -> StoreResult<Account> {
    let mut stmt = c.prepare_cached(
        "SELECT id, name, is_admin, created_at, ingest_rate, ingest_burst FROM accounts WHERE id = ?1",
    )?;
    Ok(stmt.query_row([id.as_str()], account_row)?)
}

fn insert_key(c: &Connection, account: &AccountId, key: &NewApiKey, now: DateTime<Utc>) -> StoreResult<()> {
    c.execute(
        "INSERT INTO api_keys (id, account_id, name, key_hash, prefix, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (key_hash) DO NOTHING",
        params![key.id.as_str(), account.as_str(), key.name, key.key_hash, key.prefix, ms(now)],
    )?;
    Ok(())
}

pub fn create_key(
    c: &Connection,
    account: &AccountId,
    key: NewApiKey,
    replace_named: bool,
    now: DateTime<Utc>,
) -> StoreResult<ApiKeyRecord> {
    // Refusals come before any write (the writer's contract).
    let owner: Option<String> =
        c.query_row("SELECT account_id FROM api_keys WHERE key_hash = ?1", [&key.key_hash], |r| r.get(0)).optional()?;
    if owner.is_some_and(|o| o != account.as_str()) {
        return Err(Conflict::KeyOfAnotherAccount.into());
    }
    if replace_named {
        c.execute(
            "DELETE FROM api_keys WHERE account_id = ?1 AND name = ?2 AND key_hash <> ?3",
            params![account.as_str(), key.name, key.key_hash],
        )?;
    }
    insert_key(c, account, &key, now)?;
    // The hash may already have been there (the same configured key on a restart).
    Ok(c.query_row(
        "SELECT id, account_id, name, prefix, created_at FROM api_keys WHERE key_hash = ?1",
        [&key.key_hash],
        key_row,
    )?)
}

fn key_row(row: &rusqlite::Row) -> rusqlite::Result<ApiKeyRecord> {
    Ok(ApiKeyRecord {
        id: ApiKeyId::from_trusted(row.get(0)?),
        account_id: AccountId::from_trusted(row.get(1)?),
        name: row.get(2)?,
        prefix: row.get(3)?,
        created_at: time(row.get(4)?),
    })
}

pub fn list_keys(c: &Connection, account: &AccountId) -> StoreResult<Vec<ApiKeyRecord>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, account_id, name, prefix, created_at FROM api_keys WHERE account_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([account.as_str()], key_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn delete_key(c: &Connection, account: &AccountId, id: &ApiKeyId) -> StoreResult<()> {
    let n =
        c.execute("DELETE FROM api_keys WHERE id = ?1 AND account_id = ?2", params![id.as_str(), account.as_str()])?;
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

pub fn find_owner(c: &Connection, key_hash: &str) -> StoreResult<Option<KeyOwner>> {
    let mut stmt = c.prepare_cached(
        "SELECT k.id, k.account_id, a.is_admin FROM api_keys k JOIN accounts a ON a.id = k.account_id
         WHERE k.key_hash = ?1",
    )?;
    Ok(stmt
        .query_row([key_hash], |row| {
            Ok(KeyOwner {
                key_id: ApiKeyId::from_trusted(row.get(0)?),
                account_id: AccountId::from_trusted(row.get(1)?),
                is_admin: row.get(2)?,
            })
        })
        .optional()?)
}
