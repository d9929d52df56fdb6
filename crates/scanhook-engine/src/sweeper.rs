//! Ends scans that ran past their time limit (`scan.timeout`). It looks at start-up too,
//! so a limit that passed while the server was down is caught on the first pass.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::Engine;

/// Scans ended per store call; a full batch means more may be waiting.
const BATCH: u32 = 100;

/// Runs until `shutdown`, sweeping every poll interval.
pub async fn run(engine: Arc<Engine>, shutdown: CancellationToken) {
    loop {
        match engine.store().time_out_scans(engine.event_stamp(), BATCH).await {
            Ok(ended) if ended > 0 => {
                tracing::info!(ended, "scans timed out");
                engine.wake();
                if ended == u64::from(BATCH) {
                    continue;
                }
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "could not time out overdue scans"),
        }
        tokio::select! {
            _ = tokio::time::sleep(engine.config().poll_interval) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}
