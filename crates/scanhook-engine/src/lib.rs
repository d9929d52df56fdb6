//! The delivery engine.
//!
//! [`Engine::accept_event`] turns a producer's event into stored deliveries and wakes the
//! [`Dispatcher`], which leases due deliveries from the store, sends each with the
//! [`sender`], and records the outcome: success, a retry on the schedule, or a dead
//! letter. Delivery is at-least-once: a worker that dies mid-request leaves a lease that
//! expires, and the delivery is sent again.
//!
//! The engine knows nothing of HTTP routing or wire JSON; the store knows nothing of HTTP.

pub mod clock;
pub mod config;
pub mod dispatcher;
mod fairness;
mod guard;
mod health;
pub mod metrics;
pub mod retention;
pub mod sandbox;
pub mod sender;
pub mod sweeper;
pub mod trace;
mod usecases;

use std::sync::Arc;

use chrono::SubsecRound;
use scanhook_core::{AccountId, EventId, EventType, WebhookId};
use scanhook_store::{EventScope, EventStamp, Ingested, NewEvent, Store, StoreResult};
use tokio::sync::Notify;

pub use clock::{Clock, SystemClock};
pub use config::DispatchConfig;
pub use dispatcher::Dispatcher;
pub use metrics::Metrics;
use metrics::StoreOp;
pub use sender::TEMPLATES_OFF;

/// An event as a producer reported it, already validated.
#[derive(Debug, Clone)]
pub struct IncomingEvent {
    pub event_type: EventType,
    /// A JSON object, kept byte for byte.
    pub data: String,
    /// `(key, request hash)` from an `Idempotency-Key` header.
    pub idempotency: Option<(String, String)>,
    /// Deliver to this endpoint only (test events).
    pub target: Option<WebhookId>,
    /// The project and severity endpoint filters look at.
    pub scope: EventScope,
}

/// Why an endpoint is not taken as validated.
#[derive(Debug)]
pub enum ValidateError {
    /// This process sends nothing (`SCANHOOK_DISPATCH=false`), so it cannot ask.
    Off,
    /// The endpoint did not consent: what came back instead.
    Refused(String),
}

impl std::fmt::Display for ValidateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Off => f.write_str("this server sends no requests (SCANHOOK_DISPATCH=false), so it cannot validate"),
            Self::Refused(why) => f.write_str(why),
        }
    }
}

/// What the API needs from the engine: accepting events and the clock.
pub struct Engine {
    store: Arc<dyn Store>,
    config: DispatchConfig,
    clock: Arc<dyn Clock>,
    wake: Arc<Notify>,
    /// The delivery client that asks endpoints for consent, made on first use.
    handshakes: std::sync::OnceLock<sender::Sender>,
    /// This process among the nodes sharing the database: owner of its leases.
    node: String,
    /// Until when this node holds each job's lease, as last written: renewed only once
    /// half of it has passed, so a sweep every second is not a database write every second.
    held: std::sync::Mutex<std::collections::HashMap<String, chrono::DateTime<chrono::Utc>>>,
    /// This process's dispatcher: new deliveries are leased to it as they are stored.
    dispatcher: std::sync::OnceLock<Arc<Dispatcher>>,
    /// What this process records for `/metrics` (nothing with `config.metrics` off).
    metrics: Arc<Metrics>,
}

