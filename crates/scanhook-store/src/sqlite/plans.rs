//! Every list query, with every combination of filters the API allows, every retention
//! batch, and every statement the delivery path and scans run is served by an index:
//! SQLite's plan names no full `SCAN` of a table (it prints `SCAN t` for a walk of the
//! whole table, `SEARCH t USING INDEX …` otherwise). Plans are those of a database without
//! `ANALYZE` statistics, as scanhook's own are.

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use rusqlite::types::Value;
use scanhook_core::audit::AuditAction;
use scanhook_core::scan::Severity;
use scanhook_core::{AccountId, DeliveryStatus, EventId, EventType, ProjectId, WebhookId};

use super::query::Query;
use crate::SecretBox;
use crate::model::{AuditFilter, DeliveryFilter, EventFilter, Page, ScanFilter, ScanStatus, ViolationFilter};

fn database() -> Connection {
    let mut c = Connection::open_in_memory().unwrap();
    super::stable_plans(&c).unwrap();
    super::sealed::register(&c, &SecretBox::random(), true).unwrap();
    super::schema::migrate(&mut c).unwrap();
    c
}

fn plan(c: &Connection, sql: &str, values: &[Value]) -> Vec<String> {
    let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    stmt.query_map(rusqlite::params_from_iter(values.iter()), |r| r.get::<_, String>(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// `allowed` are full scans of tables that stay small (the accounts), by alias.
#[track_caller]
fn assert_indexed(c: &Connection, sql: &str, values: &[Value], allowed: &[&str]) -> Vec<String> {
    let plan = plan(c, sql, values);
    for line in &plan {
        let line = line.trim();
        let small = allowed.iter().any(|alias| line.starts_with(&format!("SCAN {alias} ")));
        if line.starts_with("SCAN ") && line != "SCAN CONSTANT ROW" && !small {
            panic!("a full scan:\n{sql}\nplan:\n{}", plan.join("\n"));
        }
    }
    eprintln!("{sql}\n  {}", plan.join("\n  "));
    plan
}

fn check(c: &Connection, query: &Query) -> Vec<String> {
    assert!(!query.sql().contains("IS NULL OR"), "{}", query.sql());
    let plan = assert_indexed(c, query.sql(), query.values(), &[]);
    assert!(!plan.is_empty(), "no plan for {}", query.sql());
    plan
}

fn uses(plan: &[String], index: &str) -> bool {
    plan.iter().any(|line| line.contains(&format!("INDEX {index} ")))
}

fn pages() -> [Page; 2] {
    [Page { limit: 50, cursor: None }, Page { limit: 50, cursor: Some("zzz".into()) }]
}

fn at() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

#[test]
fn event_lists_use_an_index_for_every_filter_combination() {
    let c = database();
    let account = AccountId::generate();
    for project_id in [None, Some(ProjectId::generate())] {
        for event_type in [None, Some(EventType::parse("scan.completed").unwrap())] {
            for since in [None, Some(at())] {
                for until in [None, Some(at())] {
                    for page in pages() {
                        let filter = EventFilter {
                            event_type: event_type.clone(),
                            project_id: project_id.clone(),
                            since,
                            until,
                        };
                        let plan = check(&c, &super::events::list_query(&account, &filter, &page));
                        let untimed = since.is_none() && until.is_none();
                        match (&filter.project_id, &filter.event_type) {
                            (None, Some(_)) if untimed => assert!(uses(&plan, "events_type"), "{plan:?}"),
                            (Some(_), Some(_)) if untimed => assert!(uses(&plan, "events_project_type"), "{plan:?}"),
                            (Some(_), None) if untimed => assert!(uses(&plan, "events_project"), "{plan:?}"),
                            _ => {}
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn delivery_lists_use_an_index_for_every_filter_combination() {
    let c = database();
    let account = AccountId::generate();
    let event_type = EventType::parse("scan.completed").unwrap();
    for webhook_id in [None, Some(WebhookId::generate())] {
        for event_id in [None, Some(EventId::generate())] {
            for status in [None, Some(DeliveryStatus::Dead)] {
                for event_type in [None, Some(event_type.clone())] {
                    for (since, until) in
                        [(None, None), (Some(at()), None), (None, Some(at())), (Some(at()), Some(at()))]
                    {
                        for page in pages() {
                            let filter = DeliveryFilter {
                                webhook_id: webhook_id.clone(),
                                event_id: event_id.clone(),
                                status,
                                event_type: event_type.clone(),
                                since,
                                until,
                            };
                            let plan = check(&c, &super::deliveries::list_query(&account, &filter, &page));
                            let timed = since.is_some() || until.is_some();
                            match (&filter.webhook_id, &filter.event_id, filter.status, &filter.event_type, timed) {
                                (None, None, Some(_), None, false) => {
                                    assert!(uses(&plan, "deliveries_status"), "{plan:?}")
                                }
                                (Some(_), None, None, None, false) => {
                                    assert!(uses(&plan, "deliveries_webhook_all"), "{plan:?}")
                                }
                                (Some(_), None, Some(_), None, false) => {
                                    assert!(uses(&plan, "deliveries_webhook"), "{plan:?}")
                                }
                                (None, None, None, Some(_), false) => {
                                    assert!(uses(&plan, "deliveries_event_type"), "{plan:?}")
                                }
                                _ => {}
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn scan_lists_use_an_index_for_every_filter_combination() {
    let c = database();
    let project = ProjectId::generate();
    for status in [None, Some(ScanStatus::Completed)] {
        for page in pages() {
            let filter = ScanFilter { status };
            let plan = check(&c, &super::scans::list_query(&project, &filter, &page));
            let index = if status.is_some() { "scans_status" } else { "scans_list" };
            assert!(uses(&plan, index), "{plan:?}");
        }
    }
}

/// An endpoint's stats read index ranges only, the counts and the sample from the index
/// alone (a covering index: no row of the attempts table is read for them).
#[test]
fn endpoint_stats_read_ranges_of_their_indexes() {
    let c = database();
    let (webhook, t) = (Value::Text("wh_1".into()), Value::Integer(1_800_000_000_000));
    let counts = assert_indexed(&c, super::stats::COUNTS, &[webhook.clone(), t.clone(), t.clone()], &[]);
    assert!(counts.iter().any(|l| l.contains("USING COVERING INDEX attempts_webhook ")), "{counts:?}");
    let recent = assert_indexed(&c, super::stats::RECENT, &[webhook.clone(), t.clone(), Value::Integer(10)], &[]);
    assert!(recent.iter().any(|l| l.contains("USING COVERING INDEX attempts_webhook ")), "{recent:?}");
    assert!(!recent.iter().any(|l| l.contains("TEMP B-TREE")), "sorted by the index: {recent:?}");
    let failure = assert_indexed(&c, super::stats::LAST_FAILURE, &[webhook.clone(), t], &[]);
    assert!(uses(&failure, "attempts_webhook_failed"), "{failure:?}");
    assert!(!failure.iter().any(|l| l.contains("TEMP B-TREE")), "{failure:?}");
    let delivery = assert_indexed(&c, &super::stats::last_delivery_sql(), &[webhook], &[]);
    assert!(uses(&delivery, "deliveries_webhook_all"), "{delivery:?}");
}

#[test]
fn violation_lists_use_an_index_for_every_filter_combination() {
    let c = database();
    let (account, project) = (AccountId::generate(), ProjectId::generate());
    for open in [None, Some(true), Some(false)] {
        for severity in [None, Some(Severity::High)] {
            for tool in [None, Some("semgrep".to_string())] {
                for page in pages() {
                    let filter = ViolationFilter { open, severity, tool: tool.clone() };
                    check(&c, &super::violations::list_query(&account, &project, &filter, &page));
                }
            }
        }
    }
    // Counted from the index alone.
    let plan = assert_indexed(&c, super::violations::COUNT, &[Value::Text(project.to_string())], &[]);
    assert!(plan.iter().any(|l| l.contains("COVERING INDEX violations_severity")), "{plan:?}");
}

#[test]
fn audit_webhook_and_project_lists_use_an_index() {
    let c = database();
    let account = AccountId::generate();
    for action in [None, Some(AuditAction::WebhookCreated)] {
        for target_id in [None, Some("wh_1".to_string())] {
            for (since, until) in [(None, None), (Some(at()), None), (None, Some(at())), (Some(at()), Some(at()))] {
                for page in pages() {
                    let filter = AuditFilter { action, target_id: target_id.clone(), since, until };
                    check(&c, &super::audit::list_query(&account, &filter, &page));
                }
            }
        }
    }
    for page in pages() {
        check(&c, &super::webhooks::list_query(&account, &page));
        check(&c, &super::projects::list_query(&account, &page));
    }
}

#[test]
fn retention_batches_find_their_rows_through_an_index() {
    let c = database();
    let values = [Value::Integer(0), Value::Integer(500)];
    for step in scanhook_core::retention::Prune::ALL {
        // Events go account by account: the accounts are scanned, their events searched.
        let plan = assert_indexed(&c, super::retention::sql(step), &values, &["a"]);
        assert!(plan.iter().any(|l| l.contains("USING")), "{step:?}: {plan:?}");
    }
}

thread_local! {
    static TRACED: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn traced(event: rusqlite::trace::TraceEvent<'_>) {
    if let rusqlite::trace::TraceEvent::Stmt(statement, _) = event
        && let Some(sql) = statement.expanded_sql()
    {
        TRACED.with(|t| t.borrow_mut().push(sql));
    }
}

/// The delivery path and the writes around it (ingest with a key, claim, outcomes, a retry
/// by hand, replay, enable, scans from start to end, retention), as the store runs them:
/// every statement they execute is recorded, with its values, and planned again.
#[test]
fn every_statement_of_the_delivery_path_uses_an_index() {
    use crate::model::*;
    use scanhook_core::scan::{Analysis, Finding};
    use scanhook_core::{ApiKeyId, AttemptId, ExtraHeaders, ScanId, WebhookSecret, WebhookUrl};

    let c = database();
    c.trace_v2(rusqlite::trace::TraceEventCodes::SQLITE_TRACE_STMT, Some(traced));
    let now = at();
    let stamp = EventStamp { timestamp: now, first_attempt_at: now, trace_parent: None };
    let key = NewApiKey { id: ApiKeyId::generate(), name: "k".into(), key_hash: "h".into(), prefix: "p".into() };
    let account =
        super::accounts::create(&c, NewAccount { id: AccountId::generate(), name: "a".into() }, key, now).unwrap().id;
    let webhook = |events: &str| NewWebhook {
        id: WebhookId::generate(),
        url: WebhookUrl::parse("https://example.com/hook").unwrap(),
        description: None,
        events: vec![events.into()],
        secret: WebhookSecret::generate(),
        headers: ExtraHeaders::default(),
        active: true,
        projects: Vec::new(),
        min_severity: None,
        // A rate limit: the claim draws from its bucket.
        format: scanhook_core::format::DeliveryFormat { rate_limit: Some(1000), ..Default::default() },
    };
    let hook = super::webhooks::create(&c, &account, webhook("*"), 10, now).unwrap();
    let event = |key: Option<&str>| NewEvent {
        id: EventId::generate(),
        event_type: EventType::parse("scan.completed").unwrap(),
        timestamp: now,
        data: "{}".into(),
        target: None,
        idempotency: key.map(|k| (k.to_string(), "hash".to_string())),
        first_attempt_at: now,
        scope: Default::default(),
        trace_parent: None,
    };
    for key in [Some("k1"), Some("k1"), None, None] {
        super::events::ingest(&c, &account, event(key), now).unwrap();
    }
    // Passing over an endpoint at its cap.
    let limits = || ClaimLimits { skip: vec![WebhookId::generate()], ..Default::default() };
    let claimed = super::dispatch::claim(&c, "w", now, now, 10, limits()).unwrap().items;
    assert_eq!(claimed.len(), 3);
    // An ingest that leases its own deliveries (`Store::ingest_event_leased`).
    let mut made = Vec::new();
    super::events::ingest_into(&c, &account, event(None), now, &mut made).unwrap();
    let lease = Lease { owner: "w".into(), until: now, limit: 10, limits: limits() };
    assert_eq!(super::dispatch::claim_new(&c, made, now, lease).unwrap().items.len(), 1);
    let outcomes = [
        (Outcome::Succeeded, None),
        (Outcome::RetryAt(now), Some(EndpointAction::PauseUntil(now))),
        (Outcome::Dead { counts_as_failure: true }, Some(EndpointAction::Disable("gone".into()))),
    ];
    for (claim, (outcome, endpoint)) in claimed.iter().zip(outcomes) {
        let attempt = Attempt {
            id: AttemptId::generate(),
            delivery_id: claim.delivery_id.clone(),
            number: 1,
            started_at: now,
            latency_ms: 1,
            status_code: Some(500),
            error: None,
            request_headers: vec![],
            request_body: None,
            response_headers: vec![],
            response_body: Some("no".into()),
        };
        let done = Completion {
            delivery_id: claim.delivery_id.clone(),
            webhook_id: claim.webhook.id.clone(),
            attempt: Some(attempt),
            outcome,
            note: None,
            endpoint,
        };
        super::dispatch::complete(&c, "w", done, 1, now).unwrap();
    }
    super::dispatch::next_due_at(&c, &limits().skip, None).unwrap();
    super::dispatch::next_due_at(&c, &limits().skip, Some(now)).unwrap();
    // A claim after what an earlier one passed over, with an endpoint that left the skip set.
    let after = ClaimLimits { due_after: Some(now), reopened: vec![hook.id.clone()], ..limits() };
    super::dispatch::claim(&c, "w", now, now, 10, after).unwrap();
    let again = super::dispatch::claim(&c, "w", now, now, 10, limits()).unwrap().items;
    super::dispatch::release(&c, "w", &[again[0].delivery_id.clone()], now).unwrap();
    super::deliveries::retry(&c, &account, &claimed[2].delivery_id, now).unwrap();
    super::deliveries::get_with_attempts(&c, &account, &claimed[2].delivery_id).unwrap();
    super::deliveries::replay_dead(&c, &account, &hook.id, Some(now), now).unwrap();
    super::webhooks::enable(&c, &account, &hook.id, Missed::Replay, now).unwrap();
    let activity = super::stats::activity(&c, &account, &hook.id, &[now], now, 10).unwrap();
    assert_eq!(activity.counts[0].attempts, 3, "the workload's attempts are the endpoint's");

    let project = NewProject {
        id: ProjectId::generate(),
        name: "web".into(),
        target: None,
        score_drop_threshold: 10,
        scan_time_limit_secs: 60,
    };
    let project = super::projects::create(&c, &account, project, stamp).unwrap().id;
    let finding = |i: u32| Finding {
        rule: "r".into(),
        severity: Severity::High,
        file: format!("src/{i}.rs"),
        uri: None,
        line: 1,
        message: "m".into(),
        suggestion: None,
        fingerprint: scanhook_core::scan::fingerprint("r", &format!("src/{i}.rs"), "m"),
        line_hash: None,
        analysis: Analysis::default(),
    };
    for found in [0..2, 1..3] {
        let new = NewScan {
            id: ScanId::generate(),
            project_id: project.clone(),
            target: None,
            rules: vec![],
            time_limit_secs: None,
            analysis: Analysis::default(),
            root: None,
        };
        let scan = super::scans::start(&c, &account, new, stamp).unwrap().id;
        let groups = scanhook_core::scan::group(found.map(finding).collect());
        super::scans::record_findings(&c, &account, &scan, &groups, stamp).unwrap();
        super::scans::resolve_unseen(&c, &account, &scan, &[Analysis::default()], 100, stamp).unwrap();
        let finish = ScanFinish {
            counts: Default::default(),
            covered: vec![Analysis::default()],
            files_scanned: None,
            score: Some(90),
            grade: None,
        };
        super::scans::finish(&c, &account, &scan, finish, stamp).unwrap();
    }
    super::scans::time_out(&c, stamp, 10).unwrap();
    for step in scanhook_core::retention::Prune::ALL {
        super::retention::prune(&c, step, now + chrono::Duration::days(1), 500).unwrap();
    }
    super::projects::delete(&c, &account, &project, stamp).unwrap();
    c.trace_v2(rusqlite::trace::TraceEventCodes::empty(), None);

    let statements: std::collections::BTreeSet<String> = TRACED.with(|t| t.borrow().iter().cloned().collect());
    let mut planned = 0;
    for sql in &statements {
        let verb = sql.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        if !matches!(verb.as_str(), "SELECT" | "UPDATE" | "DELETE" | "INSERT" | "WITH") {
            continue;
        }
        // Only the accounts (few), the single-row meta table and a list given as a value
        // (`json_each`: the endpoints a claim passes over) may be scanned; the next due time
        // walks the due index in order and stops at its first row not passed over.
        let walk = ["deliveries USING COVERING INDEX"];
        let allowed: &[&str] = if sql.contains("ORDER BY next_attempt_at LIMIT 1") { &walk } else { &[] };
        assert_indexed(&c, sql, &[], &[&["accounts", "a", "meta", "json_each"], allowed].concat());
        planned += 1;
    }
    assert!(planned > 30, "the workload ran only {planned} statements: {statements:#?}");
}

#[test]
fn the_account_list_walks_the_primary_key_in_order() {
    let c = database();
    for page in pages() {
        let (sql, values) = super::accounts::list_query(&page);
        // The first page walks the key's index from its end (`SCAN … USING INDEX`, stopped
        // by the LIMIT); a later one searches it from the cursor. Neither sorts.
        let plan = assert_indexed(&c, sql, &values, &["accounts"]);
        assert!(plan.iter().all(|line| line.contains("USING") && line.contains("INDEX")), "{plan:?}");
        assert!(!plan.iter().any(|line| line.contains("TEMP B-TREE")), "{plan:?}");
        if page.cursor.is_some() {
            assert!(plan.iter().any(|line| line.starts_with("SEARCH accounts")), "{plan:?}");
        }
    }
}
