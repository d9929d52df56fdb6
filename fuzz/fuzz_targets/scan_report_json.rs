//! A scan report in scanhook's JSON (`POST /v1/scans/{id}/complete`), parsed as the server
//! parses it, then reduced to the distinct findings and counts the store records.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanhook_api_types::ScanCompleteIn;
use scanhook_core::scan::{count, distinct, parse_findings};
use scanhook_server::extract::parse_json;

fuzz_target!(init: scanhook_fuzz::catch_stack_overflows(), |body: &[u8]| {
    let Ok(input) = parse_json::<ScanCompleteIn>(body) else { return };
    let Ok(findings) = parse_findings(input.findings) else { return };
    let total = findings.len();
    let findings = distinct(findings);
    assert!(findings.len() <= total);
    let _ = count(&findings);
});
