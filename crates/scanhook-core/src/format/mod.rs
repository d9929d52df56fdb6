//! How an endpoint wants its deliveries: the signature scheme, an optional bearer token,
//! the body's shape (canonical envelope, a chat format, a CloudEvent, or a jq template,
//! plus an extra payload merged in), its own timeout and header prefix. Platforms moving
//! to scanhook set these so their customers' receivers keep working unchanged.

pub mod cloudevents;
mod javascript;
mod nesting;
mod render;
mod template;

#[cfg(test)]
mod golden_tests;

use serde::{Deserialize, Serialize};

use crate::webhook::is_header_name;
use crate::{Invalid, fair};

pub use cloudevents::CloudEvents;
pub use javascript::{BodyJson, restringify};
pub use render::{DeliveryContext, TemplateCache, builtin, render, with_extra_payload};
pub use template::Template;

/// Shortest and longest per-endpoint timeout, in seconds.
pub const TIMEOUT_RANGE: std::ops::RangeInclusive<u32> = 1..=30;

/// Everything about an endpoint's deliveries beyond where they go and what triggers them.
/// Stored as one JSON document; absent fields take their defaults, so older rows read fine.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryFormat {
    pub signature: Signature,
    /// `Authorization: Bearer <token>`, with any scheme.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bearer_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u32>,
    pub kind: Kind,
    /// A jq program producing the body; overrides `kind`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Merged into the body's top-level object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_payload: Option<serde_json::Map<String, serde_json::Value>>,
    /// Prefix of the event, delivery, attempt and signature headers (default: the
    /// deployment's `SCANHOOK_HEADER_PREFIX`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header_prefix: Option<String>,
    /// `javascript`: the body as Node's `JSON.stringify(JSON.parse(body))` makes it, applied
    /// last, for receivers that sign `JSON.stringify(req.body)`.
    #[serde(skip_serializing_if = "BodyJson::is_verbatim")]
    pub body_json: BodyJson,
    /// Mode and source of `kind: cloudevents` (defaults when absent); no other kind has them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloudevents: Option<CloudEvents>,
    /// Requests open at once per worker (default [`fair::DEFAULT_MAX_IN_FLIGHT`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_in_flight: Option<u32>,
    /// Deliveries per second, across every node (none: unlimited).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<u32>,
    /// How many may go at once after a quiet spell (default: `rate_limit`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit_burst: Option<u32>,
    /// Whether deliveries go one at a time in the order their events were accepted.
    #[serde(skip_serializing_if = "Ordering::is_unordered")]
    pub ordering: Ordering,
}

/// The order an endpoint's deliveries go in.
///
/// `fifo`: strictly one at a time, in the order their events were accepted (per endpoint).
/// Only the head — the oldest pending delivery — is ever due; the rest wait their turn
/// with no attempt time (`next_attempt_at` absent). The head keeps its place through its retries and pauses, and
/// the next one goes when it succeeds or dies (or is held while the endpoint is
/// disabled). A delivery sent again by hand (retry, replay of dead letters) joins the
/// back of the queue. Test events sent to one endpoint are outside the order. With one
/// request at a time, `max_in_flight` does not matter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Ordering {
    /// As many at once as the fair share allows, each on its own schedule.
    #[default]
    Unordered,
    /// One at a time, in the order accepted.
    Fifo,
}

impl Ordering {
    pub fn is_unordered(&self) -> bool {
        *self == Self::Unordered
    }

    pub fn is_fifo(&self) -> bool {
        *self == Self::Fifo
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Unordered => "unordered",
            Self::Fifo => "fifo",
        }
    }
}

/// How a delivery proves where it came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "scheme", rename_all = "kebab-case", from = "SignatureWire")]
pub enum Signature {
    /// Standard Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`)
    /// plus `<prefix>-Signature: sha256=<hex>`.
    #[default]
    Standard,
    /// Standard Webhooks' asymmetric signature: the same three headers, with
    /// `webhook-signature: v1a,<base64 Ed25519>`. The endpoint's secret is an Ed25519 key
    /// pair; receivers verify with its public key (`whpk_…`, in every read of the endpoint).
    StandardEd25519,
    /// An HMAC-SHA256 of the raw body in a header of the endpoint's choosing; without one,
    /// in `<prefix>-Signature` (the endpoint's or the deployment's header prefix).
    HmacSha256 {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        header: Option<String>,
        #[serde(default)]
        prefix: String,
        #[serde(default)]
        encoding: Encoding,
    },
    /// Only `Authorization: Bearer <token>` (the endpoint's `bearer_token`).
    Bearer,
    /// Nothing: for receivers on a trusted network only.
    None,
}

