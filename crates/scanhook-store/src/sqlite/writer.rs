//! The single SQLite writer. Writes from every task are queued to one thread that runs as
//! many as are waiting in one transaction and commits once: a group commit. Callers get
//! their answer only after the commit is durable, so one fsync covers a whole batch without
//! weakening the guarantee.
//!
//! The contract of a job: it refuses (a domain error such as "not found" or "limit
//! reached") only before it writes anything. Then the rest of the batch is unaffected. A
//! job that fails any other way — a database error, a panic, or a refusal after it wrote —
//! poisons the batch: the whole transaction is rolled back and every caller in it gets an
//! error, so nothing half-done is ever committed. (Savepoints per job would isolate such
//! failures, but they copy every page a job touches and cost more than all the rest of
//! the work; failures that poison a batch are database faults, which hit every job anyway.)
//!
//! A batch that meets a full disk is rolled back like any other and its callers told
//! [`StoreError::StorageFull`]; from then on only the dispatcher's writes run, in the room
//! the [`Reserve`] frees, until there is room again.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::reserve::Reserve;
use crate::{StoreError, StoreResult};

/// Most jobs in one transaction: bounds how long one commit keeps callers waiting.
const MAX_BATCH: usize = 1024;
/// Bound on queued writes: callers wait (backpressure) rather than queueing without limit.
const QUEUE: usize = 8192;

/// How a job went, as far as the batch is concerned.
#[derive(PartialEq, Eq)]
enum Ran {
    Done,
    /// Refused before writing: the batch goes on.
    Refused,
    /// The batch must be rolled back.
    Poisoned,
    /// Out of disk space: the batch is rolled back and every caller in it told so.
    Full,
}

/// Why a batch was not committed, told to every caller in it.
#[derive(Clone)]
enum Failed {
    Full,
    Other(String),
}

impl From<rusqlite::Error> for Failed {
    fn from(e: rusqlite::Error) -> Self {
        match StoreError::from(e) {
            StoreError::StorageFull => Failed::Full,
            other => Failed::Other(other.to_string()),
        }
    }
}

trait Job: Send {
    /// Runs inside the batch's transaction.
    fn run(&mut self, conn: &Connection) -> Ran;
    /// A delivery's write (lease, outcome): still taken while the disk is full.
    fn essential(&self) -> bool;
    /// Refuses the job without running it: the disk is full.
    fn refuse(&mut self);
    /// Answers the caller once the batch committed (or failed to).
    fn finish(self: Box<Self>, commit: Result<(), Failed>);
}

struct Typed<T, F> {
    work: Option<F>,
    essential: bool,
    result: Option<StoreResult<T>>,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Job for Typed<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
{
    fn run(&mut self, conn: &Connection) -> Ran {
        let Some(work) = self.work.take() else { return Ran::Poisoned };
        let before = conn.total_changes();
        // A panicking job must not take the writer thread (and every later write) down.
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| work(conn)))
            .unwrap_or_else(|_| Err(backend("a write panicked".into())));
        let ran = match &result {
            // SQLite may have rolled the whole transaction back by itself (it does on some
            // SQLITE_FULL and I/O errors): the rest of the batch would run outside it.
            _ if conn.is_autocommit() => {
                if matches!(result, Err(StoreError::StorageFull)) {
                    Ran::Full
                } else {
                    Ran::Poisoned
                }
            }
            Ok(_) => Ran::Done,
            Err(StoreError::StorageFull) => Ran::Full,
            Err(StoreError::Backend(_)) => Ran::Poisoned,
            Err(_) if conn.total_changes() != before => {
                tracing::error!("a write refused after it had changed rows; rolling back its batch");
                Ran::Poisoned
            }
            Err(_) => Ran::Refused,
        };
        self.result = Some(result);
        ran
    }

    fn essential(&self) -> bool {
        self.essential
    }

    fn refuse(&mut self) {
        self.work = None;
        self.result = Some(Err(StoreError::StorageFull));
    }

    fn finish(self: Box<Self>, commit: Result<(), Failed>) {
        let answer = match (self.result, commit) {
            (Some(Ok(value)), Ok(())) => Ok(value),
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(_)), Err(Failed::Full)) => Err(StoreError::StorageFull),
            (Some(Ok(_)), Err(Failed::Other(e))) => Err(backend(format!("commit failed: {e}"))),
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
    /// The group commits made, and the writes they held.
    commits: Arc<crate::GroupCommits>,
}

impl Writer {
    /// Moves `conn` to a new thread that owns it until every handle is dropped.
    pub fn start(conn: Connection, reserve: Option<Reserve>) -> std::io::Result<Self> {
        let (queue, jobs) = mpsc::channel(QUEUE);
        let commits = Arc::new(crate::GroupCommits::default());
        let counted = commits.clone();
        std::thread::Builder::new().name("sqlite-writer".into()).spawn(move || run(conn, jobs, reserve, &counted))?;
        Ok(Self { queue, commits })
    }

    /// The group commits made so far, and the writes they held.
    pub fn commits(&self) -> &Arc<crate::GroupCommits> {
        &self.commits
    }

