//! Projects, and the events their creation and deletion emit.

use rusqlite::{Connection, params};
use scanhook_core::scan::events::{self as derived, PROJECT_CREATED, PROJECT_DELETED};
use scanhook_core::{AccountId, ProjectId};

use super::events::emit;
use super::query::Query;
use super::rows::{self, ms, time};
use crate::StoreResult;
use crate::model::{EventScope, EventStamp, NewProject, Page, Paged, Project, ProjectPatch};

const COLUMNS: &str =
    "id, account_id, name, target, score_drop_threshold, scan_time_limit_secs, created_at, updated_at";

fn project(row: &rusqlite::Row) -> rusqlite::Result<Project> {
    Ok(Project {
        id: ProjectId::from_trusted(row.get(0)?),
        account_id: AccountId::from_trusted(row.get(1)?),
        name: row.get(2)?,
        target: row.get(3)?,
        score_drop_threshold: row.get(4)?,
        scan_time_limit_secs: row.get(5)?,
        created_at: time(row.get(6)?),
        updated_at: time(row.get(7)?),
    })
}

pub fn create(c: &Connection, account: &AccountId, new: NewProject, stamp: EventStamp) -> StoreResult<Project> {
    c.execute(
        "INSERT INTO projects (id, account_id, name, target, score_drop_threshold, scan_time_limit_secs, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
        params![
            new.id.as_str(),
            account.as_str(),
            new.name,
            new.target,
            new.score_drop_threshold,
            new.scan_time_limit_secs,
            ms(stamp.timestamp)
        ],
    )?;
    let created = get(c, account, &new.id)?;
    let payload =
        derived::project(PROJECT_CREATED, &created.id, &created.name, created.target.as_deref(), stamp.timestamp);
    emit(c, account, payload, EventScope::project(&new.id), stamp)?;
    Ok(created)
}

pub fn get(c: &Connection, account: &AccountId, id: &ProjectId) -> StoreResult<Project> {
    let mut stmt = c.prepare_cached(&format!("SELECT {COLUMNS} FROM projects WHERE id = ?1 AND account_id = ?2"))?;
    Ok(stmt.query_row([id.as_str(), account.as_str()], project)?)
}

pub fn list(c: &Connection, account: &AccountId, page: Page) -> StoreResult<Paged<Project>> {
    let items = list_query(account, &page).rows(c, project)?;
    Ok(rows::paged(items, page.limit, |p| p.id.to_string()))
}

pub(super) fn list_query(account: &AccountId, page: &Page) -> Query {
    Query::new(&format!("SELECT {COLUMNS} FROM projects"), "account_id = ?", account.to_string()).page("id", page)
}

pub fn update(
    c: &Connection,
    account: &AccountId,
    id: &ProjectId,
    patch: ProjectPatch,
    now: chrono::DateTime<chrono::Utc>,
) -> StoreResult<Project> {
    let current = get(c, account, id)?;
    c.execute(
        "UPDATE projects SET name = ?1, target = ?2, score_drop_threshold = ?3, scan_time_limit_secs = ?4, updated_at = ?5
         WHERE id = ?6 AND account_id = ?7",
        params![
            patch.name.unwrap_or(current.name),
            patch.target.unwrap_or(current.target),
            patch.score_drop_threshold.unwrap_or(current.score_drop_threshold),
            patch.scan_time_limit_secs.unwrap_or(current.scan_time_limit_secs),
            ms(now),
            id.as_str(),
            account.as_str()
        ],
    )?;
    get(c, account, id)
}

pub fn delete(c: &Connection, account: &AccountId, id: &ProjectId, stamp: EventStamp) -> StoreResult<()> {
    let gone = get(c, account, id)?;
    c.execute("DELETE FROM projects WHERE id = ?1 AND account_id = ?2", [id.as_str(), account.as_str()])?;
    let payload = derived::project(PROJECT_DELETED, &gone.id, &gone.name, gone.target.as_deref(), stamp.timestamp);
    emit(c, account, payload, EventScope::project(&gone.id), stamp)?;
    Ok(())
}
