//! The delivery attempt's span: every log line of an attempt names its delivery, event,
//! endpoint, attempt number and attempt id (recorded by the sender once it is made).

use scanhook_store::Claimed;
use tracing::Span;

/// The span one attempt of `item` runs in.
pub fn attempt_span(item: &Claimed) -> Span {
    tracing::info_span!(
        "delivery_attempt",
        delivery_id = %item.delivery_id,
        event_id = %item.event.id,
        webhook_id = %item.webhook.id,
        attempt = item.attempt_count + 1,
        attempt_id = tracing::field::Empty,
        otel.kind = "client",
    )
}
