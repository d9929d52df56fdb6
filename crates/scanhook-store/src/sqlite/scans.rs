//! Scans and the lifecycle events they emit.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};
use scanhook_core::scan::events::{self as derived, SeverityCounts};
use scanhook_core::scan::{Severity, diff};
use scanhook_core::{AccountId, AlertId, ProjectId, ScanId, ViolationId};

use super::events::emit;
use super::rows::{ms, time};
use crate::model::{EventScope, EventStamp, NewScan, Scan, ScanOutcome, ScanProgress, ScanReport, ScanStatus};
use crate::{StoreError, StoreResult};

const COLUMNS: &str = "id, account_id, project_id, status, target, rules, started_at, deadline_at, ended_at, \
     error_code, error_message, files_scanned, score, grade";

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
    emit(c, account, payload, EventScope::project(&started.project_id), stamp)?;
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
    emit(c, account, payload, EventScope::project(&current.project_id), stamp)?;
    get(c, account, id)
}

pub fn complete(
    c: &Connection,
    account: &AccountId,
    id: &ScanId,
    report: ScanReport,
    stamp: EventStamp,
) -> StoreResult<ScanOutcome> {
    let scan = running(c, account, id)?;
    let now = ms(stamp.timestamp);
    let mut open_stmt = c.prepare_cached(
        "SELECT id, fingerprint, rule, severity FROM violations WHERE project_id = ?1 AND status = 'open'",
    )?;
    let open: Vec<(ViolationId, String, String, Severity)> = open_stmt
        .query_map([scan.project_id.as_str()], |r| {
            let severity: String = r.get(3)?;
            Ok((
                ViolationId::from_trusted(r.get(0)?),
                r.get(1)?,
                r.get(2)?,
                Severity::parse(&severity).unwrap_or(Severity::Info),
            ))
        })?
        .collect::<Result<_, _>>()?;
    let fingerprints: Vec<String> = open.iter().map(|(_, fp, _, _)| fp.clone()).collect();
    let changes = diff(&fingerprints, &report.findings);
    let by_fingerprint: HashMap<&str, &(ViolationId, String, String, Severity)> =
        open.iter().map(|v| (v.1.as_str(), v)).collect();

    let mut counts = SeverityCounts::default();
    let mut insert = c.prepare_cached(
        "INSERT INTO violations (id, account_id, project_id, fingerprint, rule, severity, file, line, message, suggestion,
             status, first_scan_id, last_scan_id, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'open', ?11, ?11, ?12, ?12)",
    )?;
    for finding in &changes.detected {
        counts.add(finding.severity);
        let violation = ViolationId::generate();
        insert.execute(params![
            violation.as_str(),
            account.as_str(),
            scan.project_id.as_str(),
            finding.fingerprint,
            finding.rule,
            finding.severity.as_str(),
            finding.file,
            finding.line,
            finding.message,
            finding.suggestion,
            scan.id.as_str(),
            now
        ])?;
        emit(
            c,
            account,
            derived::violation_detected(&violation, &scan.id, &scan.project_id, finding),
            EventScope::project(&scan.project_id).with_severity(finding.severity),
            stamp,
        )?;
        if finding.severity == Severity::Critical {
            emit(
                c,
                account,
                derived::issue_critical(&violation, &scan.id, finding),
                EventScope::project(&scan.project_id).with_severity(Severity::Critical),
                stamp,
            )?;
        }
    }
    let mut seen = c.prepare_cached(
        "UPDATE violations SET line = ?1, file = ?2, last_scan_id = ?3, updated_at = ?4 WHERE id = ?5",
    )?;
    for (fingerprint, finding) in &changes.still_open {
        counts.add(finding.severity);
        if let Some((violation, _, _, _)) = by_fingerprint.get(fingerprint) {
            seen.execute(params![finding.line, finding.file, scan.id.as_str(), now, violation.as_str()])?;
        }
    }
    let mut resolve = c.prepare_cached(
        "UPDATE violations SET status = 'resolved', resolved_by = 'scan', resolved_at = ?1, last_scan_id = ?2, updated_at = ?1
         WHERE id = ?3",
    )?;
    for fingerprint in &changes.resolved {
        if let Some((violation, _, rule, severity)) = by_fingerprint.get(fingerprint) {
            resolve.execute(params![now, scan.id.as_str(), violation.as_str()])?;
            let payload =
                derived::violation_resolved(violation, Some(&scan.id), &scan.project_id, rule, "scan", stamp.timestamp);
            emit(c, account, payload, EventScope::project(&scan.project_id).with_severity(*severity), stamp)?;
        }
    }

    let previous_score: Option<u32> = c
        .query_row(
            "SELECT score FROM scans WHERE project_id = ?1 AND status = 'completed' AND score IS NOT NULL
             ORDER BY ended_at DESC LIMIT 1",
            [scan.project_id.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    c.execute(
        "UPDATE scans SET status = 'completed', ended_at = ?1, files_scanned = ?2, score = ?3, grade = ?4 WHERE id = ?5",
        params![now, report.files_scanned, report.score, report.grade, scan.id.as_str()],
    )?;
    let done = derived::Completed {
        rules: &scan.rules,
        counts,
        files_scanned: report.files_scanned,
        score: report.score,
        grade: report.grade.as_deref(),
    };
    emit(
        c,
        account,
        derived::scan_completed(&scan.id, &scan.project_id, &done, scan.started_at, stamp.timestamp),
        EventScope::project(&scan.project_id),
        stamp,
    )?;
    let new_criticals = changes.detected.iter().filter(|f| f.severity == Severity::Critical).count();
    raise_alerts(c, account, &scan, previous_score, &report, new_criticals, stamp)?;
    Ok(ScanOutcome {
        scan: get(c, account, id)?,
        detected: changes.detected.len() as u64,
        resolved: changes.resolved.len() as u64,
        open: (changes.detected.len() + changes.still_open.len()) as u64,
    })
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
    let send = last_sent.is_none_or(|at| stamp.timestamp - time(at) >= progress.min_interval);
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
    let mut end = c.prepare_cached("UPDATE scans SET status = 'timed_out', ended_at = ?1 WHERE id = ?2")?;
    for s in &expired {
        end.execute(params![ms(stamp.timestamp), s.id.as_str()])?;
        emit(
            c,
            &s.account_id,
            derived::scan_timeout(&s.id, &s.project_id, s.started_at, s.deadline_at),
            EventScope::project(&s.project_id),
            stamp,
        )?;
    }
    Ok(expired.len() as u64)
}

/// `score.changed` and `alert.triggered` (score_drop, critical_issue) against the project's
/// previous completed scan.
fn raise_alerts(
    c: &Connection,
    account: &AccountId,
    scan: &Scan,
    previous_score: Option<u32>,
    report: &ScanReport,
    new_criticals: usize,
    stamp: EventStamp,
) -> StoreResult<()> {
    let project = super::projects::get(c, account, &scan.project_id)?;
    let alert = |alert_type, severity, title: &str, message: &str, old_value, new_value| -> StoreResult<()> {
        let id = AlertId::generate();
        let payload = derived::alert_triggered(&derived::Alert {
            id: &id,
            alert_type,
            severity,
            project: &project.id,
            domain: project.target.as_deref(),
            title,
            message,
            old_value,
            new_value,
            score: report.score,
            grade: report.grade.as_deref(),
            at: stamp.timestamp,
        });
        emit(c, account, payload, EventScope::project(&project.id), stamp).map(|_| ())
    };
    if let (Some(old), Some(new)) = (previous_score, report.score)
        && old != new
    {
        emit(
            c,
            account,
            derived::score_changed(&scan.id, &project.id, old, new, report.grade.as_deref()),
            EventScope::project(&project.id),
            stamp,
        )?;
        let drop = old.saturating_sub(new);
        if drop >= project.score_drop_threshold {
            // Twice the threshold or more is an emergency.
            let severity = if drop >= 2 * project.score_drop_threshold { Severity::Critical } else { Severity::High };
            let message = derived::score_drop_message(old, new);
            alert(
                "score_drop",
                severity,
                "Security Score Dropped",
                &message,
                Some(old.to_string()),
                Some(new.to_string()),
            )?;
        }
    }
    if new_criticals > 0 {
        let message = format!("{new_criticals} new critical issue(s) in {}", project.name);
        alert(
            "critical_issue",
            Severity::Critical,
            "Critical Issues Detected",
            &message,
            None,
            Some(new_criticals.to_string()),
        )?;
    }
    Ok(())
}
