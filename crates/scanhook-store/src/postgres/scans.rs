//! Scans and the lifecycle events they emit.
//!
//! Lock order, the same in every unit that takes both: the project's row, then the scan's
//! (a project's deletion takes them in that order too, through its cascade), so units of
//! a completion, ends and deletions queue instead of deadlocking.

use scanhook_core::scan::alerts::{CompletedScan, ProjectFacts, after_completion, progress_due};
use scanhook_core::scan::events as derived;
use scanhook_core::scan::matching::MAX_SKIPPED;
use scanhook_core::scan::{Analysis, Group, Place, Severity, pair};
use scanhook_core::{AccountId, ProjectId, ScanId, ViolationId};
use tokio_postgres::Row;

use super::events::emit;
use super::query::Query;
use super::rows::{big, int, ms, opt_int, time};
use super::{Tx, exec, opt_row_of, row_of, rows_of};
use crate::model::{
    EventScope, EventStamp, NewScan, Page, Paged, Scan, ScanFilter, ScanFinish, ScanOutcome, ScanProgress, ScanStatus,
};
use crate::{Conflict, StoreError, StoreResult};

const COLUMNS: &str = "id, account_id, project_id, status, target, rules, started_at, deadline_at, ended_at, \
     error_code, error_message, files_scanned, score, grade, tool, category, covered, root";

fn scan(row: &Row) -> StoreResult<Scan> {
    let status: String = row.try_get(3)?;
    let rules: String = row.try_get(5)?;
    let error = match (row.try_get::<_, Option<String>>(9)?, row.try_get::<_, Option<String>>(10)?) {
        (Some(code), Some(message)) => Some((code, message)),
        _ => None,
    };
    Ok(Scan {
        id: ScanId::from_trusted(row.try_get(0)?),
        account_id: AccountId::from_trusted(row.try_get(1)?),
        project_id: ProjectId::from_trusted(row.try_get(2)?),
        status: ScanStatus::from_stored(&status).unwrap_or(ScanStatus::Failed),
        target: row.try_get(4)?,
        rules: serde_json::from_str(&rules).unwrap_or_default(),
        started_at: time(row.try_get(6)?),
        deadline_at: time(row.try_get(7)?),
        ended_at: row.try_get::<_, Option<i64>>(8)?.map(time),
        error,
        files_scanned: opt_int(row, 11)?,
        score: opt_int(row, 12)?,
        grade: row.try_get(13)?,
        analysis: Analysis { tool: row.try_get(14)?, category: row.try_get(15)? },
        covered: row.try_get::<_, Option<String>>(16)?.and_then(|c| serde_json::from_str(&c).ok()).unwrap_or_default(),
        root: row.try_get(17)?,
    })
}

pub async fn start(c: &Tx<'_>, account: &AccountId, new: NewScan, stamp: EventStamp) -> StoreResult<Scan> {
    // The project stays until the unit commits (a deletion waits, then takes the scan along).
    row_of(
        c,
        "SELECT 1 FROM projects WHERE id = $1 AND account_id = $2 FOR KEY SHARE",
        &[&new.project_id.as_str(), &account.as_str()],
    )
    .await?;
    let project = super::projects::get(c, account, &new.project_id).await?;
    let target = new.target.or(project.target);
    let limit = new.time_limit_secs.unwrap_or(project.scan_time_limit_secs);
    let deadline = stamp.timestamp + chrono::Duration::seconds(i64::try_from(limit).unwrap_or(i64::MAX / 1000));
    exec(
        c,
        "INSERT INTO scans (id, account_id, project_id, status, target, rules, started_at, deadline_at, tool, category,
             root)
         VALUES ($1, $2, $3, 'running', $4, $5, $6, $7, $8, $9, $10)",
        &[
            &new.id.as_str(),
            &account.as_str(),
            &project.id.as_str(),
            &target,
            &serde_json::to_string(&new.rules)?,
            &ms(stamp.timestamp),
            &ms(deadline),
            &new.analysis.tool,
            &new.analysis.category,
            &new.root,
        ],
    )
    .await?;
    let started = get(c, account, &new.id).await?;
    let payload = derived::scan_started(
        &started.id,
        &started.project_id,
        started.target.as_deref(),
        &started.rules,
        started.started_at,
    );
    emit(c, account, payload, EventScope::project(&started.project_id), stamp).await?;
    Ok(started)
}

