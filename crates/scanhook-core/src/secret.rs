//! Secrets: webhook signing secrets and API keys. Neither prints itself in `Debug`.
//!
//! A webhook's secret is of the kind its signature scheme signs with ([`SecretKind`]):
//! shared with the receiver (HMAC), or an Ed25519 key pair (`whsk_…`) whose public half
//! (`whpk_…`) is all a receiver gets. A secret of one kind never signs under the other's
//! scheme: the API refuses it, and a change of scheme between kinds replaces it.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use rand::RngCore;
use scanhook_verify::ed25519::{SECRET_KEY_PREFIX, SecretKey};
use sha2::{Digest, Sha256};

use crate::Invalid;
use crate::format::Signature;

/// What a signature scheme signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// A secret the receiver knows too (the HMAC schemes; `bearer` and `none` keep one
    /// for a later change to them).
    Shared,
    /// An Ed25519 key pair: the receiver knows only the public key.
    Ed25519,
}

impl SecretKind {
    pub fn of(signature: &Signature) -> Self {
        match signature {
            Signature::StandardEd25519 => Self::Ed25519,
            _ => Self::Shared,
        }
    }
}

/// An endpoint's signing secret. Shared: generated as `whsec_` + base64 of 24 random bytes,
/// or chosen by the user (16 to 128 printable characters, not `whsk_…`). Ed25519: a
/// `whsk_…` key pair, generated or the user's (one moved from another Standard Webhooks
/// sender, so its receivers keep their public key).
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    pub fn generate() -> Self {
        let mut key = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut key);
        Self(format!("whsec_{}", B64.encode(key)))
    }

    /// A new secret of `kind`.
    pub fn generate_for(kind: SecretKind) -> Self {
        match kind {
            SecretKind::Shared => Self::generate(),
            SecretKind::Ed25519 => {
                let mut seed = [0u8; 32];
                rand::thread_rng().fill_bytes(&mut seed);
                Self(SecretKey::from_seed(seed).to_whsk())
            }
        }
    }

    /// A user's secret for a scheme that signs with `kind`.
    pub fn parse_for(raw: &str, kind: SecretKind) -> Result<Self, Invalid> {
        match kind {
            SecretKind::Shared => Self::parse(raw),
            SecretKind::Ed25519 => SecretKey::parse(raw).map(|key| Self(key.to_whsk())).map_err(|e| {
                Invalid::new(format!(
                    "the standard-ed25519 scheme signs with an Ed25519 key: whsk_ and the base64 of its \
                     64-byte key pair (or 32-byte seed) ({e})"
                ))
            }),
        }
    }

    /// A user's shared secret.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        if raw.starts_with(SECRET_KEY_PREFIX) {
            // Given to an HMAC scheme, an Ed25519 secret key would be sent to receivers.
            return Err(Invalid::new(
                "a whsk_ secret is an Ed25519 signing key: it signs only with the standard-ed25519 scheme",
            ));
        }
        let len = raw.chars().count();
        if !(16..=128).contains(&len) {
            return Err(Invalid::new(format!("secret must be 16 to 128 characters long, not {len}")));
        }
        if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(Invalid::new("secret must be printable, without spaces or control characters"));
        }
        Ok(Self(raw.to_string()))
    }

    pub fn from_trusted(raw: String) -> Self {
        Self(raw)
    }

    /// The kind of this secret: an Ed25519 key pair, or a shared secret.
    pub fn kind(&self) -> SecretKind {
        if self.signing_key().is_some() { SecretKind::Ed25519 } else { SecretKind::Shared }
    }

    /// The Ed25519 key this secret is, if it is one.
    pub fn signing_key(&self) -> Option<SecretKey> {
        SecretKey::parse(&self.0).ok()
    }

    /// The public key (`whpk_…`) of an Ed25519 secret: not a secret, shown on every read.
    pub fn public_key(&self) -> Option<String> {
        self.signing_key().map(|key| key.public_key().to_string())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(…)")
    }
}

