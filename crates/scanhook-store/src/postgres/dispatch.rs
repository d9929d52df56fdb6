//! The engine's side: leasing due deliveries and recording what happened to them.

use chrono::{DateTime, Utc};
use scanhook_core::{AccountId, DeliveryId, EventId, WebhookId, opevents};

use super::rows::{self, EVENT_COLUMNS, WEBHOOK_COLUMNS, int, ms, time};
use super::{Tx, exec, opt_row_of, row_of, rows_of};
use crate::model::{Claim, ClaimLimits, Claimed, Completion, EndpointAction, EventStamp, Lease, Outcome};
use crate::{SecretBox, StoreResult, fair};

pub async fn claim(
    c: &Tx<'_>,
    key: &SecretBox,
    owner: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u32,
    limits: ClaimLimits,
) -> StoreResult<Claim> {
    // The due rows are locked as they are found, and rows another node is leasing right
    // now are skipped (SKIP LOCKED), so no delivery is leased to two owners and claimers
    // never wait for each other. Those the fair share passes over stay locked only until
    // this unit commits, unchanged. A lease moves next_attempt_at to the lease's end, so a
    // delivery whose worker died is due again exactly when its lease expires.
    // `due_after` and `reopened` are not used, and `read_all` is never set: SKIP LOCKED
    // passes over rows other nodes are claiming at this moment, so a claim that reads to
    // the end has not seen every due row, and what it passed over cannot be told apart.
    let skip: Vec<&str> = limits.skip.iter().map(WebhookId::as_str).collect();
    let rows = rows_of(
        c,
        &format!(
            "SELECT {}
             FROM deliveries d
             JOIN events e ON e.id = d.event_id
             JOIN webhooks w ON w.id = d.webhook_id
             WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND d.webhook_id <> ALL($3)
             ORDER BY d.next_attempt_at LIMIT $2
             FOR UPDATE OF d SKIP LOCKED",
            claim_columns()
        ),
        &[&ms(now), &i64::from(limit), &skip],
    )
    .await?;
    let due = rows.iter().map(|r| claimed(r, key)).collect::<StoreResult<Vec<_>>>()?;
    lease(c, owner, due, now, lease_until, limit, limits).await
}

/// What a claim reads of each delivery: itself, its event, its endpoint and the endpoint's
/// rate bucket ([`claimed`] reads a row of them).
fn claim_columns() -> String {
    format!(
        "d.id, d.attempt_count, d.round_attempts, d.claims_since_outcome, {EVENT_COLUMNS}, {WEBHOOK_COLUMNS}, w.rate_tat, e.trace_parent"
    )
}

fn claimed(r: &tokio_postgres::Row, key: &SecretBox) -> StoreResult<(Claimed, Option<i64>)> {
    let item = Claimed {
        delivery_id: DeliveryId::from_trusted(r.try_get(0)?),
        attempt_count: int(r, 1)?,
        round_attempts: int(r, 2)?,
        expired_leases: int(r, 3)?,
        event: rows::event(r, 4)?,
        webhook: rows::webhook(r, 11, key)?,
        trace_parent: r.try_get(32)?,
    };
    Ok((item, r.try_get::<_, Option<i64>>(31)?))
}

/// Leases, of the deliveries `ids` an ingest just made in this unit of work, those due now
/// that the fair share takes (`Store::ingest_event_leased`).
pub async fn claim_new(
    c: &Tx<'_>,
    key: &SecretBox,
    made: Vec<(DeliveryId, WebhookId)>,
    now: DateTime<Utc>,
    lease: Lease,
) -> StoreResult<Claim> {
    let (ids, passed_over) = fair::offered(made, &lease.limits.skip);
    if ids.is_empty() {
        return Ok(Claim { passed_over, ..Claim::default() });
    }
    let ids: Vec<&str> = ids.iter().map(DeliveryId::as_str).collect();
    let rows = rows_of(
        c,
        &format!(
            "SELECT {}
             FROM deliveries d
             JOIN events e ON e.id = d.event_id
             JOIN webhooks w ON w.id = d.webhook_id
             WHERE d.id = ANY($1) AND d.status = 'pending' AND d.next_attempt_at <= $2
             ORDER BY d.id",
            claim_columns()
        ),
        &[&ids, &ms(now)],
    )
    .await?;
    let due = rows.iter().map(|r| claimed(r, key)).collect::<StoreResult<Vec<_>>>()?;
    let claim = self::lease(c, &lease.owner, due, now, lease.until, lease.limit, lease.limits).await?;
    Ok(Claim { passed_over, ..claim })
}

