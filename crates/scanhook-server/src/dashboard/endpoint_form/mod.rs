//! The endpoint form (add and edit): what it posts, how an endpoint's settings fill it
//! (`EndpointForm::of`), what it sends to the API (`body.rs`: on create only what is set,
//! on edit only what changed, so saving an untouched form changes nothing and never
//! replaces a secret) and how it looks (`view.rs`: the signature group, the collapsible
//! advanced settings, the API's errors beside the field they name).

mod body;
mod view;

use scanhook_api_types::{Signature, WebhookOut};
use serde::{Deserialize, Serialize};

use super::forms::headers_text;
use super::session::HasCsrf;

pub use view::{endpoint_form, scheme_label, settings_facts};

/// The signature schemes the form offers, as the API names them.
const SCHEMES: &[(&str, &str)] = &[
    ("standard", "Standard Webhooks (HMAC)"),
    ("standard-ed25519", "Standard Webhooks (Ed25519)"),
    ("hmac-sha256", "HMAC-SHA256 of the body"),
    ("bearer", "Bearer token only"),
    ("none", "None (trusted networks only)"),
];

/// The body formats (`kind`) the form offers.
const KINDS: &[(&str, &str)] = &[
    ("generic", "Generic envelope"),
    ("slack", "Slack"),
    ("discord", "Discord"),
    ("teams", "Microsoft Teams"),
    ("cloudevents", "CloudEvents 1.0"),
];

const BODY_JSON: &[(&str, &str)] = &[("verbatim", "Verbatim"), ("javascript", "As JavaScript writes it")];

const ORDERINGS: &[(&str, &str)] = &[("unordered", "Unordered"), ("fifo", "In order, one at a time (FIFO)")];

const ENCODINGS: &[(&str, &str)] = &[("hex", "Hex"), ("base64", "Base64")];

const CLOUDEVENTS_MODES: &[(&str, &str)] = &[("structured", "Structured"), ("binary", "Binary")];

/// "" is no filter.
const SEVERITIES: &[(&str, &str)] = &[
    ("", "Any severity"),
    ("info", "Info and above"),
    ("low", "Low and above"),
    ("medium", "Medium and above"),
    ("high", "High and above"),
    ("critical", "Critical only"),
];

fn scheme_of(signature: &Signature) -> &'static str {
    match signature {
        Signature::Standard => "standard",
        Signature::StandardEd25519 => "standard-ed25519",
        Signature::HmacSha256 { .. } => "hmac-sha256",
        Signature::Bearer => "bearer",
        Signature::None => "none",
    }
}

/// A value of one of the API's enums as its JSON names it (`Kind::Cloudevents` →
/// `cloudevents`).
fn wire<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// What the endpoint form posts: every field as typed. Secrets (the bearer token, a
/// signing secret of one's own) are write-only: [`EndpointForm::of`] leaves them empty,
/// and an empty one on edit keeps what the endpoint has.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EndpointForm {
    csrf: Option<String>,
    url: String,
    description: String,
    events: String,
    signature: String,
    signature_header: String,
    signature_prefix: String,
    signature_encoding: String,
    bearer_token: String,
    /// A checkbox (edit only): `null` the token.
    remove_bearer_token: Option<String>,
    /// Create only: a signing secret of one's own instead of a generated one.
    secret: String,
    kind: String,
    body_json: String,
    cloudevents_mode: String,
    cloudevents_source: String,
    timeout: String,
    max_in_flight: String,
    rate_limit: String,
    rate_limit_burst: String,
    ordering: String,
    header_prefix: String,
    projects: String,
    min_severity: String,
    headers: String,
    sensitive_headers: String,
    extra_payload: String,
    template: String,
}

impl HasCsrf for EndpointForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

impl EndpointForm {
    /// The add form as it first shows: every event, the standard scheme.
    pub fn new() -> Self {
        Self { events: "*".into(), signature: "standard".into(), ..Default::default() }
    }

    /// The edit form of `w`: its current settings, secrets left out.
    pub fn of(w: &WebhookOut) -> Self {
        let (signature_header, signature_prefix, signature_encoding) = match &w.signature {
            Signature::HmacSha256 { header, prefix, encoding } => {
                (header.clone().unwrap_or_default(), prefix.clone(), wire(encoding))
            }
            _ => Default::default(),
        };
        let cloudevents = w.cloudevents.clone().unwrap_or_default();
        Self {
            csrf: None,
            url: w.url.clone(),
            description: w.description.clone().unwrap_or_default(),
            events: w.events.join(", "),
            signature: scheme_of(&w.signature).into(),
            signature_header,
            signature_prefix,
            signature_encoding,
            bearer_token: String::new(),
            remove_bearer_token: None,
            secret: String::new(),
            kind: wire(&w.kind),
            body_json: wire(&w.body_json),
            cloudevents_mode: wire(&cloudevents.mode),
            cloudevents_source: cloudevents.source.unwrap_or_default(),
            timeout: w.timeout.map(|t| t.to_string()).unwrap_or_default(),
            // Defaults show empty, as a fresh form has them.
            max_in_flight: Some(w.max_in_flight)
                .filter(|n| *n != scanhook_core::fair::DEFAULT_MAX_IN_FLIGHT)
                .map(|n| n.to_string())
                .unwrap_or_default(),
            rate_limit: w.rate_limit.map(|r| r.to_string()).unwrap_or_default(),
            rate_limit_burst: w
                .rate_limit_burst
                .filter(|b| Some(*b) != w.rate_limit)
                .map(|b| b.to_string())
                .unwrap_or_default(),
            ordering: wire(&w.ordering),
            header_prefix: w.header_prefix.clone().unwrap_or_default(),
            projects: w.projects.join(", "),
            min_severity: w.min_severity.map(|s| s.as_str().to_string()).unwrap_or_default(),
            headers: headers_text(&w.headers),
            sensitive_headers: w.sensitive_headers.join(", "),
            extra_payload: w
                .extra_payload
                .as_ref()
                .map(|v| serde_json::to_string_pretty(v).unwrap_or_default())
                .unwrap_or_default(),
            template: w.template.clone().unwrap_or_default(),
        }
    }

    /// Whether any of the advanced settings is other than its default.
    fn has_advanced(&self) -> bool {
        let set = |v: &str, default: &str| !v.trim().is_empty() && v.trim() != default;
        set(&self.kind, "generic")
            || set(&self.body_json, "verbatim")
            || set(&self.ordering, "unordered")
            || [
                &self.timeout,
                &self.max_in_flight,
                &self.rate_limit,
                &self.rate_limit_burst,
                &self.header_prefix,
                &self.projects,
                &self.min_severity,
                &self.headers,
                &self.sensitive_headers,
                &self.extra_payload,
                &self.template,
            ]
            .iter()
            .any(|v| !v.trim().is_empty())
    }
}
