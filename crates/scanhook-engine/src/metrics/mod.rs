//! The engine's metrics, in a `prometheus-client` registry the server serves at `/metrics`.
//!
//! Recording is an atomic add on a handle made when the registry is built: every label
//! value is one of a fixed set known then (event type families, outcomes, failure classes,
//! store operations), so the hot path takes no lock and allocates nothing, and no label
//! carries an event, account or endpoint. Histograms are [`AtomicHistogram`]s for the same
//! reason (the crate's own histogram takes a lock per observation). Counts the store makes
//! (the queue's depth) are refreshed at most every [`QUEUE_REFRESH`], one count at a time,
//! so scrapes never load the database. With `SCANHOOK_METRICS=false` nothing is recorded.

mod atomic;
mod failure;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeMetric;
use prometheus_client::metrics::TypedMetric;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use scanhook_store::{Completion, GroupCommits, Outcome, Store};

pub use atomic::AtomicHistogram;
use atomic::{StoreCounter, histogram};
pub use failure::Failure;

/// The longest the queue's depth, as scraped, is out of date.
pub const QUEUE_REFRESH: Duration = Duration::from_secs(10);
/// The longest a scrape waits for the store to count the queue.
const QUEUE_COUNT_TIMEOUT: Duration = Duration::from_secs(2);

const ATTEMPT_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];
const STORE_BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

type Label = [(&'static str, &'static str); 1];

/// What the dispatcher recorded for a delivery (`outcome` label).
fn outcome_index(outcome: &Outcome) -> usize {
    match outcome {
        Outcome::Succeeded => 0,
        Outcome::RetryAt(_) => 1,
        Outcome::Dead { .. } => 2,
        Outcome::Held => 3,
        Outcome::Wait(_) => 4,
    }
}
const OUTCOMES: [&str; 5] = ["delivered", "retry_scheduled", "dead", "held", "paused"];

/// A batch's outcomes, counted by kind ([`Metrics::tally`]).
#[derive(Debug, Clone, Copy)]
pub struct Tally([u64; OUTCOMES.len()]);

/// A store call the engine times (`operation` label).
#[derive(Debug, Clone, Copy)]
pub enum StoreOp {
    Claim,
    Ingest,
    Complete,
    RenewLeases,
    NextDue,
    QueueDepth,
}

impl StoreOp {
    const ALL: [StoreOp; 6] =
        [Self::Claim, Self::Ingest, Self::Complete, Self::RenewLeases, Self::NextDue, Self::QueueDepth];

    fn label(self) -> &'static str {
        match self {
            Self::Claim => "claim",
            Self::Ingest => "ingest",
            Self::Complete => "complete",
            Self::RenewLeases => "renew_leases",
            Self::NextDue => "next_due",
            Self::QueueDepth => "queue_depth",
        }
    }
}

/// The queue's depth as last counted, and when.
struct QueueGauges {
    deliveries: [Gauge; 4],
    endpoints_disabled: [Gauge; 2],
    counted_at: tokio::sync::Mutex<Option<Instant>>,
}

