//! A delivery's page: its status and every attempt with the request and response headers
//! and bodies (credentials already redacted by the API), status code, latency and error;
//! Retry. Also the delivery rows other pages show.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use scanhook_api_types::{AttemptOut, DeliveryDetailOut, DeliveryOut, HttpMessageOut};
use scanhook_core::DeliveryStatus;

use super::Dash;
use super::api;
use super::endpoints::valid_id;
use super::layout::{Page, error_page, problem_page, when};
use super::session::{CsrfOnly, Posted, Sess};

/// A delivery's status as a badge, with the last HTTP status when there is one.
pub fn status_badge(d: &DeliveryOut) -> Markup {
    let (class, label) = match d.status {
        DeliveryStatus::Succeeded => ("ok", "Succeeded"),
        DeliveryStatus::Dead => ("bad", "Failed"),
        DeliveryStatus::Pending => {
            (if d.attempts > 0 { "warn" } else { "neutral" }, if d.attempts > 0 { "Retrying" } else { "Pending" })
        }
        _ => ("neutral", "Held"),
    };
    html! {
        span.badge.(class) { (label) @if let Some(code) = d.last_status_code { " · " (code) } }
    }
}

/// Endpoint URLs by ID, for naming the endpoints of deliveries.
pub type Urls<'a> = HashMap<&'a str, &'a str>;

/// What a table of deliveries names in each row: the event's type (on an endpoint's
/// page), the endpoint's URL (on an event's page), or both (the delivery log). An endpoint
/// missing from the URLs is named by its ID.
#[derive(Clone, Copy)]
pub enum Named<'a> {
    Event,
    Endpoint(&'a Urls<'a>),
    Both(&'a Urls<'a>),
}

/// A table of deliveries, newest first: each links to its page (by its event's type, or
/// by its time when the event is not named).
pub fn delivery_rows(deliveries: &[DeliveryOut], named: Named) -> Markup {
    let (event, urls) = match named {
        Named::Event => (true, None),
        Named::Endpoint(urls) => (false, Some(urls)),
        Named::Both(urls) => (true, Some(urls)),
    };
    html! {
        @if deliveries.is_empty() {
            p.muted { "No deliveries yet: they appear here as events reach this endpoint." }
        } @else {
            table.list.dense {
                thead { tr { @if event { th { "Event" } } @if urls.is_some() { th { "Endpoint" } } th { "Status" } th { "Attempts" } th { "Created" } } }
                tbody {
                    @for d in deliveries {
                        tr {
                            @if event { td data-label="Event" { a href={ "/deliveries/" (d.id) } { code { (d.event_type) } } } }
                            @if let Some(urls) = urls {
                                td.url data-label="Endpoint" {
                                    a href={ "/endpoints/" (d.webhook_id) } { (urls.get(d.webhook_id.as_str()).copied().unwrap_or(&d.webhook_id)) }
                                }
                            }
                            td data-label="Status" { (status_badge(d)) }
                            td data-label="Attempts" { (d.attempts) }
                            td data-label="Created" {
                                @if event { (when(&d.created_at)) }
                                @else { a href={ "/deliveries/" (d.id) } title="Open this delivery" { (when(&d.created_at)) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn message(title: &str, m: &HttpMessageOut) -> Markup {
    html! {
        div.message {
            h4 { (title) }
            @if m.headers.is_empty() { p.muted.small { "No headers" } } @else {
                table.headers {
                    tbody { @for (name, value) in &m.headers { tr { th { (name) } td.mono.wrap { (value) } } } }
                }
            }
            pre.body { (pretty(&m.body)) }
        }
    }
}

/// JSON bodies pretty-printed; anything else as it came.
fn pretty(body: &str) -> String {
    if body.is_empty() {
        return "(empty body)".into();
    }
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| body.to_string())
}

fn attempt(a: &AttemptOut) -> Markup {
    let ok = a.status_code.is_some_and(|c| (200..300).contains(&c));
    html! {
        article.attempt {
            header {
                h3 { "Attempt " (a.number) }
                span.badge.(if ok { "ok" } else { "bad" }) {
                    @match a.status_code { Some(code) => { "HTTP " (code) } None => { "No response" } }
                }
                span.small { (a.latency_ms) " ms · " (when(&a.started_at)) }
            }
            @if let Some(error) = &a.error { p.banner.error { (error) } }
            div.exchange {
                (message("Request", &a.request))
                @match &a.response { Some(r) => { (message("Response", r)) } None => { div.message { h4 { "Response" } p.muted { "None received." } } } }
            }
        }
    }
}

pub async fn show(State(dash): State<Dash>, sess: Sess, Path(id): Path<String>) -> Response {
    if !valid_id(&id, "dlv_") {
        return error_page(&dash.app, Some(&sess), StatusCode::NOT_FOUND, "No such delivery.");
    }
    let d: DeliveryDetailOut = match api::get(&dash.api, &sess, &format!("/v1/deliveries/{id}")).await {
        Ok(d) => d,
        Err(p) => return problem_page(&dash.app, &sess, &p),
    };
    let under_way = d.delivery.status == DeliveryStatus::Pending && d.attempt_log.is_empty();
    let body = html! {
        p.crumbs { a href="/endpoints" { "Endpoints" } " / " a href={ "/endpoints/" (d.delivery.webhook_id) } { "Endpoint" } " / Delivery" }
        div.page-head {
            div {
                h1 { "Delivery of " code { (d.delivery.event_type) } }
                p { (status_badge(&d.delivery)) " " span.small.muted { (d.delivery.id) } }
            }
            @if !sess.read_only {
                form.inline method="post" action={ "/deliveries/" (d.delivery.id) "/retry" } {
                    input type="hidden" name="csrf" value=(sess.csrf);
                    button type="submit" { "Retry" }
                }
            }
        }
        section.card {
            dl.facts {
                dt { "Event" } dd.mono { (d.delivery.event_id) }
                dt { "Created" } dd { (when(&d.delivery.created_at)) }
                @if let Some(next) = &d.delivery.next_attempt_at { dt { "Next attempt" } dd { (when(next)) } }
                @if let Some(e) = &d.delivery.last_error { dt { "Last error" } dd { (e) } }
            }
        }
        h2 { "Attempts" }
        @if d.attempt_log.is_empty() {
            section.card.empty { p { @if under_way { "The first attempt is on its way; this page refreshes by itself." } @else { "No attempts yet." } } }
        }
        @for a in d.attempt_log.iter().rev() { (attempt(a)) }
    };
    Page::new(&dash.app, "Delivery").refreshing(under_way).render(Some(&sess), body).into_response()
}

pub async fn retry(State(dash): State<Dash>, Path(id): Path<String>, posted: Posted<CsrfOnly>) -> Response {
    let sess = posted.sess;
    if !valid_id(&id, "dlv_") {
        return error_page(&dash.app, Some(&sess), StatusCode::NOT_FOUND, "No such delivery.");
    }
    let uri = format!("/v1/deliveries/{id}/retry");
    match api::call::<DeliveryOut>(&dash.api, &sess, Method::POST, &uri, None).await {
        Ok(_) => Redirect::to(&format!("/deliveries/{id}")).into_response(),
        Err(p) => problem_page(&dash.app, &sess, &p),
    }
}
