//! The audit log: appending entries and reading an account's, newest first.

use scanhook_core::audit::AuditAction;
use scanhook_core::{AccountId, ApiKeyId, AuditEntryId};
use tokio_postgres::Row;

use super::query::Query;
use super::rows::{self, ms, time};
use super::{Tx, exec};
use crate::model::{AuditEntry, AuditFilter, Page, Paged};
use crate::{StoreError, StoreResult};

pub async fn record(c: &Tx<'_>, entry: AuditEntry) -> StoreResult<()> {
    exec(
        c,
        "INSERT INTO audit_log (id, account_id, key_id, at, action, target_id, changes)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &entry.id.as_str(),
            &entry.account_id.as_str(),
            &entry.key_id.as_str(),
            &ms(entry.at),
            &entry.action.as_str(),
            &entry.target_id,
            &serde_json::to_string(&entry.changes)?,
        ],
    )
    .await?;
    Ok(())
}

fn entry(r: &Row) -> StoreResult<AuditEntry> {
    let action: String = r.try_get(4)?;
    let action = AuditAction::parse(&action).map_err(|e| StoreError::Backend(Box::new(e)))?;
    let changes: String = r.try_get(6)?;
    Ok(AuditEntry {
        id: AuditEntryId::from_trusted(r.try_get(0)?),
        account_id: AccountId::from_trusted(r.try_get(1)?),
        key_id: ApiKeyId::from_trusted(r.try_get(2)?),
        at: time(r.try_get(3)?),
        action,
        target_id: r.try_get(5)?,
        changes: serde_json::from_str(&changes).unwrap_or_default(),
    })
}

pub async fn list(c: &Tx<'_>, account: &AccountId, filter: AuditFilter, page: Page) -> StoreResult<Paged<AuditEntry>> {
    let items = Query::new(
        "SELECT id, account_id, key_id, at, action, target_id, changes FROM audit_log",
        "account_id = ?",
        account.to_string(),
    )
    .and_some("action = ?", filter.action.map(|a| a.as_str().to_string()))
    .and_some("target_id = ?", filter.target_id.clone())
    .and_some("at >= ?", filter.since.map(ms))
    .and_some("at < ?", filter.until.map(ms))
    .page("id", &page)
    .rows(c, entry)
    .await?;
    Ok(rows::paged(items, page.limit, |e| e.id.to_string()))
}
