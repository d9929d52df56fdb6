//! The audit log page: the account's management actions, newest first, paged with the
//! API's cursor; each entry's changes as a small table of what went from what to what.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use scanhook_api_types::{AuditEntryOut, ListOut};
use serde::Deserialize;
use serde_json::Value;

use super::Dash;
use super::events::{pager, read, with_query};
use super::forms::UrlQuery;
use super::layout::{Page, when};
use super::session::Sess;

/// What the audit page reads from its URL.
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    cursor: Option<String>,
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

pub async fn list(
    State(dash): State<Dash>,
    sess: Sess,
    UrlQuery(q): UrlQuery<AuditQuery>,
) -> Result<Response, Response> {
    let cursor = q.cursor.as_deref().map(str::trim).filter(|c| !c.is_empty() && c.len() <= 512);
    let uri = with_query("/v1/audit-log", &[("limit", Some("50")), ("cursor", cursor)]);
    let page: ListOut<AuditEntryOut> = read(&dash, &sess, &uri, "Audit log", "the audit log").await?;
    let body = html! {
        div.page-head {
            div { h1 { "Audit log" } p.muted { "Who changed what in this account, newest first. Secrets never appear." } }
        }
        @if page.data.is_empty() {
            section.card.empty { h2 { "Nothing yet" } p { "Creating, changing or deleting endpoints, keys and portal links is recorded here." } }
        } @else {
            table.list {
                thead { tr { th { "Time" } th { "Action" } th { "About" } th { "Key" } th { "Changes" } } }
                tbody {
                    @for e in &page.data {
                        tr {
                            td data-label="Time" { (when(&e.at)) }
                            td data-label="Action" { code.tag { (e.action) } }
                            td data-label="About" { span.mono.small.url { (e.target_id) } }
                            td data-label="Key" { span.mono.small.url { (e.key_id) } }
                            td data-label="Changes" { (changes(&e.changes)) }
                        }
                    }
                }
            }
        }
        (pager("/audit", &[], cursor.is_some(), page.next_cursor.as_deref()))
    };
    Ok(Page::new(&dash.app, "Audit log").render(Some(&sess), body).into_response())
}