/// An API key as the client sends it (`shk_…`). Only its [`ApiKey::hash`] is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn generate() -> Self {
        let mut raw = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut raw);
        Self(format!("shk_{}", B64URL.encode(raw)))
    }

    /// Any non-empty key without whitespace is accepted (an operator may set their own).
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        if raw.len() < 16 || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Invalid::new("API key must be at least 16 characters, without spaces"));
        }
        Ok(Self(raw.to_string()))
    }

    /// SHA-256 hex of the key. Keys are long random strings, so a fast hash is enough:
    /// there is nothing to brute-force that a slow hash would protect.
    pub fn hash(&self) -> String {
        sha256_hex(self.0.as_bytes())
    }

    /// The first characters, to tell keys apart in listings.
    pub fn prefix(&self) -> String {
        self.0.chars().take(8).collect()
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({}…)", self.prefix())
    }
}

/// Lowercase hex SHA-256, for fingerprints of requests and keys.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secret_is_whsec_with_24_bytes() {
        let s = WebhookSecret::generate();
        let body = s.expose().strip_prefix("whsec_").unwrap();
        assert_eq!(B64.decode(body).unwrap().len(), 24);
        assert_eq!(format!("{s:?}"), "WebhookSecret(…)");
    }

    #[test]
    fn user_secrets_are_checked() {
        assert!(WebhookSecret::parse("your-webhook-secret").is_ok());
        assert!(WebhookSecret::parse("short").unwrap_err().0.contains("16 to 128"));
        assert!(WebhookSecret::parse("has a space in it!!").is_err());
        assert!(WebhookSecret::parse(&"x".repeat(129)).is_err());
    }

    #[test]
    fn each_kind_takes_only_its_own_secrets() {
        let key = WebhookSecret::generate_for(SecretKind::Ed25519);
        assert!(key.expose().starts_with("whsk_"), "{key:?}");
        assert_eq!(key.kind(), SecretKind::Ed25519);
        assert!(key.public_key().unwrap().starts_with("whpk_"));
        assert_ne!(key, WebhookSecret::generate_for(SecretKind::Ed25519));
        assert_eq!(format!("{key:?}"), "WebhookSecret(…)");

        let shared = WebhookSecret::generate_for(SecretKind::Shared);
        assert_eq!((shared.kind(), shared.public_key()), (SecretKind::Shared, None));
        assert_eq!(WebhookSecret::parse("your-webhook-secret").unwrap().kind(), SecretKind::Shared);

        // An Ed25519 key is refused as a shared secret, and a shared one as a key.
        let err = WebhookSecret::parse_for(key.expose(), SecretKind::Shared).unwrap_err().0;
        assert!(err.contains("standard-ed25519"), "{err}");
        assert!(WebhookSecret::parse("whsk_anything-else-at-all").is_err());
        for shared in [shared.expose(), "your-webhook-secret", "whsk_AAAA"] {
            let err = WebhookSecret::parse_for(shared, SecretKind::Ed25519).unwrap_err().0;
            assert!(err.contains("whsk_"), "{err}");
        }
        // A seed alone reads too, and is kept as the whole key pair.
        let seed = format!("whsk_{}", B64.encode([4u8; 32]));
        let from_seed = WebhookSecret::parse_for(&seed, SecretKind::Ed25519).unwrap();
        assert_eq!(B64.decode(&from_seed.expose()["whsk_".len()..]).unwrap().len(), 64);
    }

    #[test]
    fn schemes_choose_their_kind() {
        assert_eq!(SecretKind::of(&Signature::StandardEd25519), SecretKind::Ed25519);
        for shared in [Signature::Standard, Signature::Bearer, Signature::None] {
            assert_eq!(SecretKind::of(&shared), SecretKind::Shared);
        }
    }

    #[test]
    fn api_key_hash_is_stable_and_hides_the_key() {
        let k = ApiKey::parse("shk_test_key_0123456789").unwrap();
        assert_eq!(k.hash(), ApiKey::parse("shk_test_key_0123456789").unwrap().hash());
        assert_eq!(k.hash().len(), 64);
        assert!(!format!("{k:?}").contains("0123456789"));
    }
}
