//! Violations: listing a project's, and resolving one by hand.

use scanhook_core::scan::events as derived;
use scanhook_core::scan::{Analysis, Finding, Severity};
use scanhook_core::{AccountId, ProjectId, ScanId, ViolationId};
use tokio_postgres::Row;

use super::events::emit;
use super::query::Query;
use super::rows::{self, int, ms, time};
use super::{Tx, exec, row_of, rows_of};
use crate::model::{EventScope, EventStamp, Page, Paged, Violation, ViolationChange, ViolationCounts, ViolationFilter};
use crate::{Conflict, StoreError, StoreResult};

const COLUMNS: &str = "id, project_id, fingerprint, rule, severity, file, line, message, suggestion, status, \
     first_scan_id, last_scan_id, resolved_by, resolved_at, created_at, tool, category, uri, line_hash";

fn violation(r: &Row) -> StoreResult<Violation> {
    let severity: String = r.try_get(4)?;
    let severity = Severity::parse(&severity).map_err(|e| StoreError::Backend(Box::new(e)))?;
    Ok(Violation {
        id: ViolationId::from_trusted(r.try_get(0)?),
        project_id: ProjectId::from_trusted(r.try_get(1)?),
        finding: Finding {
            fingerprint: r.try_get(2)?,
            rule: r.try_get(3)?,
            severity,
            file: r.try_get(5)?,
            uri: r.try_get(17)?,
            line: int(r, 6)?,
            message: r.try_get(7)?,
            suggestion: r.try_get(8)?,
            line_hash: r.try_get(18)?,
            analysis: Analysis { tool: r.try_get(15)?, category: r.try_get(16)? },
        },
        open: r.try_get::<_, &str>(9)? == "open",
        first_scan_id: ScanId::from_trusted(r.try_get(10)?),
        last_scan_id: ScanId::from_trusted(r.try_get(11)?),
        resolved_by: r.try_get(12)?,
        resolved_at: r.try_get::<_, Option<i64>>(13)?.map(time),
        created_at: time(r.try_get(14)?),
    })
}

pub async fn count(c: &Tx<'_>, account: &AccountId, project: &ProjectId) -> StoreResult<ViolationCounts> {
    super::projects::get(c, account, project).await?;
    let rows = rows_of(
        c,
        "SELECT status, severity, COUNT(*) FROM violations WHERE project_id = $1 GROUP BY status, severity",
        &[&project.as_str()],
    )
    .await?;
    let mut counts = ViolationCounts::default();
    for r in rows {
        counts.add(r.try_get(0)?, r.try_get(1)?, r.try_get::<_, i64>(2)?.max(0) as u64);
    }
    Ok(counts)
}

pub async fn list(
    c: &Tx<'_>,
    account: &AccountId,
    project: &ProjectId,
    filter: ViolationFilter,
    page: Page,
) -> StoreResult<Paged<Violation>> {
    super::projects::get(c, account, project).await?;
    let status = filter.open.map(|open| if open { "open" } else { "resolved" });
    let items = Query::new(&format!("SELECT {COLUMNS} FROM violations"), "project_id = ?", project.to_string())
        .and("account_id = ?", account.to_string())
        .and_some("status = ?", status.map(str::to_string))
        .and_some("severity = ?", filter.severity.map(|s| s.as_str().to_string()))
        .and_some("tool = ?", filter.tool.clone())
        .page("id", &page)
        .rows(c, violation)
        .await?;
    Ok(rows::paged(items, page.limit, |v| v.id.to_string()))
}

async fn get(c: &Tx<'_>, account: &AccountId, id: &ViolationId) -> StoreResult<Violation> {
    let row = row_of(
        c,
        &format!("SELECT {COLUMNS} FROM violations WHERE id = $1 AND account_id = $2"),
        &[&id.as_str(), &account.as_str()],
    )
    .await?;
    violation(&row)
}

/// The violation and what happened to it, oldest first.
pub async fn get_with_history(
    c: &Tx<'_>,
    account: &AccountId,
    id: &ViolationId,
) -> StoreResult<(Violation, Vec<ViolationChange>)> {
    let found = get(c, account, id).await?;
    let history = rows_of(
        c,
        r#"SELECT action, at, scan_id, "by" FROM violation_history WHERE violation_id = $1 ORDER BY seq"#,
        &[&id.as_str()],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(ViolationChange {
            action: r.try_get(0)?,
            at: time(r.try_get(1)?),
            scan_id: r.try_get::<_, Option<String>>(2)?.map(ScanId::from_trusted),
            by: r.try_get(3)?,
        })
    })
    .collect::<StoreResult<_>>()?;
    Ok((found, history))
}

/// Appends to a violation's history.
pub async fn record_change(
    c: &Tx<'_>,
    id: &ViolationId,
    action: &str,
    at: i64,
    scan: Option<&ScanId>,
    by: Option<&str>,
) -> StoreResult<()> {
    exec(
        c,
        r#"INSERT INTO violation_history (violation_id, action, at, scan_id, "by") VALUES ($1, $2, $3, $4, $5)"#,
        &[&id.as_str(), &action, &at, &scan.map(ScanId::as_str), &by],
    )
    .await?;
    Ok(())
}

pub async fn resolve(
    c: &Tx<'_>,
    account: &AccountId,
    id: &ViolationId,
    resolved_by: &str,
    stamp: EventStamp,
) -> StoreResult<Violation> {
    let current = get(c, account, id).await?;
    // Guarded: of two concurrent resolutions exactly one wins (the other waits on the row,
    // then finds it resolved).
    let changed = exec(
        c,
        "UPDATE violations SET status = 'resolved', resolved_by = $1, resolved_at = $2, updated_at = $2
         WHERE id = $3 AND account_id = $4 AND status = 'open'",
        &[&resolved_by, &ms(stamp.timestamp), &id.as_str(), &account.as_str()],
    )
    .await?;
    if changed == 0 {
        return Err(Conflict::ViolationResolved { violation: id.clone() }.into());
    }
    record_change(c, id, "resolved", ms(stamp.timestamp), None, Some(resolved_by)).await?;
    let payload = derived::violation_resolved(
        id,
        Some(&current.last_scan_id),
        &current.project_id,
        (&current.finding.rule, &current.finding.analysis),
        resolved_by,
        stamp.timestamp,
    );
    emit(c, account, payload, EventScope::project(&current.project_id).with_severity(current.finding.severity), stamp)
        .await?;
    get(c, account, id).await
}
