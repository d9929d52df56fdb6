//! Scan findings: what scanners report (posted as JSON or imported from SARIF 2.1.0),
//! each with a fingerprint that identifies it across scans, and a scan's distinct findings.
//! Pure: no I/O.

pub mod alerts;
pub mod diff;
pub mod events;
pub mod finding;
pub mod matching;
pub mod path;
pub mod sarif;
mod skim;

pub use diff::{count, cover};
pub use finding::{Analysis, Finding, FindingError, FindingIn, Severity, fingerprint, line_hash, parse_findings};
pub use matching::{Group, Place, group, pair};
pub use sarif::{SarifReport, findings_from_sarif};

/// Most findings one report may hold (JSON or SARIF).
pub const MAX_FINDINGS: usize = 1_000_000;
