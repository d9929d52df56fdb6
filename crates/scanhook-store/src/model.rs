//! The records the store reads and writes. Wire formats live in the API crates; these are
//! the domain's view of stored rows.

use chrono::{DateTime, Utc};
use scanhook_core::audit::AuditAction;
use scanhook_core::format::DeliveryFormat;
use scanhook_core::scan::Severity;
use scanhook_core::{
    AccountId, ApiKeyId, AttemptId, AuditEntryId, DeliveryId, DeliveryStatus, EventId, EventType, ExtraHeaders,
    ProjectId, ScanId, ViolationId, WebhookId, WebhookSecret, WebhookUrl,
};

#[derive(Debug, Clone)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    /// May manage accounts (the default account only).
    pub is_admin: bool,
    pub created_at: DateTime<Utc>,
    /// Its own limit on the events it reports, set by the admin; `None`: the deployment's.
    pub ingest_limit: Option<IngestQuota>,
}

/// Events an account may report: `per_second` on average, `burst` at once (both at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestQuota {
    pub per_second: u32,
    pub burst: u32,
}

#[derive(Debug, Clone)]
pub struct NewAccount {
    pub id: AccountId,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub id: ApiKeyId,
    pub name: String,
    pub key_hash: String,
    pub prefix: String,
}

#[derive(Debug, Clone)]
pub struct ApiKeyRecord {
    pub id: ApiKeyId,
    pub account_id: AccountId,
    pub name: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
}

/// Who a presented key belongs to.
#[derive(Debug, Clone)]
pub struct KeyOwner {
    pub key_id: ApiKeyId,
    pub account_id: AccountId,
    pub is_admin: bool,
}

#[derive(Debug, Clone)]
pub struct Webhook {
    pub id: WebhookId,
    pub account_id: AccountId,
    pub url: WebhookUrl,
    pub description: Option<String>,
    /// Validated event patterns, as the user wrote them.
    pub events: Vec<String>,
    pub secret: WebhookSecret,
    pub headers: ExtraHeaders,
    pub active: bool,
    /// Only events of these projects (empty: every event).
    pub projects: Vec<String>,
    /// Only violation and issue events of at least this severity.
    pub min_severity: Option<Severity>,
    /// Signature scheme, body shape, timeout and header prefix of its deliveries.
    pub format: DeliveryFormat,
    /// The secret the last rotation replaced and until when deliveries are also signed
    /// with it.
    pub previous_secret: Option<(WebhookSecret, DateTime<Utc>)>,
    /// Set when scanhook disabled the endpoint itself (too many failures).
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    /// Deliveries in a row that died; reset by a success.
    pub consecutive_failures: u32,
    /// Nothing is sent to the endpoint before this time: its receiver answered `429` or
    /// `503` with `Retry-After` ([`EndpointAction::PauseUntil`]).
    pub retry_not_before: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub id: WebhookId,
    pub url: WebhookUrl,
    pub description: Option<String>,
    pub events: Vec<String>,
    pub secret: WebhookSecret,
    pub headers: ExtraHeaders,
    pub active: bool,
    pub projects: Vec<String>,
    pub min_severity: Option<Severity>,
    pub format: DeliveryFormat,
}

/// A partial update; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WebhookPatch {
    pub url: Option<WebhookUrl>,
    pub description: Option<Option<String>>,
    pub events: Option<Vec<String>>,
    pub headers: Option<ExtraHeaders>,
    /// `Some(true)` also clears an automatic disable and the failure count.
    pub active: Option<bool>,
    pub projects: Option<Vec<String>>,
    pub min_severity: Option<Option<Severity>>,
    /// Replaces the whole delivery format.
    pub format: Option<DeliveryFormat>,
    /// Replaces the signing secret at once and drops a rotated-out one: for a change of
    /// scheme between a shared secret and an Ed25519 key, where the old secret cannot sign
    /// under the new scheme (a rotation with a grace period is `rotate_webhook_secret`).
    pub secret: Option<WebhookSecret>,
}

