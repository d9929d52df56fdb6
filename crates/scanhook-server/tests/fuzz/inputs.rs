//! What each fuzz target does with one input, shared by the fuzzers in `fuzz/` (which
//! include this file) and by `tests/fuzz_regressions.rs`, which replays what they found.
//! Each goes through the same public entry points the server uses, so a bound added there
//! protects both. Inputs that are refused are fine; a panic, an abort or a hang is a bug.
#![allow(dead_code)] // each user calls some of them

use scanhook_api_types::{EventIn, ScanCompleteIn};
use scanhook_core::envelope::canonical_body;
use scanhook_core::format::{DeliveryContext, DeliveryFormat, Kind, TemplateCache, render};
use scanhook_core::scan::{Finding, Place, count, findings_from_sarif, group, pair, parse_findings};
use scanhook_core::{EventId, EventPattern, EventType};
use scanhook_server::extract::parse_json;
use serde_json::value::RawValue;

/// What a fuzz target does with one input.
pub type Target = fn(&[u8]);

/// The fuzz targets, by name (the names of `fuzz/fuzz_targets/*.rs` and of the
/// directories of `testdata/fuzz-regressions/`).
pub const TARGETS: &[(&str, Target)] = &[
    ("event_ingest", event_ingest),
    ("scan_report_json", scan_report_json),
    ("sarif", sarif),
    ("event_pattern", event_pattern),
    ("template", template),
];

/// A `POST /v1/events` body taken the way the server takes it (its own `parse_json`, the
/// type check, data must be an object), then rendered as every built-in format would send
/// it: the road deeply nested `data` took to a stack overflow in a chat format.
pub fn event_ingest(body: &[u8]) {
    let Ok(input) = parse_json::<EventIn>(body) else { return };
    let Ok(event_type) = EventType::parse(&input.event_type) else { return };
    let data = match input.data {
        None => RawValue::from_string("{}".into()).expect("{} is JSON"),
        Some(raw) if raw.get().starts_with('{') => raw,
        Some(_) => return,
    };
    let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("a valid time");
    let envelope = canonical_body(&EventId::generate(), &event_type, at, &data);
    let context =
        DeliveryContext { delivery_id: "dlv_x", attempt: 1, endpoint: "https://example.com/", webhook_id: "wh_x" };
    let cache = TemplateCache::default();
    for kind in [Kind::Generic, Kind::Slack, Kind::Discord, Kind::Teams, Kind::Cloudevents] {
        let format = DeliveryFormat { kind, ..Default::default() };
        let _ = render(&format, envelope.clone(), &context, &cache);
    }
}

/// A scan report in scanhook's JSON (`POST /v1/scans/{id}/complete`), parsed as the server
/// parses it, then grouped into look-alikes and paired as the store pairs them.
pub fn scan_report_json(body: &[u8]) {
    let Ok(input) = parse_json::<ScanCompleteIn>(body) else { return };
    let Ok(findings) = parse_findings(input.findings, None) else { return };
    groups_pair_with_themselves(findings);
}

/// Groups look-alikes; each group, paired with the violations it would open, continues
/// every one of them.
fn groups_pair_with_themselves(findings: Vec<Finding>) {
    let total = findings.len();
    let groups = group(findings);
    assert!(groups.iter().map(|g| g.findings.len()).sum::<usize>() <= total);
    for g in &groups {
        let places: Vec<Place> = g.findings.iter().map(Place::from).collect();
        assert!(pair(&places, &places).iter().all(Option::is_some), "a group continues itself");
        let _ = count(&g.findings);
    }
}

/// A SARIF 2.1.0 log (`application/sarif+json`), imported as the server imports it.
pub fn sarif(log: &[u8]) {
    let Ok(report) = findings_from_sarif(log, None) else { return };
    assert!(report.findings.iter().all(|f| report.analyses.contains(&f.analysis)), "each finding's run is covered");
    groups_pair_with_themselves(report.findings);
}

/// An event pattern and an event type on two lines. Checks what a match means, not only
/// that nothing panics.
pub fn event_pattern(input: &[u8]) {
    let Ok(input) = std::str::from_utf8(input) else { return };
    let (pattern, event_type) = input.split_once('\n').unwrap_or((input, ""));
    let parsed = EventPattern::parse(pattern);
    if let Ok(exact) = EventType::parse(pattern) {
        // Every event type is also the pattern that matches exactly it.
        assert_eq!(parsed.as_ref().ok(), Some(&EventPattern::Exact(exact.as_str().to_string())));
        assert!(EventPattern::any_matches([pattern], &exact));
    }
    let (Ok(pattern), Ok(event_type)) = (parsed, EventType::parse(event_type)) else { return };
    let expected = match &pattern {
        EventPattern::All => true,
        EventPattern::Prefix(prefix) => event_type.as_str().starts_with(prefix.as_str()),
        EventPattern::Exact(exact) => event_type.as_str() == exact,
    };
    assert_eq!(pattern.matches(&event_type), expected);
}

/// A webhook's `template` as `POST /v1/webhooks` checks it (`DeliveryFormat::validate`
/// compiles it in the server). Running user templates is left out: they run in sandbox
/// worker processes, where looping or recursing without end is expected and contained.
pub fn template(source: &[u8]) {
    let Ok(source) = std::str::from_utf8(source) else { return };
    let format = DeliveryFormat { template: Some(source.to_string()), ..Default::default() };
    let _ = format.validate();
}
