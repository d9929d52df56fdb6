//! Every list query, with every combination of filters the API allows, and every
//! retention batch is served by an index: SQLite's plan names no full `SCAN` of a table
//! (it prints `SCAN t` for a walk of the whole table, `SEARCH t USING INDEX …` otherwise).

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use rusqlite::types::Value;
use scanhook_core::audit::AuditAction;
use scanhook_core::scan::Severity;
use scanhook_core::{AccountId, DeliveryStatus, EventId, EventType, ProjectId, WebhookId};

use super::query::Query;
use crate::SecretBox;
use crate::model::{AuditFilter, DeliveryFilter, EventFilter, Page, ViolationFilter};

fn database() -> Connection {
    let mut c = Connection::open_in_memory().unwrap();
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
        if line.starts_with("SCAN ") && !small {
            panic!("a full scan:\n{sql}\nplan:\n{}", plan.join("\n"));
        }
    }
    assert!(!plan.is_empty(), "no plan for {sql}");
    eprintln!("{sql}\n  {}", plan.join("\n  "));
    plan
}

fn check(c: &Connection, query: &Query) -> Vec<String> {
    assert!(!query.sql().contains("IS NULL OR"), "{}", query.sql());
    assert_indexed(c, query.sql(), query.values(), &[])
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
    for event_type in [None, Some(EventType::parse("scan.completed").unwrap())] {
        for since in [None, Some(at())] {
            for until in [None, Some(at())] {
                for page in pages() {
                    let filter = EventFilter { event_type: event_type.clone(), since, until };
                    let plan = check(&c, &super::events::list_query(&account, &filter, &page));
                    if filter.event_type.is_some() && since.is_none() && until.is_none() {
                        assert!(uses(&plan, "events_type"), "{plan:?}");
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
    for webhook_id in [None, Some(WebhookId::generate())] {
        for event_id in [None, Some(EventId::generate())] {
            for status in [None, Some(DeliveryStatus::Dead)] {
                for page in pages() {
                    let filter = DeliveryFilter { webhook_id: webhook_id.clone(), event_id: event_id.clone(), status };
                    let plan = check(&c, &super::deliveries::list_query(&account, &filter, &page));
                    match (&filter.webhook_id, &filter.event_id, filter.status) {
                        (None, None, Some(_)) => assert!(uses(&plan, "deliveries_status"), "{plan:?}"),
                        (Some(_), None, None) => assert!(uses(&plan, "deliveries_webhook_all"), "{plan:?}"),
                        (Some(_), None, Some(_)) => assert!(uses(&plan, "deliveries_webhook"), "{plan:?}"),
                        _ => {}
                    }
                }
            }
        }
    }
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
}

#[test]
fn audit_webhook_and_project_lists_use_an_index() {
    let c = database();
    let account = AccountId::generate();
    for action in [None, Some(AuditAction::WebhookCreated)] {
        for target_id in [None, Some("wh_1".to_string())] {
            for page in pages() {
                let filter = AuditFilter { action, target_id: target_id.clone() };
                check(&c, &super::audit::list_query(&account, &filter, &page));
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
