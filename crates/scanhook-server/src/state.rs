//! What every handler shares.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use scanhook_engine::Engine;
use scanhook_store::Store;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::auth::KeyCache;
use crate::dashboard::DashboardConfig;
use crate::ingest_limit::{IngestLimit, IngestRate};
use crate::observe::HttpMetrics;

/// Limits the API enforces on requests.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_webhooks: u32,
    pub max_body_bytes: usize,
    /// Body limit of a scan report (`/v1/scans/{id}/complete`): reports run to many MiB.
    pub max_report_bytes: usize,
    /// Reports larger than `max_body_bytes` parsed at once; others wait for a slot.
    pub max_concurrent_reports: usize,
    /// How long a report waits for a slot before the answer is 503.
    pub report_wait: Duration,
    /// Events each account may report, per node (`ingest_limit.rs`); `None`: unlimited.
    pub ingest_rate: Option<IngestRate>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_webhooks: 10,
            max_body_bytes: 1024 * 1024,
            max_report_bytes: 64 * 1024 * 1024,
            max_concurrent_reports: 2,
            report_wait: Duration::from_secs(10),
            ingest_rate: None,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    pub limits: Limits,
    pub(crate) keys: Arc<KeyCache>,
    /// Slots for parsing large reports, `limits.max_concurrent_reports` of them.
    pub(crate) reports: Arc<Semaphore>,
    /// Every account's ingest bucket on this node.
    pub(crate) ingest: Arc<IngestLimit>,
    /// The dashboard's brand and cookie settings.
    pub dashboard: Arc<DashboardConfig>,
    /// The API's request counts, and the token `/metrics` asks for.
    pub(crate) http_metrics: Arc<HttpMetrics>,
    /// Cancelled once the server shuts down: `/readyz` answers 503 from then on.
    pub(crate) shutdown: CancellationToken,
}

impl AppState {
    pub fn new(engine: Arc<Engine>, limits: Limits) -> Self {
        let reports = Arc::new(Semaphore::new(limits.max_concurrent_reports.max(1)));
        let ingest = Arc::new(IngestLimit::new(limits.ingest_rate));
        Self {
            engine,
            limits,
            keys: Arc::default(),
            reports,
            ingest,
            dashboard: Arc::default(),
            http_metrics: Arc::default(),
            shutdown: CancellationToken::new(),
        }
    }

    /// The same state with `/metrics` behind this bearer token (`SCANHOOK_METRICS_TOKEN`).
    pub fn with_metrics_token(mut self, token: Option<String>) -> Self {
        self.http_metrics = Arc::new(HttpMetrics::new(token));
        self
    }

    /// The same state with the dashboard's settings.
    pub fn with_dashboard(mut self, dashboard: DashboardConfig) -> Self {
        self.dashboard = Arc::new(dashboard);
        self
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        self.engine.store()
    }

    /// Takes `events` from the account's ingest bucket (`ingest_limit.rs`): 429 over its
    /// limit (its own or the deployment's), always `Ok` when it has none.
    pub(crate) async fn take_ingest(
        &self,
        account: &scanhook_core::AccountId,
        events: usize,
        field: &str,
    ) -> Result<(), crate::error::ApiError> {
        let own = self.ingest.own_rate(self.store().as_ref(), account).await?;
        self.ingest.take(account, own, events, field)
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.engine.clock().now()
    }
}