#[derive(Debug, Clone)]
pub struct Event {
    pub id: EventId,
    pub account_id: AccountId,
    pub event_type: EventType,
    pub timestamp: DateTime<Utc>,
    /// The producer's `data`, byte for byte (a JSON object).
    pub data: String,
    /// Set for events sent to one endpoint only (test events).
    pub target: Option<WebhookId>,
    pub delivery_count: u32,
}

#[derive(Debug, Clone)]
pub struct NewEvent {
    pub id: EventId,
    pub event_type: EventType,
    pub timestamp: DateTime<Utc>,
    pub data: String,
    pub target: Option<WebhookId>,
    /// `(key, hash of the request)`: a repeat with the same key returns the first event.
    pub idempotency: Option<(String, String)>,
    /// When the first attempt of each delivery is due.
    pub first_attempt_at: DateTime<Utc>,
    /// What endpoint filters look at.
    pub scope: EventScope,
    /// The W3C `traceparent` its deliveries continue (the producer's trace, or the ingest
    /// span's); `None` when none was known.
    pub trace_parent: Option<String>,
}

impl NewEvent {
    /// An event the store derives itself (from a project or scan change), stamped by the
    /// caller: no target, no idempotency key.
    pub fn derived((event_type, data): (EventType, serde_json::Value), scope: EventScope, stamp: EventStamp) -> Self {
        Self {
            id: EventId::generate(),
            event_type,
            timestamp: stamp.timestamp,
            data: data.to_string(),
            target: None,
            idempotency: None,
            first_attempt_at: stamp.first_attempt_at,
            scope,
            trace_parent: stamp.trace_parent.map(|t| t.to_string()),
        }
    }
}

pub use scanhook_core::subscription::EventScope;

#[derive(Debug, Clone)]
pub enum Ingested {
    Created(Event),
    /// The idempotency key was seen before: this is the event it created.
    Replayed(Event),
}

impl Ingested {
    /// The event, new or replayed.
    pub fn into_event(self) -> Event {
        match self {
            Self::Created(event) | Self::Replayed(event) => event,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub event_type: Option<EventType>,
    /// Only events about this project (the project a derived event is emitted for).
    pub project_id: Option<ProjectId>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: DeliveryId,
    pub account_id: AccountId,
    pub event_id: EventId,
    pub event_type: EventType,
    pub webhook_id: WebhookId,
    pub status: DeliveryStatus,
    /// Attempts made in all rounds.
    pub attempt_count: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<u16>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub webhook_id: Option<WebhookId>,
    pub event_id: Option<EventId>,
    pub status: Option<DeliveryStatus>,
    pub event_type: Option<EventType>,
    /// Only deliveries made at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only deliveries made before this time.
    pub until: Option<DateTime<Utc>>,
}

/// What the attempt log says about one endpoint ([`crate::Store::webhook_activity`]);
/// `scanhook_core::stats` turns it into the endpoint's stats.
#[derive(Debug, Clone)]
pub struct WebhookActivity {
    /// Per window asked for, in the same order: its attempts and failures, counted exactly.
    pub counts: Vec<scanhook_core::stats::Counts>,
    /// The newest attempts, of any age, newest first: at most as many as asked for.
    pub recent: Vec<scanhook_core::stats::Sampled>,
    /// The newest failed attempt, however old.
    pub last_failure: Option<FailedAttempt>,
    /// The newest delivery made for the endpoint, whatever its status.
    pub last_delivery: Option<Delivery>,
}

/// A failed attempt, as the stats show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedAttempt {
    pub delivery_id: DeliveryId,
    pub started_at: DateTime<Utc>,
    pub status_code: Option<u16>,
    pub error: Option<String>,
}

/// One HTTP request of a delivery and what came back.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub id: AttemptId,
    pub delivery_id: DeliveryId,
    /// 1-based, counted over all rounds; the `X-Scanhook-Attempt` header.
    pub number: u32,
    pub started_at: DateTime<Utc>,
    pub latency_ms: u64,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub request_headers: Vec<(String, String)>,
    /// `None`: the canonical envelope of the event was sent (it is rebuilt when read,
    /// rather than stored once per attempt).
    pub request_body: Option<String>,
    pub response_headers: Vec<(String, String)>,
    pub response_body: Option<String>,
}

