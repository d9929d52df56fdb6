//! The projects pages: every project, and one project's page with its scans (status,
//! score, times), its open violations counted and listed by severity, the ones resolved,
//! and the alerts raised for it (`alert.triggered` events whose data names it).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use scanhook_api_types::{EventOut, ListOut, ProjectOut, ScanOut, ViolationOut};
use scanhook_core::scan::Severity;

use super::Dash;
use super::api;
use super::endpoints::valid_id;
use super::events::read;
use super::layout::{Page, error_page, when};
use super::session::Sess;

/// Severities, worst first, as the API names them.
const SEVERITIES: &[(Severity, &str, &str)] = &[
    (Severity::Critical, "critical", "bad"),
    (Severity::High, "high", "bad"),
    (Severity::Medium, "medium", "warn"),
    (Severity::Low, "low", "neutral"),
    (Severity::Info, "info", "neutral"),
];

/// The most violations of one kind a page reads (the count says "or more" beyond).
const MAX_LISTED: usize = 250;

pub async fn list(State(dash): State<Dash>, sess: Sess) -> Result<Response, Response> {
    let page: ListOut<ProjectOut> = read(&dash, &sess, "/v1/projects?limit=250", "Projects", "projects").await?;
    let body = html! {
        div.page-head {
            div { h1 { "Projects" } p.muted { "What is scanned, with its scans, violations and alerts." } }
        }
        @if page.data.is_empty() {
            section.card.empty {
                h2 { "No projects yet" }
                p { "Create one with POST /v1/projects (or " code { "scanhook projects create" } "); its scans then report here." }
            }
        } @else {
            table.list {
                thead { tr { th { "Project" } th { "Target" } th { "Alert when the score drops by" } th { "Created" } } }
                tbody {
                    @for p in &page.data {
                        tr {
                            td data-label="Project" { a href={ "/projects/" (p.id) } { (p.name) } }
                            td data-label="Target" { @if let Some(t) = &p.target { span.url { (t) } } @else { span.muted { "—" } } }
                            td data-label="Score drop" { (p.score_drop_threshold) " points" }
                            td data-label="Created" { (when(&p.created_at)) }
                        }
                    }
                }
            }
        }
    };
    Ok(Page::new(&dash.app, "Projects").render(Some(&sess), body).into_response())
}

fn scan_badge(s: &ScanOut) -> Markup {
    let class = match s.status.as_str() {
        "completed" => "ok",
        "failed" | "timed_out" => "bad",
        _ => "warn",
    };
    let label = match s.status.as_str() {
        "timed_out" => "timed out",
        other => other,
    };
    html! { span.badge.(class) { (label) } }
}

fn scans_table(scans: &[ScanOut]) -> Markup {
    html! {
        @if scans.is_empty() {
            section.card.empty { p { "No scans yet. A scanner starts one with POST /v1/scans." } }
        } @else {
            table.list {
                thead { tr { th { "Scan" } th { "Status" } th { "Score" } th { "Started" } th { "Ended" } } }
                tbody {
                    @for s in scans {
                        tr {
                            td data-label="Scan" {
                                span.mono.small.url { (s.id) }
                                @if !s.rules.is_empty() { p.small.muted { (s.rules.join(", ")) } }
                            }
                            td data-label="Status" {
                                (scan_badge(s))
                                @if let Some(e) = &s.error { p.small { (e.message) } }
                            }
                            td data-label="Score" {
                                @match (s.score, &s.grade) {
                                    (Some(score), Some(g)) => { (score) " · " (g) }
                                    (Some(score), None) => { (score) }
                                    (None, Some(g)) => { (g) }
                                    (None, None) => { span.muted { "—" } }
                                }
                            }
                            td data-label="Started" { (when(&s.started_at)) }
                            td data-label="Ended" { @match &s.ended_at { Some(t) => { (when(t)) } None => { span.muted { "running" } } } }
                        }
                    }
                }
            }
        }
    }
}

