//! Webhook endpoints.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use scanhook_core::{AccountId, WebhookId, WebhookSecret};

use super::query::Query;
use super::rows::{self, WEBHOOK_COLUMNS, ms};
use crate::model::{Missed, NewWebhook, Page, Paged, Webhook, WebhookPatch};
use crate::{Conflict, StoreError, StoreResult};

pub fn create(
    c: &Connection,
    account: &AccountId,
    new: NewWebhook,
    limit: u32,
    now: DateTime<Utc>,
) -> StoreResult<Webhook> {
    // Guarded: the row is written only while the account is under its limit, so the
    // check and the insert are one statement (PostgreSQL also takes the account's row lock
    // first, so that concurrent creates count each other).
    let created = c.execute(
        "INSERT INTO webhooks (id, account_id, url, description, events, secret, headers, active, created_at, updated_at,
             projects, min_severity, format, sensitive_headers, fifo_next)
         SELECT ?1, ?2, ?3, ?4, ?5, scanhook_seal(?6), scanhook_seal_headers(?7, ?13), ?8, ?9, ?9, ?10, ?11,
             scanhook_seal_format(?12), ?13, CASE WHEN ?15 THEN 0 END
         WHERE (SELECT COUNT(*) FROM webhooks WHERE account_id = ?2) < ?14",
        params![
            new.id.as_str(),
            account.as_str(),
            new.url.as_str(),
            new.description,
            serde_json::to_string(&new.events)?,
            new.secret.expose(),
            serde_json::to_string(&new.headers.0)?,
            new.active,
            ms(now),
            serde_json::to_string(&new.projects)?,
            new.min_severity.map(|s| s.as_str()),
            serde_json::to_string(&new.format)?,
            serde_json::to_string(&new.headers.1)?,
            limit,
            new.format.ordering.is_fifo(),
        ],
    )?;
    if created == 0 {
        return Err(Conflict::WebhookLimit { limit }.into());
    }
    get(c, account, &new.id)
}

