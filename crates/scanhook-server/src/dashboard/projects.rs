//! The projects pages: every project (paged), and one project's page with its open
//! violations counted exactly by severity (`GET /v1/projects/{id}` counts them) and listed,
//! optionally of one severity, its scans, the violations resolved, and the alerts raised
//! for it (`alert.triggered` events of the project, `GET /v1/events?project_id=…`). Each
//! list is paged with the API's cursor, under a name of its own in the page's address, so
//! paging one keeps where the others are.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use scanhook_api_types::{EventOut, ListOut, Problem, ProjectOut, ScanOut, ViolationOut};
use scanhook_core::scan::Severity;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::Dash;
use super::api;
use super::endpoints::valid_id;
use super::events::{read, refused_or_problem};
use super::filters::{MAX_PARAM, link, pager};
use super::forms::UrlQuery;
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

/// Projects per page of the list.
const PROJECTS_PAGE: &str = "25";
/// Items per page of each list of a project's page.
const SCANS_PAGE: &str = "10";
const OPEN_PAGE: &str = "25";
const RESOLVED_PAGE: &str = "10";
const ALERTS_PAGE: &str = "10";

/// A cursor from the page's address, bounded (the API checks it again).
fn cursor(raw: &str) -> &str {
    let raw = raw.trim();
    if raw.len() > MAX_PARAM { "" } else { raw }
}

/// What the projects list reads from its URL.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    cursor: String,
}