pub async fn get(c: &Tx<'_>, account: &AccountId, id: &ScanId) -> StoreResult<Scan> {
    let row = row_of(
        c,
        &format!("SELECT {COLUMNS} FROM scans WHERE id = $1 AND account_id = $2"),
        &[&id.as_str(), &account.as_str()],
    )
    .await?;
    scan(&row)
}

pub async fn list(
    c: &Tx<'_>,
    account: &AccountId,
    project: &ProjectId,
    filter: ScanFilter,
    page: Page,
) -> StoreResult<Paged<Scan>> {
    super::projects::get(c, account, project).await?;
    // The project is the account's (above): its scans are, and the account's index is
    // no rival to the project's.
    let items = Query::new(&format!("SELECT {COLUMNS} FROM scans"), "project_id = ?", project.to_string())
        .and_some("status = ?", filter.status.map(|s| s.as_str().to_string()))
        .page("id", &page)
        .rows(c, scan)
        .await?;
    Ok(super::rows::paged(items, page.limit, |s| s.id.to_string()))
}

/// Takes a running scan for the rest of the unit of work, holding its project's row and
/// then its own (the lock order above): two scans of one project pair findings one after
/// the other, and the scan's guarded take fails for a scan that ended (a scan ends once).
/// NO KEY UPDATE: starting another scan of the project (which only references it) is not
/// held up.
async fn running(c: &Tx<'_>, account: &AccountId, id: &ScanId) -> StoreResult<Scan> {
    let found = get(c, account, id).await?;
    row_of(c, "SELECT id FROM projects WHERE id = $1 FOR NO KEY UPDATE", &[&found.project_id.as_str()]).await?;
    let taken = opt_row_of(
        c,
        &format!(
            "UPDATE scans SET status = status WHERE id = $1 AND account_id = $2 AND status = 'running'
             RETURNING {COLUMNS}"
        ),
        &[&id.as_str(), &account.as_str()],
    )
    .await?;
    match taken {
        Some(row) => scan(&row),
        None => Err(ended(c, account, id).await),
    }
}

/// Why a scan could not be taken: it does not exist (in this account), or it ended.
async fn ended(c: &Tx<'_>, account: &AccountId, id: &ScanId) -> StoreError {
    match get(c, account, id).await {
        Ok(current) => Conflict::ScanEnded { scan: id.clone(), status: current.status }.into(),
        Err(e) => e,
    }
}

/// Ends a running scan with `status` (and `ended_at`): the guarded transition every end
/// goes through, so that of two concurrent ends exactly one wins (the other waits on the
/// row, then finds it no longer running).
async fn end(c: &Tx<'_>, account: &AccountId, id: &ScanId, status: ScanStatus, at: i64) -> StoreResult<()> {
    let changed = exec(
        c,
        "UPDATE scans SET status = $1, ended_at = $2 WHERE id = $3 AND account_id = $4 AND status = 'running'",
        &[&status.as_str(), &at, &id.as_str(), &account.as_str()],
    )
    .await?;
    if changed == 0 {
        return Err(ended(c, account, id).await);
    }
    Ok(())
}

pub async fn fail(
    c: &Tx<'_>,
    account: &AccountId,
    id: &ScanId,
    (code, message): (String, String),
    stamp: EventStamp,
) -> StoreResult<Scan> {
    let current = get(c, account, id).await?;
    end(c, account, id, ScanStatus::Failed, ms(stamp.timestamp)).await?;
    exec(c, "UPDATE scans SET error_code = $1, error_message = $2 WHERE id = $3", &[&code, &message, &id.as_str()])
        .await?;
    let payload =
        derived::scan_failed(&current.id, &current.project_id, &code, &message, current.started_at, stamp.timestamp);
    emit(c, account, payload, EventScope::project(&current.project_id), stamp).await?;
    get(c, account, id).await
}

/// One batch of a completing scan's findings (see `sqlite/scans.rs::record_findings`,
/// which this translates statement for statement).
pub async fn record_findings(
    c: &Tx<'_>,
    account: &AccountId,
    id: &ScanId,
    groups: &[Group],
    stamp: EventStamp,
) -> StoreResult<()> {
    let scan = running(c, account, id).await?;
    for group in groups {
        record_group(c, account, &scan, group, stamp).await?;
    }
    Ok(())
}

/// A violation of a group as the pairing sees it.
struct Known {
    id: ViolationId,
    line: u32,
    line_hash: Option<String>,
    last_scan: String,
    resolved_at: Option<i64>,
}

impl Known {
    fn place(&self) -> Place<'_> {
        Place { line: self.line, line_hash: self.line_hash.as_deref() }
    }
}

