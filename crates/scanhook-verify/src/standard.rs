//! Standard Webhooks signatures: `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")).
//!
//! The key is the base64-decoded part of a `whsec_` secret; any other secret (one a user
//! chose) is used as its UTF-8 bytes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::VerifyError;

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

fn mac(key: &[u8], msg_id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length; new_from_slice cannot fail for it.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `webhook-signature` entry for one secret: `v1,<base64>`.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = mac(&key_bytes(secret), msg_id, timestamp, body).finalize().into_bytes();
    format!("v1,{}", B64.encode(tag))
}

/// Verifies a `webhook-signature` header (space-separated entries, any `v1` match wins;
/// other versions are ignored) and checks the timestamp against `now` within `tolerance_secs`.
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
    let timestamp: i64 = timestamp_header.trim().parse().map_err(|_| VerifyError::MalformedTimestamp)?;
    let skew = now - timestamp;
    if skew.abs() > tolerance_secs {
        return Err(VerifyError::TimestampOutOfTolerance(skew));
    }
    if signature_header.trim().is_empty() {
        return Err(VerifyError::MissingSignature);
    }
    let expected = mac(&key_bytes(secret), msg_id, timestamp, body).finalize().into_bytes();
    for entry in signature_header.split_whitespace() {
        let Some((version, value)) = entry.split_once(',') else {
            return Err(VerifyError::MalformedSignature("an entry has no version"));
        };
        if version != "v1" {
            continue;
        }
        if let Ok(candidate) = B64.decode(value)
            && bool::from(candidate.ct_eq(&expected))
        {
            return Ok(());
        }
    }
    Err(VerifyError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vectors() -> Vec<serde_json::Value> {
        let raw = include_str!("../../../testdata/signature-vectors.json");
        let all: serde_json::Value = serde_json::from_str(raw).expect("vectors parse");
        all["standard_webhooks"].as_array().cloned().unwrap_or_default()
    }

    #[test]
    fn published_vectors_sign_and_verify() {
        let cases = vectors();
        assert!(!cases.is_empty());
        for case in cases {
            let s = |k: &str| case[k].as_str().unwrap_or_default().to_string();
            let ts: i64 = s("timestamp").parse().expect("timestamp");
            let got = sign(&s("secret"), &s("msg_id"), ts, s("payload").as_bytes());
            assert_eq!(got, s("expected"), "{}", s("source"));
            let header = format!("v2,ignored {}", s("expected"));
            verify(&s("secret"), &s("msg_id"), &s("timestamp"), &header, s("payload").as_bytes(), ts, 300)
                .expect("verifies");
            assert_eq!(
                verify(&s("secret"), &s("msg_id"), &s("timestamp"), &header, b"tampered", ts, 300),
                Err(VerifyError::Mismatch)
            );
            assert!(matches!(
                verify(&s("secret"), &s("msg_id"), &s("timestamp"), &header, s("payload").as_bytes(), ts + 301, 300),
                Err(VerifyError::TimestampOutOfTolerance(301))
            ));
        }
    }

    #[test]
    fn non_whsec_secret_is_its_utf8_bytes() {
        assert_eq!(key_bytes("my-plain-secret-123"), b"my-plain-secret-123");
        assert_eq!(key_bytes("whsec_"), b"whsec_");
    }
}
