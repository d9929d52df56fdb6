//! Violations: listing a project's, and resolving one by hand.

use rusqlite::types::Type;
use rusqlite::{Connection, params};
use scanhook_core::scan::events as derived;
use scanhook_core::scan::{Analysis, Finding, Severity};
use scanhook_core::{AccountId, ProjectId, ScanId, ViolationId};

use super::events::emit;
use super::query::Query;
use super::rows::{self, ms, time};
use crate::model::{EventScope, EventStamp, Page, Paged, Violation, ViolationChange, ViolationCounts, ViolationFilter};
use crate::{Conflict, StoreResult};

const COLUMNS: &str = "id, project_id, fingerprint, rule, severity, file, line, message, suggestion, status, \
     first_scan_id, last_scan_id, resolved_by, resolved_at, created_at, tool, category, uri, line_hash";

fn violation(r: &rusqlite::Row) -> rusqlite::Result<Violation> {
    let severity: String = r.get(4)?;
    let severity = Severity::parse(&severity)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(4, Type::Text, Box::new(e)))?;
    Ok(Violation {
        id: ViolationId::from_trusted(r.get(0)?),
        project_id: ProjectId::from_trusted(r.get(1)?),
        finding: Finding {
            fingerprint: r.get(2)?,
            rule: r.get(3)?,
            severity,
            file: r.get(5)?,
            uri: r.get(17)?,
            line: r.get(6)?,
            message: r.get(7)?,
            suggestion: r.get(8)?,
            line_hash: r.get(18)?,
            analysis: Analysis { tool: r.get(15)?, category: r.get(16)? },
        },
        open: r.get::<_, String>(9)? == "open",
        first_scan_id: ScanId::from_trusted(r.get(10)?),
        last_scan_id: ScanId::from_trusted(r.get(11)?),
        resolved_by: r.get(12)?,
        resolved_at: r.get::<_, Option<i64>>(13)?.map(time),
        created_at: time(r.get(14)?),
    })
}

pub fn list(
    c: &Connection,
    account: &AccountId,
    project: &ProjectId,
    filter: ViolationFilter,
    page: Page,
) -> StoreResult<Paged<Violation>> {
    super::projects::get(c, account, project)?;
    let items = list_query(account, project, &filter, &page).rows(c, violation)?;
    Ok(rows::paged(items, page.limit, |v| v.id.to_string()))
}

pub(super) fn list_query(account: &AccountId, project: &ProjectId, filter: &ViolationFilter, page: &Page) -> Query {
    let status = filter.open.map(|open| if open { "open" } else { "resolved" });
    Query::new(&format!("SELECT {COLUMNS} FROM violations"), "project_id = ?", project.to_string())
        .and("account_id = ?", account.to_string())
        .and_some("status = ?", status.map(str::to_string))
        .and_some("severity = ?", filter.severity.map(|s| s.as_str().to_string()))
        .and_some("tool = ?", filter.tool.clone())
        .page("id", page)
}

pub fn count(c: &Connection, account: &AccountId, project: &ProjectId) -> StoreResult<ViolationCounts> {
    super::projects::get(c, account, project)?;
    let mut stmt = c.prepare_cached(COUNT)?;
    let mut rows = stmt.query([project.as_str()])?;
    let mut counts = ViolationCounts::default();
    while let Some(r) = rows.next()? {
        counts.add(&r.get::<_, String>(0)?, &r.get::<_, String>(1)?, r.get::<_, i64>(2)?.max(0) as u64);
    }
    Ok(counts)
}

/// A project's violations by status and severity, from `violations_severity` alone.
pub(super) const COUNT: &str =
    "SELECT status, severity, COUNT(*) FROM violations WHERE project_id = ?1 GROUP BY status, severity";

fn get(c: &Connection, account: &AccountId, id: &ViolationId) -> StoreResult<Violation> {
    let mut stmt = c.prepare_cached(&format!("SELECT {COLUMNS} FROM violations WHERE id = ?1 AND account_id = ?2"))?;
    Ok(stmt.query_row([id.as_str(), account.as_str()], violation)?)
}

/// The violation and what happened to it, oldest first.
pub fn get_with_history(
    c: &Connection,
    account: &AccountId,
    id: &ViolationId,
) -> StoreResult<(Violation, Vec<ViolationChange>)> {
    let found = get(c, account, id)?;
    let mut stmt =
        c.prepare_cached("SELECT action, at, scan_id, by FROM violation_history WHERE violation_id = ?1 ORDER BY seq")?;
    let history = stmt
        .query_map([id.as_str()], |r| {
            Ok(ViolationChange {
                action: r.get(0)?,
                at: time(r.get(1)?),
                scan_id: r.get::<_, Option<String>>(2)?.map(ScanId::from_trusted),
                by: r.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok((found, history))
}

/// Appends to a violation's history.
pub fn record_change(
    c: &Connection,
    id: &ViolationId,
    action: &str,
    at: i64,
    scan: Option<&ScanId>,
    by: Option<&str>,
) -> StoreResult<()> {
    let mut stmt = c.prepare_cached(
        "INSERT INTO violation_history (violation_id, action, at, scan_id, by) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    stmt.execute(params![id.as_str(), action, at, scan.map(ScanId::as_str), by])?;
    Ok(())
}

pub fn resolve(
    c: &Connection,
    account: &AccountId,
    id: &ViolationId,
    resolved_by: &str,
    stamp: EventStamp,
) -> StoreResult<Violation> {
    let current = get(c, account, id)?;
    // Guarded: of two concurrent resolutions exactly one wins.
    let changed = c.execute(
        "UPDATE violations SET status = 'resolved', resolved_by = ?1, resolved_at = ?2, updated_at = ?2
         WHERE id = ?3 AND account_id = ?4 AND status = 'open'",
        params![resolved_by, ms(stamp.timestamp), id.as_str(), account.as_str()],
    )?;
    if changed == 0 {
        return Err(Conflict::ViolationResolved { violation: id.clone() }.into());
    }
    record_change(c, id, "resolved", ms(stamp.timestamp), None, Some(resolved_by))?;
    let payload = derived::violation_resolved(
        id,
        Some(&current.last_scan_id),
        &current.project_id,
        (&current.finding.rule, &current.finding.analysis),
        resolved_by,
        stamp.timestamp,
    );
    emit(c, account, payload, EventScope::project(&current.project_id).with_severity(current.finding.severity), stamp)?;
    get(c, account, id)
}
