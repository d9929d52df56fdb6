//! The delivery log: listing, inspecting, and starting new rounds by hand.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use scanhook_core::{AccountId, AttemptId, DeliveryId, WebhookId};

use super::query::Query;
use super::rows::{self, DELIVERY_COLUMNS, ms, time};
use crate::model::{Attempt, Delivery, DeliveryFilter, Page, Paged};
use crate::{Conflict, StoreResult};

pub fn list(c: &Connection, account: &AccountId, filter: DeliveryFilter, page: Page) -> StoreResult<Paged<Delivery>> {
    let items = list_query(account, &filter, &page).rows(c, rows::delivery)?;
    Ok(rows::paged(items, page.limit, |d| d.id.to_string()))
}

pub(super) fn list_query(account: &AccountId, filter: &DeliveryFilter, page: &Page) -> Query {
    Query::new(&format!("SELECT {DELIVERY_COLUMNS} FROM deliveries d"), "d.account_id = ?", account.to_string())
        .and_some("d.webhook_id = ?", filter.webhook_id.as_ref().map(|w| w.to_string()))
        .and_some("d.event_id = ?", filter.event_id.as_ref().map(|e| e.to_string()))
        .and_some("d.status = ?", filter.status.map(|s| s.as_str().to_string()))
        .and_some("d.event_type = ?", filter.event_type.as_ref().map(|t| t.to_string()))
        .and_some("d.created_at >= ?", filter.since.map(ms))
        .and_some("d.created_at < ?", filter.until.map(ms))
        .page("d.id", page)
}

pub fn get(c: &Connection, account: &AccountId, id: &DeliveryId) -> StoreResult<Delivery> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries d WHERE d.id = ?1 AND d.account_id = ?2"
    ))?;
    Ok(stmt.query_row([id.as_str(), account.as_str()], rows::delivery)?)
}

fn json_col<T: serde::de::DeserializeOwned + Default>(raw: Option<String>) -> T {
    raw.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default()
}

pub fn get_with_attempts(
    c: &Connection,
    account: &AccountId,
    id: &DeliveryId,
) -> StoreResult<(Delivery, Vec<Attempt>)> {
    let delivery = get(c, account, id)?;
    let mut stmt = c.prepare_cached(
        "SELECT id, number, started_at, latency_ms, status_code, error, request_headers, request_body,
                response_headers, response_body
         FROM attempts WHERE delivery_id = ?1 ORDER BY number",
    )?;
    let attempts = stmt
        .query_map([id.as_str()], |r| {
            Ok(Attempt {
                id: AttemptId::from_trusted(r.get(0)?),
                delivery_id: delivery.id.clone(),
                number: r.get(1)?,
                started_at: time(r.get(2)?),
                latency_ms: r.get(3)?,
                status_code: r.get(4)?,
                error: r.get(5)?,
                request_headers: json_col(r.get(6)?),
                request_body: r.get(7)?,
                response_headers: json_col(r.get(8)?),
                response_body: r.get(9)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((delivery, attempts))
}

/// A new round by hand also forgets expired leases: the user asked for this attempt. Of an
/// ordered endpoint, it then joins the back of the queue (`fifo::enqueue`).
const NEW_ROUND: &str = "status = 'pending', round_attempts = 0, next_attempt_at = ?1, lease_owner = NULL,
     lease_until = NULL, claims_since_outcome = 0, updated_at = ?1, fifo_seq = NULL";

pub fn retry(c: &Connection, account: &AccountId, id: &DeliveryId, now: DateTime<Utc>) -> StoreResult<Delivery> {
    // Guarded: a pending delivery is attempted on its schedule (of two concurrent retries,
    // the second finds it pending).
    let changed = c.execute(
        &format!("UPDATE deliveries SET {NEW_ROUND} WHERE id = ?2 AND account_id = ?3 AND status <> 'pending'"),
        params![ms(now), id.as_str(), account.as_str()],
    )?;
    if changed == 0 {
        get(c, account, id)?;
        return Err(Conflict::DeliveryPending.into());
    }
    let retried = get(c, account, id)?;
    if super::fifo::is_fifo(c, &retried.webhook_id)? {
        super::fifo::enqueue(c, &retried.webhook_id, now)?;
        return get(c, account, id);
    }
    Ok(retried)
}

pub fn replay_dead(
    c: &Connection,
    account: &AccountId,
    webhook: &WebhookId,
    since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    super::webhooks::get(c, account, webhook)?;
    let n = c.execute(
        &format!(
            "UPDATE deliveries SET {NEW_ROUND}
             WHERE webhook_id = ?2 AND account_id = ?3 AND status = 'dead' AND (?4 IS NULL OR created_at >= ?4)"
        ),
        params![ms(now), webhook.as_str(), account.as_str(), since.map(ms)],
    )?;
    if n > 0 && super::fifo::is_fifo(c, webhook)? {
        super::fifo::enqueue(c, webhook, now)?;
    }
    Ok(n as u64)
}
