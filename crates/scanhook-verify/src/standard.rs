//! Standard Webhooks signatures: `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))
//! in `webhook-signature`, beside `webhook-id` and `webhook-timestamp` (unix seconds).
//!
//! The key is the base64-decoded part of a `whsec_` secret; any other secret (one a user
//! chose) is used as its UTF-8 bytes. During a secret rotation the header holds one
//! space-separated entry per secret (the new one first); any `v1` match verifies, and
//! entries of other versions are ignored.
//!
//! A receiver builds a [`Verifier`] once and checks each request with it:
//!
//! ```
//! use scanhook_verify::standard::{self, Verifier};
//!
//! let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
//! let body = br#"{"type":"scan.completed"}"#;
//! let now = 1_700_000_000;
//! let signature = standard::sign(secret, "evt_1", now, body); // what scanhook sends
//!
//! let verifier = Verifier::new(secret); // 5 minutes of tolerance unless told otherwise
//! // With the header values of the request (`verify_now` reads the system clock):
//! verifier.verify("evt_1", "1700000000", &signature, body, now)?;
//! assert!(verifier.verify("evt_1", "1700000000", &signature, b"tampered", now).is_err());
//! assert!(verifier.verify("evt_1", "1700000000", &signature, body, now + 301).is_err());
//! # Ok::<(), scanhook_verify::VerifyError>(())
//! ```

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use subtle::ConstantTimeEq;

use crate::VerifyError;
use crate::hmac::tag;

/// Default tolerance between the signed timestamp and the receiver's clock.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// The HMAC key a secret stands for.
pub fn key_bytes(secret: &str) -> Vec<u8> {
    if let Some(encoded) = secret.strip_prefix("whsec_")
        && let Ok(key) = B64.decode(encoded)
        && !key.is_empty()
    {
        return key;
    }
    secret.as_bytes().to_vec()
}

fn signed_tag(key: &[u8], msg_id: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
    tag(key, &[msg_id.as_bytes(), b".", timestamp.to_string().as_bytes(), b".", body])
}

/// The `webhook-signature` entry for one secret: `v1,<base64>`.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    format!("v1,{}", B64.encode(signed_tag(&key_bytes(secret), msg_id, timestamp, body)))
}

/// The `webhook-signature` header for several secrets at once (a rotation): one entry
/// per secret, in the order given, separated by spaces.
pub fn sign_all<S: AsRef<str>>(secrets: &[S], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let entries: Vec<String> = secrets.iter().map(|s| sign(s.as_ref(), msg_id, timestamp, body)).collect();
    entries.join(" ")
}

/// Verifies a delivery with a tolerance in seconds; [`Verifier`] is the same check with
/// the key decoded once.
///
/// ```
/// use scanhook_verify::standard;
///
/// let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// let body = br#"{"test": 2432232314}"#;
/// let header = standard::sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
/// assert_eq!(header, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
/// standard::verify(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", &header, body, 1614265330, 300)
///     .expect("a fresh, untampered delivery verifies");
/// ```
pub fn verify(
    secret: &str,
    msg_id: &str,
    timestamp_header: &str,
    signature_header: &str,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), VerifyError> {
    Verifier { key: key_bytes(secret), tolerance_secs }.verify(msg_id, timestamp_header, signature_header, body, now)
}

/// Checks Standard Webhooks deliveries for one secret.
#[derive(Clone)]
pub struct Verifier {
    key: Vec<u8>,
    tolerance_secs: i64,
}

impl fmt::Debug for Verifier {
    // The key is a secret: never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier").field("tolerance_secs", &self.tolerance_secs).finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier for `secret` (a `whsec_…` secret or any other string) with the default
    /// tolerance of [`DEFAULT_TOLERANCE_SECS`].
    pub fn new(secret: &str) -> Self {
        Self { key: key_bytes(secret), tolerance_secs: DEFAULT_TOLERANCE_SECS }
    }

