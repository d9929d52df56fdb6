//! The payloads of the events scanhook derives from what scanners report. Field names
//! follow the Juro documents receivers are written against (`projectId`, `scanId`, …).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::finding::{Analysis, Finding, Severity};
use crate::envelope::format_timestamp;
use crate::{AlertId, EventType, ProjectId, ScanId, ViolationId};

pub const PROJECT_CREATED: &str = "project.created";
pub const PROJECT_DELETED: &str = "project.deleted";
pub const SCAN_STARTED: &str = "scan.started";
pub const SCAN_FAILED: &str = "scan.failed";
pub const SCAN_COMPLETED: &str = "scan.completed";
pub const SCAN_PROGRESS: &str = "scan.progress";
pub const SCAN_TIMEOUT: &str = "scan.timeout";
pub const VIOLATION_DETECTED: &str = "violation.detected";
pub const VIOLATION_RESOLVED: &str = "violation.resolved";
pub const ISSUE_CRITICAL: &str = "issue.critical";
pub const SCORE_CHANGED: &str = "score.changed";
pub const ALERT_TRIGGERED: &str = "alert.triggered";

/// Alert types a scanner may raise itself; `score_drop` and `critical_issue` are raised by
/// scanhook when a scan completes.
pub const RAISED_ALERT_TYPES: &[&str] = &["cert_expired", "cert_expiring_soon", "config_change"];

/// An `alert.triggered`, in ComplianceLayer's shape (snake_case, values as strings).
pub struct Alert<'a> {
    pub id: &'a AlertId,
    pub alert_type: &'a str,
    pub severity: Severity,
    pub project: &'a ProjectId,
    /// The project's target (ComplianceLayer's `domain`).
    pub domain: Option<&'a str>,
    pub title: &'a str,
    pub message: &'a str,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub score: Option<u32>,
    pub grade: Option<&'a str>,
    pub at: DateTime<Utc>,
}

pub fn alert_triggered(a: &Alert<'_>) -> (EventType, Value) {
    typed(
        ALERT_TRIGGERED,
        json!({
            "alert_id": a.id.as_str(),
            "alert_type": a.alert_type,
            "severity": a.severity,
            "project_id": a.project.as_str(),
            "domain": a.domain,
            "title": a.title,
            "message": a.message,
            "old_value": a.old_value,
            "new_value": a.new_value,
            "score": a.score,
            "grade": a.grade,
            "created_at": format_timestamp(a.at),
        }),
    )
}

/// `score.changed`: the score differs from the project's previous completed scan.
pub fn score_changed(
    scan: &ScanId,
    project: &ProjectId,
    old: u32,
    new: u32,
    grade: Option<&str>,
) -> (EventType, Value) {
    typed(
        SCORE_CHANGED,
        json!({
            "scanId": scan.as_str(),
            "projectId": project.as_str(),
            "oldScore": old,
            "newScore": new,
            "change": i64::from(new) - i64::from(old),
            "grade": grade,
        }),
    )
}

/// The message ComplianceLayer sends with a score drop: "Score decreased from 92 to 78 (-14 points)".
pub fn score_drop_message(old: u32, new: u32) -> String {
    format!("Score decreased from {old} to {new} (-{} points)", old.saturating_sub(new))
}

/// Findings of one scan by severity, as Juro's `violations` object counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeverityCounts {
    pub critical: u64,
    pub high: u64,
    pub medium: u64,
    pub low: u64,
    pub info: u64,
}

impl SeverityCounts {
    pub fn add(&mut self, severity: Severity) {
        match severity {
            Severity::Critical => self.critical += 1,
            Severity::High => self.high += 1,
            Severity::Medium => self.medium += 1,
            Severity::Low => self.low += 1,
            Severity::Info => self.info += 1,
        }
    }

    pub fn total(&self) -> u64 {
        self.critical + self.high + self.medium + self.low + self.info
    }
}