/// Leases what the fair share takes of `due` (in the order given) and draws the rate
/// buckets it used, each write guarded by the value read.
async fn lease(
    c: &Tx<'_>,
    owner: &str,
    due: Vec<(Claimed, Option<i64>)>,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u32,
    limits: ClaimLimits,
) -> StoreResult<Claim> {
    let (mut items, buckets) = fair::choose(due, limits.busy, now, limit);
    let mut empty = Vec::new();
    for (webhook, bucket) in buckets {
        // Guarded by the value read: if another node drew meanwhile, this changes nothing
        // and none of the endpoint's deliveries is leased this time. An endpoint row locked
        // right now (another claim drawing, an outcome being recorded) is skipped the same
        // way rather than waited for: this unit already holds delivery rows, and `complete`
        // locks an endpoint before its deliveries, so waiting could deadlock.
        if let Some(drawn) = bucket.drawn
            && exec(
                c,
                "UPDATE webhooks w SET rate_tat = $1
                 FROM (SELECT id FROM webhooks WHERE id = $2 AND rate_tat IS NOT DISTINCT FROM $3
                       FOR NO KEY UPDATE SKIP LOCKED) free
                 WHERE w.id = free.id",
                &[&drawn, &webhook.as_str(), &bucket.read],
            )
            .await?
                == 0
        {
            items.retain(|item| item.webhook.id != webhook);
        }
        if let Some(at) = bucket.empty_until {
            empty.push((webhook, fair::time(at)));
        }
    }
    if !items.is_empty() {
        let ids: Vec<&str> = items.iter().map(|item| item.delivery_id.as_str()).collect();
        exec(
            c,
            "UPDATE deliveries SET lease_owner = $2, lease_until = $3, next_attempt_at = $3,
                 claims_since_outcome = claims_since_outcome + 1
             WHERE id = ANY($1)",
            &[&ids, &owner, &ms(lease_until)],
        )
        .await?;
    }
    Ok(Claim { items, empty, passed_over: 0, read_all: false })
}

