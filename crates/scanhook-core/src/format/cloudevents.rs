//! `kind: cloudevents`: each delivery as a CloudEvents 1.0 event over the HTTP protocol
//! binding, in structured mode (the whole event as `application/cloudevents+json`) or
//! binary mode (attributes in `ce-*` headers, the body is the data). Pure: the sender
//! passes the event and gets the body and the headers to send.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::Invalid;
use crate::envelope::format_timestamp;

/// Longest `source` an endpoint may set; attributes travel in headers in binary mode.
pub const MAX_SOURCE_LEN: usize = 512;
/// Longest scan or project ID taken as the `subject`; longer values (only events posted
/// by producers can have them) leave the subject out rather than make a huge header.
const MAX_SUBJECT_LEN: usize = 256;

/// The endpoint's CloudEvents settings (`DeliveryFormat.cloudevents`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CloudEvents {
    /// `structured` (default) or `binary`.
    pub mode: Mode,
    /// The `source` attribute, a URI-reference (default: the deployment's
    /// `SCANHOOK_PUBLIC_URL`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(
        min_length = 1,
        max_length = 512,
        pattern = r#"^([A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=-]|%[0-9A-Fa-f]{2})+$"#
    )]
    pub source: Option<String>,
}

/// The HTTP binding's content mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = CloudEventsMode)]
pub enum Mode {
    /// The whole event as the body, `Content-Type: application/cloudevents+json`.
    #[default]
    Structured,
    /// The data as the body, the attributes as `ce-*` headers.
    Binary,
}

/// The headers binary mode sets (lowercase), and `ce-datacontenttype`, which it must not
/// carry (the binding maps that attribute to `Content-Type`).
pub const HEADERS: [&str; 7] =
    ["ce-specversion", "ce-id", "ce-source", "ce-type", "ce-time", "ce-subject", "ce-datacontenttype"];

/// Sent with every CloudEvents delivery: the HTTP Web Hooks spec says a sender uses the
/// origin of its abuse-protection handshake on each delivery.
pub const ORIGIN_HEADER: &str = "WebHook-Request-Origin";

impl CloudEvents {
    pub fn validate(&self) -> Result<(), Invalid> {
        match &self.source {
            Some(source) if !is_uri_reference(source) => Err(Invalid::new(format!(
                "cloudevents.source must be a URI-reference of 1 to {MAX_SOURCE_LEN} characters (percent-encode others)"
            ))),
            _ => Ok(()),
        }
    }
}

/// A URI-reference (RFC 3986) as far as its characters go: unreserved and reserved ASCII,
/// and `%` only before two hex digits. The structure is the sender's business; what
/// matters here is that it fits a header and a receiver's parser.
fn is_uri_reference(s: &str) -> bool {
    let bytes = s.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_SOURCE_LEN {
        return false;
    }
    bytes.iter().enumerate().all(|(i, &b)| match b {
        b'%' => bytes.get(i + 1..i + 3).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)),
        _ => b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=".contains(&b),
    })
}

/// The context attributes of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attributes<'a> {
    pub id: &'a str,
    pub source: &'a str,
    pub event_type: &'a str,
    pub time: String,
    pub subject: Option<String>,
}

impl<'a> Attributes<'a> {
    /// `type` is scanhook's event type as it is: receivers route on the same string in
    /// every other format and in endpoint subscriptions. `subject` is the scan the event
    /// is about, else its project, from the event's own data.
    pub fn new(id: &'a str, event_type: &'a str, time: DateTime<Utc>, source: &'a str, data: &str) -> Self {
        Self { id, source, event_type, time: format_timestamp(time), subject: subject(data) }
    }
}

/// The IDs an event's data may name: derived events use camelCase, Cortex's and the alert
/// shapes snake_case.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Named {
    #[serde(rename = "scanId")]
    scan_camel: Option<serde_json::Value>,
    scan_id: Option<serde_json::Value>,
    #[serde(rename = "projectId")]
    project_camel: Option<serde_json::Value>,
    project_id: Option<serde_json::Value>,
}

