//! Room kept back for a full disk: a file of zeros beside the database. When a write meets
//! a full disk the file is removed, and the room it frees goes to the dispatcher's writes
//! (leases, outcomes) only, while every other write is refused as
//! [`StoreError::StorageFull`](crate::StoreError::StorageFull): deliveries already
//! accepted keep going out and their outcomes are recorded. Once the file can be written
//! again there is room for everyone, and all writes are taken again.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How much room is kept back.
pub const SIZE: usize = 8 * 1024 * 1024;
/// How often a full store tries to take its room back.
const RETRY: Duration = Duration::from_secs(1);

pub struct Reserve {
    path: PathBuf,
    full: bool,
    last_try: Instant,
}

impl Reserve {
    /// Keeps room at `path`; a disk already too full to hold it only gets a warning.
    pub fn keep(path: PathBuf) -> Self {
        let reserve = Self { path, full: false, last_try: Instant::now() };
        if let Err(e) = reserve.write() {
            tracing::warn!(error = %e, path = %reserve.path.display(), "could not keep room for a full disk");
        }
        reserve
    }

    fn write(&self) -> std::io::Result<()> {
        let written = (|| {
            let mut file = std::fs::File::create(&self.path)?;
            let zeros = vec![0u8; 64 * 1024];
            // Written, not just sized: a sparse file would keep no room. No fsync: the
            // filesystem takes the room at write time, which is all that matters here.
            for _ in 0..SIZE / zeros.len() {
                file.write_all(&zeros)?;
            }
            Ok(())
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&self.path);
        }
        written
    }

    /// Whether only the dispatcher's writes are taken.
    pub fn is_full(&mut self) -> bool {
        if self.full && self.last_try.elapsed() >= RETRY {
            self.last_try = Instant::now();
            if self.write().is_ok() {
                tracing::info!("the database's disk has room again; taking all writes");
                self.full = false;
            }
        }
        self.full
    }

    /// A write met a full disk: frees the room kept back, for the dispatcher's writes.
    pub fn disk_full(&mut self) {
        if !self.full {
            tracing::warn!("the database's disk is full; refusing writes except deliveries' until there is room");
            let _ = std::fs::remove_file(&self.path);
            self.full = true;
            self.last_try = Instant::now();
        }
    }
}
