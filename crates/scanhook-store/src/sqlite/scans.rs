//! Scans and the lifecycle events they emit.

use rusqlite::{Connection, OptionalExtension, params};
use scanhook_core::scan::alerts::{CompletedScan, ProjectFacts, after_completion, progress_due};
use scanhook_core::scan::events as derived;
use scanhook_core::scan::matching::MAX_SKIPPED;
use scanhook_core::scan::{Analysis, Group, Place, Severity, pair};
use scanhook_core::{AccountId, ProjectId, ScanId, ViolationId};

use super::events::emit;
use super::query::Query;
use super::rows::{ms, time};
use crate::model::{
    EventScope, EventStamp, NewScan, Page, Paged, Scan, ScanFilter, ScanFinish, ScanOutcome, ScanProgress, ScanStatus,
};
use crate::{Conflict, StoreError, StoreResult};

const COLUMNS: &str = "id, account_id, project_id, status, target, rules, started_at, deadline_at, ended_at, \
     error_code, error_message, files_scanned, score, grade, tool, category, covered, root";

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
        files_scanned: row.get(11)?,
        score: row.get(12)?,
        grade: row.get(13)?,
        analysis: Analysis { tool: row.get(14)?, category: row.get(15)? },
        covered: row.get::<_, Option<String>>(16)?.and_then(|c| serde_json::from_str(&c).ok()).unwrap_or_default(),
        root: row.get(17)?,
    })
}

