//! The delivery log: listing, inspecting, and starting new rounds by hand.

use chrono::{DateTime, Utc};
use scanhook_core::{AccountId, AttemptId, DeliveryId, WebhookId};

use super::query::Query;
use super::rows::{self, DELIVERY_COLUMNS, int, ms, opt_int, time};
use super::{Tx, exec, row_of, rows_of};
use crate::model::{Attempt, Delivery, DeliveryFilter, Page, Paged};
use crate::{Conflict, StoreResult};

pub async fn list(c: &Tx<'_>, account: &AccountId, filter: DeliveryFilter, page: Page) -> StoreResult<Paged<Delivery>> {
    let items =
        Query::new(&format!("SELECT {DELIVERY_COLUMNS} FROM deliveries d"), "d.account_id = ?", account.to_string())
            .and_some("d.webhook_id = ?", filter.webhook_id.as_ref().map(|w| w.to_string()))
            .and_some("d.event_id = ?", filter.event_id.as_ref().map(|e| e.to_string()))
            .and_some("d.status = ?", filter.status.map(|s| s.as_str().to_string()))
            .and_some("d.event_type = ?", filter.event_type.as_ref().map(|t| t.to_string()))
            .and_some("d.created_at >= ?", filter.since.map(ms))
            .and_some("d.created_at < ?", filter.until.map(ms))
            .page("d.id", &page)
            .rows(c, rows::delivery)
            .await?;
    Ok(rows::paged(items, page.limit, |d| d.id.to_string()))
}

pub async fn get(c: &Tx<'_>, account: &AccountId, id: &DeliveryId) -> StoreResult<Delivery> {
    let row = row_of(
        c,
        &format!("SELECT {DELIVERY_COLUMNS} FROM deliveries d WHERE d.id = $1 AND d.account_id = $2"),
        &[&id.as_str(), &account.as_str()],
    )
    .await?;
    rows::delivery(&row)
}

fn json_col<T: serde::de::DeserializeOwned + Default>(raw: Option<String>) -> T {
    raw.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default()
}

pub async fn get_with_attempts(
    c: &Tx<'_>,
    account: &AccountId,
    id: &DeliveryId,
) -> StoreResult<(Delivery, Vec<Attempt>)> {
    let delivery = get(c, account, id).await?;
    let attempts = rows_of(
        c,
        "SELECT id, number, started_at, latency_ms, status_code, error, request_headers, request_body,
                response_headers, response_body
         FROM attempts WHERE delivery_id = $1 ORDER BY number",
        &[&id.as_str()],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(Attempt {
            id: AttemptId::from_trusted(r.try_get(0)?),
            delivery_id: delivery.id.clone(),
            number: int(r, 1)?,
            started_at: time(r.try_get(2)?),
            latency_ms: int(r, 3)?,
            status_code: opt_int(r, 4)?,
            error: r.try_get(5)?,
            request_headers: json_col(r.try_get(6)?),
            request_body: r.try_get(7)?,
            response_headers: json_col(r.try_get(8)?),
            response_body: r.try_get(9)?,
        })
    })
    .collect::<StoreResult<Vec<_>>>()?;
    Ok((delivery, attempts))
}

/// A new round by hand also forgets expired leases: the user asked for this attempt. Of an
/// ordered endpoint, it then joins the back of the queue (`fifo::enqueue`).
const NEW_ROUND: &str = "status = 'pending', round_attempts = 0, next_attempt_at = $1, lease_owner = NULL,
     lease_until = NULL, claims_since_outcome = 0, updated_at = $1, fifo_seq = NULL";

pub async fn retry(c: &Tx<'_>, account: &AccountId, id: &DeliveryId, now: DateTime<Utc>) -> StoreResult<Delivery> {
    // An ordered endpoint's row is locked before the delivery's (`fifo.rs`).
    let webhook = WebhookId::from_trusted(
        row_of(
            c,
            "SELECT webhook_id FROM deliveries WHERE id = $1 AND account_id = $2",
            &[&id.as_str(), &account.as_str()],
        )
        .await?
        .try_get(0)?,
    );
    let ordered = super::fifo::lock(c, &webhook).await?;
    // Guarded: a pending delivery is attempted on its schedule (of two concurrent retries,
    // the second finds it pending).
    let changed = exec(
        c,
        &format!("UPDATE deliveries SET {NEW_ROUND} WHERE id = $2 AND account_id = $3 AND status <> 'pending'"),
        &[&ms(now), &id.as_str(), &account.as_str()],
    )
    .await?;
    if changed == 0 {
        get(c, account, id).await?;
        return Err(Conflict::DeliveryPending.into());
    }
    if ordered {
        super::fifo::enqueue(c, &webhook, now).await?;
    } else {
        super::listen::announce(c).await?;
    }
    get(c, account, id).await
}

pub async fn replay_dead(
    c: &Tx<'_>,
    account: &AccountId,
    webhook: &WebhookId,
    since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    super::webhooks::exists(c, account, webhook).await?;
    let ordered = super::fifo::lock(c, webhook).await?;
    let replayed = exec(
        c,
        &format!(
            "UPDATE deliveries SET {NEW_ROUND}
             WHERE webhook_id = $2 AND account_id = $3 AND status = 'dead' AND ($4::BIGINT IS NULL OR created_at >= $4)"
        ),
        &[&ms(now), &webhook.as_str(), &account.as_str(), &since.map(ms)],
    )
    .await?;
    if replayed > 0 && ordered {
        super::fifo::enqueue(c, webhook, now).await?;
    } else if replayed > 0 {
        super::listen::announce(c).await?;
    }
    Ok(replayed)
}
