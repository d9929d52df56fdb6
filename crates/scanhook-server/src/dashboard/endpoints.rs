//! The endpoints pages: the list (state, health, last delivery), adding one (its secret
//! shown once), one endpoint's page (edit with the API's errors beside each field, Test,
//! rotate the secret, switch off or on, re-enable after failures, delete with
//! confirmation, recent deliveries).

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use scanhook_api_types::{
    DeliveryOut, ListOut, Problem, RotateSecretOut, Signature, StatsWindowOut, TestOut, WebhookOut, WebhookStatsOut,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Dash;
use super::api;
use super::deliveries::{delivery_rows, status_badge};
use super::forms::{headers, headers_text, list as split_list};
use super::layout::{Page, error_page, problem_page, when};
use super::log::replay_form;
use super::session::{CsrfOnly, HasCsrf, Posted, Sess};

/// The signature schemes the form offers, as the API names them.
const SCHEMES: &[(&str, &str)] = &[
    ("standard", "Standard Webhooks (HMAC-SHA256)"),
    ("standard-ed25519", "Standard Webhooks, Ed25519 (asymmetric)"),
    ("hmac-sha256", "HMAC-SHA256 of the body"),
    ("bearer", "Bearer token only"),
    ("none", "None (trusted networks only)"),
];

fn scheme_of(signature: &Signature) -> &'static str {
    match signature {
        Signature::Standard => "standard",
        Signature::StandardEd25519 => "standard-ed25519",
        Signature::HmacSha256 { .. } => "hmac-sha256",
        Signature::Bearer => "bearer",
        Signature::None => "none",
    }
}

/// What the endpoint form posts.
#[derive(Debug, Default, Deserialize)]
pub struct EndpointForm {
    csrf: Option<String>,
    #[serde(default)]
    url: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    events: String,
    #[serde(default)]
    headers: String,
    #[serde(default)]
    extra_payload: String,
    #[serde(default)]
    signature: String,
    #[serde(default)]
    template: String,
}

impl EndpointForm {
    fn of(w: &WebhookOut) -> Self {
        Self {
            csrf: None,
            url: w.url.clone(),
            description: w.description.clone().unwrap_or_default(),
            events: w.events.join(", "),
            headers: headers_text(&w.headers),
            extra_payload: w
                .extra_payload
                .as_ref()
                .map(|v| serde_json::to_string_pretty(v).unwrap_or_default())
                .unwrap_or_default(),
            signature: scheme_of(&w.signature).into(),
            template: w.template.clone().unwrap_or_default(),
        }
    }

    /// The API body: every field the form has, or a problem naming the field the form
    /// itself could not read.
    // The problem is shown beside its field as the API's own are: not worth a box.
    #[allow(clippy::result_large_err)]
    fn body(&self, current: Option<&WebhookOut>) -> Result<Value, Problem> {
        let invalid = |field: &str, message: String| Problem {
            problem_type: String::new(),
            title: String::new(),
            status: 422,
            code: "validation_failed".into(),
            message,
            field: Some(field.into()),
        };
        let headers = headers(&self.headers).map_err(|m| invalid("headers", m))?;
        let extra = match self.extra_payload.trim() {
            "" => Value::Null,
            raw => serde_json::from_str::<Value>(raw)
                .map_err(|e| invalid("extra_payload", format!("extra payload must be a JSON object: {e}")))?,
        };
        let description = Some(self.description.trim()).filter(|d| !d.is_empty());
        let template = Some(self.template.trim()).filter(|t| !t.is_empty());
        let mut body = json!({
            "url": self.url.trim(),
            "events": split_list(&self.events),
            "headers": headers,
        });
        let scheme = if self.signature.is_empty() { "standard" } else { self.signature.as_str() };
        // A scheme left as it was is not sent: a change between kinds replaces the secret.
        if current.is_none_or(|w| scheme_of(&w.signature) != scheme) {
            body["signature"] = json!({ "scheme": scheme });
        }
        match current {
            None => {
                if let Some(d) = description {
                    body["description"] = json!(d);
                }
                if let Some(t) = template {
                    body["template"] = json!(t);
                }
                if !extra.is_null() {
                    body["extra_payload"] = extra;
                }
            }
            Some(_) => {
                body["description"] = json!(description);
                body["template"] = json!(template);
                body["extra_payload"] = extra;
            }
        }
        Ok(body)
    }
}

fn field_error(problem: Option<&Problem>, field: &str) -> Option<String> {
    problem.filter(|p| p.field.as_deref() == Some(field)).map(|p| p.message.clone())
}

