//! Operational events: what scanhook tells an account about its own delivery health
//! (`endpoint.disabled`, `endpoint.failing`, `endpoint.recovered`, `delivery.dead`), their
//! payloads, and the hysteresis rule that says when an endpoint is failing or recovered.
//!
//! No feedback loop: an operational event about an endpoint never reaches that endpoint
//! ([`about`] scopes it, `subscription::reaches` refuses it), and a dead delivery of an
//! operational event emits no `delivery.dead` ([`delivery_dead`] returns `None`), so one
//! failing ops endpoint cannot feed another. Endpoint transitions (disabled, failing,
//! recovered) are emitted once per state change, so they are bounded by nature.
//!
//! Payloads carry account-safe facts only: IDs, the URL without userinfo or query,
//! reasons, counts and rates; never secrets nor the original event's data.

use std::collections::VecDeque;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::subscription::EventScope;
use crate::{DeliveryId, EventId, EventType, WebhookId};

pub const ENDPOINT_DISABLED: &str = "endpoint.disabled";
pub const ENDPOINT_FAILING: &str = "endpoint.failing";
pub const ENDPOINT_RECOVERED: &str = "endpoint.recovered";
pub const DELIVERY_DEAD: &str = "delivery.dead";

/// Whether an event type is one of scanhook's operational events.
pub fn is_operational(event_type: &str) -> bool {
    matches!(event_type, ENDPOINT_DISABLED | ENDPOINT_FAILING | ENDPOINT_RECOVERED | DELIVERY_DEAD)
}

/// The scope of an operational event about `endpoint`: it never reaches that endpoint.
pub fn about(endpoint: &WebhookId) -> EventScope {
    EventScope { about: Some(endpoint.clone()), ..EventScope::default() }
}

/// An endpoint's URL as operational events show it: without userinfo (`user:pass@`), query
/// or fragment, where credentials are commonly put.
pub fn display_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.set_fragment(None);
            url.to_string()
        }
        // Stored URLs were parsed when saved; anything else shows only that it was unreadable.
        Err(_) => String::from("(unreadable URL)"),
    }
}

/// The endpoint an operational event is about.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint<'a> {
    pub id: &'a WebhookId,
    pub url: &'a str,
}

fn at_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn typed(event_type: &str, data: Value) -> (EventType, Value) {
    (EventType::from_trusted(event_type.to_string()), data)
}

/// `endpoint.disabled`: scanhook stopped delivering to the endpoint, and why.
pub fn endpoint_disabled(endpoint: Endpoint<'_>, reason: &str, at: DateTime<Utc>) -> (EventType, Value) {
    typed(
        ENDPOINT_DISABLED,
        json!({
            "endpointId": endpoint.id.as_str(),
            "url": display_url(endpoint.url),
            "reason": reason,
            "disabledAt": at_text(at),
        }),
    )
}

/// A delivery that was given up on.
#[derive(Debug, Clone, Copy)]
pub struct Dead<'a> {
    pub delivery: &'a DeliveryId,
    pub event: &'a EventId,
    pub event_type: &'a str,
    pub attempts: u32,
    pub last_status: Option<u16>,
    pub last_error: Option<&'a str>,
}

/// Longest `lastError` carried (error texts are already cut at 2 KiB; a chat line is shorter).
const MAX_ERROR: usize = 500;

/// `delivery.dead`, or `None` when the dead delivery carried an operational event itself:
/// op events never emit op events about their own deliveries (no cascade between two
/// failing ops endpoints).
pub fn delivery_dead(endpoint: Endpoint<'_>, dead: Dead<'_>, at: DateTime<Utc>) -> Option<(EventType, Value)> {
    if is_operational(dead.event_type) {
        return None;
    }
    let error = dead.last_error.map(|e| {
        let mut end = e.len().min(MAX_ERROR);
        while !e.is_char_boundary(end) {
            end -= 1;
        }
        &e[..end]
    });
    Some(typed(
        DELIVERY_DEAD,
        json!({
            "deliveryId": dead.delivery.as_str(),
            "eventId": dead.event.as_str(),
            "eventType": dead.event_type,
            "endpointId": endpoint.id.as_str(),
            "url": display_url(endpoint.url),
            "attempts": dead.attempts,
            "lastStatus": dead.last_status,
            "lastError": error,
            "deadAt": at_text(at),
        }),
    ))
}