/// What [`Signature`] is read from. serde ignores unknown fields beside the tag of a unit
/// variant, even with `deny_unknown_fields`, so every variant here has (possibly no) named
/// fields and `{"scheme": "standard", "algorithm": "ed25519"}` is refused.
#[derive(Deserialize)]
#[serde(tag = "scheme", rename_all = "kebab-case", deny_unknown_fields)]
enum SignatureWire {
    Standard {},
    StandardEd25519 {},
    HmacSha256 {
        #[serde(default)]
        header: Option<String>,
        #[serde(default)]
        prefix: String,
        #[serde(default)]
        encoding: Encoding,
    },
    Bearer {},
    None {},
}

impl From<SignatureWire> for Signature {
    fn from(wire: SignatureWire) -> Self {
        match wire {
            SignatureWire::Standard {} => Self::Standard,
            SignatureWire::StandardEd25519 {} => Self::StandardEd25519,
            SignatureWire::HmacSha256 { header, prefix, encoding } => Self::HmacSha256 { header, prefix, encoding },
            SignatureWire::Bearer {} => Self::Bearer,
            SignatureWire::None {} => Self::None,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    #[default]
    Hex,
    Base64,
}

/// The body's shape when no template is set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// The canonical envelope `{"id","type","timestamp","data"}`.
    #[default]
    Generic,
    /// Slack blocks in a severity-coloured attachment (incoming webhooks).
    Slack,
    /// A Discord embed.
    Discord,
    /// A Microsoft Teams MessageCard.
    Teams,
    /// A CloudEvents 1.0 event (HTTP binding) whose data is the event's data.
    Cloudevents,
}

impl DeliveryFormat {
    /// Checks every setting; the error names the field at fault (`signature.header`, ...).
    pub fn validate(&self) -> Result<(), (&'static str, Invalid)> {
        if let Signature::HmacSha256 { header, prefix, .. } = &self.signature {
            if let Some(header) = header {
                check_signature_header(header)?;
            }
            if prefix.len() > 32 || prefix.bytes().any(|b| !b.is_ascii_graphic()) {
                return Err(("signature.prefix", Invalid::new("prefix must be at most 32 visible ASCII characters")));
            }
        }
        match (&self.signature, &self.bearer_token) {
            (Signature::Bearer, None) => {
                return Err(("bearer_token", Invalid::new("the bearer scheme needs a bearer_token")));
            }
            (_, Some(token))
                if token.is_empty() || token.len() > 512 || token.bytes().any(|b| !b.is_ascii_graphic()) =>
            {
                return Err(("bearer_token", Invalid::new("bearer_token must be 1 to 512 visible ASCII characters")));
            }
            _ => {}
        }
        if let Some(t) = self.timeout_secs
            && !TIMEOUT_RANGE.contains(&t)
        {
            let (lo, hi) = (TIMEOUT_RANGE.start(), TIMEOUT_RANGE.end());
            return Err(("timeout", Invalid::new(format!("timeout must be {lo} to {hi} seconds, not {t}"))));
        }
        for (field, value, range) in [
            ("max_in_flight", self.max_in_flight, fair::MAX_IN_FLIGHT_RANGE),
            ("rate_limit", self.rate_limit, fair::RATE_LIMIT_RANGE),
            ("rate_limit_burst", self.rate_limit_burst, fair::RATE_LIMIT_RANGE),
        ] {
            if let Some(n) = value
                && !range.contains(&n)
            {
                let (lo, hi) = (range.start(), range.end());
                return Err((field, Invalid::new(format!("{field} must be {lo} to {hi}, not {n}"))));
            }
        }
        if self.rate_limit_burst.is_some() && self.rate_limit.is_none() {
            return Err(("rate_limit_burst", Invalid::new("rate_limit_burst needs a rate_limit")));
        }
        if let Some(template) = &self.template {
            Template::compile(template).map_err(|e| ("template", e))?;
        }
        if let Some(prefix) = &self.header_prefix
            && (!is_header_name(prefix) || prefix.len() > 40 || prefix.to_ascii_lowercase().starts_with("webhook"))
        {
            return Err(("header_prefix", Invalid::new(format!("'{prefix}' is not a usable header prefix"))));
        }
        match (&self.cloudevents, self.kind) {
            (Some(settings), Kind::Cloudevents) => settings.validate().map_err(|e| ("cloudevents", e))?,
            (Some(_), _) => {
                return Err(("cloudevents", Invalid::new("cloudevents settings apply to kind cloudevents only")));
            }
            (None, _) => {}
        }
        Ok(())
    }

