//! Signing and verification of webhook deliveries.
//!
//! The dispatcher signs with this crate and receivers written in Rust verify with it,
//! so both sides share one implementation. It depends on nothing else of scanhook and
//! does no I/O.
//!
//! Two schemes exist today:
//! - [`standard`]: [Standard Webhooks](https://www.standardwebhooks.com/) —
//!   `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64>` headers.
//! - [`hmac_hex`]: a hex HMAC-SHA256 of the raw body, optionally prefixed (`sha256=`),
//!   as GitHub, Juro, ComplianceLayer and Cortex receivers compute it.

pub mod hmac;
pub mod hmac_hex;
pub mod standard;

/// Why a delivery did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the signature header is missing or empty")]
    MissingSignature,
    #[error("the signature header is malformed: {0}")]
    MalformedSignature(&'static str),
    #[error("the timestamp header is not a whole number of seconds")]
    MalformedTimestamp,
    #[error("the timestamp is {0} s away from now, beyond the tolerance")]
    TimestampOutOfTolerance(i64),
    #[error("no signature matches the payload")]
    Mismatch,
}
