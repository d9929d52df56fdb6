//! Dashboard sessions and portal links: their tokens, how long they live, and what an
//! event-limited session may subscribe to. The tokens are random and only their SHA-256
//! is stored; the CSRF token of a session is derived from its token, so it needs no row.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use chrono::Duration;
use rand::RngCore;

use crate::event_type::EventPattern;
use crate::secret::sha256_hex;

/// A session ends after this long without a request, unless `SCANHOOK_SESSION_IDLE`
/// says otherwise (within [`SESSION_IDLE_MIN`] and [`SESSION_MAX`]).
pub const SESSION_IDLE: Duration = Duration::minutes(30);
/// The shortest idle time a deployment may set.
pub const SESSION_IDLE_MIN: Duration = Duration::seconds(2);
/// A session ends this long after sign-in, however active.
pub const SESSION_MAX: Duration = Duration::hours(12);
/// A portal link is valid this long unless `expires_in` says otherwise.
pub const PORTAL_LINK_DEFAULT: Duration = Duration::minutes(10);
/// The longest `expires_in` a portal link may ask for.
pub const PORTAL_LINK_MAX: Duration = Duration::hours(24);
/// The shortest `expires_in` a portal link may ask for, unless
/// `SCANHOOK_PORTAL_LINK_MIN_EXPIRY` lowers it (to [`PORTAL_LINK_MIN_FLOOR`] at least).
pub const PORTAL_LINK_MIN: Duration = Duration::minutes(1);
/// The lowest minimum `expires_in` a deployment may set.
pub const PORTAL_LINK_MIN_FLOOR: Duration = Duration::seconds(1);
/// At most this many event-type patterns limit a portal session.
pub const MAX_EVENT_LIMITS: usize = 50;

/// A bearer token of a session or a portal link (`shs_…` / `shp_…`, 256 random bits).
/// Does not print itself.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// A new session token.
    pub fn session() -> Self {
        Self::generate("shs")
    }

    /// A new portal-link token.
    pub fn portal() -> Self {
        Self::generate("shp")
    }

    fn generate(prefix: &str) -> Self {
        let mut raw = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut raw);
        Self(format!("{prefix}_{}", B64URL.encode(raw)))
    }

    /// A token presented by a client: only its shape is checked (the store decides
    /// whether it is known), so that junk is never hashed and looked up at length.
    pub fn parse(raw: &str) -> Option<Self> {
        let ok =
            (20..=100).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        ok.then(|| Self(raw.to_string()))
    }

    /// What the store keeps.
    pub fn hash(&self) -> String {
        sha256_hex(self.0.as_bytes())
    }

    /// The CSRF token of the session this token opens: a hash of the token under another
    /// label, so it cannot be turned back into the session token.
    pub fn csrf(&self) -> String {
        sha256_hex(format!("scanhook-csrf:{}", self.0).as_bytes())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(…)")
    }
}

/// Whether every event `pattern` can match is matched by one of `allowed`: what an
/// event-limited session may subscribe an endpoint to.
pub fn within(pattern: &EventPattern, allowed: &[EventPattern]) -> bool {
    allowed.iter().any(|a| match (a, pattern) {
        (EventPattern::All, _) => true,
        (EventPattern::Prefix(p), EventPattern::Prefix(q)) => q.starts_with(p.as_str()),
        (EventPattern::Prefix(p), EventPattern::Exact(e)) => e.starts_with(p.as_str()),
        (EventPattern::Exact(a), EventPattern::Exact(e)) => a == e,
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(raw: &str) -> EventPattern {
        EventPattern::parse(raw).expect(raw)
    }

    #[test]
    fn a_pattern_is_within_the_limits_only_when_everything_it_matches_is() {
        let allowed = [p("scan.*"), p("alert.raised")];
        for ok in ["scan.completed", "scan.*", "scan.finding.*", "alert.raised"] {
            assert!(within(&p(ok), &allowed), "{ok}");
        }
        for bad in ["*", "alert.*", "alert.closed", "scanner.x", "project.created"] {
            assert!(!within(&p(bad), &allowed), "{bad}");
        }
        assert!(within(&p("*"), &[p("*")]));
    }

    #[test]
    fn tokens_are_random_checked_for_shape_and_never_printed() {
        let t = Token::session();
        assert_ne!(t, Token::session());
        assert!(t.expose().starts_with("shs_"));
        assert_eq!(Token::parse(t.expose()), Some(t.clone()));
        assert_ne!(t.hash(), t.csrf());
        assert!(Token::parse("short").is_none());
        assert!(Token::parse("shs_with spaces and more than twenty").is_none());
        assert_eq!(format!("{t:?}"), "Token(…)");
    }
}