pub fn get(c: &Connection, account: &AccountId, id: &WebhookId) -> StoreResult<Webhook> {
    let mut stmt =
        c.prepare_cached(&format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks w WHERE w.id = ?1 AND w.account_id = ?2"))?;
    Ok(stmt.query_row([id.as_str(), account.as_str()], |r| rows::webhook(r, 0))?)
}

pub fn list(c: &Connection, account: &AccountId, page: Page) -> StoreResult<Paged<Webhook>> {
    let items = list_query(account, &page).rows(c, |r| rows::webhook(r, 0))?;
    Ok(rows::paged(items, page.limit, |w| w.id.to_string()))
}

pub(super) fn list_query(account: &AccountId, page: &Page) -> Query {
    Query::new(&format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks w"), "w.account_id = ?", account.to_string())
        .page("w.id", page)
}

pub fn update(
    c: &Connection,
    account: &AccountId,
    id: &WebhookId,
    patch: WebhookPatch,
    now: DateTime<Utc>,
) -> StoreResult<Webhook> {
    let current = get(c, account, id)?;
    let url = patch.url.unwrap_or(current.url);
    let description = patch.description.unwrap_or(current.description);
    let events = patch.events.unwrap_or(current.events);
    let headers = patch.headers.unwrap_or(current.headers);
    // Setting `active` either way is the user's decision, which replaces scanhook's
    // automatic disable (and its held deliveries: `settle_held`).
    let deciding = patch.active.is_some();
    let active = patch.active.unwrap_or(current.active);
    let projects = patch.projects.unwrap_or(current.projects);
    let min_severity = patch.min_severity.unwrap_or(current.min_severity);
    let format = patch.format.unwrap_or(current.format);
    let ordering = format.ordering;
    c.execute(
        "UPDATE webhooks SET url = ?1, description = ?2, events = ?3, headers = scanhook_seal_headers(?4, ?13),
             active = ?5, updated_at = ?6,
             disabled_reason = CASE WHEN ?7 THEN NULL ELSE disabled_reason END,
             disabled_at = CASE WHEN ?7 THEN NULL ELSE disabled_at END,
             consecutive_failures = CASE WHEN ?7 AND ?5 THEN 0 ELSE consecutive_failures END,
             projects = ?10, min_severity = ?11, format = scanhook_seal_format(?12), sensitive_headers = ?13,
             secret = COALESCE(scanhook_seal(?14), secret),
             previous_secret = CASE WHEN ?14 IS NULL THEN previous_secret END,
             previous_secret_expires_at = CASE WHEN ?14 IS NULL THEN previous_secret_expires_at END
         WHERE id = ?8 AND account_id = ?9",
        params![
            url.as_str(),
            description,
            serde_json::to_string(&events)?,
            serde_json::to_string(&headers.0)?,
            active,
            ms(now),
            deciding,
            id.as_str(),
            account.as_str(),
            serde_json::to_string(&projects)?,
            min_severity.map(|s| s.as_str()),
            serde_json::to_string(&format)?,
            serde_json::to_string(&headers.1)?,
            patch.secret.as_ref().map(WebhookSecret::expose),
        ],
    )?;
    super::fifo::set_ordered(c, id, ordering.is_fifo(), now)?;
    if deciding {
        settle_held(c, id, &Missed::GiveUp(crate::model::NOT_SENT_WHILE_DISABLED.into()), now)?;
    }
    get(c, account, id)
}

/// Enables the endpoint, clearing an automatic disable, and settles its held deliveries.
pub fn enable(
    c: &Connection,
    account: &AccountId,
    id: &WebhookId,
    missed: Missed,
    now: DateTime<Utc>,
) -> StoreResult<Webhook> {
    get(c, account, id)?;
    c.execute(
        "UPDATE webhooks SET active = 1, disabled_reason = NULL, disabled_at = NULL, consecutive_failures = 0,
             updated_at = ?1
         WHERE id = ?2 AND account_id = ?3",
        params![ms(now), id.as_str(), account.as_str()],
    )?;
    settle_held(c, id, &missed, now)?;
    get(c, account, id)
}

/// Moves the deliveries held for an endpoint on: pending, due in the order they were made
/// (their creation times are past, so all are due now, oldest first; an ordered
/// endpoint's wait their turn in their places, `fifo::settle`), or dead.
fn settle_held(c: &Connection, id: &WebhookId, missed: &Missed, now: DateTime<Utc>) -> StoreResult<()> {
    match missed {
        Missed::Replay => c.execute(
            "UPDATE deliveries SET status = 'pending', round_attempts = 0, updated_at = ?1,
                 next_attempt_at = CASE WHEN fifo_seq IS NULL THEN created_at END
             WHERE webhook_id = ?2 AND status = 'held'",
            params![ms(now), id.as_str()],
        )?,
        Missed::GiveUp(note) => c.execute(
            "UPDATE deliveries SET status = 'dead', last_error = ?3, updated_at = ?1
             WHERE webhook_id = ?2 AND status = 'held'",
            params![ms(now), id.as_str(), note],
        )?,
    };
    super::fifo::settle(c, id, now)?;
    Ok(())
}

/// Replaces the signing secret; the old one keeps signing (beside the new) until
/// `grace_until`. A rotation within the grace period of the last one drops that one's
/// old secret: only the latest two are ever in use.
pub fn rotate_secret(
    c: &Connection,
    account: &AccountId,
    id: &WebhookId,
    secret: WebhookSecret,
    grace_until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<Webhook> {
    get(c, account, id)?;
    c.execute(
        "UPDATE webhooks SET previous_secret = secret, previous_secret_expires_at = ?1, secret = scanhook_seal(?2),
             updated_at = ?3
         WHERE id = ?4 AND account_id = ?5",
        params![ms(grace_until), secret.expose(), ms(now), id.as_str(), account.as_str()],
    )?;
    get(c, account, id)
}

pub fn delete(c: &Connection, account: &AccountId, id: &WebhookId) -> StoreResult<()> {
    let n = c.execute("DELETE FROM webhooks WHERE id = ?1 AND account_id = ?2", [id.as_str(), account.as_str()])?;
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}