/// An endpoint's delivery health, kept on the endpoint (`webhooks.health`) so that every
/// node and every restart agrees, and each change is announced once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Healthy,
    Failing,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Failing => "failing",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "healthy" => Some(Self::Healthy),
            "failing" => Some(Self::Failing),
            _ => None,
        }
    }

    /// The other state: what a transition to `self` is guarded on.
    pub fn other(self) -> Self {
        match self {
            Self::Healthy => Self::Failing,
            Self::Failing => Self::Healthy,
        }
    }
}

/// Attempts the health window holds (the last ones recorded).
pub const WINDOW: usize = 100;
/// Fewest attempts in the window before an endpoint can be judged failing.
pub const MIN_ATTEMPTS: usize = 10;
/// Failing above this failure rate (per mille: 10 %) ...
pub const FAILING_RATE: u32 = 100;
/// ... or above this p95 latency.
pub const FAILING_P95_MS: u64 = 10_000;
/// Recovered only at or below this failure rate (5 %) ...
pub const RECOVERED_RATE: u32 = 50;
/// ... and at or below this p95 latency.
pub const RECOVERED_P95_MS: u64 = 5_000;

/// The last [`WINDOW`] attempts of one endpoint: whether each failed, and its latency.
#[derive(Debug, Clone, Default)]
pub struct Window {
    attempts: VecDeque<(bool, u64)>,
}

impl Window {
    pub fn push(&mut self, failed: bool, latency_ms: u64) {
        if self.attempts.len() == WINDOW {
            self.attempts.pop_front();
        }
        self.attempts.push_back((failed, latency_ms));
    }

    pub fn summary(&self) -> Summary {
        let mut latencies: Vec<u64> = self.attempts.iter().map(|(_, ms)| *ms).collect();
        latencies.sort_unstable();
        Summary {
            attempts: self.attempts.len() as u32,
            failures: self.attempts.iter().filter(|(failed, _)| *failed).count() as u32,
            p95_ms: crate::stats::percentile(&latencies, 95).unwrap_or(0),
        }
    }
}

/// What a health judgement and its event are based on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub attempts: u32,
    pub failures: u32,
    /// Nearest-rank p95 of the window's latencies (`stats::percentile`).
    pub p95_ms: u64,
}

impl Summary {
    /// Failure rate in per mille, rounded down.
    fn rate(&self) -> u32 {
        if self.attempts == 0 { 0 } else { (u64::from(self.failures) * 1000 / u64::from(self.attempts)) as u32 }
    }

    fn failure_rate(&self) -> f64 {
        if self.attempts == 0 { 0.0 } else { f64::from(self.failures) / f64::from(self.attempts) }
    }
}

/// The hysteresis rule: the state an endpoint moves to, or `None` to stay. A healthy
/// endpoint becomes failing when its window holds at least [`MIN_ATTEMPTS`] and either more
/// than 10 % of them failed or their p95 latency is above 10 s. A failing one recovers only
/// when at most 5 % failed and the p95 is at most 5 s (and at least [`MIN_ATTEMPTS`]): in
/// between, it stays as it is, so an endpoint near the line does not flap.
pub fn judge(current: Health, window: &Summary) -> Option<Health> {
    if (window.attempts as usize) < MIN_ATTEMPTS {
        return None;
    }
    match current {
        Health::Healthy if window.rate() > FAILING_RATE || window.p95_ms > FAILING_P95_MS => Some(Health::Failing),
        Health::Failing if window.rate() <= RECOVERED_RATE && window.p95_ms <= RECOVERED_P95_MS => {
            Some(Health::Healthy)
        }
        _ => None,
    }
}

