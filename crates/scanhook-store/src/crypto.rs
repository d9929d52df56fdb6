//! Secrets at rest. [`SecretBox`] seals text with AES-256-GCM under the deployment's key
//! (a fresh random nonce per value) into `enc:v1:<base64 of nonce ‖ ciphertext ‖ tag>`,
//! and opens it again. Backend-independent: a backend stores only sealed text for endpoint
//! secrets, bearer tokens and sensitive header values, and opens it when it reads them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use scanhook_core::ExtraHeaders;

/// What every sealed value starts with; the version names the cipher and layout.
pub const SEALED_PREFIX: &str = "enc:v1:";
const NONCE_LEN: usize = 12;

/// A value sealed under the key, stored once per database so that a start with another
/// key stops at once (instead of signing with garbage).
pub const KEY_CHECK: &str = "scanhook key check";

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the encryption key must be base64 of 32 bytes, such as `openssl rand -base64 32` prints ({0})")]
    BadKey(String),
    #[error("a sealed value does not open with this encryption key (another key, or damaged data)")]
    Open,
}

/// The deployment's encryption key, ready to seal and open. Never prints itself.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl SecretBox {
    pub fn new(key: &[u8; 32]) -> Self {
        Self { cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)) }
    }

    /// A key given as base64 of 32 bytes (`SCANHOOK_ENCRYPTION_KEY`, the key file).
    pub fn from_base64(raw: &str) -> Result<Self, CryptoError> {
        let bytes = B64.decode(raw.trim()).map_err(|e| CryptoError::BadKey(e.to_string()))?;
        let key: [u8; 32] =
            bytes.try_into().map_err(|b: Vec<u8>| CryptoError::BadKey(format!("it decodes to {} bytes", b.len())))?;
        Ok(Self::new(&key))
    }

    /// A new random key, as base64.
    pub fn generate_key() -> String {
        B64.encode(Aes256Gcm::generate_key(&mut OsRng))
    }

    /// A box with a random key, for tests and throwaway stores.
    pub fn random() -> Self {
        Self { cipher: Aes256Gcm::new(&Aes256Gcm::generate_key(&mut OsRng)) }
    }

    pub fn seal(&self, plaintext: &str) -> String {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        // Encryption fails only for inputs of gigabytes; every secret here is bounded.
        let sealed = self.cipher.encrypt(&nonce, plaintext.as_bytes()).expect("AES-GCM encrypts bounded input");
        let mut raw = nonce.to_vec();
        raw.extend_from_slice(&sealed);
        format!("{SEALED_PREFIX}{}", B64.encode(raw))
    }

    pub fn open(&self, sealed: &str) -> Result<String, CryptoError> {
        let body = sealed.strip_prefix(SEALED_PREFIX).ok_or(CryptoError::Open)?;
        let raw = B64.decode(body).map_err(|_| CryptoError::Open)?;
        if raw.len() < NONCE_LEN {
            return Err(CryptoError::Open);
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        let plain = self.cipher.decrypt(Nonce::from_slice(nonce), ciphertext).map_err(|_| CryptoError::Open)?;
        String::from_utf8(plain).map_err(|_| CryptoError::Open)
    }

    pub fn is_sealed(text: &str) -> bool {
        text.starts_with(SEALED_PREFIX)
    }
}

/// Why a stored document could not be sealed or opened: it is not the JSON it should be,
/// or a value in it does not open.
pub type DocumentError = Box<dyn std::error::Error + Send + Sync>;

/// The documents whose secret parts are sealed, for every backend: SQLite calls these from
/// SQL functions (`sqlite/sealed.rs`), PostgreSQL before and after its queries, so both
/// store the same sealed text.
impl SecretBox {
    /// A stored `DeliveryFormat` document with its `bearer_token` sealed.
    pub fn seal_format(&self, raw: &str) -> Result<String, DocumentError> {
        map_token(raw, |token| Ok(self.seal(token)))
    }

    /// A stored `DeliveryFormat` document with its `bearer_token` opened.
    pub fn open_format(&self, raw: &str) -> Result<String, DocumentError> {
        map_token(raw, |token| Ok(self.open(token)?))
    }

    /// Extra headers (a JSON object) with the values of sensitive ones sealed
    /// (`ExtraHeaders::is_sensitive`; `marked` is the JSON list of names the user marked).
    /// A value that happens to look sealed is sealed too, so opening never mistakes
    /// plaintext for ciphertext.
    pub fn seal_headers(&self, raw: &str, marked: &str) -> Result<String, DocumentError> {
        let headers: BTreeMap<String, String> = serde_json::from_str(raw)?;
        let marked: BTreeSet<String> = serde_json::from_str(marked)?;
        let rules = ExtraHeaders(BTreeMap::new(), marked);
        let sealed: BTreeMap<String, String> = headers
            .into_iter()
            .map(|(name, value)| {
                let seal = rules.is_sensitive(&name) || SecretBox::is_sealed(&value);
                let value = if seal { self.seal(&value) } else { value };
                (name, value)
            })
            .collect();
        Ok(serde_json::to_string(&sealed)?)
    }

    /// Extra headers (a JSON object) with every sealed value opened.
    pub fn open_headers(&self, raw: &str) -> Result<String, DocumentError> {
        let mut headers: BTreeMap<String, String> = serde_json::from_str(raw)?;
        for value in headers.values_mut() {
            if SecretBox::is_sealed(value) {
                *value = self.open(value)?;
            }
        }
        Ok(serde_json::to_string(&headers)?)
    }
}

fn map_token(raw: &str, f: impl Fn(&str) -> Result<String, DocumentError>) -> Result<String, DocumentError> {
    let mut doc: serde_json::Value = serde_json::from_str(raw)?;
    if let Some(serde_json::Value::String(token)) = doc.get_mut("bearer_token") {
        *token = f(token)?;
    }
    Ok(serde_json::to_string(&doc)?)
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBox(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_text_opens_with_its_key_only() {
        let key = SecretBox::random();
        let sealed = key.seal("whsec_abc");
        assert!(SecretBox::is_sealed(&sealed));
        assert!(!sealed.contains("whsec_abc"));
        assert_eq!(key.open(&sealed).unwrap(), "whsec_abc");
        assert!(matches!(SecretBox::random().open(&sealed), Err(CryptoError::Open)));
        assert!(matches!(key.open("whsec_abc"), Err(CryptoError::Open)));
    }

    #[test]
    fn each_seal_has_its_own_nonce() {
        let key = SecretBox::random();
        assert_ne!(key.seal("same"), key.seal("same"));
    }

    #[test]
    fn keys_are_base64_of_32_bytes() {
        let raw = SecretBox::generate_key();
        let key = SecretBox::from_base64(&raw).unwrap();
        assert_eq!(SecretBox::from_base64(&raw).unwrap().open(&key.seal("x")).unwrap(), "x");
        let short = SecretBox::from_base64("c2hvcnQ=").unwrap_err().to_string();
        assert!(short.contains("base64 of 32 bytes") && short.contains("5 bytes"), "{short}");
        assert!(SecretBox::from_base64("not base64!").is_err());
        assert_eq!(format!("{key:?}"), "SecretBox(…)");
    }
}