/// `GET /projects`: the account's projects, newest first, paged.
pub async fn list(
    State(dash): State<Dash>,
    sess: Sess,
    UrlQuery(q): UrlQuery<ListQuery>,
) -> Result<Response, Response> {
    let at = cursor(&q.cursor);
    let uri = link("/v1/projects", &[("limit", PROJECTS_PAGE), ("cursor", at)]);
    let page: ListOut<ProjectOut> = match api::get(&dash.api, &sess, &uri).await {
        Ok(page) => page,
        // A cursor from another list, or edited by hand: back to the newest.
        Err(p) if p.status == 422 && !at.is_empty() => {
            read(&dash, &sess, &link("/v1/projects", &[("limit", PROJECTS_PAGE)]), "Projects", "projects").await?
        }
        Err(p) => return Err(refused_or_problem(&dash, &sess, "Projects", "projects", &p)),
    };
    let body = html! {
        div.page-head {
            div { h1 { "Projects" } p.muted { "What is scanned, with its scans, violations and alerts." } }
        }
        @if page.data.is_empty() && at.is_empty() {
            section.card.empty {
                h2 { "No projects yet" }
                p { "Create one with POST /v1/projects (or " code { "scanhook projects create" } "); its scans then report here." }
            }
        } @else if page.data.is_empty() {
            section.card.empty { p { "No older projects." } p { a href="/projects" { "Back to the newest" } } }
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
        (pager("/projects", &[], ("cursor", at), page.next_cursor.as_deref(), ""))
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
        table.list {
            thead { tr { th { "Scan" } th { "Status" } th { "Score" } th { "Started" } th { "Ended" } } }
            tbody {
                @for s in scans {
                    tr {
                        td.id data-label="Scan" {
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

fn violations_table(vs: &[ViolationOut], resolved: bool) -> Markup {
    html! {
        table.list {
            thead { tr { th { "Severity" } th { "Rule" } th { "Where" } th { "Message" } @if resolved { th { "Resolved" } } } }
            tbody {
                @for v in vs {
                    tr {
                        td data-label="Severity" { (severity_badge(v.severity)) }
                        td.id data-label="Rule" { code { (v.rule) } }
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

/// What a project's page reads from its URL: the severity its open violations are
/// limited to, and where each of its lists is (a cursor each).
#[derive(Debug, Default, Deserialize)]
pub struct ProjectQuery {
    #[serde(default)]
    severity: String,
    #[serde(default)]
    scans: String,
    #[serde(default)]
    open: String,
    #[serde(default)]
    resolved: String,
    #[serde(default)]
    alerts: String,
}

impl ProjectQuery {
    /// The page's parameters but `except` (a list's cursor, or the severity).
    fn kept(&self, except: &str) -> Vec<(&'static str, &str)> {
        let all = [
            ("severity", self.severity.trim()),
            ("scans", cursor(&self.scans)),
            ("open", cursor(&self.open)),
            ("resolved", cursor(&self.resolved)),
            ("alerts", cursor(&self.alerts)),
        ];
        all.into_iter().filter(|(name, _)| *name != except).collect()
    }
}

/// A list of the page: its items, or the API's refusal of it (a bad cursor, a session
/// that may not see it), shown in its section; anything else ends the page.
async fn list_of<T: DeserializeOwned>(
    dash: &Dash,
    sess: &Sess,
    uri: &str,
) -> Result<Result<ListOut<T>, Problem>, Response> {
    match api::get(&dash.api, sess, uri).await {
        Ok(list) => Ok(Ok(list)),
        Err(p) if [400, 403, 422].contains(&p.status) => Ok(Err(p)),
        Err(p) => Err(refused_or_problem(dash, sess, "Project", "projects", &p)),
    }
}

/// One list of the page: the refusal, its empty state, or its items and pager.
fn part<T>(
    list: &Result<ListOut<T>, Problem>,
    empty: Markup,
    items: impl Fn(&[T]) -> Markup,
    pager: impl Fn(Option<&str>) -> Markup,
) -> Markup {
    html! {
        @match list {
            Err(p) => { p.banner.error role="alert" { (p.message) } (pager(None)) }
            Ok(l) if l.data.is_empty() => { (empty) (pager(None)) }
            Ok(l) => { (items(&l.data)) (pager(l.next_cursor.as_deref())) }
        }
    }
}

fn alerts_table(alerts: &[EventOut]) -> Markup {
    html! {
        table.list {
            thead { tr { th { "Alert" } th { "Severity" } th { "Message" } th { "Time" } } }
            tbody {
                @for e in alerts {
                    tr {
                        td data-label="Alert" { a href={ "/events/" (e.id) } { (e.data["title"].as_str().unwrap_or("Alert")) } }
                        td data-label="Severity" {
                            @match e.data["severity"].as_str().and_then(|s| Severity::parse(s).ok()) {
                                Some(s) => { (severity_badge(s)) }
                                None => { span.muted { "—" } }
                            }
                        }
                        td data-label="Message" { (e.data["message"].as_str().unwrap_or("")) }
                        td data-label="Time" { (when(&e.timestamp)) }
                    }
                }
            }
        }
    }
}

/// `GET /projects/{id}`: the project with its violations, scans and alerts.
pub async fn show(
    State(dash): State<Dash>,
    sess: Sess,
    Path(id): Path<String>,
    UrlQuery(q): UrlQuery<ProjectQuery>,
) -> Result<Response, Response> {
    if !valid_id(&id, "proj_") {
        return Err(error_page(&dash.app, Some(&sess), StatusCode::NOT_FOUND, "No such project."));
    }
    let project: ProjectOut = read(&dash, &sess, &format!("/v1/projects/{id}"), "Project", "projects").await?;
    let counts = project.violations.clone().unwrap_or_default();
    let severity = match q.severity.trim() {
        "" => Ok(None),
        raw => Severity::parse(raw).map(Some).map_err(|e| e.0),
    };
    let base = format!("/v1/projects/{id}");
    let open: Result<ListOut<ViolationOut>, Problem> = match &severity {
        Ok(severity) => {
            let severity = severity.map(Severity::as_str).unwrap_or_default();
            let pairs = [("status", "open"), ("severity", severity), ("limit", OPEN_PAGE), ("cursor", cursor(&q.open))];
            list_of(&dash, &sess, &link(&format!("{base}/violations"), &pairs)).await?
        }
        Err(message) => Err(super::filters::invalid("severity", message.clone())),
    };
    let pairs = [("limit", SCANS_PAGE), ("cursor", cursor(&q.scans))];
    let scans: Result<ListOut<ScanOut>, Problem> =
        list_of(&dash, &sess, &link(&format!("{base}/scans"), &pairs)).await?;
    let pairs = [("status", "resolved"), ("limit", RESOLVED_PAGE), ("cursor", cursor(&q.resolved))];
    let resolved: Result<ListOut<ViolationOut>, Problem> =
        list_of(&dash, &sess, &link(&format!("{base}/violations"), &pairs)).await?;
    let pairs = [
        ("type", "alert.triggered"),
        ("project_id", id.as_str()),
        ("limit", ALERTS_PAGE),
        ("cursor", cursor(&q.alerts)),
    ];
    let alerts: Result<ListOut<EventOut>, Problem> = list_of(&dash, &sess, &link("/v1/events", &pairs)).await?;

    let path = format!("/projects/{id}");
    let chosen = severity.clone().ok().flatten();
    let section_pager = |name: &'static str, current: &str, anchor: &'static str| {
        let kept = q.kept(name);
        let current = cursor(current).to_string();
        let path = path.clone();
        move |next: Option<&str>| pager(&path, &kept, (name, &current), next, anchor)
    };
    let total = counts.open.total();
    // Another severity starts its list from the newest.
    let of_severity = |severity: &str| {
        let mut kept: Vec<_> = q.kept("severity").into_iter().filter(|(n, _)| *n != "open").collect();
        kept.push(("severity", severity));
        format!("{}#open", link(&path, &kept))
    };
    let body = html! {
        p.crumbs { a href="/projects" { "Projects" } " / " (project.name) }
        div.page-head {
            div {
                h1 { (project.name) }
                p.small.muted { (project.id) @if let Some(t) = &project.target { " · " span.url { (t) } } }
            }
        }
        h2.section #open { "Open violations" }
        nav.counts aria-label="Open violations by severity" {
            a.count href=(of_severity("")) aria-current=[chosen.is_none().then_some("true")] {
                span.badge.neutral { "all" } strong { (total) }
            }
            @for (s, name, class) in SEVERITIES {
                a.count href=(of_severity(name)) aria-current=[(chosen == Some(*s)).then_some("true")] {
                    span.badge.(class) { (name) }
                    strong { (counts.open.get(*s)) }
                }
            }
        }
        (part(&open,
            html! { section.card.empty { p { @match chosen { Some(s) => { "No open " (s.as_str()) " violations." } None => { "No open violations." } } } } },
            |vs| violations_table(vs, false),
            section_pager("open", &q.open, "#open")))
        h2.section #scans { "Scans" }
        (part(&scans,
            html! { section.card.empty { p { "No scans yet. A scanner starts one with POST /v1/scans." } } },
            scans_table,
            section_pager("scans", &q.scans, "#scans")))
        h2.section #resolved { "Resolved violations" @if counts.resolved > 0 { " " span.muted { "(" (counts.resolved) ")" } } }
        (part(&resolved,
            html! { section.card.empty { p { "None resolved yet." } } },
            |vs| violations_table(vs, true),
            section_pager("resolved", &q.resolved, "#resolved")))
        h2.section #alerts { "Alerts raised" }
        (part(&alerts,
            html! { section.card.empty { p { "No alerts for this project." } } },
            alerts_table,
            section_pager("alerts", &q.alerts, "#alerts")))
    };
    Ok(Page::new(&dash.app, "Project").render(Some(&sess), body).into_response())
}
