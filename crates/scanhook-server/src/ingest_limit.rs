//! The per-account ingest limit: a token bucket (GCRA, `governor`'s keyed limiter) per
//! account over the events producers report — `POST /v1/events` takes one token, a batch
//! one per event it holds. Events scanhook derives from scans, violations, alerts and
//! projects do not count: each such request emits a bounded handful, and refusing a
//! scan's completion half-way would cost more than it saves. Over the limit the answer is
//! 429 `rate_limited` with `Retry-After` in whole seconds (at least 1); nothing is stored.
//!
//! The buckets live in this process: with several nodes each enforces the limit on its
//! own, so an account may reach the rate times the number of nodes. One account's bucket
//! never touches another's. Buckets of accounts that have been quiet long enough to be
//! full again are dropped now and then, so memory follows the accounts active within the
//! last burst's time, not every account ever seen.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use scanhook_core::AccountId;

use crate::error::ApiError;

/// How many events an account may report: `per_second` on average, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestRate {
    pub per_second: NonZeroU32,
    pub burst: NonZeroU32,
}

/// Checks between two sweeps of full buckets.
const SWEEP_EVERY: u32 = 4096;

/// Every account's bucket on this node.
pub struct IngestLimit {
    rate: IngestRate,
    buckets: DefaultKeyedRateLimiter<AccountId>,
    clock: DefaultClock,
    checks: AtomicU32,
}

impl IngestLimit {
    pub fn new(rate: IngestRate) -> Self {
        let clock = DefaultClock::default();
        let quota = Quota::per_second(rate.per_second).allow_burst(rate.burst);
        Self { rate, buckets: RateLimiter::dashmap_with_clock(quota, clock.clone()), clock, checks: AtomicU32::new(0) }
    }

    /// Takes `events` tokens from the account's bucket, all or none: `Ok` if they were
    /// there, else 429 with how long until they are. `field` names what counted (the
    /// batch's `events`) when more were asked at once than the burst could ever hold.
    pub fn take(&self, account: &AccountId, events: usize, field: &str) -> Result<(), ApiError> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.buckets.retain_recent();
            self.buckets.shrink_to_fit();
        }
        let Some(n) = u32::try_from(events).ok().and_then(NonZeroU32::new) else {
            return if events == 0 { Ok(()) } else { Err(self.too_many(field)) };
        };
        match self.buckets.check_key_n(account, n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => {
                let wait = not_until.wait_time_from(self.clock.now());
                // Whole seconds, rounded up, at least one: a client that waits that long finds room.
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                Err(ApiError::RateLimited {
                    message: format!(
                        "this account reports at most {} events per second (bursts of {}); try again in {} s",
                        self.rate.per_second,
                        self.rate.burst,
                        secs.max(1)
                    ),
                    retry_after_secs: secs.max(1),
                })
            }
            Err(_) => Err(self.too_many(field)),
        }
    }

    fn too_many(&self, field: &str) -> ApiError {
        ApiError::invalid(
            field,
            format!(
                "more events at once than this account's burst of {} allows; send fewer per request",
                self.rate.burst
            ),
        )
    }

    /// Accounts with a bucket kept, after a sweep.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.buckets.retain_recent();
        self.buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(per_second: u32, burst: u32) -> IngestLimit {
        IngestLimit::new(IngestRate {
            per_second: NonZeroU32::new(per_second).unwrap(),
            burst: NonZeroU32::new(burst).unwrap(),
        })
    }

    #[test]
    fn a_burst_passes_then_the_excess_is_told_when_to_come_back() {
        let limit = limit(1, 3);
        let a = AccountId::generate();
        for _ in 0..3 {
            limit.take(&a, 1, "events").unwrap();
        }
        match limit.take(&a, 1, "events") {
            Err(ApiError::RateLimited { retry_after_secs, .. }) => assert_eq!(retry_after_secs, 1),
            other => panic!("expected 429, got {other:?}"),
        }
    }

    #[test]
    fn one_account_at_its_limit_leaves_another_untouched() {
        let limit = limit(1, 2);
        let (a, b) = (AccountId::generate(), AccountId::generate());
        limit.take(&a, 2, "events").unwrap();
        assert!(limit.take(&a, 1, "events").is_err());
        limit.take(&b, 2, "events").unwrap();
    }

    #[test]
    fn more_than_a_burst_at_once_names_the_field_and_takes_nothing() {
        let limit = limit(10, 5);
        let a = AccountId::generate();
        match limit.take(&a, 6, "events") {
            Err(ApiError::Invalid { field, .. }) => assert_eq!(field.as_deref(), Some("events")),
            other => panic!("expected 422, got {other:?}"),
        }
        limit.take(&a, 5, "events").unwrap();
    }

    #[test]
    fn buckets_full_again_are_forgotten() {
        let limit = limit(1000, 1);
        for _ in 0..100 {
            limit.take(&AccountId::generate(), 1, "events").unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(limit.tracked(), 0);
    }
}
