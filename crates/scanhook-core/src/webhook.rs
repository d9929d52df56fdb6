//! Endpoint settings that need checking: the URL, extra headers (and which of them carry
//! credentials), and delivery states.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::Invalid;

/// An `http` or `https` URL with a host.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let url = url::Url::parse(raw).map_err(|e| Invalid::new(format!("'{raw}' is not a valid URL ({e})")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Invalid::new(format!("URL scheme must be http or https, not '{}'", url.scheme())));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(Invalid::new("URL must have a host"));
        }
        Ok(Self(url.to_string()))
    }

    pub fn from_trusted(raw: String) -> Self {
        Self(raw)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Headers scanhook sets itself; an endpoint's extra headers may not replace them, so a
/// receiver can always trust the content type and the signatures.
const RESERVED: &[&str] = &[
    "content-type",
    "content-length",
    "host",
    "connection",
    "transfer-encoding",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    // W3C Trace Context: every delivery carries its event's trace.
    "traceparent",
];
const RESERVED_PREFIX: &str = "x-scanhook-";
const MAX_HEADERS: usize = 20;
/// Longest extra header name and value (receivers reject longer lines anyway).
const MAX_HEADER_NAME: usize = 256;
const MAX_HEADER_VALUE: usize = 8 * 1024;

/// Whether `name` is an HTTP header name (an RFC 9110 token).
pub fn is_header_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// What a sensitive header's value is replaced with wherever it is shown: API answers,
/// the attempt log, the audit log.
pub const REDACTED: &str = "[redacted]";

/// Parts of header names that carry credentials by convention. A header whose lowercase
/// name contains one of them is always sensitive (`X-Api-Key`, `X-Auth-Token`, `Cookie`…).
const CREDENTIAL_WORDS: &[&str] =
    &["authorization", "cookie", "token", "secret", "key", "password", "auth", "signature", "credential", "session"];

/// Whether a header of this name carries a credential by convention (see
/// [`CREDENTIAL_WORDS`]): its value is never shown and is encrypted at rest.
pub fn is_credential_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    CREDENTIAL_WORDS.iter().any(|word| lower.contains(word))
}

/// Extra request headers of an endpoint, names kept as the user wrote them (`.0`), and
/// the lowercase names the user marked sensitive besides those [`is_credential_name`]
/// already covers (`.1`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtraHeaders(pub BTreeMap<String, String>, pub BTreeSet<String>);

impl ExtraHeaders {
    /// Checks the headers and the names marked sensitive (each must be one of them).
    pub fn parse(headers: BTreeMap<String, String>, sensitive: Vec<String>) -> Result<Self, Invalid> {
        if headers.len() > MAX_HEADERS {
            return Err(Invalid::new(format!("at most {MAX_HEADERS} extra headers are allowed")));
        }
        for (name, value) in &headers {
            if name.len() > MAX_HEADER_NAME || value.len() > MAX_HEADER_VALUE {
                return Err(Invalid::new(format!(
                    "header names are at most {MAX_HEADER_NAME} bytes and values at most {MAX_HEADER_VALUE}"
                )));
            }
            if !is_header_name(name) {
                return Err(Invalid::new(format!("'{name}' is not a valid HTTP header name")));
            }
            let lower = name.to_ascii_lowercase();
            if RESERVED.contains(&lower.as_str()) || lower.starts_with(RESERVED_PREFIX) {
                return Err(Invalid::new(format!("header '{name}' is set by scanhook and cannot be overridden")));
            }
            if value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
                return Err(Invalid::new(format!("the value of header '{name}' has control characters")));
            }
        }
        let mut marked = BTreeSet::new();
        for name in sensitive {
            if !headers.keys().any(|h| h.eq_ignore_ascii_case(&name)) {
                return Err(Invalid::new(format!("sensitive header '{name}' is not one of the extra headers")));
            }
            marked.insert(name.to_ascii_lowercase());
        }
        Ok(Self(headers, marked))
    }

    /// Whether the value of header `name` is a credential: by convention or marked so.
    pub fn is_sensitive(&self, name: &str) -> bool {
        is_credential_name(name) || self.1.contains(&name.to_ascii_lowercase())
    }

    /// The headers with every sensitive value replaced by [`REDACTED`]: what reads show.
    pub fn redacted(&self) -> BTreeMap<String, String> {
        self.0
            .iter()
            .map(|(name, value)| {
                let shown = if self.is_sensitive(name) { REDACTED.to_string() } else { value.clone() };
                (name.clone(), shown)
            })
            .collect()
    }

    /// The names of the sensitive headers, as the user wrote them.
    pub fn sensitive_names(&self) -> Vec<String> {
        self.0.keys().filter(|name| self.is_sensitive(name)).cloned().collect()
    }
}

