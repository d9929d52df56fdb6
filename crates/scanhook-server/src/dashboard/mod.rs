//! The web dashboard, served at `/` beside the API. It is another client of the public
//! API: every page calls the API router in process (`api.rs`) on behalf of the session,
//! so the API's own authentication, limits and validation decide what a page shows and
//! does. The only store rows it touches are its own sessions (`session.rs`). Pages are
//! rendered on the server (maud, which escapes everything interpolated); the one script
//! and the stylesheet are embedded in the binary (`assets/`), and the CSP forbids any
//! inline script or style.

mod accounts;
mod api;
mod audit;
mod catalogue;
mod deliveries;
mod endpoint_form;
mod endpoints;
mod events;
mod filters;
mod forms;
mod layout;
mod log;
mod projects;
mod session;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use tower::ServiceExt;

use crate::state::AppState;
use scanhook_core::session::{
    PORTAL_LINK_DEFAULT, PORTAL_LINK_MIN, PORTAL_LINK_MIN_FLOOR, SESSION_IDLE, SESSION_IDLE_MIN, SESSION_MAX,
};

pub use session::COOKIE;
use session::Sess;

/// The largest form the dashboard reads.
const MAX_FORM_BYTES: usize = 256 * 1024;

/// How the dashboard presents itself and sets its cookie.
#[derive(Debug, Clone)]
pub struct DashboardConfig {
    /// `SCANHOOK_BRAND_NAME`: the platform's name in the header and titles.
    pub brand_name: String,
    /// `SCANHOOK_BRAND_COLOR`: `#rrggbb`, the accent colour.
    pub brand_color: String,
    /// Whether the session cookie is `Secure` (the public URL is https).
    pub secure_cookie: bool,
    /// `SCANHOOK_SESSION_IDLE`: a session ends after this long without a request.
    pub session_idle: chrono::Duration,
    /// `SCANHOOK_PORTAL_LINK_MIN_EXPIRY`: the shortest `expires_in` of a portal link.
    pub portal_link_min: chrono::Duration,
}

impl Default for DashboardConfig {
    fn default() -> Self {
        Self {
            brand_name: "scanhook".into(),
            brand_color: DEFAULT_COLOR.into(),
            secure_cookie: false,
            session_idle: SESSION_IDLE,
            portal_link_min: PORTAL_LINK_MIN,
        }
    }
}

const DEFAULT_COLOR: &str = "#2f5bd3";

impl DashboardConfig {
    /// Checks the brand settings: a name of 1 to 60 printable characters, a `#rrggbb` colour.
    pub fn new(name: Option<&str>, color: Option<&str>, secure_cookie: bool) -> Result<Self, String> {
        let brand_name = name.map(str::trim).unwrap_or("scanhook").to_string();
        if brand_name.is_empty() || brand_name.chars().count() > 60 || brand_name.chars().any(char::is_control) {
            return Err("SCANHOOK_BRAND_NAME must be 1 to 60 printable characters".into());
        }
        let brand_color = color.map(str::trim).unwrap_or(DEFAULT_COLOR).to_ascii_lowercase();
        let hex = brand_color.strip_prefix('#').unwrap_or_default();
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("SCANHOOK_BRAND_COLOR must be a colour like #2f5bd3, not '{brand_color}'"));
        }
        Ok(Self { brand_name, brand_color, secure_cookie, ..Self::default() })
    }

    /// Sets how long sessions live idle (within [`SESSION_IDLE_MIN`] and [`SESSION_MAX`])
    /// and the shortest portal link (within [`PORTAL_LINK_MIN_FLOOR`] and
    /// [`PORTAL_LINK_DEFAULT`]); `None` keeps the default.
    pub fn lifetimes(
        mut self,
        session_idle: Option<std::time::Duration>,
        portal_link_min: Option<std::time::Duration>,
    ) -> Result<Self, String> {
        let within = |name: &str, value: std::time::Duration, low: chrono::Duration, high: chrono::Duration| {
            let value = chrono::Duration::from_std(value).unwrap_or(chrono::Duration::MAX);
            if value < low || value > high {
                return Err(format!(
                    "{name} must be {} to {} seconds, not {}",
                    low.num_seconds(),
                    high.num_seconds(),
                    value.num_seconds()
                ));
            }
            Ok(value)
        };
        if let Some(idle) = session_idle {
            self.session_idle = within("SCANHOOK_SESSION_IDLE", idle, SESSION_IDLE_MIN, SESSION_MAX)?;
        }
        if let Some(min) = portal_link_min {
            self.portal_link_min =
                within("SCANHOOK_PORTAL_LINK_MIN_EXPIRY", min, PORTAL_LINK_MIN_FLOOR, PORTAL_LINK_DEFAULT)?;
        }
        Ok(self)
    }
}

/// What every dashboard handler shares: the app (for its sessions and configuration) and
/// the API router it calls.
#[derive(Clone)]
pub struct Dash {
    pub app: AppState,
    pub api: Router,
}