/// The group's violations with `status`; resolved ones most recently resolved first, at
/// most `limit`.
async fn known(c: &Tx<'_>, project: &str, group: &Group, status: &str, limit: usize) -> StoreResult<Vec<Known>> {
    let (tool, category) = (&group.analysis.tool, &group.analysis.category);
    let rows = rows_of(
        c,
        "SELECT id, line, line_hash, last_scan_id, resolved_at FROM violations
         WHERE project_id = $1 AND tool = $2 AND category = $3 AND fingerprint = $4 AND status = $5
         ORDER BY resolved_at DESC NULLS LAST, id LIMIT $6",
        &[&project, tool, category, &group.fingerprint, &status, &big(limit)],
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Known {
                id: ViolationId::from_trusted(r.try_get(0)?),
                line: int(r, 1)?,
                line_hash: r.try_get(2)?,
                last_scan: r.try_get(3)?,
                resolved_at: r.try_get(4)?,
            })
        })
        .collect()
}

async fn record_group(
    c: &Tx<'_>,
    account: &AccountId,
    scan: &Scan,
    group: &Group,
    stamp: EventStamp,
) -> StoreResult<()> {
    let (project, now) = (scan.project_id.as_str(), ms(stamp.timestamp));
    let open = known(c, project, group, "open", usize::MAX).await?;
    if open.iter().any(|v| v.last_scan == scan.id.as_str()) {
        return Ok(());
    }
    let found: Vec<Place> = group.findings.iter().map(Place::from).collect();
    let places: Vec<Place> = open.iter().map(Known::place).collect();
    let mut rest = Vec::new();
    for (finding, paired) in group.findings.iter().zip(pair(&found, &places)) {
        match paired {
            Some(k) => {
                // Guarded on its status too: a resolution by hand (which holds no project
                // lock) may have committed since the pairing read it.
                exec(
                    c,
                    "UPDATE violations SET line = $1, file = $2, uri = $3, line_hash = $4, last_scan_id = $5,
                         updated_at = $6
                     WHERE id = $7 AND status = 'open' AND last_scan_id COLLATE \"C\" <= $5",
                    &[
                        &i64::from(finding.line),
                        &finding.file,
                        &finding.uri,
                        &finding.line_hash,
                        &scan.id.as_str(),
                        &now,
                        &open[k].id.as_str(),
                    ],
                )
                .await?;
            }
            None => rest.push(finding),
        }
    }
    if rest.is_empty() {
        return Ok(());
    }
    // Regressions: the findings left may be violations resolved earlier, come back.
    let resolved = known(c, project, group, "resolved", rest.len() + MAX_SKIPPED).await?;
    let found: Vec<Place> = rest.iter().map(|f| Place::from(*f)).collect();
    let places: Vec<Place> = resolved.iter().map(Known::place).collect();
    for (finding, paired) in rest.into_iter().zip(pair(&found, &places)) {
        let (violation, reopened_from, action) = match paired {
            Some(k) => {
                let violation = resolved[k].id.clone();
                exec(
                    c,
                    "UPDATE violations SET status = 'open', resolved_by = NULL, resolved_at = NULL, severity = $1,
                         line = $2, file = $3, uri = $4, line_hash = $5, message = $6, suggestion = $7,
                         last_scan_id = $8, updated_at = $9
                     WHERE id = $10 AND status = 'resolved'",
                    &[
                        &finding.severity.as_str(),
                        &i64::from(finding.line),
                        &finding.file,
                        &finding.uri,
                        &finding.line_hash,
                        &finding.message,
                        &finding.suggestion,
                        &scan.id.as_str(),
                        &now,
                        &violation.as_str(),
                    ],
                )
                .await?;
                (violation, resolved[k].resolved_at.map(time), "reopened")
            }
            None => {
                let violation = ViolationId::generate();
                exec(
                    c,
                    "INSERT INTO violations (id, account_id, project_id, fingerprint, rule, severity, file, line,
                         message, suggestion, status, first_scan_id, last_scan_id, created_at, updated_at, tool,
                         category, uri, line_hash)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', $11, $11, $12, $12, $13, $14, $15, $16)",
                    &[
                        &violation.as_str(),
                        &account.as_str(),
                        &project,
                        &finding.fingerprint,
                        &finding.rule,
                        &finding.severity.as_str(),
                        &finding.file,
                        &i64::from(finding.line),
                        &finding.message,
                        &finding.suggestion,
                        &scan.id.as_str(),
                        &now,
                        &group.analysis.tool,
                        &group.analysis.category,
                        &finding.uri,
                        &finding.line_hash,
                    ],
                )
                .await?;
                (violation, None, "detected")
            }
        };
        super::violations::record_change(c, &violation, action, now, Some(&scan.id), None).await?;
        let scope = EventScope::project(&scan.project_id).with_severity(finding.severity);
        let detected = derived::violation_detected(&violation, &scan.id, &scan.project_id, finding, reopened_from);
        emit(c, account, detected, scope.clone(), stamp).await?;
        if finding.severity == Severity::Critical {
            emit(c, account, derived::issue_critical(&violation, &scan.id, finding), scope, stamp).await?;
        }
    }
    Ok(())
}

