//! Endpoint templates run in worker processes, not in the server: a template is code an
//! API user wrote, and jq can loop forever, recurse until the stack overflows or build a
//! value until memory runs out. In a worker that costs the worker only: it is killed
//! after a time limit, its memory is capped, and a crash fails the one delivery.
//!
//! Protocol: one JSON line per request on the worker's stdin
//! (`{"source", "input", "context"}`, the last two as JSON text), one JSON line per answer
//! on its stdout (`{"ok": body}` or `{"err": message}`).

use std::borrow::Cow;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use scanhook_core::format::TemplateCache;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::{Mutex, Semaphore};

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
            Err(e) => RenderAnswer::Err(e),
        };
        serde_json::to_writer(&mut stdout, &answer)?;
        stdout.write_all(b"\n")?;
        stdout.flush()?;
    }
    Ok(())
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

/// Most workers at once: renders beyond that wait for one (templates are quick; the
/// bound keeps a burst from starting hundreds of processes).
const MAX_WORKERS: usize = 8;

/// The server side: a pool of workers, started on first use and reused.
pub struct Sandbox {
    program: PathBuf,
    args: Vec<String>,
    time_limit: Duration,
    idle: Mutex<Vec<Worker>>,
    slots: Semaphore,
}

impl Sandbox {
    /// Workers run `program args…`, which must call [`worker_main`].
    pub fn new(program: PathBuf, args: Vec<String>, time_limit: Duration) -> Self {
        Self { program, args, time_limit, idle: Mutex::new(Vec::new()), slots: Semaphore::new(MAX_WORKERS) }
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
    pub async fn render(&self, source: &str, input: &[u8], context: &[u8]) -> Result<Vec<u8>, String> {
        let input = std::str::from_utf8(input).map_err(|e| e.to_string())?;
        let context = std::str::from_utf8(context).map_err(|e| e.to_string())?;
        let request = RenderRequest { source: source.into(), input: input.into(), context: context.into() };
        let mut line = serde_json::to_vec(&request).map_err(|e| e.to_string())?;
        line.push(b'\n');
        let _slot = self.slots.acquire().await.map_err(|e| e.to_string())?;
        let pooled = self.idle.lock().await.pop();
        let mut worker = match pooled {
            Some(w) => w,
            None => self.spawn()?,
        };
        let exchange = async {
            worker.stdin.write_all(&line).await?;
            worker.stdin.flush().await?;
            let mut answer = String::new();
            worker.stdout.read_line(&mut answer).await?;
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
            Ok(Ok(answer)) => answer,
        };
        self.idle.lock().await.push(worker);
        match serde_json::from_str(&answer) {
            Ok(RenderAnswer::Ok(body)) => Ok(body.into_bytes()),
            Ok(RenderAnswer::Err(e)) => Err(e),
            Err(e) => Err(format!("the template worker answered nonsense: {e}")),
        }
    }
}