/// Every metric the engine records; see docs/operations.md for what each means.
pub struct Metrics {
    on: bool,
    registry: Registry,
    /// The catalogue's event type families (`scan` of `scan.completed`), then `other`.
    families: Vec<(&'static str, Counter)>,
    other_family: Counter,
    outcomes: [Counter; OUTCOMES.len()],
    failures: [Counter; Failure::ALL.len()],
    attempt_seconds: AtomicHistogram,
    store_seconds: [AtomicHistogram; StoreOp::ALL.len()],
    recorder_batch: AtomicHistogram,
    sandbox_wait: AtomicHistogram,
    passed_over: Counter,
    empty_buckets: Counter,
    queue: QueueGauges,
}

impl Metrics {
    /// The registry with every engine metric; `on: false` records nothing. `commits`: the
    /// store's group commits, if it makes them (read when scraped).
    pub fn new(on: bool, commits: Option<Arc<GroupCommits>>) -> Self {
        let mut registry = Registry::with_prefix("scanhook");
        if let Some(commits) = commits.filter(|_| on) {
            let read = |read: fn(&GroupCommits) -> u64| StoreCounter { commits: commits.clone(), read };
            registry.register("store_group_commits", "Group commits of the SQLite writer", read(GroupCommits::commits));
            registry.register(
                "store_group_commit_writes",
                "Units of work the SQLite writer's group commits held (per commit: divide by the commits)",
                read(GroupCommits::writes),
            );
        }
        let mut names: Vec<&'static str> = scanhook_core::catalogue::catalogue()
            .iter()
            .filter_map(|t| t.event_type.split_once('.').map(|(family, _)| family))
            .collect();
        names.extend(scanhook_core::catalogue::WEBHOOK_TEST.split_once('.').map(|(family, _)| family));
        names.sort_unstable();
        names.dedup();
        let events = Family::<Label, Counter>::default();
        let families = names.into_iter().map(|f| (f, events.get_or_create(&[("family", f)]).clone())).collect();
        let other_family = events.get_or_create(&[("family", "other")]).clone();
        registry.register("events_ingested", "Events accepted, by event type family (before the first dot)", events);

        let mut r = Registering(&mut registry);
        let outcomes = r.labelled("deliveries", "Delivery outcomes recorded", "outcome", OUTCOMES, Counter::default);
        let failures = r.labelled(
            "attempt_failures",
            "Attempts that failed, by class",
            "class",
            Failure::ALL.map(Failure::label),
            Counter::default,
        );
        let store_seconds = r.labelled(
            "store_duration_seconds",
            "Time of the engine's store calls, by operation",
            "operation",
            StoreOp::ALL.map(StoreOp::label),
            || AtomicHistogram::new(STORE_BUCKETS),
        );
        let [attempt_seconds, recorder_batch, sandbox_wait] = [
            ("attempt_duration_seconds", "Time of one delivery attempt, rendering included", ATTEMPT_BUCKETS),
            ("recorder_batch_size", "Outcomes recorded per store call (the dispatcher's group commit)", BATCH_BUCKETS),
            (
                "sandbox_wait_seconds",
                "Time a template render waited for a sandbox worker (those that gave up included)",
                STORE_BUCKETS,
            ),
        ]
        .map(|(name, help, buckets)| r.one(name, help, histogram(buckets)));
        let [passed_over, empty_buckets] = [
            (
                "deliveries_passed_over",
                "Deliveries an ingest left due because their endpoint was at its cap or out of rate tokens",
            ),
            (
                "rate_limit_hits",
                "Endpoints a claim found with an empty rate bucket (their due deliveries wait for a refill)",
            ),
        ]
        .map(|(name, help)| r.one(name, help, Counter::default));
        let deliveries = r.labelled(
            "queue_deliveries",
            "Deliveries by state, counted at most every 10 s",
            "state",
            ["due", "scheduled", "held", "dead"],
            Gauge::default,
        );
        let endpoints_disabled = r.labelled(
            "endpoints_disabled",
            "Disabled endpoints, counted at most every 10 s",
            "disabled_by",
            ["failures", "user"],
            Gauge::default,
        );

        Self {
            on,
            registry,
            families,
            other_family,
            outcomes,
            failures,
            attempt_seconds,
            store_seconds,
            recorder_batch,
            sandbox_wait,
            passed_over,
            empty_buckets,
            queue: QueueGauges { deliveries, endpoints_disabled, counted_at: tokio::sync::Mutex::new(None) },
        }
    }

    /// Whether metrics are recorded (`SCANHOOK_METRICS`).
    pub fn is_on(&self) -> bool {
        self.on
    }

    /// The registry to encode (the server adds its own beside it).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// An event of `event_type` was accepted.
    pub fn event_ingested(&self, event_type: &str) {
        if !self.on {
            return;
        }
        let family = event_type.split_once('.').map_or(event_type, |(f, _)| f);
        let counter = self.families.iter().find(|(f, _)| *f == family).map_or(&self.other_family, |(_, c)| c);
        counter.inc();
    }

    /// One attempt was made: its time, and why it failed if it did.
    pub fn attempt(&self, latency: Duration, failure: Option<Failure>) {
        if !self.on {
            return;
        }
        self.attempt_seconds.observe(latency.as_secs_f64());
        if let Some(failure) = failure {
            self.failures[failure as usize].inc();
        }
    }

    /// The outcomes of a batch about to be recorded, counted (the batch itself goes to the store).
    pub fn tally(batch: &[Completion]) -> Tally {
        let mut tally = Tally([0; OUTCOMES.len()]);
        for done in batch {
            tally.0[outcome_index(&done.outcome)] += 1;
        }
        tally
    }

