//! Signing in and out, portal links, and the session behind each page: a random token in
//! an HttpOnly, SameSite=Strict cookie (Secure when the public URL is https), stored
//! server-side by its hash (`Store::create_session`), never the API key. Every unsafe
//! request must carry the session's CSRF token (a hidden form field, derived from the
//! session token) and come from this origin (`Sec-Fetch-Site`, `Origin`).

use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use bytes::Bytes;
use maud::html;
use scanhook_core::ApiKey;
use scanhook_core::session::{SESSION_MAX, Token};
use scanhook_store::Session;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use super::Dash;
use super::forms::parse_form;
use super::layout::{Page, error_page, unavailable};

/// The session cookie's name.
pub const COOKIE: &str = "scanhook_session";
/// A session's idle end is moved on when less than this (or half the idle time, when that
/// is shorter) is left of its span, so a busy session writes at most about once a minute.
const TOUCH_SLACK: chrono::Duration = chrono::Duration::minutes(1);

/// The signed-in session of a page request.
#[derive(Debug, Clone)]
pub struct Sess {
    pub token: Token,
    pub csrf: String,
    pub read_only: bool,
    pub limited: Option<Vec<String>>,
    pub is_admin: bool,
}

impl Sess {
    /// The API's credential for this session.
    pub fn authorization(&self) -> String {
        format!("Session {}", self.token.expose())
    }
}

fn cookie_token(headers: &HeaderMap) -> Option<Token> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .and_then(|(_, value)| Token::parse(value))
}

/// A page without a valid session redirects to the sign-in page.
pub struct SignInFirst;

impl IntoResponse for SignInFirst {
    fn into_response(self) -> Response {
        Redirect::to("/sign-in").into_response()
    }
}

impl FromRequestParts<Dash> for Sess {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, dash: &Dash) -> Result<Self, Response> {
        let token = cookie_token(&parts.headers).ok_or_else(|| SignInFirst.into_response())?;
        let store = dash.app.store();
        let now = dash.app.now();
        let session = match store.find_session(&token.hash(), now).await {
            Ok(Some(session)) => session,
            Ok(None) => return Err(SignInFirst.into_response()),
            Err(e) => return Err(unavailable(&dash.app, &e)),
        };
        let idle = dash.app.dashboard.session_idle;
        if session.idle_until - now < idle - TOUCH_SLACK.min(idle / 2) {
            if let Err(e) = store.touch_session(&token.hash(), now, now + idle).await {
                tracing::warn!(error = %e, "could not extend a dashboard session");
            }
        }
        let csrf = token.csrf();
        Ok(Sess { token, csrf, read_only: session.read_only, limited: session.event_types, is_admin: session.is_admin })
    }
}

/// Refuses a state-changing request from another site. `Sec-Fetch-Site`, which every
/// current browser sends, must be same-origin (or none: typed by the user); without it, an
/// `Origin` must name this host. (Under `Referrer-Policy: no-referrer` browsers send
/// `Origin: null` with forms, so it is only read when `Sec-Fetch-Site` is absent.)
pub fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.to_str(), Ok("same-origin" | "none"));
    }
    match (headers.get(header::ORIGIN), headers.get(header::HOST)) {
        (Some(origin), Some(host)) => {
            let (Ok(origin), Ok(host)) = (origin.to_str(), host.to_str()) else { return false };
            origin.split_once("://").is_some_and(|(_, rest)| rest == host)
        }
        (Some(_), None) => false,
        (None, _) => true,
    }
}

/// The CSRF check of a form posted with a session: same origin and the right token.
pub fn check_csrf(sess: &Sess, headers: &HeaderMap, given: Option<&str>) -> Result<(), &'static str> {
    if !same_origin(headers) {
        return Err("this form came from another site");
    }
    let given = given.unwrap_or_default();
    if given.len() != sess.csrf.len() || !bool::from(given.as_bytes().ct_eq(sess.csrf.as_bytes())) {
        return Err("this form is out of date or was not sent by this dashboard: reload the page and try again");
    }
    Ok(())
}

/// Forms that carry the CSRF token.
pub trait HasCsrf {
    fn csrf(&self) -> Option<&str>;
}

impl HasCsrf for CsrfOnly {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

/// A form posted by a signed-in page: the session, and the form once its CSRF token and
/// origin are checked (403 otherwise; 400 for a form that cannot be read).
pub struct Posted<T> {
    pub sess: Sess,
    pub form: T,
}

impl<T: DeserializeOwned + HasCsrf> FromRequest<Dash> for Posted<T> {
    type Rejection = Response;

    async fn from_request(request: Request, dash: &Dash) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let sess = Sess::from_request_parts(&mut parts, dash).await?;
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), dash)
            .await
            .map_err(|e| error_page(&dash.app, Some(&sess), e.status(), &e.body_text()))?;
        let form: T =
            parse_form(&bytes).map_err(|e| error_page(&dash.app, Some(&sess), StatusCode::BAD_REQUEST, &e))?;
        check_csrf(&sess, &parts.headers, form.csrf())
            .map_err(|why| error_page(&dash.app, Some(&sess), StatusCode::FORBIDDEN, why))?;
        Ok(Self { sess, form })
    }
}

