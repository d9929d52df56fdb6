//! Accepting several events in one request (`POST /v1/events/batch`), for producers that
//! report many at once: one store unit of work, one result per event.
//!
//! Each event is checked and stored as `POST /v1/events` would (the same fields, data
//! bound, idempotency keys and fingerprints, so a key used alone and in a batch is one
//! key), and answered on its own: a bad event is refused with the problem it alone would
//! get, naming `events[i].field`, and the others go on. Only what makes the request
//! itself unreadable refuses it whole: a body that is not the schema's shape (422 naming
//! the field), too large (413), no events or more than [`MAX_BATCH_EVENTS`] (422
//! `events`), or over the account's ingest limit (429, every event counted).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use scanhook_api_types::{EventBatchIn, EventBatchOut, EventBatchResultOut, MAX_BATCH_EVENTS, Problem};
use scanhook_store::Ingested;

use super::events::{accepted_out, incoming};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;

const MAX_IDEMPOTENCY_KEY: usize = 255;

/// Report up to 100 events at once. The accepted ones and their deliveries are stored
/// durably, in one unit of work, before the answer; each event has its own result, in the
/// order sent (`status` 202, 409 or 422, as `POST /v1/events` would answer it alone).
#[utoipa::path(post, path = "/v1/events/batch", tag = "events", request_body = EventBatchIn,
    responses((status = 200, body = EventBatchOut), (status = 400, body = Problem), (status = 413, body = Problem),
        (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<EventBatchIn>,
) -> Result<Json<EventBatchOut>, ApiError> {
    let count = input.events.len();
    if count == 0 || count > MAX_BATCH_EVENTS {
        return Err(ApiError::invalid(
            "events",
            format!("a batch holds 1 to {MAX_BATCH_EVENTS} events; this one holds {count}"),
        ));
    }
    state.take_ingest(&caller.account, count, "events").await?;

    // Checked events go to the store; the others keep their problem, in place.
    let mut results: Vec<Option<EventBatchResultOut>> = Vec::with_capacity(count);
    let mut batch = Vec::with_capacity(count);
    for (i, item) in input.events.into_iter().enumerate() {
        let prefix = format!("events[{i}].");
        let checked = item
            .idempotency_key
            .map(|key| idempotency_key(key, &prefix))
            .transpose()
            .and_then(|key| incoming(&item.event_type, item.data, key, &prefix));
        match checked {
            Ok(event) => {
                batch.push(event);
                results.push(None);
            }
            Err(e) => results.push(Some(refused(e))),
        }
    }

    // Nothing to store when every event was refused: no empty unit of work.
    let stored = if batch.is_empty() { Vec::new() } else { state.engine.accept_events(&caller.account, batch).await? };
    let mut stored = stored.into_iter();
    let results = results
        .into_iter()
        .map(|slot| match slot {
            Some(refusal) => refusal,
            None => match stored.next() {
                Some(Ok(Ingested::Created(event))) => accepted(&event, false),
                Some(Ok(Ingested::Replayed(event))) => accepted(&event, true),
                Some(Err(e)) => refused(e.into()),
                None => refused(ApiError::Internal("the store answered fewer events than it was given".into())),
            },
        })
        .collect();
    Ok(Json(EventBatchOut { results }))
}

/// A batch event's `idempotency_key`, as the header of `POST /v1/events` is read: 1 to 255
/// visible ASCII characters (spaces inside only).
fn idempotency_key(key: String, prefix: &str) -> Result<String, ApiError> {
    let visible = |b: &u8| b.is_ascii_graphic();
    let bytes = key.as_bytes();
    let fine = (1..=MAX_IDEMPOTENCY_KEY).contains(&bytes.len())
        && bytes.iter().all(|b| visible(b) || *b == b' ')
        && bytes.first().is_some_and(visible)
        && bytes.last().is_some_and(visible);
    if fine {
        Ok(key)
    } else {
        Err(ApiError::invalid(
            &format!("{prefix}idempotency_key"),
            format!(
                "an idempotency key is 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters, spaces only between them"
            ),
        ))
    }
}

fn accepted(event: &scanhook_store::Event, replayed: bool) -> EventBatchResultOut {
    EventBatchResultOut {
        status: StatusCode::ACCEPTED.as_u16(),
        event: Some(accepted_out(event)),
        replayed,
        error: None,
    }
}

fn refused(e: ApiError) -> EventBatchResultOut {
    let (status, problem, _) = e.problem();
    EventBatchResultOut { status: status.as_u16(), event: None, replayed: false, error: Some(problem) }
}
