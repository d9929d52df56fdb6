//! What the attempt log says about one endpoint (`Store::webhook_activity`): each part one
//! range of an index (`attempts_webhook`, `attempts_webhook_failed`,
//! `deliveries_webhook_all`), read in one snapshot.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};
use scanhook_core::stats::{Counts, Sampled};
use scanhook_core::{AccountId, DeliveryId, WebhookId};

use super::rows::{self, DELIVERY_COLUMNS, ms, time};
use crate::StoreResult;
use crate::model::{FailedAttempt, WebhookActivity};

pub const COUNTS: &str = "SELECT COUNT(*), COALESCE(SUM(failed), 0) FROM attempts
     WHERE webhook_id = ?1 AND started_at >= ?2 AND started_at <= ?3";
pub const RECENT: &str = "SELECT started_at, latency_ms, failed FROM attempts
     WHERE webhook_id = ?1 AND started_at <= ?2 ORDER BY started_at DESC, id DESC LIMIT ?3";
pub const LAST_FAILURE: &str = "SELECT delivery_id, started_at, status_code, error FROM attempts
     WHERE webhook_id = ?1 AND failed = 1 AND started_at <= ?2 ORDER BY started_at DESC, id DESC LIMIT 1";

pub fn last_delivery_sql() -> String {
    format!("SELECT {DELIVERY_COLUMNS} FROM deliveries d WHERE d.webhook_id = ?1 ORDER BY d.id DESC LIMIT 1")
}

pub fn activity(
    c: &Connection,
    account: &AccountId,
    id: &WebhookId,
    since: &[DateTime<Utc>],
    now: DateTime<Utc>,
    sample: u32,
) -> StoreResult<WebhookActivity> {
    // One read transaction: every figure from the same commit.
    let tx = c.unchecked_transaction()?;
    tx.prepare_cached("SELECT 1 FROM webhooks WHERE id = ?1 AND account_id = ?2")?
        .query_row([id.as_str(), account.as_str()], |_| Ok(()))?;
    let mut counts = Vec::with_capacity(since.len());
    for from in since {
        counts.push(tx.prepare_cached(COUNTS)?.query_row(rusqlite::params![id.as_str(), ms(*from), ms(now)], |r| {
            Ok(Counts { attempts: r.get(0)?, failures: r.get(1)? })
        })?);
    }
    let recent = tx
        .prepare_cached(RECENT)?
        .query_map(rusqlite::params![id.as_str(), ms(now), sample], |r| {
            Ok(Sampled { started_at: time(r.get(0)?), latency_ms: r.get(1)?, failed: r.get(2)? })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let last_failure = tx
        .prepare_cached(LAST_FAILURE)?
        .query_row(rusqlite::params![id.as_str(), ms(now)], |r| {
            Ok(FailedAttempt {
                delivery_id: DeliveryId::from_trusted(r.get(0)?),
                started_at: time(r.get(1)?),
                status_code: r.get(2)?,
                error: r.get(3)?,
            })
        })
        .optional()?;
    let last_delivery = tx.prepare_cached(&last_delivery_sql())?.query_row([id.as_str()], rows::delivery).optional()?;
    tx.commit()?;
    Ok(WebhookActivity { counts, recent, last_failure, last_delivery })
}