/// Records one outcome (in a savepoint of its own: `PostgresStore::complete`). Every write
/// is guarded as in `sqlite/dispatch.rs`: a delivery or endpoint deleted meanwhile, or a
/// lease taken over, changes nothing. `ordered`: its endpoint is ordered, and the batch
/// holds the endpoint's row lock ([`super::fifo::lock_ordered`]).
pub async fn complete(
    c: &Tx<'_>,
    owner: &str,
    done: Completion,
    ordered: bool,
    disable_after: u32,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let (status_code, note, error) = match &done.attempt {
        Some(a) => (a.status_code, None, a.error.as_deref()),
        None => (None, done.note.as_deref(), done.note.as_deref()),
    };
    if let Some(a) = &done.attempt {
        // Only while the delivery exists: deleting its endpoint deletes it too.
        exec(
            c,
            "INSERT INTO attempts (id, delivery_id, number, started_at, latency_ms, status_code, error,
                 request_headers, request_body, response_headers, response_body, webhook_id, failed)
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, d.webhook_id, $12
             FROM deliveries d WHERE d.id = $2
             ON CONFLICT (id) DO NOTHING",
            &[
                &a.id.as_str(),
                &done.delivery_id.as_str(),
                &i64::from(a.number),
                &ms(a.started_at),
                &rows::big(a.latency_ms),
                &a.status_code.map(i64::from),
                &a.error,
                &serde_json::to_string(&a.request_headers)?,
                &a.request_body,
                &serde_json::to_string(&a.response_headers)?,
                &a.response_body,
                &a.failed(),
            ],
        )
        .await?;
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
        exec(
            c,
            "UPDATE deliveries SET next_attempt_at = $1, lease_owner = NULL, lease_until = NULL, updated_at = $2,
                 claims_since_outcome = 0
             WHERE id = $3 AND lease_owner = $4",
            &[&next_at, &ms(now), &done.delivery_id.as_str(), &owner],
        )
        .await?;
    } else {
        let moved = exec(
            c,
            "UPDATE deliveries SET status = $1, next_attempt_at = $2, attempt_count = attempt_count + $3,
                 round_attempts = round_attempts + $3, last_status_code = $4, last_error = $5,
                 lease_owner = NULL, lease_until = NULL, updated_at = $6, claims_since_outcome = 0
             WHERE id = $7 AND lease_owner = $8",
            &[
                &status,
                &next_at,
                &made,
                &status_code.map(i64::from),
                &note,
                &ms(now),
                &done.delivery_id.as_str(),
                &owner,
            ],
        )
        .await?;
        // Only the unit that made it dead tells (a lease taken over changed nothing here).
        if moved == 1 && matches!(done.outcome, Outcome::Dead { .. }) {
            dead(c, &done.delivery_id, status_code, error, now).await?;
        }
    }

    let webhook = done.webhook_id.as_str();
    match done.outcome {
        Outcome::Succeeded => {
            exec(
                c,
                "UPDATE webhooks SET consecutive_failures = 0 WHERE id = $1 AND consecutive_failures <> 0",
                &[&webhook],
            )
            .await?;
        }
        Outcome::Dead { counts_as_failure: true } => {
            exec(c, "UPDATE webhooks SET consecutive_failures = consecutive_failures + 1 WHERE id = $1", &[&webhook])
                .await?;
            if disable_after > 0 {
                let reason = scanhook_core::webhook::auto_disable_reason(disable_after, error);
                let disabled = exec(
                    c,
                    "UPDATE webhooks SET active = FALSE, disabled_reason = $1, disabled_at = $2, updated_at = $2
                     WHERE id = $3 AND active AND consecutive_failures >= $4",
                    &[&reason, &ms(now), &webhook, &i64::from(disable_after)],
                )
                .await?;
                if disabled == 1 {
                    self::disabled(c, &done.webhook_id, &reason, now).await?;
                }
            }
        }
        Outcome::RetryAt(_) | Outcome::Dead { counts_as_failure: false } | Outcome::Held | Outcome::Wait(_) => {}
    }
    match done.endpoint {
        Some(EndpointAction::PauseUntil(until)) => {
            exec(
                c,
                "UPDATE webhooks SET retry_not_before = $1
                 WHERE id = $2 AND (retry_not_before IS NULL OR retry_not_before < $1)",
                &[&ms(until), &webhook],
            )
            .await?;
        }
        Some(EndpointAction::Disable(reason)) => {
            let disabled = exec(
                c,
                "UPDATE webhooks SET active = FALSE, disabled_reason = $1, disabled_at = $2, updated_at = $2
                 WHERE id = $3 AND active",
                &[&reason, &ms(now), &webhook],
            )
            .await?;
            if disabled == 1 {
                self::disabled(c, &done.webhook_id, &reason, now).await?;
            }
        }
        None => {}
    }
    // The head moved on (or only its time did: then this changes nothing).
    if ordered {
        super::fifo::settle(c, &done.webhook_id, now).await?;
    }
    Ok(())
}

/// Emits `delivery.dead` for a delivery this unit made dead (core decides whether: never
/// for an operational event's own delivery), in the same unit of work.
async fn dead(
    c: &Tx<'_>,
    id: &DeliveryId,
    last_status: Option<u16>,
    last_error: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let Some(row) = opt_row_of(
        c,
        "SELECT d.account_id, d.event_id, d.event_type, d.attempt_count, d.webhook_id, w.url
         FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = $1",
        &[&id.as_str()],
    )
    .await?
    else {
        return Ok(());
    };
    let account = AccountId::from_trusted(row.try_get(0)?);
    let event = EventId::from_trusted(row.try_get(1)?);
    let event_type: String = row.try_get(2)?;
    let webhook = WebhookId::from_trusted(row.try_get(4)?);
    let url: String = row.try_get(5)?;
    let endpoint = opevents::Endpoint { id: &webhook, url: &url };
    let dead = opevents::Dead {
        delivery: id,
        event: &event,
        event_type: &event_type,
        attempts: int(&row, 3)?,
        last_status,
        last_error,
    };
    if let Some(payload) = opevents::delivery_dead(endpoint, dead, now) {
        super::events::emit(c, &account, payload, opevents::about(&webhook), EventStamp::at(now)).await?;
    }
    Ok(())
}

/// Emits `endpoint.disabled` for an endpoint this unit disabled, in the same unit of work.
async fn disabled(c: &Tx<'_>, webhook: &WebhookId, reason: &str, now: DateTime<Utc>) -> StoreResult<()> {
    let Some(row) = opt_row_of(c, "SELECT account_id, url FROM webhooks WHERE id = $1", &[&webhook.as_str()]).await?
    else {
        return Ok(());
    };
    let account = AccountId::from_trusted(row.try_get(0)?);
    let url: String = row.try_get(1)?;
    let payload = opevents::endpoint_disabled(opevents::Endpoint { id: webhook, url: &url }, reason, now);
    super::events::emit(c, &account, payload, opevents::about(webhook), EventStamp::at(now)).await?;
    Ok(())
}

