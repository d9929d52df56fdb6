//! Golden tests of what bodies look like: the built-in chat formats (each catalogue
//! example rendered for Slack, Discord and Teams must match
//! testdata/chat/<kind>/<event type>.json) and the templates docs/receivers.md documents
//! (examples/templates/<name>.jq must render as testdata/templates/<name>.json, and the
//! docs must quote each file as it is). Regenerate after a deliberate change with
//! `UPDATE_GOLDEN=1 cargo test -p scanhook-core` and review the diff.

use serde_json::{Value, json};

use super::{DeliveryContext, DeliveryFormat, Kind, TemplateCache, render};
use crate::catalogue::catalogue;

fn rendered(kind: Kind, event_type: &str, data: &Value) -> Value {
    rendered_with(DeliveryFormat { kind, ..Default::default() }, event_type, data)
}

fn rendered_with(format: DeliveryFormat, event_type: &str, data: &Value) -> Value {
    let envelope = json!({"id": "evt_01HM9QAG1C9E3Q7A2T8H6W5Y0D", "type": event_type,
                          "timestamp": "2024-01-15T10:30:45.200Z", "data": data});
    let context = DeliveryContext {
        delivery_id: "dlv_1",
        attempt: 1,
        endpoint: "https://hooks.example.com/x",
        webhook_id: "wh_1",
    };
    let body = render(&format, envelope.to_string().into_bytes(), &context, &TemplateCache::default())
        .unwrap_or_else(|e| panic!("{format:?} {event_type}: {e}"));
    serde_json::from_slice(&body).expect("chat bodies are JSON")
}

/// Compares `body` with the golden file at `path` (or writes it with UPDATE_GOLDEN=1);
/// returns whether they differ.
fn differs(path: &std::path::Path, body: &Value) -> bool {
    let pretty = serde_json::to_string_pretty(body).expect("serialises") + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("create dir");
        std::fs::write(path, &pretty).expect("write golden file");
        return false;
    }
    std::fs::read_to_string(path).unwrap_or_default() != pretty
}

fn example(event_type: &str) -> Value {
    catalogue().into_iter().find(|e| e.event_type == event_type).expect("in the catalogue").example
}

#[test]
fn documented_templates_render_as_their_golden_files_and_the_docs_quote_them() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let docs = std::fs::read_to_string(root.join("docs/receivers.md")).expect("docs/receivers.md");
    let mut stale = Vec::new();
    for (name, event_type) in [
        ("juro", "scan.completed"),
        ("cortex", "issue.critical"),
        ("compliancelayer", "scan.completed"),
        ("scan-results", "scan.completed"),
        ("dejacode", "violation.detected"),
        ("github-issue", "violation.detected"),
        ("pagerduty", "alert.triggered"),
        ("jira", "issue.critical"),
    ] {
        let source = std::fs::read_to_string(root.join(format!("examples/templates/{name}.jq"))).expect("template");
        let format = DeliveryFormat { template: Some(source.clone()), ..Default::default() };
        let body = rendered_with(format, event_type, &example(event_type));
        if differs(&root.join(format!("crates/scanhook-core/testdata/templates/{name}.json")), &body) {
            stale.push(format!("{name}: rendering"));
        }
        if !docs.contains(&format!("```jq\n{source}```")) {
            stale.push(format!("{name}: docs/receivers.md does not quote examples/templates/{name}.jq as it is"));
        }
    }
    assert!(stale.is_empty(), "{stale:#?}");
}

#[test]
fn every_event_renders_as_its_golden_file() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/chat");
    let mut stale = Vec::new();
    for (kind, name) in [(Kind::Slack, "slack"), (Kind::Discord, "discord"), (Kind::Teams, "teams")] {
        for entry in catalogue() {
            let body = rendered(kind, entry.event_type, &entry.example);
            let path = dir.join(name).join(format!("{}.json", entry.event_type));
            if differs(&path, &body) {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(stale.is_empty(), "renderings differ from (or lack) their golden files: {stale:#?}");
}

#[test]
fn colours_follow_severity_and_text_carries_the_scan_and_counts() {
    let completed = json!({"scanId": "scan_1", "projectId": "proj_1", "violations":
        {"total": 3, "critical": 1, "high": 2, "medium": 0, "low": 0}, "score": 61, "target": "https://github.com/acme/web"});
    let slack = rendered(Kind::Slack, "scan.completed", &completed);
    assert_eq!(slack["attachments"][0]["color"], "#B71C1C", "a critical finding is red");
    assert_eq!(slack["text"], "Scan completed: 3 violations (1 critical, 2 high, 0 medium, 0 low)");
    let fields = slack["attachments"][0]["blocks"][1]["fields"].to_string();
    assert!(fields.contains("scan_1") && fields.contains("proj_1") && fields.contains("61"), "{fields}");
    assert_eq!(slack["attachments"][0]["blocks"][2]["elements"][0]["url"], "https://github.com/acme/web");

    let clean = json!({"scanId": "scan_2", "violations": {"total": 0}});
    assert_eq!(rendered(Kind::Discord, "scan.completed", &clean)["embeds"][0]["color"], 0x2E7D32, "clean is green");
    let medium = json!({"severity": "medium", "message": "m", "rule": "r", "file": "f", "line": 3});
    assert_eq!(rendered(Kind::Teams, "violation.detected", &medium)["themeColor"], "F9A825");
}

#[test]
fn a_reopened_violation_says_so_in_every_chat_format() {
    let mut data = example("violation.detected");
    data["reopened"] = json!(true);
    data["resolvedAt"] = json!("2024-01-14T09:00:00.000Z");
    for kind in [Kind::Slack, Kind::Discord, Kind::Teams] {
        let body = rendered(kind, "violation.detected", &data).to_string();
        assert!(body.contains("Reopened high violation: Personal data stored"), "{kind:?}: {body}");
        assert!(body.contains("Semgrep OSS (backend)"), "{kind:?}: the tool: {body}");
        let new = rendered(kind, "violation.detected", &example("violation.detected")).to_string();
        assert!(new.contains("New high violation") && !new.contains("Reopened"), "{kind:?}: {new}");
    }
}
