//! What the attempt log says about one endpoint (`Store::webhook_activity`), as
//! `sqlite/stats.rs`: each part one range of an index, all in one REPEATABLE READ snapshot.

use chrono::{DateTime, Utc};
use scanhook_core::stats::{Counts, Sampled};
use scanhook_core::{AccountId, DeliveryId, WebhookId};

use super::rows::{self, DELIVERY_COLUMNS, big, int, ms, opt_int, time};
use super::{Tx, opt_row_of, row_of, rows_of};
use crate::StoreResult;
use crate::model::{FailedAttempt, WebhookActivity};

pub const COUNTS: &str = "SELECT COUNT(*), COUNT(*) FILTER (WHERE failed) FROM attempts
     WHERE webhook_id = $1 AND started_at >= $2 AND started_at <= $3";
pub const RECENT: &str = "SELECT started_at, latency_ms, failed FROM attempts
     WHERE webhook_id = $1 AND started_at <= $2 ORDER BY started_at DESC, id DESC LIMIT $3";
pub const LAST_FAILURE: &str = "SELECT delivery_id, started_at, status_code, error FROM attempts
     WHERE webhook_id = $1 AND failed AND started_at <= $2 ORDER BY started_at DESC, id DESC LIMIT 1";

pub fn last_delivery_sql() -> String {
    format!("SELECT {DELIVERY_COLUMNS} FROM deliveries d WHERE d.webhook_id = $1 ORDER BY d.id DESC LIMIT 1")
}

pub async fn activity(
    c: &Tx<'_>,
    account: &AccountId,
    id: &WebhookId,
    since: &[DateTime<Utc>],
    now: DateTime<Utc>,
    sample: u32,
) -> StoreResult<WebhookActivity> {
    // Every figure from the same snapshot (the first statement of the transaction).
    c.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").await?;
    row_of(c, "SELECT 1 FROM webhooks WHERE id = $1 AND account_id = $2", &[&id.as_str(), &account.as_str()]).await?;
    let mut counts = Vec::with_capacity(since.len());
    for from in since {
        let row = row_of(c, COUNTS, &[&id.as_str(), &ms(*from), &ms(now)]).await?;
        counts.push(Counts { attempts: int(&row, 0)?, failures: int(&row, 1)? });
    }
    let recent = rows_of(c, RECENT, &[&id.as_str(), &ms(now), &big(sample)])
        .await?
        .iter()
        .map(|r| Ok(Sampled { started_at: time(r.try_get(0)?), latency_ms: int(r, 1)?, failed: r.try_get(2)? }))
        .collect::<StoreResult<Vec<_>>>()?;
    let last_failure = match opt_row_of(c, LAST_FAILURE, &[&id.as_str(), &ms(now)]).await? {
        Some(r) => Some(FailedAttempt {
            delivery_id: DeliveryId::from_trusted(r.try_get(0)?),
            started_at: time(r.try_get(1)?),
            status_code: opt_int(&r, 2)?,
            error: r.try_get(3)?,
        }),
        None => None,
    };
    let last_delivery = match opt_row_of(c, &last_delivery_sql(), &[&id.as_str()]).await? {
        Some(r) => Some(rows::delivery(&r)?),
        None => None,
    };
    Ok(WebhookActivity { counts, recent, last_failure, last_delivery })
}