impl Attempt {
    /// Whether the attempt failed: the sender gives every failure an error (a status other
    /// than 2xx, a connection or read failure, nothing sent), and a success none. Stored
    /// with the attempt, so the stats count failures from an index.
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }
}

/// A leased delivery with everything needed to send it.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub delivery_id: DeliveryId,
    pub attempt_count: u32,
    pub round_attempts: u32,
    /// Earlier claims of this delivery that ended with neither an outcome nor a release:
    /// their leases expired because the worker crashed or hung on it.
    pub expired_leases: u32,
    pub event: Event,
    pub webhook: Webhook,
    /// The event's W3C `traceparent` ([`NewEvent::trace_parent`]).
    pub trace_parent: Option<String>,
}

/// What a claim must leave alone besides deliveries not yet due (the rules are
/// [`scanhook_core::fair`]'s).
#[derive(Debug, Clone, Default)]
pub struct ClaimLimits {
    /// The claiming worker's requests in flight, per endpoint (only endpoints with some):
    /// an endpoint takes at most its `max_in_flight` less these.
    pub busy: std::collections::HashMap<WebhookId, u32>,
    /// Endpoints passed over entirely: at their cap on this worker, or with an empty rate
    /// bucket. Their due deliveries are not read.
    pub skip: Vec<WebhookId>,
    /// Every delivery due up to this time belongs to an endpoint in `skip` or `reopened`
    /// (an earlier claim read them all and passed over the rest): the claim reads due
    /// deliveries after it, so an endpoint's long backlog is not read again at each claim.
    pub due_after: Option<DateTime<Utc>>,
    /// Endpoints that left `skip` since `due_after` was found: their deliveries due up to it
    /// are read endpoint by endpoint, oldest first.
    pub reopened: Vec<WebhookId>,
}

/// A claim an ingest may make of the deliveries it creates, in its own unit of work
/// ([`crate::Store::ingest_event_leased`]): the one the owner's dispatcher would make next.
#[derive(Debug, Clone)]
pub struct Lease {
    pub owner: String,
    pub until: DateTime<Utc>,
    /// At most so many deliveries (the dispatcher's free room).
    pub limit: u32,
    pub limits: ClaimLimits,
}

/// What a claim leased, and the rate-limited endpoints it passed over.
#[derive(Debug, Default)]
pub struct Claim {
    pub items: Vec<Claimed>,
    /// Endpoints with due deliveries left unleased because their rate bucket was empty, and
    /// when it holds a token again (another node may draw it first).
    pub empty: Vec<(WebhookId, DateTime<Utc>)>,
    /// Of the deliveries an ingest made ([`crate::Store::ingest_event_leased`]), those left
    /// due unread because their endpoint was in `limits.skip` (at its cap, or its bucket
    /// empty): a freed slot or a refill wakes the dispatcher for them, nothing else need.
    /// Always 0 for [`crate::Store::claim`].
    pub passed_over: u32,
    /// The claim read every due delivery it was asked to look at (after `due_after`, not
    /// in `skip`), none left unread for its limit: all still due up to the claim's `now`
    /// are those it passed over. Always false for an ingest's claim, and where a backend
    /// cannot tell (PostgreSQL: rows other nodes are claiming are skipped unseen); a
    /// backend that never sets it may ignore `due_after` and `reopened`.
    pub read_all: bool,
}

/// A backend's group commits, counted as they are made ([`crate::Store::group_commits`]).
#[derive(Debug, Default)]
pub struct GroupCommits {
    commits: std::sync::atomic::AtomicU64,
    writes: std::sync::atomic::AtomicU64,
}

impl GroupCommits {
    /// A commit of `writes` units of work.
    pub fn count(&self, writes: usize) {
        use std::sync::atomic::Ordering::Relaxed;
        self.commits.fetch_add(1, Relaxed);
        self.writes.fetch_add(writes as u64, Relaxed);
    }