/// One labelled field with its error (from the API) beside it.
fn field(label: &str, name: &str, hint: &str, problem: Option<&Problem>, input: Markup) -> Markup {
    let error = field_error(problem, name);
    html! {
        div.field.invalid[error.is_some()] {
            label for=(name) { (label) }
            (input)
            @if !hint.is_empty() { p.hint #{ (name) "-hint" } { (hint) } }
            @if let Some(error) = error { p.field-error #{ (name) "-error" } role="alert" { (error) } }
        }
    }
}

fn endpoint_form(sess: &Sess, action: &str, submit: &str, f: &EndpointForm, problem: Option<&Problem>) -> Markup {
    let general = problem.filter(|p| {
        !matches!(
            p.field.as_deref(),
            Some("url" | "events" | "description" | "headers" | "extra_payload" | "signature" | "template")
        )
    });
    let invalid = |name: &str| field_error(problem, name).map(|_| "true");
    html! {
        form.endpoint method="post" action=(action) novalidate {
            input type="hidden" name="csrf" value=(sess.csrf);
            @if let Some(p) = general { p.banner.error role="alert" { (p.message) } }
            (field("Endpoint URL", "url", "Where deliveries are POSTed (https recommended).", problem, html! {
                input #url type="url" name="url" value=(f.url) required placeholder="https://example.com/webhooks"
                    aria-invalid=[invalid("url")] aria-describedby="url-hint url-error";
            }))
            (field("Events", "events", "Event types or patterns, separated by commas: scan.completed, scan.*, or * for all.", problem, html! {
                input #events type="text" name="events" value=(f.events) required placeholder="*"
                    aria-invalid=[invalid("events")] aria-describedby="events-hint events-error";
            }))
            (field("Description", "description", "", problem, html! {
                input #description type="text" name="description" value=(f.description) maxlength="1000"
                    aria-invalid=[invalid("description")];
            }))
            (field("Signature scheme", "signature", "How receivers check that a delivery came from here.", problem, html! {
                select #signature name="signature" aria-invalid=[invalid("signature")] {
                    @for (value, label) in SCHEMES {
                        option value=(value) selected[f.signature == *value || (f.signature.is_empty() && *value == "standard")] { (label) }
                    }
                }
            }))
            details open[!f.headers.is_empty() || !f.extra_payload.is_empty() || !f.template.is_empty() || problem.is_some()] {
                summary { "Headers, extra payload and template" }
                (field("Extra headers", "headers", "One per line, as Name: value. Credential values are kept secret and shown as [redacted].", problem, html! {
                    textarea #headers name="headers" rows="3" aria-invalid=[invalid("headers")] { (f.headers) }
                }))
                (field("Extra payload", "extra_payload", "A JSON object merged into every delivery's body.", problem, html! {
                    textarea #extra_payload.mono name="extra_payload" rows="4" aria-invalid=[invalid("extra_payload")] { (f.extra_payload) }
                }))
                (field("Template", "template", "A jq program that shapes the body (when the server allows templates).", problem, html! {
                    textarea #template.mono name="template" rows="4" aria-invalid=[invalid("template")] { (f.template) }
                }))
            }
            div.actions {
                button.primary type="submit" { (submit) }
                a.button href="/endpoints" { "Cancel" }
            }
        }
    }
}

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
        Err(p) => return problem_page(&dash.app, &p),
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
    let form = EndpointForm { events: "*".into(), signature: "standard".into(), ..Default::default() };
    new_form(&dash, &sess, &form, None, StatusCode::OK)
}

fn new_form(dash: &Dash, sess: &Sess, form: &EndpointForm, problem: Option<&Problem>, status: StatusCode) -> Response {
    let body = html! {
        p.crumbs { a href="/endpoints" { "Endpoints" } " / Add" }
        section.card {
            h1 { "Add an endpoint" }
            (endpoint_form(sess, "/endpoints", "Add endpoint", form, problem))
        }
    };
    (status, Page::new(&dash.app, "Add endpoint").render(Some(sess), body)).into_response()
}

fn status_of(p: &Problem) -> StatusCode {
    StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY)
}

impl HasCsrf for EndpointForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

pub async fn create(State(dash): State<Dash>, Posted { sess, form }: Posted<EndpointForm>) -> Response {
    let made = match form.body(None) {
        Ok(json) => api::send::<WebhookOut>(&dash.api, &sess, Method::POST, "/v1/webhooks", json).await,
        Err(p) => Err(p),
    };
    let w = match made {
        Ok(w) => w,
        Err(p) if p.status == 401 => return problem_page(&dash.app, &p),
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
        @if let Some(secret) = secret {
            div.secret {
                label for="secret" { "Signing secret" }
                div.copy-row {
                    input #secret.mono type="text" readonly value=(secret);
                    button.copy type="button" data-copy="secret" hidden { "Copy" }
                }
            }
        }
        @if let Some(key) = public_key {
            div.secret {
                label for="public_key" { "Public key (receivers verify with this)" }
                div.copy-row {
                    input #public_key.mono type="text" readonly value=(key);
                    button.copy type="button" data-copy="public_key" hidden { "Copy" }
                }
            }
        }
    }
}

