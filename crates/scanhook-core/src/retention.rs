//! What history is pruned, and when: the rule every store backend follows. A backend only
//! carries out one [`Prune`] step at a time on a bounded batch of rows older than the
//! cut-off this module computed; it decides nothing itself.
//!
//! Kept no matter how old: deliveries that may still be sent (pending, retrying, held),
//! the events they belong to, violations, and every scan a violation or its history
//! names. A dead delivery is kept for the retention period counted from its death (a
//! replay makes it pending again, and so new).

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::Invalid;

/// Rows removed (or blanked) per unit of work: small enough that one batch never holds a
/// writer or a lock long enough to stall delivery.
pub const BATCH: u32 = 500;

/// Pause between two batches of the same step, so other writes go first.
pub const PAUSE: Duration = Duration::from_millis(20);

/// One kind of pruning, in the order a pass runs them (each step can only free rows for
/// the ones after it: deliveries before their events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prune {
    /// Blank the logged request and response bodies of attempts started before the
    /// cut-off (the attempts themselves stay as long as their delivery).
    AttemptBodies,
    /// Delete succeeded and dead deliveries whose last change (success, death) is before
    /// the cut-off, with their attempts.
    Deliveries,
    /// Delete events stamped before the cut-off that have no delivery left.
    Events,
    /// Forget the idempotency keys of events stamped before the cut-off (events kept for
    /// a delivery still in flight): a producer reusing the key creates a new event.
    IdempotencyKeys,
    /// Delete scans that ended before the cut-off, unless a violation or a violation's
    /// history names them, or they are their project's latest completed scan with a score
    /// (the baseline of the next scan's score-drop alert).
    Scans,
}

impl Prune {
    pub const ALL: [Prune; 5] =
        [Prune::AttemptBodies, Prune::Deliveries, Prune::Events, Prune::IdempotencyKeys, Prune::Scans];

    pub fn as_str(self) -> &'static str {
        match self {
            Prune::AttemptBodies => "attempt_bodies",
            Prune::Deliveries => "deliveries",
            Prune::Events => "events",
            Prune::IdempotencyKeys => "idempotency_keys",
            Prune::Scans => "scans",
        }
    }
}

/// How long history is kept (`SCANHOOK_RETENTION`, `SCANHOOK_ATTEMPT_BODY_RETENTION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    history: Duration,
    attempt_bodies: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        let days30 = Duration::from_secs(30 * 24 * 3600);
        Self { history: days30, attempt_bodies: days30 }
    }
}

/// Longest retention accepted: past it the cut-off could leave chrono's range.
const MAX: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

impl Retention {
    /// `attempt_bodies` defaults to `history`, and may not exceed it (bodies go with their
    /// attempts anyway); both must be positive.
    pub fn new(history: Duration, attempt_bodies: Option<Duration>) -> Result<Self, Invalid> {
        let attempt_bodies = attempt_bodies.unwrap_or(history);
        if history.is_zero() || history > MAX {
            return Err(Invalid::new("the retention must be between 1ms and 100 years"));
        }
        if attempt_bodies.is_zero() {
            return Err(Invalid::new("the attempt body retention must be at least 1ms"));
        }
        if attempt_bodies > history {
            return Err(Invalid::new("the attempt body retention must not be longer than the retention"));
        }
        Ok(Self { history, attempt_bodies })
    }

    pub fn history(&self) -> Duration {
        self.history
    }

    pub fn attempt_bodies(&self) -> Duration {
        self.attempt_bodies
    }

    /// The cut-off of each step at `now`: rows older than it go. In [`Prune::ALL`]'s order.
    pub fn plan(&self, now: DateTime<Utc>) -> [(Prune, DateTime<Utc>); 5] {
        Prune::ALL.map(|step| {
            let keep = match step {
                Prune::AttemptBodies => self.attempt_bodies,
                _ => self.history,
            };
            (step, now - chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::days(36_500)))
        })
    }

    /// How often a pass runs: a tenth of the shorter retention, between 100 ms and 10
    /// minutes, so rows outlive their retention by at most about a tenth of it.
    pub fn interval(&self) -> Duration {
        (self.attempt_bodies / 10).clamp(Duration::from_millis(100), Duration::from_secs(600))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_default_to_the_history_retention_and_may_not_outlive_it() {
        let day = Duration::from_secs(86_400);
        let r = Retention::new(day, None).unwrap();
        assert_eq!(r.attempt_bodies(), day);
        assert!(Retention::new(day, Some(day * 2)).is_err());
        assert!(Retention::new(Duration::ZERO, None).is_err());
        assert!(Retention::new(day, Some(Duration::ZERO)).is_err());
        assert_eq!(Retention::default().history(), day * 30);
    }

    #[test]
    fn each_step_gets_its_cut_off_in_order() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let r = Retention::new(Duration::from_secs(3600), Some(Duration::from_secs(60))).unwrap();
        let plan = r.plan(now);
        assert_eq!(plan.map(|(step, _)| step), Prune::ALL);
        assert_eq!(plan[0].1, now - chrono::Duration::seconds(60));
        assert!(plan[1..].iter().all(|(_, before)| *before == now - chrono::Duration::seconds(3600)));
        assert_eq!(r.interval(), Duration::from_secs(6));
        assert_eq!(Retention::default().interval(), Duration::from_secs(600));
    }
}
