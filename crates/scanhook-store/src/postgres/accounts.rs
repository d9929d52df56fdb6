//! Accounts and API keys.

use chrono::{DateTime, Utc};
use scanhook_core::{AccountId, ApiKeyId};
use tokio_postgres::Row;

use super::rows::{self, ms, time};
use super::{Tx, exec, opt_row_of, row_of, rows_of};
use crate::model::{Account, ApiKeyRecord, IngestQuota, KeyOwner, NewAccount, NewApiKey, Page, Paged};
use crate::{Conflict, StoreError, StoreResult};

fn account_row(row: &Row) -> StoreResult<Account> {
    Ok(Account {
        id: AccountId::from_trusted(row.try_get(0)?),
        name: row.try_get(1)?,
        is_admin: row.try_get(2)?,
        created_at: time(row.try_get(3)?),
        ingest_limit: quota(row.try_get(4)?, row.try_get(5)?),
    })
}

/// An account's own ingest limit as stored: both columns or neither.
fn quota(per_second: Option<i64>, burst: Option<i64>) -> Option<IngestQuota> {
    let per_second = u32::try_from(per_second?).ok()?;
    Some(IngestQuota { per_second, burst: u32::try_from(burst?).ok()? })
}

/// Sets (or with `None` clears) the account's own ingest limit.
pub async fn set_ingest_limit(c: &Tx<'_>, id: &AccountId, limit: Option<IngestQuota>) -> StoreResult<Account> {
    let column = |f: fn(IngestQuota) -> u32| limit.map(|l| i64::from(f(l)));
    let changed = exec(
        c,
        "UPDATE accounts SET ingest_rate = $1, ingest_burst = $2 WHERE id = $3",
        &[&column(|l| l.per_second), &column(|l| l.burst), &id.as_str()],
    )
    .await?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    get(c, id).await
}

pub async fn ensure_default(c: &Tx<'_>, now: DateTime<Utc>) -> StoreResult<(Account, bool)> {
    // Guarded by the unique index on the admin flag: of several nodes starting at once,
    // one inserts and the others (waiting on its insert) find its account.
    let candidate = AccountId::generate();
    let created = exec(
        c,
        "INSERT INTO accounts (id, name, is_admin, created_at) VALUES ($1, 'default', TRUE, $2)
         ON CONFLICT (is_admin) WHERE is_admin DO NOTHING",
        &[&candidate.as_str(), &ms(now)],
    )
    .await?;
    let row =
        row_of(c, "SELECT id, name, is_admin, created_at, ingest_rate, ingest_burst FROM accounts WHERE is_admin", &[])
            .await?;
    Ok((account_row(&row)?, created == 1))
}

pub async fn create(c: &Tx<'_>, account: NewAccount, key: NewApiKey, now: DateTime<Utc>) -> StoreResult<Account> {
    exec(
        c,
        "INSERT INTO accounts (id, name, is_admin, created_at) VALUES ($1, $2, FALSE, $3)",
        &[&account.id.as_str(), &account.name, &ms(now)],
    )
    .await?;
    insert_key(c, &account.id, &key, now).await?;
    Ok(Account { id: account.id, name: account.name, is_admin: false, created_at: now, ingest_limit: None })
}

/// Every account, newest first by ID, from after the cursor (the primary key's index).
pub async fn list(c: &Tx<'_>, page: Page) -> StoreResult<Paged<Account>> {
    let limit = i64::from(page.limit) + 1;
    let rows = match &page.cursor {
        Some(cursor) => {
            let sql = "SELECT id, name, is_admin, created_at, ingest_rate, ingest_burst FROM accounts WHERE id < $1 ORDER BY id DESC LIMIT $2";
            rows_of(c, sql, &[cursor, &limit]).await?
        }
        None => {
            let sql = "SELECT id, name, is_admin, created_at, ingest_rate, ingest_burst FROM accounts ORDER BY id DESC LIMIT $1";
            rows_of(c, sql, &[&limit]).await?
        }
    };
    let items = rows.iter().map(account_row).collect::<StoreResult<Vec<_>>>()?;
    Ok(rows::paged(items, page.limit, |a: &Account| a.id.to_string()))
}

