//! Event types (`scan.completed`) and the patterns endpoints subscribe with
//! (`scan.completed`, `scan.*`, `*`).

use std::fmt;

use crate::Invalid;

const MAX_LEN: usize = 128;

fn valid_segments(raw: &str) -> bool {
    raw.split('.').all(|segment| {
        !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    })
}

/// An event type: dot-separated segments of `[a-z0-9_]`, at least two
/// (`^[a-z0-9_]+(\.[a-z0-9_]+)+$`).
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventType(String);

impl EventType {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        if raw.len() > MAX_LEN {
            return Err(Invalid::new(format!("event type is longer than {MAX_LEN} characters")));
        }
        if raw.contains('.') && valid_segments(raw) {
            Ok(Self(raw.to_string()))
        } else {
            Err(Invalid::new(format!(
                "'{raw}' is not a valid event type: use dot-separated lowercase segments of a-z, 0-9 and _, such as 'scan.completed'"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn from_trusted(raw: String) -> Self {
        Self(raw)
    }
}

impl TryFrom<String> for EventType {
    type Error = Invalid;
    fn try_from(raw: String) -> Result<Self, Invalid> {
        Self::parse(&raw)
    }
}

impl From<EventType> for String {
    fn from(t: EventType) -> String {
        t.0
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What an endpoint subscribes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventPattern {
    /// `*`: every event.
    All,
    /// `scan.*`: every type that starts with `scan.` (at any depth).
    Prefix(String),
    /// `scan.completed`: that type only.
    Exact(String),
}

impl EventPattern {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        if raw == "*" {
            return Ok(Self::All);
        }
        if let Some(prefix) = raw.strip_suffix(".*") {
            if prefix.len() <= MAX_LEN && valid_segments(prefix) {
                return Ok(Self::Prefix(format!("{prefix}.")));
            }
        } else if let Ok(exact) = EventType::parse(raw) {
            return Ok(Self::Exact(exact.0));
        }
        Err(Invalid::new(format!(
            "'{raw}' is not a valid event pattern: use an event type such as 'scan.completed', a prefix wildcard such as 'scan.*', or '*'"
        )))
    }

    pub fn matches(&self, event_type: &EventType) -> bool {
        match self {
            Self::All => true,
            Self::Prefix(prefix) => event_type.0.starts_with(prefix.as_str()),
            Self::Exact(exact) => event_type.0 == *exact,
        }
    }

    /// Whether any of `patterns` (as stored, already validated) matches `event_type`.
    pub fn any_matches<'a>(patterns: impl IntoIterator<Item = &'a str>, event_type: &EventType) -> bool {
        patterns.into_iter().filter_map(|p| Self::parse(p).ok()).any(|p| p.matches(event_type))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(raw: &str) -> EventType {
        EventType::parse(raw).expect(raw)
    }

    #[test]
    fn event_types_follow_the_grammar() {
        for ok in ["scan.completed", "a.b.c", "issue_x.critical_2"] {
            assert!(EventType::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["scan", "Scan.completed", "scan..x", ".scan", "scan.", "scan.*", "scan completed", ""] {
            assert!(EventType::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn patterns_match_exact_prefix_and_all() {
        let exact = EventPattern::parse("scan.completed").unwrap();
        assert!(exact.matches(&t("scan.completed")));
        assert!(!exact.matches(&t("scan.completed_x")));
        let prefix = EventPattern::parse("scan.*").unwrap();
        assert!(prefix.matches(&t("scan.started")));
        assert!(prefix.matches(&t("scan.a.b")));
        assert!(!prefix.matches(&t("scans.started")));
        assert!(EventPattern::parse("*").unwrap().matches(&t("x.y")));
        for bad in ["scan*", "*.completed", "scan.**", "", "SCAN.*", "scan"] {
            assert!(EventPattern::parse(bad).is_err(), "{bad}");
        }
    }
}
