//! The worker loop: lease due deliveries, send them with bounded concurrency, record the
//! outcomes in batches, and sleep until the next delivery is due or new work arrives.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use scanhook_core::DeliveryId;
use scanhook_core::polite::{self, Asked};
use scanhook_store::{Claim, Claimed, Completion, EndpointAction, Lease, Outcome, Store, StoreError, StoreResult};
use tokio::sync::{Notify, Semaphore, mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock::Clock;
use crate::config::DispatchConfig;
use crate::fairness::{ClaimRead, Fairness, Slot, lock};
use crate::health::HealthWatch;
use crate::metrics::{Metrics, StoreOp};
use crate::sender::Sender;

/// Outcomes waiting to be recorded; senders wait when it is full (backpressure).
const COMPLETION_QUEUE: usize = 4096;
/// Most outcomes recorded in one store call.
const COMPLETION_BATCH: usize = 512;
/// How long an outcome waits for others to share its unit of work (and its fsync). Nobody
/// waits for an outcome to be recorded, and its lease is renewed meanwhile; under light load
/// this turns one commit per delivery into one per few.
const COMPLETION_LINGER: Duration = Duration::from_millis(10);

/// What the recorder is sent: an outcome, or a request to answer once everything sent
/// before it is recorded.
// Outcomes are nearly all of the traffic; boxing them would allocate for each one.
#[allow(clippy::large_enum_variant)]
enum Record {
    /// `ordered`: of an ordered endpoint, whose next delivery is due once this is recorded,
    /// so it is recorded at once and the dispatcher woken.
    Outcome {
        done: Completion,
        ordered: bool,
    },
    Flush(oneshot::Sender<()>),
}

pub struct Dispatcher {
    store: Arc<dyn Store>,
    sender: Sender,
    config: DispatchConfig,
    clock: Arc<dyn Clock>,
    wake: Arc<Notify>,
    /// Names this worker's leases; unique per process.
    owner: String,
    /// The last outcomes met a full disk: keep a copy of the next ones to record them again.
    disk_full: AtomicBool,
    /// Deliveries this worker leased and has not recorded an outcome for yet, with when
    /// they were claimed: their leases are renewed ([`Dispatcher::renew`]) while they are
    /// sent or wait to be recorded, so no other worker sends them again meanwhile.
    held: Mutex<HashMap<DeliveryId, tokio::time::Instant>>,
    /// This worker's fair share: requests in flight per endpoint, and rate buckets found
    /// empty ([`Fairness`]).
    fairness: Arc<Fairness>,
    /// Requests this worker may have open at once (`max_in_flight`).
    permits: Arc<Semaphore>,
    /// Deliveries an ingest leased to this worker in its own unit of work
    /// ([`Dispatcher::offer`]), waiting to be sent.
    inbox: Mutex<Vec<(Claimed, Slot)>>,
    /// Whether [`Dispatcher::run`] is running: only then does it take deliveries over.
    running: AtomicBool,
    /// The earliest due time the last idle read from the store (inner `None`: nothing due).
    store_due: Mutex<Option<Option<chrono::DateTime<chrono::Utc>>>>,
    /// Held by whoever is claiming for this worker (its loop, or an ingest on an offer), so
    /// two claims never both count the same free slots.
    claiming: Arc<tokio::sync::Mutex<()>>,
    metrics: Arc<Metrics>,
    /// Each endpoint's window of the last attempts this worker recorded, for
    /// `endpoint.failing` / `endpoint.recovered`.
    health: HealthWatch,
}

/// The right to claim for a worker, held from [`Dispatcher::offer`] until the claim is
/// handed to [`Dispatcher::take_over`] (or dropped, if the ingest failed).
pub struct Offer {
    _claiming: tokio::sync::OwnedMutexGuard<()>,
}

impl Dispatcher {
    pub fn new(
        store: Arc<dyn Store>,
        config: DispatchConfig,
        clock: Arc<dyn Clock>,
        wake: Arc<Notify>,
        owner: String,
        metrics: Arc<Metrics>,
    ) -> Result<Self, reqwest::Error> {
        let sender = Sender::with_metrics(config.clone(), Some(metrics.clone()))?;
        Ok(Self {
            store,
            sender,
            clock,
            wake: wake.clone(),
            owner,
            disk_full: AtomicBool::new(false),
            held: Mutex::default(),
            fairness: Arc::new(Fairness::new(wake)),
            permits: Arc::new(Semaphore::new(config.max_in_flight.max(1))),
            inbox: Mutex::default(),
            running: AtomicBool::new(false),
            store_due: Mutex::default(),
            claiming: Arc::default(),
            health: HealthWatch::default(),
            config,
            metrics,
        })
    }

    /// The claim an ingest may make for this worker in its own unit of work
    /// (`Store::ingest_event_leased`): as many deliveries as it has room to send now, within
    /// each endpoint's fair share. `None` while it is not running or has no room: the
    /// deliveries then stay due for a claim. Saves a claim's unit of work per event when the
    /// load is light, which is when a unit of work costs most per delivery.
    /// An ingest that finds the worker claiming already gets no offer.
    pub fn offer(&self) -> Option<(Lease, Offer)> {
        if !self.running.load(Ordering::Acquire) {
            return None;
        }
        let claiming = self.claiming.clone().try_lock_owned().ok()?;
        let waiting = lock(&self.inbox).len();
        let room = self.permits.available_permits().saturating_sub(waiting).min(self.config.claim_batch as usize);
        if room == 0 {
            return None;
        }
        let now = self.clock.now();
        let lease = Lease {
            owner: self.owner.clone(),
            until: now + self.lease(),
            limit: room as u32,
            limits: self.fairness.limits(now),
        };
        Some((lease, Offer { _claiming: claiming }))
    }

    /// Takes over the deliveries an ingest leased on [`Dispatcher::offer`]'s terms: they are
    /// sent like claimed ones. Given back at once if the worker stopped meanwhile.
    pub async fn take_over(&self, claim: Claim, offer: Offer) {
        if claim.items.is_empty() && claim.empty.is_empty() {
            return;
        }
        let (items, _) = self.hold(claim);
        drop(offer);
        let unsent = {
            // Checked under the inbox's lock: `run` empties the inbox under it once it stops.
            let mut inbox = lock(&self.inbox);
            if self.running.load(Ordering::Acquire) {
                inbox.extend(items);
                None
            } else {
                Some(items)
            }
        };
        match unsent {
            None => self.wake.notify_one(),
            Some(items) => {
                let ids: Vec<DeliveryId> = items.into_iter().map(|(c, _)| c.delivery_id).collect();
                self.let_go(&ids);
                if !ids.is_empty()
                    && let Err(e) = self.store.release(&self.owner, ids, self.clock.now()).await
                {
                    tracing::warn!(error = %e, "could not release leases; they will expire");
                }
            }
        }
    }

    /// Forgets what claims learned of deliveries passed over ([`Fairness::forget_passed`]).
    pub fn forget_passed(&self) {
        self.fairness.forget_passed();
    }

    fn lease(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.config.lease).unwrap_or(chrono::Duration::minutes(1))
    }

    /// Leases up to `limit` due deliveries, within every endpoint's share of this worker,
    /// each with its slot. `true` with them: the claim found rate buckets empty that it did
    /// not know of, so another claim may find other work at once.
    async fn claim(&self, limit: u32) -> StoreResult<(Vec<(Claimed, Slot)>, bool)> {
        let claiming = self.claiming.lock().await;
        let now = self.clock.now();
        let generation = self.fairness.generation();
        let asked = self.fairness.limits(now);
        let claim = self.store.claim(&self.owner, now, now + self.lease(), limit, asked.clone());
        let claim = self.metrics.store_call(StoreOp::Claim, Some("store.claim"), claim).await?;
        let read_all = claim.read_all;
        let held = self.hold(claim);
        self.fairness.learn(ClaimRead { now, generation, asked: &asked, read_all });
        drop(claiming);
        Ok(held)
    }

    /// Holds what a claim leased: renews its leases from now on and opens each one's slot.
    /// `true` with them: the claim found rate buckets empty that it did not know of.
    fn hold(&self, claim: Claim) -> (Vec<(Claimed, Slot)>, bool) {
        let at = tokio::time::Instant::now();
        self.held_set().extend(claim.items.iter().map(|c| (c.delivery_id.clone(), at)));
        let learned = !claim.empty.is_empty();
        self.metrics.empty_buckets(claim.empty.len());
        self.fairness.found_empty(claim.empty);
        let items = claim
            .items
            .into_iter()
            .map(|item| {
                let slot = self.fairness.open(&item);
                (item, slot)
            })
            .collect();
        (items, learned)
    }

    fn held_set(&self) -> std::sync::MutexGuard<'_, HashMap<DeliveryId, tokio::time::Instant>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stops renewing these leases: an outcome was recorded (or could not be, and the
    /// leases must run out so that the deliveries are tried again), or they were released.
    fn let_go<'a>(&self, ids: impl IntoIterator<Item = &'a DeliveryId>) {
        let mut held = self.held_set();
        for id in ids {
            held.remove(id);
        }
    }

    /// Renews the leases this worker holds, every third of a lease, until `stop`. A
    /// delivery held longer than any attempt can take (a request, a wait for the template
    /// sandbox, the recorder's retries) is no longer renewed: its lease runs out and counts
    /// as expired, as it would had the worker died on it.
    async fn renew(self: Arc<Self>, stop: CancellationToken) {
        let every = (self.config.lease / 3).max(Duration::from_millis(100));
        let longest = self.config.timeout + self.config.sandbox_wait + self.config.lease * 2;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.cancelled() => return,
            }
            let cutoff = tokio::time::Instant::now().checked_sub(longest);
            let ids: Vec<DeliveryId> = self
                .held_set()
                .iter()
                .filter(|(_, claimed)| cutoff.is_none_or(|c| **claimed > c))
                .map(|(id, _)| id.clone())
                .collect();
            if ids.is_empty() {
                continue;
            }
            let count = ids.len();
            let until = self.clock.now() + self.lease();
            let renew = self.store.renew_leases(&self.owner, ids, until);
            match self.metrics.store_call(StoreOp::RenewLeases, None, renew).await {
                // Fewer: outcomes recorded meanwhile, or leases that ran out before this.
                Ok(renewed) => tracing::debug!(count, renewed, "renewed delivery leases"),
                Err(e) => {
                    tracing::warn!(error = %e, count, "could not renew delivery leases; another worker may send them again")
                }
            }
        }
    }

    /// Runs until `shutdown` is cancelled. Then it stops claiming, gives requests in flight
    /// `shutdown_grace` to finish, releases the leases of those that did not, records every
    /// outcome it has, and returns.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let permits = self.permits.clone();
        self.running.store(true, Ordering::Release);
        let tasks = TaskTracker::new();
        let hard_stop = CancellationToken::new();
        let (done_tx, done_rx) = mpsc::channel(COMPLETION_QUEUE);
        let recorder = tokio::spawn(self.clone().record(done_rx));
        let renewing = CancellationToken::new();
        let renewer = tokio::spawn(self.clone().renew(renewing.clone()));
        // Whether the last claim found nothing due.
        let mut store_drained = false;
        loop {
            let first = tokio::select! {
                permit = permits.clone().acquire_owned() => match permit { Ok(p) => p, Err(_) => break },
                _ = shutdown.cancelled() => break,
            };
            // Deliveries an ingest leased for this worker come first, and cost no claim.
            let handed = std::mem::take(&mut *lock(&self.inbox));
            let handed_over = !handed.is_empty();
            let claimed = if handed_over {
                Ok((handed, false))
            } else {
                let room = (permits.available_permits() + 1).min(self.config.claim_batch as usize);
                self.claim(room as u32).await
            };
            match claimed {
                Ok((batch, _)) if !batch.is_empty() => {
                    let (suspects, batch): (Vec<_>, Vec<_>) = batch.into_iter().partition(|(c, _)| self.suspect(c));
                    let mut first = Some(first);
                    for (item, slot) in batch {
                        let permit = match first.take() {
                            Some(p) => p,
                            None => match permits.clone().acquire_owned().await {
                                Ok(p) => p,
                                Err(_) => break,
                            },
                        };
                        let (this, stop, done) = (self.clone(), hard_stop.clone(), done_tx.clone());
                        tasks.spawn(async move {
                            let ordered = item.webhook.format.ordering.is_fifo();
                            let completion = this.deliver(item, stop).await;
                            // The request is over: the endpoint's slot is free again.
                            drop(slot);
                            if let Some(completion) = completion {
                                // Only fails if the recorder is gone; the lease then expires.
                                let _ = done.send(Record::Outcome { done: completion, ordered }).await;
                            }
                            drop(permit);
                        });
                    }
                    if !suspects.is_empty() {
                        drop(first);
                        self.isolate(suspects, &tasks, &done_tx, &shutdown).await;
                    }
                    if handed_over && store_drained {
                        // The last claim found nothing, so one now most likely would not
                        // either: sleep until the next due delivery instead. (Under load
                        // claims find work, and the loop goes on claiming.)
                        self.idle_after_handover(&shutdown).await;
                    }
                    if !handed_over {
                        store_drained = false;
                    }
                }
                // Nothing leased, but empty buckets found: the next claim passes over them.
                Ok((_, true)) => drop(first),
                Ok(_) => {
                    drop(first);
                    store_drained = true;
                    self.idle(&shutdown).await;
                }
                Err(e) => {
                    drop(first);
                    tracing::error!(error = %e, "claiming due deliveries failed; trying again shortly");
                    tokio::select! {
                        _ = tokio::time::sleep(self.config.poll_interval) => {}
                        _ = shutdown.cancelled() => {}
                    }
                }
            }
        }
        // No more take-overs; what was handed over and not started goes back.
        let unsent: Vec<DeliveryId> = {
            let mut inbox = lock(&self.inbox);
            self.running.store(false, Ordering::Release);
            std::mem::take(&mut *inbox).into_iter().map(|(c, _)| c.delivery_id).collect()
        };
        if !unsent.is_empty() {
            self.let_go(&unsent);
            if let Err(e) = self.store.release(&self.owner, unsent, self.clock.now()).await {
                tracing::warn!(error = %e, "could not release leases; they will expire");
            }
        }
        tasks.close();
        if tokio::time::timeout(self.config.shutdown_grace, tasks.wait()).await.is_err() {
            tracing::warn!(in_flight = tasks.len(), "shutdown grace over; releasing unfinished deliveries");
            hard_stop.cancel();
            tasks.wait().await;
        }
        drop(done_tx);
        if recorder.await.is_err() {
            tracing::error!("the outcome recorder stopped abnormally; unrecorded deliveries will be retried");
        }
        renewing.cancel();
        let _ = renewer.await;
    }

    /// Records outcomes as they come, as many per store call as are waiting: one batch is
    /// written while the next gathers. Ends when every sender is gone and the queue is empty.
    async fn record(self: Arc<Self>, mut done: mpsc::Receiver<Record>) {
        let mut batch = Vec::with_capacity(COMPLETION_BATCH);
        while done.recv_many(&mut batch, COMPLETION_BATCH).await > 0 {
            let flushing = |batch: &[Record]| {
                batch.iter().any(|r| matches!(r, Record::Flush(_) | Record::Outcome { ordered: true, .. }))
            };
            let linger = tokio::time::Instant::now() + COMPLETION_LINGER;
            while batch.len() < COMPLETION_BATCH && !flushing(&batch) {
                let room = COMPLETION_BATCH - batch.len();
                let more = done.recv_many(&mut batch, room);
                match tokio::time::timeout_at(linger, more).await {
                    Ok(n) if n > 0 => {}
                    // The time is up, or every sender is gone.
                    _ => break,
                }
            }
            let mut outcomes = Vec::with_capacity(batch.len());
            let mut flushes = Vec::new();
            let mut queue_moved = false;
            for record in batch.drain(..) {
                match record {
                    Record::Outcome { done, ordered } => {
                        queue_moved |= ordered;
                        outcomes.push(done);
                    }
                    Record::Flush(answer) => flushes.push(answer),
                }
            }
            if !outcomes.is_empty() {
                self.write(outcomes).await;
            }
            if queue_moved {
                // The next delivery of an ordered endpoint may be due now (since the
                // outcome's time, which may be before what a claim meanwhile passed over).
                self.forget_passed();
                self.wake.notify_one();
            }
            for answer in flushes {
                let _ = answer.send(());
            }
        }
    }

    /// Whether this is `item`'s last try before it is parked: its leases expired without an
    /// outcome all but once, so its worker likely crashed on it. That try is made alone
    /// ([`Dispatcher::isolate`]), so deliveries that were merely in flight beside it at
    /// earlier crashes are never parked with it. (Earlier tries run as usual: after one
    /// crash, everything that was in flight is due again at once.)
    fn suspect(&self, item: &Claimed) -> bool {
        let limit = self.config.max_expired_leases;
        limit > 1 && item.expired_leases == limit - 1
    }

    /// Sends one suspect alone, after everything in flight has finished and been recorded,
    /// and gives the other suspects back (they come again in later claims). Should it crash
    /// the process again, only its own count of expired leases goes up, not that of
    /// deliveries that happened to be in flight beside it.
    async fn isolate(
        &self,
        mut suspects: Vec<(Claimed, Slot)>,
        tasks: &TaskTracker,
        done: &mpsc::Sender<Record>,
        shutdown: &CancellationToken,
    ) {
        let (item, _slot) = suspects.remove(0);
        let rest: Vec<_> = suspects.into_iter().map(|(c, _)| c.delivery_id).collect();
        let release = |ids: Vec<_>| async move {
            self.let_go(&ids);
            if let Err(e) = self.store.release(&self.owner, ids, self.clock.now()).await {
                tracing::warn!(error = %e, "could not release leases; they will expire");
            }
        };
        if !rest.is_empty() {
            release(rest).await;
        }
        tasks.close();
        tasks.wait().await;
        tasks.reopen();
        self.flush(done).await;
        let id = item.delivery_id.clone();
        tracing::warn!(delivery = %id, expired_leases = item.expired_leases, "sending a suspect delivery alone");
        // Bounded: a delivery that hangs is left to its lease, which then counts.
        let sent = tokio::select! {
            sent = tokio::time::timeout(self.config.lease, self.deliver(item, CancellationToken::new())) => {
                if sent.is_err() {
                    self.let_go([&id]);
                }
                sent.ok().flatten()
            }
            _ = shutdown.cancelled() => {
                release(vec![id]).await;
                None
            }
        };
        if let Some(completion) = sent {
            let _ = done.send(Record::Outcome { done: completion, ordered: false }).await;
            self.flush(done).await;
        }
    }

    /// Returns once every outcome sent to the recorder so far is recorded.
    async fn flush(&self, done: &mpsc::Sender<Record>) {
        let (answer, recorded) = oneshot::channel();
        if done.send(Record::Flush(answer)).await.is_ok() {
            let _ = recorded.await;
        }
    }

    async fn write(&self, batch: Vec<Completion>) {
        let retry_soon = batch.iter().any(|c| matches!(c.outcome, Outcome::RetryAt(_)));
        let count = batch.len();
        // On a full disk, try the outcomes again while their leases last, rather than let
        // the leases expire and send them all again. Meanwhile senders wait for the recorder
        // and claims for senders: the dispatcher backs off as a whole. A copy is kept only
        // once the disk was seen full (outcomes can hold large bodies), so the batch that
        // first meets it is left to its leases: at-least-once either way.
        let give_up = tokio::time::Instant::now() + self.config.lease.saturating_sub(self.config.poll_interval);
        let ids: Vec<DeliveryId> = batch.iter().map(|c| c.delivery_id.clone()).collect();
        // Recording these may emit operational events (a delivery dead, an endpoint disabled),
        // whose deliveries are due at once.
        let mut wake = batch.iter().any(|c| {
            matches!(c.outcome, Outcome::Dead { .. }) || matches!(c.endpoint, Some(EndpointAction::Disable(_)))
        });
        let mut recorded = false;
        let samples = HealthWatch::samples(&batch);
        let mut outcomes = batch;
        loop {
            let retry = self.disk_full.load(Ordering::Relaxed) && tokio::time::Instant::now() < give_up;
            let kept = retry.then(|| outcomes.clone());
            let now = self.clock.now();
            let tally = Metrics::tally(&outcomes);
            let complete = self.store.complete(&self.owner, outcomes, self.config.disable_after, now);
            let result = self.metrics.store_call(StoreOp::Complete, Some("store.complete"), complete).await;
            self.disk_full.store(matches!(result, Err(StoreError::StorageFull)), Ordering::Relaxed);
            match (result, kept) {
                (Ok(()), _) => {
                    self.metrics.recorded(tally);
                    recorded = true;
                    break;
                }
                (Err(StoreError::StorageFull), Some(kept)) => {
                    tracing::warn!(count, "the database's disk is full; recording delivery outcomes again shortly");
                    tokio::time::sleep(self.config.poll_interval).await;
                    outcomes = kept;
                }
                (Err(e), _) => {
                    // The leases will expire and these deliveries are attempted again.
                    tracing::error!(error = %e, count, "could not record delivery outcomes");
                    break;
                }
            }
        }
        self.let_go(&ids);
        if recorded {
            wake |= self.judge_health(&samples).await;
        }
        if wake {
            // Operational events stamped before this write: due since then, which may be
            // before what a claim meanwhile passed over.
            self.forget_passed();
        }
        if retry_soon || wake {
            // Let the loop recompute how long it may sleep.
            self.wake.notify_one();
        }
    }

    /// Adds recorded outcomes to their endpoints' health windows and writes the changes the
    /// rule asks for (rare: only a change of state reaches the store). Returns whether one
    /// moved, which emitted an event.
    async fn judge_health(&self, recorded: &[crate::health::Sample]) -> bool {
        let mut moved = false;
        for (id, to, window) in self.health.record(recorded) {
            match self.store.set_health(id.clone(), to, window, self.clock.now()).await {
                Ok(changed) => {
                    moved |= changed;
                    self.health.settled(&id, to);
                }
                // Judged again with its next outcome.
                Err(e) => tracing::warn!(error = %e, webhook = %id, "could not record an endpoint's health"),
            }
        }
        moved
    }

    /// Sleeps until the earliest due delivery, new work, or the poll interval, whichever
    /// comes first (the poll covers other nodes' work and expired leases).
    async fn idle(&self, shutdown: &CancellationToken) {
        let now = self.clock.now();
        let limits = self.fairness.limits(now);
        let due = match limits.reopened.is_empty() {
            // Endpoints that left the skip set may have deliveries due before `due_after`.
            false => Ok(Some(now)),
            true => {
                let next = self.store.next_due_except(limits.skip, limits.due_after);
                self.metrics.store_call(StoreOp::NextDue, None, next).await
            }
        };
        if let Ok(at) = &due {
            *lock(&self.store_due) = Some(*at);
        }
        self.sleep_until_due(due, now, shutdown).await;
    }

    /// [`Dispatcher::idle`] after deliveries were handed over: the next due time the last
    /// idle read still holds unless it has passed, since whatever makes work due sooner
    /// wakes this loop (an ingest, a retry recorded, a queue moving on, a slot freed, work
    /// by hand; other nodes' within the poll interval, as before). Saves a read per event.
    async fn idle_after_handover(&self, shutdown: &CancellationToken) {
        let now = self.clock.now();
        let known = *lock(&self.store_due);
        match known {
            Some(at) if at.is_none_or(|at| at > now) => self.sleep_until_due(Ok(at), now, shutdown).await,
            _ => self.idle(shutdown).await,
        }
    }

    async fn sleep_until_due(
        &self,
        due: StoreResult<Option<chrono::DateTime<chrono::Utc>>>,
        now: chrono::DateTime<chrono::Utc>,
        shutdown: &CancellationToken,
    ) {
        let poll = self.config.poll_interval;
        // Endpoints at their cap or out of tokens are passed over: a freed slot wakes the
        // loop, and the earliest refill ends the sleep.
        let due = due.map(|at| match (at, self.fairness.refill()) {
            (Some(at), Some(refill)) => Some(at.min(refill)),
            (at, refill) => at.or(refill),
        });
        let wait = match due {
            Ok(Some(at)) => (at - now).to_std().unwrap_or(Duration::ZERO).min(poll),
            Ok(None) => poll,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the next due time");
                poll
            }
        };
        // A floor keeps a due-but-unclaimable row (a race with another node) from spinning.
        let wait = wait.max(Duration::from_millis(2));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = self.wake.notified() => {}
            _ = shutdown.cancelled() => {}
        }
    }

    /// Claims one batch, delivers all of it and records the outcomes before returning how
    /// many were claimed: lets tests and tools drive the worker step by step.
    pub async fn step(self: &Arc<Self>) -> StoreResult<usize> {
        let (batch, _) = self.claim(self.config.claim_batch).await?;
        let count = batch.len();
        let mut set = JoinSet::new();
        for (item, slot) in batch {
            let this = self.clone();
            set.spawn(async move {
                let completion = this.deliver(item, CancellationToken::new()).await;
                drop(slot);
                completion
            });
        }
        let mut outcomes = Vec::with_capacity(count);
        while let Some(done) = set.join_next().await {
            if let Ok(Some(completion)) = done {
                outcomes.push(completion);
            }
        }
        self.write(outcomes).await;
        Ok(count)
    }

    /// [`Dispatcher::attempt`] in the delivery's span (`crate::trace`): its log lines
    /// and trace span name the delivery, its event and the attempt.
    async fn deliver(&self, item: Claimed, hard_stop: CancellationToken) -> Option<Completion> {
        let span = crate::trace::attempt_span(&item);
        tracing::Instrument::instrument(self.attempt(item, hard_stop), span).await
    }

    /// Makes one attempt (unless the endpoint is disabled) and decides what follows.
    /// `None`: stopped by `hard_stop`; the lease was released instead.
    async fn attempt(&self, item: Claimed, hard_stop: CancellationToken) -> Option<Completion> {
        let delivery_id = item.delivery_id.clone();
        let limit = self.config.max_expired_leases;
        if limit > 0 && item.expired_leases >= limit {
            // Every worker that took this delivery died or hung before it had an outcome:
            // trying again would take the next one down too.
            let note = parked_reason(item.expired_leases);
            tracing::error!(delivery = %delivery_id, "{note}");
            return Some(Completion {
                delivery_id,
                webhook_id: item.webhook.id.clone(),
                attempt: None,
                // Not the endpoint's fault: it does not count towards disabling it.
                outcome: Outcome::Dead { counts_as_failure: false },
                note: Some(note),
                endpoint: None,
            });
        }
        #[cfg(debug_assertions)]
        fault::abort_if_marked(&item.event.data);
        if !item.webhook.active && item.event.target.is_none() {
            // Disabled endpoints get nothing. If scanhook disabled it after failures, the
            // delivery is held for `enable` with `replay_missed`, like the events accepted
            // meanwhile; if the user switched it off, it becomes a dead letter to replay.
            let (outcome, note) = match item.webhook.disabled_at {
                Some(_) => (Outcome::Held, "held: the endpoint was disabled after failures"),
                None => (Outcome::Dead { counts_as_failure: false }, "not sent: the endpoint is disabled"),
            };
            return Some(Completion {
                delivery_id,
                webhook_id: item.webhook.id.clone(),
                attempt: None,
                outcome,
                note: Some(note.into()),
                endpoint: None,
            });
        }
        if let Some(until) = item.webhook.retry_not_before.filter(|until| *until > self.clock.now()) {
            // Its receiver asked for a pause (429/503 with Retry-After): nothing goes to it
            // before then, and waiting costs the delivery nothing (no attempt, no failure).
            tracing::debug!(delivery = %delivery_id, %until, "endpoint paused by its receiver; delivery waits");
            return Some(Completion {
                delivery_id,
                webhook_id: item.webhook.id.clone(),
                attempt: None,
                outcome: Outcome::Wait(until),
                note: None,
                endpoint: None,
            });
        }
        let number = item.attempt_count + 1;
        let sent = tokio::select! {
            sent = self.sender.send(&item, number, self.clock.now()) => sent,
            _ = hard_stop.cancelled() => {
                self.let_go([&delivery_id]);
                if let Err(e) = self.store.release(&self.owner, vec![delivery_id.clone()], self.clock.now()).await {
                    tracing::warn!(delivery = %delivery_id, error = %e, "could not release lease; it will expire");
                }
                return None;
            }
        };
        self.metrics.attempt(Duration::from_millis(sent.attempt.latency_ms), sent.failure);
        let now = self.clock.now();
        // A pause the receiver asked for holds this delivery's retry and the endpoint's
        // other deliveries alike; `410 Gone` disables the endpoint and holds this delivery
        // like those to come, for `enable` with `replay_missed`.
        let pause = sent.asked.pause_until(now);
        let endpoint = match &sent.asked {
            Asked::Gone => Some(EndpointAction::Disable(polite::GONE_REASON.into())),
            _ => pause.map(EndpointAction::PauseUntil),
        };
        let outcome = if sent.success {
            Outcome::Succeeded
        } else if sent.asked == Asked::Gone {
            // Held for `enable`, unless the user had switched the endpoint off (a test
            // event reached it): then nothing is held for it, as for any other delivery.
            if item.webhook.active { Outcome::Held } else { Outcome::Dead { counts_as_failure: false } }
        } else {
            let jitter = rand::thread_rng().gen_range(-1.0..=1.0);
            match self.config.retry.next_attempt_at(item.round_attempts + 1, now, jitter) {
                Some(at) => Outcome::RetryAt(pause.map_or(at, |p| at.max(p))),
                // Test events do not push an endpoint towards being disabled.
                None => Outcome::Dead { counts_as_failure: item.event.target.is_none() },
            }
        };
        tracing::debug!(delivery = %delivery_id, attempt = number, success = sent.success, "attempt made");
        let attempt = Some(sent.attempt);
        Some(Completion { delivery_id, webhook_id: item.webhook.id, attempt, outcome, note: None, endpoint })
    }
}

