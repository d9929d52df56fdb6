//! Hex HMAC-SHA256 of the raw body behind an optional prefix (`sha256=`): the
//! `X-Scanhook-Signature` header of the `standard` scheme. A shorthand for
//! [`crate::hmac`] with [`Encoding::Hex`], kept because the sender and receivers call it.

use crate::VerifyError;
use crate::hmac::{self, Encoding};

/// `prefix` + lowercase hex HMAC-SHA256 of `body`, keyed by `secret`'s UTF-8 bytes.
pub fn sign(secret: &str, prefix: &str, body: &[u8]) -> String {
    hmac::sign(secret, prefix, Encoding::Hex, body)
}

/// Verifies a header value made by [`sign`] (or a `", "`-separated list of them during a
/// rotation) in constant time; hex is case-insensitive.
///
/// ```
/// use scanhook_verify::hmac_hex;
///
/// let header = hmac_hex::sign("s3cret", "sha256=", b"{}");
/// assert!(hmac_hex::verify("s3cret", "sha256=", &header, b"{}").is_ok());
/// assert!(hmac_hex::verify("other", "sha256=", &header, b"{}").is_err());
/// ```
pub fn verify(secret: &str, prefix: &str, header: &str, body: &[u8]) -> Result<(), VerifyError> {
    hmac::verify(secret, prefix, Encoding::Hex, header, body)
}