/// What `scan.completed` reports besides the scan itself.
pub struct Completed<'a> {
    pub rules: &'a [String],
    pub counts: SeverityCounts,
    pub files_scanned: Option<u64>,
    pub score: Option<u32>,
    pub grade: Option<&'a str>,
}

/// `scan.completed`, in Juro's shape (plus score and grade, as ComplianceLayer sends them).
pub fn scan_completed(
    scan: &ScanId,
    project: &ProjectId,
    done: &Completed<'_>,
    started_at: DateTime<Utc>,
    completed_at: DateTime<Utc>,
) -> (EventType, Value) {
    let c = done.counts;
    typed(
        SCAN_COMPLETED,
        json!({
            "scanId": scan.as_str(),
            "projectId": project.as_str(),
            "status": "completed",
            "violations": {"total": c.total(), "critical": c.critical, "high": c.high, "medium": c.medium, "low": c.low},
            "rules": done.rules,
            "duration": duration_secs(started_at, completed_at),
            "filesScanned": done.files_scanned,
            "score": done.score,
            "grade": done.grade,
        }),
    )
}

/// `violation.detected`: Juro's fields, and ours after them. `reopened_from` is when the
/// violation had been resolved, for a finding that came back (`"reopened": true`).
pub fn violation_detected(
    violation: &ViolationId,
    scan: &ScanId,
    project: &ProjectId,
    f: &Finding,
    reopened_from: Option<DateTime<Utc>>,
) -> (EventType, Value) {
    typed(
        VIOLATION_DETECTED,
        json!({
            "violationId": violation.as_str(),
            "scanId": scan.as_str(),
            "projectId": project.as_str(),
            "rule": f.rule,
            "severity": f.severity,
            "file": f.file,
            "uri": f.uri,
            "line": f.line,
            "message": f.message,
            "suggestion": f.suggestion,
            "tool": named(&f.analysis.tool),
            "category": named(&f.analysis.category),
            "reopened": reopened_from.is_some(),
            "resolvedAt": reopened_from.map(format_timestamp),
        }),
    )
}

/// A tool or category name, `null` when none was given.
fn named(name: &str) -> Option<&str> {
    (!name.is_empty()).then_some(name)
}

/// `violation.resolved`: `resolved_by` is `"scan"` when a scan no longer found it.
pub fn violation_resolved(
    violation: &ViolationId,
    scan: Option<&ScanId>,
    project: &ProjectId,
    (rule, analysis): (&str, &Analysis),
    resolved_by: &str,
    resolved_at: DateTime<Utc>,
) -> (EventType, Value) {
    typed(
        VIOLATION_RESOLVED,
        json!({
            "violationId": violation.as_str(),
            "scanId": scan.map(ScanId::as_str),
            "projectId": project.as_str(),
            "rule": rule,
            "resolvedBy": resolved_by,
            "resolvedAt": format_timestamp(resolved_at),
            "tool": named(&analysis.tool),
            "category": named(&analysis.category),
        }),
    )
}

/// `issue.critical`, in Cortex's shape (snake_case), for a new or reopened critical violation.
pub fn issue_critical(violation: &ViolationId, scan: &ScanId, f: &Finding) -> (EventType, Value) {
    typed(
        ISSUE_CRITICAL,
        json!({
            "scan_id": scan.as_str(),
            "issue_id": violation.as_str(),
            "severity": "critical",
            "title": f.message,
            "rule": f.rule,
            "file": f.file,
            "line": f.line,
        }),
    )
}

fn typed(event_type: &'static str, data: Value) -> (EventType, Value) {
    (EventType::from_trusted(event_type.to_string()), data)
}

/// Seconds between two instants, with millisecond precision (Juro's `duration: 45.2`).
fn duration_secs(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_milliseconds() as f64 / 1000.0
}

