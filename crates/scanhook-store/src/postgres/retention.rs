//! Retention's batches (the rule of what goes and when is `scanhook_core::retention`):
//! `sqlite/retention.rs`'s statements, translated. Each outer statement states its
//! condition again, so under READ COMMITTED a row that stopped qualifying (a dead delivery
//! replayed) between the candidate query and the write is left alone.

use chrono::{DateTime, Utc};
use scanhook_core::retention::Prune;

use super::rows::ms;
use super::{Tx, exec};
use crate::StoreResult;

pub async fn prune(c: &Tx<'_>, step: Prune, before: DateTime<Utc>, limit: u32) -> StoreResult<u64> {
    exec(c, sql(step), &[&ms(before), &i64::from(limit)]).await
}

/// Each step's statement: `$1` is the cut-off (ms), `$2` the batch size.
fn sql(step: Prune) -> &'static str {
    match step {
        Prune::AttemptBodies => {
            "UPDATE attempts SET response_body = NULL,
                 request_body = CASE WHEN request_body IS NULL THEN NULL ELSE '' END
             WHERE id IN (SELECT id FROM attempts
                          WHERE (response_body IS NOT NULL OR request_body <> '') AND started_at < $1
                          ORDER BY started_at LIMIT $2)
               AND (response_body IS NOT NULL OR request_body <> '')"
        }
        Prune::Deliveries => {
            "DELETE FROM deliveries WHERE id IN (
                 SELECT id FROM deliveries WHERE status IN ('succeeded', 'dead') AND updated_at < $1
                 ORDER BY updated_at LIMIT $2)
               AND status IN ('succeeded', 'dead') AND updated_at < $1"
        }
        Prune::Events => {
            "DELETE FROM events WHERE id IN (
                 SELECT e.id FROM accounts a JOIN events e ON e.account_id = a.id
                 WHERE e.timestamp < $1 AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id)
                 LIMIT $2)
               AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id)"
        }
        Prune::IdempotencyKeys => {
            "UPDATE events SET idempotency_key = NULL, request_hash = NULL
             WHERE id IN (SELECT id FROM events WHERE idempotency_key IS NOT NULL AND timestamp < $1
                          ORDER BY timestamp LIMIT $2)"
        }
        Prune::Scans => {
            "DELETE FROM scans WHERE id IN (
                 SELECT s.id FROM scans s
                 WHERE s.ended_at IS NOT NULL AND s.ended_at < $1 AND s.status <> 'running'
                   AND NOT EXISTS (SELECT 1 FROM violations v WHERE v.first_scan_id = s.id)
                   AND NOT EXISTS (SELECT 1 FROM violations v WHERE v.last_scan_id = s.id)
                   AND NOT EXISTS (SELECT 1 FROM violation_history h WHERE h.scan_id = s.id)
                   AND NOT (s.status = 'completed' AND s.score IS NOT NULL AND NOT EXISTS (
                       SELECT 1 FROM scans n WHERE n.project_id = s.project_id AND n.status = 'completed'
                          AND n.ended_at > s.ended_at AND n.score IS NOT NULL))
                 ORDER BY s.ended_at LIMIT $2)"
        }
    }
}
