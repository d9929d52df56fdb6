//! Ordered endpoints' queues (`format.ordering = "fifo"`, the rule in
//! `scanhook_core::format::Ordering`): a delivery's place is `fifo_seq`, drawn from its
//! endpoint's `fifo_next` when its event is accepted; only the head is due, the rest are
//! pending with no attempt time. Every unit of work that moves a FIFO delivery into or
//! out of `pending` calls [`settle`] for its endpoint. (The single writer serialises
//! them; `postgres/fifo.rs` takes the endpoint's row lock for the same effect.)

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use scanhook_core::WebhookId;

use super::rows::ms;
use crate::StoreResult;

/// Whether the endpoint keeps its deliveries in order (false if it is gone).
pub fn is_fifo(c: &Connection, webhook: &WebhookId) -> StoreResult<bool> {
    let fifo = c
        .prepare_cached("SELECT fifo_next IS NOT NULL FROM webhooks WHERE id = ?1")?
        .query_row([webhook.as_str()], |r| r.get(0))
        .optional()?;
    Ok(fifo.unwrap_or(false))
}

/// The next place in the endpoint's queue; `None` if it is not ordered.
pub fn draw(c: &Connection, webhook: &WebhookId) -> StoreResult<Option<i64>> {
    Ok(c.prepare_cached(
        "UPDATE webhooks SET fifo_next = fifo_next + 1 WHERE id = ?1 AND fifo_next IS NOT NULL RETURNING fifo_next",
    )?
    .query_row([webhook.as_str()], |r| r.get(0))
    .optional()?)
}

/// Makes the head of the endpoint's queue due at `now` if none of its deliveries is due
/// or in flight. True if it did.
pub fn settle(c: &Connection, webhook: &WebhookId, now: DateTime<Utc>) -> StoreResult<bool> {
    let moved = c
        .prepare_cached(
            "UPDATE deliveries SET next_attempt_at = ?2
             WHERE id = (SELECT id FROM deliveries
                         WHERE webhook_id = ?1 AND status = 'pending' AND next_attempt_at IS NULL
                         ORDER BY fifo_seq LIMIT 1)
               AND NOT EXISTS (SELECT 1 FROM deliveries
                               WHERE webhook_id = ?1 AND status = 'pending' AND next_attempt_at IS NOT NULL
                                   AND fifo_seq IS NOT NULL)",
        )?
        .execute(params![webhook.as_str(), ms(now)])?;
    Ok(moved > 0)
}

/// Puts the endpoint's pending and held deliveries without a place (sent again by hand,
/// or all of them when the endpoint becomes ordered) at the back of its queue, in the
/// order they were made; those not in flight wait their turn. Test events stay out.
pub fn enqueue(c: &Connection, webhook: &WebhookId, now: DateTime<Utc>) -> StoreResult<()> {
    let added = c
        .prepare_cached(
            "UPDATE deliveries SET fifo_seq = w.fifo_next + q.n,
                 next_attempt_at = CASE WHEN deliveries.status = 'pending' AND deliveries.lease_owner IS NULL
                     THEN NULL ELSE deliveries.next_attempt_at END
             FROM (SELECT d.id, ROW_NUMBER() OVER (ORDER BY d.created_at, d.id) AS n
                   FROM deliveries d JOIN events e ON e.id = d.event_id
                   WHERE d.webhook_id = ?1 AND d.status IN ('pending', 'held') AND d.fifo_seq IS NULL
                       AND e.target_webhook_id IS NULL) q,
                  webhooks w
             WHERE deliveries.id = q.id AND w.id = ?1 AND w.fifo_next IS NOT NULL",
        )?
        .execute([webhook.as_str()])?;
    if added > 0 {
        c.prepare_cached("UPDATE webhooks SET fifo_next = fifo_next + ?2 WHERE id = ?1")?
            .execute(params![webhook.as_str(), added as i64])?;
    }
    settle(c, webhook, now)?;
    Ok(())
}

/// Makes an endpoint ordered or not, its deliveries with it: ordered, its pending and held
/// ones are numbered in the order they were made ([`enqueue`]); unordered, every waiting
/// one is due now.
pub fn set_ordered(c: &Connection, webhook: &WebhookId, fifo: bool, now: DateTime<Utc>) -> StoreResult<()> {
    if fifo {
        let changed = c
            .prepare_cached("UPDATE webhooks SET fifo_next = 0 WHERE id = ?1 AND fifo_next IS NULL")?
            .execute([webhook.as_str()])?;
        if changed > 0 {
            c.prepare_cached(
                "UPDATE deliveries SET fifo_seq = NULL WHERE webhook_id = ?1 AND status IN ('pending', 'held')",
            )?
            .execute([webhook.as_str()])?;
            enqueue(c, webhook, now)?;
        }
    } else {
        let changed = c
            .prepare_cached("UPDATE webhooks SET fifo_next = NULL WHERE id = ?1 AND fifo_next IS NOT NULL")?
            .execute([webhook.as_str()])?;
        if changed > 0 {
            c.prepare_cached(
                "UPDATE deliveries SET fifo_seq = NULL, next_attempt_at = CASE WHEN status = 'pending'
                     THEN COALESCE(next_attempt_at, ?2) END
                 WHERE webhook_id = ?1 AND status IN ('pending', 'held')",
            )?
            .execute(params![webhook.as_str(), ms(now)])?;
        }
    }
    Ok(())
}
