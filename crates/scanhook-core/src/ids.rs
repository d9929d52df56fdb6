//! Prefixed, time-sortable identifiers (`evt_01J…`): the prefix tells a reader what an ID
//! names, and the ULID body sorts by creation time, which is what cursors page on.

use std::fmt;
use std::str::FromStr;

use crate::Invalid;

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
                Self(format!("{}_{}", $prefix, ulid::Ulid::new()))
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
