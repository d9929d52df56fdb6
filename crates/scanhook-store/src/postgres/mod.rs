//! The PostgreSQL backend, for several nodes sharing one database: a pool of connections
//! (deadpool-postgres over tokio-postgres), each store method one READ COMMITTED
//! transaction. What the contract says must behave as if serialised is made so by the
//! statements themselves, not by a single writer: guarded transitions (`UPDATE … WHERE
//! status = …`, which a concurrent winner makes change nothing), `INSERT … ON CONFLICT DO
//! NOTHING` on unique indexes (idempotency keys, the default account), the account's row
//! lock before counting its webhooks, the project's row lock while a scan's completion
//! pairs findings, and `FOR UPDATE SKIP LOCKED` for claims. Secrets are sealed and opened
//! in Rust around the queries (the same [`SecretBox`] text SQLite stores). Connections use
//! TLS as the URL's `sslmode` says (`tls.rs`).
//!
//! Errors: a full disk (`53100`) is [`StoreError::StorageFull`]; a lost connection, a
//! server shutting down and a pool timeout are [`StoreError::Unavailable`] (503 with
//! `Retry-After`); everything else is [`StoreError::Backend`]. A deadlock or serialization
//! failure (which the statements here are written to avoid) rolls the unit back and is
//! `Backend` too: nothing was written, and the caller may try again. Units are not retried
//! here.

mod accounts;
mod audit;
mod deliveries;
mod dispatch;
mod events;
mod fifo;
mod jobs;
mod listen;
mod projects;
mod query;
mod retention;
mod rows;
mod scans;
pub(crate) mod schema;
mod sessions;
mod stats;
mod tls;
mod violations;
mod webhooks;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use scanhook_core::{
    AccountId, ApiKeyId, DeliveryId, EventId, ProjectId, ScanId, ViolationId, WebhookId, WebhookSecret,
};
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

use crate::model::*;
use crate::{SecretBox, Store, StoreError, StoreResult};
pub use tls::{Settings, SslMode};

/// Longest wait for a free connection, a new one, or a check of a used one.
const POOL_WAIT: Duration = Duration::from_secs(10);

/// One unit of work's connection, inside its transaction.
pub(crate) type Tx<'a> = deadpool_postgres::Transaction<'a>;
type Param<'a> = &'a (dyn ToSql + Sync);

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.code() {
            Some(code) if *code == SqlState::DISK_FULL => StoreError::StorageFull,
            // The server is shutting down, restarting or not accepting connections yet.
            Some(code)
                if [SqlState::ADMIN_SHUTDOWN, SqlState::CRASH_SHUTDOWN, SqlState::CANNOT_CONNECT_NOW]
                    .contains(code) =>
            {
                StoreError::Unavailable(Box::new(e))
            }
            // No SQL state: the connection itself failed or closed.
            None if e.is_closed() || std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>()) => {
                StoreError::Unavailable(Box::new(e))
            }
            // Two units of work that waited on each other: nothing was written, and the same
            // request may simply be made again.
            Some(code) if [SqlState::T_R_DEADLOCK_DETECTED, SqlState::T_R_SERIALIZATION_FAILURE].contains(code) => {
                StoreError::Unavailable(Box::new(e))
            }
            // tokio-postgres displays every server error as "db error": name it.
            _ => match e.as_db_error() {
                Some(db) => {
                    StoreError::Backend(format!("{} ({}): {}", db.severity(), db.code().code(), db.message()).into())
                }
                None => StoreError::Backend(Box::new(e)),
            },
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            // No connection within the wait: the database is away or overloaded.
            timeout @ deadpool_postgres::PoolError::Timeout(_) => StoreError::Unavailable(Box::new(timeout)),
            other => StoreError::Backend(Box::new(other)),
        }
    }
}

/// Runs a statement (prepared once per connection) and returns its rows.
async fn rows_of(c: &Tx<'_>, sql: &str, params: &[Param<'_>]) -> StoreResult<Vec<Row>> {
    let stmt = c.prepare_cached(sql).await?;
    Ok(c.query(&stmt, params).await?)
}