fn violations_table(vs: &[ViolationOut], resolved: bool) -> Markup {
    html! {
        table.list {
            thead { tr { th { "Severity" } th { "Rule" } th { "Where" } th { "Message" } @if resolved { th { "Resolved" } } } }
            tbody {
                @for v in vs {
                    tr {
                        td data-label="Severity" { (severity_badge(v.severity)) }
                        td data-label="Rule" { code { (v.rule) } }
                        td data-label="Where" { span.mono.small.url { (v.file) ":" (v.line) } }
                        td data-label="Message" { (v.message) }
                        @if resolved {
                            td data-label="Resolved" {
                                @if let Some(at) = &v.resolved_at { (when(at)) }
                                @if let Some(by) = &v.resolved_by { span.small.muted { " by " (by) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn severity_badge(s: Severity) -> Markup {
    let (label, class) =
        SEVERITIES.iter().find(|(v, ..)| *v == s).map(|(_, l, c)| (*l, *c)).unwrap_or(("info", "neutral"));
    html! { span.badge.(class) { (label) } }
}

/// A count that says when the page stopped reading.
fn count(list: &ListOut<ViolationOut>) -> String {
    if list.next_cursor.is_some() { format!("{}+", list.data.len()) } else { list.data.len().to_string() }
}

pub async fn show(State(dash): State<Dash>, sess: Sess, Path(id): Path<String>) -> Result<Response, Response> {
    if !valid_id(&id, "proj_") {
        return Err(error_page(&dash.app, StatusCode::NOT_FOUND, "No such project."));
    }
    let project: ProjectOut = read(&dash, &sess, &format!("/v1/projects/{id}"), "Project", "projects").await?;
    let scans: ListOut<ScanOut> =
        read(&dash, &sess, &format!("/v1/projects/{id}/scans?limit=25"), "Project", "scans").await?;
    let mut open = Vec::new();
    for (name, class) in SEVERITIES.iter().map(|(_, n, c)| (*n, *c)) {
        let uri = format!("/v1/projects/{id}/violations?status=open&severity={name}&limit={MAX_LISTED}");
        open.push((name, class, read::<ListOut<ViolationOut>>(&dash, &sess, &uri, "Project", "violations").await?));
    }
    let uri = format!("/v1/projects/{id}/violations?status=resolved&limit=25");
    let resolved: ListOut<ViolationOut> = read(&dash, &sess, &uri, "Project", "violations").await?;
    let alerts: Vec<EventOut> =
        match api::get::<ListOut<EventOut>>(&dash.api, &sess, "/v1/events?type=alert.triggered&limit=250").await {
            Ok(list) => list.data.into_iter().filter(|e| e.data["project_id"].as_str() == Some(id.as_str())).collect(),
            Err(_) => Vec::new(),
        };
    let open_total: usize = open.iter().map(|(.., l)| l.data.len()).sum();
    // Worst first: the lists were read in that order.
    let open_listed: Vec<ViolationOut> = open.iter().flat_map(|(.., l)| l.data.iter().cloned()).collect();
    let body = html! {
        p.crumbs { a href="/projects" { "Projects" } " / " (project.name) }
        div.page-head {
            div {
                h1 { (project.name) }
                p.small.muted { (project.id) @if let Some(t) = &project.target { " · " span.url { (t) } } }
            }
        }
        h2.section { "Open violations" }
        div.counts {
            @for (name, class, list) in &open {
                div.count {
                    span.badge.(class) { (name) }
                    strong { (count(list)) }
                }
            }
        }
        @if open_total == 0 {
            section.card.empty { p { "No open violations." } }
        } @else {
            (violations_table(&open_listed, false))
        }
        h2.section { "Scans" }
        (scans_table(&scans.data))
        h2.section { "Resolved violations" }
        @if resolved.data.is_empty() {
            section.card.empty { p { "None resolved yet." } }
        } @else {
            (violations_table(&resolved.data, true))
        }
        h2.section { "Alerts raised" }
        @if alerts.is_empty() {
            section.card.empty { p { "No alerts for this project." } }
        } @else {
            table.list {
                thead { tr { th { "Alert" } th { "Severity" } th { "Message" } th { "Time" } } }
                tbody {
                    @for e in &alerts {
                        tr {
                            td data-label="Alert" { a href={ "/events/" (e.id) } { (e.data["title"].as_str().unwrap_or("Alert")) } }
                            td data-label="Severity" {
                                @match e.data["severity"].as_str().map(Severity::parse) {
                                    Some(Ok(s)) => { (severity_badge(s)) }
                                    _ => { (e.data["severity"].as_str().unwrap_or("")) }
                                }
                            }
                            td data-label="Message" { (e.data["message"].as_str().unwrap_or("")) }
                            td data-label="Time" { (when(&e.timestamp)) }
                        }
                    }
                }
            }
        }
    };
    Ok(Page::new(&dash.app, "Project").render(Some(&sess), body).into_response())
}