fn set_cookie(dash: &Dash, token: &Token) -> HeaderValue {
    let secure = if dash.app.dashboard.secure_cookie { "; Secure" } else { "" };
    let value = format!("{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict{secure}", token.expose());
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn clear_cookie(dash: &Dash) -> HeaderValue {
    let secure = if dash.app.dashboard.secure_cookie { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn signed_in(dash: &Dash, token: &Token) -> Response {
    let mut response = Redirect::to("/endpoints").into_response();
    response.headers_mut().insert(header::SET_COOKIE, set_cookie(dash, token));
    response
}

fn new_session(dash: &Dash, token: &Token) -> Session {
    let now = dash.app.now();
    Session {
        token_hash: token.hash(),
        account_id: scanhook_core::AccountId::from_trusted(String::new()),
        key_id: scanhook_core::ApiKeyId::from_trusted(String::new()),
        is_admin: false,
        read_only: false,
        event_types: None,
        created_at: now,
        idle_until: now + dash.app.dashboard.session_idle,
        expires_at: now + SESSION_MAX,
    }
}

fn sign_in_form(dash: &Dash, error: Option<&str>) -> Response {
    let page = Page::new(&dash.app, "Sign in");
    let body = html! {
        section.card.narrow {
            h1 { "Sign in" }
            p.muted { "Use an API key of your account. The key is not kept in your browser: it opens a session that ends after " (span_text(dash.app.dashboard.session_idle)) " idle or 12 hours." }
            form method="post" action="/sign-in" {
                label for="api_key" { "API key" }
                input #api_key type="password" name="api_key" autocomplete="off" required autofocus
                    aria-invalid=[error.map(|_| "true")] aria-describedby="api_key-error";
                @if let Some(error) = error {
                    p.field-error #api_key-error role="alert" { (error) }
                }
                button.primary type="submit" { "Sign in" }
            }
        }
    };
    let status = if error.is_some() { StatusCode::UNAUTHORIZED } else { StatusCode::OK };
    (status, page.render(None, body)).into_response()
}

/// A span as the sign-in page says it: "30 minutes", "2 hours", "45 seconds".
fn span_text(span: chrono::Duration) -> String {
    let secs = span.num_seconds();
    let (n, unit) = match secs {
        s if s % 3600 == 0 => (s / 3600, "hour"),
        s if s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

pub async fn sign_in_page(State(dash): State<Dash>) -> Response {
    sign_in_form(&dash, None)
}

#[derive(Deserialize)]
struct SignInForm {
    api_key: Option<String>,
}

pub async fn sign_in(State(dash): State<Dash>, headers: HeaderMap, body: Bytes) -> Response {
    if !same_origin(&headers) {
        return error_page(&dash.app, None, StatusCode::FORBIDDEN, "this form came from another site");
    }
    let form: SignInForm = match parse_form(&body) {
        Ok(form) => form,
        Err(e) => return error_page(&dash.app, None, StatusCode::BAD_REQUEST, &e),
    };
    let Some(key) = form.api_key.as_deref().map(str::trim).and_then(|k| ApiKey::parse(k).ok()) else {
        return sign_in_form(&dash, Some("Enter an API key (at least 16 characters, without spaces)."));
    };
    let owner = match dash.app.store().find_key_owner(&key.hash()).await {
        Ok(Some(owner)) => owner,
        Ok(None) => return sign_in_form(&dash, Some("That API key is not valid.")),
        Err(e) => return unavailable(&dash.app, &e),
    };
    let token = Token::session();
    let mut session = new_session(&dash, &token);
    session.account_id = owner.account_id;
    session.key_id = owner.key_id;
    session.is_admin = owner.is_admin;
    if let Err(e) = dash.app.store().create_session(session).await {
        return unavailable(&dash.app, &e);
    }
    signed_in(&dash, &token)
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    pub csrf: Option<String>,
}

pub async fn sign_out(State(dash): State<Dash>, Posted { sess, .. }: Posted<CsrfOnly>) -> Response {
    if let Err(e) = dash.app.store().delete_session(&sess.token.hash()).await {
        return unavailable(&dash.app, &e);
    }
    let mut response = Redirect::to("/sign-in").into_response();
    response.headers_mut().insert(header::SET_COOKIE, clear_cookie(&dash));
    response
}

/// A portal link asks before it signs in, so a link preview or a mail scanner that
/// fetches it does not use it up.
pub async fn portal_page(State(dash): State<Dash>, Path(raw): Path<String>) -> Response {
    if Token::parse(&raw).is_none() {
        return error_page(&dash.app, None, StatusCode::NOT_FOUND, "This link is not valid.");
    }
    let page = Page::new(&dash.app, "Open the dashboard");
    let body = html! {
        section.card.narrow {
            h1 { "Webhook settings" }
            p { "This link signs you in to " strong { (dash.app.dashboard.brand_name) } "'s webhook settings for your account. It works once." }
            form method="post" action={ "/portal/" (raw) } {
                button.primary type="submit" { "Continue" }
            }
        }
    };
    page.render(None, body).into_response()
}

pub async fn portal_redeem(State(dash): State<Dash>, Path(raw): Path<String>, headers: HeaderMap) -> Response {
    if !same_origin(&headers) {
        return error_page(&dash.app, None, StatusCode::FORBIDDEN, "this form came from another site");
    }
    let Some(link) = Token::parse(&raw) else {
        return error_page(&dash.app, None, StatusCode::NOT_FOUND, "This link is not valid.");
    };
    let token = Token::session();
    let session = new_session(&dash, &token);
    match dash.app.store().redeem_portal_link(&link.hash(), session, dash.app.now()).await {
        Ok(Some(_)) => signed_in(&dash, &token),
        Ok(None) => error_page(
            &dash.app,
            None,
            StatusCode::GONE,
            "This link has expired or was already used. Ask for a new one where you found it.",
        ),
        Err(e) => unavailable(&dash.app, &e),
    }
}
