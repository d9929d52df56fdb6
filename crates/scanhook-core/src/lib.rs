//! scanhook's domain model: values that are valid by construction (`parse`, don't
//! validate), shared by the store, the engine and the API. Nothing here does I/O or
//! reads the clock; callers pass `now` in.

pub mod audit;
pub mod catalogue;
pub mod envelope;
pub mod event_type;
pub mod fair;
pub mod format;
pub mod ids;
pub mod json_bounds;
pub mod network;
pub mod opevents;
pub mod polite;
pub mod retention;
pub mod retry;
pub mod scan;
pub mod secret;
pub mod session;
pub mod stats;
pub mod subscription;
pub mod trace_parent;
pub mod webhook;
pub mod whole;

pub use event_type::{EventPattern, EventType};
pub use ids::{
    AccountId, AlertId, ApiKeyId, AttemptId, AuditEntryId, DeliveryId, EventId, ProjectId, ScanId, ViolationId,
    WebhookId,
};
pub use retry::RetrySchedule;
pub use secret::{ApiKey, SecretKind, WebhookSecret};
pub use webhook::{DeliveryStatus, ExtraHeaders, WebhookUrl};

/// A value that failed to parse; the message says what is wrong and is shown to users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl Invalid {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// An error and its causes on one line (`outer: inner: root`); most libraries' top-level
/// messages alone do not say why.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}