/// `scan.started` (Cortex's event, in Juro's field names).
pub fn scan_started(
    scan: &ScanId,
    project: &ProjectId,
    target: Option<&str>,
    rules: &[String],
    started_at: DateTime<Utc>,
) -> (EventType, Value) {
    typed(
        SCAN_STARTED,
        json!({
            "scanId": scan.as_str(),
            "projectId": project.as_str(),
            "status": "running",
            "target": target,
            "rules": rules,
            "startedAt": format_timestamp(started_at),
        }),
    )
}

/// `scan.progress`: how far a running scan is.
pub fn scan_progress(
    scan: &ScanId,
    project: &ProjectId,
    percent: u8,
    files_scanned: Option<u64>,
    message: Option<&str>,
) -> (EventType, Value) {
    typed(
        SCAN_PROGRESS,
        json!({
            "scanId": scan.as_str(),
            "projectId": project.as_str(),
            "status": "running",
            "percent": percent,
            "filesScanned": files_scanned,
            "message": message,
        }),
    )
}

/// `scan.timeout`: a scan neither completed nor failed within its time limit.
pub fn scan_timeout(
    scan: &ScanId,
    project: &ProjectId,
    started_at: DateTime<Utc>,
    deadline_at: DateTime<Utc>,
) -> (EventType, Value) {
    typed(
        SCAN_TIMEOUT,
        json!({
            "scanId": scan.as_str(),
            "projectId": project.as_str(),
            "status": "timed_out",
            "timeLimit": duration_secs(started_at, deadline_at),
            "startedAt": format_timestamp(started_at),
        }),
    )
}

/// `scan.failed`, as Juro sends it: the error and how long the scan ran.
pub fn scan_failed(
    scan: &ScanId,
    project: &ProjectId,
    code: &str,
    message: &str,
    started_at: DateTime<Utc>,
    failed_at: DateTime<Utc>,
) -> (EventType, Value) {
    typed(
        SCAN_FAILED,
        json!({
            "scanId": scan.as_str(),
            "projectId": project.as_str(),
            "status": "failed",
            "error": {"code": code, "message": message},
            "duration": duration_secs(started_at, failed_at),
        }),
    )
}

/// `project.created` / `project.deleted`: the project as it was at that moment.
pub fn project(
    event_type: &'static str,
    id: &ProjectId,
    name: &str,
    target: Option<&str>,
    at: DateTime<Utc>,
) -> (EventType, Value) {
    let when = if event_type == PROJECT_DELETED { "deletedAt" } else { "createdAt" };
    let data = json!({ "projectId": id.as_str(), "name": name, "target": target, when: format_timestamp(at) });
    typed(event_type, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_events_carry_the_project() {
        let id: ProjectId = "proj_01ARZ3NDEKTSV4RRFFQ69G5FAV".parse().unwrap();
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let (t, data) = project(PROJECT_DELETED, &id, "web", Some("example.com"), at);
        assert_eq!(t.as_str(), "project.deleted");
        assert_eq!(
            data,
            json!({"projectId": id.as_str(), "name": "web", "target": "example.com", "deletedAt": "2023-11-14T22:13:20.000Z"})
        );
    }

    #[test]
    fn scan_failed_has_juro_fields() {
        let scan: ScanId = "scan_01ARZ3NDEKTSV4RRFFQ69G5FAV".parse().unwrap();
        let project: ProjectId = "proj_01ARZ3NDEKTSV4RRFFQ69G5FAV".parse().unwrap();
        let start = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let end = start + chrono::Duration::milliseconds(12_500);
        let (t, data) = scan_failed(&scan, &project, "SCAN_FAILED", "Insufficient disk space", start, end);
        assert_eq!(t.as_str(), "scan.failed");
        assert_eq!(
            data,
            json!({"scanId": scan.as_str(), "projectId": project.as_str(), "status": "failed",
                   "error": {"code": "SCAN_FAILED", "message": "Insufficient disk space"}, "duration": 12.5})
        );
    }
}
