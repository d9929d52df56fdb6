//! What every handler shares.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use scanhook_engine::Engine;
use scanhook_store::Store;

use crate::auth::KeyCache;

/// Limits the API enforces on requests.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_webhooks: u32,
    pub max_body_bytes: usize,
    /// Body limit of a scan report (`/v1/scans/{id}/complete`): reports run to many MiB.
    pub max_report_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_webhooks: 10, max_body_bytes: 1024 * 1024, max_report_bytes: 64 * 1024 * 1024 }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    pub limits: Limits,
    pub(crate) keys: Arc<KeyCache>,
}

impl AppState {
    pub fn new(engine: Arc<Engine>, limits: Limits) -> Self {
        Self { engine, limits, keys: Arc::default() }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        self.engine.store()
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.engine.clock().now()
    }
}
