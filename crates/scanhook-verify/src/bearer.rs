//! `Authorization: Bearer <token>`, the token chosen by the receiver. It proves who sent
//! the request, not what was sent: combine it with an HMAC scheme to cover the body.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::VerifyError;

/// Checks an `Authorization` header value against the token the receiver expects.
///
/// The scheme name is case-insensitive (RFC 7235); the tokens are compared through their
/// SHA-256 digests in constant time, so neither their bytes nor their length leak.
///
/// ```
/// use scanhook_verify::{VerifyError, bearer};
///
/// assert!(bearer::verify("tok_123", "Bearer tok_123").is_ok());
/// assert_eq!(bearer::verify("tok_123", "Bearer tok_124"), Err(VerifyError::Mismatch));
/// assert_eq!(bearer::verify("tok_123", "Basic dXNlcjpwYXNz"), Err(VerifyError::NotBearer));
/// ```
pub fn verify(expected_token: &str, authorization_header_value: &str) -> Result<(), VerifyError> {
    let value = authorization_header_value.trim();
    if value.is_empty() {
        return Err(VerifyError::MissingHeader("Authorization"));
    }
    let (scheme, token) = value.split_once(' ').ok_or(VerifyError::NotBearer)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(VerifyError::NotBearer);
    }
    let token = token.trim();
    if token.is_empty() || expected_token.is_empty() {
        return Err(VerifyError::Mismatch);
    }
    let given = Sha256::digest(token.as_bytes());
    let expected = Sha256::digest(expected_token.as_bytes());
    if bool::from(given.as_slice().ct_eq(expected.as_slice())) { Ok(()) } else { Err(VerifyError::Mismatch) }
}
