//! The embedded backend: one SQLite file in WAL mode with synchronous commits.
//!
//! All writes go through one [`writer::Writer`] thread that group-commits; reads run on a
//! small pool of read-only connections on the blocking thread pool, and WAL lets them
//! proceed while the writer commits.

mod accounts;
mod audit;
mod checkpointer;
mod deliveries;
mod dispatch;
mod events;
mod fifo;
mod jobs;
#[cfg(test)]
mod plans;
mod projects;
mod query;
mod reserve;
mod retention;
mod rows;
mod scans;
mod schema;
mod sealed;
mod sessions;
mod stats;
mod violations;
mod webhooks;
mod writer;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags};
use scanhook_core::{
    AccountId, ApiKeyId, DeliveryId, EventId, ProjectId, ScanId, ViolationId, WebhookId, WebhookSecret,
};
use tokio::sync::Semaphore;

use crate::model::*;
use crate::{SecretBox, Store, StoreError, StoreResult};

const READERS: usize = 4;
/// Prepared statements each reader keeps: every list's filter combinations fit.
const READER_STATEMENTS: usize = 256;

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound,
            // SQLite answers SQLITE_FULL when a write meets ENOSPC (or the quota), in the
            // WAL as in the database file; growing the WAL index fails as IOERR_SHMSIZE.
            rusqlite::Error::SqliteFailure(f, _)
                if f.code == rusqlite::ErrorCode::DiskFull
                    || f.extended_code == rusqlite::ffi::SQLITE_IOERR_SHMSIZE =>
            {
                StoreError::StorageFull
            }
            other => StoreError::Backend(Box::new(other)),
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Backend(Box::new(e))
    }
}

pub struct SqliteStore {
    writer: writer::Writer,
    _checkpointer: checkpointer::Checkpointer,
    readers: Arc<Mutex<Vec<Connection>>>,
    reader_permits: Arc<Semaphore>,
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // FULL: a commit is on disk before the API answers; batching keeps it cheap.
    conn.pragma_update(None, "synchronous", "FULL")?;
    // Statement journals and temporary indexes stay off the disk.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "cache_size", -16 * 1024)?;
    stable_plans(conn)
}

/// Plans that do not depend on the values bound. Without this, SQLite prepares again, on
/// every run, each statement whose plan might (a range over a column of a partial index,
/// as the claim's `next_attempt_at <= ?`): that parse and plan was about 8 % of the
/// server's CPU under light load. Every statement's plan is checked with it (`plans.rs`).
fn stable_plans(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(())
}

impl SqliteStore {
    /// Opens (creating and migrating if needed) the database file at `path`, whose secrets
    /// are sealed with `key`. Another key than the one the database was first opened with
    /// is refused here, before anything is read or sent.
    pub fn open(path: &Path, key: SecretBox) -> StoreResult<Self> {
        let mut conn = Connection::open(path)?;
        let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!("could not switch {} to WAL (got {mode})", path.display()).into()));
        }
        configure(&conn)?;
        sealed::register(&conn, &key, true)?;
        // Rows a migration rewrites (sealing secrets, redacting logs) leave no plaintext
        // behind: freed space is zeroed meanwhile, and the WAL is folded in and truncated.
        conn.pragma_update(None, "secure_delete", "ON")?;
        // Before migrating too: no migration may seal anything with a wrong key.
        if sealed::has_key_check(&conn)? {
            sealed::check_key(&conn, &key)?;
        }
        schema::migrate(&mut conn)?;
        conn.pragma_update(None, "secure_delete", "OFF")?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        sealed::check_key(&conn, &key)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let reader = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
            )?;
            reader.busy_timeout(Duration::from_secs(5))?;
            stable_plans(&reader)?;
            // Each combination of list filters is its own statement (`query.rs`).
            reader.set_prepared_statement_cache_capacity(READER_STATEMENTS);
            sealed::register(&reader, &key, false)?;
            readers.push(reader);
        }
        // Checkpoints run beside the writer; its own auto-checkpoint stays as a backstop at a
        // larger WAL size, in case the checkpointer falls behind.
        conn.pragma_update(None, "wal_autocheckpoint", 20_000)?;
        let checkpointer = checkpointer::Checkpointer::start(path)?;
        let reserve = reserve::Reserve::keep(path.with_extension("db-reserve"));
        let writer = writer::Writer::start(conn, Some(reserve)).map_err(|e| StoreError::Backend(Box::new(e)))?;
        Ok(Self {
            writer,
            _checkpointer: checkpointer,
            readers: Arc::new(Mutex::new(readers)),
            reader_permits: Arc::new(Semaphore::new(READERS)),
        })
    }

    async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        self.writer.write(work).await
    }

    /// Runs `work` on a pooled read-only connection, off the async threads.
    async fn read<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let permit = self.reader_permits.clone().acquire_owned().await.map_err(|e| StoreError::Backend(Box::new(e)))?;
        let readers = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let conn = lock(&readers).pop().ok_or_else(|| StoreError::Backend("no free reader".into()))?;
            let result = work(&conn);
            lock(&readers).push(conn);
            result
        })
        .await
        .map_err(|e| StoreError::Backend(Box::new(e)))?
    }
}

