//! Endpoint settings that need checking: the URL, extra headers, and delivery states.

use std::collections::BTreeMap;
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

/// Extra request headers of an endpoint, names kept as the user wrote them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtraHeaders(pub BTreeMap<String, String>);

impl ExtraHeaders {
    pub fn parse(headers: BTreeMap<String, String>) -> Result<Self, Invalid> {
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
        Ok(Self(headers))
    }
}

/// Where a delivery stands. `Pending` covers both "waiting for its next attempt" and
/// "being attempted now" (a worker holds its lease).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Pending,
    Succeeded,
    Dead,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Dead => "dead",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        match raw {
            "pending" => Ok(Self::Pending),
            "succeeded" => Ok(Self::Succeeded),
            "dead" => Ok(Self::Dead),
            other => Err(Invalid::new(format!("'{other}' is not a delivery status (pending, succeeded or dead)"))),
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
        let one = |k: &str, v: &str| BTreeMap::from([(k.to_string(), v.to_string())]);
        assert!(ExtraHeaders::parse(one("X-Team", "sec")).is_ok());
        assert!(ExtraHeaders::parse(one("Content-Type", "text/plain")).is_err());
        assert!(ExtraHeaders::parse(one("X-Scanhook-Signature", "x")).is_err());
        assert!(ExtraHeaders::parse(one("bad header", "x")).is_err());
        assert!(ExtraHeaders::parse(one("X-Ok", "line\nbreak")).is_err());
        assert!(ExtraHeaders::parse(one("X-Long", &"v".repeat(MAX_HEADER_VALUE))).is_ok());
        assert!(ExtraHeaders::parse(one("X-Long", &"v".repeat(MAX_HEADER_VALUE + 1))).is_err());
        assert!(ExtraHeaders::parse(one(&"X".repeat(MAX_HEADER_NAME + 1), "v")).is_err());
    }
}
