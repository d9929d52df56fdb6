//! The account's delivery log (`/deliveries`): newest first, filtered by status, event
//! type, endpoint and time range through a GET form (so the URL keeps the filters), paged
//! with the API's cursor. Also replaying an endpoint's dead letters. Both only pass the
//! filters on to the API, whose validation errors are shown beside the field they name.

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use scanhook_api_types::{DeliveryOut, ListOut, Problem, ReplayOut, WebhookOut};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Dash;
use super::api;
use super::deliveries::{Named, Urls, delivery_rows};
use super::endpoints::valid_id;
use super::filters::{filter, form, rfc3339};
use super::forms::UrlQuery;
use super::layout::{Page, error_page, problem_page};
use super::session::{HasCsrf, Posted, Sess};

/// Deliveries per page of the log.
const PAGE_SIZE: &str = "50";

/// The statuses a delivery can have, as the filter offers them.
const STATUSES: [(&str, &str); 4] =
    [("succeeded", "Succeeded"), ("pending", "Pending or retrying"), ("dead", "Failed"), ("held", "Held")];

/// The log's filters as the URL carries them; empty fields mean "any".
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct LogQuery {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub event_type: String,
    #[serde(default)]
    pub webhook_id: String,
    #[serde(default)]
    pub since: String,
    #[serde(default)]
    pub until: String,
    /// Deliveries per page (the API's bound applies); 50 when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub limit: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cursor: String,
}

impl LogQuery {
    /// The API's query string for these filters.
    fn api_uri(&self) -> String {
        let limit = if self.limit.trim().is_empty() { PAGE_SIZE } else { self.limit.trim() };
        let mut pairs = vec![("limit", limit.to_string())];
        let fields = [("status", &self.status), ("event_type", &self.event_type), ("webhook_id", &self.webhook_id)];
        for (name, value) in fields {
            if !value.trim().is_empty() {
                pairs.push((name, value.trim().to_string()));
            }
        }
        for (name, value) in [("since", &self.since), ("until", &self.until)] {
            if !value.trim().is_empty() {
                pairs.push((name, rfc3339(value.trim())));
            }
        }
        if !self.cursor.is_empty() {
            pairs.push(("cursor", self.cursor.clone()));
        }
        format!("/v1/deliveries?{}", serde_urlencoded::to_string(pairs).unwrap_or_default())
    }

    /// This page's link with another cursor (`None`: the newest page).
    fn link(&self, cursor: Option<&str>) -> String {
        let mut q = LogQuery { cursor: cursor.unwrap_or_default().to_string(), ..Default::default() };
        q.status.clone_from(&self.status);
        q.event_type.clone_from(&self.event_type);
        q.webhook_id.clone_from(&self.webhook_id);
        q.since.clone_from(&self.since);
        q.until.clone_from(&self.until);
        q.limit.clone_from(&self.limit);
        format!("/deliveries?{}", serde_urlencoded::to_string(&q).unwrap_or_default())
    }

    /// How many filters are set.
    fn set(&self) -> usize {
        [&self.status, &self.event_type, &self.webhook_id, &self.since, &self.until]
            .iter()
            .filter(|v| !v.is_empty())
            .count()
    }

    fn filtered(&self) -> bool {
        self.set() > 0
    }
}

fn filters(q: &LogQuery, endpoints: &[WebhookOut], problem: Option<&Problem>) -> Markup {
    let known = q.webhook_id.is_empty() || endpoints.iter().any(|w| w.id == q.webhook_id);
    let fields = html! {
        (filter("Status", "status", problem, html! {
            select #status name="status" {
                option value="" { "Any status" }
                @for (value, label) in STATUSES { option value=(value) selected[q.status == value] { (label) } }
            }
        }))
        (filter("Event type", "event_type", problem, html! {
            input #event_type type="text" name="event_type" value=(q.event_type) maxlength="128"
                placeholder="scan.completed" autocomplete="off";
        }))
        (filter("Endpoint", "webhook_id", problem, html! {
            select #webhook_id name="webhook_id" {
                option value="" { "Every endpoint" }
                @for w in endpoints { option value=(w.id) selected[q.webhook_id == w.id] { (w.url) } }
                @if !known { option value=(q.webhook_id) selected { (q.webhook_id) } }
            }
        }))
    };
    form("/deliveries", fields, (&q.since, &q.until), q.set(), problem)
}

