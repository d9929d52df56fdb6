//! Completing a scan, for every backend: the report is written in units of bounded size
//! through the [`Store`]'s primitives, so a report of any size never becomes one huge
//! write, and a completion cut off half-way is finished by sending the same report again.

use scanhook_core::scan::events::SeverityCounts;
use scanhook_core::scan::{cover, group};
use scanhook_core::{AccountId, ScanId};

use crate::model::{EventStamp, ScanFinish, ScanOutcome, ScanReport};
use crate::{Store, StoreResult};

/// Findings per unit of work while a scan completes: bounds how long one unit holds the
/// database (and how much one transaction carries), whatever the report's size.
pub const FINDINGS_PER_UNIT: usize = 2000;

/// Records the report's look-alike groups in units of about [`FINDINGS_PER_UNIT`] findings
/// (a group is never split: its findings are paired with violations together), resolves
/// the covered analyses' open violations the scan did not see, then finishes the scan.
pub async fn complete_scan<S: Store + ?Sized>(
    store: &S,
    account: &AccountId,
    id: &ScanId,
    report: ScanReport,
    stamp: EventStamp,
) -> StoreResult<ScanOutcome> {
    let scan = store.get_scan(account, id).await?;
    let mut findings = report.findings;
    let covered = cover(&scan.analysis, report.analyses, &mut findings);
    let mut groups = group(findings).into_iter().peekable();
    let mut counts = SeverityCounts::default();
    while groups.peek().is_some() {
        let mut unit = Vec::new();
        let mut size = 0;
        while size < FINDINGS_PER_UNIT
            && let Some(group) = groups.next()
        {
            size += group.findings.len();
            group.findings.iter().for_each(|f| counts.add(f.severity));
            unit.push(group);
        }
        store.record_findings(account, id, unit, stamp).await?;
    }
    while store.resolve_unseen(account, id, covered.clone(), FINDINGS_PER_UNIT, stamp).await? == FINDINGS_PER_UNIT {}
    let finish =
        ScanFinish { counts, covered, files_scanned: report.files_scanned, score: report.score, grade: report.grade };
    store.finish_scan(account, id, finish, stamp).await
}