fn subject(data: &str) -> Option<String> {
    let named: Named = serde_json::from_str(data).ok()?;
    [named.scan_camel, named.scan_id, named.project_camel, named.project_id]
        .into_iter()
        .flatten()
        .find_map(|v| v.as_str().filter(|s| !s.is_empty() && s.len() <= MAX_SUBJECT_LEN).map(str::to_string))
}

#[derive(Serialize)]
struct Structured<'a> {
    specversion: &'static str,
    id: &'a str,
    source: &'a str,
    #[serde(rename = "type")]
    event_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    time: &'a str,
    datacontenttype: &'static str,
    data: &'a RawValue,
}

const SPECVERSION: &str = "1.0";
const DATA_CONTENT_TYPE: &str = "application/json";

/// The body of a delivery whose data (the event's, or what the template and extra payload
/// made of it: JSON) is `data`.
pub fn body(settings: &CloudEvents, attributes: &Attributes<'_>, data: Vec<u8>) -> Result<Vec<u8>, String> {
    if settings.mode == Mode::Binary {
        return Ok(data);
    }
    let data = String::from_utf8(data).map_err(|_| "the event's data is not UTF-8 JSON".to_string())?;
    let data = RawValue::from_string(data).map_err(|e| format!("the event's data is not JSON: {e}"))?;
    let event = Structured {
        specversion: SPECVERSION,
        id: attributes.id,
        source: attributes.source,
        event_type: attributes.event_type,
        subject: attributes.subject.as_deref(),
        time: &attributes.time,
        datacontenttype: DATA_CONTENT_TYPE,
        data: &data,
    };
    serde_json::to_vec(&event).map_err(|e| e.to_string())
}

/// The content type, and in binary mode the `ce-*` attribute headers, of a delivery.
pub fn headers(settings: &CloudEvents, attributes: &Attributes<'_>) -> Vec<(String, String)> {
    match settings.mode {
        Mode::Structured => vec![("Content-Type".into(), "application/cloudevents+json; charset=utf-8".into())],
        Mode::Binary => {
            let mut headers = vec![
                ("Content-Type".to_string(), DATA_CONTENT_TYPE.to_string()),
                ("ce-specversion".to_string(), SPECVERSION.to_string()),
                ("ce-id".to_string(), percent_encode(attributes.id)),
                ("ce-source".to_string(), percent_encode(attributes.source)),
                ("ce-type".to_string(), percent_encode(attributes.event_type)),
                ("ce-time".to_string(), percent_encode(&attributes.time)),
            ];
            if let Some(subject) = &attributes.subject {
                headers.push(("ce-subject".to_string(), percent_encode(subject)));
            }
            headers
        }
    }
}

/// What the binding percent-encodes in a header value besides everything outside ASCII:
/// controls, space, `"` and `%`.
const HEADER_UNSAFE: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS.add(b' ').add(b'"').add(b'%');

