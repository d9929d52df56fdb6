//! Signing and verification of scanhook's webhook deliveries.
//!
//! The dispatcher signs with this crate and receivers written in Rust verify with it, so
//! both sides share one implementation. It depends on nothing else of scanhook, does no
//! I/O, and compares every signature and token in constant time.
//!
//! | scheme | headers | module |
//! | --- | --- | --- |
//! | `standard` (default) | `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>` ([Standard Webhooks](https://www.standardwebhooks.com/)), plus `X-Scanhook-Signature: sha256=<hex>` | [`standard`], [`hmac_hex`] |
//! | `standard-ed25519` | the same three headers, `webhook-signature: v1a,<base64>` (Standard Webhooks' asymmetric signature: Ed25519, verified with the endpoint's public key `whpk_…`) | [`ed25519`] |
//! | `hmac-sha256` | a header the endpoint names, value = prefix + hex or base64 HMAC of the raw body | [`hmac`] |
//! | `bearer` | `Authorization: Bearer <token>` | [`bearer`] |
//!
//! During a secret rotation a delivery carries one signature per secret (space-separated
//! in `webhook-signature`, `", "`-separated in the HMAC headers); each check accepts the
//! request if any of them matches. Only the Standard Webhooks schemes sign a timestamp, so
//! only they can refuse replays: [`standard::Verifier`] and [`ed25519::Verifier`] allow 5
//! minutes of skew by default.
//!
//! A receiver checks the three `webhook-*` header values and the raw body, exactly as
//! they arrived (parse the JSON only after the check):
//!
//! ```
//! use scanhook_verify::{VerifyError, bearer, hmac, standard};
//!
//! fn accept(headers: &[(&str, &str)], body: &[u8]) -> Result<(), VerifyError> {
//!     let header = |name: &str| {
//!         headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map_or("", |(_, v)| *v)
//!     };
//!     let verifier = standard::Verifier::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
//!     verifier.verify_now(header("webhook-id"), header("webhook-timestamp"), header("webhook-signature"), body)
//! }
//!
//! // Other schemes, for endpoints configured with them:
//! let body = b"Hello, World!";
//! let signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
//! hmac::verify("It's a Secret to Everybody", "sha256=", hmac::Encoding::Hex, signature, body)?;
//! bearer::verify("tok_chosen_by_the_receiver", "Bearer tok_chosen_by_the_receiver")?;
//! assert_eq!(accept(&[], body), Err(VerifyError::MissingHeader("webhook-id")));
//! # Ok::<(), VerifyError>(())
//! ```

pub mod bearer;
pub mod ed25519;
pub mod hmac;
pub mod hmac_hex;
pub mod standard;

/// Why a delivery did not verify. The messages name the check that failed, so a receiver
/// can log them (but should answer the sender no more than 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    #[error("the {0} header is missing or empty")]
    MissingHeader(&'static str),
    #[error("the signature header is missing or empty")]
    MissingSignature,
    #[error("the signature header is malformed: {0}")]
    MalformedSignature(&'static str),
    #[error("the timestamp header is not a whole number of seconds")]
    MalformedTimestamp,
    /// The receiver's clock minus the signed timestamp, in seconds (negative: from the future).
    #[error("the timestamp is {} s {}, beyond the tolerance", .0.unsigned_abs(), if *.0 < 0 { "in the future" } else { "old" })]
    TimestampOutOfTolerance(i64),
    #[error("the Authorization header is not a Bearer token")]
    NotBearer,
    #[error("no signature matches the payload")]
    Mismatch,
}