/// The statement's one row; none is [`StoreError::NotFound`].
async fn row_of(c: &Tx<'_>, sql: &str, params: &[Param<'_>]) -> StoreResult<Row> {
    opt_row_of(c, sql, params).await?.ok_or(StoreError::NotFound)
}

async fn opt_row_of(c: &Tx<'_>, sql: &str, params: &[Param<'_>]) -> StoreResult<Option<Row>> {
    let stmt = c.prepare_cached(sql).await?;
    Ok(c.query_opt(&stmt, params).await?)
}

/// Runs a statement; returns how many rows it changed.
async fn exec(c: &Tx<'_>, sql: &str, params: &[Param<'_>]) -> StoreResult<u64> {
    let stmt = c.prepare_cached(sql).await?;
    Ok(c.execute(&stmt, params).await?)
}

pub struct PostgresStore {
    pool: Pool,
    key: SecretBox,
    /// For the work listener's own connection.
    settings: Settings,
}

/// A pool of at most `size` connections made with `settings` (nothing connects yet).
pub(crate) fn pool(settings: &Settings, size: usize) -> StoreResult<Pool> {
    let mut config = settings.config.clone();
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(5));
    }
    if config.get_application_name().is_none() {
        config.application_name("scanhook");
    }
    let manager =
        Manager::from_config(config, settings.tls.clone(), ManagerConfig { recycling_method: RecyclingMethod::Fast });
    // Bounded waits: with the database away, a request fails (Unavailable) instead of
    // queueing for a connection without end.
    Pool::builder(manager)
        .max_size(size.max(1))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .wait_timeout(Some(POOL_WAIT))
        .create_timeout(Some(POOL_WAIT))
        .recycle_timeout(Some(POOL_WAIT))
        .build()
        .map_err(|e| StoreError::Backend(Box::new(e)))
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db`, with libpq's
    /// `sslmode` and `sslrootcert`: `tls.rs`) with a pool of at most `pool_size`
    /// connections, and migrates it (safe when several nodes start at once). Another key
    /// than the one the database was first opened with is refused here.
    pub async fn connect(url: &str, pool_size: usize, key: SecretBox) -> StoreResult<Self> {
        Self::connect_with(Settings::parse(url)?, pool_size, key).await
    }

    /// [`PostgresStore::connect`] with the driver's settings already parsed (its `sslmode`,
    /// certificates not checked).
    pub async fn connect_config(config: tokio_postgres::Config, pool_size: usize, key: SecretBox) -> StoreResult<Self> {
        Self::connect_with(Settings::from_config(config)?, pool_size, key).await
    }

    /// [`PostgresStore::connect`] with the settings already read.
    pub async fn connect_with(settings: Settings, pool_size: usize, key: SecretBox) -> StoreResult<Self> {
        let pool = pool(&settings, pool_size)?;
        let store = Self { pool, key, settings };
        let mut client = store.pool.get().await?;
        schema::migrate(&mut client, &store.key).await?;
        Ok(store)
    }
}

impl PostgresStore {
    /// Calls `wake` whenever a unit of work on any node sharing this database made
    /// deliveries due (`listen.rs`), and once on each (re)connection; stops when the
    /// returned task is aborted.
    pub fn listen_for_work(&self, wake: impl Fn() + Send + Sync + 'static) -> tokio::task::JoinHandle<()> {
        tokio::spawn(listen::run(self.settings.clone(), std::sync::Arc::new(wake)))
    }
}

/// Runs `$body` (which uses the transaction `$c`) as one unit of work and commits it. An
/// error drops the transaction, which rolls it back.
macro_rules! unit {
    ($self:ident, |$c:ident| $body:expr) => {{
        let mut client = $self.pool.get().await?;
        let $c = client.transaction().await?;
        let out = $body;
        $c.commit().await?;
        Ok(out)
    }};
}

#[async_trait]
impl Store for PostgresStore {
    async fn ensure_default_account(&self, now: DateTime<Utc>) -> StoreResult<(Account, bool)> {
        unit!(self, |c| accounts::ensure_default(&c, now).await?)
    }

    async fn create_account(&self, account: NewAccount, key: NewApiKey, now: DateTime<Utc>) -> StoreResult<Account> {
        unit!(self, |c| accounts::create(&c, account, key, now).await?)
    }

    async fn get_account(&self, id: &AccountId) -> StoreResult<Account> {
        unit!(self, |c| accounts::get(&c, id).await?)
    }

    async fn set_account_ingest_limit(&self, id: &AccountId, limit: Option<IngestQuota>) -> StoreResult<Account> {
        unit!(self, |c| accounts::set_ingest_limit(&c, id, limit).await?)
    }

    async fn list_accounts(&self, page: Page) -> StoreResult<Paged<Account>> {
        unit!(self, |c| accounts::list(&c, page).await?)
    }

    async fn create_api_key(
        &self,
        account: &AccountId,
        key: NewApiKey,
        replace_named: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<ApiKeyRecord> {
        unit!(self, |c| accounts::create_key(&c, account, key, replace_named, now).await?)
    }

    async fn list_api_keys(&self, account: &AccountId) -> StoreResult<Vec<ApiKeyRecord>> {
        unit!(self, |c| accounts::list_keys(&c, account).await?)
    }

    async fn delete_api_key(&self, account: &AccountId, id: &ApiKeyId) -> StoreResult<()> {
        unit!(self, |c| accounts::delete_key(&c, account, id).await?)
    }

    async fn find_key_owner(&self, key_hash: &str) -> StoreResult<Option<KeyOwner>> {
        unit!(self, |c| accounts::find_owner(&c, key_hash).await?)
    }

    async fn create_webhook(
        &self,
        account: &AccountId,
        webhook: NewWebhook,
        limit: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<Webhook> {
        unit!(self, |c| webhooks::create(&c, &self.key, account, webhook, limit, now).await?)
    }

    async fn get_webhook(&self, account: &AccountId, id: &WebhookId) -> StoreResult<Webhook> {
        unit!(self, |c| webhooks::get(&c, &self.key, account, id).await?)
    }

    async fn list_webhooks(&self, account: &AccountId, page: Page) -> StoreResult<Paged<Webhook>> {
        unit!(self, |c| webhooks::list(&c, &self.key, account, page).await?)
    }

    async fn update_webhook(
        &self,
        account: &AccountId,
        id: &WebhookId,
        patch: WebhookPatch,
        now: DateTime<Utc>,
    ) -> StoreResult<Webhook> {
        unit!(self, |c| webhooks::update(&c, &self.key, account, id, patch, now).await?)
    }

    async fn rotate_webhook_secret(
        &self,
        account: &AccountId,
        id: &WebhookId,
        secret: WebhookSecret,
        grace_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Webhook> {
        unit!(self, |c| webhooks::rotate_secret(&c, &self.key, account, id, secret, grace_until, now).await?)
    }

    async fn delete_webhook(&self, account: &AccountId, id: &WebhookId) -> StoreResult<()> {
        unit!(self, |c| webhooks::delete(&c, account, id).await?)
    }

    async fn enable_webhook(
        &self,
        account: &AccountId,
        id: &WebhookId,
        missed: Missed,
        now: DateTime<Utc>,
    ) -> StoreResult<Webhook> {
        unit!(self, |c| webhooks::enable(&c, &self.key, account, id, missed, now).await?)
    }

    async fn ingest_event(&self, account: &AccountId, event: NewEvent, now: DateTime<Utc>) -> StoreResult<Ingested> {
        unit!(self, |c| events::ingest(&c, account, event, now).await?)
    }

    async fn ingest_events(
        &self,
        account: &AccountId,
        batch: Vec<NewEvent>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<StoreResult<Ingested>>> {
        unit!(self, |c| events::ingest_batch(&c, account, batch, now, &mut Vec::new()).await?)
    }

    async fn ingest_event_leased(
        &self,
        account: &AccountId,
        event: NewEvent,
        now: DateTime<Utc>,
        lease: Lease,
    ) -> StoreResult<(Ingested, Claim)> {
        unit!(self, |c| {
            let mut made = Vec::new();
            let ingested = events::ingest_into(&c, account, event, now, &mut made).await?;
            (ingested, dispatch::claim_new(&c, &self.key, made, now, lease).await?)
        })
    }

    async fn ingest_events_leased(
        &self,
        account: &AccountId,
        batch: Vec<NewEvent>,
        now: DateTime<Utc>,
        lease: Lease,
    ) -> StoreResult<(Vec<StoreResult<Ingested>>, Claim)> {
        unit!(self, |c| {
            let mut made = Vec::new();
            let results = events::ingest_batch(&c, account, batch, now, &mut made).await?;
            (results, dispatch::claim_new(&c, &self.key, made, now, lease).await?)
        })
    }

    async fn get_event(&self, account: &AccountId, id: &EventId) -> StoreResult<Event> {
        unit!(self, |c| events::get(&c, account, id).await?)
    }

    async fn list_events(&self, account: &AccountId, filter: EventFilter, page: Page) -> StoreResult<Paged<Event>> {
        unit!(self, |c| events::list(&c, account, filter, page).await?)
    }

    async fn create_project(
        &self,
        account: &AccountId,
        project: NewProject,
        stamp: EventStamp,
    ) -> StoreResult<Project> {
        unit!(self, |c| projects::create(&c, account, project, stamp).await?)
    }

    async fn get_project(&self, account: &AccountId, id: &ProjectId) -> StoreResult<Project> {
        unit!(self, |c| projects::get(&c, account, id).await?)
    }

    async fn list_projects(&self, account: &AccountId, page: Page) -> StoreResult<Paged<Project>> {
        unit!(self, |c| projects::list(&c, account, page).await?)
    }

    async fn update_project(
        &self,
        account: &AccountId,
        id: &ProjectId,
        patch: ProjectPatch,
        now: DateTime<Utc>,
    ) -> StoreResult<Project> {
        unit!(self, |c| projects::update(&c, account, id, patch, now).await?)
    }

    async fn delete_project(&self, account: &AccountId, id: &ProjectId, stamp: EventStamp) -> StoreResult<()> {
        unit!(self, |c| projects::delete(&c, account, id, stamp).await?)
    }

    async fn start_scan(&self, account: &AccountId, scan: NewScan, stamp: EventStamp) -> StoreResult<Scan> {
        unit!(self, |c| scans::start(&c, account, scan, stamp).await?)
    }

    async fn get_scan(&self, account: &AccountId, id: &ScanId) -> StoreResult<Scan> {
        unit!(self, |c| scans::get(&c, account, id).await?)
    }

    async fn fail_scan(
        &self,
        account: &AccountId,
        id: &ScanId,
        error: (String, String),
        stamp: EventStamp,
    ) -> StoreResult<Scan> {
        unit!(self, |c| scans::fail(&c, account, id, error, stamp).await?)
    }

    async fn record_findings(
        &self,
        account: &AccountId,
        id: &ScanId,
        groups: Vec<scanhook_core::scan::Group>,
        stamp: EventStamp,
    ) -> StoreResult<()> {
        unit!(self, |c| scans::record_findings(&c, account, id, &groups, stamp).await?)
    }

    async fn resolve_unseen(
        &self,
        account: &AccountId,
        id: &ScanId,
        covered: Vec<scanhook_core::scan::Analysis>,
        limit: usize,
        stamp: EventStamp,
    ) -> StoreResult<usize> {
        unit!(self, |c| scans::resolve_unseen(&c, account, id, &covered, limit, stamp).await?)
    }

    async fn finish_scan(
        &self,
        account: &AccountId,
        id: &ScanId,
        finish: ScanFinish,
        stamp: EventStamp,
    ) -> StoreResult<ScanOutcome> {
        unit!(self, |c| scans::finish(&c, account, id, finish, stamp).await?)
    }

    async fn record_progress(
        &self,
        account: &AccountId,
        id: &ScanId,
        progress: ScanProgress,
        stamp: EventStamp,
    ) -> StoreResult<(Scan, bool)> {
        unit!(self, |c| scans::progress(&c, account, id, progress, stamp).await?)
    }

    async fn time_out_scans(&self, stamp: EventStamp, limit: u32) -> StoreResult<u64> {
        unit!(self, |c| scans::time_out(&c, stamp, limit).await?)
    }

    async fn list_scans(
        &self,
        account: &AccountId,
        project: &ProjectId,
        filter: ScanFilter,
        page: Page,
    ) -> StoreResult<Paged<Scan>> {
        unit!(self, |c| scans::list(&c, account, project, filter, page).await?)
    }

    async fn count_violations(&self, account: &AccountId, project: &ProjectId) -> StoreResult<ViolationCounts> {
        unit!(self, |c| violations::count(&c, account, project).await?)
    }

    async fn list_violations(
        &self,
        account: &AccountId,
        project: &ProjectId,
        filter: ViolationFilter,
        page: Page,
    ) -> StoreResult<Paged<Violation>> {
        unit!(self, |c| violations::list(&c, account, project, filter, page).await?)
    }

    async fn get_violation(
        &self,
        account: &AccountId,
        id: &ViolationId,
    ) -> StoreResult<(Violation, Vec<ViolationChange>)> {
        unit!(self, |c| violations::get_with_history(&c, account, id).await?)
    }

    async fn resolve_violation(
        &self,
        account: &AccountId,
        id: &ViolationId,
        resolved_by: String,
        stamp: EventStamp,
    ) -> StoreResult<Violation> {
        unit!(self, |c| violations::resolve(&c, account, id, &resolved_by, stamp).await?)
    }

    async fn list_deliveries(
        &self,
        account: &AccountId,
        filter: DeliveryFilter,
        page: Page,
    ) -> StoreResult<Paged<Delivery>> {
        unit!(self, |c| deliveries::list(&c, account, filter, page).await?)
    }

    async fn webhook_activity(
        &self,
        account: &AccountId,
        id: &WebhookId,
        since: Vec<DateTime<Utc>>,
        now: DateTime<Utc>,
        sample: u32,
    ) -> StoreResult<WebhookActivity> {
        unit!(self, |c| stats::activity(&c, account, id, &since, now, sample).await?)
    }

    async fn get_delivery(&self, account: &AccountId, id: &DeliveryId) -> StoreResult<(Delivery, Vec<Attempt>)> {
        unit!(self, |c| deliveries::get_with_attempts(&c, account, id).await?)
    }

    async fn retry_delivery(&self, account: &AccountId, id: &DeliveryId, now: DateTime<Utc>) -> StoreResult<Delivery> {
        unit!(self, |c| deliveries::retry(&c, account, id, now).await?)
    }

    async fn replay_dead(
        &self,
        account: &AccountId,
        webhook: &WebhookId,
        since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        unit!(self, |c| deliveries::replay_dead(&c, account, webhook, since, now).await?)
    }

    async fn record_audit(&self, entry: AuditEntry) -> StoreResult<()> {
        unit!(self, |c| audit::record(&c, entry).await?)
    }

    async fn list_audit(&self, account: &AccountId, filter: AuditFilter, page: Page) -> StoreResult<Paged<AuditEntry>> {
        unit!(self, |c| audit::list(&c, account, filter, page).await?)
    }

    async fn claim(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
        limits: ClaimLimits,
    ) -> StoreResult<Claim> {
        unit!(self, |c| dispatch::claim(&c, &self.key, owner, now, lease_until, limit, limits).await?)
    }

    async fn complete(
        &self,
        owner: &str,
        mut completions: Vec<Completion>,
        disable_after: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        // Endpoints' rows are locked in one order by every node's batch, so two batches
        // that share endpoints wait for each other instead of deadlocking.
        completions.sort_by(|a, b| (&a.webhook_id, &a.delivery_id).cmp(&(&b.webhook_id, &b.delivery_id)));
        let mut client = self.pool.get().await?;
        let mut tx = client.transaction().await?;
        // Ordered endpoints' rows first (`fifo.rs`): an ingest for one then waits for this
        // unit, or this one for the ingest, and whichever goes second sees the other's rows.
        let webhooks: Vec<WebhookId> = completions.iter().map(|done| done.webhook_id.clone()).collect();
        let ordered = fifo::lock_ordered(&tx, &webhooks).await?;
        for done in completions {
            // Each outcome on its own (a savepoint): should one fail, the others stand
            // (its lease then expires and it is sent again: at-least-once).
            let id = done.delivery_id.clone();
            let is_ordered = ordered.contains(&done.webhook_id);
            let one = tx.transaction().await?;
            match dispatch::complete(&one, owner, done, is_ordered, disable_after, now).await {
                Ok(()) => one.commit().await?,
                Err(e @ StoreError::StorageFull) => return Err(e),
                Err(e) => {
                    one.rollback().await?;
                    tracing::error!(delivery = %id, error = %e, "could not record a delivery outcome");
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn release(&self, owner: &str, ids: Vec<DeliveryId>, now: DateTime<Utc>) -> StoreResult<()> {
        unit!(self, |c| dispatch::release(&c, owner, &ids, now).await?)
    }

    async fn set_health(
        &self,
        webhook: WebhookId,
        to: scanhook_core::opevents::Health,
        window: scanhook_core::opevents::Summary,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        unit!(self, |c| dispatch::set_health(&c, &webhook, to, &window, now).await?)
    }

    async fn renew_leases(&self, owner: &str, ids: Vec<DeliveryId>, until: DateTime<Utc>) -> StoreResult<u64> {
        unit!(self, |c| dispatch::renew_leases(&c, owner, &ids, until).await?)
    }

    async fn next_due_except(
        &self,
        skip: Vec<WebhookId>,
        after: Option<DateTime<Utc>>,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        unit!(self, |c| dispatch::next_due_at(&c, &skip, after).await?)
    }

    async fn queue_depth(&self, now: DateTime<Utc>) -> StoreResult<QueueDepth> {
        unit!(self, |c| dispatch::queue_depth(&c, now).await?)
    }

    async fn ping(&self) -> StoreResult<bool> {
        let client = self.pool.get().await?;
        schema::is_current(&client).await
    }

    async fn prune(
        &self,
        step: scanhook_core::retention::Prune,
        before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<u64> {
        unit!(self, |c| retention::prune(&c, step, before, limit).await?)
    }

    async fn create_session(&self, session: Session) -> StoreResult<()> {
        unit!(self, |c| sessions::create(&c, &session).await?)
    }

    async fn find_session(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<Session>> {
        unit!(self, |c| sessions::find(&c, token_hash, now).await?)
    }

    async fn touch_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
        idle_until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        unit!(self, |c| sessions::touch(&c, token_hash, now, idle_until).await?)
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        unit!(self, |c| sessions::delete(&c, token_hash).await?)
    }

    async fn create_portal_link(&self, link: PortalLink) -> StoreResult<()> {
        unit!(self, |c| sessions::create_link(&c, &link).await?)
    }

    async fn redeem_portal_link(
        &self,
        link_hash: &str,
        session: Session,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Session>> {
        unit!(self, |c| sessions::redeem(&c, link_hash, session, now).await?)
    }

    async fn lease_job(&self, name: &str, owner: &str, now: DateTime<Utc>, until: DateTime<Utc>) -> StoreResult<bool> {
        unit!(self, |c| jobs::lease(&c, name, owner, now, until).await?)
    }
}
