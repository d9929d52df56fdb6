//! Endpoint templates run in worker processes, not in the server: a template is code an
//! API user wrote, and jq can loop forever, recurse until the stack overflows or build a
//! value until memory runs out. In a worker that costs the worker only: it is killed
//! after a time limit, its memory is capped, and a crash fails the one delivery.
//!
//! Protocol: one JSON line per request on the worker's stdin
//! (`{"source", "input", "context"}`, the last two as JSON text), one JSON line per answer
//! on its stdout (`{"ok": body}` or `{"err": message}`). The server reads an answer with a
//! byte limit, and the worker cuts error text short, so a hostile template cannot make
//! either side hold (or the attempt log store) more than a bounded amount.
//!
//! The workers are shared fairly: one account holds at most half of them (its
//! [`ACCOUNT_SHARE`]), at most as many more of its renders wait, and nobody waits longer
//! than the sandbox wait; past either bound the attempt fails as "the template sandbox is
//! busy" and is retried on its schedule. So one account's slow templates cost that account,
//! never another's deliveries.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use scanhook_core::format::TemplateCache;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::{Mutex, Semaphore};

/// Longest error text a worker answers with (the rest is cut off); it is stored with
/// the attempt.
pub const MAX_ERROR: usize = 2 * 1024;
/// Longest answer line the server reads: a body of at most the template's output limit
/// (1 MiB, `scanhook_core::format`), JSON-escaped (at most doubled: the body is JSON text),
/// plus the envelope.
const MAX_ANSWER: usize = 2 * 1024 * 1024 + 4096;
/// Why an attempt got no worker in time.
pub const BUSY: &str = "the template sandbox is busy; the attempt is retried on its schedule";

/// Most memory a worker may use (its data segment); past it, allocation fails and the
/// worker dies.
const WORKER_MEMORY: u64 = 512 * 1024 * 1024;

#[derive(Serialize, Deserialize)]
struct RenderRequest<'a> {
    // Borrowed where the JSON has no escapes, owned where it has.
    #[serde(borrow)]
    source: Cow<'a, str>,
    #[serde(borrow)]
    input: Cow<'a, str>,
    #[serde(borrow)]
    context: Cow<'a, str>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RenderAnswer {
    Ok(String),
    Err(String),
}

/// The worker side: answers render requests until stdin closes. Runs in its own process
/// (`scanhook template-worker`).
pub fn worker_main() -> std::io::Result<()> {
    // Before the memory limit: past it, the kernel refuses a new thread's stack.
    exit_with_parent()?;
    rlimit::setrlimit(rlimit::Resource::DATA, WORKER_MEMORY, WORKER_MEMORY)?;
    let compiled = TemplateCache::default();
    let (stdin, mut stdout) = (std::io::stdin().lock(), std::io::stdout().lock());
    for line in stdin.lines() {
        let line = line?;
        let rendered = match serde_json::from_str::<RenderRequest>(&line) {
            Err(e) => Err(format!("bad request to the template worker: {e}")),
            Ok(request) => {
                compiled.get(&request.source).and_then(|t| t.run(request.input.as_bytes(), request.context.as_bytes()))
            }
        };
        let answer = match rendered {
            Ok(body) => RenderAnswer::Ok(body),
            Err(e) => RenderAnswer::Err(cap(e)),
        };
        serde_json::to_writer(&mut stdout, &answer)?;
        stdout.write_all(b"\n")?;
        stdout.flush()?;
    }
    Ok(())
}

/// How often a worker checks that the server that started it is still there.
const PARENT_CHECK: Duration = Duration::from_millis(200);

