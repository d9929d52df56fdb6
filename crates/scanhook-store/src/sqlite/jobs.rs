//! Leases on periodic jobs, so that each runs on one node at a time.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::rows::ms;
use crate::StoreResult;

/// Takes the job's lease for `owner` until `until` if it is free, expired at `now`, or
/// already `owner`'s; returns whether `owner` holds it. One guarded upsert, so of several
/// nodes asking at once exactly one gets it.
pub fn lease(c: &Connection, name: &str, owner: &str, now: DateTime<Utc>, until: DateTime<Utc>) -> StoreResult<bool> {
    let taken = c
        .prepare_cached(
            "INSERT INTO job_leases (name, owner, until) VALUES (?1, ?2, ?4)
             ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
             WHERE job_leases.owner = excluded.owner OR job_leases.until <= ?3",
        )?
        .execute(params![name, owner, ms(now), ms(until)])?;
    Ok(taken == 1)
}
