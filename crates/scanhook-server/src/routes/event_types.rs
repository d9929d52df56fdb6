//! The event catalogue: what each event type means and what its `data` holds.

use axum::Json;
use scanhook_api_types::{EventTypeOut, ListOut};
use scanhook_core::catalogue::catalogue;

use crate::auth::Caller;

/// Every event type scanhook emits, with a description, a JSON Schema of its `data` and an
/// example.
#[utoipa::path(get, path = "/v1/event-types", tag = "events",
    responses((status = 200, body = ListOut<EventTypeOut>)))]
pub async fn list(_caller: Caller) -> Json<ListOut<EventTypeOut>> {
    let data = catalogue()
        .into_iter()
        .map(|e| EventTypeOut {
            event_type: e.event_type.to_string(),
            description: e.description.to_string(),
            schema: e.schema,
            example: e.example,
        })
        .collect();
    Json(ListOut { data, next_cursor: None })
}
