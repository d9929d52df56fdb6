//! Ordered endpoints' queues, as `sqlite/fifo.rs` (the rule: `scanhook_core::format::Ordering`).
//! Without a single writer, every unit that moves a FIFO delivery into or out of `pending`
//! first takes its endpoint's row lock ([`lock`]: FOR NO KEY UPDATE, which the ingest's
//! counter update takes too), and settles after its writes: of an ingest and a completion
//! of one endpoint, the second waits for the first and, READ COMMITTED, sees what it
//! committed, so the head moves on whichever order they come in. Several endpoints are
//! locked in the order of their IDs (as `PostgresStore::complete` sorts its batch), so two
//! units never wait for each other in a circle. Claims never wait for an endpoint's row
//! (they skip a locked one), and only due rows are claimed, never the ones waiting.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use scanhook_core::{AccountId, WebhookId};

use super::rows::ms;
use super::{Tx, exec, opt_row_of, rows_of};
use crate::StoreResult;

/// Locks the endpoint's row if it is ordered, until the unit ends; false if it is not
/// (or gone).
pub async fn lock(c: &Tx<'_>, webhook: &WebhookId) -> StoreResult<bool> {
    Ok(!lock_ordered(c, std::slice::from_ref(webhook)).await?.is_empty())
}

/// Locks the rows of those of `webhooks` that are ordered, in the order of their IDs (as
/// every unit that locks several does), until the unit ends; returns their IDs. One round
/// trip for a whole batch of outcomes, where a lock per outcome cost one each.
pub async fn lock_ordered(c: &Tx<'_>, webhooks: &[WebhookId]) -> StoreResult<HashSet<WebhookId>> {
    let ids: Vec<&str> = webhooks.iter().map(WebhookId::as_str).collect();
    let rows = rows_of(
        c,
        "SELECT id FROM webhooks WHERE id = ANY($1) AND fifo_next IS NOT NULL ORDER BY id FOR NO KEY UPDATE",
        &[&ids],
    )
    .await?;
    rows.iter().map(|r| Ok(WebhookId::from_trusted(r.try_get::<_, String>(0)?))).collect()
}

/// Locks every ordered endpoint of the account, in the order of their IDs: an ingest does
/// before it draws places, so that the several events of one unit (a batch, a scan's
/// events) lock in one order whichever endpoints each reaches.
pub async fn lock_account(c: &Tx<'_>, account: &AccountId) -> StoreResult<()> {
    rows_of(
        c,
        "SELECT id FROM webhooks WHERE account_id = $1 AND fifo_next IS NOT NULL ORDER BY id FOR NO KEY UPDATE",
        &[&account.as_str()],
    )
    .await?;
    Ok(())
}

/// The next place in the endpoint's queue; `None` if it is not ordered.
pub async fn draw(c: &Tx<'_>, webhook: &WebhookId) -> StoreResult<Option<i64>> {
    let row = opt_row_of(
        c,
        "UPDATE webhooks SET fifo_next = fifo_next + 1 WHERE id = $1 AND fifo_next IS NOT NULL RETURNING fifo_next",
        &[&webhook.as_str()],
    )
    .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

/// Makes the head of the endpoint's queue due at `now` if none of its deliveries is due
/// or in flight, and announces it. True if it did. The caller holds the endpoint's lock.
pub async fn settle(c: &Tx<'_>, webhook: &WebhookId, now: DateTime<Utc>) -> StoreResult<bool> {
    let moved = exec(
        c,
        "UPDATE deliveries SET next_attempt_at = $2
         WHERE id = (SELECT id FROM deliveries
                     WHERE webhook_id = $1 AND status = 'pending' AND next_attempt_at IS NULL
                     ORDER BY fifo_seq LIMIT 1)
           AND NOT EXISTS (SELECT 1 FROM deliveries
                           WHERE webhook_id = $1 AND status = 'pending' AND next_attempt_at IS NOT NULL
                               AND fifo_seq IS NOT NULL)",
        &[&webhook.as_str(), &ms(now)],
    )
    .await?;
    if moved > 0 {
        super::listen::announce(c).await?;
    }
    Ok(moved > 0)
}

/// Puts the endpoint's pending and held deliveries without a place at the back of its
/// queue, in the order they were made, then settles (`sqlite/fifo.rs::enqueue`). The
/// caller holds the endpoint's lock.
pub async fn enqueue(c: &Tx<'_>, webhook: &WebhookId, now: DateTime<Utc>) -> StoreResult<()> {
    let added = exec(
        c,
        "UPDATE deliveries SET fifo_seq = w.fifo_next + q.n,
             next_attempt_at = CASE WHEN deliveries.status = 'pending' AND deliveries.lease_owner IS NULL
                 THEN NULL ELSE deliveries.next_attempt_at END
         FROM (SELECT d.id, ROW_NUMBER() OVER (ORDER BY d.created_at, d.id) AS n
               FROM deliveries d JOIN events e ON e.id = d.event_id
               WHERE d.webhook_id = $1 AND d.status IN ('pending', 'held') AND d.fifo_seq IS NULL
                   AND e.target_webhook_id IS NULL) q,
              webhooks w
         WHERE deliveries.id = q.id AND w.id = $1 AND w.fifo_next IS NOT NULL",
        &[&webhook.as_str()],
    )
    .await?;
    if added > 0 {
        exec(
            c,
            "UPDATE webhooks SET fifo_next = fifo_next + $2 WHERE id = $1",
            &[&webhook.as_str(), &i64::try_from(added).unwrap_or(i64::MAX)],
        )
        .await?;
    }
    settle(c, webhook, now).await?;
    Ok(())
}

/// Makes an endpoint ordered or not, its deliveries with it (`sqlite/fifo.rs::set_ordered`).
/// The caller holds the endpoint's row.
pub async fn set_ordered(c: &Tx<'_>, webhook: &WebhookId, fifo: bool, now: DateTime<Utc>) -> StoreResult<()> {
    if fifo {
        let changed =
            exec(c, "UPDATE webhooks SET fifo_next = 0 WHERE id = $1 AND fifo_next IS NULL", &[&webhook.as_str()])
                .await?;
        if changed > 0 {
            exec(
                c,
                "UPDATE deliveries SET fifo_seq = NULL WHERE webhook_id = $1 AND status IN ('pending', 'held')",
                &[&webhook.as_str()],
            )
            .await?;
            enqueue(c, webhook, now).await?;
        }
    } else {
        let changed = exec(
            c,
            "UPDATE webhooks SET fifo_next = NULL WHERE id = $1 AND fifo_next IS NOT NULL",
            &[&webhook.as_str()],
        )
        .await?;
        if changed > 0 {
            let released = exec(
                c,
                "UPDATE deliveries SET fifo_seq = NULL, next_attempt_at = CASE WHEN status = 'pending'
                     THEN COALESCE(next_attempt_at, $2) END
                 WHERE webhook_id = $1 AND status IN ('pending', 'held')",
                &[&webhook.as_str(), &ms(now)],
            )
            .await?;
            if released > 0 {
                super::listen::announce(c).await?;
            }
        }
    }
    Ok(())
}
