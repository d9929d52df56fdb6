//! Accepting events (fan-out to deliveries happens here, in the same transaction) and
//! reading them back.

use chrono::{DateTime, Utc};
use scanhook_core::scan::Severity;
use scanhook_core::subscription::{Held, Subscription, reaches};
use scanhook_core::{AccountId, DeliveryId, EventId, EventType, WebhookId};

use super::query::Query;
use super::rows::{self, EVENT_COLUMNS, ms};
use super::{Tx, exec, opt_row_of, row_of, rows_of};
use crate::model::{Event, EventFilter, EventScope, EventStamp, Ingested, NewEvent, Page, Paged};
use crate::{Conflict, StoreError, StoreResult};

pub async fn ingest(c: &Tx<'_>, account: &AccountId, new: NewEvent, now: DateTime<Utc>) -> StoreResult<Ingested> {
    ingest_into(c, account, new, now, &mut Vec::new()).await
}

/// [`ingest`], adding the pending deliveries it made to `made`, each with its endpoint.
pub async fn ingest_into(
    c: &Tx<'_>,
    account: &AccountId,
    new: NewEvent,
    now: DateTime<Utc>,
    made: &mut Vec<(DeliveryId, WebhookId)>,
) -> StoreResult<Ingested> {
    if let Some((key, hash)) = &new.idempotency
        && let Some(seen) = replay(c, account, key, hash).await?
    {
        return Ok(seen);
    }

    let targets = match &new.target {
        Some(webhook) => {
            // Existence within the account; a targeted event reaches a disabled endpoint too.
            super::webhooks::exists(c, account, webhook).await?;
            vec![(webhook.clone(), false, false)]
        }
        None => matching_webhooks(c, account, &new).await?,
    };

    // Guarded by the key's unique index: a concurrent request with the same key waits for
    // the first one's transaction, then inserts nothing and replays it (READ COMMITTED:
    // the replay's query is a new statement, which sees the committed event).
    let (key, hash) = new.idempotency.clone().unzip();
    let count = i64::try_from(targets.len()).unwrap_or(i64::MAX);
    let inserted = exec(
        c,
        "INSERT INTO events (id, account_id, type, timestamp, data, target_webhook_id, delivery_count, idempotency_key,
             request_hash, project_id, trace_parent)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (account_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING",
        &[
            &new.id.as_str(),
            &account.as_str(),
            &new.event_type.as_str(),
            &ms(new.timestamp),
            &new.data,
            &new.target.as_ref().map(|t| t.as_str()),
            &count,
            &key,
            &hash,
            &new.scope.project.as_ref().map(|p| p.as_str()),
            &new.trace_parent,
        ],
    )
    .await?;
    if inserted == 0 {
        // Only an idempotency key can conflict, and the event it names exists.
        let (key, hash) = new.idempotency.as_ref().ok_or(StoreError::NotFound)?;
        return replay(c, account, key, hash).await?.ok_or(StoreError::NotFound);
    }

    if targets.iter().any(|(_, held, fifo)| !held && !fifo) {
        super::listen::announce(c).await?;
    }
    // An ordered endpoint's delivery takes the next place in its queue and waits its turn:
    // the places are drawn under the endpoints' row locks (`fifo.rs`), so their order is
    // the order in which the events commit.
    let ordered = targets.iter().any(|(_, _, fifo)| *fifo);
    if ordered {
        super::fifo::lock_account(c, account).await?;
    }
    let mut seqs = Vec::with_capacity(targets.len());
    for (webhook, _, fifo) in &targets {
        seqs.push(if *fifo { super::fifo::draw(c, webhook).await? } else { None });
    }
    // One statement for all of them, however many endpoints the event reaches. A held
    // delivery is not due until its endpoint is enabled again.
    let ids: Vec<DeliveryId> = targets.iter().map(|_| DeliveryId::generate()).collect();
    made.extend(
        ids.iter().zip(&targets).filter(|(_, (_, held, _))| !held).map(|(id, (w, _, _))| (id.clone(), w.clone())),
    );
    let ids: Vec<&str> = ids.iter().map(DeliveryId::as_str).collect();
    let webhooks: Vec<&str> = targets.iter().map(|(w, _, _)| w.as_str()).collect();
    let statuses: Vec<&str> = targets.iter().map(|(_, held, _)| if *held { "held" } else { "pending" }).collect();
    let due: Vec<Option<i64>> = targets
        .iter()
        .zip(&seqs)
        .map(|((_, held, _), seq)| (!held && seq.is_none()).then(|| ms(new.first_attempt_at)))
        .collect();
    if !targets.is_empty() {
        exec(
            c,
            "INSERT INTO deliveries (id, account_id, event_id, event_type, webhook_id, status, next_attempt_at,
                 created_at, updated_at, fifo_seq)
             SELECT d.id, $1, $2, $3, d.webhook_id, d.status, d.due, $4, $4, d.seq
             FROM UNNEST($5::TEXT[], $6::TEXT[], $7::TEXT[], $8::BIGINT[], $9::BIGINT[])
                 AS d(id, webhook_id, status, due, seq)",
            &[
                &account.as_str(),
                &new.id.as_str(),
                &new.event_type.as_str(),
                &ms(now),
                &ids,
                &webhooks,
                &statuses,
                &due,
                &seqs,
            ],
        )
        .await?;
    }
    for (webhook, _, _) in targets.iter().filter(|(_, _, fifo)| *fifo) {
        super::fifo::settle(c, webhook, new.first_attempt_at).await?;
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

/// Stores a batch in the caller's transaction (`Store::ingest_events`): each event on its
/// own, a refusal that event's result, any other error the whole batch's.
pub async fn ingest_batch(
    c: &Tx<'_>,
    account: &AccountId,
    batch: Vec<NewEvent>,
    now: DateTime<Utc>,
    made: &mut Vec<(DeliveryId, WebhookId)>,
) -> StoreResult<Vec<StoreResult<Ingested>>> {
    let mut results = Vec::with_capacity(batch.len());
    for (i, new) in crate::in_write_order(batch) {
        match ingest_into(c, account, new, now, made).await {
            Err(e) if !crate::is_refusal(&e) => return Err(e),
            result => results.push((i, result)),
        }
    }
    Ok(crate::in_batch_order(results))
}

/// The event an idempotency key already made: replayed if the request is the same, a
/// conflict if it differs; `None` if the key is new.
async fn replay(c: &Tx<'_>, account: &AccountId, key: &str, hash: &str) -> StoreResult<Option<Ingested>> {
    let seen = opt_row_of(
        c,
        &format!(
            "SELECT {EVENT_COLUMNS}, e.request_hash FROM events e WHERE e.account_id = $1 AND e.idempotency_key = $2"
        ),
        &[&account.as_str(), &key],
    )
    .await?;
    let Some(row) = seen else { return Ok(None) };
    let seen_hash: Option<String> = row.try_get(7)?;
    if seen_hash.as_deref() != Some(hash) {
        return Err(Conflict::IdempotencyKeyReused.into());
    }
    Ok(Some(Ingested::Replayed(rows::event(&row, 0)?)))
}

/// Emits an event the store derived itself (from a project or scan change), in the
/// caller's unit of work, with the same fan-out as an event a producer sent.
pub async fn emit(
    c: &Tx<'_>,
    account: &AccountId,
    (event_type, data): (EventType, serde_json::Value),
    scope: EventScope,
    stamp: EventStamp,
) -> StoreResult<Event> {
    let new = NewEvent::derived((event_type, data), scope, stamp);
    Ok(ingest(c, account, new, stamp.timestamp).await?.into_event())
}

/// The endpoints an event reaches, each with whether its delivery is held
/// (`scanhook_core::subscription::reaches` decides). Held in key-share mode until the unit
/// commits: an endpoint deleted meanwhile goes after this event's deliveries were made
/// (and takes them along), instead of failing them for a missing endpoint. Other ingests
/// and patches are not held up. With each, whether the endpoint is ordered.
async fn matching_webhooks(
    c: &Tx<'_>,
    account: &AccountId,
    new: &NewEvent,
) -> StoreResult<Vec<(WebhookId, bool, bool)>> {
    let rows = rows_of(
        c,
        "SELECT id, events, projects, min_severity, active, disabled_reason IS NOT NULL, fifo_next IS NOT NULL
         FROM webhooks WHERE account_id = $1 FOR KEY SHARE",
        &[&account.as_str()],
    )
    .await?;
    let mut matched = Vec::new();
    for row in rows {
        let events: Vec<String> = rows::json(&row, 1)?;
        let projects: Vec<String> = rows::json(&row, 2)?;
        let id = WebhookId::from_trusted(row.try_get(0)?);
        let endpoint = Subscription {
            id: &id,
            events: &events,
            projects: &projects,
            min_severity: row.try_get::<_, Option<String>>(3)?.and_then(|s| Severity::parse(&s).ok()),
            active: row.try_get(4)?,
            disabled_by_failures: row.try_get(5)?,
        };
        if let Some(Held(held)) = reaches(&endpoint, &new.event_type, &new.scope) {
            matched.push((id, held, row.try_get(6)?));
        }
    }
    Ok(matched)
}

pub async fn get(c: &Tx<'_>, account: &AccountId, id: &EventId) -> StoreResult<Event> {
    let row = row_of(
        c,
        &format!("SELECT {EVENT_COLUMNS} FROM events e WHERE e.id = $1 AND e.account_id = $2"),
        &[&id.as_str(), &account.as_str()],
    )
    .await?;
    rows::event(&row, 0)
}

pub async fn list(c: &Tx<'_>, account: &AccountId, filter: EventFilter, page: Page) -> StoreResult<Paged<Event>> {
    let items = Query::new(&format!("SELECT {EVENT_COLUMNS} FROM events e"), "e.account_id = ?", account.to_string())
        .and_some("e.project_id = ?", filter.project_id.as_ref().map(|p| p.to_string()))
        .and_some("e.type = ?", filter.event_type.as_ref().map(|t| t.to_string()))
        .and_some("e.timestamp >= ?", filter.since.map(ms))
        .and_some("e.timestamp < ?", filter.until.map(ms))
        .page("e.id", &page)
        .rows(c, |r| rows::event(r, 0))
        .await?;
    Ok(rows::paged(items, page.limit, |e| e.id.to_string()))
}
