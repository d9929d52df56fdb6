//! Each endpoint's share of this worker: its requests in flight, counted by [`Slot`]s, and
//! the rate buckets claims found empty. Claims pass over endpoints that have no room
//! ([`Fairness::limits`]); the rule of what a claim may take is `scanhook_core::fair`.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use scanhook_core::WebhookId;
use scanhook_store::{ClaimLimits, Claimed};
use tokio::sync::Notify;

/// What keeps one endpoint from taking more than its share of this worker: its requests in
/// flight (at most its `max_in_flight`), and when its rate bucket, found empty by a claim,
/// holds a token again. Claims pass over endpoints at their cap or with an empty bucket
/// (`scanhook_core::fair`), so their deliveries stay due in the store, unleased, for this
/// or another worker.
#[derive(Default)]
pub struct Fairness {
    /// Per endpoint: requests in flight and its cap (as its last claim read it).
    busy: Mutex<HashMap<WebhookId, (u32, u32)>>,
    /// Per endpoint whose bucket a claim found empty: when it refills.
    empty: Mutex<HashMap<WebhookId, DateTime<Utc>>>,
    /// Woken when an endpoint at its cap frees a slot: its due deliveries can be claimed.
    wake: Arc<Notify>,
    /// What the last claims that read to the end learned of the due deliveries they passed
    /// over, so later claims need not read them again.
    passed: Mutex<Option<Passed>>,
    /// Bumped by [`Fairness::forget_passed`], so a claim that ran meanwhile learns nothing.
    generation: AtomicU64,
}

/// What a claim asked and found, for [`Fairness::learn`].
pub struct ClaimRead<'a> {
    pub now: DateTime<Utc>,
    /// [`Fairness::generation`] before the claim's limits were read.
    pub generation: u64,
    pub asked: &'a ClaimLimits,
    /// [`scanhook_store::Claim::read_all`].
    pub read_all: bool,
}

/// Every delivery due up to `until` belongs to one of `endpoints` (a claim read them all
/// and passed over the rest). An endpoint at its cap with a long backlog would otherwise
/// have that backlog read, oldest first, by every claim and every idle check.
struct Passed {
    until: DateTime<Utc>,
    endpoints: HashSet<WebhookId>,
    /// When a claim last read from the start; after [`PASSED_FOR`] one does again, which
    /// bounds how long a delivery made due in the past by other means (another node's
    /// work, a clock ahead of ours) can stay unseen.
    since: Instant,
}

/// How long what a full read learned is trusted.
const PASSED_FOR: Duration = Duration::from_secs(2);

impl Fairness {
    pub fn new(wake: Arc<Notify>) -> Self {
        Self { wake, ..Default::default() }
    }

    pub fn limits(&self, now: DateTime<Utc>) -> ClaimLimits {
        let busy = lock(&self.busy);
        let mut empty = lock(&self.empty);
        empty.retain(|_, until| *until > now);
        let mut skip: Vec<WebhookId> =
            busy.iter().filter(|(_, (open, cap))| open >= cap).map(|(id, _)| id.clone()).collect();
        skip.extend(empty.keys().filter(|id| busy.get(*id).is_none_or(|(open, cap)| open < cap)).cloned());
        let busy = busy.iter().map(|(id, (open, _))| (id.clone(), *open)).collect();
        let mut passed = lock(&self.passed);
        match passed.as_ref() {
            Some(p) if p.since.elapsed() < PASSED_FOR => ClaimLimits {
                busy,
                due_after: Some(p.until),
                reopened: p.endpoints.iter().filter(|id| !skip.contains(id)).cloned().collect(),
                skip,
            },
            _ => {
                *passed = None;
                ClaimLimits { busy, skip, ..Default::default() }
            }
        }
    }

    /// Learns from a claim, after its slots were opened and its empty buckets noted, which
    /// endpoints' due deliveries it left unread.
    pub fn learn(&self, read: ClaimRead<'_>) {
        let skip_after: HashSet<WebhookId> = self.limits(read.now).skip.into_iter().collect();
        let mut passed = lock(&self.passed);
        if read.generation != self.generation() || read.asked.due_after.is_some() != passed.is_some() {
            // Forgotten, or trusted anew, while the claim ran: learn nothing from it.
            return;
        }
        if !read.read_all {
            return;
        }
        if let Some(p) = passed.as_mut() {
            // The claim read every reopened endpoint's deliveries before `until` too (its
            // query for them came first, and left room): one not at its cap again has none
            // left unread.
            for id in read.asked.reopened.iter().filter(|id| !skip_after.contains(*id)) {
                p.endpoints.remove(id);
            }
        }
        // Every due delivery after `due_after` was read: those left are of endpoints passed
        // over, before the claim or by it.
        let endpoints = read.asked.skip.iter().cloned().chain(skip_after);
        match passed.as_mut() {
            Some(p) => {
                p.until = read.now;
                p.endpoints.extend(endpoints);
            }
            None => *passed = Some(Passed { until: read.now, endpoints: endpoints.collect(), since: Instant::now() }),
        }
    }