    /// The names this endpoint's deliveries set themselves (lowercase): extra headers may
    /// not override them, so a receiver can trust the signatures and content type.
    pub fn own_headers(&self, default_prefix: &str) -> Vec<String> {
        let prefix = self.header_prefix(default_prefix).to_ascii_lowercase();
        let mut names: Vec<String> =
            ["event", "delivery", "attempt", "signature"].iter().map(|h| format!("{prefix}-{h}")).collect();
        names.extend(["content-type", "user-agent"].map(String::from));
        if let Signature::HmacSha256 { header: Some(header), .. } = &self.signature {
            names.push(header.to_ascii_lowercase());
        }
        if self.bearer_token.is_some() {
            names.push("authorization".into());
        }
        if self.kind == Kind::Cloudevents {
            names.extend(cloudevents::HEADERS.map(String::from));
            names.push(cloudevents::ORIGIN_HEADER.to_ascii_lowercase());
        }
        names
    }

    /// Requests open at once per worker.
    pub fn max_in_flight(&self) -> u32 {
        self.max_in_flight.unwrap_or(fair::DEFAULT_MAX_IN_FLIGHT)
    }

    /// The endpoint's token bucket, if it has a rate limit.
    pub fn rate(&self) -> Option<fair::RateLimit> {
        self.rate_limit
            .map(|per_second| fair::RateLimit { per_second, burst: self.rate_limit_burst.unwrap_or(per_second) })
    }

    /// The header names this endpoint's deliveries use: `<prefix>-...`, with the
    /// endpoint's prefix or else the deployment's.
    pub fn header_prefix<'a>(&'a self, default_prefix: &'a str) -> &'a str {
        self.header_prefix.as_deref().unwrap_or(default_prefix)
    }

    /// The compiled program that shapes the body, if any: the endpoint's template, else
    /// its chat format's built-in one. (A CloudEvents endpoint's template shapes `data`.)
    pub fn program(&self) -> Option<ProgramSource<'_>> {
        match (&self.template, self.kind) {
            (Some(source), _) => Some(ProgramSource::Custom(source)),
            (None, Kind::Generic | Kind::Cloudevents) => None,
            (None, kind) => Some(ProgramSource::Builtin(kind)),
        }
    }
}

/// A header the endpoint chose for its HMAC signature must not replace one scanhook sets.
fn check_signature_header(header: &str) -> Result<(), (&'static str, Invalid)> {
    if !is_header_name(header) {
        return Err(("signature.header", Invalid::new(format!("'{header}' is not a valid HTTP header name"))));
    }
    let lower = header.to_ascii_lowercase();
    if matches!(lower.as_str(), "content-type" | "authorization" | "host") || lower.starts_with("webhook-") {
        return Err(("signature.header", Invalid::new(format!("header '{header}' cannot carry the signature"))));
    }
    Ok(())
}

