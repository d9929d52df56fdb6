//! Fan-out: which endpoints an event reaches. Every backend loads an account's endpoints
//! and asks [`reaches`]; none writes the rule in its own query language.

use crate::scan::Severity;
use crate::{EventPattern, EventType, ProjectId, WebhookId};

/// The project and severity an event concerns, for endpoints that filter on them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventScope {
    pub project: Option<ProjectId>,
    pub severity: Option<Severity>,
    /// The endpoint an operational event is about (`opevents::about`): it never reaches it.
    pub about: Option<WebhookId>,
}

impl EventScope {
    pub fn project(project: &ProjectId) -> Self {
        Self { project: Some(project.clone()), ..Self::default() }
    }

    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = Some(severity);
        self
    }
}

/// Most event type patterns one endpoint subscribes to: every event is matched against
/// each, so a tenant could otherwise slow its own (and the node's) fan-out without bound.
pub const MAX_EVENT_PATTERNS: usize = 100;
/// Most projects one endpoint is limited to (each is looked up when the endpoint is saved).
pub const MAX_PROJECTS: usize = 100;

/// An endpoint as the fan-out sees it.
#[derive(Debug, Clone, Copy)]
pub struct Subscription<'a> {
    pub id: &'a WebhookId,
    /// Event type patterns, as stored (already validated).
    pub events: &'a [String],
    /// Project IDs it is limited to; empty for all.
    pub projects: &'a [String],
    /// Only violation and issue events at or above this severity.
    pub min_severity: Option<Severity>,
    pub active: bool,
    /// scanhook disabled it after failures (rather than a user switching it off).
    pub disabled_by_failures: bool,
}

/// Whether an event reaches `endpoint`, and if so whether its delivery is held. An active
/// endpoint takes what it subscribed to; one scanhook disabled after failures takes it
/// held, so that nothing is lost while the receiver is down (it is due once the endpoint
/// is enabled again); one a user switched off takes nothing. An operational event never
/// reaches the endpoint it is about, whatever it subscribed to (no feedback loop). An endpoint limited to some
/// projects takes only their events; one with a minimum severity takes only the events
/// with a severity (violations, issues) at or above it.
pub fn reaches(endpoint: &Subscription<'_>, event_type: &EventType, scope: &EventScope) -> Option<Held> {
    if scope.about.as_ref() == Some(endpoint.id) {
        return None;
    }
    let held = match (endpoint.active, endpoint.disabled_by_failures) {
        (true, _) => false,
        (false, true) => true,
        (false, false) => return None,
    };
    let subscribed = EventPattern::any_matches(endpoint.events.iter().map(String::as_str), event_type);
    let project_ok = endpoint.projects.is_empty()
        || scope.project.as_ref().is_some_and(|p| endpoint.projects.iter().any(|x| x == p.as_str()));
    let severity_ok = match (endpoint.min_severity, scope.severity) {
        (Some(min), Some(severity)) => severity >= min,
        _ => true,
    };
    (subscribed && project_ok && severity_ok).then_some(Held(held))
}

/// Whether a delivery waits for its endpoint to be enabled again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held(pub bool);

#[cfg(test)]
mod tests {
    use super::*;

    fn t(raw: &str) -> EventType {
        EventType::parse(raw).unwrap()
    }

    #[test]
    fn an_event_reaches_what_subscribed_to_it_in_scope() {
        let (events, projects) = (vec!["violation.*".to_string()], vec!["proj_a".to_string()]);
        let id = WebhookId::from_trusted("wh_a".into());
        let endpoint = Subscription {
            id: &id,
            events: &events,
            projects: &projects,
            min_severity: Some(Severity::High),
            active: true,
            disabled_by_failures: false,
        };
        let project = ProjectId::from_trusted("proj_a".into());
        let high = EventScope::project(&project).with_severity(Severity::High);
        assert_eq!(reaches(&endpoint, &t("violation.detected"), &high), Some(Held(false)));
        assert_eq!(reaches(&endpoint, &t("scan.completed"), &high), None, "not subscribed");
        let low = EventScope::project(&project).with_severity(Severity::Low);
        assert_eq!(reaches(&endpoint, &t("violation.detected"), &low), None, "below the minimum");
        let other = EventScope::project(&ProjectId::from_trusted("proj_b".into()));
        assert_eq!(reaches(&endpoint, &t("violation.detected"), &other), None, "another project");
        assert_eq!(reaches(&endpoint, &t("violation.detected"), &EventScope::default()), None, "no project");
        let everything = Subscription { projects: &[], min_severity: None, ..endpoint };
        assert_eq!(reaches(&everything, &t("violation.detected"), &EventScope::default()), Some(Held(false)));
    }

    #[test]
    fn a_disabled_endpoint_takes_events_held_only_when_scanhook_disabled_it() {
        let events = vec!["*".to_string()];
        let id = WebhookId::from_trusted("wh_a".into());
        let off = Subscription {
            id: &id,
            events: &events,
            projects: &[],
            min_severity: None,
            active: false,
            disabled_by_failures: false,
        };
        assert_eq!(reaches(&off, &t("scan.completed"), &EventScope::default()), None);
        let failing = Subscription { disabled_by_failures: true, ..off };
        assert_eq!(reaches(&failing, &t("scan.completed"), &EventScope::default()), Some(Held(true)));
    }

    #[test]
    fn an_operational_event_never_reaches_the_endpoint_it_is_about() {
        let events = vec!["*".to_string()];
        let (me, other) = (WebhookId::from_trusted("wh_me".into()), WebhookId::from_trusted("wh_ops".into()));
        let mine = Subscription {
            id: &me,
            events: &events,
            projects: &[],
            min_severity: None,
            active: true,
            disabled_by_failures: false,
        };
        let about_me = crate::opevents::about(&me);
        for name in ["endpoint.failing", "endpoint.disabled", "delivery.dead", "endpoint.recovered"] {
            assert_eq!(reaches(&mine, &t(name), &about_me), None, "{name}");
            assert_eq!(reaches(&Subscription { id: &other, ..mine }, &t(name), &about_me), Some(Held(false)), "{name}");
        }
        // Held for an endpoint disabled after failures, but still never about itself.
        let disabled = Subscription { active: false, disabled_by_failures: true, ..mine };
        assert_eq!(reaches(&disabled, &t("endpoint.disabled"), &about_me), None);
    }
}
