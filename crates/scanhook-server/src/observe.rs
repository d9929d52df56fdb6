//! What operators and load balancers ask of a node: `/metrics` (the engine's metrics and
//! the API's requests, in the Prometheus text format), `/readyz`, and the middleware that
//! counts requests by route template (never the raw path, whose IDs would make a series each).

use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;

/// The longest `/readyz` waits for the database.
pub const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// The content type of the text `/metrics` answers (OpenMetrics, which Prometheus reads).
const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// The route template (`/v1/webhooks/{id}`), or `unmatched`.
    route: String,
    method: &'static str,
    status: u16,
}

/// The API's own metrics, served beside the engine's.
pub struct HttpMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    /// `SCANHOOK_METRICS_TOKEN`: the bearer token `/metrics` asks for, when set.
    token: Option<String>,
}

impl HttpMetrics {
    pub fn new(token: Option<String>) -> Self {
        let mut registry = Registry::with_prefix("scanhook");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "API requests answered, by route template, method and status",
            requests.clone(),
        );
        Self { registry, requests, token: token.filter(|t| !t.is_empty()) }
    }

    fn authorised(&self, headers: &HeaderMap) -> bool {
        let Some(token) = &self.token else { return true };
        let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let given = given.and_then(|v| v.strip_prefix("Bearer ")).unwrap_or_default();
        given.as_bytes().ct_eq(token.as_bytes()).into()
    }
}

impl Default for HttpMetrics {
    fn default() -> Self {
        Self::new(None)
    }
}

/// A method as a label: the standard ones by name, any other as `other` (bounded).
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PATCH => "PATCH",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Middleware (a `layer` of the API router, which sets [`MatchedPath`] before it runs)
/// counting each answer by route template, method and status.
pub async fn count_requests(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !state.engine.metrics().is_on() {
        return next.run(request).await;
    }
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_string();
    let method = method_label(request.method());
    let response = next.run(request).await;
    let labels = RequestLabels { route, method, status: response.status().as_u16() };
    state.http_metrics.requests.get_or_create(&labels).inc();
    response
}

/// Metrics in the Prometheus text format (no API key; `SCANHOOK_METRICS_TOKEN`, when set, as a bearer token).
#[utoipa::path(get, path = "/metrics", tag = "meta", security((), ("metrics_token" = [])),
    responses(
        (status = 200, description = "Every metric, in the OpenMetrics text format", body = String,
            content_type = "application/openmetrics-text"),
        (status = 401, description = "`SCANHOOK_METRICS_TOKEN` is set and the request does not carry it \
            as `Authorization: Bearer <token>`."),
        (status = 404, description = "Metrics are turned off (`SCANHOOK_METRICS=false`)."),
    ))]
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let engine = state.engine.metrics();
    if !engine.is_on() {
        return Err(ApiError::NotFound("metrics are turned off on this server (SCANHOOK_METRICS=false)".into()));
    }
    if !state.http_metrics.authorised(&headers) {
        return Err(ApiError::Unauthorized("/metrics needs `Authorization: Bearer <SCANHOOK_METRICS_TOKEN>`"));
    }
    engine.refresh_queue(state.store().as_ref(), state.now()).await;
    let mut text = String::new();
    encode_registry(&mut text, engine.registry())
        .and_then(|()| encode_registry(&mut text, &state.http_metrics.registry))
        .and_then(|()| encode_eof(&mut text))
        .map_err(|e| ApiError::Internal(Box::new(e)))?;
    Ok(([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], text).into_response())
}

/// Readiness: 200 while the database answers with its schema migrated and the server is
/// not shutting down; 503 naming the failed check (`code`) otherwise (no key needed).
#[utoipa::path(get, path = "/readyz", tag = "meta", security(()),
    responses(
        (status = 200, description = "Ready for traffic", body = String, content_type = "text/plain"),
        (status = 503, description = "Not ready: `code` names the failed check (`shutting_down`, \
            `database_unavailable`, `migrations_pending`)."),
    ))]
pub async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    let failed = |code, message: &str| ApiError::Unavailable { code, message: message.into(), retry_after_secs: 5 };
    if state.shutdown.is_cancelled() {
        return Err(failed("shutting_down", "the server is shutting down"));
    }
    match tokio::time::timeout(READY_TIMEOUT, state.store().ping()).await {
        Ok(Ok(true)) => Ok("ready"),
        Ok(Ok(false)) => Err(failed("migrations_pending", "the database's schema lacks migrations of this build")),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the database did not answer");
            Err(failed("database_unavailable", "the database did not answer"))
        }
        Err(_) => Err(failed("database_unavailable", "the database did not answer in time")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_asked_for_only_when_set() {
        let mut headers = HeaderMap::new();
        assert!(HttpMetrics::new(None).authorised(&headers));
        assert!(HttpMetrics::new(Some(String::new())).authorised(&headers), "an empty token is no token");
        let guarded = HttpMetrics::new(Some("s3cret".into()));
        assert!(!guarded.authorised(&headers));
        headers.insert(header::AUTHORIZATION, "Bearer s3cre".parse().unwrap());
        assert!(!guarded.authorised(&headers));
        headers.insert(header::AUTHORIZATION, "s3cret".parse().unwrap());
        assert!(!guarded.authorised(&headers));
        headers.insert(header::AUTHORIZATION, "Bearer s3cret".parse().unwrap());
        assert!(guarded.authorised(&headers));
    }
}
