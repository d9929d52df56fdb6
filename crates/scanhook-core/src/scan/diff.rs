//! The pure half of diffing a scan against a project's violations: what the scan covers,
//! and its findings' counts by severity (grouping look-alikes and pairing them with known
//! violations is `super::matching`). The other half — looking each group up among the
//! project's violations — is the store's, which does it in batches so a report of any size
//! never becomes one huge write.

use super::events::SeverityCounts;
use super::finding::{Analysis, Finding};

/// What a completing scan covers, and each finding's analysis: a report without analyses
/// of its own (scanhook's JSON) is entirely the scan's (`tool` and `category` given when
/// it started); a SARIF run that names no tool or category takes the scan's. Only open
/// violations of the analyses returned may be resolved by this scan.
pub fn cover(scan: &Analysis, reported: Vec<Analysis>, findings: &mut [Finding]) -> Vec<Analysis> {
    let fill = |a: &mut Analysis| {
        if a.tool.is_empty() {
            a.tool.clone_from(&scan.tool);
        }
        if a.category.is_empty() {
            a.category.clone_from(&scan.category);
        }
    };
    findings.iter_mut().for_each(|f| fill(&mut f.analysis));
    if reported.is_empty() {
        return vec![scan.clone()];
    }
    let mut covered: Vec<Analysis> = Vec::with_capacity(reported.len());
    for mut analysis in reported {
        fill(&mut analysis);
        if !covered.contains(&analysis) {
            covered.push(analysis);
        }
    }
    covered
}

/// Counts by severity, as `scan.completed` reports them.
pub fn count(findings: &[Finding]) -> SeverityCounts {
    let mut counts = SeverityCounts::default();
    findings.iter().for_each(|f| counts.add(f.severity));
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::finding::{Analysis, Severity, fingerprint};

    fn finding(rule: &str, file: &str, line: u32, message: &str, severity: Severity) -> Finding {
        Finding {
            rule: rule.into(),
            severity,
            file: file.into(),
            uri: None,
            line,
            message: message.into(),
            suggestion: None,
            fingerprint: fingerprint(rule, file, message),
            line_hash: None,
            analysis: Default::default(),
        }
    }

    #[test]
    fn counts_are_by_severity() {
        let found = vec![finding("r", "f", 1, "m", Severity::High), finding("s", "g", 2, "n", Severity::Critical)];
        let counts = count(&found);
        assert_eq!((counts.total(), counts.critical, counts.high), (2, 1, 1));
    }

    #[test]
    fn a_json_report_is_the_scans_analysis_and_sarif_runs_fill_in_what_they_do_not_name() {
        let named = |tool: &str, category: &str| Analysis { tool: tool.into(), category: category.into() };
        let mut json = vec![finding("r", "f", 1, "m", Severity::Low)];
        assert_eq!(cover(&named("trivy", "images"), vec![], &mut json), vec![named("trivy", "images")]);
        assert_eq!(json[0].analysis, named("trivy", "images"));
        assert_eq!(cover(&Analysis::default(), vec![], &mut json), vec![Analysis::default()], "nothing named");

        let mut sarif = vec![Finding { analysis: named("Bandit", ""), ..finding("r", "f", 1, "m", Severity::Low) }];
        let reported = vec![named("Bandit", ""), named("ruff", "lint"), named("", "")];
        let covered = cover(&named("", "backend"), reported, &mut sarif);
        assert_eq!(covered, vec![named("Bandit", "backend"), named("ruff", "lint"), named("", "backend")]);
        assert_eq!(sarif[0].analysis, named("Bandit", "backend"));
    }
}
