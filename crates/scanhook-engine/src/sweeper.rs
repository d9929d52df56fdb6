//! Ends scans that ran past their time limit (`scan.timeout`). It looks at start-up too,
//! so a limit that passed while the server was down is caught on the first pass.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::Engine;

/// Scans ended per store call; a full batch means more may be waiting.
const BATCH: u32 = 100;

/// Runs until `shutdown`, sweeping every poll interval on the node that holds the job's
/// lease (the time-out itself is guarded, so a scan times out once whoever sweeps).
pub async fn run(engine: Arc<Engine>, shutdown: CancellationToken) {
    let hold = (engine.config().poll_interval * 10).max(std::time::Duration::from_secs(10));
    loop {
        if !engine.leads("scan-sweeper", hold).await {
            tokio::select! {
                _ = tokio::time::sleep(engine.config().poll_interval) => continue,
                _ = shutdown.cancelled() => return,
            }
        }
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
