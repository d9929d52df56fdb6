//! Delivery attempts' spans and the trace context they carry. Every log line of an attempt
//! names its delivery, event, endpoint, attempt number and attempt id (recorded by the
//! sender once it is made). Each attempt is a child of its event's trace: the
//! `traceparent` stored with the event at ingest, or, for an event that had none, a trace
//! whose id is the event id's 128 bits; so attempts made later, by any node, join it. The
//! same context goes to the receiver in the `traceparent` header.

use std::future::Future;

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState};
use scanhook_core::EventId;
use scanhook_core::trace_parent::{TraceParent, new_span_id};
use scanhook_store::Claimed;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

tokio::task_local! {
    /// The producer's `traceparent`, for events accepted while no tracer runs.
    static INCOMING: Option<TraceParent>;
}

/// Runs `request` with the producer's `traceparent` known to the events it ingests.
pub async fn with_incoming<F: Future>(incoming: Option<TraceParent>, request: F) -> F::Output {
    INCOMING.scope(incoming, request).await
}

/// The trace context an event ingested now is stored with: the current span's when a
/// tracer runs (the ingest's, itself a child of the producer's), else the producer's.
pub fn event_trace_parent() -> Option<TraceParent> {
    of_span(&Span::current()).or_else(|| INCOMING.try_with(|i| *i).ok().flatten())
}

/// `span`'s context, when a tracer runs and gave it one.
pub fn of_span(span: &Span) -> Option<TraceParent> {
    let cx = span.context();
    let context = cx.span().span_context().clone();
    context.is_valid().then(|| TraceParent {
        trace_id: context.trace_id().to_bytes(),
        span_id: context.span_id().to_bytes(),
        sampled: context.is_sampled(),
    })
}

/// A context whose span is `parent`, made elsewhere (another process, or an earlier one).
pub fn remote(parent: TraceParent) -> opentelemetry::Context {
    let flags = if parent.sampled { TraceFlags::SAMPLED } else { TraceFlags::default() };
    let context = SpanContext::new(
        TraceId::from_bytes(parent.trace_id),
        SpanId::from_bytes(parent.span_id),
        flags,
        true,
        TraceState::default(),
    );
    opentelemetry::Context::new().with_remote_span_context(context)
}

/// The trace `item`'s attempts belong to.
fn event_trace(item: &Claimed) -> TraceParent {
    item.trace_parent.as_deref().and_then(TraceParent::parse).unwrap_or_else(|| of_event(&item.event.id))
}

/// The trace of an event stored without one: its id's ULID as the trace id, so every
/// attempt, on every node, shares it.
fn of_event(id: &EventId) -> TraceParent {
    let ulid = id.as_str().split_once('_').and_then(|(_, u)| ulid::Ulid::from_string(u).ok());
    match ulid.map(|u| u128::from(u).to_be_bytes()).filter(|b| *b != [0; 16]) {
        Some(trace_id) => TraceParent { trace_id, span_id: new_span_id(), sampled: true },
        None => TraceParent::fresh(),
    }
}

/// The span of a store call the engine makes (`name`: `store.` and the `Store` method; a
/// static name, so that making the span allocates nothing on the delivery path).
pub fn store(name: &'static str) -> Span {
    tracing::info_span!("store", otel.name = name, otel.kind = "client")
}

/// Makes `span`'s parent the producer's span `parent` (its `traceparent`).
pub fn adopt(span: &Span, parent: TraceParent) {
    let _ = span.set_parent(remote(parent));
}

/// The span one attempt of `item` runs in, a child of its event's trace.
pub fn attempt_span(item: &Claimed) -> Span {
    let span = tracing::info_span!(
        "delivery_attempt",
        delivery_id = %item.delivery_id,
        event_id = %item.event.id,
        webhook_id = %item.webhook.id,
        attempt = item.attempt_count + 1,
        attempt_id = tracing::field::Empty,
        otel.kind = "client",
    );
    let _ = span.set_parent(remote(event_trace(item)));
    span
}

/// The `traceparent` an attempt of `item` sends (called in its span): the attempt span's
/// own when a tracer runs, so the receiver's spans are its children; else a new span id
/// in the event's trace.
pub fn outgoing(item: &Claimed) -> TraceParent {
    of_span(&Span::current()).unwrap_or_else(|| event_trace(item).with_span(new_span_id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_without_a_trace_gets_its_ids_trace() {
        let id = EventId::generate();
        let (a, b) = (of_event(&id), of_event(&id));
        assert_eq!(a.trace_id, b.trace_id);
        assert_eq!(ulid::Ulid::from_string(&id.as_str()[4..]).map(u128::from).unwrap().to_be_bytes(), a.trace_id);
    }
}