impl Engine {
    pub fn new(store: Arc<dyn Store>, config: DispatchConfig, clock: Arc<dyn Clock>) -> Self {
        let node = format!("{}-{}", config.node_name, ulid::Ulid::new());
        let metrics = Arc::new(Metrics::new(config.metrics, store.group_commits()));
        Self {
            metrics,
            store,
            config,
            clock,
            wake: Arc::new(Notify::new()),
            handshakes: std::sync::OnceLock::new(),
            node,
            held: Default::default(),
            dispatcher: std::sync::OnceLock::new(),
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn config(&self) -> &DispatchConfig {
        &self.config
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// This process's name among the nodes sharing the database (the owner of its
    /// delivery and job leases).
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Whether this node runs the periodic job `name` now: it takes or renews the job's
    /// lease for `hold` (`Store::lease_job`). A node that died gives the job up when its
    /// lease expires. A store error counts as not holding it (the next pass asks again).
    pub async fn leads(&self, name: &str, hold: std::time::Duration) -> bool {
        let now = self.clock.now().trunc_subsecs(3);
        let hold = chrono::Duration::from_std(hold).unwrap_or(chrono::Duration::minutes(1));
        let cached = self.held.lock().unwrap_or_else(|e| e.into_inner()).get(name).copied();
        if cached.is_some_and(|until| now < until - hold / 2) {
            return true;
        }
        let until = now + hold;
        match self.store.lease_job(name, &self.node, now, until).await {
            Ok(held) => {
                let mut jobs = self.held.lock().unwrap_or_else(|e| e.into_inner());
                if held {
                    jobs.insert(name.to_string(), until);
                } else {
                    jobs.remove(name);
                }
                held
            }
            Err(e) => {
                tracing::warn!(job = name, error = %e, "could not take the job's lease");
                false
            }
        }
    }

    /// Stores the event and its deliveries durably, then wakes the dispatcher.
    pub async fn accept_event(&self, account: &AccountId, event: IncomingEvent) -> StoreResult<Ingested> {
        // Stored times have millisecond precision; the answer must match what is stored.
        let now = self.clock.now().trunc_subsecs(3);
        let first_delay = chrono::Duration::from_std(self.config.retry.first_delay()).unwrap_or_default();
        let new = NewEvent {
            id: EventId::generate(),
            event_type: event.event_type,
            timestamp: now,
            data: event.data,
            target: event.target,
            idempotency: event.idempotency,
            first_attempt_at: now + first_delay,
            scope: event.scope,
            trace_parent: trace::event_trace_parent().map(|t| t.to_string()),
        };
        let (ingested, handed) = match self.offer() {
            Some((dispatcher, lease, offer)) => {
                let ingest = self.store.ingest_event_leased(account, new, now, lease);
                let (ingested, claim) =
                    self.metrics.store_call(StoreOp::Ingest, Some("store.ingest_event"), ingest).await?;
                // Passed over for an endpoint at its cap: its freed slot wakes the dispatcher.
                let handed = claim.items.len() + claim.passed_over as usize;
                self.metrics.passed_over(claim.passed_over);
                dispatcher.take_over(claim, offer).await;
                (ingested, handed)
            }
            None => {
                let ingest = self.store.ingest_event(account, new, now);
                (self.metrics.store_call(StoreOp::Ingest, Some("store.ingest_event"), ingest).await?, 0)
            }
        };
        if let Ingested::Created(event) = &ingested {
            self.metrics.event_ingested(event.event_type.as_str());
        }
        // What was handed over woke the dispatcher already, and what was passed over waits for
        // a slot or a refill, which wakes it too; a claim for nothing would cost a unit of work.
        if matches!(&ingested, Ingested::Created(e) if e.delivery_count as usize > handed) {
            // Stamped before it was stored: its deliveries may be due before what a claim
            // in between thought passed over.
            self.wake();
        }
        Ok(ingested)
    }

    /// Stores a batch of events and their deliveries durably in one unit of work
    /// (`Store::ingest_events`: one result per event, in order), then wakes the dispatcher.
    pub async fn accept_events(
        &self,
        account: &AccountId,
        events: Vec<IncomingEvent>,
    ) -> StoreResult<Vec<StoreResult<Ingested>>> {
        let stamp = self.event_stamp();
        let batch = events
            .into_iter()
            .map(|event| NewEvent {
                id: EventId::generate(),
                event_type: event.event_type,
                timestamp: stamp.timestamp,
                data: event.data,
                target: event.target,
                idempotency: event.idempotency,
                first_attempt_at: stamp.first_attempt_at,
                scope: event.scope,
                trace_parent: trace::event_trace_parent().map(|t| t.to_string()),
            })
            .collect();
        let (results, handed) = match self.offer() {
            Some((dispatcher, lease, offer)) => {
                let ingest = self.store.ingest_events_leased(account, batch, stamp.timestamp, lease);
                let (results, claim) =
                    self.metrics.store_call(StoreOp::Ingest, Some("store.ingest_events"), ingest).await?;
                let handed = claim.items.len() + claim.passed_over as usize;
                self.metrics.passed_over(claim.passed_over);
                dispatcher.take_over(claim, offer).await;
                (results, handed)
            }
            None => {
                let ingest = self.store.ingest_events(account, batch, stamp.timestamp);
                (self.metrics.store_call(StoreOp::Ingest, Some("store.ingest_events"), ingest).await?, 0)
            }
        };
        let made: usize = results
            .iter()
            .map(|r| match r {
                Ok(Ingested::Created(e)) => {
                    self.metrics.event_ingested(e.event_type.as_str());
                    e.delivery_count as usize
                }
                _ => 0,
            })
            .sum();
        if made > handed {
            self.wake();
        }
        Ok(results)
    }

    /// Timestamps for events a store operation derives (project and scan changes): now, and
    /// the first attempt as the retry schedule says. Call [`Engine::wake`] afterwards.
    pub fn event_stamp(&self) -> EventStamp {
        let timestamp = self.clock.now().trunc_subsecs(3);
        let first_delay = chrono::Duration::from_std(self.config.retry.first_delay()).unwrap_or_default();
        // Called in the request that makes the change: its events continue the request's trace.
        EventStamp { timestamp, first_attempt_at: timestamp + first_delay, trace_parent: trace::event_trace_parent() }
    }

    /// Tells the dispatcher that work may be due now (after a retry or replay by hand, or
    /// another node's work), possibly due since a time its claims thought passed.
    pub fn wake(&self) {
        if let Some(dispatcher) = self.dispatcher.get() {
            dispatcher.forget_passed();
        }
        self.wake.notify_one();
    }

    /// Whether the endpoint at `url` agrees to receive deliveries from this deployment
    /// (the abuse-protection handshake, [`sender::Sender::handshake`]); the error says why not.
    pub async fn validate_endpoint(&self, url: &str) -> Result<(), ValidateError> {
        if !self.config.sends {
            return Err(ValidateError::Off);
        }
        let sender = match self.handshakes.get() {
            Some(sender) => sender,
            None => {
                let sender =
                    sender::Sender::new(self.config.clone()).map_err(|e| ValidateError::Refused(e.to_string()))?;
                self.handshakes.get_or_init(|| sender)
            }
        };
        sender.handshake(url).await.map_err(ValidateError::Refused)
    }

    /// A dispatcher that shares this engine's store, clock and wake-up signal. The first one
    /// made takes over the deliveries events make while it runs and has room
    /// ([`Dispatcher::offer`]).
    pub fn dispatcher(&self, owner: String) -> Result<Arc<Dispatcher>, reqwest::Error> {
        let dispatcher = Arc::new(Dispatcher::new(
            self.store.clone(),
            self.config.clone(),
            self.clock.clone(),
            self.wake.clone(),
            owner,
            self.metrics.clone(),
        )?);
        let _ = self.dispatcher.set(dispatcher.clone());
        Ok(dispatcher)
    }

    /// The claim an ingest may make for this process's dispatcher, if it runs and has room.
    fn offer(&self) -> Option<(&Arc<Dispatcher>, scanhook_store::Lease, dispatcher::Offer)> {
        let dispatcher = self.dispatcher.get()?;
        let (lease, offer) = dispatcher.offer()?;
        Some((dispatcher, lease, offer))
    }
}
