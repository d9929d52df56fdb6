//! The engine's side: leasing due deliveries and recording what happened to them.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use scanhook_core::{AccountId, DeliveryId, EventId, WebhookId, opevents};

use super::rows::{self, EVENT_COLUMNS, WEBHOOK_COLUMNS, ms, time};
use crate::StoreResult;
use crate::fair;
use crate::model::{Claim, ClaimLimits, Claimed, Completion, EndpointAction, EventStamp, Lease, Outcome};

pub fn claim(
    c: &Connection,
    owner: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u32,
    limits: ClaimLimits,
) -> StoreResult<Claim> {
    // The writer runs one job at a time inside its transaction, so select-then-update is
    // atomic here; PostgreSQL does the same with FOR UPDATE SKIP LOCKED. A lease moves
    // next_attempt_at to the lease's end: leased rows sort after due ones in the index, and
    // a delivery whose worker died is due again exactly when its lease expires.
    let after = limits.due_after.map_or(i64::MIN, ms);
    // The reopened endpoints' deliveries due up to `due_after` first: they are the oldest.
    // Oldest first through the due index, within `due_after`, so the rows of endpoints
    // still passed over are read only as far as these are interleaved with them.
    let reopened: Vec<&WebhookId> = limits.reopened.iter().filter(|w| !limits.skip.contains(w)).collect();
    let mut due = Vec::new();
    if !reopened.is_empty() {
        let mut earlier = c.prepare_cached(&format!(
            "SELECT {}
             FROM deliveries d INDEXED BY deliveries_due
             JOIN events e ON e.id = d.event_id
             JOIN webhooks w ON w.id = d.webhook_id
             WHERE d.status = 'pending' AND d.next_attempt_at <= ?1
                 AND d.webhook_id IN (SELECT value FROM json_each(?2))
             ORDER BY d.next_attempt_at LIMIT ?3",
            claim_columns()
        ))?;
        let rows = earlier.query_map(params![after.min(ms(now)), serde_json::to_string(&reopened)?, limit], claimed)?;
        due.extend(rows.collect::<Result<Vec<_>, _>>()?);
    }
    // Then what became due after it, in the room left.
    let room = limit.saturating_sub(due.len() as u32);
    let mut read_all = false;
    if room > 0 {
        let mut select = c.prepare_cached(&format!(
            "SELECT {}
             FROM deliveries d
             JOIN events e ON e.id = d.event_id
             JOIN webhooks w ON w.id = d.webhook_id
             WHERE d.status = 'pending' AND d.next_attempt_at <= ?1 AND d.next_attempt_at > ?4
                 AND d.webhook_id NOT IN (SELECT value FROM json_each(?3))
             ORDER BY d.next_attempt_at LIMIT ?2",
            claim_columns()
        ))?;
        let skip = serde_json::to_string(&limits.skip)?;
        let later = select.query_map(params![ms(now), room, skip, after], claimed)?.collect::<Result<Vec<_>, _>>()?;
        read_all = later.len() < room as usize;
        due.extend(later);
    }
    let claim = lease(c, owner, due, now, lease_until, limit, limits)?;
    Ok(Claim { read_all: read_all && claim.items.len() < limit as usize, ..claim })
}

/// What a claim reads of each delivery: itself, its event, its endpoint and the endpoint's
/// rate bucket ([`claimed`] reads a row of them).
fn claim_columns() -> String {
    format!(
        "d.id, d.attempt_count, d.round_attempts, d.claims_since_outcome, {EVENT_COLUMNS}, {WEBHOOK_COLUMNS}, w.rate_tat, e.trace_parent"
    )
}

fn claimed(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Claimed, Option<i64>)> {
    let item = Claimed {
        delivery_id: DeliveryId::from_trusted(r.get(0)?),
        attempt_count: r.get(1)?,
        round_attempts: r.get(2)?,
        expired_leases: r.get(3)?,
        event: rows::event(r, 4)?,
        webhook: rows::webhook(r, 11)?,
        trace_parent: r.get(32)?,
    };
    Ok((item, r.get::<_, Option<i64>>(31)?))
}

