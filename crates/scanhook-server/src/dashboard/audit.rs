//! The audit log page: the account's management actions, newest first, filtered by action,
//! target and time through a GET form, paged with the API's cursor; each entry's changes
//! as a small list of what went from what to what.

use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};
use scanhook_api_types::{AuditEntryOut, ListOut, Problem};
use scanhook_core::audit::AuditAction;
use serde::Deserialize;
use serde_json::Value;

use super::Dash;
use super::events::{filtered_page, read_filtered};
use super::filters::{Refused, filter, form, link, pager, range, set, text, time, unplaced};
use super::forms::UrlQuery;
use super::layout::when;
use super::session::Sess;

/// Entries per page.
const PAGE_SIZE: &str = "50";

/// What the audit page reads from its URL; empty fields mean "any".
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    action: String,
    #[serde(default)]
    target_id: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    cursor: String,
}

impl AuditQuery {
    /// The filters as the page's address keeps them.
    fn kept(&self) -> [(&str, &str); 4] {
        [
            ("action", self.action.trim()),
            ("target_id", self.target_id.trim()),
            ("since", self.since.trim()),
            ("until", self.until.trim()),
        ]
    }

    /// The API's address for this page, or the problem with a filter.
    fn api_uri(&self) -> Result<String, Refused> {
        let action = text("action", &self.action)?.unwrap_or_default();
        let target = text("target_id", &self.target_id)?.unwrap_or_default();
        let (since, until) = (time("since", &self.since)?, time("until", &self.until)?);
        range(since.as_deref(), until.as_deref())?;
        let cursor = text("cursor", &self.cursor)?.unwrap_or_default();
        let (since, until) = (since.unwrap_or_default(), until.unwrap_or_default());
        let pairs = [
            ("limit", PAGE_SIZE),
            ("action", action),
            ("target_id", target),
            ("since", &since),
            ("until", &until),
            ("cursor", cursor),
        ];
        Ok(link("/v1/audit-log", &pairs))
    }

    fn filtered(&self) -> bool {
        set(&self.kept()) > 0
    }
}

fn filter_form(q: &AuditQuery, problem: Option<&Problem>) -> Markup {
    let action = q.action.trim();
    let known = action.is_empty() || AuditAction::ALL.iter().any(|a| a.as_str() == action);
    let fields = html! {
        (filter("Action", "action", problem, html! {
            select #action name="action" {
                option value="" { "Any action" }
                @for a in AuditAction::ALL { option value=(a.as_str()) selected[a.as_str() == action] { (a.as_str()) } }
                @if !known { option value=(action) selected { (action) } }
            }
        }))
        (filter("About (ID)", "target_id", problem, html! {
            input #target_id type="text" name="target_id" value=(q.target_id) placeholder="wh_…" maxlength="100"
                autocomplete="off";
        }))
    };
    form("/audit", fields, (&q.since, &q.until), set(&q.kept()), problem)
}

/// A value as one short line: strings bare, anything else as compact JSON.
fn short(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "—".into(),
        other => other.to_string(),
    }
}

/// `{field: {"from": …, "to": …}}` as "field: from → to"; other objects as "field: value".
fn changes(v: &Value) -> Markup {
    let Some(fields) = v.as_object().filter(|f| !f.is_empty()) else {
        return html! { span.muted { "—" } };
    };
    html! {
        ul.changes {
            @for (name, change) in fields {
                li {
                    code { (name) } ": "
                    @match (change.get("from"), change.get("to")) {
                        (Some(from), Some(to)) => { span.wrap { (short(from)) " → " (short(to)) } }
                        _ => { span.wrap { (short(change)) } }
                    }
                }
            }
        }
    }
}

/// `GET /audit`: the audit log, newest first, filtered by action, target and time, paged.
pub async fn list(
    State(dash): State<Dash>,
    sess: Sess,
    UrlQuery(q): UrlQuery<AuditQuery>,
) -> Result<Response, Response> {
    let (page, problem): (ListOut<AuditEntryOut>, _) =
        read_filtered(&dash, &sess, q.api_uri(), "Audit log", "the audit log").await?;
    let kept = q.kept();
    let body = html! {
        div.page-head {
            div { h1 { "Audit log" } p.muted { "Who changed what in this account, newest first. Secrets never appear." } }
        }
        (filter_form(&q, problem.as_ref()))
        @if let Some(p) = unplaced(problem.as_ref(), &["action", "target_id", "since", "until"]) {
            p.banner.error role="alert" { (p.message) }
        }
        @if page.data.is_empty() {
            section.card.empty {
                @if problem.is_some() { p { "Correct the filter to see the entries." } }
                @else if !q.cursor.is_empty() { p { "No older entries." } p { a href=(link("/audit", &kept)) { "Back to the newest" } } }
                @else if q.filtered() { h2 { "No entries match these filters" } p { a href="/audit" { "Show every entry" } } }
                @else { h2 { "Nothing yet" } p { "Creating, changing or deleting endpoints, keys and portal links is recorded here." } }
            }
        } @else {
            table.list.dense {
                thead { tr { th { "When, by" } th { "Action" } th { "About" } th { "Changes" } } }
                tbody {
                    @for e in &page.data {
                        tr {
                            // The key that acted under the time, so the IDs keep to one line each
                            // and the changes have the room left.
                            td.id data-label="When, by" { (when(&e.at)) br; span.mono.small.muted.url title="The API key used" { (e.key_id) } }
                            td data-label="Action" { code.tag { (e.action) } }
                            td.id data-label="About" { a.mono.small.url href=(link("/audit", &[("target_id", e.target_id.as_str())])) { (e.target_id) } }
                            td.changes data-label="Changes" { (changes(&e.changes)) }
                        }
                    }
                }
            }
        }
        (pager("/audit", &kept, ("cursor", q.cursor.trim()), page.next_cursor.as_deref(), ""))
    };
    Ok(filtered_page(&dash, &sess, "Audit log", problem.as_ref(), body))
}