/// Where the program that shapes a body comes from.
#[derive(Debug, Clone, Copy)]
pub enum ProgramSource<'a> {
    Custom(&'a str),
    Builtin(Kind),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_documents_read_back_and_default_when_empty() {
        let empty: DeliveryFormat = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, DeliveryFormat::default());
        let juro = DeliveryFormat {
            signature: Signature::HmacSha256 {
                header: Some("X-Juro-Signature".into()),
                prefix: String::new(),
                encoding: Encoding::Hex,
            },
            header_prefix: Some("X-Juro".into()),
            ..Default::default()
        };
        let json = serde_json::to_string(&juro).unwrap();
        assert_eq!(serde_json::from_str::<DeliveryFormat>(&json).unwrap(), juro);
        assert!(json.contains(r#""scheme":"hmac-sha256""#), "{json}");
    }

    #[test]
    fn unknown_signature_fields_are_refused_on_every_scheme() {
        for scheme in ["standard", "standard-ed25519", "bearer", "none", "hmac-sha256"] {
            let header = if scheme == "hmac-sha256" { r#""header": "X-Sig", "# } else { "" };
            let json = format!(r#"{{"scheme": "{scheme}", {header}"algorithm": "ed25519"}}"#);
            let err = serde_json::from_str::<Signature>(&json).unwrap_err().to_string();
            assert!(err.contains("unknown field `algorithm`"), "{scheme}: {err}");
        }
        let ok: Signature = serde_json::from_str(r#"{"scheme": "hmac-sha256", "header": "X-Sig"}"#).unwrap();
        assert!(matches!(ok, Signature::HmacSha256 { .. }));
        assert_eq!(serde_json::from_str::<Signature>(r#"{"scheme": "bearer"}"#).unwrap(), Signature::Bearer);
        let ed25519 = r#"{"scheme":"standard-ed25519"}"#;
        assert_eq!(serde_json::from_str::<Signature>(ed25519).unwrap(), Signature::StandardEd25519);
        assert_eq!(serde_json::to_string(&Signature::StandardEd25519).unwrap(), ed25519);
    }

    #[test]
    fn bad_settings_name_their_field() {
        let field = |f: DeliveryFormat| f.validate().unwrap_err().0;
        let hmac = |header: &str| Signature::HmacSha256 {
            header: Some(header.into()),
            prefix: String::new(),
            encoding: Encoding::Hex,
        };
        assert_eq!(field(DeliveryFormat { signature: hmac("X Bad"), ..Default::default() }), "signature.header");
        assert_eq!(field(DeliveryFormat { signature: hmac("Content-Type"), ..Default::default() }), "signature.header");
        assert_eq!(field(DeliveryFormat { signature: Signature::Bearer, ..Default::default() }), "bearer_token");
        assert_eq!(field(DeliveryFormat { timeout_secs: Some(31), ..Default::default() }), "timeout");
        assert_eq!(field(DeliveryFormat { template: Some("{a: ".into()), ..Default::default() }), "template");
        assert_eq!(field(DeliveryFormat { max_in_flight: Some(0), ..Default::default() }), "max_in_flight");
        assert_eq!(field(DeliveryFormat { max_in_flight: Some(1001), ..Default::default() }), "max_in_flight");
        assert_eq!(field(DeliveryFormat { rate_limit: Some(0), ..Default::default() }), "rate_limit");
        assert_eq!(field(DeliveryFormat { rate_limit_burst: Some(5), ..Default::default() }), "rate_limit_burst");
        let limited = DeliveryFormat { rate_limit: Some(5), max_in_flight: Some(100), ..Default::default() };
        assert_eq!(limited.rate(), Some(fair::RateLimit { per_second: 5, burst: 5 }));
        assert_eq!(limited.max_in_flight(), 100);
        assert_eq!(field(DeliveryFormat { header_prefix: Some("X Y".into()), ..Default::default() }), "header_prefix");
        let cloudevents = Some(CloudEvents::default());
        assert_eq!(field(DeliveryFormat { cloudevents: cloudevents.clone(), ..Default::default() }), "cloudevents");
        let bad_source = Some(CloudEvents { source: Some("a b".into()), ..Default::default() });
        let kind = Kind::Cloudevents;
        assert_eq!(field(DeliveryFormat { kind, cloudevents: bad_source, ..Default::default() }), "cloudevents");
        let ce = DeliveryFormat { kind, cloudevents, ..Default::default() };
        assert!(ce.validate().is_ok());
        assert!(ce.own_headers("X-Scanhook").contains(&"ce-id".to_string()));
        assert!(ce.own_headers("X-Scanhook").contains(&"webhook-request-origin".to_string()));
        let ok = DeliveryFormat {
            signature: hmac("X-Hub-Signature-256"),
            bearer_token: Some("t0k".into()),
            ..Default::default()
        };
        assert!(ok.validate().is_ok());
        assert!(ok.own_headers("X-Scanhook").contains(&"authorization".to_string()));
        assert!(ok.own_headers("X-Scanhook").contains(&"x-hub-signature-256".to_string()));
    }

    #[test]
    fn an_hmac_signature_without_a_header_is_valid_and_stored_without_one() {
        let format: DeliveryFormat = serde_json::from_str(r#"{"signature": {"scheme": "hmac-sha256"}}"#).unwrap();
        assert!(format.validate().is_ok());
        assert_eq!(
            format.signature,
            Signature::HmacSha256 { header: None, prefix: String::new(), encoding: Encoding::Hex }
        );
        assert_eq!(
            serde_json::to_string(&format.signature).unwrap(),
            r#"{"scheme":"hmac-sha256","prefix":"","encoding":"hex"}"#
        );
    }
}
