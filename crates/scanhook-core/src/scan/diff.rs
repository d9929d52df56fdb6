//! The pure half of diffing a scan against a project's open violations: a scan's findings
//! once per fingerprint, and their counts by severity. The other half — looking each
//! fingerprint up among the open violations — is the store's, which does it in batches so
//! a report of any size never becomes one huge write.

use std::collections::HashSet;

use super::events::SeverityCounts;
use super::finding::Finding;

/// A scan's findings, each fingerprint once (by its first finding: the same issue found at
/// two places is one violation), in scan order.
pub fn distinct(findings: Vec<Finding>) -> Vec<Finding> {
    let mut seen = HashSet::with_capacity(findings.len());
    findings.into_iter().filter(|f| seen.insert(f.fingerprint.clone())).collect()
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
    use crate::scan::finding::{Severity, fingerprint};

    fn finding(rule: &str, file: &str, line: u32, message: &str, severity: Severity) -> Finding {
        Finding {
            rule: rule.into(),
            severity,
            file: file.into(),
            line,
            message: message.into(),
            suggestion: None,
            fingerprint: fingerprint(rule, file, message),
        }
    }

    #[test]
    fn a_repeated_fingerprint_counts_once_by_its_first_finding() {
        let found = vec![
            finding("r", "f", 1, "m", Severity::High),
            finding("s", "g", 2, "n", Severity::Critical),
            finding("r", "f", 9, "m", Severity::High),
        ];
        let once = distinct(found.clone());
        assert_eq!(once, found[..2].to_vec());
        let counts = count(&once);
        assert_eq!((counts.total(), counts.critical, counts.high), (2, 1, 1));
    }
}
