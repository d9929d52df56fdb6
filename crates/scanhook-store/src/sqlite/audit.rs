//! The audit log: appending entries and reading an account's, newest first.

use rusqlite::{Connection, params};
use scanhook_core::audit::AuditAction;
use scanhook_core::{AccountId, ApiKeyId, AuditEntryId};

use super::query::Query;
use super::rows::{self, ms, time};
use crate::StoreResult;
use crate::model::{AuditEntry, AuditFilter, Page, Paged};

pub fn record(c: &Connection, entry: AuditEntry) -> StoreResult<()> {
    c.prepare_cached(
        "INSERT INTO audit_log (id, account_id, key_id, at, action, target_id, changes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        entry.id.as_str(),
        entry.account_id.as_str(),
        entry.key_id.as_str(),
        ms(entry.at),
        entry.action.as_str(),
        entry.target_id,
        serde_json::to_string(&entry.changes)?,
    ])?;
    Ok(())
}

fn entry(r: &rusqlite::Row) -> rusqlite::Result<AuditEntry> {
    let action: String = r.get(4)?;
    let action = AuditAction::parse(&action)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, Box::new(e)))?;
    let changes: String = r.get(6)?;
    Ok(AuditEntry {
        id: AuditEntryId::from_trusted(r.get(0)?),
        account_id: AccountId::from_trusted(r.get(1)?),
        key_id: ApiKeyId::from_trusted(r.get(2)?),
        at: time(r.get(3)?),
        action,
        target_id: r.get(5)?,
        changes: serde_json::from_str(&changes).unwrap_or_default(),
    })
}

pub fn list(c: &Connection, account: &AccountId, filter: AuditFilter, page: Page) -> StoreResult<Paged<AuditEntry>> {
    let items = list_query(account, &filter, &page).rows(c, entry)?;
    Ok(rows::paged(items, page.limit, |e| e.id.to_string()))
}

pub(super) fn list_query(account: &AccountId, filter: &AuditFilter, page: &Page) -> Query {
    Query::new(
        "SELECT id, account_id, key_id, at, action, target_id, changes FROM audit_log",
        "account_id = ?",
        account.to_string(),
    )
    .and_some("action = ?", filter.action.map(|a| a.as_str().to_string()))
    .and_some("target_id = ?", filter.target_id.clone())
    .and_some("at >= ?", filter.since.map(ms))
    .and_some("at < ?", filter.until.map(ms))
    .page("id", page)
}
