//! The events pages: recent events newest first (filtered by type, paged with the API's
//! cursor), and one event's page with its payload pretty-printed and its deliveries.
//! Sessions limited to some event types may not list events (the API answers 403); they
//! get a page that says so.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use scanhook_api_types::{DeliveryOut, EventOut, ListOut, Problem};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::Dash;
use super::api;
use super::deliveries::delivery_rows;
use super::endpoints::valid_id;
use super::forms::UrlQuery;
use super::layout::{Page, error_page, problem_page, when};
use super::session::Sess;

/// The longest event type or cursor the pages pass on (the API bounds them again).
const MAX_PARAM: usize = 512;

/// What the events list reads from its URL.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default, rename = "type")]
    event_type: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
}

/// A non-empty, bounded query value.
fn param(v: Option<&String>) -> Option<&str> {
    v.map(|s| s.trim()).filter(|s| !s.is_empty() && s.len() <= MAX_PARAM)
}

/// `uri` with the query pairs that are set, encoded.
pub fn with_query(uri: &str, pairs: &[(&str, Option<&str>)]) -> String {
    let set: Vec<(&str, &str)> = pairs.iter().filter_map(|(k, v)| v.map(|v| (*k, v))).collect();
    match serde_urlencoded::to_string(&set) {
        Ok(q) if !q.is_empty() => format!("{uri}?{q}"),
        _ => uri.to_string(),
    }
}

/// A refusal the session's limits explain (403) as a page that says so; anything else as
/// the usual problem page.
pub fn refused_or_problem(dash: &Dash, sess: &Sess, title: &str, what: &str, p: &Problem) -> Response {
    if p.status != 403 {
        return problem_page(&dash.app, p);
    }
    let body = html! {
        section.card.empty {
            h1 { (title) }
            @if let Some(types) = &sess.limited {
                p role="alert" { "This session is limited to events of the types " strong { (types.join(", ")) } ", so it cannot see " (what) "." }
                p.muted { "Its endpoints, their deliveries and the event catalogue are open to it." }
            } @else {
                p role="alert" { "This session cannot see " (what) ": " (p.message) }
            }
            p { a.button href="/endpoints" { "Back to the endpoints" } }
        }
    };
    (StatusCode::FORBIDDEN, Page::new(&dash.app, title).render(Some(sess), body)).into_response()
}

/// `uri` read as the session, or the page that says why not ([`refused_or_problem`]).
pub async fn read<T: DeserializeOwned>(
    dash: &Dash,
    sess: &Sess,
    uri: &str,
    title: &str,
    what: &str,
) -> Result<T, Response> {
    api::get(&dash.api, sess, uri).await.map_err(|p| refused_or_problem(dash, sess, title, what, &p))
}

/// A JSON value pretty-printed for a `pre`.
pub fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

fn filter_form(event_type: Option<&str>) -> Markup {
    html! {
        form.filters.inline method="get" action="/events" role="search" {
            div.field {
                label for="type" { "Event type" }
                input #type type="text" name="type" value=[event_type] placeholder="scan.completed" maxlength="128";
            }
            div.actions {
                button type="submit" { "Filter" }
                @if event_type.is_some() { a.button href="/events" { "Clear" } }
            }
        }
    }
}

pub async fn list(State(dash): State<Dash>, sess: Sess, UrlQuery(q): UrlQuery<ListQuery>) -> Response {
    let event_type = param(q.event_type.as_ref());
    let cursor = param(q.cursor.as_ref());
    let uri = with_query("/v1/events", &[("limit", Some("25")), ("type", event_type), ("cursor", cursor)]);
    let (page, problem): (ListOut<EventOut>, Option<Problem>) = match api::get(&dash.api, &sess, &uri).await {
        Ok(page) => (page, None),
        Err(p) if p.status == 422 => (ListOut { data: Vec::new(), next_cursor: None }, Some(p)),
        Err(p) => return refused_or_problem(&dash, &sess, "Events", "events", &p),
    };
    let body = html! {
        div.page-head {
            div { h1 { "Events" } p.muted { "What happened, newest first. Each event is delivered to the endpoints that subscribe to its type." } }
        }
        (filter_form(event_type))
        @if let Some(p) = &problem { p.banner.error role="alert" { (p.message) } }
        @if page.data.is_empty() && problem.is_none() {
            section.card.empty {
                h2 { @if event_type.is_some() { "No events of this type" } @else { "No events yet" } }
                p { "Events appear here once they are sent with POST /v1/events, by a scan, or as an endpoint's test." }
            }
        } @else if !page.data.is_empty() {
            table.list {
                thead { tr { th { "Event" } th { "Type" } th { "Deliveries" } th { "Time" } } }
                tbody {
                    @for e in &page.data {
                        tr {
                            td data-label="Event" { a.mono.url href={ "/events/" (e.id) } { (e.id) } }
                            td data-label="Type" { code.tag { (e.event_type) } @if e.webhook_id.is_some() { " " span.badge.neutral { "Test" } } }
                            td data-label="Deliveries" { (e.deliveries) }
                            td data-label="Time" { (when(&e.timestamp)) }
                        }
                    }
                }
            }
        }
        (pager("/events", &[("type", event_type)], cursor.is_some(), page.next_cursor.as_deref()))
    };
    Page::new(&dash.app, "Events").render(Some(&sess), body).into_response()
}

/// Links to the first and the next page, keeping the filters.
pub fn pager(uri: &str, filters: &[(&str, Option<&str>)], paged: bool, next: Option<&str>) -> Markup {
    let mut with_next = filters.to_vec();
    with_next.push(("cursor", next));
    html! {
        @if paged || next.is_some() {
            nav.pager aria-label="Pages" {
                @if paged { a.button href=(with_query(uri, filters)) { "← Newest" } }
                @if next.is_some() { a.button href=(with_query(uri, &with_next)) { "Older →" } }
            }
        }
    }
}

pub async fn show(State(dash): State<Dash>, sess: Sess, Path(id): Path<String>) -> Result<Response, Response> {
    if !valid_id(&id, "evt_") {
        return Err(error_page(&dash.app, StatusCode::NOT_FOUND, "No such event."));
    }
    let e: EventOut = read(&dash, &sess, &format!("/v1/events/{id}"), "Event", "events").await?;
    let deliveries: Result<ListOut<DeliveryOut>, Problem> =
        api::get(&dash.api, &sess, &format!("/v1/deliveries?event_id={id}&limit=100")).await;
    let body = html! {
        p.crumbs { a href="/events" { "Events" } " / " (e.id) }
        div.page-head {
            div {
                h1 { "Event " code { (e.event_type) } }
                p.small.muted { (e.id) " · " (when(&e.timestamp)) }
            }
        }
        section.card {
            dl.facts {
                dt { "Type" } dd { code { (e.event_type) } }
                dt { "Time" } dd { (when(&e.timestamp)) }
                dt { "Deliveries" } dd { (e.deliveries) }
                @if let Some(w) = &e.webhook_id { dt { "Test of" } dd { a.mono href={ "/endpoints/" (w) } { (w) } } }
            }
        }
        h2.section { "Payload" }
        pre.body { (pretty(&e.data)) }
        h2.section { "Deliveries" }
        @match &deliveries {
            Ok(list) if list.data.is_empty() => { section.card.empty { p { "No endpoint subscribed to this event when it was sent." } } }
            Ok(list) => { (delivery_rows(&list.data)) }
            Err(p) => { p.banner.error role="alert" { "The deliveries could not be read: " (p.message) } }
        }
    };
    Ok(Page::new(&dash.app, "Event").render(Some(&sess), body).into_response())
}
