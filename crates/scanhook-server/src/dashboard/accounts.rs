//! The accounts page (`/accounts`), for the admin only: every account, newest first and
//! paged with the API's cursor, and a form that creates one and shows its first API key
//! once. The navigation offers it only to an admin session; anyone else who opens it gets
//! the API's refusal (403), since the page only asks the API.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use scanhook_api_types::{AccountOut, ListOut, Problem};
use serde::Deserialize;
use serde_json::json;

use super::Dash;
use super::api;
use super::filters::{link, pager};
use super::forms::{UrlQuery, field};
use super::layout::{Page, copy_box, problem_page, when};
use super::session::{HasCsrf, Posted, Sess};

/// What the accounts page reads from its URL.
#[derive(Debug, Default, Deserialize)]
pub struct AccountsQuery {
    #[serde(default)]
    cursor: Option<String>,
}

/// The form that creates an account.
#[derive(Debug, Default, Deserialize)]
pub struct AccountForm {
    csrf: Option<String>,
    #[serde(default)]
    name: String,
}

impl HasCsrf for AccountForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

fn create_form(sess: &Sess, name: &str, problem: Option<&Problem>) -> Markup {
    html! {
        form.create-account method="post" action="/accounts" {
            input type="hidden" name="csrf" value=(sess.csrf);
            (field("New account's name", "name", "The tenant's name, as your team knows it (1 to 200 characters).",
                problem.filter(|p| p.field.as_deref() == Some("name")).map(|p| p.message.as_str()), html! {
                input #name type="text" name="name" value=(name) maxlength="200" required autocomplete="off"
                    aria-invalid=[problem.map(|_| "true")] aria-describedby="name-hint name-error";
            }))
            div.actions { button.primary type="submit" { "Create account" } }
        }
    }
}

fn table(accounts: &[AccountOut]) -> Markup {
    html! {
        table.list {
            thead { tr { th { "Name" } th { "Account ID" } th { "Ingest limit" } th { "Created" } } }
            tbody {
                @for a in accounts {
                    tr {
                        td data-label="Name" { (a.name) @if a.is_admin { " " span.badge.neutral { "Admin" } } }
                        td.id data-label="Account ID" { span.mono.small.url { (a.id) } }
                        td data-label="Ingest limit" {
                            @match (a.ingest_rate, a.ingest_burst) {
                                (Some(rate), Some(burst)) => { (rate) " events/s, bursts of " (burst) }
                                _ => span.muted { "The deployment's" }
                            }
                        }
                        td data-label="Created" { (when(&a.created_at)) }
                    }
                }
            }
        }
    }
}

/// The list with the create form; `form` is what was typed and the API's refusal of it.
async fn list_page(dash: &Dash, sess: &Sess, cursor: Option<&str>, form: (&str, Option<&Problem>)) -> Response {
    let uri = link("/v1/accounts", &[("limit", "50"), ("cursor", cursor.unwrap_or_default())]);
    let page: ListOut<AccountOut> = match api::get(&dash.api, sess, &uri).await {
        Ok(page) => page,
        Err(p) => return problem_page(&dash.app, sess, &p),
    };
    let (name, problem) = form;
    let unplaced = problem.filter(|p| p.field.as_deref() != Some("name"));
    let body = html! {
        div.page-head {
            div { h1 { "Accounts" } p.muted { "Each account is a tenant: its own endpoints, events, keys and portal links." } }
        }
        section.card {
            h2 { "Add an account" }
            @if let Some(p) = unplaced { p.banner.error role="alert" { (p.message) } }
            (create_form(sess, name, problem))
        }
        @if page.data.is_empty() {
            section.card.empty { @if cursor.is_some() { p { "No older accounts." } } @else { p { "No accounts yet." } } }
        } @else {
            (table(&page.data))
        }
        (pager("/accounts", &[], ("cursor", cursor.unwrap_or_default()), page.next_cursor.as_deref(), ""))
    };
    let status = match problem {
        Some(p) => StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY),
        None => StatusCode::OK,
    };
    (status, Page::new(&dash.app, "Accounts").render(Some(sess), body)).into_response()
}

/// `GET /accounts`.
pub async fn list(State(dash): State<Dash>, sess: Sess, UrlQuery(q): UrlQuery<AccountsQuery>) -> Response {
    let cursor = q.cursor.as_deref().map(str::trim).filter(|c| !c.is_empty() && c.len() <= 512);
    list_page(&dash, &sess, cursor, ("", None)).await
}

/// `POST /accounts`: creates the account and shows its first API key, once.
pub async fn create(State(dash): State<Dash>, Posted { sess, form }: Posted<AccountForm>) -> Response {
    let made =
        api::send::<AccountOut>(&dash.api, &sess, Method::POST, "/v1/accounts", json!({ "name": form.name })).await;
    let account = match made {
        Ok(account) => account,
        Err(p) if p.status == 422 || p.status == 400 => {
            return list_page(&dash, &sess, None, (&form.name, Some(&p))).await;
        }
        Err(p) => return problem_page(&dash.app, &sess, &p),
    };
    let key = account.api_key.as_ref().and_then(|k| k.key.as_deref());
    let body = html! {
        p.crumbs { a href="/accounts" { "Accounts" } " / Created" }
        section.card {
            h1 { "Account created" }
            p { strong { (account.name) } " (" span.mono { (account.id) } ") is ready. Copy its API key now and hand it to the tenant: it is shown only this once." }
            @if let Some(key) = key { (copy_box("api_key", "API key", key)) }
            div.actions { a.button.primary href="/accounts" { "Back to the accounts" } }
        }
    };
    (StatusCode::CREATED, Page::new(&dash.app, "Account created").render(Some(&sess), body)).into_response()
}