/// `endpoint.failing` (to `Failing`) or `endpoint.recovered` (to `Healthy`), with the window
/// that decided it.
pub fn endpoint_health(endpoint: Endpoint<'_>, to: Health, window: &Summary, at: DateTime<Utc>) -> (EventType, Value) {
    let (event_type, when) = match to {
        Health::Failing => (ENDPOINT_FAILING, "failingSince"),
        Health::Healthy => (ENDPOINT_RECOVERED, "recoveredAt"),
    };
    typed(
        event_type,
        json!({
            "endpointId": endpoint.id.as_str(),
            "url": display_url(endpoint.url),
            "attempts": window.attempts,
            "failures": window.failures,
            "failureRate": (window.failure_rate() * 1000.0).round() / 1000.0,
            "p95LatencyMs": window.p95_ms,
            when: at_text(at),
        }),
    )
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn summary(attempts: u32, failures: u32, p95_ms: u64) -> Summary {
        Summary { attempts, failures, p95_ms }
    }

    #[test]
    fn an_endpoint_fails_above_ten_percent_or_ten_seconds_and_recovers_at_five() {
        use Health::*;
        assert_eq!(judge(Healthy, &summary(100, 10, 100)), None, "10 % is not above 10 %");
        assert_eq!(judge(Healthy, &summary(100, 11, 100)), Some(Failing));
        assert_eq!(judge(Healthy, &summary(100, 0, 10_001)), Some(Failing));
        assert_eq!(judge(Healthy, &summary(9, 9, 100)), None, "too few attempts to judge");
        assert_eq!(judge(Failing, &summary(100, 6, 100)), None, "between the lines: stays failing");
        assert_eq!(judge(Failing, &summary(100, 5, 5_001)), None, "slow: stays failing");
        assert_eq!(judge(Failing, &summary(100, 5, 5_000)), Some(Healthy));
        assert_eq!(judge(Failing, &summary(100, 11, 100)), None);
        assert_eq!(judge(Healthy, &summary(100, 0, 100)), None);
    }

    #[test]
    fn the_window_keeps_the_last_hundred_attempts() {
        let mut window = Window::default();
        for _ in 0..20 {
            window.push(true, 50);
        }
        for _ in 0..100 {
            window.push(false, 20);
        }
        assert_eq!(window.summary(), summary(100, 0, 20));
        window.push(true, 30_000);
        assert_eq!(window.summary().failures, 1);
    }

    #[test]
    fn dead_operational_deliveries_emit_nothing_and_urls_lose_their_credentials() {
        let id = WebhookId::from_trusted("wh_1".into());
        let endpoint = Endpoint { id: &id, url: "https://user:pw@hooks.example.com/x?token=t#f" };
        let (delivery, event) = (DeliveryId::from_trusted("dlv_1".into()), EventId::from_trusted("evt_1".into()));
        let dead = Dead {
            delivery: &delivery,
            event: &event,
            event_type: ENDPOINT_FAILING,
            attempts: 3,
            last_status: Some(500),
            last_error: Some("boom"),
        };
        assert!(delivery_dead(endpoint, dead, Utc::now()).is_none());
        let (_, data) = delivery_dead(endpoint, Dead { event_type: "scan.completed", ..dead }, Utc::now()).unwrap();
        assert_eq!(data["url"], "https://hooks.example.com/x");
        assert_eq!(data["eventType"], "scan.completed");
        let long = "é".repeat(400);
        let (_, data) =
            delivery_dead(endpoint, Dead { event_type: "a.b", last_error: Some(&long), ..dead }, Utc::now()).unwrap();
        assert!(data["lastError"].as_str().unwrap().len() <= MAX_ERROR);
    }

    proptest! {
        /// No flapping: a state just entered is never left on the same window, and
        /// `judge` never "moves" to the state it is in.
        #[test]
        fn a_transition_is_never_undone_by_the_same_window(
            attempts in 0u32..=100, failures_pct in 0u32..=100, p95 in 0u64..20_000,
        ) {
            let window = summary(attempts, attempts * failures_pct / 100, p95);
            for current in [Health::Healthy, Health::Failing] {
                if let Some(next) = judge(current, &window) {
                    prop_assert_ne!(next, current);
                    prop_assert_eq!(judge(next, &window), None);
                }
            }
        }
    }
}
