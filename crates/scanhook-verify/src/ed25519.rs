//! Standard Webhooks asymmetric signatures: `v1a,` + base64(Ed25519(secret key,
//! "{id}.{timestamp}.{body}")) in `webhook-signature`, beside `webhook-id` and
//! `webhook-timestamp` (unix seconds).
//!
//! The sender keeps the secret key (`whsk_` + base64 of the 64-byte key pair: the 32-byte
//! seed, then the public key, as the spec's reference server and libsodium write it; a
//! 32-byte seed alone is read too); receivers get only the public key (`whpk_` + base64 of
//! its 32 bytes), so none of them can sign. During a key rotation the header holds one
//! space-separated entry per key (the new one first); any `v1a` match verifies, and
//! entries of other versions are ignored. The timestamp rules are those of
//! [`standard::Verifier`](crate::standard::Verifier).
//!
//! ```
//! use scanhook_verify::ed25519::{PublicKey, SecretKey, Verifier};
//!
//! let secret = SecretKey::from_seed([7; 32]); // scanhook generates one per endpoint
//! let body = br#"{"type":"scan.completed"}"#;
//! let now = 1_700_000_000;
//! let signature = secret.sign("evt_1", now, body); // what scanhook sends: "v1a,…"
//!
//! // The receiver knows only the public key, as `GET /v1/webhooks/{id}` shows it:
//! let public_key = PublicKey::parse(&secret.public_key().to_string())?;
//! let verifier = Verifier::new(public_key); // 5 minutes of tolerance unless told otherwise
//! verifier.verify("evt_1", "1700000000", &signature, body, now)?;
//! assert!(verifier.verify("evt_1", "1700000000", &signature, b"tampered", now).is_err());
//! assert!(verifier.verify("evt_1", "1700000000", &signature, body, now + 301).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::STANDARD as B64;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};

use crate::VerifyError;
use crate::standard::{DEFAULT_TOLERANCE_SECS, check_fresh, entries, unix_now, whole_secs};

/// The prefix of a serialized secret (signing) key.
pub const SECRET_KEY_PREFIX: &str = "whsk_";
/// The prefix of a serialized public (verifying) key.
pub const PUBLIC_KEY_PREFIX: &str = "whpk_";

/// Keys written with or without `=` padding read the same.
const B64_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a text is not a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    #[error("the key does not start with {0}")]
    Prefix(&'static str),
    #[error("the part after the prefix is not base64")]
    NotBase64,
    #[error("the key is {0} bytes long, not {1}")]
    Length(usize, &'static str),
    #[error("the bytes are not an Ed25519 public key")]
    NotAPublicKey,
    #[error("the public half of the key pair does not belong to its seed")]
    MismatchedPair,
}

/// The key that signs: kept by the sender only. `Debug` does not print it.
#[derive(Clone)]
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// The key pair of a 32-byte seed (32 random bytes make a new key).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self(SigningKey::from_bytes(&seed))
    }

    /// Reads `whsk_` + base64 of the 64-byte key pair (its public half must match the
    /// seed) or of the 32-byte seed alone.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let bytes = decode(text, SECRET_KEY_PREFIX)?;
        if let Ok(seed) = <[u8; 32]>::try_from(bytes.as_slice()) {
            return Ok(Self::from_seed(seed));
        }
        let pair = <[u8; 64]>::try_from(bytes.as_slice()).map_err(|_| KeyError::Length(bytes.len(), "64 (or 32)"))?;
        SigningKey::from_keypair_bytes(&pair).map(Self).map_err(|_| KeyError::MismatchedPair)
    }

    /// `whsk_` + base64 of the 64-byte key pair.
    pub fn to_whsk(&self) -> String {
        format!("{SECRET_KEY_PREFIX}{}", B64.encode(self.0.to_keypair_bytes()))
    }

    /// The public key receivers verify with.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// The `webhook-signature` entry for this key: `v1a,<base64>`.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        let signature = self.0.sign(&signed_content(msg_id, timestamp, body));
        format!("v1a,{}", B64.encode(signature.to_bytes()))
    }
}

impl fmt::Debug for SecretKey {
    // The key is a secret: only its public half is printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey").field("public_key", &self.public_key()).finish_non_exhaustive()
    }
}