pub async fn set_health(
    c: &Tx<'_>,
    webhook: &WebhookId,
    to: opevents::Health,
    window: &opevents::Summary,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let Some(row) = opt_row_of(
        c,
        "UPDATE webhooks SET health = $1 WHERE id = $2 AND health = $3 RETURNING account_id, url",
        &[&to.as_str(), &webhook.as_str(), &to.other().as_str()],
    )
    .await?
    else {
        return Ok(false);
    };
    let account = AccountId::from_trusted(row.try_get(0)?);
    let url: String = row.try_get(1)?;
    let payload = opevents::endpoint_health(opevents::Endpoint { id: webhook, url: &url }, to, window, now);
    super::events::emit(c, &account, payload, opevents::about(webhook), EventStamp::at(now)).await?;
    Ok(true)
}

pub async fn release(c: &Tx<'_>, owner: &str, ids: &[DeliveryId], now: DateTime<Utc>) -> StoreResult<()> {
    // A release takes its claim back: giving work back at shutdown is not a crash.
    let ids: Vec<&str> = ids.iter().map(DeliveryId::as_str).collect();
    let released = exec(
        c,
        "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL, next_attempt_at = $3,
             claims_since_outcome = GREATEST(claims_since_outcome - 1, 0)
         WHERE id = ANY($1) AND lease_owner = $2",
        &[&ids, &owner, &ms(now)],
    )
    .await?;
    // Given back at shutdown: due now, for the nodes that go on.
    if released > 0 {
        super::listen::announce(c).await?;
    }
    Ok(())
}

pub async fn renew_leases(c: &Tx<'_>, owner: &str, ids: &[DeliveryId], until: DateTime<Utc>) -> StoreResult<u64> {
    let ids: Vec<&str> = ids.iter().map(DeliveryId::as_str).collect();
    exec(
        c,
        // Rows are locked in the order `complete` locks them (endpoint, then delivery), so
        // that the two never wait on each other in a circle.
        "UPDATE deliveries d SET lease_until = $3, next_attempt_at = $3
         FROM (SELECT id FROM deliveries WHERE id = ANY($1) AND lease_owner = $2 AND status = 'pending'
               ORDER BY webhook_id, id FOR UPDATE) mine
         WHERE d.id = mine.id",
        &[&ids, &owner, &ms(until)],
    )
    .await
}

/// [`crate::Store::queue_depth`]: each count a range of a status index, in one statement.
pub async fn queue_depth(c: &Tx<'_>, now: DateTime<Utc>) -> StoreResult<crate::model::QueueDepth> {
    let row = row_of(
        c,
        "SELECT
            (SELECT COUNT(*) FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $1),
            (SELECT COUNT(*) FROM deliveries WHERE status = 'pending' AND next_attempt_at > $1),
            (SELECT COUNT(*) FROM deliveries WHERE status = 'held'),
            (SELECT COUNT(*) FROM deliveries WHERE status = 'dead'),
            (SELECT COUNT(*) FROM webhooks WHERE NOT active AND disabled_at IS NOT NULL),
            (SELECT COUNT(*) FROM webhooks WHERE NOT active AND disabled_at IS NULL)",
        &[&ms(now)],
    )
    .await?;
    let n = |i: usize| -> StoreResult<u64> { Ok(row.try_get::<_, i64>(i)?.max(0) as u64) };
    Ok(crate::model::QueueDepth {
        due: n(0)?,
        scheduled: n(1)?,
        held: n(2)?,
        dead: n(3)?,
        disabled_by_failures: n(4)?,
        disabled_by_user: n(5)?,
    })
}

/// The earliest time a delivery not in `skip` is due, after `after`.
pub async fn next_due_at(
    c: &Tx<'_>,
    skip: &[WebhookId],
    after: Option<DateTime<Utc>>,
) -> StoreResult<Option<DateTime<Utc>>> {
    let skip: Vec<&str> = skip.iter().map(WebhookId::as_str).collect();
    let row = row_of(
        c,
        "SELECT MIN(next_attempt_at) FROM deliveries
         WHERE status = 'pending' AND next_attempt_at > $2 AND webhook_id <> ALL($1)",
        &[&skip, &after.map_or(i64::MIN, ms)],
    )
    .await?;
    Ok(row.try_get::<_, Option<i64>>(0)?.map(time))
}
