//! The canonical body every endpoint receives: `{"id","type","timestamp","data"}`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::{EventId, EventType};

/// RFC 3339 in UTC with milliseconds, the one timestamp format on the wire.
pub fn format_timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[derive(Serialize)]
struct Envelope<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    event_type: &'a str,
    timestamp: String,
    data: &'a RawValue,
}

/// Serialises the envelope. `data` is kept byte for byte as the producer sent it.
pub fn canonical_body(id: &EventId, event_type: &EventType, timestamp: DateTime<Utc>, data: &RawValue) -> Vec<u8> {
    let envelope =
        Envelope { id: id.as_str(), event_type: event_type.as_str(), timestamp: format_timestamp(timestamp), data };
    // Serialising borrowed strings and a RawValue into a Vec cannot fail.
    serde_json::to_vec(&envelope).expect("envelope serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_keeps_data_bytes_and_field_order() {
        let id: EventId = "evt_01ARZ3NDEKTSV4RRFFQ69G5FAV".parse().unwrap();
        let data = RawValue::from_string(r#"{"b":1, "a":[2]}"#.into()).unwrap();
        let at = DateTime::from_timestamp_millis(1_700_000_000_123).unwrap();
        let body = canonical_body(&id, &EventType::parse("scan.completed").unwrap(), at, &data);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"id":"evt_01ARZ3NDEKTSV4RRFFQ69G5FAV","type":"scan.completed","timestamp":"2023-11-14T22:13:20.123Z","data":{"b":1, "a":[2]}}"#
        );
    }
}
