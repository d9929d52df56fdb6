//! A SARIF 2.1.0 log (`application/sarif+json`), imported as the server imports it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanhook_core::scan::{count, distinct, findings_from_sarif};

fuzz_target!(init: scanhook_fuzz::catch_stack_overflows(), |log: &[u8]| {
    let Ok(findings) = findings_from_sarif(log) else { return };
    let _ = count(&distinct(findings));
});
