//! The engine's metrics, in a `prometheus-client` registry the server serves at `/metrics`.
//!
//! Recording is an atomic add on a handle made when the registry is built: every label
//! value is one of a fixed set known then (event type families, outcomes, failure classes,
//! store operations), so the hot path takes no lock and allocates nothing, and no label
//! carries an event, account or endpoint. Histograms are [`AtomicHistogram`]s for the same
//! reason (the crate's own histogram takes a lock per observation). Counts the store makes
//! (the queue's depth) are refreshed at most every [`QUEUE_REFRESH`], one count at a time,
//! so scrapes never load the database. With `SCANHOOK_METRICS=false` nothing is recorded.

use std::error::Error as StdError;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;
use scanhook_store::{Completion, GroupCommits, Outcome, Store};

/// The longest the queue's depth, as scraped, is out of date.
pub const QUEUE_REFRESH: Duration = Duration::from_secs(10);
/// The longest a scrape waits for the store to count the queue.
const QUEUE_COUNT_TIMEOUT: Duration = Duration::from_secs(2);

const ATTEMPT_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];
const STORE_BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

type Label = [(&'static str, &'static str); 1];

/// Why an attempt failed, as the sender saw it (never read back from error text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No answer within the endpoint's timeout.
    Timeout,
    /// No connection (refused, unreachable, no such name).
    Connect,
    /// The TLS handshake failed (certificate, protocol).
    Tls,
    /// A `4xx` answer.
    Http4xx,
    /// A `5xx` answer.
    Http5xx,
    /// Any other answer that is not `2xx` (`1xx`, `3xx`: redirects are not followed).
    HttpOther,
    /// A `2xx` answer whose body could not be read.
    Response,
    /// The body could not be rendered (the endpoint's template or format): nothing sent.
    Template,
    /// The template sandbox had no worker in time: nothing sent.
    SandboxBusy,
    /// The SSRF guard refused the endpoint's address: nothing sent.
    Guard,
    /// The request could not be signed (no secret of its scheme's kind): nothing sent.
    Signing,
    /// Any other transport error.
    Request,
}

impl Failure {
    pub const ALL: [Failure; 12] = [
        Self::Timeout,
        Self::Connect,
        Self::Tls,
        Self::Http4xx,
        Self::Http5xx,
        Self::HttpOther,
        Self::Response,
        Self::Template,
        Self::SandboxBusy,
        Self::Guard,
        Self::Signing,
        Self::Request,
    ];

