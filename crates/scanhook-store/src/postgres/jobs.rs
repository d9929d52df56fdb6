//! Leases on periodic jobs, as in `sqlite/jobs.rs`: one guarded upsert.

use chrono::{DateTime, Utc};

use super::rows::ms;
use super::{Tx, exec};
use crate::StoreResult;

/// Takes the job's lease for `owner` until `until` if it is free, expired at `now`, or
/// already `owner`'s; returns whether `owner` holds it. A concurrent upsert of the same
/// name waits for the first (its row lock), then sees its lease.
pub async fn lease(c: &Tx<'_>, name: &str, owner: &str, now: DateTime<Utc>, until: DateTime<Utc>) -> StoreResult<bool> {
    let taken = exec(
        c,
        "INSERT INTO job_leases (name, owner, until) VALUES ($1, $2, $4)
         ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
         WHERE job_leases.owner = excluded.owner OR job_leases.until <= $3",
        &[&name, &owner, &ms(now), &ms(until)],
    )
    .await?;
    Ok(taken == 1)
}
