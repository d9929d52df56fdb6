//! Accepting events from producers and reading them back.

use axum::Json;
use axum::extract::FromRequestParts;
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use scanhook_api_types::{EventAcceptedOut, EventIn, EventOut, ListOut, Problem};
use scanhook_core::secret::sha256_hex;
use scanhook_core::{EventId, EventType, ProjectId, json_bounds};
use scanhook_engine::IncomingEvent;
use scanhook_store::{Event, EventFilter, Ingested};
use serde::Deserialize;
use utoipa::IntoParams;

use super::PageQuery;
use crate::auth::Caller;
use crate::error::{ApiError, named};
use crate::extract::{ApiJson, ApiQuery, path_id};
use crate::state::AppState;

const IDEMPOTENCY_HEADER: &str = "idempotency-key";
const MAX_IDEMPOTENCY_KEY: usize = 255;

fn event_out(e: Event) -> EventOut {
    EventOut {
        id: e.id.to_string(),
        event_type: e.event_type.to_string(),
        timestamp: e.timestamp,
        data: serde_json::from_str(&e.data).unwrap_or(serde_json::Value::Null),
        deliveries: e.delivery_count,
        webhook_id: e.target.map(|t| t.to_string()),
    }
}

/// The `Idempotency-Key` header, checked (read without copying the other headers).
pub struct IdempotencyKey(Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let Some(raw) = parts.headers.get(IDEMPOTENCY_HEADER) else { return Ok(Self(None)) };
        let key = raw
            .to_str()
            .map_err(|_| ApiError::invalid("Idempotency-Key", "the Idempotency-Key header must be visible ASCII"))?
            .trim();
        if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY {
            return Err(ApiError::invalid(
                "Idempotency-Key",
                format!("the Idempotency-Key header must be 1 to {MAX_IDEMPOTENCY_KEY} characters"),
            ));
        }
        Ok(Self(Some(key.to_string())))
    }
}

/// Report an event. It and one delivery per matching active endpoint are stored durably
/// before the answer. With an `Idempotency-Key` header, a repeat returns the first answer.
#[utoipa::path(post, path = "/v1/events", tag = "events", request_body = EventIn,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a repeat of this request return the first answer",
        min_length = 1, max_length = 255, pattern = "^[!-~]([ -~]*[!-~])?$")),
    responses((status = 202, body = EventAcceptedOut), (status = 400, body = Problem), (status = 409, body = Problem),
        (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(input): ApiJson<EventIn>,
) -> Result<Response, ApiError> {
    let event = incoming(&input.event_type, input.data, key, "")?;
    state.take_ingest(&caller.account, 1, "type").await?;
    let ingested = state.engine.accept_event(&caller.account, event).await?;
    let (event, replayed) = match ingested {
        Ingested::Created(e) => (e, false),
        Ingested::Replayed(e) => (e, true),
    };
    let mut response = (StatusCode::ACCEPTED, Json(accepted_out(&event))).into_response();
    if replayed {
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// What the answer says of an accepted event.
pub(super) fn accepted_out(event: &Event) -> EventAcceptedOut {
    EventAcceptedOut {
        id: event.id.to_string(),
        event_type: event.event_type.to_string(),
        timestamp: event.timestamp,
        deliveries: event.delivery_count,
    }
}

/// A reported event checked into what the engine accepts, or a 422 naming the field
/// (after `prefix`, such as a batch's `events[3].`): the type, the data as the producer
/// wrote it (a JSON object), and the idempotency key with the request's fingerprint.
pub(super) fn incoming(
    event_type: &str,
    data: Option<Box<serde_json::value::RawValue>>,
    key: Option<String>,
    prefix: &str,
) -> Result<IncomingEvent, ApiError> {
    let field = |name: &str| format!("{prefix}{name}");
    let event_type = EventType::parse(event_type).map_err(|e| ApiError::invalid(&field("type"), e.0))?;
    // Kept as the producer wrote it: receivers get the same bytes, and nothing is re-encoded.
    let data = match data {
        None => "{}".to_string(),
        Some(raw) if json_bounds::has_lone_surrogate(raw.get().as_bytes()) => {
            return Err(ApiError::invalid(
                &field("data"),
                "data holds a \\u escape of half a surrogate pair, which is no character",
            ));
        }
        Some(raw) if raw.get().starts_with('{') => raw.get().to_string(),
        Some(_) => return Err(ApiError::invalid(&field("data"), "data must be a JSON object")),
    };
    let idempotency = match key {
        Some(key) => {
            // Fingerprint the request by its content, not its spacing.
            let normalised: serde_json::Value =
                serde_json::from_str(&data).map_err(|e| ApiError::Internal(Box::new(e)))?;
            Some((key, sha256_hex(format!("{event_type}\n{normalised}").as_bytes())))
        }
        None => None,
    };
    Ok(IncomingEvent { event_type, data, idempotency, target: None, scope: Default::default() })
}

/// Filters of the event list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// Only events of this type.
    #[serde(rename = "type")]
    #[param(rename = "type", max_length = 128, pattern = r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")]
    pub event_type: Option<String>,
    /// Only events about this project (those scanhook derives from its scans, violations
    /// and alerts, and its creation).
    #[param(pattern = "^proj_[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$")]
    pub project_id: Option<String>,
    /// Only events at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Only events before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
}

/// List events, newest first.
#[utoipa::path(get, path = "/v1/events", tag = "events", params(EventQuery, PageQuery),
    responses((status = 200, body = ListOut<EventOut>), (status = 422, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<EventQuery>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<ListOut<EventOut>>, ApiError> {
    let filter = EventFilter {
        event_type: query
            .event_type
            .as_deref()
            .map(EventType::parse)
            .transpose()
            .map_err(|e| ApiError::invalid("type", e.0))?,
        project_id: query
            .project_id
            .as_deref()
            .map(str::parse::<ProjectId>)
            .transpose()
            .map_err(|e| ApiError::invalid("project_id", e.0))?,
        since: query.since,
        until: query.until,
    };
    let paged = state.store().list_events(&caller.account, filter, page.page()?).await?;
    Ok(Json(ListOut { data: paged.items.into_iter().map(event_out).collect(), next_cursor: paged.next_cursor }))
}

/// Get one event.
#[utoipa::path(get, path = "/v1/events/{id}", tag = "events", params(("id" = String, Path)),
    responses((status = 200, body = EventOut), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<EventOut>, ApiError> {
    let event_id: EventId = path_id(&id, "event")?;
    let event = state.store().get_event(&caller.account, &event_id).await.map_err(named("event", &id))?;
    Ok(Json(event_out(event)))
}
