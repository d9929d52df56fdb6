//! scanhook's REST API. Only this crate knows routes and wire JSON; handlers call the
//! store and the engine through their interfaces.

pub mod auth;
pub mod dashboard;
pub mod error;
pub mod extract;
pub mod ingest_limit;
pub mod observe;
pub mod openapi;
pub mod query;
pub mod request_id;
pub mod routes;
pub mod state;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use ingest_limit::IngestRate;
pub use state::{AppState, Limits};

use crate::error::ApiError;
use crate::query::QueryContract;
use crate::routes::{
    accounts, alerts, audit, deliveries, event_batch, event_types, events, portal_links, projects, scans, stats,
    violations, webhooks,
};

/// The dashboard at `/` and the API under `/v1`: what `serve` answers.
pub fn router(state: AppState) -> Router {
    dashboard::router(state.clone(), api_router(state)).layer(middleware::from_fn(request_id::layer))
}

/// Every route of the API.
pub fn api_router(state: AppState) -> Router {
    let Limits { max_body_bytes, max_report_bytes, .. } = state.limits;
    Router::new()
        .route("/v1/openapi.json", get(openapi::serve))
        .route("/v1/accounts", post(accounts::create_account).get(accounts::list_accounts))
        .route("/v1/accounts/{id}", get(accounts::get_account).patch(accounts::update_account))
        .route("/v1/api-keys", post(accounts::create_api_key).get(accounts::list_api_keys))
        .route("/v1/api-keys/{id}", axum::routing::delete(accounts::delete_api_key))
        .route("/v1/webhooks", post(webhooks::create).get(webhooks::list))
        .route("/v1/webhooks/{id}", get(webhooks::get).patch(webhooks::update).delete(webhooks::delete))
        .route("/v1/webhooks/{id}/enable", post(webhooks::enable))
        .route("/v1/webhooks/{id}/test", post(webhooks::test))
        .route("/v1/webhooks/{id}/replay", post(webhooks::replay))
        .route("/v1/webhooks/{id}/rotate-secret", post(webhooks::rotate_secret))
        .route("/v1/webhooks/{id}/stats", get(stats::get))
        .route("/v1/projects", post(projects::create).get(projects::list))
        .route("/v1/projects/{id}", get(projects::get).patch(projects::update).delete(projects::delete))
        .route("/v1/projects/{id}/scans", get(scans::list))
        .route("/v1/projects/{id}/violations", get(violations::list))
        .route("/v1/violations/{id}", get(violations::get_one))
        .route("/v1/violations/{id}/resolve", post(violations::resolve))
        .route("/v1/alerts", post(alerts::raise))
        .route("/v1/scans", post(scans::start))
        .route("/v1/scans/{id}", get(scans::get))
        .route("/v1/scans/{id}/fail", post(scans::fail))
        .route("/v1/scans/{id}/progress", post(scans::progress))
        .route("/v1/scans/{id}/complete", post(scans::complete).layer(DefaultBodyLimit::max(max_report_bytes)))
        .route("/v1/event-types", get(event_types::list))
        .route("/v1/events", post(events::create).get(events::list))
        .route("/v1/events/batch", post(event_batch::create))
        .route("/v1/events/{id}", get(events::get))
        .route("/v1/deliveries", get(deliveries::list))
        .route("/v1/deliveries/{id}", get(deliveries::get))
        .route("/v1/deliveries/{id}/retry", post(deliveries::retry))
        .route("/v1/audit-log", get(audit::list))
        .route("/v1/portal-links", post(portal_links::create))
        .route("/healthz", get(openapi::healthz))
        .route("/readyz", get(observe::readyz))
        .route("/metrics", get(observe::metrics))
        // Every route answers unknown, repeated or overlong query parameters with a 4xx.
        .route_layer(middleware::from_fn_with_state(
            Arc::new(QueryContract::from_doc(openapi::api_doc())),
            query::enforce,
        ))
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(max_body_bytes))
        // Outermost, so answers of the query contract and the body limit count too.
        .layer(middleware::from_fn_with_state(state.clone(), observe::count_requests))
        .with_state(state)
}

/// Serves the API on `listener` until `shutdown` is cancelled; then `/readyz` answers 503,
/// requests are still accepted for `drain` (so a load balancer sees it and stops sending),
/// and requests in progress finish.
pub async fn serve(
    listener: TcpListener,
    mut state: AppState,
    shutdown: CancellationToken,
    drain: std::time::Duration,
) -> std::io::Result<()> {
    state.shutdown = shutdown.clone();
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move {
            shutdown.cancelled().await;
            tokio::time::sleep(drain).await;
        })
        .await
}
