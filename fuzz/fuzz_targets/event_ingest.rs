//! A `POST /v1/events` body taken the way the server takes it (its own `parse_json`, the
//! type check, data must be an object), then rendered as every built-in format would send
//! it: the road deeply nested `data` took to a stack overflow in a chat format.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanhook_api_types::EventIn;
use scanhook_core::envelope::canonical_body;
use scanhook_core::format::{DeliveryContext, DeliveryFormat, Kind, TemplateCache, render};
use scanhook_core::{EventId, EventType};
use scanhook_server::extract::parse_json;
use serde_json::value::RawValue;

fuzz_target!(init: scanhook_fuzz::catch_stack_overflows(), |body: &[u8]| {
    let Ok(input) = parse_json::<EventIn>(body) else { return };
    let Ok(event_type) = EventType::parse(&input.event_type) else { return };
    let data = match input.data {
        None => RawValue::from_string("{}".into()).expect("{} is JSON"),
        Some(raw) if raw.get().starts_with('{') => raw,
        Some(_) => return,
    };
    let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("a valid time");
    let envelope = canonical_body(&EventId::generate(), &event_type, at, &data);
    let context = DeliveryContext { delivery_id: "dlv_x", attempt: 1, endpoint: "https://example.com/", webhook_id: "wh_x" };
    let cache = TemplateCache::default();
    for kind in [Kind::Generic, Kind::Slack, Kind::Discord, Kind::Teams] {
        let format = DeliveryFormat { kind, ..Default::default() };
        let _ = render(&format, envelope.clone(), &context, &cache);
    }
});
