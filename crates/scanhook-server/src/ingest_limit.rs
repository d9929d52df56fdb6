//! The per-account ingest limit: a token bucket (GCRA, `governor`) per account over the
//! events producers report — `POST /v1/events` takes one token, a batch one per event it
//! holds. Events scanhook derives from scans, violations, alerts and projects do not count:
//! each such request emits a bounded handful, and refusing a scan's completion half-way
//! would cost more than it saves. Over the limit the answer is 429 `rate_limited` with
//! `Retry-After` in whole seconds (at least 1); nothing is stored.
//!
//! An account is held to its own rate when the admin set one (`PATCH /v1/accounts/{id}`),
//! else to the deployment's (`SCANHOOK_INGEST_RATE`), else it is not limited. Its own rate
//! is read from the store at most once per [`OWN_RATE_TTL`] per account on each node, so a
//! change applies at once on the node that made it and within that time on the others.
//!
//! The buckets live in this process: with several nodes each enforces the limit on its
//! own, so an account may reach the rate times the number of nodes. One account's bucket
//! never touches another's. Buckets of accounts on the deployment's rate that have been
//! quiet long enough to be full again are dropped now and then, so memory follows the
//! accounts active within the last burst's time, not every account ever seen; accounts
//! with a rate of their own are as many as the admin made.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, NotUntil, Quota, RateLimiter};
use scanhook_core::AccountId;
use scanhook_store::{IngestQuota, Store};

use crate::error::ApiError;

/// How many events an account may report: `per_second` on average, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestRate {
    pub per_second: NonZeroU32,
    pub burst: NonZeroU32,
}

impl IngestRate {
    /// An account's own limit as stored (the store keeps both at least 1).
    pub fn of(quota: IngestQuota) -> Option<Self> {
        Some(Self { per_second: NonZeroU32::new(quota.per_second)?, burst: NonZeroU32::new(quota.burst)? })
    }

    fn quota(self) -> Quota {
        Quota::per_second(self.per_second).allow_burst(self.burst)
    }
}

/// Checks between two sweeps of full buckets.
const SWEEP_EVERY: u32 = 4096;
/// How long an account's own rate, as read from the store, is used before it is read again.
pub const OWN_RATE_TTL: Duration = Duration::from_secs(10);
/// Accounts whose own rate is remembered at once; past it, all are forgotten (and read again).
const MAX_KNOWN: usize = 10_000;

/// Every account's bucket on this node.
pub struct IngestLimit {
    /// The deployment's rate, for accounts without one of their own; `None`: unlimited.
    default: Option<IngestRate>,
    /// The buckets of accounts on the deployment's rate.
    buckets: DefaultKeyedRateLimiter<AccountId>,
    /// The buckets of accounts with a rate of their own, with that rate.
    own: Mutex<HashMap<AccountId, (IngestRate, Arc<DefaultDirectRateLimiter>)>>,
    /// Each account's own rate (`None`: it has none) and when it was read from the store.
    known: Mutex<HashMap<AccountId, (Option<IngestRate>, Instant)>>,
    clock: DefaultClock,
    checks: AtomicU32,
}

impl IngestLimit {
    pub fn new(default: Option<IngestRate>) -> Self {
        let clock = DefaultClock::default();
        // Without a deployment rate the keyed buckets are never used; any quota will do.
        let quota = default.map_or(Quota::per_second(NonZeroU32::MIN), IngestRate::quota);
        Self {
            default,
            buckets: RateLimiter::dashmap_with_clock(quota, clock.clone()),
            own: Mutex::default(),
            known: Mutex::default(),
            clock,
            checks: AtomicU32::new(0),
        }
    }

    /// The account's own rate, read from the store unless read within [`OWN_RATE_TTL`].
    pub async fn own_rate(&self, store: &dyn Store, account: &AccountId) -> Result<Option<IngestRate>, ApiError> {
        if let Some((rate, at)) = lock(&self.known).get(account)
            && at.elapsed() < OWN_RATE_TTL
        {
            return Ok(*rate);
        }
        let rate = store.get_account(account).await?.ingest_limit.and_then(IngestRate::of);
        let mut known = lock(&self.known);
        if known.len() >= MAX_KNOWN {
            known.clear();
        }
        known.insert(account.clone(), (rate, Instant::now()));
        Ok(rate)
    }

    /// Forgets what was read of the account's own rate: its next event reads it again.
    pub fn forget(&self, account: &AccountId) {
        lock(&self.known).remove(account);
    }

