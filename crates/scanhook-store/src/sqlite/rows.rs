//! Conversions between SQLite rows and the store's records. Column lists live next to the
//! mappers that read them, so the two cannot drift apart.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use rusqlite::Row;
use rusqlite::types::Type;
use scanhook_core::scan::Severity;
use scanhook_core::{
    AccountId, DeliveryId, DeliveryStatus, EventId, EventType, ExtraHeaders, WebhookId, WebhookSecret, WebhookUrl,
};

use crate::model::{Delivery, Event, Paged, Webhook};

pub fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn opt_time(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.map(time)
}

fn json<T: serde::de::DeserializeOwned>(row: &Row, idx: usize) -> rusqlite::Result<T> {
    let raw: String = row.get(idx)?;
    serde_json::from_str(&raw).map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(e)))
}

/// Sealed columns are opened here, in SQL (`sealed.rs`): the mapper sees plaintext.
pub const WEBHOOK_COLUMNS: &str = "w.id, w.account_id, w.url, w.description, w.events, scanhook_open(w.secret), \
     scanhook_open_headers(w.headers), w.active, w.disabled_reason, w.disabled_at, w.consecutive_failures, \
     w.created_at, w.updated_at, w.projects, w.min_severity, scanhook_open_format(w.format), \
     scanhook_open(w.previous_secret), w.previous_secret_expires_at, w.sensitive_headers, w.retry_not_before";

pub fn webhook(row: &Row, at: usize) -> rusqlite::Result<Webhook> {
    let headers: BTreeMap<String, String> = json(row, at + 6)?;
    let marked: BTreeSet<String> = json(row, at + 18)?;
    Ok(Webhook {
        id: WebhookId::from_trusted(row.get(at)?),
        account_id: AccountId::from_trusted(row.get(at + 1)?),
        url: WebhookUrl::from_trusted(row.get(at + 2)?),
        description: row.get(at + 3)?,
        events: json(row, at + 4)?,
        secret: WebhookSecret::from_trusted(row.get(at + 5)?),
        headers: ExtraHeaders(headers, marked),
        active: row.get(at + 7)?,
        disabled_reason: row.get(at + 8)?,
        disabled_at: opt_time(row.get(at + 9)?),
        consecutive_failures: row.get(at + 10)?,
        retry_not_before: opt_time(row.get(at + 19)?),
        created_at: time(row.get(at + 11)?),
        updated_at: time(row.get(at + 12)?),
        projects: json(row, at + 13)?,
        min_severity: row.get::<_, Option<String>>(at + 14)?.and_then(|s| Severity::parse(&s).ok()),
        format: json(row, at + 15)?,
        previous_secret: match (row.get::<_, Option<String>>(at + 16)?, row.get::<_, Option<i64>>(at + 17)?) {
            (Some(secret), Some(until)) => Some((WebhookSecret::from_trusted(secret), time(until))),
            _ => None,
        },
    })
}

pub const EVENT_COLUMNS: &str =
    "e.id, e.account_id, e.type, e.timestamp, e.data, e.target_webhook_id, e.delivery_count";

pub fn event(row: &Row, at: usize) -> rusqlite::Result<Event> {
    Ok(Event {
        id: EventId::from_trusted(row.get(at)?),
        account_id: AccountId::from_trusted(row.get(at + 1)?),
        event_type: EventType::from_trusted(row.get(at + 2)?),
        timestamp: time(row.get(at + 3)?),
        data: row.get(at + 4)?,
        target: row.get::<_, Option<String>>(at + 5)?.map(WebhookId::from_trusted),
        delivery_count: row.get(at + 6)?,
    })
}

/// `last_error` is a note of no attempt, or else the latest attempt's error (stored once,
/// on the attempt).
pub const DELIVERY_COLUMNS: &str = "d.id, d.account_id, d.event_id, d.event_type, d.webhook_id, d.status, \
     d.attempt_count, d.next_attempt_at, d.last_status_code, COALESCE(d.last_error, (SELECT a.error FROM attempts a \
     WHERE a.delivery_id = d.id ORDER BY a.number DESC LIMIT 1)), d.created_at, d.updated_at";

pub fn delivery(row: &Row) -> rusqlite::Result<Delivery> {
    let status: String = row.get(5)?;
    let status = DeliveryStatus::parse(&status)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(5, Type::Text, Box::new(e)))?;
    Ok(Delivery {
        id: DeliveryId::from_trusted(row.get(0)?),
        account_id: AccountId::from_trusted(row.get(1)?),
        event_id: EventId::from_trusted(row.get(2)?),
        event_type: EventType::from_trusted(row.get(3)?),
        webhook_id: WebhookId::from_trusted(row.get(4)?),
        status,
        attempt_count: row.get(6)?,
        next_attempt_at: opt_time(row.get(7)?),
        last_status_code: row.get(8)?,
        last_error: row.get(9)?,
        created_at: time(row.get(10)?),
        updated_at: time(row.get(11)?),
    })
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
