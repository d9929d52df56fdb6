//! The alert policy: what a completed scan raises besides `scan.completed`, from facts
//! every backend reads the same way.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::Severity;
use super::events::{self as derived, Alert};
use crate::{AlertId, EventType, ProjectId, ScanId};

/// The project as the policy needs it.
pub struct ProjectFacts<'a> {
    pub id: &'a ProjectId,
    pub name: &'a str,
    /// ComplianceLayer's `domain`.
    pub target: Option<&'a str>,
    /// Points the score must fall by to raise `score_drop`.
    pub score_drop_threshold: u32,
}

/// A completed scan as the policy needs it.
pub struct CompletedScan<'a> {
    pub id: &'a ScanId,
    /// The score of the project's previous completed scan that had one.
    pub previous_score: Option<u32>,
    pub score: Option<u32>,
    pub grade: Option<&'a str>,
    /// Critical violations the scan opened (new or reopened).
    pub criticals_opened: u64,
    pub at: DateTime<Utc>,
}

/// `score.changed` when the score moved; `alert.triggered` `score_drop` when it fell by the
/// project's threshold or more (critical at twice the threshold), and `critical_issue`
/// when the scan opened critical violations. In that order, all about the project.
pub fn after_completion(project: &ProjectFacts<'_>, scan: &CompletedScan<'_>) -> Vec<(EventType, Value)> {
    let mut raised = Vec::new();
    let alert = |alert_type, severity, title: &str, message: &str, old_value, new_value| {
        derived::alert_triggered(&Alert {
            id: &AlertId::generate(),
            alert_type,
            severity,
            project: project.id,
            domain: project.target,
            title,
            message,
            old_value,
            new_value,
            score: scan.score,
            grade: scan.grade,
            at: scan.at,
        })
    };
    if let (Some(old), Some(new)) = (scan.previous_score, scan.score)
        && old != new
    {
        raised.push(derived::score_changed(scan.id, project.id, old, new, scan.grade));
        let drop = old.saturating_sub(new);
        if drop >= project.score_drop_threshold {
            let severity = if drop >= 2 * project.score_drop_threshold { Severity::Critical } else { Severity::High };
            let message = derived::score_drop_message(old, new);
            let (old, new) = (Some(old.to_string()), Some(new.to_string()));
            raised.push(alert("score_drop", severity, "Security Score Dropped", &message, old, new));
        }
    }
    if scan.criticals_opened > 0 {
        let n = scan.criticals_opened;
        let message = format!("{n} new critical issue(s) in {}", project.name);
        raised.push(alert(
            "critical_issue",
            Severity::Critical,
            "Critical Issues Detected",
            &message,
            None,
            Some(n.to_string()),
        ));
    }
    raised
}

/// Whether a running scan's progress is sent as `scan.progress`: at most one every
/// `min_interval` per scan.
pub fn progress_due(last_sent: Option<DateTime<Utc>>, now: DateTime<Utc>, min_interval: chrono::Duration) -> bool {
    last_sent.is_none_or(|at| now - at >= min_interval)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(raised: &[(EventType, Value)]) -> Vec<String> {
        raised
            .iter()
            .map(|(t, d)| match d["alert_type"].as_str() {
                Some(kind) => format!("{t}:{kind}:{}", d["severity"].as_str().unwrap_or_default()),
                None => t.to_string(),
            })
            .collect()
    }

    #[test]
    fn a_score_drop_of_the_threshold_is_high_and_of_twice_it_critical() {
        let id = ProjectId::from_trusted("proj_a".into());
        let project = ProjectFacts { id: &id, name: "web", target: None, score_drop_threshold: 10 };
        let scan_id = ScanId::from_trusted("scan_a".into());
        let scan = |previous, score, criticals| CompletedScan {
            id: &scan_id,
            previous_score: previous,
            score,
            grade: None,
            criticals_opened: criticals,
            at: DateTime::from_timestamp(0, 0).unwrap_or_default(),
        };
        assert!(after_completion(&project, &scan(Some(80), Some(80), 0)).is_empty());
        assert_eq!(kinds(&after_completion(&project, &scan(Some(80), Some(71), 0))), ["score.changed"]);
        assert_eq!(
            kinds(&after_completion(&project, &scan(Some(80), Some(70), 0))),
            ["score.changed", "alert.triggered:score_drop:high"]
        );
        assert_eq!(
            kinds(&after_completion(&project, &scan(Some(80), Some(60), 2))),
            ["score.changed", "alert.triggered:score_drop:critical", "alert.triggered:critical_issue:critical"]
        );
        assert!(after_completion(&project, &scan(None, Some(10), 0)).is_empty(), "no previous score");
    }

    #[test]
    fn progress_is_sent_at_most_once_per_interval() {
        let at = |s| DateTime::from_timestamp(s, 0).unwrap_or_default();
        let every = chrono::Duration::seconds(5);
        assert!(progress_due(None, at(0), every));
        assert!(!progress_due(Some(at(0)), at(4), every));
        assert!(progress_due(Some(at(0)), at(5), every));
    }
}