/// `GET /deliveries`: the log, filtered and paged.
pub async fn list(State(dash): State<Dash>, sess: Sess, UrlQuery(q): UrlQuery<LogQuery>) -> Response {
    let endpoints = match api::get::<ListOut<WebhookOut>>(&dash.api, &sess, "/v1/webhooks?limit=250").await {
        Ok(l) => l.data,
        Err(p) => return problem_page(&dash.app, &sess, &p),
    };
    let (page, problem) = match api::get::<ListOut<DeliveryOut>>(&dash.api, &sess, &q.api_uri()).await {
        Ok(page) => (page, None),
        Err(p) if p.status == 422 || p.status == 400 => (ListOut { data: vec![], next_cursor: None }, Some(p)),
        Err(p) => return problem_page(&dash.app, &sess, &p),
    };
    let urls: Urls = endpoints.iter().map(|w| (w.id.as_str(), w.url.as_str())).collect();
    let unplaced = problem.as_ref().filter(|p| {
        !["status", "event_type", "webhook_id", "since", "until"].contains(&p.field.as_deref().unwrap_or_default())
    });
    let body = html! {
        div.page-head {
            div {
                h1 { "Deliveries" }
                p.muted { "Every delivery of the account, newest first." }
            }
        }
        (filters(&q, &endpoints, problem.as_ref()))
        @if let Some(p) = unplaced { p.banner.error role="alert" { (p.message) } }
        @if page.data.is_empty() {
            section.card.empty {
                @if problem.is_some() { h2 { "Nothing to show" } p { "Correct the filter to see deliveries." } }
                @else if !q.cursor.is_empty() { h2 { "No older deliveries" } p { a href=(q.link(None)) { "Back to the newest" } } }
                @else if q.filtered() { h2 { "No deliveries match these filters" } p { a href="/deliveries" { "Show every delivery" } } }
                @else {
                    h2 { "No deliveries yet" }
                    p { "Deliveries appear here as events reach your endpoints." @if !sess.read_only { " Send a test event from an endpoint's page to see one now." } }
                }
            }
        } @else {
            (delivery_rows(&page.data, Named::Both(&urls)))
        }
        @if !q.cursor.is_empty() || page.next_cursor.is_some() {
            nav.pager aria-label="Pages" {
                @if !q.cursor.is_empty() { a.button href=(q.link(None)) { "← Newest" } }
                @if let Some(next) = &page.next_cursor { a.button href=(q.link(Some(next))) rel="next" { "Older →" } }
            }
        }
    };
    let status = if problem.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    (status, Page::new(&dash.app, "Deliveries").render(Some(&sess), body)).into_response()
}

/// The replay form: its CSRF token and an optional `since` (UTC, as typed).
#[derive(Debug, Deserialize)]
pub struct ReplayForm {
    csrf: Option<String>,
    #[serde(default)]
    since: String,
}

impl HasCsrf for ReplayForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

/// The replay form of an endpoint's page.
pub fn replay_form(sess: &Sess, webhook_id: &str) -> Markup {
    html! {
        form.replay method="post" action={ "/endpoints/" (webhook_id) "/replay" } {
            input type="hidden" name="csrf" value=(sess.csrf);
            div.field {
                label for="replay-since" { "Created since (UTC, optional)" }
                input #replay-since type="datetime-local" name="since" step="1";
            }
            button type="submit" { "Replay dead letters" }
        }
    }
}

/// `POST /endpoints/{id}/replay`: queues the endpoint's dead deliveries again and says how many.
pub async fn replay(State(dash): State<Dash>, Path(id): Path<String>, posted: Posted<ReplayForm>) -> Response {
    let Posted { sess, form } = posted;
    if !valid_id(&id, "wh_") {
        return error_page(&dash.app, Some(&sess), StatusCode::NOT_FOUND, "No such endpoint.");
    }
    let since = form.since.trim();
    let body = if since.is_empty() { json!({}) } else { json!({ "since": rfc3339(since) }) };
    let uri = format!("/v1/webhooks/{id}/replay");
    let out = match api::send::<ReplayOut>(&dash.api, &sess, Method::POST, &uri, body).await {
        Ok(out) => out,
        Err(p) if p.status == 422 || p.status == 400 => {
            return error_page(
                &dash.app,
                Some(&sess),
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("since: {}", p.message),
            );
        }
        Err(p) => return problem_page(&dash.app, &sess, &p),
    };
    let log = format!("/deliveries?webhook_id={id}");
    let body = html! {
        p.crumbs { a href="/endpoints" { "Endpoints" } " / " a href={ "/endpoints/" (id) } { "Endpoint" } " / Replay" }
        section.card {
            h1 { "Dead letters replayed" }
            p role="status" {
                @match out.requeued {
                    0 => { "There were no dead deliveries to replay" @if !since.is_empty() { " since then" } "." }
                    1 => { "1 dead delivery is queued for a new round of attempts." }
                    n => { (n) " dead deliveries are queued for a new round of attempts." }
                }
            }
            div.actions {
                a.button.primary href=(log) { "See this endpoint's deliveries" }
                a.button href={ "/endpoints/" (id) } { "Back to the endpoint" }
            }
        }
    };
    Page::new(&dash.app, "Replay").render(Some(&sess), body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_gets_only_the_filters_set_and_links_keep_them() {
        let q = LogQuery { status: "dead".into(), since: "2026-11-29T07:30".into(), ..Default::default() };
        assert_eq!(q.api_uri(), "/v1/deliveries?limit=50&status=dead&since=2026-11-29T07%3A30%3A00%2B00%3A00");
        let older = q.link(Some("abc"));
        assert!(older.contains("status=dead") && older.contains("cursor=abc"), "{older}");
        assert!(!q.link(None).contains("cursor"));
    }
}
