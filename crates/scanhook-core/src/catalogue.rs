//! The event catalogue: every event type scanhook emits, with a description, a JSON Schema
//! of its `data` and an example. The examples come from the same builders that make the
//! real payloads, and the tests check real deliveries against these schemas.

use chrono::DateTime;
use serde_json::{Value, json};

use crate::opevents as op;
use crate::scan::events::{self as ev, Alert, Completed, SeverityCounts};
use crate::scan::{Analysis, Finding, Severity, fingerprint};
use crate::webhook;
use crate::{AlertId, DeliveryId, EventId, ProjectId, ScanId, ViolationId, WebhookId};

/// One event type of the catalogue.
pub struct EventTypeInfo {
    pub event_type: &'static str,
    pub description: &'static str,
    pub schema: Value,
    pub example: Value,
}

pub const WEBHOOK_TEST: &str = "webhook.test";

fn string() -> Value {
    json!({"type": "string"})
}
fn nullable_string() -> Value {
    json!({"type": ["string", "null"]})
}
fn integer() -> Value {
    json!({"type": "integer", "minimum": 0})
}
fn nullable_integer() -> Value {
    json!({"type": ["integer", "null"], "minimum": 0})
}
fn number() -> Value {
    json!({"type": "number"})
}
fn severity() -> Value {
    json!({"type": "string", "enum": ["critical", "high", "medium", "low", "info"]})
}
fn timestamp() -> Value {
    json!({"type": "string", "format": "date-time"})
}

/// An object schema: every listed property is required (nullable ones may be `null`).
fn object(properties: &[(&str, Value)]) -> Value {
    let required: Vec<&str> = properties.iter().map(|(k, _)| *k).collect();
    let props: serde_json::Map<String, Value> = properties.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    json!({"type": "object", "required": required, "properties": props})
}