/// IDs from the path go into API URIs: only an ID's characters pass.
pub fn valid_id(id: &str, prefix: &str) -> bool {
    id.starts_with(prefix) && id.len() <= 40 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

async fn fetch(dash: &Dash, sess: &Sess, id: &str) -> Result<WebhookOut, Response> {
    if !valid_id(id, "wh_") {
        return Err(error_page(&dash.app, StatusCode::NOT_FOUND, "No such endpoint."));
    }
    api::get(&dash.api, sess, &format!("/v1/webhooks/{id}")).await.map_err(|p| problem_page(&dash.app, &p))
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
                    dt { "Signature" } dd { (SCHEMES.iter().find(|(v, _)| *v == scheme_of(&w.signature)).map(|(_, l)| *l).unwrap_or("")) }
                    @if let Some(key) = &w.public_key { dt { "Public key" } dd.mono.wrap { (key) } }
                    dt { "Created" } dd { (when(&w.created_at)) }
                }
            }
            section.card {
                h2 { "Recent deliveries" }
                (delivery_rows(&deliveries))
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
                dl.facts {
                    dt { "Events" } dd { (w.events.join(", ")) }
                    dt { "Description" } dd { (w.description.clone().unwrap_or_default()) }
                    dt { "Extra headers" } dd.mono.pre { (headers_text(&w.headers)) }
                }
            } @else {
                (endpoint_form(sess, &format!("/endpoints/{}", w.id), "Save changes", form, problem))
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
    let result = match form.body(Some(&w)) {
        Ok(json) => api::send::<WebhookOut>(&dash.api, &sess, Method::PATCH, &format!("/v1/webhooks/{id}"), json).await,
        Err(p) => Err(p),
    };
    Ok(match result {
        Ok(updated) if updated.secret.is_some() => {
            secret_page(&dash, &sess, &updated.id, updated.secret.as_deref(), None)
        }
        Ok(_) => Redirect::to(&format!("/endpoints/{id}")).into_response(),
        Err(p) if p.status == 401 || p.status == 403 || p.status == 404 => problem_page(&dash.app, &p),
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
fn endpoint_id(dash: &Dash, id: &str) -> Result<(), Response> {
    if valid_id(id, "wh_") { Ok(()) } else { Err(error_page(&dash.app, StatusCode::NOT_FOUND, "No such endpoint.")) }
}

/// The answer to a button: where the API's success leads, or its refusal as a page.
fn after<T>(dash: &Dash, result: Result<T, Problem>, then: impl FnOnce(T) -> Response) -> Response {
    result.map_or_else(|p| problem_page(&dash.app, &p), then)
}

pub async fn test(
    State(dash): State<Dash>,
    Path(id): Path<String>,
    Posted { sess, .. }: Posted<CsrfOnly>,
) -> Result<Response, Response> {
    endpoint_id(&dash, &id)?;
    let out = api::send::<TestOut>(&dash.api, &sess, Method::POST, &format!("/v1/webhooks/{id}/test"), json!({})).await;
    Ok(after(&dash, out, |out| Redirect::to(&format!("/deliveries/{}", out.delivery_id)).into_response()))
}

pub async fn rotate(
    State(dash): State<Dash>,
    Path(id): Path<String>,
    Posted { sess, .. }: Posted<CsrfOnly>,
) -> Result<Response, Response> {
    endpoint_id(&dash, &id)?;
    let uri = format!("/v1/webhooks/{id}/rotate-secret");
    let out = api::send::<RotateSecretOut>(&dash.api, &sess, Method::POST, &uri, json!({})).await;
    Ok(after(&dash, out, |out| secret_page(&dash, &sess, &id, out.secret.as_deref(), out.public_key.as_deref())))
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
    endpoint_id(&dash, &id)?;
    let replay = form.replay_missed.as_deref() == Some("true");
    let uri = format!("/v1/webhooks/{id}/enable");
    let out = api::call::<Value>(&dash.api, &sess, Method::POST, &uri, Some(json!({ "replay_missed": replay }))).await;
    Ok(after(&dash, out, |_| Redirect::to(&format!("/endpoints/{id}")).into_response()))
}

pub async fn switch(
    State(dash): State<Dash>,
    Path(id): Path<String>,
    Posted { sess, .. }: Posted<CsrfOnly>,
) -> Result<Response, Response> {
    let w = fetch(&dash, &sess, &id).await?;
    let uri = format!("/v1/webhooks/{id}");
    let out = api::send::<WebhookOut>(&dash.api, &sess, Method::PATCH, &uri, json!({ "active": !w.active })).await;
    Ok(after(&dash, out, |_| Redirect::to(&format!("/endpoints/{id}")).into_response()))
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
    endpoint_id(&dash, &id)?;
    let out = api::call::<Value>(&dash.api, &sess, Method::DELETE, &format!("/v1/webhooks/{id}"), None).await;
    Ok(after(&dash, out, |_| Redirect::to("/endpoints").into_response()))
}