    /// The `class` label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Connect => "connect",
            Self::Tls => "tls",
            Self::Http4xx => "http_4xx",
            Self::Http5xx => "http_5xx",
            Self::HttpOther => "http_other",
            Self::Response => "response",
            Self::Template => "template",
            Self::SandboxBusy => "sandbox_busy",
            Self::Guard => "guard",
            Self::Signing => "signing",
            Self::Request => "request",
        }
    }

    /// An answer with `status` that was not a success (a `2xx` here: its body failed).
    pub fn of_status(status: u16) -> Self {
        match status {
            200..=299 => Self::Response,
            400..=499 => Self::Http4xx,
            500..=599 => Self::Http5xx,
            _ => Self::HttpOther,
        }
    }

    /// A request that got no answer, by what reqwest and the errors it wraps say.
    pub fn of_transport(e: &reqwest::Error) -> Self {
        if e.is_timeout() {
            Self::Timeout
        } else {
            Self::of_chain(e).unwrap_or(if e.is_connect() { Self::Connect } else { Self::Request })
        }
    }

    /// TLS or the guard, if an error in `e`'s chain is theirs. An `io::Error`'s `source`
    /// skips the error it wraps (reqwest's TLS failure is an `io::Error` in an `io::Error`
    /// around rustls's), so the walk steps into the wrapped error instead.
    fn of_chain(e: &(dyn StdError + 'static)) -> Option<Self> {
        let mut next: Option<&(dyn StdError + 'static)> = Some(e);
        while let Some(e) = next {
            if e.is::<rustls::Error>() {
                return Some(Self::Tls);
            }
            if e.is::<crate::guard::PrivateOnly>() {
                return Some(Self::Guard);
            }
            next = match e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
                Some(wrapped) => Some(wrapped as &(dyn StdError + 'static)),
                None => e.source(),
            };
        }
        None
    }
}

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

    /// A store call `op` that started at `started` is over.
    pub fn store_call(&self, op: StoreOp, started: Instant) {
        if self.on {
            self.store_seconds[op as usize].observe(started.elapsed().as_secs_f64());
        }
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
        let started = Instant::now();
        let depth = tokio::time::timeout(QUEUE_COUNT_TIMEOUT, store.queue_depth(now)).await;
        self.store_call(StoreOp::QueueDepth, started);
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

/// A counter the store keeps itself (it knows no metrics), read when scraped.
#[derive(Debug)]
struct StoreCounter {
    commits: Arc<GroupCommits>,
    read: fn(&GroupCommits) -> u64,
}

impl EncodeMetric for StoreCounter {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_counter::<NoLabelSet, _, u64>(&(self.read)(&self.commits), None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Counter
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

/// A maker of histograms with these buckets.
fn histogram(bounds: &'static [f64]) -> impl Fn() -> AtomicHistogram {
    move || AtomicHistogram::new(bounds)
}

/// A histogram of fixed buckets recorded with atomics only: `observe` is two atomic adds
/// and a compare-and-swap of the sum. Clones share the counts.
#[derive(Clone, Debug)]
pub struct AtomicHistogram(Arc<HistogramInner>);

#[derive(Debug)]
struct HistogramInner {
    bounds: &'static [f64],
    /// One per bound, then `+Inf`: observations in each bucket alone (not cumulative).
    counts: Box<[AtomicU64]>,
    /// The sum's `f64` bits.
    sum: AtomicU64,
}

impl AtomicHistogram {
    pub fn new(bounds: &'static [f64]) -> Self {
        let counts = (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect();
        Self(Arc::new(HistogramInner { bounds, counts, sum: AtomicU64::new(0f64.to_bits()) }))
    }

    pub fn observe(&self, v: f64) {
        let inner = &self.0;
        // The first bucket whose bound is at least `v` (`le`), else `+Inf`.
        let bucket = inner.bounds.partition_point(|b| *b < v);
        inner.counts[bucket].fetch_add(1, Ordering::Relaxed);
        let _ = inner
            .sum
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| Some((f64::from_bits(bits) + v).to_bits()));
    }
}

impl TypedMetric for AtomicHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for AtomicHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let inner = &self.0;
        let counts: Vec<u64> = inner.counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
        let bounds = inner.bounds.iter().copied().chain(std::iter::once(f64::MAX));
        let buckets: Vec<(f64, u64)> = bounds.zip(counts.iter().copied()).collect();
        let sum = f64::from_bits(inner.sum.load(Ordering::Relaxed));
        encoder.encode_histogram::<NoLabelSet>(sum, counts.iter().sum(), &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classed_by_their_status() {
        assert_eq!(Failure::of_status(404), Failure::Http4xx);
        assert_eq!(Failure::of_status(429), Failure::Http4xx);
        assert_eq!(Failure::of_status(500), Failure::Http5xx);
        assert_eq!(Failure::of_status(503), Failure::Http5xx);
        assert_eq!(Failure::of_status(302), Failure::HttpOther);
        assert_eq!(Failure::of_status(101), Failure::HttpOther);
        assert_eq!(Failure::of_status(200), Failure::Response);
    }

    /// An error that wraps another, as hyper and reqwest wrap the connector's.
    #[derive(Debug)]
    struct Wrap(Box<dyn StdError + Send + Sync>);
    impl std::fmt::Display for Wrap {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("wrapped")
        }
    }
    impl StdError for Wrap {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(self.0.as_ref())
        }
    }

    #[test]
    fn tls_and_guard_errors_are_found_deep_in_the_chain_and_inside_io_errors() {
        // As reqwest reports a handshake with a server that speaks plain HTTP.
        let tls = std::io::Error::new(std::io::ErrorKind::InvalidData, rustls::Error::DecryptError);
        let tls = std::io::Error::other(tls);
        assert_eq!(Failure::of_chain(&Wrap(Box::new(Wrap(Box::new(tls))))), Some(Failure::Tls));
        let guard = crate::guard::PrivateOnly("localhost resolves only to loopback".into());
        assert_eq!(Failure::of_chain(&Wrap(Box::new(guard))), Some(Failure::Guard));
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(Failure::of_chain(&Wrap(Box::new(refused))), None);
    }

    #[test]
    fn every_class_has_its_own_counter_and_label() {
        for (i, f) in Failure::ALL.iter().enumerate() {
            assert_eq!(*f as usize, i, "ALL is in declaration order");
        }
        let labels: std::collections::HashSet<_> = Failure::ALL.iter().map(|f| f.label()).collect();
        assert_eq!(labels.len(), Failure::ALL.len());
    }

    #[test]
    fn the_histogram_counts_each_bucket_and_the_sum() {
        let h = AtomicHistogram::new(&[0.1, 1.0]);
        for v in [0.05, 0.1, 0.5, 2.0] {
            h.observe(v);
        }
        let mut registry = Registry::default();
        registry.register("t", "test", h);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(text.contains("t_bucket{le=\"0.1\"} 2\n"), "{text}");
        assert!(text.contains("t_bucket{le=\"1.0\"} 3\n"), "{text}");
        assert!(text.contains("t_bucket{le=\"+Inf\"} 4\n"), "{text}");
        assert!(text.contains("t_count 4\n") && text.contains("t_sum 2.65\n"), "{text}");
    }
}