    /// Changes whenever [`Self::forget_passed`] is called.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Forgets what claims learned: something may have made deliveries due in the past
    /// (a retry or replay by hand, another node's work).
    pub fn forget_passed(&self) {
        let mut passed = lock(&self.passed);
        self.generation.fetch_add(1, Ordering::AcqRel);
        *passed = None;
    }

    /// Rate buckets a claim found empty, and when each refills.
    pub fn found_empty(&self, empty: Vec<(WebhookId, DateTime<Utc>)>) {
        lock(&self.empty).extend(empty);
    }

    /// The earliest time an empty bucket refills.
    pub fn refill(&self) -> Option<DateTime<Utc>> {
        lock(&self.empty).values().min().copied()
    }

    /// Counts a claimed delivery in flight until the slot returned is dropped.
    pub fn open(self: &Arc<Self>, item: &Claimed) -> Slot {
        let cap = item.webhook.format.max_in_flight();
        let mut busy = lock(&self.busy);
        let entry = busy.entry(item.webhook.id.clone()).or_insert((0, cap));
        *entry = (entry.0 + 1, cap);
        Slot { fairness: self.clone(), webhook: item.webhook.id.clone() }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One request in flight to an endpoint, from its claim until its attempt is over.
pub struct Slot {
    fairness: Arc<Fairness>,
    webhook: WebhookId,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut busy = lock(&self.fairness.busy);
        if let Some((open, cap)) = busy.get_mut(&self.webhook) {
            let was_full = *open >= *cap;
            *open = open.saturating_sub(1);
            if *open == 0 {
                busy.remove(&self.webhook);
            }
            if was_full {
                self.fairness.wake.notify_one();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    /// A claim that `asked`, with `read_all` as the store said.
    fn learn(f: &Fairness, now: DateTime<Utc>, generation: u64, asked: &ClaimLimits, all: bool) {
        f.learn(ClaimRead { now, generation, asked, read_all: all });
    }

    #[test]
    fn what_a_full_read_passed_over_is_not_read_again_until_its_endpoint_has_room() {
        let f = Fairness::new(Arc::default());
        let stuck = WebhookId::generate();
        // The stuck endpoint's bucket is empty for a minute: it is passed over.
        f.found_empty(vec![(stuck.clone(), at(60))]);
        let asked = f.limits(at(0));
        assert_eq!((asked.due_after, asked.skip.clone()), (None, vec![stuck.clone()]));

        // A claim that did not read to the end teaches nothing.
        learn(&f, at(0), f.generation(), &asked, false);
        assert_eq!(f.limits(at(0)).due_after, None);
        // One that did: later claims start after it.
        learn(&f, at(0), f.generation(), &asked, true);
        let later = f.limits(at(1));
        assert_eq!((later.due_after, later.reopened.clone()), (Some(at(0)), vec![]));
        learn(&f, at(1), f.generation(), &later, true);
        assert_eq!(f.limits(at(2)).due_after, Some(at(1)), "moves on with each full read");

        // Its bucket refilled: its deliveries from before are read, endpoint by endpoint.
        let refilled = f.limits(at(61));
        assert_eq!((refilled.due_after, refilled.reopened.clone()), (Some(at(1)), vec![stuck.clone()]));
        assert!(refilled.skip.is_empty());
        // Read to its end and not passed over again: done.
        learn(&f, at(61), f.generation(), &refilled, true);
        assert_eq!(f.limits(at(62)).reopened, Vec::<WebhookId>::new());
    }

    #[test]
    fn a_reopened_endpoint_that_filled_the_batch_is_read_again() {
        let f = Fairness::new(Arc::default());
        let stuck = WebhookId::generate();
        f.found_empty(vec![(stuck.clone(), at(60))]);
        let asked = f.limits(at(0));
        learn(&f, at(0), f.generation(), &asked, true);
        let reopened = f.limits(at(61));
        assert_eq!(reopened.reopened, vec![stuck.clone()]);
        // A claim that filled its batch did not read to the end.
        learn(&f, at(61), f.generation(), &reopened, false);
        assert_eq!(f.limits(at(61)).reopened, vec![stuck], "it may have more before `due_after`");
    }

    #[test]
    fn forgetting_drops_what_was_learned_and_what_a_claim_meanwhile_read() {
        let f = Fairness::new(Arc::default());
        let stuck = WebhookId::generate();
        f.found_empty(vec![(stuck.clone(), at(60))]);
        let asked = f.limits(at(0));
        learn(&f, at(0), f.generation(), &asked, true);
        assert!(f.limits(at(1)).due_after.is_some());
        f.forget_passed();
        assert_eq!(f.limits(at(1)).due_after, None);

        // A claim that began before a forget learns nothing.
        let generation = f.generation();
        let asked = f.limits(at(2));
        f.forget_passed();
        learn(&f, at(2), generation, &asked, true);
        assert_eq!(f.limits(at(3)).due_after, None);
    }
}
