//! Each endpoint's share of this worker: its requests in flight, counted by [`Slot`]s, and
//! the rate buckets claims found empty. Claims pass over endpoints that have no room
//! ([`Fairness::limits`]); the rule of what a claim may take is `scanhook_core::fair`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

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
}

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
        ClaimLimits { busy: busy.iter().map(|(id, (open, _))| (id.clone(), *open)).collect(), skip }
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