    /// How far the signed timestamp may be from the receiver's clock, either way.
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance_secs = whole_secs(tolerance);
        self
    }

    /// Checks the values of `webhook-id`, `webhook-timestamp` and `webhook-signature`
    /// (pass `""` for a missing header) against the raw `body`, at `now` (unix seconds).
    pub fn verify(
        &self,
        webhook_id: &str,
        webhook_timestamp: &str,
        webhook_signature: &str,
        body: &[u8],
        now: i64,
    ) -> Result<(), VerifyError> {
        let timestamp = check_fresh(webhook_id, webhook_timestamp, webhook_signature, now, self.tolerance_secs)?;
        let expected = signed_tag(&self.key, webhook_id, timestamp, body);
        let mut any_v1 = false;
        for value in entries(webhook_signature, "v1") {
            any_v1 = true;
            if let Ok(candidate) = B64.decode(value)
                && bool::from(candidate.as_slice().ct_eq(&expected))
            {
                return Ok(());
            }
        }
        if any_v1 { Err(VerifyError::Mismatch) } else { Err(VerifyError::MalformedSignature("no v1 entry")) }
    }

    /// [`Verifier::verify`] at the system clock's time.
    pub fn verify_now(
        &self,
        webhook_id: &str,
        webhook_timestamp: &str,
        webhook_signature: &str,
        body: &[u8],
    ) -> Result<(), VerifyError> {
        self.verify(webhook_id, webhook_timestamp, webhook_signature, body, unix_now())
    }
}

/// The checks every Standard Webhooks scheme makes before its signatures: the three
/// headers are there, and the timestamp is within `tolerance_secs` of `now`. Returns the
/// timestamp.
pub(crate) fn check_fresh(
    webhook_id: &str,
    webhook_timestamp: &str,
    webhook_signature: &str,
    now: i64,
    tolerance_secs: i64,
) -> Result<i64, VerifyError> {
    if webhook_id.trim().is_empty() {
        return Err(VerifyError::MissingHeader("webhook-id"));
    }
    let webhook_timestamp = webhook_timestamp.trim();
    if webhook_timestamp.is_empty() {
        return Err(VerifyError::MissingHeader("webhook-timestamp"));
    }
    let timestamp: i64 = webhook_timestamp.parse().map_err(|_| VerifyError::MalformedTimestamp)?;
    let skew = now.saturating_sub(timestamp);
    if skew.saturating_abs() > tolerance_secs {
        return Err(VerifyError::TimestampOutOfTolerance(skew));
    }
    if webhook_signature.trim().is_empty() {
        return Err(VerifyError::MissingSignature);
    }
    Ok(timestamp)
}

/// The values of the `webhook-signature` entries of one version (`v1`, `v1a`). Entries of
/// other versions, or without one, are someone else's to read.
pub(crate) fn entries<'a>(webhook_signature: &'a str, version: &'a str) -> impl Iterator<Item = &'a str> {
    webhook_signature.split_whitespace().filter_map(move |entry| match entry.split_once(',') {
        Some((v, value)) if v == version => Some(value),
        _ => None,
    })
}

/// A tolerance in whole seconds.
pub(crate) fn whole_secs(tolerance: Duration) -> i64 {
    i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX)
}

/// The system clock in unix seconds, for the `verify_now` methods.
pub(crate) fn unix_now() -> i64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    i64::try_from(now).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_whsec_secret_is_its_utf8_bytes() {
        assert_eq!(key_bytes("my-plain-secret-123"), b"my-plain-secret-123");
        assert_eq!(key_bytes("whsec_"), b"whsec_");
        assert_eq!(key_bytes("whsec_not base64!"), b"whsec_not base64!");
    }

    #[test]
    fn debug_hides_the_key() {
        let shown = format!("{:?}", Verifier::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
        assert!(!shown.contains("MfKQ") && !shown.contains("key"), "{shown}");
    }
}