/// Leases, of the deliveries `ids` an ingest just made in this unit of work, those due now
/// that the fair share takes (`Store::ingest_event_leased`): the claim the dispatcher would
/// make next, without its own unit of work.
pub fn claim_new(
    c: &Connection,
    made: Vec<(DeliveryId, WebhookId)>,
    now: DateTime<Utc>,
    lease: Lease,
) -> StoreResult<Claim> {
    let (ids, passed_over) = fair::offered(made, &lease.limits.skip);
    if ids.is_empty() {
        return Ok(Claim { passed_over, ..Claim::default() });
    }
    let mut select = c.prepare_cached(&format!(
        "SELECT {}
         FROM deliveries d
         JOIN events e ON e.id = d.event_id
         JOIN webhooks w ON w.id = d.webhook_id
         WHERE d.id IN (SELECT value FROM json_each(?1)) AND d.status = 'pending' AND d.next_attempt_at <= ?2
         ORDER BY d.id",
        claim_columns()
    ))?;
    let ids = serde_json::to_string(&ids)?;
    let due = select.query_map(params![ids, ms(now)], claimed)?.collect::<Result<Vec<_>, _>>()?;
    let claim = self::lease(c, &lease.owner, due, now, lease.until, lease.limit, lease.limits)?;
    Ok(Claim { passed_over, ..claim })
}

/// Leases what the fair share takes of `due` (in the order given) and draws the rate
/// buckets it used, each write guarded by the value read.
fn lease(
    c: &Connection,
    owner: &str,
    due: Vec<(Claimed, Option<i64>)>,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u32,
    limits: ClaimLimits,
) -> StoreResult<Claim> {
    let (mut items, buckets) = fair::choose(due, limits.busy, now, limit);
    let mut draw = c.prepare_cached("UPDATE webhooks SET rate_tat = ?1 WHERE id = ?2 AND rate_tat IS ?3")?;
    let mut empty = Vec::new();
    for (webhook, bucket) in buckets {
        if let Some(drawn) = bucket.drawn
            && draw.execute(params![drawn, webhook.as_str(), bucket.read])? == 0
        {
            items.retain(|item| item.webhook.id != webhook);
        }
        if let Some(at) = bucket.empty_until {
            empty.push((webhook, fair::time(at)));
        }
    }
    let mut lease = c.prepare_cached(
        "UPDATE deliveries SET lease_owner = ?1, lease_until = ?2, next_attempt_at = ?2,
             claims_since_outcome = claims_since_outcome + 1
         WHERE id = ?3",
    )?;
    for item in &items {
        lease.execute(params![owner, ms(lease_until), item.delivery_id.as_str()])?;
    }
    Ok(Claim { items, empty, passed_over: 0, read_all: false })
}

