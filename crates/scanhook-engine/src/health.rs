//! Each endpoint's delivery health as this node sees it: the window of the last attempts
//! it recorded (`scanhook_core::opevents::Window`), kept in memory and fed by the recorder
//! from the outcomes it writes anyway, so watching health costs no query per delivery.
//! Only a change the rule (`opevents::judge`) asks for goes to the store, whose write is
//! guarded by the old state (`Store::set_health`): of nodes that see the same change, one
//! moves it and emits its event.
//!
//! The state last written or found (`known`) is refreshed only by such writes: an endpoint
//! this node has not judged yet is judged from both sides (bad enough to be failing, good
//! enough to have recovered), and the store's guard settles which it was. Windows are per
//! node: with several nodes each judges the attempts it made.

use std::collections::HashMap;
use std::sync::Mutex;

use scanhook_core::WebhookId;
use scanhook_core::opevents::{Health, Summary, Window, judge};
use scanhook_store::Completion;

use crate::fairness::lock;

#[derive(Default)]
struct Tracked {
    window: Window,
    known: Option<Health>,
}

/// The health windows of the endpoints this node delivered to.
#[derive(Default)]
pub struct HealthWatch {
    endpoints: Mutex<HashMap<WebhookId, Tracked>>,
}

/// An attempt as a window holds it: its endpoint, whether it failed, its latency in ms.
pub type Sample = (WebhookId, bool, u64);

/// A change to write: the endpoint, the state it moves to, and the window that decided it.
pub type Change = (WebhookId, Health, Summary);

impl HealthWatch {
    /// What the windows take of outcomes about to be recorded: each attempt's endpoint,
    /// whether it failed and its latency (outcomes without an attempt count for nothing).
    pub fn samples(outcomes: &[Completion]) -> Vec<Sample> {
        outcomes
            .iter()
            .filter_map(|done| done.attempt.as_ref().map(|a| (done.webhook_id.clone(), a.failed(), a.latency_ms)))
            .collect()
    }

    /// Adds the attempts of recorded outcomes to their endpoints' windows; returns the
    /// changes the rule asks for.
    pub fn record(&self, samples: &[Sample]) -> Vec<Change> {
        let mut endpoints = lock(&self.endpoints);
        let mut touched: Vec<&WebhookId> = Vec::new();
        for (id, failed, latency_ms) in samples {
            endpoints.entry(id.clone()).or_default().window.push(*failed, *latency_ms);
            if !touched.contains(&id) {
                touched.push(id);
            }
        }
        let mut changes = Vec::new();
        for id in touched {
            let Some(tracked) = endpoints.get(id) else { continue };
            let summary = tracked.window.summary();
            let to = match tracked.known {
                Some(known) => judge(known, &summary),
                None => judge(Health::Healthy, &summary).or_else(|| judge(Health::Failing, &summary)),
            };
            if let Some(to) = to {
                changes.push((id.clone(), to, summary));
            }
        }
        changes
    }

    /// The store now holds `health` for `id` (this node moved it, or found it so).
    pub fn settled(&self, id: &WebhookId, health: Health) {
        if let Some(tracked) = lock(&self.endpoints).get_mut(id) {
            tracked.known = Some(health);
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use scanhook_core::{AttemptId, DeliveryId};
    use scanhook_store::{Attempt, Outcome};

    use super::*;

    fn outcome(webhook: &WebhookId, failed: bool) -> Sample {
        HealthWatch::samples(&[completion(webhook, failed)]).remove(0)
    }

    fn completion(webhook: &WebhookId, failed: bool) -> Completion {
        Completion {
            delivery_id: DeliveryId::generate(),
            webhook_id: webhook.clone(),
            attempt: Some(Attempt {
                id: AttemptId::generate(),
                delivery_id: DeliveryId::generate(),
                number: 1,
                started_at: Utc::now(),
                latency_ms: 5,
                status_code: Some(if failed { 500 } else { 200 }),
                error: failed.then(|| "HTTP 500".into()),
                request_headers: vec![],
                request_body: None,
                response_headers: vec![],
                response_body: None,
            }),
            outcome: Outcome::Succeeded,
            note: None,
            endpoint: None,
        }
    }

    #[test]
    fn a_change_is_asked_for_once_it_is_settled() {
        let (watch, id) = (HealthWatch::default(), WebhookId::generate());
        let failures: Vec<_> = (0..10).map(|_| outcome(&id, true)).collect();
        let changes = watch.record(&failures);
        assert_eq!(changes.iter().map(|c| c.1).collect::<Vec<_>>(), [Health::Failing]);
        watch.settled(&id, Health::Failing);
        assert!(watch.record(&[outcome(&id, true)]).is_empty(), "already failing");
        // 11 failures in the window: recovery needs them to be at most 5 % of 100.
        let successes: Vec<_> = (0..94).map(|_| outcome(&id, false)).collect();
        assert!(watch.record(&successes).is_empty(), "6 % still fail");
        let changes = watch.record(&[outcome(&id, false)]);
        assert_eq!(changes.iter().map(|c| c.1).collect::<Vec<_>>(), [Health::Healthy]);
    }
}