/// Why a delivery was parked instead of tried again (see `DispatchConfig::max_expired_leases`).
pub fn parked_reason(expired_leases: u32) -> String {
    format!("parked: {expired_leases} leases expired without an outcome; the worker crashed or hung while sending it")
}

/// Fault injection for tests, compiled into debug builds only (release builds do not have
/// it): with `SCANHOOK_FAULT_ABORT_ON_DELIVERY_DATA=<marker>` set, the process aborts when it
/// starts on a delivery whose event data contains the marker, as a bug that crashes a
/// sender would. The poison-pill test (`crates/scanhook/tests/it/containment.rs`) uses it.
#[cfg(debug_assertions)]
mod fault {
    use std::sync::OnceLock;

    pub fn abort_if_marked(data: &str) {
        static MARKER: OnceLock<Option<String>> = OnceLock::new();
        let marker = MARKER
            .get_or_init(|| std::env::var("SCANHOOK_FAULT_ABORT_ON_DELIVERY_DATA").ok().filter(|m| !m.is_empty()));
        if marker.as_deref().is_some_and(|m| data.contains(m)) {
            tracing::error!("SCANHOOK_FAULT_ABORT_ON_DELIVERY_DATA matched: aborting (test fault injection)");
            std::process::abort();
        }
    }
}