/// Ends the worker soon after its server does. Only the server enforces the time limit,
/// so a worker it left behind in a runaway template (the server was killed) would spin
/// forever; stdin's end is seen only between renders. Polling the parent's id needs
/// neither `unsafe` nor a Linux-only `prctl(PR_SET_PDEATHSIG)`.
fn exit_with_parent() -> std::io::Result<()> {
    let parent = std::os::unix::process::parent_id();
    let (started, running) = std::sync::mpsc::channel();
    std::thread::Builder::new().name("parent-watch".into()).stack_size(64 * 1024).spawn(move || {
        let _ = started.send(());
        loop {
            std::thread::sleep(PARENT_CHECK);
            if std::os::unix::process::parent_id() != parent {
                std::process::exit(0);
            }
        }
    })?;
    // A thread sets up its signal stack as it starts: wait, so that happens before the
    // memory limit.
    running.recv().map_err(std::io::Error::other)
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

/// Cuts `text` to at most [`MAX_ERROR`] bytes, on a character boundary.
fn cap(mut text: String) -> String {
    if text.len() > MAX_ERROR {
        let mut end = MAX_ERROR - '…'.len_utf8();
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

/// Most workers at once: renders beyond that wait for one (templates are quick; the
/// bound keeps a burst from starting hundreds of processes).
const MAX_WORKERS: usize = 8;
/// Most workers one account holds at once; as many more of its renders may wait.
pub const ACCOUNT_SHARE: usize = MAX_WORKERS / 2;

/// One account's renders: running (a permit of `running`) or waiting, `queued` in all.
struct Lane {
    running: Arc<Semaphore>,
    queued: usize,
}

/// The server side: a pool of workers, started on first use and reused.
pub struct Sandbox {
    program: PathBuf,
    args: Vec<String>,
    time_limit: Duration,
    /// Longest wait for a worker.
    wait: Duration,
    /// Most renders running or waiting, across accounts: each holds one of the
    /// dispatcher's in-flight permits, so they must never hold all of them.
    max_queued: usize,
    idle: Mutex<Vec<Worker>>,
    slots: Semaphore,
    lanes: std::sync::Mutex<HashMap<String, Lane>>,
    /// Where the waits for a worker are recorded.
    metrics: Option<Arc<crate::Metrics>>,
}

/// An account's place in the sandbox, given back when dropped.
struct Ticket<'a> {
    sandbox: &'a Sandbox,
    account: &'a str,
    running: Arc<Semaphore>,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let mut lanes = self.sandbox.lanes();
        if let Some(lane) = lanes.get_mut(self.account) {
            lane.queued -= 1;
            if lane.queued == 0 {
                lanes.remove(self.account);
            }
        }
    }
}

impl Sandbox {
    /// Workers run `program args…`, which must call [`worker_main`]. A render waits at
    /// most `wait` for a worker; at most `max_queued` run or wait at once.
    pub fn new(program: PathBuf, args: Vec<String>, time_limit: Duration, wait: Duration, max_queued: usize) -> Self {
        Self {
            program,
            args,
            time_limit,
            wait,
            max_queued: max_queued.max(1),
            idle: Mutex::new(Vec::new()),
            slots: Semaphore::new(MAX_WORKERS),
            lanes: std::sync::Mutex::default(),
            metrics: None,
        }
    }

    /// The same sandbox, recording how long each render waits for a worker.
    pub fn with_metrics(mut self, metrics: Option<Arc<crate::Metrics>>) -> Self {
        self.metrics = metrics;
        self
    }

    fn lanes(&self) -> std::sync::MutexGuard<'_, HashMap<String, Lane>> {
        // Nothing panics while holding it; should it, the map is still whole.
        self.lanes.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Joins `account`'s lane, unless it already has as many renders waiting as running,
    /// or the sandbox has all it may take.
    fn enter<'a>(&'a self, account: &'a str) -> Result<Ticket<'a>, String> {
        let mut lanes = self.lanes();
        if lanes.values().map(|l| l.queued).sum::<usize>() >= self.max_queued {
            return Err(BUSY.into());
        }
        let lane = lanes
            .entry(account.to_string())
            .or_insert_with(|| Lane { running: Arc::new(Semaphore::new(ACCOUNT_SHARE)), queued: 0 });
        if lane.queued >= 2 * ACCOUNT_SHARE {
            return Err(BUSY.into());
        }
        lane.queued += 1;
        Ok(Ticket { sandbox: self, account, running: lane.running.clone() })
    }

    fn spawn(&self) -> Result<Worker, String> {
        let mut child = Command::new(&self.program)
            .args(&self.args)
            // Nothing of the server's environment (its API key lives there) reaches a worker.
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("could not start a template worker: {e}"))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("the template worker has no pipes".into());
        };
        Ok(Worker { child, stdin, stdout: BufReader::new(stdout) })
    }

    /// Runs `source` on `input` with `$ctx` = `context` (both JSON text) and returns the
    /// body, or why there is none. A worker that overruns the time limit is killed.
    /// `account` is whose share of the workers the render takes.
    pub async fn render(&self, account: &str, source: &str, input: &[u8], context: &[u8]) -> Result<Vec<u8>, String> {
        let input = std::str::from_utf8(input).map_err(|e| e.to_string())?;
        let context = std::str::from_utf8(context).map_err(|e| e.to_string())?;
        let request = RenderRequest { source: source.into(), input: input.into(), context: context.into() };
        let mut line = serde_json::to_vec(&request).map_err(|e| e.to_string())?;
        line.push(b'\n');
        let ticket = self.enter(account)?;
        // The account's share first, then a worker: the worker queue (FIFO) holds at most a
        // share of each account's renders, so every account's turn comes soon.
        let wait = async {
            let own = ticket.running.clone().acquire_owned().await.ok()?;
            let slot = self.slots.acquire().await.ok()?;
            Some((own, slot))
        };
        let waiting = std::time::Instant::now();
        let permits = tokio::time::timeout(self.wait, wait).await;
        if let Some(metrics) = &self.metrics {
            metrics.sandbox_waited(waiting.elapsed());
        }
        let Ok(Some(_permits)) = permits else {
            return Err(BUSY.into());
        };
        let pooled = self.idle.lock().await.pop();
        let mut worker = match pooled {
            Some(w) => w,
            None => self.spawn()?,
        };
        let exchange = async {
            worker.stdin.write_all(&line).await?;
            worker.stdin.flush().await?;
            let mut answer = String::new();
            (&mut worker.stdout).take(MAX_ANSWER as u64).read_line(&mut answer).await?;
            Ok::<_, std::io::Error>(answer)
        };
        let answer = match tokio::time::timeout(self.time_limit, exchange).await {
            Err(_) => {
                let _ = worker.child.start_kill();
                return Err(format!("the template ran longer than {} ms and was stopped", self.time_limit.as_millis()));
            }
            Ok(Err(e)) => return Err(format!("the template worker failed: {e}")),
            Ok(Ok(answer)) if answer.is_empty() => {
                return Err("the template worker died (the template ran out of memory or stack)".into());
            }
            Ok(Ok(answer)) if !answer.ends_with('\n') => {
                // Cut off by the limit: the rest of the line is still in the pipe.
                let _ = worker.child.start_kill();
                return Err(format!("the template worker's answer is larger than {} KiB", MAX_ANSWER / 1024));
            }
            Ok(Ok(answer)) => answer,
        };
        self.idle.lock().await.push(worker);
        match serde_json::from_str(&answer) {
            Ok(RenderAnswer::Ok(body)) => Ok(body.into_bytes()),
            Ok(RenderAnswer::Err(e)) => Err(cap(e)),
            Err(e) => Err(cap(format!("the template worker answered nonsense: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_text_is_cut_on_a_character_boundary() {
        let long = "é".repeat(MAX_ERROR);
        let cut = cap(long);
        assert!(cut.len() <= MAX_ERROR && cut.ends_with('…'), "{}", cut.len());
        assert_eq!(cap("short".into()), "short");
    }

    #[test]
    fn one_account_queues_at_most_twice_its_share_and_others_still_get_in() {
        let sandbox =
            Sandbox::new("/nonexistent".into(), Vec::new(), Duration::from_secs(1), Duration::from_millis(10), 12);
        let mine: Vec<_> = (0..2 * ACCOUNT_SHARE).map(|_| sandbox.enter("acc_x").expect("within the share")).collect();
        assert_eq!(sandbox.enter("acc_x").err().as_deref(), Some(BUSY));
        let theirs: Vec<_> = (0..4).map(|_| sandbox.enter("acc_y").expect("another account is not held up")).collect();
        assert_eq!(sandbox.enter("acc_z").err().as_deref(), Some(BUSY), "never more than max_queued in all");
        drop((mine, theirs));
        assert!(sandbox.lanes().is_empty(), "lanes are dropped when empty");
    }

    #[tokio::test]
    async fn a_render_that_finds_no_worker_in_time_fails_as_busy() {
        let sandbox =
            Sandbox::new("/nonexistent".into(), Vec::new(), Duration::from_secs(1), Duration::from_millis(10), 12);
        let _taken = sandbox.slots.acquire_many(MAX_WORKERS as u32).await.unwrap();
        assert_eq!(sandbox.render("acc_x", ".", b"{}", b"{}").await, Err(BUSY.to_string()));
    }
}
