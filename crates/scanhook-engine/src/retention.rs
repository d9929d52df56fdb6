//! Prunes history past its retention (`scanhook_core::retention` says what and when):
//! each pass runs every step, each step in batches of [`BATCH`] rows, one short write per
//! batch with a pause between, so pruning never holds the writer long enough to stall
//! delivery. It looks at start-up too, so history that aged while the server was down goes
//! on the first pass.

use std::sync::Arc;

use scanhook_core::retention::{BATCH, PAUSE, Retention};
use tokio_util::sync::CancellationToken;

use crate::Engine;

/// Runs until `shutdown`, a pass every [`Retention::interval`] on the node that holds the
/// job's lease (each batch is safe on several nodes; the lease saves the duplicate work).
pub async fn run(engine: Arc<Engine>, retention: Retention, shutdown: CancellationToken) {
    // Held across a pass and the wait before the next, with room for a slow pass.
    let hold = retention.interval() * 3 + std::time::Duration::from_secs(60);
    loop {
        if engine.leads("retention", hold).await && !pass(&engine, &retention, &shutdown).await {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(retention.interval()) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// One pass at the current time; false if shutdown came meanwhile.
async fn pass(engine: &Engine, retention: &Retention, shutdown: &CancellationToken) -> bool {
    for (step, before) in retention.plan(engine.clock().now()) {
        let mut total = 0;
        loop {
            match engine.store().prune(step, before, BATCH).await {
                Ok(n) => {
                    total += n;
                    if n < u64::from(BATCH) {
                        break;
                    }
                }
                Err(e) => {
                    tracing::error!(step = step.as_str(), error = %e, "could not prune history");
                    break;
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(PAUSE) => {}
                _ = shutdown.cancelled() => return false,
            }
        }
        if total > 0 {
            tracing::info!(step = step.as_str(), rows = total, %before, "pruned history past its retention");
        }
    }
    true
}