/// Every event type, in a stable order.
pub fn catalogue() -> Vec<EventTypeInfo> {
    let at = DateTime::from_timestamp(1_705_314_600, 0).unwrap_or_default();
    let later = at + chrono::Duration::milliseconds(45_200);
    let project = ProjectId::from_trusted("proj_01HM9Q5B6X4Z8K2V7N3C1R0T5Y".into());
    let scan = ScanId::from_trusted("scan_01HM9Q6C7Y5A9L3W8P4D2S1U6Z".into());
    let violation = ViolationId::from_trusted("viol_01HM9Q7D8Z6B0M4X9Q5E3T2V7A".into());
    let alert = AlertId::from_trusted("alrt_01HM9Q8E9A7C1N5Y0R6F4U3W8B".into());
    let rules = vec!["gdpr".to_string(), "soc2".to_string(), "owasp".to_string()];
    let finding = Finding {
        rule: "gdpr".into(),
        severity: Severity::High,
        file: "src/auth.js".into(),
        uri: None,
        line: 42,
        message: "Personal data stored without encryption".into(),
        suggestion: Some("Use encryption for storing personal data".into()),
        fingerprint: fingerprint("gdpr", "src/auth.js", "Personal data stored without encryption"),
        line_hash: None,
        analysis: Analysis { tool: "Semgrep OSS".into(), category: "backend".into() },
    };
    let critical = Finding {
        severity: Severity::Critical,
        rule: "owasp".into(),
        message: "SQL injection".into(),
        ..finding.clone()
    };
    let counts = SeverityCounts { critical: 1, high: 2, medium: 2, low: 0, info: 0 };
    let project_schema = |when: &str| {
        object(&[("projectId", string()), ("name", string()), ("target", nullable_string()), (when, timestamp())])
    };
    let entry = |event_type, description, schema, (_, example): (crate::EventType, Value)| EventTypeInfo {
        event_type,
        description,
        schema,
        example,
    };
    let webhook_id = WebhookId::from_trusted("wh_01HM9QA0C1E3Q7A2T8H6W5Y0D".into());
    let endpoint = op::Endpoint { id: &webhook_id, url: "https://hooks.example.com/scanhook" };
    let delivery = DeliveryId::from_trusted("dlv_01HM9QB1D2F4R8B3V9J7X6Z1E".into());
    let event = EventId::from_trusted("evt_01HM9QC2E3G5S9C4W0K8Y7A2F".into());
    let failing = op::Summary { attempts: 100, failures: 23, p95_ms: 1_250 };
    let recovered = op::Summary { attempts: 100, failures: 4, p95_ms: 310 };
    let health_schema = |when: &str| {
        object(&[
            ("endpointId", string()),
            ("url", string()),
            ("attempts", integer()),
            ("failures", integer()),
            ("failureRate", json!({"type": "number", "minimum": 0, "maximum": 1})),
            ("p95LatencyMs", integer()),
            (when, timestamp()),
        ])
    };
    let dead = op::Dead {
        delivery: &delivery,
        event: &event,
        event_type: ev::SCAN_COMPLETED,
        attempts: 8,
        last_status: Some(503),
        last_error: Some("HTTP 503"),
    };
    // Some: a scan event's delivery is not an operational one.
    let dead_example = op::delivery_dead(endpoint, dead, later)
        .unwrap_or_else(|| (crate::EventType::from_trusted(op::DELIVERY_DEAD.into()), Value::Null));
    vec![
        entry(
            ev::PROJECT_CREATED,
            "A project was created.",
            project_schema("createdAt"),
            ev::project(ev::PROJECT_CREATED, &project, "web", Some("https://github.com/acme/web"), at),
        ),
        entry(
            ev::PROJECT_DELETED,
            "A project was deleted, with its scans and violations.",
            project_schema("deletedAt"),
            ev::project(ev::PROJECT_DELETED, &project, "web", Some("https://github.com/acme/web"), at),
        ),
        entry(
            ev::SCAN_STARTED,
            "A scan began.",
            object(&[
                ("scanId", string()),
                ("projectId", string()),
                ("status", json!({"const": "running"})),
                ("target", nullable_string()),
                ("rules", json!({"type": "array", "items": {"type": "string"}})),
                ("startedAt", timestamp()),
            ]),
            ev::scan_started(&scan, &project, Some("https://github.com/acme/web"), &rules, at),
        ),
        entry(
            ev::SCAN_PROGRESS,
            "A running scan reported progress (at most one per scan every 5 s).",
            object(&[
                ("scanId", string()),
                ("projectId", string()),
                ("status", json!({"const": "running"})),
                ("percent", json!({"type": "integer", "minimum": 0, "maximum": 100})),
                ("filesScanned", nullable_integer()),
                ("message", nullable_string()),
            ]),
            ev::scan_progress(&scan, &project, 40, Some(60), Some("scanning src/")),
        ),
        entry(
            ev::SCAN_COMPLETED,
            "A scan finished; counts are of the findings of this scan by severity.",
            object(&[
                ("scanId", string()),
                ("projectId", string()),
                ("status", json!({"const": "completed"})),
                (
                    "violations",
                    object(&[
                        ("total", integer()),
                        ("critical", integer()),
                        ("high", integer()),
                        ("medium", integer()),
                        ("low", integer()),
                    ]),
                ),
                ("rules", json!({"type": "array", "items": {"type": "string"}})),
                ("duration", number()),
                ("filesScanned", nullable_integer()),
                ("score", nullable_integer()),
                ("grade", nullable_string()),
            ]),
            ev::scan_completed(
                &scan,
                &project,
                &Completed { rules: &rules, counts, files_scanned: Some(150), score: Some(85), grade: Some("B") },
                at,
                later,
            ),
        ),
        entry(
            ev::SCAN_FAILED,
            "A scan failed.",
            object(&[
                ("scanId", string()),
                ("projectId", string()),
                ("status", json!({"const": "failed"})),
                ("error", object(&[("code", string()), ("message", string())])),
                ("duration", number()),
            ]),
            ev::scan_failed(&scan, &project, "SCAN_FAILED", "Insufficient disk space", at, later),
        ),
        entry(
            ev::SCAN_TIMEOUT,
            "A scan neither completed nor failed within its time limit (seconds).",
            object(&[
                ("scanId", string()),
                ("projectId", string()),
                ("status", json!({"const": "timed_out"})),
                ("timeLimit", number()),
                ("startedAt", timestamp()),
            ]),
            ev::scan_timeout(&scan, &project, at, at + chrono::Duration::hours(1)),
        ),
        entry(
            ev::VIOLATION_DETECTED,
            "A scan found a violation the project did not have open, or one resolved earlier came back (`reopened`, with the `resolvedAt` it had). Matched by tool, category, fingerprint and place: see above.",
            object(&[
                ("violationId", string()),
                ("scanId", string()),
                ("projectId", string()),
                ("rule", string()),
                ("severity", severity()),
                ("file", string()),
                ("uri", nullable_string()),
                ("line", integer()),
                ("message", string()),
                ("suggestion", nullable_string()),
                ("tool", nullable_string()),
                ("category", nullable_string()),
                ("reopened", json!({"type": "boolean"})),
                ("resolvedAt", json!({"type": ["string", "null"], "format": "date-time"})),
            ]),
            ev::violation_detected(&violation, &scan, &project, &finding, None),
        ),
        entry(
            ev::VIOLATION_RESOLVED,
            "A violation was resolved: by a scan of its tool and category that no longer found it (`resolvedBy: \"scan\"`), or by hand.",
            object(&[
                ("violationId", string()),
                ("scanId", nullable_string()),
                ("projectId", string()),
                ("rule", string()),
                ("resolvedBy", string()),
                ("resolvedAt", timestamp()),
                ("tool", nullable_string()),
                ("category", nullable_string()),
            ]),
            ev::violation_resolved(
                &violation,
                Some(&scan),
                &project,
                (&finding.rule, &finding.analysis),
                "user_123456789",
                later,
            ),
        ),
        entry(
            ev::ISSUE_CRITICAL,
            "A scan found a new critical violation, or one resolved earlier came back.",
            object(&[
                ("scan_id", string()),
                ("issue_id", string()),
                ("severity", json!({"const": "critical"})),
                ("title", string()),
                ("rule", string()),
                ("file", string()),
                ("line", integer()),
            ]),
            ev::issue_critical(&violation, &scan, &critical),
        ),
        entry(
            ev::SCORE_CHANGED,
            "A completed scan's score differs from the project's previous one.",
            object(&[
                ("scanId", string()),
                ("projectId", string()),
                ("oldScore", integer()),
                ("newScore", integer()),
                ("change", json!({"type": "integer"})),
                ("grade", nullable_string()),
            ]),
            ev::score_changed(&scan, &project, 92, 78, Some("C+")),
        ),
        entry(
            ev::ALERT_TRIGGERED,
            "An alert: score_drop and critical_issue from completed scans; cert_expired, cert_expiring_soon and \
             config_change raised through POST /v1/alerts.",
            object(&[
                ("alert_id", string()),
                (
                    "alert_type",
                    json!({"enum": ["score_drop", "critical_issue", "cert_expired", "cert_expiring_soon", "config_change"]}),
                ),
                ("severity", severity()),
                ("project_id", string()),
                ("domain", nullable_string()),
                ("title", string()),
                ("message", string()),
                ("old_value", nullable_string()),
                ("new_value", nullable_string()),
                ("score", nullable_integer()),
                ("grade", nullable_string()),
                ("created_at", timestamp()),
            ]),
            ev::alert_triggered(&Alert {
                id: &alert,
                alert_type: "score_drop",
                severity: Severity::High,
                project: &project,
                domain: Some("example.com"),
                title: "Security Score Dropped",
                message: &ev::score_drop_message(92, 78),
                old_value: Some("92".into()),
                new_value: Some("78".into()),
                score: Some(78),
                grade: Some("C+"),
                at,
            }),
        ),
        entry(
            op::ENDPOINT_DISABLED,
            "Operational: scanhook disabled an endpoint of the account (after consecutive failed deliveries, or \
             because it answered 410 Gone), with the reason. Never sent to the endpoint it is about.",
            object(&[("endpointId", string()), ("url", string()), ("reason", string()), ("disabledAt", timestamp())]),
            op::endpoint_disabled(endpoint, &webhook::auto_disable_reason(5, Some("HTTP 500")), at),
        ),
        entry(
            op::ENDPOINT_FAILING,
            "Operational: more than 10 % of an endpoint's last 100 attempts failed (at least 10 attempts), or their \
             p95 latency is above 10 s. Sent once; `endpoint.recovered` follows when at most 5 % fail and the p95 \
             is at most 5 s. Never sent to the endpoint it is about.",
            health_schema("failingSince"),
            op::endpoint_health(endpoint, op::Health::Failing, &failing, at),
        ),
        entry(
            op::ENDPOINT_RECOVERED,
            "Operational: a failing endpoint's last 100 attempts are healthy again (at most 5 % failed, p95 latency \
             at most 5 s). Never sent to the endpoint it is about.",
            health_schema("recoveredAt"),
            op::endpoint_health(endpoint, op::Health::Healthy, &recovered, later),
        ),
        entry(
            op::DELIVERY_DEAD,
            "Operational: a delivery was given up on (its retries ran out, or its endpoint was disabled meanwhile); \
             it can be replayed. Not sent for deliveries of operational events, nor to the endpoint it is about. \
             Carries no event data.",
            object(&[
                ("deliveryId", string()),
                ("eventId", string()),
                ("eventType", string()),
                ("endpointId", string()),
                ("url", string()),
                ("attempts", integer()),
                ("lastStatus", nullable_integer()),
                ("lastError", nullable_string()),
                ("deadAt", timestamp()),
            ]),
            dead_example,
        ),
        EventTypeInfo {
            event_type: WEBHOOK_TEST,
            description: "Sent by POST /v1/webhooks/{id}/test to that endpoint only.",
            schema: object(&[("test", json!({"const": true})), ("webhook_id", string()), ("message", string())]),
            example: json!({"test": true, "webhook_id": "wh_01HM9Q9F0B8D2P6Z1S7G5V4X9C", "message": "This is a test event from scanhook"}),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_is_listed_once_with_an_example_that_has_its_required_fields() {
        let all = catalogue();
        let mut names: Vec<&str> = all.iter().map(|e| e.event_type).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all.len());
        for entry in &all {
            assert!(crate::EventType::parse(entry.event_type).is_ok(), "{}", entry.event_type);
            for field in entry.schema["required"].as_array().unwrap() {
                let field = field.as_str().unwrap();
                assert!(entry.example.get(field).is_some(), "{}: example lacks {field}", entry.event_type);
            }
        }
    }
}

/// How a scan's findings become violations and which ones it resolves, in docs/events.md.
const MATCHING: &str = r#"
## How scans open and resolve violations

Each violation belongs to the **analysis** that found it: a tool, and optionally a
category (GitHub code scanning's word for the part of the code base or the configuration
the tool looked at). A SARIF log names them itself: each run's `tool.driver.name`, and its
`automationDetails.id` up to the last `/` as the category (`ci/backend/2026-11-28` is
category `ci/backend`). For scanhook's JSON findings, `tool` and `category` are given when
the scan starts (`POST /v1/scans {"project", "tool": "trivy", "category": "images"}`); a
SARIF run without a category takes the scan's too.

- A completed scan **covers** its analyses: every run of its SARIF log that has a
  `results` array (an empty one included: the tool ran and found nothing; a run without
  `results` covers nothing), or the scan's own tool and category for JSON findings. The
  scan's `covered` lists them.
- A finding continues an open violation **of the same analysis** with its fingerprint and
  place (below), which is marked as seen again at the finding's new line; else it reopens
  a resolved one (below); else it opens a new violation.
- A completed scan **resolves only open violations of the analyses it covered** that it
  did not find again. A linter's scan never resolves a SAST scanner's violations, and a
  log with several runs (several tools) is one scan that covers each of them.
- Scans that name no tool nor category form one analysis of their own (everything stored
  before tools were told apart is in it), so they go on resolving each other as before.

Example: a Bandit log completes a scan (its violations are tool `Bandit`'s); a Ruff log then
completes the next scan of the same project: it opens Ruff's violations and resolves
none of Bandit's, not even where both tools flag the same line (`B324` and `S324` are
two violations, one per tool). Bandit's next log, after md5 was replaced, resolves
exactly Bandit's `B324`.

`violation.detected` and `violation.resolved` carry `tool` and `category` (`null` when
none was named); `GET /v1/projects/{id}/violations?tool=…` lists one tool's.

### Fingerprints, and findings that look alike

A finding's **fingerprint** says what it is: the scanner's own (`partialFingerprints` or
`fingerprints` in SARIF, `fingerprint` in scanhook's JSON) combined with the rule and file,
or else a hash of the rule, the file and the message (case, whitespace and digits in the
message do not count). The line is not part of it, so a finding that moved keeps it.

Findings of one analysis with the same fingerprint **look alike** — Ruff's four "Missing
docstring in public function" (`D103`) in one file, at four functions. Each is a violation
of its own, told apart by where it is:

1. **The flagged line's text**, when the scanner gives it (SARIF `region.snippet`, as
   Bandit writes it, or `snippet` in scanhook's JSON; whitespace does not count): a finding
   continues only a violation last seen on a line with the same text, in the spirit of
   GitHub's `primaryLocationLineHash`. Violations stored before scanhook kept the text
   are continued by place.
2. **Order and place**, for the rest: the findings and the group's violations, each in line
   order, are paired in order, as many as the shorter side has; the others are new or
   resolved. Which ones is decided by how the code moved: of every way to leave the
   surplus out, the one whose shifts (new line − old line) change least from one pair to
   the next, then the one that moved least. Lines inserted above shift a finding and all
   below it alike, so they change no shift; a fixed finding leaves a gap, not a shift.

Example, from `testdata/scanners`: Ruff's v1 log has `D103` in `shop/handlers.py` at lines
8, 13, 17 and 22. In v2 the function at 13 got a docstring (one line), so Ruff reports 8,
18 and 23. Pairing 8→8, 17→18, 22→23 shifts by 0, 1, 1; every other choice shifts more
unevenly, so exactly the violation at 13 is resolved and the other three are the same
violations as before, now at 8, 18 and 23. Bandit's two `B101` at 9 and 18 flag the same
text (`assert basket is not None`) and are told apart the same way.

Limits: two look-alikes that swap places, or one fixed while another appears elsewhere in
the file in the same scan, cannot be told apart from a log (the remaining one continues the
fixed one's violation). Two findings of one group on the same line with the same text are
one finding. When more than 16 findings of one group appear or go away at once, they pair
in plain line order. A tool's own fingerprints are trusted: two findings that share one
are look-alikes even when the tool meant them to be one.

### Regressions

A finding that continues no open violation is compared the same way with the group's
**resolved** violations (most recently resolved first). If it pairs with one, that
violation **reopens** rather than a new one being opened: `violation.detected` carries
`"reopened": true` and the `resolvedAt` it had (for a new violation `reopened` is `false`
and `resolvedAt` `null`); a critical one also sends `issue.critical` again. Whether a
violation was resolved by a scan or by hand, a scan that finds it again reopens it.
`GET /v1/violations/{id}` (`scanhook violations show`) returns it with its `history` —
`detected`, `resolved` (`by` `scan` or the name given), `reopened` — each with the time
and the scan. A completed scan's `detected` counts what it opened, `reopened` how many of
those came back.

Example: after Ruff's v2 resolved `S324` (md5, `shop/storage.py:22`), a v1 log — md5 back —
reopens that same violation, with the `resolvedAt` of the v2 scan.

### Paths

`file` is relative to the project's root and `/`-separated, so a finding matches its
violation whatever machine or checkout directory found it: `./`, `\` and percent escapes
are normalised; SARIF `uriBaseId`s are resolved through the run's `originalUriBaseIds`
(a base left undescribed, like `%SRCROOT%`, is the root); absolute paths and `file://`
URIs are made relative to the `root` given when the scan started (`"root":
"/home/ci/work/app"`), else to `%SRCROOT%` where the log says where it is, else to the
deepest directory all of the log's absolute paths share. That last guess fails when the
findings all sit in one subdirectory (`shop/a.py` would become `a.py`): give `root` when
the scanner writes absolute URIs (Ruff does). When `file` differs from what the scanner
wrote, `uri` keeps the original. The fingerprint uses `file`, so violations stored with
absolute paths by earlier versions are resolved once and found again under their relative
path.
"#;

/// The catalogue as Markdown (docs/events.md is this, checked by a test).
pub fn markdown() -> String {
    let mut out = String::from(
        "# Events\n\nEvery event scanhook sends, as `GET /v1/event-types` lists it. Each delivery's body is \
         `{\"id\", \"type\", \"timestamp\", \"data\"}`; below is `data`. Generated from \
         `scanhook-core/src/catalogue.rs`: regenerate with `UPDATE_DOCS=1 cargo test -p scanhook-core`.\n",
    );
    out.push_str(MATCHING);
    for entry in catalogue() {
        let fields: Vec<String> = entry.schema["properties"]
            .as_object()
            .map(|p| p.keys().map(|k| format!("`{k}`")).collect())
            .unwrap_or_default();
        let example = serde_json::to_string_pretty(&entry.example).unwrap_or_default();
        out.push_str(&format!(
            "\n## `{}`\n\n{}\n\nFields: {}.\n\n```json\n{}\n```\n",
            entry.event_type,
            entry.description,
            fields.join(", "),
            example
        ));
    }
    out
}

#[cfg(test)]
mod docs {
    #[test]
    fn docs_events_md_matches_the_catalogue() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/events.md");
        let current = super::markdown();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(path, &current).expect("write docs/events.md");
            return;
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(committed == current, "docs/events.md is out of date: run UPDATE_DOCS=1 cargo test -p scanhook-core");
    }
}