    /// Runs `work` in the next group commit and returns its result once that is durable.
    pub async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        self.submit(work, false).await
    }

    /// Like [`Writer::write`], for a delivery's lease or outcome: taken while the disk is
    /// full too, as long as the reserve's room lasts.
    pub async fn write_essential<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        self.submit(work, true).await
    }

    async fn submit<T, F>(&self, work: F, essential: bool) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Typed { work: Some(work), essential, result: None, reply });
        self.queue.send(job).await.map_err(|_| backend("the database writer has stopped".into()))?;
        answer.await.map_err(|_| backend("the database writer dropped the write".into()))?
    }
}

fn run(
    conn: Connection,
    mut jobs: mpsc::Receiver<Box<dyn Job>>,
    mut reserve: Option<Reserve>,
    commits: &crate::GroupCommits,
) {
    while let Some(first) = jobs.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let full = reserve.as_mut().is_some_and(Reserve::is_full);
        let commit = (|| {
            conn.execute_batch("BEGIN IMMEDIATE")?;
            for job in batch.iter_mut() {
                if full && !job.essential() {
                    job.refuse();
                    continue;
                }
                match job.run(&conn) {
                    Ran::Done | Ran::Refused => {}
                    Ran::Full => return Err(Failed::Full),
                    Ran::Poisoned => {
                        return Err(Failed::Other(
                            "a write in the same batch failed; nothing in the batch was saved".into(),
                        ));
                    }
                }
            }
            conn.execute_batch("COMMIT")?;
            Ok(())
        })();
        if let Err(e) = &commit {
            match e {
                Failed::Full => {
                    tracing::warn!(jobs = batch.len(), "the database's disk is full; rolling back the batch");
                    if let Some(reserve) = reserve.as_mut() {
                        reserve.disk_full();
                    }
                }
                Failed::Other(e) => {
                    tracing::error!(error = %e, jobs = batch.len(), "group commit failed; rolling back the batch")
                }
            }
            // After SQLITE_FULL the transaction may still be open (or already rolled back,
            // when this fails harmlessly): either way the next batch starts clean.
            let _ = conn.execute_batch("ROLLBACK");
        } else {
            commits.count(batch.len());
        }
        for job in batch {
            job.finish(commit.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer() -> (Writer, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("w.db")).unwrap();
        conn.execute_batch("CREATE TABLE t (v INTEGER)").unwrap();
        (Writer::start(conn, None).unwrap(), dir)
    }

    async fn count(w: &Writer) -> i64 {
        w.write(|c| Ok(c.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))?)).await.unwrap()
    }

    #[tokio::test]
    async fn a_refusal_before_writing_leaves_the_batch_alone() {
        let (w, _dir) = writer();
        let (refused, stored) = tokio::join!(
            w.write(|_| Err::<(), _>(StoreError::NotFound)),
            w.write(|c| Ok(c.execute("INSERT INTO t VALUES (1)", [])?)),
        );
        assert!(matches!(refused, Err(StoreError::NotFound)));
        assert_eq!(stored.unwrap(), 1);
        assert_eq!(count(&w).await, 1);
    }

    #[tokio::test]
    async fn a_job_that_fails_after_writing_rolls_its_batch_back() {
        let (w, _dir) = writer();
        let half_done = w
            .write(|c| {
                c.execute("INSERT INTO t VALUES (1)", [])?;
                Err::<(), _>(StoreError::from(crate::Conflict::DeliveryPending))
            })
            .await;
        assert!(half_done.is_err());
        let panicked: StoreResult<()> = w
            .write(|c| {
                c.execute("INSERT INTO t VALUES (2)", [])?;
                panic!("bug")
            })
            .await;
        assert!(matches!(panicked, Err(StoreError::Backend(_))));
        assert_eq!(count(&w).await, 0, "nothing half-done is committed");
        w.write(|c| Ok(c.execute("INSERT INTO t VALUES (3)", [])?)).await.unwrap();
        assert_eq!(count(&w).await, 1, "the writer goes on after a poisoned batch");
    }

    #[tokio::test]
    async fn a_full_disk_fails_the_whole_batch_and_the_writer_recovers_when_room_returns() {
        let (w, _dir) = writer();
        // max_page_count makes SQLite answer SQLITE_FULL, as it does on ENOSPC.
        let pages: i64 = w.write(|c| Ok(c.query_row("PRAGMA page_count", [], |r| r.get(0))?)).await.unwrap();
        w.write(move |c| Ok(c.query_row(&format!("PRAGMA max_page_count = {}", pages + 2), [], |_| Ok(()))?))
            .await
            .unwrap();
        let big = || |c: &Connection| Ok(c.execute("INSERT INTO t VALUES (randomblob(100000))", [])?);
        let (small, large) = tokio::join!(w.write(|c| Ok(c.execute("INSERT INTO t VALUES (1)", [])?)), w.write(big()));
        assert!(matches!(large, Err(StoreError::StorageFull)), "{large:?}");
        // The small write fits; it is refused too if it shared the large one's batch.
        let stored = match small {
            Ok(_) => 1,
            Err(StoreError::StorageFull) => 0,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(count(&w).await, stored, "nothing half-written");
        w.write(|c| Ok(c.query_row("PRAGMA max_page_count = 1000000", [], |_| Ok(()))?)).await.unwrap();
        w.write(big()).await.unwrap();
        assert_eq!(count(&w).await, stored + 1, "writes succeed again without a restart");
    }
}
