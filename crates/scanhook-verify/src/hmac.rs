//! HMAC-SHA256 of the raw body, keyed by the secret string's UTF-8 bytes, encoded as hex
//! or base64 behind an optional prefix such as `sha256=` — the `hmac-sha256` scheme, and
//! what GitHub (`X-Hub-Signature-256`), Juro, ComplianceLayer and Cortex receivers compute.
//!
//! During a secret rotation the header holds one value per secret, separated by `", "`
//! (the new secret first); [`verify`] accepts the header if any value matches.
//!
//! ```
//! use scanhook_verify::hmac::{self, Encoding};
//!
//! let body = b"Hello, World!";
//! let header = hmac::sign("It's a Secret to Everybody", "sha256=", Encoding::Hex, body);
//! assert_eq!(header, "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
//! hmac::verify("It's a Secret to Everybody", "sha256=", Encoding::Hex, &header, body)?;
//! # Ok::<(), scanhook_verify::VerifyError>(())
//! ```

use ::hmac::{Hmac, Mac};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::VerifyError;

/// How the 32-byte tag is written in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Lowercase hex (verification accepts either case).
    Hex,
    /// Standard base64 with padding.
    Base64,
}

/// Separates the values of a header signed with several secrets.
pub const LIST_SEPARATOR: &str = ", ";

pub(crate) fn tag(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length; new_from_slice cannot fail for it.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

fn encode(bytes: &[u8], encoding: Encoding) -> String {
    match encoding {
        Encoding::Base64 => B64.encode(bytes),
        Encoding::Hex => {
            const DIGITS: &[u8; 16] = b"0123456789abcdef";
            let mut out = String::with_capacity(bytes.len() * 2);
            for b in bytes {
                out.push(DIGITS[(b >> 4) as usize] as char);
                out.push(DIGITS[(b & 0x0f) as usize] as char);
            }
            out
        }
    }
}

fn decode(text: &str, encoding: Encoding) -> Option<Vec<u8>> {
    match encoding {
        Encoding::Base64 => B64.decode(text).ok(),
        Encoding::Hex => {
            let digits = text.as_bytes();
            if digits.len() % 2 != 0 {
                return None;
            }
            let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
            digits.chunks_exact(2).map(|pair| Some((nibble(pair[0])? << 4) | nibble(pair[1])?)).collect()
        }
    }
}

/// `prefix` + the encoded HMAC-SHA256 of `body` keyed by `secret`'s UTF-8 bytes.
pub fn sign(secret: &str, prefix: &str, encoding: Encoding, body: &[u8]) -> String {
    format!("{prefix}{}", encode(&tag(secret.as_bytes(), &[body]), encoding))
}

/// The header value for several secrets at once (a rotation): one value per secret, in
/// the order given, joined by [`LIST_SEPARATOR`].
pub fn sign_all<S: AsRef<str>>(secrets: &[S], prefix: &str, encoding: Encoding, body: &[u8]) -> String {
    let values: Vec<String> = secrets.iter().map(|s| sign(s.as_ref(), prefix, encoding, body)).collect();
    values.join(LIST_SEPARATOR)
}

/// Verifies a header value made by [`sign`] or [`sign_all`]: succeeds if any of its
/// comma-separated values matches, compared in constant time.
///
/// Errors: [`VerifyError::MissingSignature`] for an empty header,
/// [`VerifyError::MalformedSignature`] when no value has the prefix and a decodable tag,
/// [`VerifyError::Mismatch`] when well-formed values were signed with another secret or
/// over other bytes.
pub fn verify(
    secret: &str,
    prefix: &str,
    encoding: Encoding,
    header_value: &str,
    body: &[u8],
) -> Result<(), VerifyError> {
    if header_value.trim().is_empty() {
        return Err(VerifyError::MissingSignature);
    }
    let expected = tag(secret.as_bytes(), &[body]);
    let mut well_formed = false;
    for value in header_value.split(',').map(str::trim).filter(|v| !v.is_empty()) {
        let Some(candidate) = value.strip_prefix(prefix).and_then(|encoded| decode(encoded, encoding)) else {
            continue;
        };
        well_formed = true;
        if bool::from(candidate.as_slice().ct_eq(&expected)) {
            return Ok(());
        }
    }
    if well_formed {
        Err(VerifyError::Mismatch)
    } else {
        Err(VerifyError::MalformedSignature(match encoding {
            Encoding::Hex => "no value is the expected prefix followed by a hex HMAC",
            Encoding::Base64 => "no value is the expected prefix followed by a base64 HMAC",
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_every_byte() {
        let bytes: Vec<u8> = (0..=255).collect();
        let text = encode(&bytes, Encoding::Hex);
        assert_eq!(decode(&text, Encoding::Hex), Some(bytes.clone()));
        assert_eq!(decode(&text.to_uppercase(), Encoding::Hex), Some(bytes));
        assert_eq!(decode("abc", Encoding::Hex), None);
        assert_eq!(decode("zz", Encoding::Hex), None);
        assert_eq!(decode("+1", Encoding::Hex), None);
    }
}