/// An attempt's request headers as the log keeps them: `Authorization` (the bearer token)
/// and the endpoint's sensitive extra headers show [`REDACTED`]. Signature headers are
/// kept: they are HMACs of the body, made per attempt, that reveal nothing of the secret
/// and help a receiver's author compare what they compute.
pub fn redact_sent_headers(headers: Vec<(String, String)>, extras: &ExtraHeaders) -> Vec<(String, String)> {
    headers
        .into_iter()
        .map(|(name, value)| {
            let extra = extras.0.keys().any(|h| h.eq_ignore_ascii_case(&name));
            let secret = name.eq_ignore_ascii_case("authorization") || (extra && extras.is_sensitive(&name));
            (name, if secret { REDACTED.to_string() } else { value })
        })
        .collect()
}

/// The same for headers logged by older versions, whose endpoint may have changed since:
/// every name that carries a credential by convention, except signature headers (see
/// [`redact_sent_headers`]).
pub fn redact_logged_headers(headers: Vec<(String, String)>) -> Vec<(String, String)> {
    headers
        .into_iter()
        .map(|(name, value)| {
            let secret = is_credential_name(&name) && !name.to_ascii_lowercase().contains("signature");
            (name, if secret { REDACTED.to_string() } else { value })
        })
        .collect()
}

/// Why scanhook disabled an endpoint whose deliveries kept failing (shown on the endpoint
/// and in the dashboard): after `after` consecutive dead deliveries, the last with `error`.
pub fn auto_disable_reason(after: u32, error: Option<&str>) -> String {
    format!("disabled after {after} consecutive failed deliveries; last error: {}", error.unwrap_or("unknown"))
}

/// Where a delivery stands. `Pending` covers both "waiting for its next attempt" and
/// "being attempted now" (a worker holds its lease). `Held`: made while its endpoint was
/// disabled after failures, kept until the endpoint is enabled again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Pending,
    Succeeded,
    Dead,
    Held,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Dead => "dead",
            Self::Held => "held",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        match raw {
            "pending" => Ok(Self::Pending),
            "succeeded" => Ok(Self::Succeeded),
            "dead" => Ok(Self::Dead),
            "held" => Ok(Self::Held),
            other => {
                Err(Invalid::new(format!("'{other}' is not a delivery status (pending, succeeded, dead or held)")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_need_http_scheme_and_host() {
        assert!(WebhookUrl::parse("https://example.com/hook").is_ok());
        assert!(WebhookUrl::parse("http://127.0.0.1:9000/").is_ok());
        assert!(WebhookUrl::parse("ftp://example.com").unwrap_err().0.contains("'ftp'"));
        assert!(WebhookUrl::parse("not a url").is_err());
    }

    #[test]
    fn extra_headers_cannot_shadow_ours() {
        let one = |k: &str, v: &str| ExtraHeaders::parse(BTreeMap::from([(k.to_string(), v.to_string())]), vec![]);
        assert!(one("X-Team", "sec").is_ok());
        assert!(one("Content-Type", "text/plain").is_err());
        assert!(one("X-Scanhook-Signature", "x").is_err());
        assert!(one("TraceParent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").is_err());
        assert!(one("bad header", "x").is_err());
        assert!(one("X-Ok", "line\nbreak").is_err());
        assert!(one("X-Long", &"v".repeat(MAX_HEADER_VALUE)).is_ok());
        assert!(one("X-Long", &"v".repeat(MAX_HEADER_VALUE + 1)).is_err());
        assert!(one(&"X".repeat(MAX_HEADER_NAME + 1), "v").is_err());
    }

    #[test]
    fn credentials_are_sensitive_by_name_or_by_mark() {
        for name in ["Authorization", "Proxy-Authorization", "Cookie", "X-Api-Key", "X-Auth-Token", "X-Session-Id"] {
            assert!(is_credential_name(name), "{name}");
        }
        assert!(!is_credential_name("X-Team"));
        let headers = BTreeMap::from([
            ("X-Api-Key".to_string(), "k-123".to_string()),
            ("X-Tenant".to_string(), "t-456".to_string()),
            ("X-Team".to_string(), "blue".to_string()),
        ]);
        let parsed = ExtraHeaders::parse(headers.clone(), vec!["x-tenant".into()]).unwrap();
        let shown = parsed.redacted();
        assert_eq!(shown["X-Api-Key"], REDACTED);
        assert_eq!(shown["X-Tenant"], REDACTED);
        assert_eq!(shown["X-Team"], "blue");
        assert_eq!(parsed.sensitive_names(), ["X-Api-Key", "X-Tenant"]);
        assert!(ExtraHeaders::parse(headers, vec!["X-Missing".into()]).unwrap_err().0.contains("X-Missing"));
    }
}