fn lock(readers: &Mutex<Vec<Connection>>) -> std::sync::MutexGuard<'_, Vec<Connection>> {
    // A panic while holding the lock leaves the Vec intact; keep using it.
    readers.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[async_trait]
impl Store for SqliteStore {
    async fn ensure_default_account(&self, now: DateTime<Utc>) -> StoreResult<(Account, bool)> {
        self.write(move |c| accounts::ensure_default(c, now)).await
    }

    async fn create_account(&self, account: NewAccount, key: NewApiKey, now: DateTime<Utc>) -> StoreResult<Account> {
        self.write(move |c| accounts::create(c, account, key, now)).await
    }

    async fn get_account(&self, id: &AccountId) -> StoreResult<Account> {
        let id = id.clone();
        self.read(move |c| accounts::get(c, &id)).await
    }

    async fn set_account_ingest_limit(&self, id: &AccountId, limit: Option<IngestQuota>) -> StoreResult<Account> {
        let id = id.clone();
        self.write(move |c| accounts::set_ingest_limit(c, &id, limit)).await
    }

    async fn list_accounts(&self, page: Page) -> StoreResult<Paged<Account>> {
        self.read(move |c| accounts::list(c, page)).await
    }

    async fn create_api_key(
        &self,
        account: &AccountId,
        key: NewApiKey,
        replace_named: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<ApiKeyRecord> {
        let account = account.clone();
        self.write(move |c| accounts::create_key(c, &account, key, replace_named, now)).await
    }

    async fn list_api_keys(&self, account: &AccountId) -> StoreResult<Vec<ApiKeyRecord>> {
        let account = account.clone();
        self.read(move |c| accounts::list_keys(c, &account)).await
    }

    async fn delete_api_key(&self, account: &AccountId, id: &ApiKeyId) -> StoreResult<()> {
        let (account, id) = (account.clone(), id.clone());
        self.write(move |c| accounts::delete_key(c, &account, &id)).await
    }

    async fn find_key_owner(&self, key_hash: &str) -> StoreResult<Option<KeyOwner>> {
        let key_hash = key_hash.to_string();
        self.read(move |c| accounts::find_owner(c, &key_hash)).await
    }

    async fn create_webhook(
        &self,
        account: &AccountId,
        webhook: NewWebhook,
        limit: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<Webhook> {
        let account = account.clone();
        self.write(move |c| webhooks::create(c, &account, webhook, limit, now)).await
    }

    async fn get_webhook(&self, account: &AccountId, id: &WebhookId) -> StoreResult<Webhook> {
        let (account, id) = (account.clone(), id.clone());
        self.read(move |c| webhooks::get(c, &account, &id)).await
    }

    async fn list_webhooks(&self, account: &AccountId, page: Page) -> StoreResult<Paged<Webhook>> {
        let account = account.clone();
        self.read(move |c| webhooks::list(c, &account, page)).await
    }

    async fn update_webhook(
        &self,
        account: &AccountId,
        id: &WebhookId,
        patch: WebhookPatch,
        now: DateTime<Utc>,
    ) -> StoreResult<Webhook> {
        let (account, id) = (account.clone(), id.clone());
        self.write(move |c| webhooks::update(c, &account, &id, patch, now)).await
    }

    async fn rotate_webhook_secret(
        &self,
        account: &AccountId,
        id: &WebhookId,
        secret: WebhookSecret,
        grace_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Webhook> {
        let (account, id) = (account.clone(), id.clone());
        self.write(move |c| webhooks::rotate_secret(c, &account, &id, secret, grace_until, now)).await
    }

    async fn delete_webhook(&self, account: &AccountId, id: &WebhookId) -> StoreResult<()> {
        let (account, id) = (account.clone(), id.clone());
        self.write(move |c| webhooks::delete(c, &account, &id)).await
    }

    async fn enable_webhook(
        &self,
        account: &AccountId,
        id: &WebhookId,
        missed: Missed,
        now: DateTime<Utc>,
    ) -> StoreResult<Webhook> {
        let (account, id) = (account.clone(), id.clone());
        self.write(move |c| webhooks::enable(c, &account, &id, missed, now)).await
    }

    async fn ingest_event(&self, account: &AccountId, event: NewEvent, now: DateTime<Utc>) -> StoreResult<Ingested> {
        let account = account.clone();
        self.write(move |c| events::ingest(c, &account, event, now)).await
    }

    async fn ingest_events(
        &self,
        account: &AccountId,
        batch: Vec<NewEvent>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<StoreResult<Ingested>>> {
        let account = account.clone();
        self.write(move |c| events::ingest_batch(c, &account, batch, now, &mut Vec::new())).await
    }

    async fn ingest_event_leased(
        &self,
        account: &AccountId,
        event: NewEvent,
        now: DateTime<Utc>,
        lease: Lease,
    ) -> StoreResult<(Ingested, Claim)> {
        let account = account.clone();
        self.write(move |c| {
            let mut made = Vec::new();
            let ingested = events::ingest_into(c, &account, event, now, &mut made)?;
            Ok((ingested, dispatch::claim_new(c, made, now, lease)?))
        })
        .await
    }

    async fn ingest_events_leased(
        &self,
        account: &AccountId,
        batch: Vec<NewEvent>,
        now: DateTime<Utc>,
        lease: Lease,
    ) -> StoreResult<(Vec<StoreResult<Ingested>>, Claim)> {
        let account = account.clone();
        self.write(move |c| {
            let mut made = Vec::new();
            let results = events::ingest_batch(c, &account, batch, now, &mut made)?;
            Ok((results, dispatch::claim_new(c, made, now, lease)?))
        })
        .await
    }

    async fn get_event(&self, account: &AccountId, id: &EventId) -> StoreResult<Event> {
        let (account, id) = (account.clone(), id.clone());
        self.read(move |c| events::get(c, &account, &id)).await
    }

    async fn list_events(&self, account: &AccountId, filter: EventFilter, page: Page) -> StoreResult<Paged<Event>> {
        let account = account.clone();
        self.read(move |c| events::list(c, &account, filter, page)).await
    }

    async fn create_project(
        &self,
        account: &AccountId,
        project: NewProject,
        stamp: EventStamp,
    ) -> StoreResult<Project> {
        let account = account.clone();
        self.write(move |c| projects::create(c, &account, project, stamp)).await
    }

    async fn get_project(&self, account: &AccountId, id: &ProjectId) -> StoreResult<Project> {
        let (account, id) = (account.clone(), id.clone());
        self.read(move |c| projects::get(c, &account, &id)).await
    }

    async fn list_projects(&self, account: &AccountId, page: Page) -> StoreResult<Paged<Project>> {
        let account = account.clone();
        self.read(move |c| projects::list(c, &account, page)).await
    }

    async fn update_project(
        &self,
        account: &AccountId,
        id: &ProjectId,
        patch: ProjectPatch,
        now: DateTime<Utc>,
    ) -> StoreResult<Project> {
        let (account, id) = (account.clone(), id.clone());
        self.write(move |c| projects::update(c, &account, &id, patch, now)).await
    }

    async fn delete_project(&self, account: &AccountId, id: &ProjectId, stamp: EventStamp) -> StoreResult<()> {
        let (account, id) = (account.clone(), id.clone());
        self.write(move |c| projects::delete(c, &account, &id, stamp)).await
    }

    async fn start_scan(&self, account: &AccountId, scan: NewScan, stamp: EventStamp) -> StoreResult<Scan> {
        let account = account.clone();
        self.write(move |c| scans::start(c, &account, scan, stamp)).await
    }

    async fn get_scan(&self, account: &AccountId, id: &ScanId) -> StoreResult<Scan> {
        let (account, id) = (account.clone(), id.clone());
        self.read(move |c| scans::get(c, &account, &id)).await
    }

    async fn list_scans(
        &self,
        account: &AccountId,
        project: &ProjectId,
        filter: ScanFilter,
        page: Page,
    ) -> StoreResult<Paged<Scan>> {
        let (account, project) = (account.clone(), project.clone());
        self.read(move |c| scans::list(c, &account, &project, filter, page)).await
    }

    async fn fail_scan(
        &self,
        account: &AccountId,
        id: &ScanId,
        error: (String, String),
        stamp: EventStamp,
    ) -> StoreResult<Scan> {
        let (account, id) = (account.clone(), id.clone());
        self.write(move |c| scans::fail(c, &account, &id, error, stamp)).await
    }

    async fn record_findings(
        &self,
        account: &AccountId,
        id: &ScanId,
        groups: Vec<scanhook_core::scan::Group>,
        stamp: EventStamp,
    ) -> StoreResult<()> {
        let (account, id) = (account.clone(), id.clone());
        self.write(move |c| scans::record_findings(c, &account, &id, &groups, stamp)).await
    }

    async fn resolve_unseen(
        &self,
        account: &AccountId,
        id: &ScanId,
        covered: Vec<scanhook_core::scan::Analysis>,
        limit: usize,
        stamp: EventStamp,
    ) -> StoreResult<usize> {
        let (account, id) = (account.clone(), id.clone());
        self.write(move |c| scans::resolve_unseen(c, &account, &id, &covered, limit, stamp)).await
    }

    async fn finish_scan(
        &self,
        account: &AccountId,
        id: &ScanId,
        finish: ScanFinish,
        stamp: EventStamp,
    ) -> StoreResult<ScanOutcome> {
        let (account, id) = (account.clone(), id.clone());
        self.write(move |c| scans::finish(c, &account, &id, finish, stamp)).await
    }

    async fn record_progress(
        &self,
        account: &AccountId,
        id: &ScanId,
        progress: ScanProgress,
        stamp: EventStamp,
    ) -> StoreResult<(Scan, bool)> {
        let (account, id) = (account.clone(), id.clone());
        self.write(move |c| scans::progress(c, &account, &id, progress, stamp)).await
    }

    async fn time_out_scans(&self, stamp: EventStamp, limit: u32) -> StoreResult<u64> {
        self.write(move |c| scans::time_out(c, stamp, limit)).await
    }

    async fn count_violations(&self, account: &AccountId, project: &ProjectId) -> StoreResult<ViolationCounts> {
        let (account, project) = (account.clone(), project.clone());
        self.read(move |c| violations::count(c, &account, &project)).await
    }

    async fn list_violations(
        &self,
        account: &AccountId,
        project: &ProjectId,
        filter: ViolationFilter,
        page: Page,
    ) -> StoreResult<Paged<Violation>> {
        let (account, project) = (account.clone(), project.clone());
        self.read(move |c| violations::list(c, &account, &project, filter, page)).await
    }

    async fn get_violation(
        &self,
        account: &AccountId,
        id: &ViolationId,
    ) -> StoreResult<(Violation, Vec<ViolationChange>)> {
        let (account, id) = (account.clone(), id.clone());
        self.read(move |c| violations::get_with_history(c, &account, &id)).await
    }

    async fn resolve_violation(
        &self,
        account: &AccountId,
        id: &ViolationId,
        resolved_by: String,
        stamp: EventStamp,
    ) -> StoreResult<Violation> {
        let (account, id) = (account.clone(), id.clone());
        self.write(move |c| violations::resolve(c, &account, &id, &resolved_by, stamp)).await
    }

    async fn list_deliveries(
        &self,
        account: &AccountId,
        filter: DeliveryFilter,
        page: Page,
    ) -> StoreResult<Paged<Delivery>> {
        let account = account.clone();
        self.read(move |c| deliveries::list(c, &account, filter, page)).await
    }

    async fn webhook_activity(
        &self,
        account: &AccountId,
        id: &WebhookId,
        since: Vec<DateTime<Utc>>,
        now: DateTime<Utc>,
        sample: u32,
    ) -> StoreResult<WebhookActivity> {
        let (account, id) = (account.clone(), id.clone());
        self.read(move |c| stats::activity(c, &account, &id, &since, now, sample)).await
    }

    async fn get_delivery(&self, account: &AccountId, id: &DeliveryId) -> StoreResult<(Delivery, Vec<Attempt>)> {
        let (account, id) = (account.clone(), id.clone());
        self.read(move |c| deliveries::get_with_attempts(c, &account, &id)).await
    }

    async fn retry_delivery(&self, account: &AccountId, id: &DeliveryId, now: DateTime<Utc>) -> StoreResult<Delivery> {
        let (account, id) = (account.clone(), id.clone());
        self.write(move |c| deliveries::retry(c, &account, &id, now)).await
    }

    async fn replay_dead(
        &self,
        account: &AccountId,
        webhook: &WebhookId,
        since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let (account, webhook) = (account.clone(), webhook.clone());
        self.write(move |c| deliveries::replay_dead(c, &account, &webhook, since, now)).await
    }

    async fn record_audit(&self, entry: AuditEntry) -> StoreResult<()> {
        self.write(move |c| audit::record(c, entry)).await
    }

    async fn list_audit(&self, account: &AccountId, filter: AuditFilter, page: Page) -> StoreResult<Paged<AuditEntry>> {
        let account = account.clone();
        self.read(move |c| audit::list(c, &account, filter, page)).await
    }

    async fn claim(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
        limits: ClaimLimits,
    ) -> StoreResult<Claim> {
        let owner = owner.to_string();
        self.writer.write_essential(move |c| dispatch::claim(c, &owner, now, lease_until, limit, limits)).await
    }

    async fn complete(
        &self,
        owner: &str,
        completions: Vec<Completion>,
        disable_after: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let owner = owner.to_string();
        // Outcomes may use the room kept back for a full disk (`write_essential`).
        self.writer
            .write_essential(move |c| {
                // Each outcome on its own: its writes are guarded, and should one still
                // fail, the others and the rest of the group commit stand (its lease then
                // expires and it is sent again: at-least-once). A full disk fails them all.
                for done in completions {
                    let id = done.delivery_id.clone();
                    match dispatch::complete(c, &owner, done, disable_after, now) {
                        Err(e @ StoreError::StorageFull) => return Err(e),
                        Err(e) => tracing::error!(delivery = %id, error = %e, "could not record a delivery outcome"),
                        Ok(()) => {}
                    }
                }
                Ok(())
            })
            .await
    }

    async fn release(&self, owner: &str, ids: Vec<DeliveryId>, now: DateTime<Utc>) -> StoreResult<()> {
        let owner = owner.to_string();
        self.writer.write_essential(move |c| dispatch::release(c, &owner, &ids, now)).await
    }

    async fn set_health(
        &self,
        webhook: WebhookId,
        to: scanhook_core::opevents::Health,
        window: scanhook_core::opevents::Summary,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.write(move |c| dispatch::set_health(c, &webhook, to, &window, now)).await
    }

    async fn renew_leases(&self, owner: &str, ids: Vec<DeliveryId>, until: DateTime<Utc>) -> StoreResult<u64> {
        let owner = owner.to_string();
        self.writer.write_essential(move |c| dispatch::renew_leases(c, &owner, &ids, until)).await
    }

    async fn next_due_except(
        &self,
        skip: Vec<WebhookId>,
        after: Option<DateTime<Utc>>,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        self.read(move |c| dispatch::next_due_at(c, &skip, after)).await
    }

    async fn queue_depth(&self, now: DateTime<Utc>) -> StoreResult<QueueDepth> {
        self.read(move |c| dispatch::queue_depth(c, now)).await
    }

    async fn ping(&self) -> StoreResult<bool> {
        self.read(schema::is_current).await
    }

    fn group_commits(&self) -> Option<Arc<GroupCommits>> {
        Some(self.writer.commits().clone())
    }

    async fn create_session(&self, session: Session) -> StoreResult<()> {
        self.write(move |c| sessions::create(c, &session)).await
    }

    async fn find_session(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<Session>> {
        let token_hash = token_hash.to_string();
        self.read(move |c| sessions::find(c, &token_hash, now)).await
    }

    async fn touch_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
        idle_until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let token_hash = token_hash.to_string();
        self.write(move |c| sessions::touch(c, &token_hash, now, idle_until)).await
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        let token_hash = token_hash.to_string();
        self.write(move |c| sessions::delete(c, &token_hash)).await
    }

    async fn create_portal_link(&self, link: PortalLink) -> StoreResult<()> {
        self.write(move |c| sessions::create_link(c, &link)).await
    }

    async fn redeem_portal_link(
        &self,
        link_hash: &str,
        session: Session,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Session>> {
        let link_hash = link_hash.to_string();
        self.write(move |c| sessions::redeem(c, &link_hash, session, now)).await
    }

    async fn lease_job(&self, name: &str, owner: &str, now: DateTime<Utc>, until: DateTime<Utc>) -> StoreResult<bool> {
        let (name, owner) = (name.to_string(), owner.to_string());
        self.write(move |c| jobs::lease(c, &name, &owner, now, until)).await
    }

    async fn prune(
        &self,
        step: scanhook_core::retention::Prune,
        before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<u64> {
        self.write(move |c| retention::prune(c, step, before, limit)).await
    }
}
