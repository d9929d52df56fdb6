//! Projects, and the events their creation and deletion emit.

use scanhook_core::scan::events::{self as derived, PROJECT_CREATED, PROJECT_DELETED};
use scanhook_core::{AccountId, ProjectId};
use tokio_postgres::Row;

use super::events::emit;
use super::query::Query;
use super::rows::{self, int, ms, time};
use super::{Tx, exec, row_of};
use crate::StoreResult;
use crate::model::{EventScope, EventStamp, NewProject, Page, Paged, Project, ProjectPatch};

const COLUMNS: &str =
    "id, account_id, name, target, score_drop_threshold, scan_time_limit_secs, created_at, updated_at";

fn project(row: &Row) -> StoreResult<Project> {
    Ok(Project {
        id: ProjectId::from_trusted(row.try_get(0)?),
        account_id: AccountId::from_trusted(row.try_get(1)?),
        name: row.try_get(2)?,
        target: row.try_get(3)?,
        score_drop_threshold: int(row, 4)?,
        scan_time_limit_secs: int(row, 5)?,
        created_at: time(row.try_get(6)?),
        updated_at: time(row.try_get(7)?),
    })
}

pub async fn create(c: &Tx<'_>, account: &AccountId, new: NewProject, stamp: EventStamp) -> StoreResult<Project> {
    exec(
        c,
        "INSERT INTO projects (id, account_id, name, target, score_drop_threshold, scan_time_limit_secs, created_at,
             updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        &[
            &new.id.as_str(),
            &account.as_str(),
            &new.name,
            &new.target,
            &i64::from(new.score_drop_threshold),
            &rows::big(new.scan_time_limit_secs),
            &ms(stamp.timestamp),
        ],
    )
    .await?;
    let created = get(c, account, &new.id).await?;
    let payload =
        derived::project(PROJECT_CREATED, &created.id, &created.name, created.target.as_deref(), stamp.timestamp);
    emit(c, account, payload, EventScope::project(&new.id), stamp).await?;
    Ok(created)
}

pub async fn get(c: &Tx<'_>, account: &AccountId, id: &ProjectId) -> StoreResult<Project> {
    let row = row_of(
        c,
        &format!("SELECT {COLUMNS} FROM projects WHERE id = $1 AND account_id = $2"),
        &[&id.as_str(), &account.as_str()],
    )
    .await?;
    project(&row)
}

pub async fn list(c: &Tx<'_>, account: &AccountId, page: Page) -> StoreResult<Paged<Project>> {
    let items = Query::new(&format!("SELECT {COLUMNS} FROM projects"), "account_id = ?", account.to_string())
        .page("id", &page)
        .rows(c, project)
        .await?;
    Ok(rows::paged(items, page.limit, |p| p.id.to_string()))
}

pub async fn update(
    c: &Tx<'_>,
    account: &AccountId,
    id: &ProjectId,
    patch: ProjectPatch,
    now: chrono::DateTime<chrono::Utc>,
) -> StoreResult<Project> {
    // Read, merged and written with the row held from the read on (see `webhooks::update`).
    row_of(
        c,
        "SELECT 1 FROM projects WHERE id = $1 AND account_id = $2 FOR NO KEY UPDATE",
        &[&id.as_str(), &account.as_str()],
    )
    .await?;
    let current = get(c, account, id).await?;
    exec(
        c,
        "UPDATE projects SET name = $1, target = $2, score_drop_threshold = $3, scan_time_limit_secs = $4,
             updated_at = $5
         WHERE id = $6 AND account_id = $7",
        &[
            &patch.name.unwrap_or(current.name),
            &patch.target.unwrap_or(current.target),
            &i64::from(patch.score_drop_threshold.unwrap_or(current.score_drop_threshold)),
            &rows::big(patch.scan_time_limit_secs.unwrap_or(current.scan_time_limit_secs)),
            &ms(now),
            &id.as_str(),
            &account.as_str(),
        ],
    )
    .await?;
    get(c, account, id).await
}

pub async fn delete(c: &Tx<'_>, account: &AccountId, id: &ProjectId, stamp: EventStamp) -> StoreResult<()> {
    // What it deleted, or NotFound: of two concurrent deletions one emits the event.
    let row = row_of(
        c,
        &format!("DELETE FROM projects WHERE id = $1 AND account_id = $2 RETURNING {COLUMNS}"),
        &[&id.as_str(), &account.as_str()],
    )
    .await?;
    let gone = project(&row)?;
    let payload = derived::project(PROJECT_DELETED, &gone.id, &gone.name, gone.target.as_deref(), stamp.timestamp);
    emit(c, account, payload, EventScope::project(&gone.id), stamp).await?;
    Ok(())
}
