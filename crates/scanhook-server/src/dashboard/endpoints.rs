//! The endpoints pages: the list (state, health, last delivery), adding one (its secret
//! shown once), one endpoint's page (edit with the API's errors beside each field, Test,
//! rotate the secret, switch off or on, re-enable after failures, delete with
//! confirmation, recent deliveries).

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use scanhook_api_types::{
    DeliveryOut, ListOut, Problem, RotateSecretOut, StatsWindowOut, TestOut, WebhookOut, WebhookStatsOut,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Dash;
use super::api;
use super::deliveries::{Named, delivery_rows, status_badge};
use super::endpoint_form::{EndpointForm, endpoint_form, scheme_label, settings_facts};
use super::layout::{Page, copy_box, error_page, problem_page, when};
use super::log::replay_form;
use super::session::{CsrfOnly, HasCsrf, Posted, Sess};

/// An endpoint's state, as a badge and (when paused by its receiver, or disabled after
/// failures) why and until or since when.
fn state(w: &WebhookOut) -> Markup {
    html! {
        @if let (true, Some(until)) = (w.active, &w.retry_not_before) {
            span.badge.warn { "Paused by its receiver" }
            p.small { "It answered 429 or 503 with Retry-After: nothing is sent before " (when(until)) }
        } @else if w.active {
            span.badge.ok { "Active" }
        } @else if let Some(reason) = &w.disabled_reason {
            span.badge.bad { "Disabled after failures" }
            p.small { (reason) @if let Some(at) = &w.disabled_at { " · " (when(at)) } }
        } @else {
            span.badge.neutral { "Switched off" }
        }
    }
}

/// Endpoint health, as `GET /v1/webhooks/{id}/stats` gives it (what the CLI's `webhooks
/// stats` shows too); `None` when it cannot be read, and the pages show "—".
async fn stats(dash: &Dash, sess: &Sess, id: &str) -> Option<WebhookStatsOut> {
    api::get(&dash.api, sess, &format!("/v1/webhooks/{id}/stats")).await.ok()
}

/// Success rate and p95 latency of the last day, or "—" without attempts.
fn health_cell(stats: Option<&WebhookStatsOut>) -> Markup {
    let day = stats.map(|s| &s.last_day);
    html! {
        @match day.and_then(|d| d.success_rate.map(|rate| (rate, d.p95_latency_ms))) {
            Some((rate, p95)) => {
                span { (format!("{:.1}%", rate * 100.0)) }
                @if let Some(p95) = p95 { span.small { " p95 " (p95) " ms" } }
            }
            None => { span.muted title="Success rate and p95 latency over 24 h" { "—" } }
        }
    }
}

/// The windows of an endpoint's stats side by side, and its last error.
fn health_table(stats: &WebhookStatsOut) -> Markup {
    let rate = |w: &StatsWindowOut| w.success_rate.map(|r| format!("{:.1}%", r * 100.0)).unwrap_or("—".into());
    let ms = |v: Option<u64>| v.map(|v| format!("{v} ms")).unwrap_or("—".into());
    html! {
        table.compact {
            thead { tr { th { "" } th { "Attempts" } th { "Failures" } th { "Success" } th { "p50" } th { "p95" } } }
            tbody {
                @for (label, w) in [("Last hour", &stats.last_hour), ("Last 24 h", &stats.last_day)] {
                    tr {
                        th scope="row" { (label) }
                        td data-label="Attempts" { (w.attempts) }
                        td data-label="Failures" { (w.failures) }
                        td data-label="Success" { (rate(w)) }
                        td data-label="p50" { (ms(w.p50_latency_ms)) }
                        td data-label="p95" { (ms(w.p95_latency_ms)) }
                    }
                }
            }
        }
        @if let Some(e) = &stats.last_error {
            p.small {
                "Last error " (when(&e.at)) ": "
                @if let Some(code) = e.status_code { "HTTP " (code) " " }
                @if let Some(text) = &e.error { (text) }
                " · " a href=(format!("/deliveries/{}", e.delivery_id)) { "delivery" }
            }
        }
    }
}

pub async fn list(State(dash): State<Dash>, sess: Sess) -> Response {
    let page: ListOut<WebhookOut> = match api::get(&dash.api, &sess, "/v1/webhooks?limit=250").await {
        Ok(page) => page,
        Err(p) => return problem_page(&dash.app, &sess, &p),
    };
    let mut rows = Vec::new();
    for w in page.data {
        let health = stats(&dash, &sess, &w.id).await;
        let last = health.as_ref().and_then(|h| h.last_delivery.clone());
        rows.push((w, last, health));
    }
    let body = html! {
        div.page-head {
            div { h1 { "Webhook endpoints" } p.muted { "Where events are delivered, and how each endpoint is doing." } }
            @if !sess.read_only { a.button.primary href="/endpoints/new" { "Add endpoint" } }
        }
        @if rows.is_empty() {
            section.card.empty {
                h2 { "No endpoints yet" }
                p { "Add an endpoint to start receiving events: a URL of yours that accepts POST requests." }
                @if !sess.read_only { a.button.primary href="/endpoints/new" { "Add your first endpoint" } }
            }
        } @else {
            table.list {
                thead { tr { th { "Endpoint" } th { "Events" } th { "State" } th { "Health (24 h)" } th { "Last delivery" } } }
                tbody {
                    @for (w, last, health) in &rows {
                        tr {
                            td data-label="Endpoint" {
                                a.url href={ "/endpoints/" (w.id) } { (w.url) }
                                @if let Some(d) = &w.description { p.small.muted { (d) } }
                            }
                            td data-label="Events" { @for e in &w.events { code.tag { (e) } " " } }
                            td data-label="State" { (state(w)) }
                            td data-label="Health (24 h)" { (health_cell(health.as_ref())) }
                            td data-label="Last delivery" {
                                @match last {
                                    Some(d) => { a href={ "/deliveries/" (d.id) } { (status_badge(d)) } " " span.small { (when(&d.created_at)) } }
                                    None => { span.small { "None yet" } }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Page::new(&dash.app, "Endpoints").render(Some(&sess), body).into_response()
}

pub async fn new_page(State(dash): State<Dash>, sess: Sess) -> Response {
    new_form(&dash, &sess, &EndpointForm::new(), None, StatusCode::OK)
}

fn new_form(dash: &Dash, sess: &Sess, form: &EndpointForm, problem: Option<&Problem>, status: StatusCode) -> Response {
    let body = html! {
        p.crumbs { a href="/endpoints" { "Endpoints" } " / Add" }
        section.card {
            h1 { "Add an endpoint" }
            (endpoint_form(sess, "/endpoints", "Add endpoint", form, None, problem))
        }
    };
    (status, Page::new(&dash.app, "Add endpoint").render(Some(sess), body)).into_response()
}

fn status_of(p: &Problem) -> StatusCode {
    StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY)
}

pub async fn create(State(dash): State<Dash>, Posted { sess, form }: Posted<EndpointForm>) -> Response {
    let made = match form.create_body() {
        Ok(json) => api::send::<WebhookOut>(&dash.api, &sess, Method::POST, "/v1/webhooks", json).await,
        Err(p) => Err(p),
    };
    let w = match made {
        Ok(w) => w,
        Err(p) if p.status == 401 => return problem_page(&dash.app, &sess, &p),
        Err(p) => return new_form(&dash, &sess, &form, Some(&p), status_of(&p)),
    };
    let body = html! {
        p.crumbs { a href="/endpoints" { "Endpoints" } " / Added" }
        section.card {
            h1 { "Endpoint added" }
            p { "Deliveries to " strong.url { (w.url) } " are signed. Copy the signing secret now: it is shown only this once." }
            (secret_box(w.secret.as_deref(), w.public_key.as_deref()))
            div.actions { a.button.primary href={ "/endpoints/" (w.id) } { "Open the endpoint" } }
        }
    };
    (StatusCode::CREATED, Page::new(&dash.app, "Endpoint added").render(Some(&sess), body)).into_response()
}

fn secret_box(secret: Option<&str>, public_key: Option<&str>) -> Markup {
    html! {
        @if let Some(secret) = secret { (copy_box("secret", "Signing secret", secret)) }
        @if let Some(key) = public_key { (copy_box("public_key", "Public key (receivers verify with this)", key)) }
    }
}

/// IDs from the path go into API URIs: only an ID's characters pass.
pub fn valid_id(id: &str, prefix: &str) -> bool {
    id.starts_with(prefix) && id.len() <= 40 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

async fn fetch(dash: &Dash, sess: &Sess, id: &str) -> Result<WebhookOut, Response> {
    if !valid_id(id, "wh_") {
        return Err(error_page(&dash.app, Some(sess), StatusCode::NOT_FOUND, "No such endpoint."));
    }
    api::get(&dash.api, sess, &format!("/v1/webhooks/{id}")).await.map_err(|p| problem_page(&dash.app, sess, &p))
}

pub async fn show(State(dash): State<Dash>, sess: Sess, Path(id): Path<String>) -> Result<Response, Response> {
    let w = fetch(&dash, &sess, &id).await?;
    Ok(render_show(&dash, &sess, &w, &EndpointForm::of(&w), None, StatusCode::OK).await)
}

async fn render_show(
    dash: &Dash,
    sess: &Sess,
    w: &WebhookOut,
    form: &EndpointForm,
    problem: Option<&Problem>,
    status: StatusCode,
) -> Response {
    let deliveries: Vec<DeliveryOut> =
        api::get::<ListOut<DeliveryOut>>(&dash.api, sess, &format!("/v1/deliveries?webhook_id={}&limit=20", w.id))
            .await
            .map(|l| l.data)
            .unwrap_or_default();
    let health = stats(dash, sess, &w.id).await;
    let action = |path: &str| format!("/endpoints/{}/{path}", w.id);
    let body = html! {
        p.crumbs { a href="/endpoints" { "Endpoints" } " / " span.url { (w.url) } }
        div.page-head {
            div {
                h1.url { (w.url) }
                div.state { (state(w)) }
            }
            @if !sess.read_only {
                div.actions {
                    form.inline method="post" action=(action("test")) {
                        input type="hidden" name="csrf" value=(sess.csrf);
                        button.primary type="submit" { "Send test event" }
                    }
                    form.inline method="post" action=(action("rotate")) {
                        input type="hidden" name="csrf" value=(sess.csrf);
                        button type="submit" { "Rotate secret" }
                    }
                    @if w.active || w.disabled_reason.is_none() {
                        form.inline method="post" action=(action("switch")) {
                            input type="hidden" name="csrf" value=(sess.csrf);
                            button type="submit" { @if w.active { "Switch off" } @else { "Switch on" } }
                        }
                    }
                    a.button.danger href=(action("delete")) { "Delete" }
                }
            }
        }
        @if let (Some(reason), false) = (&w.disabled_reason, sess.read_only) {
            section.card.warn {
                h2 { "Disabled after failures" }
                p { (reason) @if let Some(at) = &w.disabled_at { " (" (when(at)) ")" } }
                p { "Events that arrived meanwhile are held. Re-enable the endpoint once it answers again." }
                form method="post" action=(action("enable")) {
                    input type="hidden" name="csrf" value=(sess.csrf);
                    label.check { input type="checkbox" name="replay_missed" value="true" checked; " Also deliver what it missed" }
                    button.primary type="submit" { "Re-enable" }
                }
            }
        }
        section.card {
            h2 { "Health" }
            @if let Some(stats) = &health { (health_table(stats)) } @else { p { (health_cell(None)) } }
        }
        div.grid {
            section.card {
                h2 { "Details" }
                dl.facts {
                    dt { "Failed attempts in a row" } dd { (health.as_ref().map(|h| h.consecutive_failures).unwrap_or(0)) }
                    dt { "Dead deliveries in a row" } dd { (w.consecutive_failures) }
                    dt { "Signature" } dd { (scheme_label(&w.signature)) }
                    @if let Some(key) = &w.public_key { dt { "Public key" } dd.mono.wrap { (key) } }
                    dt { "Created" } dd { (when(&w.created_at)) }
                }
            }
            section.card {
                h2 { "Recent deliveries" }
                (delivery_rows(&deliveries, Named::Event))
                p { a href={ "/deliveries?webhook_id=" (w.id) } { "All deliveries of this endpoint" } }
            }
        }
        @if !sess.read_only {
            section.card {
                h2 { "Dead letters" }
                p.small { "Send failed deliveries again: all of them, or those created since a time." }
                (replay_form(sess, &w.id))
            }
        }
        section.card {
            h2 { "Settings" }
            @if sess.read_only {
                (settings_facts(w))
            } @else {
                (endpoint_form(sess, &format!("/endpoints/{}", w.id), "Save changes", form, Some(w), problem))
            }
        }
    };
    (status, Page::new(&dash.app, "Endpoint").render(Some(sess), body)).into_response()
}

pub async fn update(
    State(dash): State<Dash>,
    Path(id): Path<String>,
    Posted { sess, form }: Posted<EndpointForm>,
) -> Result<Response, Response> {
    let w = fetch(&dash, &sess, &id).await?;
    let result = match form.patch_body(&w) {
        // Nothing changed: nothing to send, and no audit entry that says otherwise.
        Ok(None) => return Ok(Redirect::to(&format!("/endpoints/{id}")).into_response()),
        Ok(Some(json)) => {
            api::send::<WebhookOut>(&dash.api, &sess, Method::PATCH, &format!("/v1/webhooks/{id}"), json).await
        }
        Err(p) => Err(p),
    };
    Ok(match result {
        Ok(updated) if updated.secret.is_some() => {
            secret_page(&dash, &sess, &updated.id, updated.secret.as_deref(), None)
        }
        Ok(_) => Redirect::to(&format!("/endpoints/{id}")).into_response(),
        Err(p) if p.status == 401 || p.status == 403 || p.status == 404 => problem_page(&dash.app, &sess, &p),
        Err(p) => render_show(&dash, &sess, &w, &form, Some(&p), status_of(&p)).await,
    })
}

fn secret_page(dash: &Dash, sess: &Sess, id: &str, secret: Option<&str>, public_key: Option<&str>) -> Response {
    let body = html! {
        p.crumbs { a href="/endpoints" { "Endpoints" } " / " a href={ "/endpoints/" (id) } { "Endpoint" } " / New secret" }
        section.card {
            h1 { "New signing secret" }
            p { "Copy it now: it is shown only this once. The previous secret keeps signing too for a day, so receivers can switch over." }
            (secret_box(secret, public_key))
            div.actions { a.button.primary href={ "/endpoints/" (id) } { "Back to the endpoint" } }
        }
    };
    Page::new(&dash.app, "New secret").render(Some(sess), body).into_response()
}

/// An endpoint ID from the path, fit for an API URI, or a 404 page (the refusal is the
/// page to answer with, made once per request: not worth a box).
#[allow(clippy::result_large_err)]
fn endpoint_id(dash: &Dash, sess: &Sess, id: &str) -> Result<(), Response> {
    if valid_id(id, "wh_") {
        Ok(())
    } else {
        Err(error_page(&dash.app, Some(sess), StatusCode::NOT_FOUND, "No such endpoint."))
    }
}

/// The answer to a button: where the API's success leads, or its refusal as a page.
fn after<T>(dash: &Dash, sess: &Sess, result: Result<T, Problem>, then: impl FnOnce(T) -> Response) -> Response {
    result.map_or_else(|p| problem_page(&dash.app, sess, &p), then)
}

pub async fn test(
    State(dash): State<Dash>,
    Path(id): Path<String>,
    Posted { sess, .. }: Posted<CsrfOnly>,
) -> Result<Response, Response> {
    endpoint_id(&dash, &sess, &id)?;
    let out = api::send::<TestOut>(&dash.api, &sess, Method::POST, &format!("/v1/webhooks/{id}/test"), json!({})).await;
    Ok(after(&dash, &sess, out, |out| Redirect::to(&format!("/deliveries/{}", out.delivery_id)).into_response()))
}

pub async fn rotate(
    State(dash): State<Dash>,
    Path(id): Path<String>,
    Posted { sess, .. }: Posted<CsrfOnly>,
) -> Result<Response, Response> {
    endpoint_id(&dash, &sess, &id)?;
    let uri = format!("/v1/webhooks/{id}/rotate-secret");
    let out = api::send::<RotateSecretOut>(&dash.api, &sess, Method::POST, &uri, json!({})).await;
    Ok(after(&dash, &sess, out, |out| secret_page(&dash, &sess, &id, out.secret.as_deref(), out.public_key.as_deref())))
}

#[derive(Deserialize)]
pub struct EnableForm {
    csrf: Option<String>,
    replay_missed: Option<String>,
}

impl HasCsrf for EnableForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

pub async fn enable(
    State(dash): State<Dash>,
    Path(id): Path<String>,
    Posted { sess, form }: Posted<EnableForm>,
) -> Result<Response, Response> {
    endpoint_id(&dash, &sess, &id)?;
    let replay = form.replay_missed.as_deref() == Some("true");
    let uri = format!("/v1/webhooks/{id}/enable");
    let out = api::call::<Value>(&dash.api, &sess, Method::POST, &uri, Some(json!({ "replay_missed": replay }))).await;
    Ok(after(&dash, &sess, out, |_| Redirect::to(&format!("/endpoints/{id}")).into_response()))
}

pub async fn switch(
    State(dash): State<Dash>,
    Path(id): Path<String>,
    Posted { sess, .. }: Posted<CsrfOnly>,
) -> Result<Response, Response> {
    let w = fetch(&dash, &sess, &id).await?;
    let uri = format!("/v1/webhooks/{id}");
    let out = api::send::<WebhookOut>(&dash.api, &sess, Method::PATCH, &uri, json!({ "active": !w.active })).await;
    Ok(after(&dash, &sess, out, |_| Redirect::to(&format!("/endpoints/{id}")).into_response()))
}

pub async fn delete_page(State(dash): State<Dash>, sess: Sess, Path(id): Path<String>) -> Result<Response, Response> {
    let w = fetch(&dash, &sess, &id).await?;
    let body = html! {
        section.card.narrow {
            h1 { "Delete this endpoint?" }
            p { strong.url { (w.url) } " stops receiving events, and its delivery log is deleted with it. This cannot be undone." }
            form method="post" action={ "/endpoints/" (w.id) "/delete" } {
                input type="hidden" name="csrf" value=(sess.csrf);
                div.actions {
                    button.danger type="submit" { "Delete endpoint" }
                    a.button href={ "/endpoints/" (w.id) } { "Keep it" }
                }
            }
        }
    };
    Ok(Page::new(&dash.app, "Delete endpoint").render(Some(&sess), body).into_response())
}

pub async fn delete(
    State(dash): State<Dash>,
    Path(id): Path<String>,
    Posted { sess, .. }: Posted<CsrfOnly>,
) -> Result<Response, Response> {
    endpoint_id(&dash, &sess, &id)?;
    let out = api::call::<Value>(&dash.api, &sess, Method::DELETE, &format!("/v1/webhooks/{id}"), None).await;
    Ok(after(&dash, &sess, out, |_| Redirect::to("/endpoints").into_response()))
}
