//! Prefixed, time-sortable identifiers (`evt_01J…`): the prefix tells a reader what an ID
//! names, and the ULID body sorts by creation time, which is what cursors page on.

use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};

use crate::Invalid;

/// The body of a new ID. One generator for the whole process, so that IDs made in the same
/// millisecond still sort in the order they were made: a fresh ULID's random part would
/// order them at random, and lists are newest first by ID (a batch's events, a scan's
/// findings, a test's quick succession of creations).
fn next_ulid() -> ulid::Ulid {
    static GENERATOR: Mutex<ulid::Generator> = Mutex::new(ulid::Generator::new());
    let mut generator = GENERATOR.lock().unwrap_or_else(PoisonError::into_inner);
    // It fails only when 2^80 IDs were made in one millisecond; a fresh one is then fine.
    generator.generate().unwrap_or_else(|_| ulid::Ulid::new())
}

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// A new ID for an object created now.
            pub fn generate() -> Self {
                Self(format!("{}_{}", $prefix, next_ulid()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Rebuilds an ID read back from storage, where it was valid when written.
            pub fn from_trusted(raw: String) -> Self {
                Self(raw)
            }
        }

        impl FromStr for $name {
            type Err = Invalid;
            fn from_str(raw: &str) -> Result<Self, Invalid> {
                match raw.strip_prefix(concat!($prefix, "_")) {
                    Some(body) if ulid::Ulid::from_string(body).is_ok() => Ok(Self(raw.to_string())),
                    _ => Err(Invalid::new(format!(
                        "'{raw}' is not a valid {} ID (expected '{}_' followed by 26 characters)",
                        stringify!($name).trim_end_matches("Id").to_lowercase(),
                        $prefix
                    ))),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = Invalid;
            fn try_from(raw: String) -> Result<Self, Invalid> {
                raw.parse()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

prefixed_id!(/// An account: the owner of every other resource.
    AccountId, "acc");
prefixed_id!(/// An API key of an account.
    ApiKeyId, "key");
prefixed_id!(/// A webhook endpoint.
    WebhookId, "wh");
prefixed_id!(/// An event reported by a producer.
    EventId, "evt");
prefixed_id!(/// One event bound for one endpoint; stable across retries.
    DeliveryId, "dlv");
prefixed_id!(/// One HTTP request of a delivery.
    AttemptId, "atm");
prefixed_id!(/// A scanned project: a repository, a domain, a service.
    ProjectId, "proj");
prefixed_id!(/// One scan of a project.
    ScanId, "scan");
prefixed_id!(/// A finding open on a project until it is resolved.
    ViolationId, "viol");
prefixed_id!(/// An alert raised for a project (score drop, critical issues, certificates, …).
    AlertId, "alrt");
prefixed_id!(/// An entry of an account's audit log.
    AuditEntryId, "aud");

#[cfg(test)]
mod tests {
    use super::*;

    /// Thousands of IDs fall in one millisecond here; they must still sort in the order
    /// they were made, across kinds and threads (with a fresh ULID each, about half of
    /// any two in one millisecond came out of order).
    #[test]
    fn ids_made_in_one_millisecond_sort_in_the_order_they_were_made() {
        let made: Vec<String> = (0..10_000).map(|_| EventId::generate().as_str()[4..].to_string()).collect();
        assert!(made.windows(2).all(|w| w[0] < w[1]), "event IDs out of order");
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    let ids: Vec<String> = (0..2_000).map(|_| ScanId::generate().as_str()[5..].to_string()).collect();
                    ids.windows(2).all(|w| w[0] < w[1])
                })
            })
            .collect();
        assert!(threads.into_iter().all(|t| t.join().unwrap_or(false)), "scan IDs out of order within a thread");
        let after = DeliveryId::generate().as_str()[4..].to_string();
        assert!(made.last().is_some_and(|last| *last < after), "a later ID of another kind sorts after");
    }

    #[test]
    fn round_trips_and_rejects_foreign_prefixes() {
        let id = EventId::generate();
        assert!(id.as_str().starts_with("evt_"));
        assert_eq!(id.as_str().parse::<EventId>(), Ok(id.clone()));
        let err = id.as_str().replace("evt_", "wh_").parse::<EventId>().unwrap_err();
        assert!(err.0.contains("not a valid event ID"), "{err}");
        assert!("evt_nope".parse::<EventId>().is_err());
    }

    #[test]
    fn later_ids_sort_after_earlier_ones() {
        let a = DeliveryId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = DeliveryId::generate();
        assert!(a < b);
    }
}
