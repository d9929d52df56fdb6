//! The page shell every dashboard page shares (header with the brand, navigation, the
//! session's limits, sign-out), error pages, and small formatting helpers.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};
use scanhook_api_types::Problem;

use super::session::Sess;
use crate::state::AppState;

/// One page: its title, rendered inside the shell.
pub struct Page<'a> {
    app: &'a AppState,
    title: String,
    refresh: bool,
}

impl<'a> Page<'a> {
    pub fn new(app: &'a AppState, title: &str) -> Self {
        Self { app, title: title.to_string(), refresh: false }
    }

    /// Reloads itself every few seconds (app.js), while something is still under way.
    pub fn refreshing(mut self, on: bool) -> Self {
        self.refresh = on;
        self
    }

    pub fn render(self, sess: Option<&Sess>, body: Markup) -> Html<String> {
        let brand = &self.app.dashboard.brand_name;
        let markup = html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    meta name="referrer" content="no-referrer";
                    title { (self.title) " · " (brand) }
                    link rel="icon" href="/assets/icon.svg" type="image/svg+xml";
                    link rel="stylesheet" href="/assets/app.css";
                    link rel="stylesheet" href="/assets/brand.css";
                    script src="/assets/app.js" defer {}
                }
                body data-refresh=[self.refresh.then_some("3")] {
                    a.skip href="#main" { "Skip to content" }
                    header.top {
                        a.brand href="/endpoints" { span.mark aria-hidden="true" {} (brand) }
                        @if let Some(sess) = sess {
                            nav aria-label="Main" {
                                a href="/endpoints" { "Endpoints" }
                                a href="/deliveries" { "Deliveries" }
                                @if sess.limited.is_none() { a href="/events" { "Events" } }
                                a href="/event-types" { "Event types" }
                                @if sess.limited.is_none() { a href="/projects" { "Projects" } a href="/audit" { "Audit log" } }
                                @if sess.is_admin { a href="/accounts" { "Accounts" } }
                            }
                            div.who {
                                @if sess.read_only { span.badge.neutral title="This session can look but not change anything" { "Read-only" } }
                                @if let Some(limits) = &sess.limited {
                                    span.badge.neutral title="This session sees only endpoints within these event types" { "Events: " (limits.join(", ")) }
                                }
                                @if sess.is_admin { span.badge.neutral { "Admin" } }
                                form.inline method="post" action="/sign-out" {
                                    input type="hidden" name="csrf" value=(sess.csrf);
                                    button.link type="submit" { "Sign out" }
                                }
                            }
                        }
                    }
                    main #main { (body) }
                }
            }
        };
        Html(markup.into_string())
    }
}

/// A page that says what went wrong, with the status it deserves: in the signed-in shell
/// (navigation, sign-out) when `sess` is the visitor's session, bare otherwise.
pub fn error_page(app: &AppState, sess: Option<&Sess>, status: StatusCode, message: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    let body = html! {
        section.card.narrow {
            h1 { (title) }
            p role="alert" { (message) }
            p { a href="/endpoints" { "Back to the endpoints" } }
        }
    };
    (status, Page::new(app, title).render(sess, body)).into_response()
}

/// The database could not be reached: logged, and said plainly.
pub fn unavailable(app: &AppState, e: &dyn std::error::Error) -> Response {
    tracing::error!(error = %scanhook_core::error_chain(e), "dashboard request failed");
    error_page(
        app,
        None,
        StatusCode::SERVICE_UNAVAILABLE,
        "The service is unavailable right now. Try again in a moment.",
    )
}

/// An API refusal to `sess` as a page: 401 (the session ended) signs in again.
pub fn problem_page(app: &AppState, sess: &Sess, problem: &Problem) -> Response {
    if problem.status == 401 {
        return Redirect::to("/sign-in").into_response();
    }
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::BAD_GATEWAY);
    error_page(app, Some(sess), status, &problem.message)
}

/// A value shown once (a secret, a new API key) in a read-only field with a Copy button
/// (app.js shows the button and copies the field named by `data-copy`).
pub fn copy_box(id: &str, label: &str, value: &str) -> Markup {
    html! {
        div.secret {
            label for=(id) { (label) }
            div.copy-row {
                input.mono id=(id) type="text" readonly value=(value);
                button.copy type="button" data-copy=(id) hidden { "Copy" }
            }
        }
    }
}

/// A time as the pages show it (UTC), inside `<time>`.
pub fn when(at: &DateTime<Utc>) -> Markup {
    html! { time datetime=(at.to_rfc3339()) { (at.format("%Y-%m-%d %H:%M:%S UTC")) } }
}
