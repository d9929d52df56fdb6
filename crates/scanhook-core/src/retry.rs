//! When to try a failed delivery again.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::Invalid;

/// The delays before each attempt of a round: entry `n` is the wait before attempt `n + 1`,
/// so `0s,1m,5m` means "now, a minute after the first failure, five after the second",
/// and a round has as many attempts as entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(Vec<Duration>);

/// Jitter spreads retries of many deliveries that failed together by up to ±10 %.
pub const JITTER: f64 = 0.1;
const MAX_ATTEMPTS: usize = 50;

impl RetrySchedule {
    /// Parses `0s,1m,5m,15m,1h,2h` (humantime durations, comma separated).
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let delays = raw
            .split(',')
            .map(|part| {
                humantime::parse_duration(part.trim()).map_err(|e| {
                    Invalid::new(format!("retry schedule entry '{}' is not a duration ({e})", part.trim()))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if delays.len() > MAX_ATTEMPTS {
            return Err(Invalid::new(format!("retry schedule has more than {MAX_ATTEMPTS} entries")));
        }
        Ok(Self(delays))
    }

    /// How many attempts one round makes.
    pub fn attempts(&self) -> u32 {
        self.0.len() as u32
    }

    /// When to make the next attempt after `failed_in_round` attempts of this round failed,
    /// or `None` when the round is over and the delivery is dead. `jitter` is a number in
    /// `[-1, 1]` (from the caller's random source) scaled by [`JITTER`].
    pub fn next_attempt_at(&self, failed_in_round: u32, now: DateTime<Utc>, jitter: f64) -> Option<DateTime<Utc>> {
        let delay = *self.0.get(failed_in_round as usize)?;
        let jitter = if jitter.is_nan() { 0.0 } else { jitter.clamp(-1.0, 1.0) };
        let factor = 1.0 + JITTER * jitter;
        // Delays past what time can hold (a schedule of "1000000000y") saturate, never panic.
        let jittered = Duration::try_from_secs_f64(delay.as_secs_f64() * factor).unwrap_or(Duration::MAX);
        let jittered = chrono::Duration::from_std(jittered).unwrap_or(chrono::Duration::MAX);
        Some(now.checked_add_signed(jittered).unwrap_or(DateTime::<Utc>::MAX_UTC))
    }

    /// The schedule's longest step: the most a receiver's `Retry-After` can hold its
    /// endpoint back ([`crate::polite`]).
    pub fn longest(&self) -> Duration {
        self.0.iter().copied().max().unwrap_or_default()
    }

    /// The delay before the first attempt.
    pub fn first_delay(&self) -> Duration {
        self.0.first().copied().unwrap_or_default()
    }
}

impl Default for RetrySchedule {
    fn default() -> Self {
        Self::parse("0s,1m,5m,15m,1h,2h").expect("default schedule parses")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_schedule_has_six_attempts_then_dead() {
        let s = RetrySchedule::default();
        let now = DateTime::from_timestamp(1_000_000, 0).unwrap();
        assert_eq!(s.attempts(), 6);
        assert_eq!(s.next_attempt_at(1, now, 0.0), Some(now + chrono::Duration::minutes(1)));
        assert_eq!(s.next_attempt_at(5, now, 0.0), Some(now + chrono::Duration::hours(2)));
        assert_eq!(s.next_attempt_at(6, now, 0.0), None);
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        let s = RetrySchedule::parse("0s, 100s").unwrap();
        let now = DateTime::from_timestamp(0, 0).unwrap();
        assert_eq!(s.next_attempt_at(1, now, 1.0), Some(now + chrono::Duration::seconds(110)));
        assert_eq!(s.next_attempt_at(1, now, -5.0), Some(now + chrono::Duration::seconds(90)));
    }

    #[test]
    fn rejects_bad_entries() {
        let err = RetrySchedule::parse("0s,soon").unwrap_err();
        assert!(err.0.contains("'soon'"), "{err}");
        assert!(RetrySchedule::parse("").is_err());
    }
}

/// Properties of the schedule for any delays, times and jitter (proptest).
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn schedule() -> impl Strategy<Value = RetrySchedule> {
        prop::collection::vec(prop_oneof![0u64..10_000_000, any::<u64>()], 1..8)
            .prop_map(|ms| RetrySchedule(ms.into_iter().map(Duration::from_millis).collect()))
    }

    fn now() -> impl Strategy<Value = DateTime<Utc>> {
        (0i64..4_000_000_000_000).prop_map(|ms| DateTime::from_timestamp_millis(ms).unwrap())
    }

    fn millis(d: Duration) -> i128 {
        d.as_millis() as i128
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn an_attempt_is_never_due_before_now_and_stays_within_the_jitter(
            s in schedule(), n in 0u32..10, at in now(), jitter in any::<f64>(),
        ) {
            match s.next_attempt_at(n, at, jitter) {
                None => prop_assert!(n >= s.attempts(), "the round ends only after its last attempt"),
                Some(next) => {
                    prop_assert!(n < s.attempts());
                    prop_assert!(next >= at, "never before now");
                    let waited = i128::from((next - at).num_milliseconds());
                    let delay = millis(s.0[n as usize]);
                    let saturated = next == DateTime::<Utc>::MAX_UTC;
                    // ±10 %, with room for rounding (a millisecond, and float precision).
                    let slack = 10 + delay / 1_000_000;
                    prop_assert!(saturated || waited * 10 >= delay * 9 - slack, "{waited} ms for a {delay} ms delay");
                    prop_assert!(waited * 10 <= delay * 11 + slack, "{waited} ms for a {delay} ms delay");
                }
            }
        }

        #[test]
        fn later_failures_and_more_jitter_never_come_sooner(
            s in schedule(), n in 0u32..8, (a, b) in (now(), now()), (j, k) in (-1.0f64..=1.0, -1.0f64..=1.0),
        ) {
            let (early, late) = if a <= b { (a, b) } else { (b, a) };
            let (low, high) = if j <= k { (j, k) } else { (k, j) };
            prop_assert!(s.next_attempt_at(n, early, low) <= s.next_attempt_at(n, late, low), "monotone in now");
            prop_assert!(s.next_attempt_at(n, early, low) <= s.next_attempt_at(n, early, high), "monotone in jitter");
        }
    }
}
