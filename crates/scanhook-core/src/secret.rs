//! Secrets: webhook signing secrets and API keys. Neither prints itself in `Debug`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::Invalid;

/// An endpoint's signing secret: generated as `whsec_` + base64 of 24 random bytes, or
/// chosen by the user (16 to 128 printable characters).
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    pub fn generate() -> Self {
        let mut key = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut key);
        Self(format!("whsec_{}", B64.encode(key)))
    }

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
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
    fn api_key_hash_is_stable_and_hides_the_key() {
        let k = ApiKey::parse("shk_test_key_0123456789").unwrap();
        assert_eq!(k.hash(), ApiKey::parse("shk_test_key_0123456789").unwrap().hash());
        assert_eq!(k.hash().len(), 64);
        assert!(!format!("{k:?}").contains("0123456789"));
    }
}