    /// Commits made so far.
    pub fn commits(&self) -> u64 {
        self.commits.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Units of work those commits held.
    pub fn writes(&self) -> u64 {
        self.writes.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// What [`crate::Store::queue_depth`] counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Pending and due now (leased ones included: due when their lease ends).
    pub due: u64,
    /// Pending and due later: a retry on its schedule, or a receiver's pause.
    pub scheduled: u64,
    /// Kept for an endpoint disabled after failures, until it is enabled.
    pub held: u64,
    pub dead: u64,
    /// Endpoints scanhook disabled (failures in a row, `410 Gone`).
    pub disabled_by_failures: u64,
    /// Endpoints a user switched off.
    pub disabled_by_user: u64,
}

/// Where a delivery goes after an attempt (or a decision not to attempt).
#[derive(Debug, Clone)]
pub enum Outcome {
    Succeeded,
    RetryAt(DateTime<Utc>),
    /// The round is over. `counts_as_failure` is false when nothing was tried (the
    /// endpoint was disabled), so it does not push the endpoint further towards disabling.
    Dead {
        counts_as_failure: bool,
    },
    /// Not sent: its endpoint was disabled after failures while the delivery waited. Kept
    /// like the deliveries of events accepted meanwhile, for `enable` with `replay_missed`.
    /// (Also the delivery whose attempt got `410 Gone`, with its attempt.)
    Held,
    /// Not sent: its endpoint's receiver asked for a pause that lasts until then
    /// ([`Webhook::retry_not_before`]). Due again then, with nothing counted: no attempt,
    /// its round and its last error as they were.
    Wait(DateTime<Utc>),
}

/// What an outcome does to its endpoint as a whole, as its receiver asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointAction {
    /// Send nothing to the endpoint before then ([`Webhook::retry_not_before`]; only ever
    /// moved later, so of two nodes' answers the longer pause stands).
    PauseUntil(DateTime<Utc>),
    /// Disable the endpoint now with this reason, as an automatic disable (its deliveries
    /// are held for `enable`).
    Disable(String),
}

#[derive(Debug, Clone)]
pub struct Completion {
    pub delivery_id: DeliveryId,
    pub webhook_id: WebhookId,
    pub attempt: Option<Attempt>,
    pub outcome: Outcome,
    /// Shown on the delivery when no attempt was made.
    pub note: Option<String>,
    /// What the receiver's answer does to the endpoint (429/503 with `Retry-After`, 410).
    pub endpoint: Option<EndpointAction>,
}

/// The note on a held delivery given up when its endpoint was enabled without
/// `replay_missed` or switched off by hand; `replay` sends it after all.
pub const NOT_SENT_WHILE_DISABLED: &str = "not sent: the endpoint was disabled";

/// What happens to deliveries held for an endpoint disabled after failures when it is
/// enabled again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missed {
    /// They become pending, due in the order they were made (oldest first).
    Replay,
    /// They become dead with this note, so a later replay still finds them.
    GiveUp(String),
}

/// When events a store operation derives are stamped and first due; their IDs are made
/// by the store.
#[derive(Debug, Clone, Copy)]
pub struct EventStamp {
    pub timestamp: DateTime<Utc>,
    pub first_attempt_at: DateTime<Utc>,
    /// The trace the events continue ([`NewEvent::trace_parent`]).
    pub trace_parent: Option<scanhook_core::trace_parent::TraceParent>,
}

impl EventStamp {
    /// Stamped `now` and due at once (the operational events a unit of work emits).
    pub fn at(now: DateTime<Utc>) -> Self {
        Self { timestamp: now, first_attempt_at: now, trace_parent: None }
    }
}

