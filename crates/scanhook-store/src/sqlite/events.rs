//! Accepting events (fan-out to deliveries happens here, in the same transaction) and
//! reading them back.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use scanhook_core::scan::Severity;
use scanhook_core::subscription::{Held, Subscription, reaches};
use scanhook_core::{AccountId, DeliveryId, EventId, EventType, WebhookId};

use super::query::Query;
use super::rows::{self, EVENT_COLUMNS, ms};
use crate::model::{Event, EventFilter, EventScope, EventStamp, Ingested, NewEvent, Page, Paged};
use crate::{Conflict, StoreError, StoreResult};

pub fn ingest(c: &Connection, account: &AccountId, new: NewEvent, now: DateTime<Utc>) -> StoreResult<Ingested> {
    ingest_into(c, account, new, now, &mut Vec::new())
}

/// [`ingest`], adding the pending deliveries it made to `made`, each with its endpoint.
pub fn ingest_into(
    c: &Connection,
    account: &AccountId,
    new: NewEvent,
    now: DateTime<Utc>,
    made: &mut Vec<(DeliveryId, WebhookId)>,
) -> StoreResult<Ingested> {
    if let Some((key, hash)) = &new.idempotency
        && let Some(seen) = replay(c, account, key, hash)?
    {
        return Ok(seen);
    }

    let targets = match &new.target {
        Some(webhook) => {
            // Existence within the account; a targeted event reaches a disabled endpoint too.
            super::webhooks::get(c, account, webhook)?;
            vec![(webhook.clone(), false, false)]
        }
        None => matching_webhooks(c, account, &new)?,
    };

    // Guarded by the key's unique index: of two concurrent requests with one key, the
    // second inserts nothing and replays the first (the check above is only a shortcut).
    let (key, hash) = new.idempotency.clone().unzip();
    let inserted = c
        .prepare_cached(
            "INSERT INTO events (id, account_id, type, timestamp, data, target_webhook_id, delivery_count, idempotency_key,
                 request_hash, project_id, trace_parent)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT (account_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING",
        )?
        .execute(params![
        new.id.as_str(),
        account.as_str(),
        new.event_type.as_str(),
        ms(new.timestamp),
        new.data,
        new.target.as_ref().map(|t| t.as_str()),
        targets.len() as u32,
            key,
            hash,
            new.scope.project.as_ref().map(|p| p.as_str()),
            new.trace_parent,
        ])?;
    if inserted == 0 {
        // Only an idempotency key can conflict, and the event it names exists.
        let (key, hash) = new.idempotency.as_ref().ok_or(StoreError::NotFound)?;
        return replay(c, account, key, hash)?.ok_or(StoreError::NotFound);
    }

    let mut insert = c.prepare_cached(
        "INSERT INTO deliveries (id, account_id, event_id, event_type, webhook_id, status, next_attempt_at, created_at,
             updated_at, fifo_seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9)",
    )?;
    for (webhook, held, fifo) in &targets {
        // A held delivery is not due until its endpoint is enabled again; one of an
        // ordered endpoint takes the next place in its queue and waits its turn (`fifo`).
        let seq = if *fifo { super::fifo::draw(c, webhook)? } else { None };
        let (status, due) = match (*held, seq) {
            (true, _) => ("held", None),
            (false, Some(_)) => ("pending", None),
            (false, None) => ("pending", Some(ms(new.first_attempt_at))),
        };
        let id = DeliveryId::generate();
        insert.execute(params![
            id.as_str(),
            account.as_str(),
            new.id.as_str(),
            new.event_type.as_str(),
            webhook.as_str(),
            status,
            due,
            ms(now),
            seq,
        ])?;
        if !*held {
            made.push((id, webhook.clone()));
        }
    }
    for (webhook, _, _) in targets.iter().filter(|(_, _, fifo)| *fifo) {
        super::fifo::settle(c, webhook, new.first_attempt_at)?;
    }

    Ok(Ingested::Created(Event {
        id: new.id,
        account_id: account.clone(),
        event_type: new.event_type,
        timestamp: new.timestamp,
        data: new.data,
        target: new.target,
        delivery_count: targets.len() as u32,
    }))
}