/// The dashboard's routes; anything else falls through to `api` (the REST API).
pub fn router(app: AppState, api: Router) -> Router {
    let dash = Dash { app, api: api.clone() };
    Router::new()
        .route("/", get(|| async { Redirect::to("/endpoints") }))
        .route("/sign-in", get(session::sign_in_page).post(session::sign_in))
        .route("/sign-out", post(session::sign_out))
        .route("/portal/{token}", get(session::portal_page).post(session::portal_redeem))
        .route("/endpoints", get(endpoints::list).post(endpoints::create))
        .route("/endpoints/new", get(endpoints::new_page))
        .route("/endpoints/{id}", get(endpoints::show).post(endpoints::update))
        .route("/endpoints/{id}/test", post(endpoints::test))
        .route("/endpoints/{id}/rotate", post(endpoints::rotate))
        .route("/endpoints/{id}/enable", post(endpoints::enable))
        .route("/endpoints/{id}/switch", post(endpoints::switch))
        .route("/endpoints/{id}/delete", get(endpoints::delete_page).post(endpoints::delete))
        .route("/endpoints/{id}/replay", post(log::replay))
        .route("/deliveries", get(log::list))
        .route("/deliveries/{id}", get(deliveries::show))
        .route("/deliveries/{id}/retry", post(deliveries::retry))
        .route("/events", get(events::list))
        .route("/events/{id}", get(events::show))
        .route("/event-types", get(catalogue::list))
        .route("/projects", get(projects::list))
        .route("/projects/{id}", get(projects::show))
        .route("/audit", get(audit::list))
        .route("/accounts", get(accounts::list).post(accounts::create))
        .route("/assets/app.css", get(css))
        .route("/assets/app.js", get(js))
        .route("/assets/brand.css", get(brand_css))
        .route("/assets/icon.svg", get(icon))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(middleware::from_fn(security_headers))
        .fallback(api_or_not_found)
        .with_state(dash)
}

/// Anything else is the API's; but an address the API does not know either, opened in a
/// browser outside `/v1/`, gets a page that says so rather than a JSON problem (with the
/// navigation when the browser is signed in).
async fn api_or_not_found(State(dash): State<Dash>, request: Request) -> Response {
    let page =
        request.method() == Method::GET && !request.uri().path().starts_with("/v1/") && accepts_html(request.headers());
    let (mut parts, body) = request.into_parts();
    let response = match dash.api.clone().oneshot(Request::from_parts(parts.clone(), body)).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    if !page || response.status() != StatusCode::NOT_FOUND {
        return response;
    }
    let sess = Sess::from_request_parts(&mut parts, &dash).await.ok();
    let mut page =
        layout::error_page(&dash.app, sess.as_ref(), StatusCode::NOT_FOUND, "There is no page at this address.");
    harden(page.headers_mut());
    page
}

fn accepts_html(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|accept| accept.contains("text/html"))
}

/// Strict headers on every dashboard answer: no inline script or style, no framing, no
/// referrer (a portal link's token never leaks), nothing cached.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    harden(response.headers_mut());
    response
}

fn harden(h: &mut HeaderMap) {
    let set = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
        (header::HeaderName::from_static("cross-origin-opener-policy"), "same-origin"),
        (header::HeaderName::from_static("cross-origin-resource-policy"), "same-origin"),
        (header::HeaderName::from_static("permissions-policy"), "camera=(), microphone=(), geolocation=()"),
    ];
    for (name, value) in set {
        h.insert(name, HeaderValue::from_static(value));
    }
}

/// The tab's icon: the header's mark in the brand colour.
async fn icon(State(dash): State<Dash>) -> impl IntoResponse {
    let color = &dash.app.dashboard.brand_color;
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\"><rect width=\"16\" height=\"16\" rx=\"4\" fill=\"{color}\"/></svg>\n"
    );
    ([(header::CONTENT_TYPE, "image/svg+xml")], svg)
}

async fn css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], include_str!("assets/app.css"))
}

async fn js() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], include_str!("assets/app.js"))
}

/// The brand colour as a stylesheet (the CSP allows no inline style).
async fn brand_css(State(dash): State<Dash>) -> impl IntoResponse {
    let color = &dash.app.dashboard.brand_color;
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], format!(":root {{ --brand: {color}; }}\n"))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn lifetimes_are_bounded_and_name_their_setting() {
        let config = DashboardConfig::default();
        let set = config.clone().lifetimes(Some(Duration::from_secs(5)), Some(Duration::from_secs(1))).unwrap();
        assert_eq!((set.session_idle.num_seconds(), set.portal_link_min.num_seconds()), (5, 1));
        let kept = config.clone().lifetimes(None, None).unwrap();
        assert_eq!((kept.session_idle, kept.portal_link_min), (SESSION_IDLE, PORTAL_LINK_MIN));
        for (idle, min, name) in [
            (Some(Duration::from_secs(1)), None, "SCANHOOK_SESSION_IDLE"),
            (Some(Duration::from_secs(13 * 3600)), None, "SCANHOOK_SESSION_IDLE"),
            (None, Some(Duration::from_millis(500)), "SCANHOOK_PORTAL_LINK_MIN_EXPIRY"),
            (None, Some(Duration::from_secs(3600)), "SCANHOOK_PORTAL_LINK_MIN_EXPIRY"),
        ] {
            let err = config.clone().lifetimes(idle, min).unwrap_err();
            assert!(err.starts_with(name), "{err}");
        }
    }
}