/// Resolves up to `limit` open violations of the completing scan's project, of the
/// analyses it `covered`, that its findings did not include; returns how many.
pub async fn resolve_unseen(
    c: &Tx<'_>,
    account: &AccountId,
    id: &ScanId,
    covered: &[Analysis],
    limit: usize,
    stamp: EventStamp,
) -> StoreResult<usize> {
    let scan = running(c, account, id).await?;
    let now = ms(stamp.timestamp);
    let mut gone: Vec<(ViolationId, String, Severity, &Analysis)> = Vec::new();
    for analysis in covered {
        let left = limit - gone.len();
        if left == 0 {
            break;
        }
        let rows = rows_of(
            c,
            "SELECT id, rule, severity FROM violations
             WHERE project_id = $1 AND tool = $2 AND category = $3 AND status = 'open' AND last_scan_id COLLATE \"C\" < $4
             LIMIT $5",
            &[&scan.project_id.as_str(), &analysis.tool, &analysis.category, &scan.id.as_str(), &big(left)],
        )
        .await?;
        for r in rows {
            let severity: String = r.try_get(2)?;
            let severity = Severity::parse(&severity).unwrap_or(Severity::Info);
            gone.push((ViolationId::from_trusted(r.try_get(0)?), r.try_get(1)?, severity, analysis));
        }
    }
    for (violation, rule, severity, analysis) in &gone {
        let changed = exec(
            c,
            "UPDATE violations SET status = 'resolved', resolved_by = 'scan', resolved_at = $1, last_scan_id = $2,
                 updated_at = $1
             WHERE id = $3 AND status = 'open'",
            &[&now, &scan.id.as_str(), &violation.as_str()],
        )
        .await?;
        if changed == 0 {
            continue;
        }
        super::violations::record_change(c, violation, "resolved", now, Some(&scan.id), Some("scan")).await?;
        let what = (rule.as_str(), *analysis);
        let payload =
            derived::violation_resolved(violation, Some(&scan.id), &scan.project_id, what, "scan", stamp.timestamp);
        emit(c, account, payload, EventScope::project(&scan.project_id).with_severity(*severity), stamp).await?;
    }
    Ok(gone.len())
}

/// The last unit of a completion: ends the scan, emits `scan.completed`, and raises the
/// alerts (`scan::alerts::after_completion`).
pub async fn finish(
    c: &Tx<'_>,
    account: &AccountId,
    id: &ScanId,
    done: ScanFinish,
    stamp: EventStamp,
) -> StoreResult<ScanOutcome> {
    let scan = running(c, account, id).await?;
    let now = ms(stamp.timestamp);
    // Counted from the history rather than carried along, so a completion that was sent
    // again after being cut off reports what the whole scan changed.
    let counts = row_of(
        c,
        "SELECT COUNT(*) FILTER (WHERE h.action IN ('detected', 'reopened')),
                COUNT(*) FILTER (WHERE h.action = 'reopened'),
                COUNT(*) FILTER (WHERE h.action IN ('detected', 'reopened') AND v.severity = 'critical'),
                COUNT(*) FILTER (WHERE h.action = 'resolved')
         FROM violation_history h JOIN violations v ON v.id = h.violation_id WHERE h.scan_id = $1",
        &[&scan.id.as_str()],
    )
    .await?;
    let (detected, reopened, new_criticals, resolved): (u64, u64, u64, u64) =
        (int(&counts, 0)?, int(&counts, 1)?, int(&counts, 2)?, int(&counts, 3)?);
    let previous_score = opt_row_of(
        c,
        "SELECT score FROM scans WHERE project_id = $1 AND status = 'completed' AND score IS NOT NULL
         ORDER BY ended_at DESC LIMIT 1",
        &[&scan.project_id.as_str()],
    )
    .await?
    .map(|r| int::<u32>(&r, 0))
    .transpose()?;
    end(c, account, id, ScanStatus::Completed, now).await?;
    exec(
        c,
        "UPDATE scans SET files_scanned = $1, score = $2, grade = $3, covered = $4 WHERE id = $5",
        &[
            &done.files_scanned.map(big),
            &done.score.map(i64::from),
            &done.grade,
            &serde_json::to_string(&done.covered)?,
            &scan.id.as_str(),
        ],
    )
    .await?;
    let completed = derived::Completed {
        rules: &scan.rules,
        counts: done.counts,
        files_scanned: done.files_scanned,
        score: done.score,
        grade: done.grade.as_deref(),
    };
    emit(
        c,
        account,
        derived::scan_completed(&scan.id, &scan.project_id, &completed, scan.started_at, stamp.timestamp),
        EventScope::project(&scan.project_id),
        stamp,
    )
    .await?;
    let project = super::projects::get(c, account, &scan.project_id).await?;
    let facts = ProjectFacts {
        id: &project.id,
        name: &project.name,
        target: project.target.as_deref(),
        score_drop_threshold: project.score_drop_threshold,
    };
    let completed = CompletedScan {
        id: &scan.id,
        previous_score,
        score: done.score,
        grade: done.grade.as_deref(),
        criticals_opened: new_criticals,
        at: stamp.timestamp,
    };
    for raised in after_completion(&facts, &completed) {
        emit(c, account, raised, EventScope::project(&project.id), stamp).await?;
    }
    // Every tool's: the project's open violations, not only this scan's analyses'.
    let open = row_of(
        c,
        "SELECT COUNT(*) FROM violations WHERE project_id = $1 AND status = 'open'",
        &[&scan.project_id.as_str()],
    )
    .await?;
    let open: u64 = int(&open, 0)?;
    Ok(ScanOutcome { scan: get(c, account, id).await?, detected, reopened, resolved, open })
}

