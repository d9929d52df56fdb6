//! Conversions between PostgreSQL rows and the store's records. Column lists live next to
//! the mappers that read them, so the two cannot drift apart. Secret columns are read
//! sealed and opened here, in Rust (SQLite opens them in SQL: `sqlite/sealed.rs`).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use scanhook_core::scan::Severity;
use scanhook_core::{
    AccountId, DeliveryId, DeliveryStatus, EventId, EventType, ExtraHeaders, WebhookId, WebhookSecret, WebhookUrl,
};
use tokio_postgres::Row;

use crate::model::{Delivery, Event, Paged, Webhook};
use crate::{SecretBox, StoreError, StoreResult};

pub fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// Splits one extra row (fetched to see whether more exist) off into the next cursor.
pub fn paged<T>(mut items: Vec<T>, limit: u32, id_of: impl Fn(&T) -> String) -> Paged<T> {
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(id_of)
    } else {
        None
    };
    Paged { items, next_cursor }
}

fn opt_time(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.map(time)
}

/// A whole number stored as BIGINT, read into the record's narrower type (a stored value
/// out of range is damage, reported rather than wrapped).
pub fn int<T: TryFrom<i64>>(row: &Row, idx: usize) -> StoreResult<T> {
    let raw: i64 = row.try_get(idx)?;
    T::try_from(raw).map_err(|_| StoreError::Backend(format!("column {idx} holds {raw}, out of range").into()))
}

pub fn opt_int<T: TryFrom<i64>>(row: &Row, idx: usize) -> StoreResult<Option<T>> {
    let raw: Option<i64> = row.try_get(idx)?;
    raw.map(|raw| {
        T::try_from(raw).map_err(|_| StoreError::Backend(format!("column {idx} holds {raw}, out of range").into()))
    })
    .transpose()
}

pub fn json<T: serde::de::DeserializeOwned>(row: &Row, idx: usize) -> StoreResult<T> {
    let raw: String = row.try_get(idx)?;
    Ok(serde_json::from_str(&raw)?)
}

/// Values for BIGINT parameters.
pub fn big(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

pub const WEBHOOK_COLUMNS: &str = "w.id, w.account_id, w.url, w.description, w.events, w.secret, w.headers, \
     w.active, w.disabled_reason, w.disabled_at, w.consecutive_failures, w.created_at, w.updated_at, w.projects, \
     w.min_severity, w.format, w.previous_secret, w.previous_secret_expires_at, w.sensitive_headers, \
     w.retry_not_before";

fn opened(e: crate::crypto::DocumentError) -> StoreError {
    StoreError::Backend(e)
}

pub fn webhook(row: &Row, at: usize, key: &SecretBox) -> StoreResult<Webhook> {
    let headers: String = row.try_get(at + 6)?;
    let headers: BTreeMap<String, String> = serde_json::from_str(&key.open_headers(&headers).map_err(opened)?)?;
    let marked: BTreeSet<String> = json(row, at + 18)?;
    let format: String = row.try_get(at + 15)?;
    let secret: String = row.try_get(at + 5)?;
    let previous: Option<String> = row.try_get(at + 16)?;
    let previous = previous.map(|p| key.open(&p)).transpose().map_err(|e| StoreError::Backend(Box::new(e)))?;
    Ok(Webhook {
        id: WebhookId::from_trusted(row.try_get(at)?),
        account_id: AccountId::from_trusted(row.try_get(at + 1)?),
        url: WebhookUrl::from_trusted(row.try_get(at + 2)?),
        description: row.try_get(at + 3)?,
        events: json(row, at + 4)?,
        secret: WebhookSecret::from_trusted(key.open(&secret).map_err(|e| StoreError::Backend(Box::new(e)))?),
        headers: ExtraHeaders(headers, marked),
        active: row.try_get(at + 7)?,
        disabled_reason: row.try_get(at + 8)?,
        disabled_at: opt_time(row.try_get(at + 9)?),
        consecutive_failures: int(row, at + 10)?,
        retry_not_before: opt_time(row.try_get(at + 19)?),
        created_at: time(row.try_get(at + 11)?),
        updated_at: time(row.try_get(at + 12)?),
        projects: json(row, at + 13)?,
        min_severity: row.try_get::<_, Option<String>>(at + 14)?.and_then(|s| Severity::parse(&s).ok()),
        format: serde_json::from_str(&key.open_format(&format).map_err(opened)?)?,
        previous_secret: match (previous, row.try_get::<_, Option<i64>>(at + 17)?) {
            (Some(secret), Some(until)) => Some((WebhookSecret::from_trusted(secret), time(until))),
            _ => None,
        },
    })
}

pub const EVENT_COLUMNS: &str =
    "e.id, e.account_id, e.type, e.timestamp, e.data, e.target_webhook_id, e.delivery_count";

pub fn event(row: &Row, at: usize) -> StoreResult<Event> {
    Ok(Event {
        id: EventId::from_trusted(row.try_get(at)?),
        account_id: AccountId::from_trusted(row.try_get(at + 1)?),
        event_type: EventType::from_trusted(row.try_get(at + 2)?),
        timestamp: time(row.try_get(at + 3)?),
        data: row.try_get(at + 4)?,
        target: row.try_get::<_, Option<String>>(at + 5)?.map(WebhookId::from_trusted),
        delivery_count: int(row, at + 6)?,
    })
}

/// `last_error` is a note of no attempt, or else the latest attempt's error (stored once,
/// on the attempt).
pub const DELIVERY_COLUMNS: &str = "d.id, d.account_id, d.event_id, d.event_type, d.webhook_id, d.status, \
     d.attempt_count, d.next_attempt_at, d.last_status_code, COALESCE(d.last_error, (SELECT a.error FROM attempts a \
     WHERE a.delivery_id = d.id ORDER BY a.number DESC LIMIT 1)), d.created_at, d.updated_at";

pub fn delivery(row: &Row) -> StoreResult<Delivery> {
    let status: String = row.try_get(5)?;
    let status = DeliveryStatus::parse(&status).map_err(|e| StoreError::Backend(Box::new(e)))?;
    Ok(Delivery {
        id: DeliveryId::from_trusted(row.try_get(0)?),
        account_id: AccountId::from_trusted(row.try_get(1)?),
        event_id: EventId::from_trusted(row.try_get(2)?),
        event_type: EventType::from_trusted(row.try_get(3)?),
        webhook_id: WebhookId::from_trusted(row.try_get(4)?),
        status,
        attempt_count: int(row, 6)?,
        next_attempt_at: opt_time(row.try_get(7)?),
        last_status_code: opt_int(row, 8)?,
        last_error: row.try_get(9)?,
        created_at: time(row.try_get(10)?),
        updated_at: time(row.try_get(11)?),
    })
}
