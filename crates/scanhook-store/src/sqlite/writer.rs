//! The single SQLite writer. Writes from every task are queued to one thread that runs as
//! many as are waiting in one transaction, each inside its own savepoint, and commits once:
//! a group commit. Callers get their answer only after the commit is durable, so one fsync
//! covers a whole batch without weakening the guarantee. A job that fails is rolled back
//! to its savepoint alone; the others in the batch still commit.

use std::panic::AssertUnwindSafe;

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use crate::{StoreError, StoreResult};

/// Most jobs in one transaction: bounds how long one commit keeps callers waiting.
const MAX_BATCH: usize = 1024;
/// Bound on queued writes: callers wait (backpressure) rather than queueing without limit.
const QUEUE: usize = 8192;

trait Job: Send {
    /// Runs inside the batch's transaction; returns whether it succeeded.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers the caller once the batch committed (or failed to).
    fn finish(self: Box<Self>, commit: Result<(), String>);
}

struct Typed<T, F> {
    work: Option<F>,
    result: Option<StoreResult<T>>,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Job for Typed<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let Some(work) = self.work.take() else { return false };
        let result = (|| {
            conn.prepare_cached("SAVEPOINT job")?.execute([])?;
            // A panicking job must not take the writer thread (and every later write) down.
            let out = std::panic::catch_unwind(AssertUnwindSafe(|| work(conn)))
                .unwrap_or_else(|_| Err(backend("a write panicked".into())));
            if out.is_ok() {
                conn.prepare_cached("RELEASE job")?.execute([])?;
            } else {
                conn.execute_batch("ROLLBACK TO job; RELEASE job")?;
            }
            out
        })();
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn finish(self: Box<Self>, commit: Result<(), String>) {
        let answer = match (self.result, commit) {
            (Some(Ok(value)), Ok(())) => Ok(value),
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(_)), Err(e)) => Err(backend(format!("commit failed: {e}"))),
            (None, _) => Err(backend("the write was not run".into())),
        };
        // The caller may have gone away (its request was cancelled); the write stands.
        let _ = self.reply.send(answer);
    }
}

fn backend(message: String) -> StoreError {
    StoreError::Backend(message.into())
}

/// A handle to the writer thread; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    /// Moves `conn` to a new thread that owns it until every handle is dropped.
    pub fn start(conn: Connection) -> std::io::Result<Self> {
        let (queue, jobs) = mpsc::channel(QUEUE);
        std::thread::Builder::new().name("sqlite-writer".into()).spawn(move || run(conn, jobs))?;
        Ok(Self { queue })
    }

    /// Runs `work` in the next group commit and returns its result once that is durable.
    pub async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Typed { work: Some(work), result: None, reply });
        self.queue.send(job).await.map_err(|_| backend("the database writer has stopped".into()))?;
        answer.await.map_err(|_| backend("the database writer dropped the write".into()))?
    }
}

fn run(conn: Connection, mut jobs: mpsc::Receiver<Box<dyn Job>>) {
    while let Some(first) = jobs.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let commit = (|| {
            conn.execute_batch("BEGIN IMMEDIATE")?;
            for job in batch.iter_mut() {
                job.run(&conn);
            }
            conn.execute_batch("COMMIT")
        })()
        .map_err(|e| e.to_string());
        if let Err(e) = &commit {
            tracing::error!(error = %e, "group commit failed; rolling back the batch");
            let _ = conn.execute_batch("ROLLBACK");
        }
        for job in batch {
            job.finish(commit.clone());
        }
    }
}
