//! CPU time (user + system, from `/proc/<pid>/stat`) of the scanhook processes and, on a
//! PostgreSQL server on this machine, of the postgres processes that work for the
//! benchmark, over one phase.
//!
//! The postgres processes counted are the postmaster's children whose title names one of
//! this benchmark's databases (the nodes' connections, autovacuum workers on them) and the
//! server-wide ones every write goes through (checkpointer, background writer, walwriter,
//! autovacuum launcher); connections to other databases (other users of the server) are
//! not. A sampler reads them every 100 ms, so a process that starts and ends within the
//! phase (an autovacuum worker) is counted up to its last sample.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Server-wide postgres processes, by the end of their title.
const SHARED: [&str; 5] = ["checkpointer", "background writer", "walwriter", "autovacuum launcher", "archiver"];

/// Ticks per second of `/proc/<pid>/stat` times (`CLK_TCK`, 100 on Linux).
const TICKS: f64 = 100.0;

/// CPU seconds (user + system) the process has used, from /proc/<pid>/stat.
pub fn secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields = stat_fields(&stat)?;
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / TICKS)
}

/// The fields after the command name (which may hold spaces): state, ppid, …
fn stat_fields(stat: &str) -> Option<Vec<&str>> {
    Some(stat.rsplit_once(") ")?.1.split_whitespace().collect())
}

fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat_fields(&stat)?.get(1)?.parse().ok()
}

/// What the meter watches.
#[derive(Clone)]
pub struct Meter {
    scanhook: Vec<u32>,
    /// The postmaster's pid, when the PostgreSQL server runs on this machine.
    postmaster: Option<u32>,
    /// The prefix of the benchmark's database names.
    databases: String,
}

/// CPU seconds used during a phase.
#[derive(Clone, Copy, Debug)]
pub struct Used {
    pub scanhook: f64,
    /// `None` where the database is in-process (SQLite) or not on this machine.
    pub database: Option<f64>,
}

impl Meter {
    /// Watches the scanhook processes `scanhook` (SQLite: the database is in-process).
    pub fn sqlite(scanhook: Vec<u32>) -> Meter {
        Meter { scanhook, postmaster: None, databases: String::new() }
    }

    /// Watches `scanhook` and the postgres server whose backend `backend_pid` is (from
    /// `pg_backend_pid()`), if it runs on this machine, for the databases named `databases…`.
    pub fn postgres(scanhook: Vec<u32>, backend_pid: u32, databases: String) -> Meter {
        Meter { scanhook, postmaster: parent(backend_pid), databases }
    }

    /// The postgres processes that count, with their CPU seconds.
    fn postgres_now(&self) -> Vec<(u32, f64)> {
        let Some(postmaster) = self.postmaster else { return Vec::new() };
        let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
        let mut found = Vec::new();
        for entry in dir.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
            if parent(pid) != Some(postmaster) {
                continue;
            }
            let Ok(title) = std::fs::read(format!("/proc/{pid}/cmdline")) else { continue };
            let title = String::from_utf8_lossy(&title);
            let title = title.trim_end_matches(['\0', ' ']);
            let counts = title.contains(&self.databases) || SHARED.iter().any(|s| title.ends_with(s));
            if let (true, Some(cpu)) = (counts, secs(pid)) {
                found.push((pid, cpu));
            }
        }
        found
    }

    /// Starts measuring; `Phase::finish` says what was used since.
    pub fn start(&self) -> Phase {
        self.start_counting(false)
    }

    /// As `start`, for scanhook processes that have just started: all the CPU they have
    /// used counts, their start-up included.
    pub fn start_fresh(&self) -> Phase {
        self.start_counting(true)
    }

    fn start_counting(&self, fresh: bool) -> Phase {
        let meter = self.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let sampler = std::thread::spawn(move || {
            // pid → (CPU at the start, or 0 for one that started later; CPU when last seen)
            let mut seen: HashMap<(bool, u32), (f64, f64)> = HashMap::new();
            let mut sample = |first: bool| {
                let scanhook = meter.scanhook.iter().filter_map(|&pid| Some((true, pid, secs(pid)?)));
                let postgres = meter.postgres_now().into_iter().map(|(pid, cpu)| (false, pid, cpu));
                for (ours, pid, cpu) in scanhook.chain(postgres) {
                    let counted_from = if first && !(ours && fresh) { cpu } else { 0.0 };
                    seen.entry((ours, pid)).or_insert((counted_from, cpu)).1 = cpu;
                }
            };
            sample(true);
            while !stopping.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                sample(false);
            }
            let used = |which: bool| seen.iter().filter(|(k, _)| k.0 == which).map(|(_, (a, b))| b - a).sum::<f64>();
            (used(true), used(false))
        });
        Phase { stop, sampler, database: self.postmaster.is_some() }
    }
}

pub struct Phase {
    stop: Arc<AtomicBool>,
    sampler: JoinHandle<(f64, f64)>,
    database: bool,
}

impl Phase {
    pub fn finish(self) -> Used {
        self.stop.store(true, Ordering::Relaxed);
        let (scanhook, database) = self.sampler.join().unwrap_or((f64::NAN, f64::NAN));
        Used { scanhook, database: self.database.then_some(database) }
    }
}
