//! Hex HMAC-SHA256 of the raw body, keyed by the secret's UTF-8 bytes, with an optional
//! prefix such as `sha256=` — what the receivers of GitHub, Juro, ComplianceLayer and
//! Cortex already compute.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::VerifyError;

fn tag(secret: &str, body: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0x0f) as usize] as char);
    }
    out
}

/// `prefix` + lowercase hex HMAC-SHA256 of `body`.
pub fn sign(secret: &str, prefix: &str, body: &[u8]) -> String {
    format!("{prefix}{}", to_hex(&tag(secret, body)))
}

/// Verifies a header value produced by [`sign`] in constant time (hex case-insensitive).
pub fn verify(secret: &str, prefix: &str, header: &str, body: &[u8]) -> Result<(), VerifyError> {
    let header = header.trim();
    if header.is_empty() {
        return Err(VerifyError::MissingSignature);
    }
    let Some(hex) = header.strip_prefix(prefix) else {
        return Err(VerifyError::MalformedSignature("the expected prefix is missing"));
    };
    let expected = to_hex(&tag(secret, body));
    if bool::from(hex.to_ascii_lowercase().as_bytes().ct_eq(expected.as_bytes())) {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_hex_vectors() {
        let raw = include_str!("../../../testdata/signature-vectors.json");
        let all: serde_json::Value = serde_json::from_str(raw).expect("vectors parse");
        let cases = all["hmac_sha256_hex"].as_array().cloned().unwrap_or_default();
        assert!(!cases.is_empty());
        for case in cases {
            let s = |k: &str| case[k].as_str().unwrap_or_default().to_string();
            assert_eq!(sign(&s("secret"), &s("prefix"), s("payload").as_bytes()), s("expected"));
            verify(&s("secret"), &s("prefix"), &s("expected"), s("payload").as_bytes()).expect("verifies");
            assert_eq!(verify(&s("secret"), &s("prefix"), &s("expected"), b"other"), Err(VerifyError::Mismatch));
        }
    }
}