    /// Takes `events` tokens from the account's bucket, all or none: `Ok` if they were
    /// there (or the account is not limited), else 429 with how long until they are.
    /// `own`: the account's own rate ([`Self::own_rate`]). `field` names what counted (the
    /// batch's `events`) when more were asked at once than the burst could ever hold.
    pub fn take(
        &self,
        account: &AccountId,
        own: Option<IngestRate>,
        events: usize,
        field: &str,
    ) -> Result<(), ApiError> {
        let Some(rate) = own.or(self.default) else { return Ok(()) };
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.buckets.retain_recent();
            self.buckets.shrink_to_fit();
        }
        let Some(n) = u32::try_from(events).ok().and_then(NonZeroU32::new) else {
            return if events == 0 { Ok(()) } else { Err(too_many(rate, field)) };
        };
        let checked = match own {
            Some(rate) => self.own_bucket(account, rate).check_n(n),
            None => {
                let mut own = lock(&self.own);
                if !own.is_empty() {
                    // Its own rate was taken back: its old bucket goes.
                    own.remove(account);
                }
                drop(own);
                self.buckets.check_key_n(account, n)
            }
        };
        match checked {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(self.wait(rate, &not_until)),
            Err(_) => Err(too_many(rate, field)),
        }
    }

    /// The bucket of an account with a rate of its own; a new one, full, when the rate changed.
    fn own_bucket(&self, account: &AccountId, rate: IngestRate) -> Arc<DefaultDirectRateLimiter> {
        let mut own = lock(&self.own);
        match own.get(account) {
            Some((had, bucket)) if *had == rate => bucket.clone(),
            _ => {
                let bucket = Arc::new(RateLimiter::direct_with_clock(rate.quota(), self.clock.clone()));
                own.insert(account.clone(), (rate, bucket.clone()));
                bucket
            }
        }
    }

    fn wait(&self, rate: IngestRate, not_until: &NotUntil<<DefaultClock as Clock>::Instant>) -> ApiError {
        let wait = not_until.wait_time_from(self.clock.now());
        // Whole seconds, rounded up, at least one: a client that waits that long finds room.
        let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        ApiError::RateLimited {
            message: format!(
                "this account reports at most {} events per second (bursts of {}); try again in {secs} s",
                rate.per_second, rate.burst
            ),
            retry_after_secs: secs,
        }
    }

    /// Accounts with a bucket kept, after a sweep.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.buckets.retain_recent();
        self.buckets.len()
    }
}

fn too_many(rate: IngestRate, field: &str) -> ApiError {
    ApiError::invalid(
        field,
        format!("more events at once than this account's burst of {} allows; send fewer per request", rate.burst),
    )
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(per_second: u32, burst: u32) -> IngestRate {
        IngestRate { per_second: NonZeroU32::new(per_second).unwrap(), burst: NonZeroU32::new(burst).unwrap() }
    }

    fn limit(per_second: u32, burst: u32) -> IngestLimit {
        IngestLimit::new(Some(rate(per_second, burst)))
    }

    #[test]
    fn a_burst_passes_then_the_excess_is_told_when_to_come_back() {
        let limit = limit(1, 3);
        let a = AccountId::generate();
        for _ in 0..3 {
            limit.take(&a, None, 1, "events").unwrap();
        }
        match limit.take(&a, None, 1, "events") {
            Err(ApiError::RateLimited { retry_after_secs, .. }) => assert_eq!(retry_after_secs, 1),
            other => panic!("expected 429, got {other:?}"),
        }
    }

    #[test]
    fn one_account_at_its_limit_leaves_another_untouched() {
        let limit = limit(1, 2);
        let (a, b) = (AccountId::generate(), AccountId::generate());
        limit.take(&a, None, 2, "events").unwrap();
        assert!(limit.take(&a, None, 1, "events").is_err());
        limit.take(&b, None, 2, "events").unwrap();
    }

    #[test]
    fn more_than_a_burst_at_once_names_the_field_and_takes_nothing() {
        let limit = limit(10, 5);
        let a = AccountId::generate();
        match limit.take(&a, None, 6, "events") {
            Err(ApiError::Invalid { field, .. }) => assert_eq!(field.as_deref(), Some("events")),
            other => panic!("expected 422, got {other:?}"),
        }
        limit.take(&a, None, 5, "events").unwrap();
    }

    #[test]
    fn an_accounts_own_rate_replaces_the_deployments_and_a_new_rate_starts_full() {
        let limit = limit(1, 1);
        let (a, b) = (AccountId::generate(), AccountId::generate());
        limit.take(&a, Some(rate(1, 3)), 3, "events").unwrap();
        assert!(matches!(limit.take(&a, Some(rate(1, 3)), 1, "events"), Err(ApiError::RateLimited { .. })));
        limit.take(&a, Some(rate(1, 5)), 5, "events").unwrap();
        limit.take(&b, None, 1, "events").unwrap();
        assert!(limit.take(&b, None, 1, "events").is_err(), "others keep the deployment's rate");
    }

    #[test]
    fn without_a_deployment_rate_only_accounts_with_their_own_are_limited() {
        let limit = IngestLimit::new(None);
        let (a, b) = (AccountId::generate(), AccountId::generate());
        for _ in 0..1000 {
            limit.take(&a, None, 100, "events").unwrap();
        }
        limit.take(&b, Some(rate(1, 2)), 2, "events").unwrap();
        assert!(matches!(limit.take(&b, Some(rate(1, 2)), 1, "events"), Err(ApiError::RateLimited { .. })));
    }

    #[test]
    fn buckets_full_again_are_forgotten() {
        let limit = limit(1000, 1);
        for _ in 0..100 {
            limit.take(&AccountId::generate(), None, 1, "events").unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(limit.tracked(), 0);
    }
}