#[derive(Debug, Clone)]
pub struct Project {
    pub id: ProjectId,
    pub account_id: AccountId,
    pub name: String,
    /// What is scanned: a repository URL, a domain, a service name.
    pub target: Option<String>,
    /// Points a score must fall by (from the previous completed scan) to raise an alert.
    pub score_drop_threshold: u32,
    /// A scan neither completed nor failed within this time has timed out.
    pub scan_time_limit_secs: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewProject {
    pub id: ProjectId,
    pub name: String,
    pub target: Option<String>,
    pub score_drop_threshold: u32,
    pub scan_time_limit_secs: u64,
}

/// A partial update; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProjectPatch {
    pub name: Option<String>,
    pub target: Option<Option<String>>,
    pub score_drop_threshold: Option<u32>,
    pub scan_time_limit_secs: Option<u64>,
}

/// Where a scan stands; it ends once, in one of the last three.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanStatus {
    Running,
    Completed,
    Failed,
    TimedOut,
}

impl ScanStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::TimedOut => "timed_out",
        }
    }

    pub fn from_stored(raw: &str) -> Option<Self> {
        [Self::Running, Self::Completed, Self::Failed, Self::TimedOut].into_iter().find(|s| s.as_str() == raw)
    }
}

#[derive(Debug, Clone)]
pub struct Scan {
    pub id: ScanId,
    pub account_id: AccountId,
    pub project_id: ProjectId,
    pub status: ScanStatus,
    pub target: Option<String>,
    /// Rule sets the scan checks, such as `gdpr`, `soc2`, `owasp`.
    pub rules: Vec<String>,
    pub started_at: DateTime<Utc>,
    /// A scan still running then has timed out.
    pub deadline_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// `(code, message)` of a failed scan.
    pub error: Option<(String, String)>,
    pub files_scanned: Option<u64>,
    pub score: Option<u32>,
    pub grade: Option<String>,
    /// The tool and category named when the scan started (empty when none was).
    pub analysis: scanhook_core::scan::Analysis,
    /// What the completed scan covered: the open violations it could resolve.
    pub covered: Vec<scanhook_core::scan::Analysis>,
    /// The directory its absolute paths are relative to (`scan::path::parse_root`).
    pub root: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Violation {
    pub id: ViolationId,
    pub project_id: ProjectId,
    pub finding: scanhook_core::scan::Finding,
    /// `open` or `resolved`.
    pub open: bool,
    pub first_scan_id: ScanId,
    pub last_scan_id: ScanId,
    /// `"scan"`, or who resolved it by hand.
    pub resolved_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// One thing that happened to a violation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViolationChange {
    /// `detected`, `resolved` or `reopened`.
    pub action: String,
    pub at: DateTime<Utc>,
    /// The scan that did it (none for a resolution by hand).
    pub scan_id: Option<ScanId>,
    /// Who resolved it: `"scan"`, or the name given by hand.
    pub by: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ScanFilter {
    pub status: Option<ScanStatus>,
}

/// A project's violations counted exactly: the open ones by severity (only severities
/// with any), and the resolved ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ViolationCounts {
    pub open: std::collections::BTreeMap<scanhook_core::scan::Severity, u64>,
    pub resolved: u64,
}

impl ViolationCounts {
    /// Adds `n` violations of `status` (`open` or `resolved`) and `severity`, as stored.
    pub fn add(&mut self, status: &str, severity: &str, n: u64) {
        match (status, scanhook_core::scan::Severity::parse(severity)) {
            ("open", Ok(severity)) => *self.open.entry(severity).or_default() += n,
            ("open", Err(_)) => {}
            _ => self.resolved += n,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ViolationFilter {
    pub open: Option<bool>,
    pub severity: Option<scanhook_core::scan::Severity>,
    pub tool: Option<String>,
}

/// How far a running scan is.
#[derive(Debug, Clone)]
pub struct ScanProgress {
    pub percent: u8,
    pub files_scanned: Option<u64>,
    pub message: Option<String>,
    /// `scan.progress` is emitted only if the last one is at least this old.
    pub min_interval: chrono::Duration,
}

/// What a scanner reports when a scan completes.
#[derive(Debug, Clone, Default)]
pub struct ScanReport {
    pub findings: Vec<scanhook_core::scan::Finding>,
    /// The analyses a SARIF log's runs cover; empty for scanhook's JSON, whose findings are
    /// the scan's own analysis (`scanhook_core::scan::cover`).
    pub analyses: Vec<scanhook_core::scan::Analysis>,
    pub files_scanned: Option<u64>,
    pub score: Option<u32>,
    pub grade: Option<String>,
}

/// What the last unit of a completion needs besides the database: the scanner's figures
/// and the counts of the distinct findings.
#[derive(Debug, Clone)]
pub struct ScanFinish {
    pub counts: scanhook_core::scan::events::SeverityCounts,
    pub covered: Vec<scanhook_core::scan::Analysis>,
    pub files_scanned: Option<u64>,
    pub score: Option<u32>,
    pub grade: Option<String>,
}

/// A completed scan and what it changed on its project.
#[derive(Debug, Clone)]
pub struct ScanOutcome {
    pub scan: Scan,
    /// Violations this scan opened: new ones, and resolved ones it found again.
    pub detected: u64,
    /// Of `detected`, those resolved earlier and reopened.
    pub reopened: u64,
    /// Open violations this scan no longer found.
    pub resolved: u64,
    /// Violations open on the project after the scan (of every tool).
    pub open: u64,
}

#[derive(Debug, Clone)]
pub struct NewScan {
    pub id: ScanId,
    pub project_id: ProjectId,
    /// Defaults to the project's target.
    pub target: Option<String>,
    pub rules: Vec<String>,
    /// Defaults to the project's scan time limit.
    pub time_limit_secs: Option<u64>,
    /// The tool and category whose findings the scan reports.
    pub analysis: scanhook_core::scan::Analysis,
    /// The directory the scan's absolute paths are made relative to.
    pub root: Option<String>,
}

/// One management action in an account's audit log.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub id: AuditEntryId,
    pub account_id: AccountId,
    /// The API key that acted.
    pub key_id: ApiKeyId,
    pub at: DateTime<Utc>,
    pub action: AuditAction,
    /// The ID of what the action changed (a webhook, a key, an account, a delivery).
    pub target_id: String,
    /// What changed: field names with non-secret values; a secret shows only that it
    /// changed (`[redacted]`).
    pub changes: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<AuditAction>,
    pub target_id: Option<String>,
    /// Only entries at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only entries before this time.
    pub until: Option<DateTime<Utc>>,
}

/// A page request: newest first, `cursor` is the last ID of the previous page.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub limit: u32,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// A dashboard session, stored by the hash of its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub token_hash: String,
    pub account_id: AccountId,
    /// The API key that signed in, or that made the portal link it came from: the audit
    /// log names it, and deleting the key ends the session.
    pub key_id: ApiKeyId,
    /// Whether the session may act as the admin account (never for a portal session).
    pub is_admin: bool,
    /// Every state-changing API call is refused.
    pub read_only: bool,
    /// When set, the event-type patterns the session is limited to.
    pub event_types: Option<Vec<String>>,
    pub created_at: DateTime<Utc>,
    /// Ends unless a request moves it on ([`crate::Store::touch_session`]).
    pub idle_until: DateTime<Utc>,
    /// Ends whatever happens.
    pub expires_at: DateTime<Utc>,
}

/// A portal link not yet used: who made it and what session it opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalLink {
    pub token_hash: String,
    pub account_id: AccountId,
    pub key_id: ApiKeyId,
    pub read_only: bool,
    pub event_types: Option<Vec<String>>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A session's or link's event-type limits as stored (a JSON array, or NULL), for every
/// backend.
pub(crate) fn limits_to_json(list: &Option<Vec<String>>) -> Option<String> {
    list.as_ref().map(|l| serde_json::Value::from(l.clone()).to_string())
}

/// The stored limits read back. A value that is not a list of strings (never written so)
/// limits the session to nothing rather than to everything.
pub(crate) fn limits_from_json(raw: Option<String>) -> Option<Vec<String>> {
    raw.map(|raw| serde_json::from_str(&raw).unwrap_or_default())
}
