//! The delivery log: deliveries, their attempts, and retrying one by hand.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use scanhook_api_types::{AttemptOut, DeliveryDetailOut, DeliveryOut, HttpMessageOut, ListOut, Problem};
use scanhook_core::audit::AuditAction;
use scanhook_core::envelope::canonical_body;
use scanhook_core::webhook::redact_logged_headers;
use scanhook_core::{DeliveryId, DeliveryStatus, EventId, EventType, WebhookId};
use scanhook_store::{Attempt, Delivery, DeliveryFilter};
use serde::Deserialize;
use serde_json::value::RawValue;
use utoipa::IntoParams;

use super::PageQuery;
use crate::auth::Caller;
use crate::error::{ApiError, named};
use crate::extract::{ApiQuery, path_id};
use crate::state::AppState;

pub(crate) fn delivery_out(d: Delivery) -> DeliveryOut {
    DeliveryOut {
        id: d.id.to_string(),
        event_id: d.event_id.to_string(),
        event_type: d.event_type.to_string(),
        webhook_id: d.webhook_id.to_string(),
        status: d.status,
        attempts: d.attempt_count,
        next_attempt_at: d.next_attempt_at,
        last_status_code: d.last_status_code,
        last_error: d.last_error,
        created_at: d.created_at,
        updated_at: d.updated_at,
    }
}

fn attempt_out(a: Attempt, canonical: &str) -> AttemptOut {
    let response = a
        .status_code
        .map(|_| HttpMessageOut { headers: a.response_headers, body: a.response_body.unwrap_or_default() });
    AttemptOut {
        id: a.id.to_string(),
        number: a.number,
        started_at: a.started_at,
        latency_ms: a.latency_ms,
        status_code: a.status_code,
        error: a.error,
        request: HttpMessageOut {
            // Redacted when recorded; again here for attempts logged by older versions.
            headers: redact_logged_headers(a.request_headers),
            body: a.request_body.unwrap_or_else(|| canonical.to_string()),
        },
        response,
    }
}

/// Filters of the delivery list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    #[param(pattern = "^wh_[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$")]
    pub webhook_id: Option<String>,
    #[param(pattern = "^evt_[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$")]
    pub event_id: Option<String>,
    #[param(value_type = Option<DeliveryStatus>)]
    pub status: Option<String>,
    /// Only deliveries of events of this type.
    #[param(max_length = 128, pattern = r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")]
    pub event_type: Option<String>,
    /// Only deliveries made at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Only deliveries made before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
}

/// List deliveries, newest first: of one endpoint, event, status or event type, made in a
/// time range.
#[utoipa::path(get, path = "/v1/deliveries", tag = "deliveries", params(DeliveryQuery, PageQuery),
    responses((status = 200, body = ListOut<DeliveryOut>), (status = 422, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<DeliveryQuery>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<ListOut<DeliveryOut>>, ApiError> {
    let filter = DeliveryFilter {
        webhook_id: query
            .webhook_id
            .as_deref()
            .map(str::parse::<WebhookId>)
            .transpose()
            .map_err(|e| ApiError::invalid("webhook_id", e.0))?,
        event_id: query
            .event_id
            .as_deref()
            .map(str::parse::<EventId>)
            .transpose()
            .map_err(|e| ApiError::invalid("event_id", e.0))?,
        status: query
            .status
            .as_deref()
            .map(DeliveryStatus::parse)
            .transpose()
            .map_err(|e| ApiError::invalid("status", e.0))?,
        event_type: query
            .event_type
            .as_deref()
            .map(EventType::parse)
            .transpose()
            .map_err(|e| ApiError::invalid("event_type", e.0))?,
        since: query.since,
        until: query.until,
    };
    let paged = state.store().list_deliveries(&caller.account, filter, page.page()?).await?;
    // An event-limited session's pages may be short: deliveries of other events are left out.
    let data = paged.items.into_iter().filter(|d| caller.may_see_event(&d.event_type)).map(delivery_out).collect();
    Ok(Json(ListOut { data, next_cursor: paged.next_cursor }))
}

/// Get a delivery with every attempt: request and response headers and bodies.
#[utoipa::path(get, path = "/v1/deliveries/{id}", tag = "deliveries", params(("id" = String, Path)),
    responses((status = 200, body = DeliveryDetailOut), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<DeliveryDetailOut>, ApiError> {
    let delivery_id: DeliveryId = path_id(&id, "delivery")?;
    let (delivery, attempts) =
        state.store().get_delivery(&caller.account, &delivery_id).await.map_err(named("delivery", &id))?;
    if !caller.may_see_event(&delivery.event_type) {
        return Err(ApiError::not_found("delivery", &id));
    }
    let canonical = if attempts.iter().any(|a| a.request_body.is_none()) {
        let event = state.store().get_event(&caller.account, &delivery.event_id).await?;
        let data = RawValue::from_string(event.data).map_err(|e| ApiError::Internal(Box::new(e)))?;
        String::from_utf8_lossy(&canonical_body(&event.id, &event.event_type, event.timestamp, &data)).into_owned()
    } else {
        String::new()
    };
    Ok(Json(DeliveryDetailOut {
        delivery: delivery_out(delivery),
        attempt_log: attempts.into_iter().map(|a| attempt_out(a, &canonical)).collect(),
    }))
}

/// Attempt a delivery again now, starting a new round of retries (also a dead one).
#[utoipa::path(post, path = "/v1/deliveries/{id}/retry", tag = "deliveries", params(("id" = String, Path)),
    responses((status = 202, body = DeliveryOut), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<DeliveryOut>), ApiError> {
    let delivery_id: DeliveryId = path_id(&id, "delivery")?;
    if caller.event_limits.is_some() {
        let (delivery, _) =
            state.store().get_delivery(&caller.account, &delivery_id).await.map_err(named("delivery", &id))?;
        if !caller.may_see_event(&delivery.event_type) {
            return Err(ApiError::not_found("delivery", &id));
        }
    }
    let delivery = state.engine.retry_delivery(&caller.account, &delivery_id).await.map_err(named("delivery", &id))?;
    let changes = serde_json::Map::from_iter([
        ("webhook_id".to_string(), delivery.webhook_id.to_string().into()),
        ("event_id".to_string(), delivery.event_id.to_string().into()),
    ]);
    super::audit::record(&state, &caller, AuditAction::DeliveryRetried, &id, changes).await;
    Ok((StatusCode::ACCEPTED, Json(delivery_out(delivery))))
}
