//! What every handler shares.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use scanhook_engine::Engine;
use scanhook_store::Store;
use tokio::sync::Semaphore;

use crate::auth::KeyCache;
use crate::dashboard::DashboardConfig;

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
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_webhooks: 10,
            max_body_bytes: 1024 * 1024,
            max_report_bytes: 64 * 1024 * 1024,
            max_concurrent_reports: 2,
            report_wait: Duration::from_secs(10),
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
    /// The dashboard's brand and cookie settings.
    pub dashboard: Arc<DashboardConfig>,
}

impl AppState {
    pub fn new(engine: Arc<Engine>, limits: Limits) -> Self {
        let reports = Arc::new(Semaphore::new(limits.max_concurrent_reports.max(1)));
        Self { engine, limits, keys: Arc::default(), reports, dashboard: Arc::default() }
    }

    /// The same state with the dashboard's settings.
    pub fn with_dashboard(mut self, dashboard: DashboardConfig) -> Self {
        self.dashboard = Arc::new(dashboard);
        self
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        self.engine.store()
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.engine.clock().now()
    }
}