/// A header value as the binding writes one: `%XY` of the UTF-8 bytes (upper-case hex) of
/// what [`HEADER_UNSAFE`] names and of everything outside ASCII; the rest stays.
fn percent_encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, HEADER_UNSAFE).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-01-15T10:30:45.2Z").unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_subject_is_the_scan_else_the_project_else_absent() {
        let attrs = |data: &str| Attributes::new("evt_1", "scan.completed", at(), "https://s.example/", data).subject;
        assert_eq!(attrs(r#"{"scanId":"scan_1","projectId":"proj_1"}"#).as_deref(), Some("scan_1"));
        assert_eq!(attrs(r#"{"issue_id":"vio_1","scan_id":"scan_2"}"#).as_deref(), Some("scan_2"));
        assert_eq!(attrs(r#"{"scanId":null,"projectId":"proj_1"}"#).as_deref(), Some("proj_1"), "violation.resolved");
        assert_eq!(attrs(r#"{"alert_id":"alrt_1","project_id":"proj_3"}"#).as_deref(), Some("proj_3"));
        assert_eq!(attrs(r#"{"scanId":7,"projectId":""}"#), None, "only non-empty strings name a subject");
        assert_eq!(attrs(&format!(r#"{{"scanId":"{}"}}"#, "s".repeat(257))), None, "too long for a header");
        assert_eq!(attrs(r#"{"message":"hello"}"#), None);
        assert_eq!(attrs("not json"), None);
    }

    #[test]
    fn structured_mode_is_the_whole_event_with_the_data_bytes_kept() {
        let attrs = Attributes::new("evt_1", "scan.completed", at(), "https://s.example/", r#"{"scanId":"scan_1"}"#);
        let settings = CloudEvents::default();
        let body = body(&settings, &attrs, br#"{"scanId":"scan_1","n":1.50}"#.to_vec()).unwrap();
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"specversion":"1.0","id":"evt_1","source":"https://s.example/","type":"scan.completed","subject":"scan_1","time":"2024-01-15T10:30:45.200Z","datacontenttype":"application/json","data":{"scanId":"scan_1","n":1.50}}"#
        );
        assert_eq!(
            headers(&settings, &attrs),
            [("Content-Type".to_string(), "application/cloudevents+json; charset=utf-8".to_string())]
        );
        let no_subject = Attributes { subject: None, ..attrs };
        let body = String::from_utf8(super::body(&settings, &no_subject, b"{}".to_vec()).unwrap()).unwrap();
        assert!(!body.contains("subject"), "{body}");
    }

    #[test]
    fn binary_mode_sends_the_data_and_encodes_attributes_into_headers() {
        let settings = CloudEvents { mode: Mode::Binary, source: None };
        let attrs = Attributes {
            id: "evt_1",
            source: "urn:scanhook:eu west",
            event_type: "scan.completed",
            time: "2024-01-15T10:30:45.200Z".into(),
            subject: Some("Euro € \"quoted\" 100%".into()),
        };
        assert_eq!(body(&settings, &attrs, b"{\"a\":1}".to_vec()).unwrap(), b"{\"a\":1}");
        let headers = headers(&settings, &attrs);
        let get = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        assert_eq!(get("Content-Type"), Some("application/json"));
        assert_eq!(get("ce-specversion"), Some("1.0"));
        assert_eq!(get("ce-id"), Some("evt_1"));
        assert_eq!(get("ce-source"), Some("urn:scanhook:eu%20west"));
        assert_eq!(get("ce-type"), Some("scan.completed"));
        assert_eq!(get("ce-time"), Some("2024-01-15T10:30:45.200Z"));
        assert_eq!(get("ce-subject"), Some("Euro%20%E2%82%AC%20%22quoted%22%20100%25"));
        assert!(get("ce-datacontenttype").is_none(), "the binding forbids it beside Content-Type");
        let names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
        assert!(names.iter().all(|n| *n == "Content-Type" || HEADERS.contains(n)), "{names:?}");
    }

    #[test]
    fn percent_encoding_leaves_printable_ascii_but_space_quote_and_percent() {
        assert_eq!(percent_encode("a-Z_0~!#&'()*+,/:;=?@[]{}|^`\\<>$."), "a-Z_0~!#&'()*+,/:;=?@[]{}|^`\\<>$.");
        assert_eq!(percent_encode(" \"%\t\u{7f}é😀"), "%20%22%25%09%7F%C3%A9%F0%9F%98%80");
    }

    #[test]
    fn sources_must_be_uri_references() {
        let valid = |s: &str| CloudEvents { mode: Mode::Structured, source: Some(s.into()) }.validate().is_ok();
        for ok in ["https://scanhook.example.com/", "/scanhook/eu", "urn:scanhook:eu-1", "a%20b", "//x?q=1#f"] {
            assert!(valid(ok), "{ok}");
        }
        for bad in ["", "a b", "caf\u{e9}", "50%", "%zz", "<x>", "a\"b", &"a".repeat(MAX_SOURCE_LEN + 1)] {
            assert!(!valid(bad), "{bad:?}");
        }
        assert!(CloudEvents::default().validate().is_ok(), "no source: the deployment's URL");
    }

    #[test]
    fn settings_read_with_defaults_and_refuse_unknown_fields() {
        let read = |json: &str| serde_json::from_str::<CloudEvents>(json);
        assert_eq!(read("{}").unwrap(), CloudEvents::default());
        assert_eq!(read(r#"{"mode":"binary"}"#).unwrap().mode, Mode::Binary);
        assert!(read(r#"{"mode":"batched"}"#).is_err());
        assert!(read(r#"{"sourc":"x"}"#).is_err());
    }
}