pub async fn progress(
    c: &Tx<'_>,
    account: &AccountId,
    id: &ScanId,
    progress: ScanProgress,
    stamp: EventStamp,
) -> StoreResult<(Scan, bool)> {
    // The scan's row only (no project lock: progress pairs nothing), guarded as running.
    let taken = opt_row_of(
        c,
        &format!(
            "UPDATE scans SET status = status WHERE id = $1 AND account_id = $2 AND status = 'running'
             RETURNING {COLUMNS}, progress_sent_at"
        ),
        &[&id.as_str(), &account.as_str()],
    )
    .await?;
    let Some(row) = taken else { return Err(ended(c, account, id).await) };
    let scan = scan(&row)?;
    let last_sent: Option<i64> = row.try_get(18)?;
    let send = progress_due(last_sent.map(time), stamp.timestamp, progress.min_interval);
    exec(
        c,
        "UPDATE scans SET percent = $1, files_scanned = COALESCE($2, files_scanned), progress_message = $3,
             progress_sent_at = CASE WHEN $4 THEN $5 ELSE progress_sent_at END
         WHERE id = $6",
        &[
            &i64::from(progress.percent),
            &progress.files_scanned.map(big),
            &progress.message,
            &send,
            &ms(stamp.timestamp),
            &id.as_str(),
        ],
    )
    .await?;
    if send {
        let payload = derived::scan_progress(
            &scan.id,
            &scan.project_id,
            progress.percent,
            progress.files_scanned,
            progress.message.as_deref(),
        );
        emit(c, account, payload, EventScope::project(&scan.project_id), stamp).await?;
    }
    Ok((get(c, account, id).await?, send))
}

pub async fn time_out(c: &Tx<'_>, stamp: EventStamp, limit: u32) -> StoreResult<u64> {
    // Rows another node's sweep (or a completion) holds are skipped: that one ends them.
    let rows = rows_of(
        c,
        &format!(
            "SELECT {COLUMNS} FROM scans WHERE status = 'running' AND deadline_at <= $1 ORDER BY deadline_at LIMIT $2
             FOR UPDATE SKIP LOCKED"
        ),
        &[&ms(stamp.timestamp), &i64::from(limit)],
    )
    .await?;
    let mut timed_out = 0;
    for row in &rows {
        let s = scan(row)?;
        // Guarded: a scan that ended meanwhile is skipped.
        match end(c, &s.account_id, &s.id, ScanStatus::TimedOut, ms(stamp.timestamp)).await {
            Ok(()) => timed_out += 1,
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
        emit(
            c,
            &s.account_id,
            derived::scan_timeout(&s.id, &s.project_id, s.started_at, s.deadline_at),
            EventScope::project(&s.project_id),
            stamp,
        )
        .await?;
    }
    Ok(timed_out)
}