/// The `webhook-signature` header for several keys at once (a rotation): one entry per
/// key, in the order given, separated by spaces.
pub fn sign_all(keys: &[SecretKey], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let entries: Vec<String> = keys.iter().map(|key| key.sign(msg_id, timestamp, body)).collect();
    entries.join(" ")
}

/// The key that verifies: public, shown by the API, given to receivers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Reads `whpk_` + base64 of the 32-byte public key.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let bytes = decode(text, PUBLIC_KEY_PREFIX)?;
        let bytes = <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| KeyError::Length(bytes.len(), "32"))?;
        VerifyingKey::from_bytes(&bytes).map(Self).map_err(|_| KeyError::NotAPublicKey)
    }
}

/// `whpk_` + base64 of the 32 bytes.
impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PUBLIC_KEY_PREFIX}{}", B64.encode(self.0.as_bytes()))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

fn decode(text: &str, prefix: &'static str) -> Result<Vec<u8>, KeyError> {
    let encoded = text.trim().strip_prefix(prefix).ok_or(KeyError::Prefix(prefix))?;
    B64_ANY_PADDING.decode(encoded).map_err(|_| KeyError::NotBase64)
}

fn signed_content(msg_id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut content = format!("{msg_id}.{timestamp}.").into_bytes();
    content.extend_from_slice(body);
    content
}

/// Checks `v1a` deliveries for one public key.
#[derive(Debug, Clone)]
pub struct Verifier {
    key: PublicKey,
    tolerance_secs: i64,
}

impl Verifier {
    /// A verifier for `key` with the default tolerance of [`DEFAULT_TOLERANCE_SECS`].
    pub fn new(key: PublicKey) -> Self {
        Self { key, tolerance_secs: DEFAULT_TOLERANCE_SECS }
    }

    /// How far the signed timestamp may be from the receiver's clock, either way.
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance_secs = whole_secs(tolerance);
        self
    }

    /// Checks the values of `webhook-id`, `webhook-timestamp` and `webhook-signature`
    /// (pass `""` for a missing header) against the raw `body`, at `now` (unix seconds).
    /// Signatures are checked strictly (RFC 8032's checks plus no small-order keys or
    /// points), so a valid signature cannot be altered into another valid one.
    pub fn verify(
        &self,
        webhook_id: &str,
        webhook_timestamp: &str,
        webhook_signature: &str,
        body: &[u8],
        now: i64,
    ) -> Result<(), VerifyError> {
        let timestamp = check_fresh(webhook_id, webhook_timestamp, webhook_signature, now, self.tolerance_secs)?;
        let content = signed_content(webhook_id, timestamp, body);
        let mut any_v1a = false;
        for value in entries(webhook_signature, "v1a") {
            any_v1a = true;
            let Some(signature) = B64.decode(value).ok().and_then(|bytes| <[u8; 64]>::try_from(bytes).ok()) else {
                continue;
            };
            let signature = ed25519_dalek::Signature::from_bytes(&signature);
            if self.key.0.verify_strict(&content, &signature).is_ok() {
                return Ok(());
            }
        }
        if any_v1a { Err(VerifyError::Mismatch) } else { Err(VerifyError::MalformedSignature("no v1a entry")) }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_only_the_public_half() {
        let key = SecretKey::from_seed([9; 32]);
        let shown = format!("{key:?}");
        assert!(shown.contains(&key.public_key().to_string()), "{shown}");
        assert!(!shown.contains(&key.to_whsk()[SECRET_KEY_PREFIX.len()..][..20]), "{shown}");
    }

    #[test]
    fn keys_round_trip_through_their_text() {
        let key = SecretKey::from_seed([1; 32]);
        let again = SecretKey::parse(&key.to_whsk()).unwrap();
        assert_eq!(again.to_whsk(), key.to_whsk());
        assert_eq!(PublicKey::parse(&key.public_key().to_string()).unwrap(), key.public_key());
        // Without padding, and as a bare seed.
        assert_eq!(SecretKey::parse(key.to_whsk().trim_end_matches('=')).unwrap().to_whsk(), key.to_whsk());
        let seed = format!("whsk_{}", B64.encode([1u8; 32]));
        assert_eq!(SecretKey::parse(&seed).unwrap().to_whsk(), key.to_whsk());
    }
}