/// Records one outcome. Every write is guarded so that nothing about this one row (its
/// delivery or endpoint deleted meanwhile, its lease taken over) can make it fail: a
/// failure here would roll back the whole group commit it shares (see `writer`).
pub fn complete(
    c: &Connection,
    owner: &str,
    done: Completion,
    disable_after: u32,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    // The attempt's error is stored once, on the attempt; the delivery's `last_error` is
    // read through to it (`rows::DELIVERY_COLUMNS`) and holds only notes of no attempt.
    let (status_code, note, error) = match &done.attempt {
        Some(a) => (a.status_code, None, a.error.as_deref()),
        None => (None, done.note.as_deref(), done.note.as_deref()),
    };
    if let Some(a) = &done.attempt {
        // Only while the delivery exists: deleting its endpoint deletes it too.
        c.prepare_cached(
            "INSERT INTO attempts (id, delivery_id, number, started_at, latency_ms, status_code, error,
                 request_headers, request_body, response_headers, response_body, webhook_id, failed)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, d.webhook_id, ?12
             FROM deliveries d WHERE d.id = ?2
             ON CONFLICT (id) DO NOTHING",
        )?
        .execute(params![
            a.id.as_str(),
            done.delivery_id.as_str(),
            a.number,
            ms(a.started_at),
            a.latency_ms,
            a.status_code,
            a.error,
            serde_json::to_string(&a.request_headers)?,
            a.request_body,
            serde_json::to_string(&a.response_headers)?,
            a.response_body,
            a.failed(),
        ])?;
    }
    let (status, next_at) = match done.outcome {
        Outcome::Succeeded => ("succeeded", None),
        Outcome::RetryAt(at) => ("pending", Some(ms(at))),
        Outcome::Dead { .. } => ("dead", None),
        Outcome::Held => ("held", None),
        Outcome::Wait(at) => ("pending", Some(ms(at))),
    };
    let made = i64::from(done.attempt.is_some());
    // Guarded by the lease: if it expired and another worker took the delivery over, that
    // worker's result stands (the attempt above is still logged).
    if let Outcome::Wait(_) = done.outcome {
        // Nothing happened to the delivery itself: only when it is due moves.
        c.prepare_cached(
            "UPDATE deliveries SET next_attempt_at = ?1, lease_owner = NULL, lease_until = NULL, updated_at = ?2,
                 claims_since_outcome = 0
             WHERE id = ?3 AND lease_owner = ?4",
        )?
        .execute(params![next_at, ms(now), done.delivery_id.as_str(), owner])?;
    } else {
        let moved = c
            .prepare_cached(
                "UPDATE deliveries SET status = ?1, next_attempt_at = ?2, attempt_count = attempt_count + ?3,
                 round_attempts = round_attempts + ?3, last_status_code = ?4, last_error = ?5,
                 lease_owner = NULL, lease_until = NULL, updated_at = ?6, claims_since_outcome = 0
             WHERE id = ?7 AND lease_owner = ?8",
            )?
            .execute(params![status, next_at, made, status_code, note, ms(now), done.delivery_id.as_str(), owner])?;
        // Only the unit that made it dead tells (a lease taken over changed nothing here).
        if moved == 1 && matches!(done.outcome, Outcome::Dead { .. }) {
            dead(c, &done.delivery_id, status_code, error, now)?;
        }
    }

    let webhook = done.webhook_id.as_str();
    match done.outcome {
        Outcome::Succeeded => {
            c.prepare_cached(
                "UPDATE webhooks SET consecutive_failures = 0 WHERE id = ?1 AND consecutive_failures <> 0",
            )?
            .execute([webhook])?;
        }
        Outcome::Dead { counts_as_failure: true } => {
            c.prepare_cached("UPDATE webhooks SET consecutive_failures = consecutive_failures + 1 WHERE id = ?1")?
                .execute([webhook])?;
            if disable_after > 0 {
                let reason = scanhook_core::webhook::auto_disable_reason(disable_after, error);
                let disabled = c
                    .prepare_cached(
                        "UPDATE webhooks SET active = 0, disabled_reason = ?1, disabled_at = ?2, updated_at = ?2
                         WHERE id = ?3 AND active = 1 AND consecutive_failures >= ?4",
                    )?
                    .execute(params![reason, ms(now), webhook, disable_after])?;
                if disabled == 1 {
                    self::disabled(c, &done.webhook_id, &reason, now)?;
                }
            }
        }
        Outcome::RetryAt(_) | Outcome::Dead { counts_as_failure: false } | Outcome::Held | Outcome::Wait(_) => {}
    }
    match done.endpoint {
        Some(EndpointAction::PauseUntil(until)) => {
            c.prepare_cached(
                "UPDATE webhooks SET retry_not_before = ?1
                 WHERE id = ?2 AND (retry_not_before IS NULL OR retry_not_before < ?1)",
            )?
            .execute(params![ms(until), webhook])?;
        }
        Some(EndpointAction::Disable(reason)) => {
            let disabled = c
                .prepare_cached(
                    "UPDATE webhooks SET active = 0, disabled_reason = ?1, disabled_at = ?2, updated_at = ?2
                     WHERE id = ?3 AND active = 1",
                )?
                .execute(params![reason, ms(now), webhook])?;
            if disabled == 1 {
                self::disabled(c, &done.webhook_id, &reason, now)?;
            }
        }
        None => {}
    }
    // The head of an ordered endpoint moved on (or only its time did: then this changes nothing).
    if super::fifo::is_fifo(c, &done.webhook_id)? {
        super::fifo::settle(c, &done.webhook_id, now)?;
    }
    Ok(())
}

/// Emits `delivery.dead` for a delivery this unit made dead (core decides whether: never
/// for an operational event's own delivery), in the same unit of work.
fn dead(
    c: &Connection,
    id: &DeliveryId,
    last_status: Option<u16>,
    last_error: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let row = c
        .prepare_cached(
            "SELECT d.account_id, d.event_id, d.event_type, d.attempt_count, d.webhook_id, w.url
             FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = ?1",
        )?
        .query_row([id.as_str()], |r| {
            Ok((
                AccountId::from_trusted(r.get(0)?),
                EventId::from_trusted(r.get(1)?),
                r.get::<_, String>(2)?,
                r.get::<_, u32>(3)?,
                WebhookId::from_trusted(r.get(4)?),
                r.get::<_, String>(5)?,
            ))
        })
        .optional()?;
    let Some((account, event, event_type, attempts, webhook, url)) = row else { return Ok(()) };
    let endpoint = opevents::Endpoint { id: &webhook, url: &url };
    let dead =
        opevents::Dead { delivery: id, event: &event, event_type: &event_type, attempts, last_status, last_error };
    if let Some(payload) = opevents::delivery_dead(endpoint, dead, now) {
        super::events::emit(c, &account, payload, opevents::about(&webhook), EventStamp::at(now))?;
    }
    Ok(())
}

