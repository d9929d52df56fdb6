//! The events pages: recent events newest first (filtered by type and time through a GET
//! form, paged with the API's cursor), and one event's page with its payload pretty-printed and its deliveries.
//! Sessions limited to some event types may not list events (the API answers 403); they
//! get a page that says so.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use scanhook_api_types::{DeliveryOut, EventOut, ListOut, Problem, WebhookOut};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::Dash;
use super::api;
use super::deliveries::{Named, Urls, delivery_rows};
use super::endpoints::valid_id;
use super::filters::{Refused, filter, form, link, nothing, pager, range, set, text, time, unplaced};
use super::forms::UrlQuery;
use super::layout::{Page, error_page, problem_page, when};
use super::session::Sess;

/// Events per page.
const PAGE_SIZE: &str = "25";

/// What the events list reads from its URL; empty fields mean "any".
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default, rename = "type")]
    event_type: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    cursor: String,
}

impl ListQuery {
    /// The filters as the page's address keeps them.
    fn kept(&self) -> [(&str, &str); 3] {
        [("type", self.event_type.trim()), ("since", self.since.trim()), ("until", self.until.trim())]
    }

    /// The API's address for this page, or the problem with a filter.
    fn api_uri(&self) -> Result<String, Refused> {
        let event_type = text("type", &self.event_type)?.unwrap_or_default();
        let (since, until) = (time("since", &self.since)?, time("until", &self.until)?);
        range(since.as_deref(), until.as_deref())?;
        let cursor = text("cursor", &self.cursor)?.unwrap_or_default();
        let (since, until) = (since.unwrap_or_default(), until.unwrap_or_default());
        Ok(link(
            "/v1/events",
            &[("limit", PAGE_SIZE), ("type", event_type), ("since", &since), ("until", &until), ("cursor", cursor)],
        ))
    }

    fn filtered(&self) -> bool {
        set(&self.kept()) > 0
    }
}

/// A refusal the session's limits explain (403) as a page that says so; anything else as
/// the usual problem page.
pub fn refused_or_problem(dash: &Dash, sess: &Sess, title: &str, what: &str, p: &Problem) -> Response {
    if p.status != 403 {
        return problem_page(&dash.app, sess, p);
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

/// A filtered list read as the session from `uri` (or the page's own refusal of a filter):
/// its page and the refusal of a filter (the page's, or the API's 400 or 422) to show
/// beside the field it names; any other refusal is the page that explains it.
pub async fn read_filtered<T: DeserializeOwned>(
    dash: &Dash,
    sess: &Sess,
    uri: Result<String, Refused>,
    title: &str,
    what: &str,
) -> Result<(ListOut<T>, Option<Problem>), Response> {
    let answer = match uri {
        Ok(uri) => api::get::<ListOut<T>>(&dash.api, sess, &uri).await,
        Err(r) => Err(Problem::from(r)),
    };
    match answer {
        Ok(page) => Ok((page, None)),
        Err(p) if p.status == 422 || p.status == 400 => Ok((nothing(), Some(p))),
        Err(p) => Err(refused_or_problem(dash, sess, title, what, &p)),
    }
}

/// A page with filters: 422 when one was refused.
pub fn filtered_page(dash: &Dash, sess: &Sess, title: &str, problem: Option<&Problem>, body: Markup) -> Response {
    let status = if problem.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    (status, Page::new(&dash.app, title).render(Some(sess), body)).into_response()
}

/// A JSON value pretty-printed for a `pre`.
pub fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

fn filter_form(q: &ListQuery, problem: Option<&Problem>) -> Markup {
    let fields = filter(
        "Event type",
        "type",
        problem,
        html! {
            input #type type="text" name="type" value=(q.event_type) placeholder="scan.completed" maxlength="128"
                autocomplete="off";
        },
    );
    form("/events", fields, (&q.since, &q.until), set(&q.kept()), problem)
}

/// `GET /events`: the account's events, newest first, filtered by type and time, paged.
pub async fn list(
    State(dash): State<Dash>,
    sess: Sess,
    UrlQuery(q): UrlQuery<ListQuery>,
) -> Result<Response, Response> {
    let (page, problem): (ListOut<EventOut>, _) = read_filtered(&dash, &sess, q.api_uri(), "Events", "events").await?;
    let kept = q.kept();
    let body = html! {
        div.page-head {
            div { h1 { "Events" } p.muted { "What happened, newest first. Each event is delivered to the endpoints that subscribe to its type." } }
        }
        (filter_form(&q, problem.as_ref()))
        @if let Some(p) = unplaced(problem.as_ref(), &["type", "since", "until"]) { p.banner.error role="alert" { (p.message) } }
        @if page.data.is_empty() {
            section.card.empty {
                @if problem.is_some() { p { "Correct the filter to see events." } }
                @else if !q.cursor.is_empty() { p { "No older events." } p { a href=(link("/events", &kept)) { "Back to the newest" } } }
                @else if q.filtered() {
                    h2 { "No events match these filters" }
                    p { a href="/events" { "Show every event" } }
                } @else {
                    h2 { "No events yet" }
                    p { "Events appear here once they are sent with POST /v1/events, by a scan, or as an endpoint's test." }
                }
            }
        } @else {
            (event_rows(&page.data))
        }
        (pager("/events", &kept, ("cursor", q.cursor.trim()), page.next_cursor.as_deref(), ""))
    };
    Ok(filtered_page(&dash, &sess, "Events", problem.as_ref(), body))
}

/// Events as a table: each links to its page.
pub fn event_rows(events: &[EventOut]) -> Markup {
    html! {
        table.list {
            thead { tr { th { "Event" } th { "Type" } th { "Deliveries" } th { "Time" } } }
            tbody {
                @for e in events {
                    tr {
                        td.id data-label="Event" { a.mono.url href={ "/events/" (e.id) } { (e.id) } }
                        td data-label="Type" { code.tag { (e.event_type) } @if e.webhook_id.is_some() { " " span.badge.neutral { "Test" } } }
                        td data-label="Deliveries" { (e.deliveries) }
                        td data-label="Time" { (when(&e.timestamp)) }
                    }
                }
            }
        }
    }
}

pub async fn show(State(dash): State<Dash>, sess: Sess, Path(id): Path<String>) -> Result<Response, Response> {
    if !valid_id(&id, "evt_") {
        return Err(error_page(&dash.app, Some(&sess), StatusCode::NOT_FOUND, "No such event."));
    }
    let e: EventOut = read(&dash, &sess, &format!("/v1/events/{id}"), "Event", "events").await?;
    let deliveries: Result<ListOut<DeliveryOut>, Problem> =
        api::get(&dash.api, &sess, &format!("/v1/deliveries?event_id={id}&limit=100")).await;
    // Each delivery names its endpoint by URL (by ID when the endpoint is gone or unread).
    let endpoints = match &deliveries {
        Ok(list) if !list.data.is_empty() => {
            api::get::<ListOut<WebhookOut>>(&dash.api, &sess, "/v1/webhooks?limit=250")
                .await
                .map(|l| l.data)
                .unwrap_or_default()
        }
        _ => Vec::new(),
    };
    let urls: Urls = endpoints.iter().map(|w| (w.id.as_str(), w.url.as_str())).collect();
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
            Ok(list) => { (delivery_rows(&list.data, Named::Endpoint(&urls))) }
            Err(p) => { p.banner.error role="alert" { "The deliveries could not be read: " (p.message) } }
        }
    };
    Ok(Page::new(&dash.app, "Event").render(Some(&sess), body).into_response())
}