pub fn start(c: &Connection, account: &AccountId, new: NewScan, stamp: EventStamp) -> StoreResult<Scan> {
    let project = super::projects::get(c, account, &new.project_id)?;
    let target = new.target.or(project.target);
    let limit = new.time_limit_secs.unwrap_or(project.scan_time_limit_secs);
    let deadline = stamp.timestamp + chrono::Duration::seconds(i64::try_from(limit).unwrap_or(i64::MAX / 1000));
    c.execute(
        "INSERT INTO scans (id, account_id, project_id, status, target, rules, started_at, deadline_at, tool, category,
             root)
         VALUES (?1, ?2, ?3, 'running', ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            new.id.as_str(),
            account.as_str(),
            project.id.as_str(),
            target,
            serde_json::to_string(&new.rules)?,
            ms(stamp.timestamp),
            ms(deadline),
            new.analysis.tool,
            new.analysis.category,
            new.root
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
    emit(c, account, payload, EventScope::project(&started.project_id), stamp)?;
    Ok(started)
}

pub fn get(c: &Connection, account: &AccountId, id: &ScanId) -> StoreResult<Scan> {
    let mut stmt = c.prepare_cached(&format!("SELECT {COLUMNS} FROM scans WHERE id = ?1 AND account_id = ?2"))?;
    Ok(stmt.query_row([id.as_str(), account.as_str()], scan)?)
}

pub fn list(
    c: &Connection,
    account: &AccountId,
    project: &ProjectId,
    filter: ScanFilter,
    page: Page,
) -> StoreResult<Paged<Scan>> {
    super::projects::get(c, account, project)?;
    let items = list_query(project, &filter, &page).rows(c, scan)?;
    Ok(super::rows::paged(items, page.limit, |s| s.id.to_string()))
}

pub(super) fn list_query(project: &ProjectId, filter: &ScanFilter, page: &Page) -> Query {
    // The project is the account's (checked by `list`): its scans are, and the account's
    // index is no rival to the project's in the plan.
    Query::new(&format!("SELECT {COLUMNS} FROM scans"), "project_id = ?", project.to_string())
        .and_some("status = ?", filter.status.map(|s| s.as_str().to_string()))
        .page("id", page)
}

/// Takes a running scan for the rest of the unit of work: a guarded write, which a scan
/// that ended fails (a scan ends once), and which holds the scan's row against concurrent
/// ends where the backend has row locks (PostgreSQL: the same UPDATE … RETURNING).
fn running(c: &Connection, account: &AccountId, id: &ScanId) -> StoreResult<Scan> {
    let mut take = c.prepare_cached(&format!(
        "UPDATE scans SET status = status WHERE id = ?1 AND account_id = ?2 AND status = 'running' RETURNING {COLUMNS}"
    ))?;
    match take.query_row([id.as_str(), account.as_str()], scan).optional()? {
        Some(scan) => Ok(scan),
        None => Err(ended(c, account, id)),
    }
}

/// Why a scan could not be taken: it does not exist (in this account), or it ended.
fn ended(c: &Connection, account: &AccountId, id: &ScanId) -> StoreError {
    match get(c, account, id) {
        Ok(current) => Conflict::ScanEnded { scan: id.clone(), status: current.status }.into(),
        Err(e) => e,
    }
}

/// Ends a running scan with `status` (and `ended_at`): the guarded transition every end
/// goes through, so that of two concurrent ends exactly one wins.
fn end(c: &Connection, account: &AccountId, id: &ScanId, status: ScanStatus, at: i64) -> StoreResult<()> {
    let changed = c
        .prepare_cached(
            "UPDATE scans SET status = ?1, ended_at = ?2 WHERE id = ?3 AND account_id = ?4 AND status = 'running'",
        )?
        .execute(params![status.as_str(), at, id.as_str(), account.as_str()])?;
    if changed == 0 {
        return Err(ended(c, account, id));
    }
    Ok(())
}

pub fn fail(
    c: &Connection,
    account: &AccountId,
    id: &ScanId,
    (code, message): (String, String),
    stamp: EventStamp,
) -> StoreResult<Scan> {
    let current = get(c, account, id)?;
    end(c, account, id, ScanStatus::Failed, ms(stamp.timestamp))?;
    c.execute(
        "UPDATE scans SET error_code = ?1, error_message = ?2 WHERE id = ?3",
        params![code, message, id.as_str()],
    )?;
    let payload =
        derived::scan_failed(&current.id, &current.project_id, &code, &message, current.started_at, stamp.timestamp);
    emit(c, account, payload, EventScope::project(&current.project_id), stamp)?;
    get(c, account, id)
}

/// One batch of a completing scan's findings, as groups of look-alikes (never split across
/// batches). Each group is paired with the project's open violations of its analysis and
/// fingerprint (`scan::matching`): a paired one is marked as seen by this scan, at its new
/// place. The rest are paired the same way with the group's resolved violations, which
/// reopen (`violation.detected` with `reopened`); what is left opens new violations
/// (`violation.detected`). Each opened critical one also emits `issue.critical`. A group
/// that already has a violation seen by this scan was recorded by an earlier try, so a
/// completion cut off half-way can simply be sent again.
pub fn record_findings(
    c: &Connection,
    account: &AccountId,
    id: &ScanId,
    groups: &[Group],
    stamp: EventStamp,
) -> StoreResult<()> {
    let scan = running(c, account, id)?;
    for group in groups {
        record_group(c, account, &scan, group, stamp)?;
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
fn known(c: &Connection, project: &str, group: &Group, status: &str, limit: usize) -> StoreResult<Vec<Known>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, line, line_hash, last_scan_id, resolved_at FROM violations
         WHERE project_id = ?1 AND tool = ?2 AND category = ?3 AND fingerprint = ?4 AND status = ?5
         ORDER BY resolved_at DESC, id LIMIT ?6",
    )?;
    let (tool, category) = (&group.analysis.tool, &group.analysis.category);
    let rows = stmt.query_map(
        params![project, tool, category, group.fingerprint, status, i64::try_from(limit).unwrap_or(i64::MAX)],
        |r| {
            Ok(Known {
                id: ViolationId::from_trusted(r.get(0)?),
                line: r.get(1)?,
                line_hash: r.get(2)?,
                last_scan: r.get(3)?,
                resolved_at: r.get(4)?,
            })
        },
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn record_group(c: &Connection, account: &AccountId, scan: &Scan, group: &Group, stamp: EventStamp) -> StoreResult<()> {
    let (project, now) = (scan.project_id.as_str(), ms(stamp.timestamp));
    let open = known(c, project, group, "open", usize::MAX)?;
    if open.iter().any(|v| v.last_scan == scan.id.as_str()) {
        return Ok(());
    }
    let found: Vec<Place> = group.findings.iter().map(Place::from).collect();
    let places: Vec<Place> = open.iter().map(Known::place).collect();
    let mut seen = c.prepare_cached(
        // Never back to an older scan: when scans of one project complete at once, a
        // violation is the newest scan's to resolve (scan IDs are ULIDs: later is larger).
        "UPDATE violations SET line = ?1, file = ?2, uri = ?3, line_hash = ?4, last_scan_id = ?5, updated_at = ?6
         WHERE id = ?7 AND status = 'open' AND last_scan_id <= ?5",
    )?;
    let mut rest = Vec::new();
    for (finding, paired) in group.findings.iter().zip(pair(&found, &places)) {
        match paired {
            Some(k) => {
                let place = (finding.line, &finding.file, &finding.uri, &finding.line_hash);
                seen.execute(params![place.0, place.1, place.2, place.3, scan.id.as_str(), now, open[k].id.as_str()])?;
            }
            None => rest.push(finding),
        }
    }
    if rest.is_empty() {
        return Ok(());
    }
    // Regressions: the findings left may be violations resolved earlier, come back.
    let resolved = known(c, project, group, "resolved", rest.len() + MAX_SKIPPED)?;
    let found: Vec<Place> = rest.iter().map(|f| Place::from(*f)).collect();
    let places: Vec<Place> = resolved.iter().map(Known::place).collect();
    let mut reopen = c.prepare_cached(
        "UPDATE violations SET status = 'open', resolved_by = NULL, resolved_at = NULL, severity = ?1, line = ?2,
             file = ?3, uri = ?4, line_hash = ?5, message = ?6, suggestion = ?7, last_scan_id = ?8, updated_at = ?9
         WHERE id = ?10 AND status = 'resolved'",
    )?;
    let mut insert = c.prepare_cached(
        "INSERT INTO violations (id, account_id, project_id, fingerprint, rule, severity, file, line, message, suggestion,
             status, first_scan_id, last_scan_id, created_at, updated_at, tool, category, uri, line_hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'open', ?11, ?11, ?12, ?12, ?13, ?14, ?15, ?16)",
    )?;
    for (finding, paired) in rest.into_iter().zip(pair(&found, &places)) {
        let (violation, reopened_from, action) = match paired {
            Some(k) => {
                let violation = resolved[k].id.clone();
                reopen.execute(params![
                    finding.severity.as_str(),
                    finding.line,
                    finding.file,
                    finding.uri,
                    finding.line_hash,
                    finding.message,
                    finding.suggestion,
                    scan.id.as_str(),
                    now,
                    violation.as_str()
                ])?;
                (violation, resolved[k].resolved_at.map(time), "reopened")
            }
            None => {
                let violation = ViolationId::generate();
                insert.execute(params![
                    violation.as_str(),
                    account.as_str(),
                    project,
                    finding.fingerprint,
                    finding.rule,
                    finding.severity.as_str(),
                    finding.file,
                    finding.line,
                    finding.message,
                    finding.suggestion,
                    scan.id.as_str(),
                    now,
                    group.analysis.tool,
                    group.analysis.category,
                    finding.uri,
                    finding.line_hash
                ])?;
                (violation, None, "detected")
            }
        };
        super::violations::record_change(c, &violation, action, now, Some(&scan.id), None)?;
        let scope = EventScope::project(&scan.project_id).with_severity(finding.severity);
        let detected = derived::violation_detected(&violation, &scan.id, &scan.project_id, finding, reopened_from);
        emit(c, account, detected, scope.clone(), stamp)?;
        if finding.severity == Severity::Critical {
            emit(c, account, derived::issue_critical(&violation, &scan.id, finding), scope, stamp)?;
        }
    }
    Ok(())
}

/// Resolves (`violation.resolved`) up to `limit` open violations of the completing scan's
/// project, of the analyses it `covered`, that its findings did not include; returns how
/// many, so the caller repeats until fewer than `limit` were left.
pub fn resolve_unseen(
    c: &Connection,
    account: &AccountId,
    id: &ScanId,
    covered: &[Analysis],
    limit: usize,
    stamp: EventStamp,
) -> StoreResult<usize> {
    let scan = running(c, account, id)?;
    let now = ms(stamp.timestamp);
    let mut unseen = c.prepare_cached(
        "SELECT id, rule, severity FROM violations
         WHERE project_id = ?1 AND tool = ?2 AND category = ?3 AND status = 'open' AND last_scan_id < ?4 LIMIT ?5",
    )?;
    let mut gone: Vec<(ViolationId, String, Severity, &Analysis)> = Vec::new();
    for analysis in covered {
        let left = limit - gone.len();
        if left == 0 {
            break;
        }
        let project = scan.project_id.as_str();
        let rows = unseen.query_map(
            params![project, analysis.tool, analysis.category, scan.id.as_str(), left as i64],
            |r| {
                let severity: String = r.get(2)?;
                let severity = Severity::parse(&severity).unwrap_or(Severity::Info);
                Ok((ViolationId::from_trusted(r.get(0)?), r.get::<_, String>(1)?, severity, analysis))
            },
        )?;
        for row in rows {
            gone.push(row?);
        }
    }
    let mut resolve = c.prepare_cached(
        "UPDATE violations SET status = 'resolved', resolved_by = 'scan', resolved_at = ?1, last_scan_id = ?2, updated_at = ?1
         WHERE id = ?3 AND status = 'open'",
    )?;
    for (violation, rule, severity, analysis) in &gone {
        if resolve.execute(params![now, scan.id.as_str(), violation.as_str()])? == 0 {
            continue;
        }
        super::violations::record_change(c, violation, "resolved", now, Some(&scan.id), Some("scan"))?;
        let what = (rule.as_str(), *analysis);
        let payload =
            derived::violation_resolved(violation, Some(&scan.id), &scan.project_id, what, "scan", stamp.timestamp);
        emit(c, account, payload, EventScope::project(&scan.project_id).with_severity(*severity), stamp)?;
    }
    Ok(gone.len())
}

/// The last unit of a completion, once every finding was recorded and every unseen
/// violation resolved: ends the scan, emits `scan.completed`, and raises the alerts.
pub fn finish(
    c: &Connection,
    account: &AccountId,
    id: &ScanId,
    done: ScanFinish,
    stamp: EventStamp,
) -> StoreResult<ScanOutcome> {
    let scan = running(c, account, id)?;
    let now = ms(stamp.timestamp);
    // Counted from the history rather than carried along, so a completion that was sent
    // again after being cut off reports what the whole scan changed.
    let (detected, reopened, new_criticals, resolved): (u64, u64, u64, u64) = c.query_row(
        "SELECT COALESCE(SUM(h.action IN ('detected', 'reopened')), 0), COALESCE(SUM(h.action = 'reopened'), 0),
                COALESCE(SUM(h.action IN ('detected', 'reopened') AND v.severity = 'critical'), 0),
                COALESCE(SUM(h.action = 'resolved'), 0)
         FROM violation_history h JOIN violations v ON v.id = h.violation_id WHERE h.scan_id = ?1",
        [scan.id.as_str()],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let previous_score: Option<u32> = c
        .query_row(
            "SELECT score FROM scans WHERE project_id = ?1 AND status = 'completed' AND score IS NOT NULL
             ORDER BY ended_at DESC LIMIT 1",
            [scan.project_id.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    end(c, account, id, ScanStatus::Completed, now)?;
    c.execute(
        "UPDATE scans SET files_scanned = ?1, score = ?2, grade = ?3, covered = ?4 WHERE id = ?5",
        params![done.files_scanned, done.score, done.grade, serde_json::to_string(&done.covered)?, scan.id.as_str()],
    )?;
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
    )?;
    let project = super::projects::get(c, account, &scan.project_id)?;
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
        emit(c, account, raised, EventScope::project(&project.id), stamp)?;
    }
    // Every tool's: the project's open violations, not only this scan's analyses'.
    let open: u64 = c.query_row(
        "SELECT COUNT(*) FROM violations WHERE project_id = ?1 AND status = 'open'",
        [scan.project_id.as_str()],
        |r| r.get(0),
    )?;
    Ok(ScanOutcome { scan: get(c, account, id)?, detected, reopened, resolved, open })
}

pub fn progress(
    c: &Connection,
    account: &AccountId,
    id: &ScanId,
    progress: ScanProgress,
    stamp: EventStamp,
) -> StoreResult<(Scan, bool)> {
    let scan = running(c, account, id)?;
    let last_sent: Option<i64> =
        c.query_row("SELECT progress_sent_at FROM scans WHERE id = ?1", [id.as_str()], |r| r.get(0))?;
    let send = progress_due(last_sent.map(time), stamp.timestamp, progress.min_interval);
    c.execute(
        "UPDATE scans SET percent = ?1, files_scanned = COALESCE(?2, files_scanned), progress_message = ?3,
             progress_sent_at = CASE WHEN ?4 THEN ?5 ELSE progress_sent_at END
         WHERE id = ?6",
        params![progress.percent, progress.files_scanned, progress.message, send, ms(stamp.timestamp), id.as_str()],
    )?;
    if send {
        let payload = derived::scan_progress(
            &scan.id,
            &scan.project_id,
            progress.percent,
            progress.files_scanned,
            progress.message.as_deref(),
        );
        emit(c, account, payload, EventScope::project(&scan.project_id), stamp)?;
    }
    Ok((get(c, account, id)?, send))
}

pub fn time_out(c: &Connection, stamp: EventStamp, limit: u32) -> StoreResult<u64> {
    let mut due = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM scans WHERE status = 'running' AND deadline_at <= ?1 ORDER BY deadline_at LIMIT ?2"
    ))?;
    let expired: Vec<Scan> = due.query_map(params![ms(stamp.timestamp), limit], scan)?.collect::<Result<_, _>>()?;
    let mut timed_out = 0;
    for s in &expired {
        // Guarded: a scan that ended meanwhile (or that another node timed out) is skipped.
        match end(c, &s.account_id, &s.id, ScanStatus::TimedOut, ms(stamp.timestamp)) {
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
        )?;
    }
    Ok(timed_out)
}

#[cfg(test)]
mod tests {
    use scanhook_core::ApiKeyId;
    use scanhook_core::scan::{Finding, fingerprint, group};

    use super::*;
    use crate::model::{EventFilter, NewAccount, NewApiKey, NewProject, Page, ScanReport};
    use crate::{Store, sqlite::SqliteStore};

    #[tokio::test]
    async fn a_completion_cut_off_after_its_first_batch_finishes_when_sent_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("s.db"), crate::SecretBox::random()).unwrap();
        let stamp =
            EventStamp { timestamp: chrono::Utc::now(), first_attempt_at: chrono::Utc::now(), trace_parent: None };
        let key = NewApiKey { id: ApiKeyId::generate(), name: "k".into(), key_hash: "h".into(), prefix: "p".into() };
        let acc =
            store.create_account(NewAccount { id: AccountId::generate(), name: "a".into() }, key, stamp.timestamp);
        let acc = acc.await.unwrap().id;
        let project = NewProject {
            id: ProjectId::generate(),
            name: "p".into(),
            target: None,
            score_drop_threshold: 10,
            scan_time_limit_secs: 600,
        };
        let project = store.create_project(&acc, project, stamp).await.unwrap();
        let new = NewScan {
            id: ScanId::generate(),
            project_id: project.id,
            target: None,
            rules: vec![],
            time_limit_secs: None,
            analysis: Analysis::default(),
            root: None,
        };
        let scan = store.start_scan(&acc, new, stamp).await.unwrap().id;
        let findings: Vec<Finding> = (0..3)
            .map(|i| Finding {
                rule: "r".into(),
                severity: Severity::Critical,
                file: format!("f{i}"),
                uri: None,
                line: 1,
                message: "m".into(),
                suggestion: None,
                fingerprint: fingerprint("r", &format!("f{i}"), "m"),
                line_hash: None,
                analysis: Analysis::default(),
            })
            .collect();

        // The first unit of work commits; then the server stops before the rest.
        let (a, s, first) = (acc.clone(), scan.clone(), group(findings[..2].to_vec()));
        store.write(move |c| record_findings(c, &a, &s, &first, stamp)).await.unwrap();
        assert_eq!(store.get_scan(&acc, &scan).await.unwrap().status, ScanStatus::Running);

        let report = ScanReport { findings, ..Default::default() };
        let done = store.complete_scan(&acc, &scan, report, stamp).await.unwrap();
        assert_eq!((done.detected, done.open), (3, 3), "the whole scan's changes");
        let events = store.list_events(&acc, EventFilter::default(), Page { limit: 100, cursor: None }).await.unwrap();
        let count = |t: &str| events.items.iter().filter(|e| e.event_type.as_str() == t).count();
        assert_eq!((count("violation.detected"), count("issue.critical")), (3, 3), "nothing emitted twice");
        assert_eq!(count("alert.triggered"), 1, "one critical_issue alert, for three criticals");
    }
}
