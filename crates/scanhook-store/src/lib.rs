//! The storage interface of scanhook and its backends.
//!
//! [`Store`] is the only way the engine and the API touch data. Its operations are whole
//! units of work (accept an event and create its deliveries; claim due deliveries under a
//! lease; record an attempt and its outcome), so each backend can make them atomic in its
//! own way: SQLite through a single writer that group-commits, PostgreSQL through
//! transactions and `FOR UPDATE SKIP LOCKED`. Nothing backend-specific leaks out: callers
//! pass `now` in, IDs are made by the caller, and errors are [`StoreError`].

pub mod completion;
pub mod crypto;
mod fair;
pub mod model;
pub mod postgres;
pub mod sqlite;
pub mod transfer;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use scanhook_core::{
    AccountId, ApiKeyId, DeliveryId, EventId, ProjectId, ScanId, ViolationId, WebhookId, WebhookSecret,
};

pub use crypto::SecretBox;
pub use model::*;

/// What went wrong in storage, in terms callers can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// The write was refused because of the state it found; nothing was written.
    #[error("{0}")]
    Conflict(#[from] Conflict),
    /// The database's disk is full: nothing was written, and the same write can succeed
    /// once there is room again (the store recovers by itself, without a restart).
    #[error("the database's disk is full")]
    StorageFull,
    /// The database cannot be reached (a restart, a fail-over, the network): nothing was
    /// written, and the store reconnects by itself, so the same call can succeed later.
    #[error("the database is unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("storage failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A batch's events in the order they are written, each with its place in the batch:
/// those with an idempotency key first, by key (the batch's order among equal keys), then
/// the rest in the batch's order. Every backend writes in this order, so concurrent
/// batches take the keys' index entries in one order and cannot deadlock.
pub fn in_write_order(batch: Vec<NewEvent>) -> Vec<(usize, NewEvent)> {
    let mut events: Vec<(usize, NewEvent)> = batch.into_iter().enumerate().collect();
    // Stable: equal keys, and events without one, keep the batch's order.
    fn key(e: &NewEvent) -> Option<&str> {
        e.idempotency.as_ref().map(|(k, _)| k.as_str())
    }
    events.sort_by(|(_, a), (_, b)| match (key(a), key(b)) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    events
}

/// Results written in [`in_write_order`], back in the batch's order.
pub fn in_batch_order<T>(mut results: Vec<(usize, T)>) -> Vec<T> {
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// Whether the error refuses one write only (decided before it wrote anything), rather
/// than its whole unit of work.
pub fn is_refusal(e: &StoreError) -> bool {
    matches!(e, StoreError::NotFound | StoreError::Conflict(_))
}

/// Why a write was refused, decided by the state it found. Every backend returns these,
/// never text of its own; each has a stable code the API answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    #[error("this account already has {limit} webhooks, the most it may have")]
    WebhookLimit { limit: u32 },
    #[error("the idempotency key was already used with a different request")]
    IdempotencyKeyReused,
    #[error("scan {scan} already ended ({})", status.as_str())]
    ScanEnded { scan: ScanId, status: ScanStatus },
    #[error("violation {violation} is already resolved")]
    ViolationResolved { violation: ViolationId },
    #[error("the delivery is still pending: it is attempted on its schedule")]
    DeliveryPending,
    #[error("that key belongs to another account")]
    KeyOfAnotherAccount,
}

impl Conflict {
    /// The stable code of the API's 409 answer.
    pub fn code(&self) -> &'static str {
        match self {
            Self::WebhookLimit { .. } => "webhook_limit_reached",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::ScanEnded { .. } => "scan_ended",
            Self::ViolationResolved { .. } => "violation_resolved",
            Self::DeliveryPending => "delivery_pending",
            Self::KeyOfAnotherAccount => "key_of_another_account",
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Everything scanhook persists. A backend only persists: what the rows mean — which
/// endpoints an event reaches (`scanhook_core::subscription`), how findings pair with
/// violations (`scan::matching`), what a completed scan raises (`scan::alerts`), how a
/// completion is cut into units ([`completion`]) — is decided in backend-independent code
/// that every backend calls.
///
/// # The contract every backend keeps
///
/// - **Tenancy.** Every method that names an account only ever sees that account's rows:
///   an ID of another account is [`StoreError::NotFound`], exactly like an unknown one.
///   Related lookups are NotFound too: a scan of another account's project, an event
///   targeted at another account's endpoint, a violation of another account.
/// - **Atomicity.** Each method is one unit of work: all of its writes and the events it
///   emits commit together or not at all. A refusal ([`Conflict`], NotFound) writes
///   nothing. The exceptions are said where they are: [`Store::complete_scan`] is several
///   units, each repeatable; [`Store::complete`] records each outcome on its own.
/// - **As if serialised.** Several nodes may call the same method at once. These must
///   behave as if run one after the other (tested in the conformance suite's
///   `concurrent_writes_behave_as_if_serialised`): idempotent ingest (one key: one event,
///   every other request a replay, never an error); the webhook limit (never exceeded;
///   PostgreSQL takes the account's row lock before counting); every scan end (`fail`,
///   `finish`, time-out: a guarded transition from `running`, exactly one wins, one event);
///   every violation transition (resolved by hand or by a scan, reopened: guarded on the
///   status it leaves; the units of one scan's completion hold the scan's row, and
///   PostgreSQL also holds the project's row, so two scans of one project pair findings
///   one after the other); the scan time-out sweep (a scan times out once across nodes);
///   the default account (one, whoever starts first); claims (a delivery leased to one
///   owner at a time); periodic jobs ([`Store::lease_job`]: one holder at a time); patches
///   and deletes that read a row before writing it (`update_webhook`, `update_project`,
///   `delete_project`, `create_api_key`: PostgreSQL holds the row from the read on, so
///   concurrent patches of different fields all land and a delete emits its event once).
///   Rows a unit relies on stay while it runs: the endpoints an ingest fans out to, the
///   project and scan a completion unit works on. SQLite's single writer gives this by itself; its SQL is written as
///   guarded statements anyway (`UPDATE … WHERE status = 'running'`, `INSERT … ON CONFLICT
///   DO NOTHING`, conditional inserts), so that translating it is correct.
/// - **Ordered endpoints** (`format.ordering = "fifo"`, `scanhook_core::format::Ordering`).
///   Each of the endpoint's deliveries takes a place in its queue when its event is
///   accepted, in commit order (PostgreSQL draws the place under the endpoint's row lock).
///   Only the head — its pending delivery with the lowest place — is ever due or leased; the
///   others are pending with no `next_attempt_at`, so [`Store::claim`] never sees them and
///   at most one is in flight across every node. The head's retries, pauses, releases and
///   expired leases keep it the head; when it leaves `pending` (succeeded, dead, held) the
///   next becomes due in the same unit of work. Every unit that moves one of its deliveries
///   into or out of `pending` (ingest, complete, enable, retry, replay, a change of
///   `ordering`) settles its queue; on PostgreSQL each takes the endpoint's row lock first,
///   so of two such units the second sees what the first committed and no queue is left
///   with nothing due. A delivery started again by hand ([`Store::retry_delivery`],
///   [`Store::replay_dead`]) joins the back of the queue; held deliveries replayed by
///   [`Store::enable_webhook`] keep their places. Targeted (test) events are outside the
///   order. Made ordered, an endpoint's pending and held deliveries are numbered in the
///   order they were made (those in flight finish first); made unordered, all are due now.
/// - **Time.** Times are stored with millisecond precision (UTC); callers pass `now` or
///   an [`EventStamp`] already truncated to milliseconds, so what a method returns equals
///   what a later read returns. A backend never reads its own clock.
/// - **Lists.** Newest first by ID (IDs are ULIDs, so by creation time), paged with an
///   opaque cursor ([`Page`], [`Paged`]); a page is at most `limit` items and
///   `next_cursor` is set exactly when more remain. [`Store::list_api_keys`] returns all.
///   History ([`Store::get_violation`]) and attempts ([`Store::get_delivery`]) are oldest
///   first.
/// - **Deletes cascade.** An account takes everything of its own; a webhook its
///   deliveries and their attempts (outcomes in flight are dropped when recorded); a
///   project its scans, violations and their history. Events are never deleted by a
///   delete (only by retention).
/// - **Errors.** Refusals are [`Conflict`] variants, never text a backend wrote; a full
///   disk is [`StoreError::StorageFull`]; a database that cannot be reached, or a unit
///   of work it cancelled because it waited on another in a circle (a deadlock; nothing
///   was written), is [`StoreError::Unavailable`] (the API answers 503 with
///   `Retry-After`, and the request may be made again); anything else is
///   [`StoreError::Backend`]. Backends lock rows in one order (an endpoint, then its
///   deliveries by id) so that the engine's own units never deadlock.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    // --- accounts and API keys ---

    /// Creates the default (admin) account on first start; returns it and whether it is new.
    /// As if serialised: of nodes starting at once, exactly one creates it.
    async fn ensure_default_account(&self, now: DateTime<Utc>) -> StoreResult<(Account, bool)>;
    async fn create_account(&self, account: NewAccount, key: NewApiKey, now: DateTime<Utc>) -> StoreResult<Account>;
    /// One account (for the admin); NotFound when there is none with this ID.
    async fn get_account(&self, id: &AccountId) -> StoreResult<Account>;
    /// Every account, newest first, keyset-paged by ID (for the admin; served by the
    /// primary key's index).
    async fn list_accounts(&self, page: Page) -> StoreResult<Paged<Account>>;
    /// Sets the account's own ingest limit, or with `None` returns it to the deployment's;
    /// the account as it is now. NotFound when there is none with this ID.
    async fn set_account_ingest_limit(&self, id: &AccountId, limit: Option<IngestQuota>) -> StoreResult<Account>;
    /// Adds a key, or with `replace_named` first removes the account's keys of that name
    /// (how a key given in the configuration replaces the previous one).
    async fn create_api_key(
        &self,
        account: &AccountId,
        key: NewApiKey,
        replace_named: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<ApiKeyRecord>;
    async fn list_api_keys(&self, account: &AccountId) -> StoreResult<Vec<ApiKeyRecord>>;
    async fn delete_api_key(&self, account: &AccountId, id: &ApiKeyId) -> StoreResult<()>;
    async fn find_key_owner(&self, key_hash: &str) -> StoreResult<Option<KeyOwner>>;

    // --- webhooks ---

    /// Fails with [`Conflict::WebhookLimit`] when the account already has `limit`; as if
    /// serialised per account, so concurrent creates never exceed it.
    async fn create_webhook(
        &self,
        account: &AccountId,
        webhook: NewWebhook,
        limit: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<Webhook>;
    async fn get_webhook(&self, account: &AccountId, id: &WebhookId) -> StoreResult<Webhook>;
    async fn list_webhooks(&self, account: &AccountId, page: Page) -> StoreResult<Paged<Webhook>>;
    async fn update_webhook(
        &self,
        account: &AccountId,
        id: &WebhookId,
        patch: WebhookPatch,
        now: DateTime<Utc>,
    ) -> StoreResult<Webhook>;
    /// Deletes the endpoint and its deliveries. Outcomes of its deliveries in flight are
    /// dropped when they are recorded (see [`Store::complete`]).
    async fn delete_webhook(&self, account: &AccountId, id: &WebhookId) -> StoreResult<()>;
    /// Enables the endpoint (clearing an automatic disable and its failure count) and
    /// settles the deliveries held for it while it was disabled, as `missed` says, in the
    /// same unit of work.
    async fn enable_webhook(
        &self,
        account: &AccountId,
        id: &WebhookId,
        missed: Missed,
        now: DateTime<Utc>,
    ) -> StoreResult<Webhook>;
    /// Replaces the signing secret; deliveries are signed with the old one too until
    /// `grace_until`.
    async fn rotate_webhook_secret(
        &self,
        account: &AccountId,
        id: &WebhookId,
        secret: WebhookSecret,
        grace_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Webhook>;

    // --- events ---

    /// Stores the event and one pending delivery per active endpoint whose patterns match
    /// (or only for `event.target`), atomically and durably. An endpoint disabled after
    /// failures (it has a `disabled_reason`) gets a `held` delivery instead, settled when
    /// it is enabled again ([`Store::enable_webhook`]); one a user switched off gets none
    /// (`scanhook_core::subscription::reaches` decides). With an idempotency key: the
    /// event that key made is returned as [`Ingested::Replayed`] (a different request
    /// hash is [`Conflict::IdempotencyKeyReused`]); as if serialised per key. A targeted
    /// event's endpoint must be the account's (else NotFound).
    async fn ingest_event(&self, account: &AccountId, event: NewEvent, now: DateTime<Utc>) -> StoreResult<Ingested>;
    /// Stores several events in one unit of work, each as [`Store::ingest_event`] would,
    /// with one result per event in the order given. A domain error (an idempotency key
    /// reused with another request, an unknown target) refuses that event only; any other
    /// error refuses them all, and nothing is written. A key repeated within the batch
    /// behaves as if its events came one after another in the batch's order (the first
    /// makes the event, the others replay or conflict). Events with a key are written in
    /// the order of their keys ([`in_write_order`]), so two batches sharing keys wait for each
    /// other instead of deadlocking.
    async fn ingest_events(
        &self,
        account: &AccountId,
        events: Vec<NewEvent>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<StoreResult<Ingested>>>;
    /// [`Store::ingest_event`], and in the same unit of work the claim `lease` describes of
    /// the deliveries it made that are due at once, as [`Store::claim`] would lease them
    /// (fair share, rate buckets, skip list); the rest stay due for the next claim. The
    /// engine hands what it leased to its dispatcher in memory, so a delivery made while
    /// the dispatcher has room costs no claim of its own. A backend may lease none.
    async fn ingest_event_leased(
        &self,
        account: &AccountId,
        event: NewEvent,
        now: DateTime<Utc>,
        lease: Lease,
    ) -> StoreResult<(Ingested, Claim)> {
        let _ = lease;
        Ok((self.ingest_event(account, event, now).await?, Claim::default()))
    }
    /// [`Store::ingest_events`] with the claim of [`Store::ingest_event_leased`].
    async fn ingest_events_leased(
        &self,
        account: &AccountId,
        events: Vec<NewEvent>,
        now: DateTime<Utc>,
        lease: Lease,
    ) -> StoreResult<(Vec<StoreResult<Ingested>>, Claim)> {
        let _ = lease;
        Ok((self.ingest_events(account, events, now).await?, Claim::default()))
    }
    async fn get_event(&self, account: &AccountId, id: &EventId) -> StoreResult<Event>;
    async fn list_events(&self, account: &AccountId, filter: EventFilter, page: Page) -> StoreResult<Paged<Event>>;

    // --- projects ---

    /// Creates the project and emits `project.created`, in one unit of work.
    async fn create_project(&self, account: &AccountId, project: NewProject, stamp: EventStamp)
    -> StoreResult<Project>;
    async fn get_project(&self, account: &AccountId, id: &ProjectId) -> StoreResult<Project>;
    async fn list_projects(&self, account: &AccountId, page: Page) -> StoreResult<Paged<Project>>;
    async fn update_project(
        &self,
        account: &AccountId,
        id: &ProjectId,
        patch: ProjectPatch,
        now: DateTime<Utc>,
    ) -> StoreResult<Project>;
    /// Deletes the project and emits `project.deleted`, in one unit of work.
    async fn delete_project(&self, account: &AccountId, id: &ProjectId, stamp: EventStamp) -> StoreResult<()>;

    // --- scans ---

    /// Starts a running scan of a project and emits `scan.started`.
    async fn start_scan(&self, account: &AccountId, scan: NewScan, stamp: EventStamp) -> StoreResult<Scan>;
    async fn get_scan(&self, account: &AccountId, id: &ScanId) -> StoreResult<Scan>;
    /// A project's scans, newest first, all or of one status; a project of another
    /// account is NotFound. Served by the indexes `scans(project_id, id)` and
    /// `scans(project_id, status, id)`.
    async fn list_scans(
        &self,
        account: &AccountId,
        project: &ProjectId,
        filter: ScanFilter,
        page: Page,
    ) -> StoreResult<Paged<Scan>>;
    /// Ends a running scan as failed and emits `scan.failed`; a scan that already ended
    /// gets [`Conflict::ScanEnded`] and emits nothing. As if serialised with every other
    /// end of the scan.
    async fn fail_scan(
        &self,
        account: &AccountId,
        id: &ScanId,
        error: (String, String),
        stamp: EventStamp,
    ) -> StoreResult<Scan>;

    /// Completes a running scan: pairs its findings with the project's violations
    /// (`scanhook_core::scan::matching`), continues, reopens, opens and resolves
    /// violations, records each change in the violation's history, and emits
    /// `violation.detected`, `issue.critical`, `violation.resolved` and `scan.completed`.
    /// Written in several units of work of bounded size ([`completion`], the same for
    /// every backend), `scan.completed` in the last; if a completion is cut off (an error,
    /// a crash), the scan is still running and sending the same report again finishes it
    /// without emitting anything twice.
    async fn complete_scan(
        &self,
        account: &AccountId,
        id: &ScanId,
        report: ScanReport,
        stamp: EventStamp,
    ) -> StoreResult<ScanOutcome> {
        completion::complete_scan(self, account, id, report, stamp).await
    }
    /// One unit of a completing scan: each group of look-alike findings is paired with
    /// its open violations (`scan::matching::pair`), which are marked as seen by the scan
    /// at their new place; the rest with its resolved ones, which reopen; what is left
    /// opens new violations. A group that already has a violation seen by this scan was
    /// recorded before and is skipped, so repeating a unit changes nothing. A scan that
    /// is not running gets [`Conflict::ScanEnded`].
    async fn record_findings(
        &self,
        account: &AccountId,
        id: &ScanId,
        groups: Vec<scanhook_core::scan::Group>,
        stamp: EventStamp,
    ) -> StoreResult<()>;
    /// Resolves up to `limit` open violations of the `covered` analyses of the scan's
    /// project that neither this scan nor a newer one (by ID: scan IDs are ULIDs) saw;
    /// returns how many. A violation's last scan only ever moves to a newer scan, so when
    /// scans of one project complete at once, the newest one's view decides.
    async fn resolve_unseen(
        &self,
        account: &AccountId,
        id: &ScanId,
        covered: Vec<scanhook_core::scan::Analysis>,
        limit: usize,
        stamp: EventStamp,
    ) -> StoreResult<usize>;
    /// Ends a running scan as completed: emits `scan.completed` and what the alert policy
    /// raises (`scan::alerts::after_completion`), with counts read from the history.
    async fn finish_scan(
        &self,
        account: &AccountId,
        id: &ScanId,
        finish: ScanFinish,
        stamp: EventStamp,
    ) -> StoreResult<ScanOutcome>;

    /// Stores a running scan's progress; emits `scan.progress` unless one was emitted less
    /// than `min_interval` ago. Returns whether it emitted.
    async fn record_progress(
        &self,
        account: &AccountId,
        id: &ScanId,
        progress: ScanProgress,
        stamp: EventStamp,
    ) -> StoreResult<(Scan, bool)>;
    /// Ends every running scan (of any account) whose deadline is at or before `stamp`'s
    /// time as timed out, emitting `scan.timeout` for each; at most `limit` per call.
    /// Returns how many it ended: a scan that ended meanwhile (another node's sweep, a
    /// completion) is skipped, so each scan times out once.
    async fn time_out_scans(&self, stamp: EventStamp, limit: u32) -> StoreResult<u64>;
    async fn list_violations(
        &self,
        account: &AccountId,
        project: &ProjectId,
        filter: ViolationFilter,
        page: Page,
    ) -> StoreResult<Paged<Violation>>;
    /// A project's violations counted exactly, open ones by severity (`NotFound` for a
    /// project of another account). One range of an index of violations by project, status
    /// and severity.
    async fn count_violations(&self, account: &AccountId, project: &ProjectId) -> StoreResult<ViolationCounts>;
    /// One violation, with what happened to it, oldest first.
    async fn get_violation(
        &self,
        account: &AccountId,
        id: &ViolationId,
    ) -> StoreResult<(Violation, Vec<ViolationChange>)>;
    /// Resolves an open violation by hand and emits `violation.resolved`; one already
    /// resolved gets [`Conflict::ViolationResolved`] (of two concurrent resolutions, one
    /// wins).
    async fn resolve_violation(
        &self,
        account: &AccountId,
        id: &ViolationId,
        resolved_by: String,
        stamp: EventStamp,
    ) -> StoreResult<Violation>;

    // --- the delivery log ---

    async fn list_deliveries(
        &self,
        account: &AccountId,
        filter: DeliveryFilter,
        page: Page,
    ) -> StoreResult<Paged<Delivery>>;
    async fn get_delivery(&self, account: &AccountId, id: &DeliveryId) -> StoreResult<(Delivery, Vec<Attempt>)>;
    /// What the attempt log says about one endpoint of the account (another account's is
    /// NotFound), read in one snapshot, so the figures agree with each other: for each time
    /// in `since`, the attempts started from then until `now` and how many of them failed
    /// ([`Attempt::failed`]), counted exactly; the newest `sample` attempts up to `now`
    /// (any age, newest first; ties of one millisecond by attempt ID, newest first); the
    /// newest failed attempt; and the newest delivery. Bounded in cost whatever the log's
    /// size: each part is one range of the index `attempts(webhook_id, started_at, id,
    /// failed, latency_ms)`, which holds everything counted and sampled (the counts read
    /// the windows' entries, the sample at most `sample`), the last failure is the first
    /// entry of a partial index of failures, the last delivery the first of
    /// `deliveries(webhook_id, id)`. (The migration that made the index, SQLite 0018 and
    /// PostgreSQL 0004, filled it in for the attempts logged before it.)
    async fn webhook_activity(
        &self,
        account: &AccountId,
        id: &WebhookId,
        since: Vec<DateTime<Utc>>,
        now: DateTime<Utc>,
        sample: u32,
    ) -> StoreResult<WebhookActivity>;
    /// Starts a new round of attempts now. A pending delivery gets [`Conflict::DeliveryPending`].
    async fn retry_delivery(&self, account: &AccountId, id: &DeliveryId, now: DateTime<Utc>) -> StoreResult<Delivery>;
    /// Starts a new round for the endpoint's dead deliveries (created at or after `since`).
    async fn replay_dead(
        &self,
        account: &AccountId,
        webhook: &WebhookId,
        since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64>;

    // --- the audit log ---

    /// Appends one entry to its account's audit log. Called right after the change it
    /// describes has committed, in a unit of work of its own.
    async fn record_audit(&self, entry: AuditEntry) -> StoreResult<()>;
    /// The account's audit log, newest first.
    async fn list_audit(&self, account: &AccountId, filter: AuditFilter, page: Page) -> StoreResult<Paged<AuditEntry>>;

    // --- dispatch (the engine's side) ---

    /// Leases up to `limit` due deliveries to `owner` until `lease_until`, in the order they
    /// are due. A delivery whose lease expired (its worker died) is due again; while
    /// leased, its `next_attempt_at` is the lease's end. Each claim is counted until an
    /// outcome is recorded; the count of earlier claims that expired comes back as
    /// [`Claimed::expired_leases`], so the engine can park a delivery that keeps killing
    /// its worker. Atomic: no delivery is leased to two owners at once.
    ///
    /// Fair: of the first `limit` due deliveries of endpoints not in `limits.skip`, it
    /// leases those [`scanhook_core::fair::Share`] takes (each endpoint's `max_in_flight`
    /// less `limits.busy`, and its rate bucket) and leaves the rest due, untouched. Rate
    /// buckets live on their endpoints and are drawn in the same unit of work, guarded by
    /// the value read: a claim that finds another node drew meanwhile leases nothing of
    /// that endpoint this time, so a bucket is never overdrawn across nodes.
    async fn claim(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
        limits: ClaimLimits,
    ) -> StoreResult<Claim>;
    /// [`Store::claim`] for a worker with nothing in flight.
    async fn claim_due(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Claimed>> {
        Ok(self.claim(owner, now, lease_until, limit, ClaimLimits::default()).await?.items)
    }
    /// Records attempts (where one was made) and moves each delivery on, all in one unit
    /// of work; counts endpoint failures and disables an endpoint after `disable_after`
    /// deliveries in a row died. A completion's [`EndpointAction`] pauses its endpoint (its
    /// `retry_not_before` only ever moves later) or disables it at once with the reason
    /// given; [`Outcome::Wait`] only moves when the delivery is due (no attempt, its round
    /// and last error kept). A delivery whose lease `owner` no longer holds keeps its
    /// state (another worker took it over); its attempt is still logged. Each outcome is
    /// recorded on its own: one whose delivery or endpoint is gone (deleted meanwhile) is
    /// dropped, and never fails the call, the other outcomes or writes sharing its commit.
    /// In the same unit it emits the operational events of what it did (core's
    /// `scanhook_core::opevents` payloads): `delivery.dead` for each delivery it made dead
    /// (not for an operational event's own), `endpoint.disabled` for each endpoint it
    /// disabled; only the unit whose guarded write changed the row emits, so an outcome
    /// recorded twice, or on two nodes, tells once.
    async fn complete(
        &self,
        owner: &str,
        completions: Vec<Completion>,
        disable_after: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Moves an endpoint's delivery health to `to` if it is in the other state, and in the
    /// same unit emits `endpoint.failing` or `endpoint.recovered` with `window`, the figures
    /// that decided it (the rule is `scanhook_core::opevents::judge`). Guarded by the old
    /// value: of nodes that judge the same change, only the first moves it and emits.
    /// Returns whether it moved (false too for an endpoint deleted meanwhile).
    async fn set_health(
        &self,
        webhook: WebhookId,
        to: scanhook_core::opevents::Health,
        window: scanhook_core::opevents::Summary,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Gives leased deliveries back without an attempt (shutdown); they are due at `now`,
    /// and the claim does not count as an expired lease.
    async fn release(&self, owner: &str, ids: Vec<DeliveryId>, now: DateTime<Utc>) -> StoreResult<()>;
    /// Extends `owner`'s leases on `ids` to `until` (and their `next_attempt_at` with
    /// them): a live worker keeps what it is still sending or recording, so no other
    /// worker takes it over however long that takes. Guarded by the owner: a lease that
    /// already passed to another worker, or a delivery that has an outcome, is left as it
    /// is. Returns how many leases were extended. Does not count as a claim.
    async fn renew_leases(&self, owner: &str, ids: Vec<DeliveryId>, until: DateTime<Utc>) -> StoreResult<u64>;
    /// The earliest time a pending delivery is due (for a leased one: when its lease ends),
    /// to sleep until then.
    async fn next_due_at(&self) -> StoreResult<Option<DateTime<Utc>>> {
        self.next_due_except(Vec::new(), None).await
    }
    /// [`Store::next_due_at`] of the endpoints not in `skip`, after `after` (what
    /// [`ClaimLimits::due_after`] says of the deliveries due up to it holds).
    async fn next_due_except(
        &self,
        skip: Vec<WebhookId>,
        after: Option<DateTime<Utc>>,
    ) -> StoreResult<Option<DateTime<Utc>>>;

    /// How many deliveries are due at `now`, pending for later, held and dead, and how many
    /// endpoints are disabled (after failures, by a user), across accounts: counts over the
    /// deliveries' status indexes, for the metrics, which cache them.
    async fn queue_depth(&self, now: DateTime<Utc>) -> StoreResult<QueueDepth>;
    /// Readiness: one trivial query, answered by a database whose schema has every
    /// migration this build knows (`Ok(false)`: it answers, but is not migrated).
    async fn ping(&self) -> StoreResult<bool>;
    /// The backend's group commits, if it makes them (SQLite's single writer does; each
    /// PostgreSQL unit of work commits on its own).
    fn group_commits(&self) -> Option<std::sync::Arc<GroupCommits>> {
        None
    }

    /// Carries out one retention step ([`scanhook_core::retention::Prune`], which says
    /// what each takes) on at most `limit` rows older than `before`, as one short unit of
    /// work; returns how many rows it removed or blanked. Fewer than `limit`: the step is
    /// done for this cut-off. Rows the step must keep (a delivery still to be sent, the
    /// event it belongs to) are never touched, whatever their age. Safe to run on several
    /// nodes at once: each batch only removes rows that still qualify when it runs.
    async fn prune(&self, step: scanhook_core::retention::Prune, before: DateTime<Utc>, limit: u32)
    -> StoreResult<u64>;

    // --- dashboard sessions and portal links ---

    /// Stores a new session (its token's hash is the key; a clash is a backend error, as
    /// the token is 256 random bits). Deletes up to 100 sessions and portal links that
    /// ended before `session.created_at` in the same unit, so ended rows do not pile up.
    async fn create_session(&self, session: Session) -> StoreResult<()>;
    /// The session whose token hashes to `token_hash`, if it is still valid at `now`
    /// (both its idle and its absolute end lie after `now`) and the key it came from still
    /// exists (deleting a key deletes its sessions and links). A read only.
    async fn find_session(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<Session>>;
    /// Moves a valid session's idle end to `idle_until` (never past its absolute end,
    /// never backwards); returns whether it was valid at `now`. A guarded update: a
    /// session ended or deleted meanwhile is not brought back.
    async fn touch_session(&self, token_hash: &str, now: DateTime<Utc>, idle_until: DateTime<Utc>)
    -> StoreResult<bool>;
    /// Deletes the session (sign-out); deleting one that is gone is no error.
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;
    /// Stores a portal link to be redeemed once before its `expires_at`; an account that
    /// does not exist is [`StoreError::NotFound`] (a conditional insert: nothing written).
    async fn create_portal_link(&self, link: PortalLink) -> StoreResult<()>;
    /// Uses the portal link whose token hashes to `link_hash`, if unused and valid at
    /// `now`, and opens a session for its account with its limits: `session` gives the
    /// new session's token hash and times, the link everything else. One unit with a
    /// guarded write (the link is marked used only if it was not), so of concurrent
    /// redeems exactly one gets a session; the others, and any later one, get `None`.
    async fn redeem_portal_link(
        &self,
        link_hash: &str,
        session: Session,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Session>>;

    // --- periodic jobs ---

    /// Takes or renews the lease on the periodic job `name` for `owner` until `until`,
    /// unless another owner holds it past `now`; returns whether `owner` holds it now. As
    /// if serialised: at most one owner holds a job at a time, so each periodic job (the
    /// scan sweeper, retention) runs on one node at once, and another node takes over
    /// once the holder's lease expires.
    async fn lease_job(&self, name: &str, owner: &str, now: DateTime<Utc>, until: DateTime<Utc>) -> StoreResult<bool>;
}
