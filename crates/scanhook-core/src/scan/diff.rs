//! What a completed scan changed: which findings are new violations, which open
//! violations were not found again (resolved), and which are still there (perhaps moved).
//! Findings are matched on their fingerprint, never on their line.

use std::collections::{HashMap, HashSet};

use super::finding::Finding;

/// The outcome of comparing a scan's findings with the project's open violations.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ScanDiff<'a> {
    /// Findings with a fingerprint no open violation has: new violations, in scan order.
    pub detected: Vec<&'a Finding>,
    /// Fingerprints of open violations this scan did not find: now resolved.
    pub resolved: Vec<&'a str>,
    /// Open violations found again, with the finding that matched (its line may differ).
    pub still_open: Vec<(&'a str, &'a Finding)>,
}

/// Compares `findings` with the fingerprints of the open violations. A fingerprint found
/// several times in one scan (the same issue at two places) counts once, by its first
/// finding.
pub fn diff<'a>(open: &'a [String], findings: &'a [Finding]) -> ScanDiff<'a> {
    let open_set: HashSet<&str> = open.iter().map(String::as_str).collect();
    let mut first_seen: HashMap<&str, &Finding> = HashMap::with_capacity(findings.len());
    let mut result = ScanDiff::default();
    for finding in findings {
        let fp = finding.fingerprint.as_str();
        if first_seen.contains_key(fp) {
            continue;
        }
        first_seen.insert(fp, finding);
        if open_set.contains(fp) {
            result.still_open.push((fp, finding));
        } else {
            result.detected.push(finding);
        }
    }
    result.resolved = open.iter().map(String::as_str).filter(|fp| !first_seen.contains_key(fp)).collect();
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::finding::{Severity, fingerprint};

    fn finding(rule: &str, file: &str, line: u32, message: &str) -> Finding {
        Finding {
            rule: rule.into(),
            severity: Severity::High,
            file: file.into(),
            line,
            message: message.into(),
            suggestion: None,
            fingerprint: fingerprint(rule, file, message),
        }
    }

    #[test]
    fn new_moved_and_gone_findings() {
        let first = [finding("gdpr", "src/auth.js", 42, "Personal data stored without encryption")];
        let open: Vec<String> = first.iter().map(|f| f.fingerprint.clone()).collect();
        let second = [
            finding("gdpr", "src/auth.js", 57, "Personal data stored without encryption"),
            finding("owasp", "api/user.js", 3, "SQL injection"),
        ];
        let d = diff(&open, &second);
        assert_eq!(d.detected, vec![&second[1]]);
        assert_eq!(d.still_open, vec![(open[0].as_str(), &second[0])], "a moved finding is the same violation");
        assert!(d.resolved.is_empty());

        let open: Vec<String> = second.iter().map(|f| f.fingerprint.clone()).collect();
        let third = [finding("owasp", "api/user.js", 3, "SQL injection")];
        let d = diff(&open, &third);
        assert!(d.detected.is_empty());
        assert_eq!(d.resolved, vec![open[0].as_str()]);
    }

    #[test]
    fn a_repeated_fingerprint_counts_once_and_an_empty_scan_resolves_everything() {
        let twice = [finding("r", "f", 1, "m"), finding("r", "f", 9, "m")];
        let d = diff(&[], &twice);
        assert_eq!(d.detected, vec![&twice[0]]);
        let open = vec![twice[0].fingerprint.clone()];
        assert_eq!(diff(&open, &[]).resolved, vec![open[0].as_str()]);
    }
}