/// Emits `endpoint.disabled` for an endpoint this unit disabled, in the same unit of work.
fn disabled(c: &Connection, webhook: &WebhookId, reason: &str, now: DateTime<Utc>) -> StoreResult<()> {
    let row = c
        .prepare_cached("SELECT account_id, url FROM webhooks WHERE id = ?1")?
        .query_row([webhook.as_str()], |r| Ok((AccountId::from_trusted(r.get(0)?), r.get::<_, String>(1)?)))
        .optional()?;
    let Some((account, url)) = row else { return Ok(()) };
    let payload = opevents::endpoint_disabled(opevents::Endpoint { id: webhook, url: &url }, reason, now);
    super::events::emit(c, &account, payload, opevents::about(webhook), EventStamp::at(now))?;
    Ok(())
}

pub fn set_health(
    c: &Connection,
    webhook: &WebhookId,
    to: opevents::Health,
    window: &opevents::Summary,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let row = c
        .prepare_cached("UPDATE webhooks SET health = ?1 WHERE id = ?2 AND health = ?3 RETURNING account_id, url")?
        .query_row(params![to.as_str(), webhook.as_str(), to.other().as_str()], |r| {
            Ok((AccountId::from_trusted(r.get(0)?), r.get::<_, String>(1)?))
        })
        .optional()?;
    let Some((account, url)) = row else { return Ok(false) };
    let payload = opevents::endpoint_health(opevents::Endpoint { id: webhook, url: &url }, to, window, now);
    super::events::emit(c, &account, payload, opevents::about(webhook), EventStamp::at(now))?;
    Ok(true)
}

pub fn release(c: &Connection, owner: &str, ids: &[DeliveryId], now: DateTime<Utc>) -> StoreResult<()> {
    // A release takes its claim back: giving work back at shutdown is not a crash.
    let mut stmt = c.prepare_cached(
        "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL, next_attempt_at = ?3,
             claims_since_outcome = MAX(claims_since_outcome - 1, 0)
         WHERE id = ?1 AND lease_owner = ?2",
    )?;
    for id in ids {
        stmt.execute(params![id.as_str(), owner, ms(now)])?;
    }
    Ok(())
}

pub fn renew_leases(c: &Connection, owner: &str, ids: &[DeliveryId], until: DateTime<Utc>) -> StoreResult<u64> {
    let mut stmt = c.prepare_cached(
        "UPDATE deliveries SET lease_until = ?3, next_attempt_at = ?3
         WHERE id = ?1 AND lease_owner = ?2 AND status = 'pending'",
    )?;
    let mut renewed = 0;
    for id in ids {
        renewed += stmt.execute(params![id.as_str(), owner, ms(until)])? as u64;
    }
    Ok(renewed)
}

/// [`crate::Store::queue_depth`]: each count a range of a status index.
pub fn queue_depth(c: &Connection, now: DateTime<Utc>) -> StoreResult<crate::model::QueueDepth> {
    let count = |sql: &str, now: Option<i64>| -> StoreResult<u64> {
        let n: i64 = match now {
            Some(now) => c.prepare_cached(sql)?.query_row([now], |r| r.get(0))?,
            None => c.prepare_cached(sql)?.query_row([], |r| r.get(0))?,
        };
        Ok(n.max(0) as u64)
    };
    let pending = "SELECT COUNT(*) FROM deliveries WHERE status = 'pending' AND next_attempt_at";
    Ok(crate::model::QueueDepth {
        due: count(&format!("{pending} <= ?1"), Some(ms(now)))?,
        scheduled: count(&format!("{pending} > ?1"), Some(ms(now)))?,
        held: count("SELECT COUNT(*) FROM deliveries WHERE status = 'held'", None)?,
        dead: count("SELECT COUNT(*) FROM deliveries WHERE status = 'dead'", None)?,
        disabled_by_failures: count(
            "SELECT COUNT(*) FROM webhooks WHERE active = 0 AND disabled_at IS NOT NULL",
            None,
        )?,
        disabled_by_user: count("SELECT COUNT(*) FROM webhooks WHERE active = 0 AND disabled_at IS NULL", None)?,
    })
}

/// The earliest time a delivery not in `skip` is due, after `after` (see
/// [`ClaimLimits::due_after`]).
pub fn next_due_at(
    c: &Connection,
    skip: &[WebhookId],
    after: Option<DateTime<Utc>>,
) -> StoreResult<Option<DateTime<Utc>>> {
    let at: Option<i64> = c
        .prepare_cached(
            "SELECT next_attempt_at FROM deliveries
             WHERE status = 'pending' AND next_attempt_at > ?2
                 AND webhook_id NOT IN (SELECT value FROM json_each(?1))
             ORDER BY next_attempt_at LIMIT 1",
        )?
        .query_row(params![serde_json::to_string(skip)?, after.map_or(i64::MIN, ms)], |r| r.get(0))
        .optional()?;
    Ok(at.map(time))
}