pub async fn get(c: &Tx<'_>, id: &AccountId) -> StoreResult<Account> {
    let row = row_of(
        c,
        "SELECT id, name, is_admin, created_at, ingest_rate, ingest_burst FROM accounts WHERE id = $1",
        &[&id.as_str()],
    )
    .await?;
    account_row(&row)
}

async fn insert_key(c: &Tx<'_>, account: &AccountId, key: &NewApiKey, now: DateTime<Utc>) -> StoreResult<()> {
    exec(
        c,
        "INSERT INTO api_keys (id, account_id, name, key_hash, prefix, created_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (key_hash) DO NOTHING",
        &[&key.id.as_str(), &account.as_str(), &key.name, &key.key_hash, &key.prefix, &ms(now)],
    )
    .await?;
    Ok(())
}

pub async fn create_key(
    c: &Tx<'_>,
    account: &AccountId,
    key: NewApiKey,
    replace_named: bool,
    now: DateTime<Utc>,
) -> StoreResult<ApiKeyRecord> {
    let owner = opt_row_of(c, "SELECT account_id FROM api_keys WHERE key_hash = $1", &[&key.key_hash]).await?;
    if let Some(owner) = owner
        && owner.try_get::<_, &str>(0)? != account.as_str()
    {
        return Err(Conflict::KeyOfAnotherAccount.into());
    }
    if replace_named {
        exec(
            c,
            "DELETE FROM api_keys WHERE account_id = $1 AND name = $2 AND key_hash <> $3",
            &[&account.as_str(), &key.name, &key.key_hash],
        )
        .await?;
    }
    insert_key(c, account, &key, now).await?;
    // The hash may already have been there (the same configured key on a restart).
    let row = row_of(
        c,
        "SELECT id, account_id, name, prefix, created_at FROM api_keys WHERE key_hash = $1",
        &[&key.key_hash],
    )
    .await?;
    let record = key_row(&row)?;
    // Another account's request with the same key may have inserted it since the check
    // above (this insert then did nothing): refused all the same, and rolled back.
    if record.account_id != *account {
        return Err(Conflict::KeyOfAnotherAccount.into());
    }
    Ok(record)
}

fn key_row(row: &Row) -> StoreResult<ApiKeyRecord> {
    Ok(ApiKeyRecord {
        id: ApiKeyId::from_trusted(row.try_get(0)?),
        account_id: AccountId::from_trusted(row.try_get(1)?),
        name: row.try_get(2)?,
        prefix: row.try_get(3)?,
        created_at: time(row.try_get(4)?),
    })
}

pub async fn list_keys(c: &Tx<'_>, account: &AccountId) -> StoreResult<Vec<ApiKeyRecord>> {
    rows_of(
        c,
        "SELECT id, account_id, name, prefix, created_at FROM api_keys WHERE account_id = $1 ORDER BY id",
        &[&account.as_str()],
    )
    .await?
    .iter()
    .map(key_row)
    .collect()
}

pub async fn delete_key(c: &Tx<'_>, account: &AccountId, id: &ApiKeyId) -> StoreResult<()> {
    let n =
        exec(c, "DELETE FROM api_keys WHERE id = $1 AND account_id = $2", &[&id.as_str(), &account.as_str()]).await?;
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

pub async fn find_owner(c: &Tx<'_>, key_hash: &str) -> StoreResult<Option<KeyOwner>> {
    let row = opt_row_of(
        c,
        "SELECT k.id, k.account_id, a.is_admin FROM api_keys k JOIN accounts a ON a.id = k.account_id
         WHERE k.key_hash = $1",
        &[&key_hash],
    )
    .await?;
    row.map(|row| {
        Ok(KeyOwner {
            key_id: ApiKeyId::from_trusted(row.try_get(0)?),
            account_id: AccountId::from_trusted(row.try_get(1)?),
            is_admin: row.try_get(2)?,
        })
    })
    .transpose()
}
