//! Retention's batches (the rule of what goes and when is `scanhook_core::retention`):
//! each call removes or blanks at most `limit` rows older than `before`, found through an
//! index of migration 0014, in one short write. The outer statement states the condition
//! again, so that the same SQL on a backend without a single writer (PostgreSQL, READ
//! COMMITTED) never deletes a row that stopped qualifying (a dead delivery replayed)
//! between the candidate query and the delete.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use scanhook_core::retention::Prune;

use super::rows::ms;
use crate::StoreResult;

pub fn prune(c: &Connection, step: Prune, before: DateTime<Utc>, limit: u32) -> StoreResult<u64> {
    let n = c.prepare_cached(sql(step))?.execute(params![ms(before), limit])?;
    Ok(n as u64)
}

/// Each step's statement: `?1` is the cut-off (ms), `?2` the batch size.
pub(super) fn sql(step: Prune) -> &'static str {
    match step {
        // Bodies only: the attempt's outcome, latency and headers stay with its delivery. A
        // request body of NULL means "the event's envelope" (rebuilt, not stored), so a
        // stored one becomes '' rather than NULL.
        Prune::AttemptBodies => {
            "UPDATE attempts SET response_body = NULL,
                 request_body = CASE WHEN request_body IS NULL THEN NULL ELSE '' END
             WHERE id IN (SELECT id FROM attempts
                          WHERE (response_body IS NOT NULL OR request_body <> '') AND started_at < ?1
                          ORDER BY started_at LIMIT ?2)"
        }
        // Attempts go with them (ON DELETE CASCADE, through attempts_delivery).
        Prune::Deliveries => {
            "DELETE FROM deliveries WHERE id IN (
                 SELECT id FROM deliveries WHERE status IN ('succeeded', 'dead') AND updated_at < ?1
                 ORDER BY updated_at LIMIT ?2)
               AND status IN ('succeeded', 'dead') AND updated_at < ?1"
        }
        // Any delivery left is one retention keeps (it ran first), so the event stays.
        // Account by account, through events_time: the accounts are few.
        Prune::Events => {
            "DELETE FROM events WHERE id IN (
                 SELECT e.id FROM accounts a CROSS JOIN events e ON e.account_id = a.id
                 WHERE e.timestamp < ?1 AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id)
                 LIMIT ?2)
               AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id)"
        }
        Prune::IdempotencyKeys => {
            "UPDATE events SET idempotency_key = NULL, request_hash = NULL
             WHERE id IN (SELECT id FROM events WHERE idempotency_key IS NOT NULL AND timestamp < ?1
                          ORDER BY timestamp LIMIT ?2)"
        }
        Prune::Scans => {
            "DELETE FROM scans WHERE id IN (
                 SELECT s.id FROM scans s
                 WHERE s.ended_at IS NOT NULL AND s.ended_at < ?1 AND s.status <> 'running'
                   AND NOT EXISTS (SELECT 1 FROM violations v WHERE v.first_scan_id = s.id)
                   AND NOT EXISTS (SELECT 1 FROM violations v WHERE v.last_scan_id = s.id)
                   AND NOT EXISTS (SELECT 1 FROM violation_history h WHERE h.scan_id = s.id)
                   AND NOT (s.status = 'completed' AND s.score IS NOT NULL AND NOT EXISTS (
                       SELECT 1 FROM scans n WHERE n.project_id = s.project_id AND n.status = 'completed'
                          AND n.ended_at > s.ended_at AND n.score IS NOT NULL))
                 ORDER BY s.ended_at LIMIT ?2)"
        }
    }
}
