//! Copies the WAL back into the database file from its own thread and connection, every
//! [`INTERVAL`], in PASSIVE mode (it never blocks the writer or readers). Left to the
//! writer, every checkpoint would stall all callers waiting on the group commit, and the
//! single writer thread is the server's bottleneck under load.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rusqlite::Connection;

const INTERVAL: Duration = Duration::from_millis(200);

/// Stops its thread when dropped.
pub struct Checkpointer {
    stop: Arc<AtomicBool>,
}

impl Checkpointer {
    pub fn start(path: &Path) -> rusqlite::Result<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let spawned = std::thread::Builder::new().name("sqlite-checkpoint".into()).spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(INTERVAL);
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::warn!(error = %e, "WAL checkpoint failed; the writer's own checkpoints take over");
                }
            }
        });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "could not start the checkpoint thread; the writer checkpoints itself");
        }
        Ok(Self { stop })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
