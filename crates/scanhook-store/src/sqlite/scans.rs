//! Scans and the lifecycle events they emit.

use rusqlite::{Connection, params};
use scanhook_core::scan::events as derived;
use scanhook_core::{AccountId, ProjectId, ScanId};

use super::events::emit;
use super::rows::{ms, time};
use crate::model::{EventStamp, NewScan, Scan, ScanStatus};
use crate::{StoreError, StoreResult};

const COLUMNS: &str =
    "id, account_id, project_id, status, target, rules, started_at, deadline_at, ended_at, error_code, error_message";

fn scan(row: &rusqlite::Row) -> rusqlite::Result<Scan> {
    let status: String = row.get(3)?;
    let rules: String = row.get(5)?;
    let error = match (row.get::<_, Option<String>>(9)?, row.get::<_, Option<String>>(10)?) {
        (Some(code), Some(message)) => Some((code, message)),
        _ => None,
    };
    Ok(Scan {
        id: ScanId::from_trusted(row.get(0)?),
        account_id: AccountId::from_trusted(row.get(1)?),
        project_id: ProjectId::from_trusted(row.get(2)?),
        status: ScanStatus::from_stored(&status).unwrap_or(ScanStatus::Failed),
        target: row.get(4)?,
        rules: serde_json::from_str(&rules).unwrap_or_default(),
        started_at: time(row.get(6)?),
        deadline_at: time(row.get(7)?),
        ended_at: row.get::<_, Option<i64>>(8)?.map(time),
        error,
    })
}

pub fn start(c: &Connection, account: &AccountId, new: NewScan, stamp: EventStamp) -> StoreResult<Scan> {
    let project = super::projects::get(c, account, &new.project_id)?;
    let target = new.target.or(project.target);
    let limit = new.time_limit_secs.unwrap_or(project.scan_time_limit_secs);
    let deadline = stamp.timestamp + chrono::Duration::seconds(i64::try_from(limit).unwrap_or(i64::MAX / 1000));
    c.execute(
        "INSERT INTO scans (id, account_id, project_id, status, target, rules, started_at, deadline_at)
         VALUES (?1, ?2, ?3, 'running', ?4, ?5, ?6, ?7)",
        params![
            new.id.as_str(),
            account.as_str(),
            project.id.as_str(),
            target,
            serde_json::to_string(&new.rules)?,
            ms(stamp.timestamp),
            ms(deadline)
        ],
    )?;
    let started = get(c, account, &new.id)?;
    let payload = derived::scan_started(
        &started.id,
        &started.project_id,
        started.target.as_deref(),
        &started.rules,
        started.started_at,
    );
    emit(c, account, payload, stamp)?;
    Ok(started)
}

pub fn get(c: &Connection, account: &AccountId, id: &ScanId) -> StoreResult<Scan> {
    let mut stmt = c.prepare_cached(&format!("SELECT {COLUMNS} FROM scans WHERE id = ?1 AND account_id = ?2"))?;
    Ok(stmt.query_row([id.as_str(), account.as_str()], scan)?)
}

/// The scan, if it is still running; a scan ends once.
fn running(c: &Connection, account: &AccountId, id: &ScanId) -> StoreResult<Scan> {
    let current = get(c, account, id)?;
    if current.status != ScanStatus::Running {
        return Err(StoreError::Conflict(format!("scan {id} already ended ({})", current.status.as_str())));
    }
    Ok(current)
}

pub fn fail(
    c: &Connection,
    account: &AccountId,
    id: &ScanId,
    (code, message): (String, String),
    stamp: EventStamp,
) -> StoreResult<Scan> {
    let current = running(c, account, id)?;
    c.execute(
        "UPDATE scans SET status = 'failed', ended_at = ?1, error_code = ?2, error_message = ?3 WHERE id = ?4",
        params![ms(stamp.timestamp), code, message, id.as_str()],
    )?;
    let payload =
        derived::scan_failed(&current.id, &current.project_id, &code, &message, current.started_at, stamp.timestamp);
    emit(c, account, payload, stamp)?;
    get(c, account, id)
}