/// Stores a batch in the caller's unit of work (`Store::ingest_events`): each event on its
/// own, a refusal that event's result, any other error the whole batch's.
pub fn ingest_batch(
    c: &Connection,
    account: &AccountId,
    batch: Vec<NewEvent>,
    now: DateTime<Utc>,
    made: &mut Vec<(DeliveryId, WebhookId)>,
) -> StoreResult<Vec<StoreResult<Ingested>>> {
    let mut results = Vec::with_capacity(batch.len());
    for (i, new) in crate::in_write_order(batch) {
        match ingest_into(c, account, new, now, made) {
            Err(e) if !crate::is_refusal(&e) => return Err(e),
            result => results.push((i, result)),
        }
    }
    Ok(crate::in_batch_order(results))
}

/// The event an idempotency key already made: replayed if the request is the same, a
/// conflict if it differs; `None` if the key is new.
fn replay(c: &Connection, account: &AccountId, key: &str, hash: &str) -> StoreResult<Option<Ingested>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS}, e.request_hash FROM events e WHERE e.account_id = ?1 AND e.idempotency_key = ?2"
    ))?;
    let seen = stmt
        .query_row([account.as_str(), key], |r| Ok((rows::event(r, 0)?, r.get::<_, Option<String>>(7)?)))
        .optional()?;
    match seen {
        Some((_, seen_hash)) if seen_hash.as_deref() != Some(hash) => Err(Conflict::IdempotencyKeyReused.into()),
        Some((event, _)) => Ok(Some(Ingested::Replayed(event))),
        None => Ok(None),
    }
}

/// Emits an event the store derived itself (from a project or scan change), in the
/// caller's unit of work, with the same fan-out as an event a producer sent.
pub fn emit(
    c: &Connection,
    account: &AccountId,
    (event_type, data): (EventType, serde_json::Value),
    scope: EventScope,
    stamp: EventStamp,
) -> StoreResult<Event> {
    let new = NewEvent::derived((event_type, data), scope, stamp);
    Ok(ingest(c, account, new, stamp.timestamp)?.into_event())
}

/// The endpoints an event reaches, each with whether its delivery is held
/// (`scanhook_core::subscription::reaches` decides) and whether the endpoint is ordered.
fn matching_webhooks(c: &Connection, account: &AccountId, new: &NewEvent) -> StoreResult<Vec<(WebhookId, bool, bool)>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, events, projects, min_severity, active, disabled_reason IS NOT NULL, fifo_next IS NOT NULL
         FROM webhooks WHERE account_id = ?1",
    )?;
    let mut rows = stmt.query([account.as_str()])?;
    let mut matched = Vec::new();
    while let Some(row) = rows.next()? {
        let events: Vec<String> = serde_json::from_str(&row.get::<_, String>(1)?)?;
        let projects: Vec<String> = serde_json::from_str(&row.get::<_, String>(2)?)?;
        let id = WebhookId::from_trusted(row.get(0)?);
        let endpoint = Subscription {
            id: &id,
            events: &events,
            projects: &projects,
            min_severity: row.get::<_, Option<String>>(3)?.and_then(|s| Severity::parse(&s).ok()),
            active: row.get(4)?,
            disabled_by_failures: row.get(5)?,
        };
        if let Some(Held(held)) = reaches(&endpoint, &new.event_type, &new.scope) {
            matched.push((id, held, row.get(6)?));
        }
    }
    Ok(matched)
}

pub fn get(c: &Connection, account: &AccountId, id: &EventId) -> StoreResult<Event> {
    let mut stmt =
        c.prepare_cached(&format!("SELECT {EVENT_COLUMNS} FROM events e WHERE e.id = ?1 AND e.account_id = ?2"))?;
    Ok(stmt.query_row([id.as_str(), account.as_str()], |r| rows::event(r, 0))?)
}

pub fn list(c: &Connection, account: &AccountId, filter: EventFilter, page: Page) -> StoreResult<Paged<Event>> {
    let items = list_query(account, &filter, &page).rows(c, |r| rows::event(r, 0))?;
    Ok(rows::paged(items, page.limit, |e| e.id.to_string()))
}

pub(super) fn list_query(account: &AccountId, filter: &EventFilter, page: &Page) -> Query {
    Query::new(&format!("SELECT {EVENT_COLUMNS} FROM events e"), "e.account_id = ?", account.to_string())
        .and_some("e.project_id = ?", filter.project_id.as_ref().map(|p| p.to_string()))
        .and_some("e.type = ?", filter.event_type.as_ref().map(|t| t.to_string()))
        .and_some("e.timestamp >= ?", filter.since.map(ms))
        .and_some("e.timestamp < ?", filter.until.map(ms))
        .page("e.id", page)
}