    /// A batch of outcomes was recorded in one store call.
    pub fn recorded(&self, tally: Tally) {
        if !self.on {
            return;
        }
        self.recorder_batch.observe(tally.0.iter().sum::<u64>() as f64);
        for (counter, n) in self.outcomes.iter().zip(tally.0) {
            if n > 0 {
                counter.inc_by(n);
            }
        }
    }

    /// Makes one store call, timed as `op`, and when `span` names one (`store.claim`, …) in
    /// that span (`crate::trace::store`): every store call the engine times goes through here.
    pub async fn store_call<T>(&self, op: StoreOp, span: Option<&'static str>, call: impl Future<Output = T>) -> T {
        let started = Instant::now();
        let done = match span {
            Some(name) => tracing::Instrument::instrument(call, crate::trace::store(name)).await,
            None => call.await,
        };
        if self.on {
            self.store_seconds[op as usize].observe(started.elapsed().as_secs_f64());
        }
        done
    }

    /// A template render waited this long for a sandbox worker (or gave up after it).
    pub fn sandbox_waited(&self, wait: Duration) {
        if self.on {
            self.sandbox_wait.observe(wait.as_secs_f64());
        }
    }

    /// An ingest left `n` deliveries due for endpoints at their cap or out of tokens.
    pub fn passed_over(&self, n: u32) {
        if self.on && n > 0 {
            self.passed_over.inc_by(n.into());
        }
    }

    /// A claim found `n` endpoints' rate buckets empty.
    pub fn empty_buckets(&self, n: usize) {
        if self.on && n > 0 {
            self.empty_buckets.inc_by(n as u64);
        }
    }

    /// Counts the queue again if the last count is older than [`QUEUE_REFRESH`] and no
    /// other count runs; otherwise the gauges keep the last count.
    pub async fn refresh_queue(&self, store: &dyn Store, now: chrono::DateTime<chrono::Utc>) {
        if !self.on {
            return;
        }
        let Ok(mut counted_at) = self.queue.counted_at.try_lock() else { return };
        if counted_at.is_some_and(|at| at.elapsed() < QUEUE_REFRESH) {
            return;
        }
        // Even a failed count waits its turn: a database in trouble is not asked more.
        *counted_at = Some(Instant::now());
        let count = tokio::time::timeout(QUEUE_COUNT_TIMEOUT, store.queue_depth(now));
        let depth = self.store_call(StoreOp::QueueDepth, None, count).await;
        match depth {
            Ok(Ok(d)) => {
                let gauge = |g: &Gauge, n: u64| g.set(i64::try_from(n).unwrap_or(i64::MAX));
                for (g, n) in self.queue.deliveries.iter().zip([d.due, d.scheduled, d.held, d.dead]) {
                    gauge(g, n);
                }
                for (g, n) in self.queue.endpoints_disabled.iter().zip([d.disabled_by_failures, d.disabled_by_user]) {
                    gauge(g, n);
                }
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "could not count the delivery queue for the metrics"),
            Err(_) => tracing::warn!("counting the delivery queue for the metrics timed out"),
        }
    }
}

/// Registers metrics and hands back what records them.
struct Registering<'a>(&'a mut Registry);

impl Registering<'_> {
    /// One metric without labels.
    fn one<M>(&mut self, name: &str, help: &str, make: impl Fn() -> M) -> M
    where
        M: EncodeMetric + Clone + Send + Sync + std::fmt::Debug + 'static,
    {
        let metric = make();
        self.0.register(name, help, metric.clone());
        metric
    }

    /// A family labelled `key`, one member made now for each of `values`: recording then
    /// needs no lookup (nor the family's lock).
    fn labelled<M, const N: usize>(
        &mut self,
        name: &str,
        help: &str,
        key: &'static str,
        values: [&'static str; N],
        make: fn() -> M,
    ) -> [M; N]
    where
        M: EncodeMetric + TypedMetric + Clone + Send + Sync + std::fmt::Debug + 'static,
    {
        let family = Family::<Label, M, fn() -> M>::new_with_constructor(make);
        let members = values.map(|v| family.get_or_create(&[(key, v)]).clone());
        self.0.register(name, help, family);
        members
    }
}
