//! Fair share and rate limits: which due deliveries a claim may take.
//!
//! Two per-endpoint limits (both settings of its [`DeliveryFormat`](crate::format::DeliveryFormat)):
//! - **In flight** (`max_in_flight`, default [`DEFAULT_MAX_IN_FLIGHT`]): at most so many of
//!   its requests open at once on one worker. A hanging endpoint holds its own slots and no
//!   more, so the rest of the worker's capacity keeps serving the others.
//! - **Rate** (`rate_limit` per second, `rate_limit_burst` at once): a token bucket, kept as
//!   GCRA's one number, the theoretical arrival time ([`RateLimit::admit`]), which the store
//!   persists on the endpoint so that every node draws from the same bucket.
//!
//! GCRA is written here rather than taken from `governor` (which implements the same
//! algorithm): governor keeps its state in process memory behind its own clock, while this
//! bucket must be read from the endpoint's row, drawn inside the claim's unit of work and
//! written back guarded by the value read, so that every node draws from one bucket. The
//! whole algorithm is the few lines of [`RateLimit::admit`].
//!
//! A claim passes over what an endpoint cannot take now instead of leasing it: those
//! deliveries stay due, untouched (no attempt, nothing counted), for a later claim.
//! [`Share`] is the rule a backend applies to the due deliveries it reads, in their order.

use std::collections::HashMap;
use std::ops::RangeInclusive;

use crate::WebhookId;

/// An endpoint's requests in flight at once on one worker when it does not say.
pub const DEFAULT_MAX_IN_FLIGHT: u32 = 10;
/// What `max_in_flight` may be set to. A receiver that answers fast needs many open at once
/// for a high rate (100 open at 7 ms each is about 14,000/s); the node's own
/// `SCANHOOK_MAX_IN_FLIGHT` bounds it anyway.
pub const MAX_IN_FLIGHT_RANGE: RangeInclusive<u32> = 1..=1000;
/// What `rate_limit` (deliveries per second) and `rate_limit_burst` may be set to.
pub const RATE_LIMIT_RANGE: RangeInclusive<u32> = 1..=10_000;

const MICROS: i64 = 1_000_000;

/// A token bucket: `per_second` tokens a second, holding at most `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_second: u32,
    pub burst: u32,
}

impl RateLimit {
    /// Microseconds between two tokens.
    fn interval(&self) -> i64 {
        MICROS / i64::from(self.per_second.max(1))
    }

    /// GCRA, the token bucket as one number: `tat` is the bucket's theoretical arrival time
    /// (µs since the epoch; `None`: never used, full). A delivery at `now` conforms if the
    /// bucket, refilled since, holds a token: `Ok` with the new time to store. Otherwise
    /// `Err` with the earliest time one does.
    pub fn admit(&self, tat: Option<i64>, now: i64) -> Result<i64, i64> {
        let interval = self.interval();
        let next = tat.unwrap_or(now).max(now) + interval;
        // A full bucket lets `burst` go at once: next - now <= burst × interval.
        let allowed = interval * i64::from(self.burst.max(1));
        if next - now <= allowed { Ok(next) } else { Err(next - allowed) }
    }
}

/// What one claim has taken so far, endpoint by endpoint.
#[derive(Debug)]
pub struct Share {
    /// Requests the claiming worker has in flight, per endpoint.
    busy: HashMap<WebhookId, u32>,
    taken: HashMap<WebhookId, u32>,
    buckets: HashMap<WebhookId, Bucket>,
    now: i64,
}

/// An endpoint's rate bucket as a claim found and left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// As read (the guard of the write: another node may have drawn meanwhile).
    pub read: Option<i64>,
    /// To be stored, if the claim drew from it.
    pub drawn: Option<i64>,
    /// The earliest time (µs) a delivery the claim passed over would conform.
    pub empty_until: Option<i64>,
}

impl Share {
    /// `busy`: the claiming worker's requests in flight per endpoint; `now` in µs.
    pub fn new(busy: HashMap<WebhookId, u32>, now: i64) -> Self {
        Self { busy, taken: HashMap::new(), buckets: HashMap::new(), now }
    }

    /// Whether the claim takes the next due delivery, for `webhook` (with its settings and
    /// its bucket's time as read). Deliveries must be offered in the order they are due.
    pub fn take(&mut self, webhook: &WebhookId, max_in_flight: u32, rate: Option<RateLimit>, tat: Option<i64>) -> bool {
        let open = self.busy.get(webhook).copied().unwrap_or(0) + self.taken.get(webhook).copied().unwrap_or(0);
        if open >= max_in_flight.max(1) {
            return false;
        }
        if let Some(rate) = rate {
            let bucket =
                self.buckets.entry(webhook.clone()).or_insert(Bucket { read: tat, drawn: None, empty_until: None });
            if bucket.empty_until.is_some() {
                return false;
            }
            match rate.admit(bucket.drawn.or(bucket.read), self.now) {
                Ok(next) => bucket.drawn = Some(next),
                Err(at) => {
                    bucket.empty_until = Some(at);
                    return false;
                }
            }
        }
        *self.taken.entry(webhook.clone()).or_default() += 1;
        true
    }

    /// The buckets the claim met, to store those it drew from (guarded by what it read) and
    /// to pass over the empty ones until they refill.
    pub fn into_buckets(self) -> HashMap<WebhookId, Bucket> {
        self.buckets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = MICROS;

    #[test]
    fn a_bucket_lets_its_burst_go_then_one_per_interval() {
        let rate = RateLimit { per_second: 5, burst: 5 };
        let mut tat = None;
        for _ in 0..5 {
            tat = Some(rate.admit(tat, 10 * S).unwrap());
        }
        assert_eq!(rate.admit(tat, 10 * S), Err(10 * S + S / 5));
        assert!(rate.admit(tat, 10 * S + S / 5).is_ok());
        // Idle for long: full again, never more than the burst.
        let later = 100 * S;
        let mut tat2 = tat;
        for _ in 0..5 {
            tat2 = Some(rate.admit(tat2, later).unwrap());
        }
        assert!(rate.admit(tat2, later).is_err());
    }

    #[test]
    fn a_burst_of_one_is_an_even_pace() {
        let rate = RateLimit { per_second: 100, burst: 1 };
        let tat = rate.admit(None, 0).unwrap();
        assert_eq!(rate.admit(Some(tat), 0), Err(S / 100));
        assert!(rate.admit(Some(tat), S / 100).is_ok());
    }

    #[test]
    fn a_share_holds_each_endpoint_to_its_slots_and_its_rate() {
        let (hang, ok, slow) = (WebhookId::generate(), WebhookId::generate(), WebhookId::generate());
        let mut share = Share::new(HashMap::from([(hang.clone(), 2)]), 0);
        assert!(share.take(&hang, 3, None, None));
        assert!(!share.take(&hang, 3, None, None), "two in flight and one taken: full");
        for _ in 0..10 {
            assert!(share.take(&ok, 10, None, None));
        }
        assert!(!share.take(&ok, 10, None, None));
        let rate = Some(RateLimit { per_second: 1, burst: 2 });
        assert!(share.take(&slow, 10, rate, None));
        assert!(share.take(&slow, 10, rate, None));
        assert!(!share.take(&slow, 10, rate, None));
        let buckets = share.into_buckets();
        assert_eq!(buckets[&slow], Bucket { read: None, drawn: Some(2 * S), empty_until: Some(S) });
        assert!(!buckets.contains_key(&ok));
    }
}
