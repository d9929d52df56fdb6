//! Webhook endpoints. Secrets are sealed here before they are written (the same text
//! `sqlite/sealed.rs` writes) and opened by `rows::webhook`.

use chrono::{DateTime, Utc};
use scanhook_core::{AccountId, WebhookId, WebhookSecret};

use super::query::Query;
use super::rows::{self, WEBHOOK_COLUMNS, ms};
use super::{Tx, exec, row_of};
use crate::model::{Missed, NewWebhook, Page, Paged, Webhook, WebhookPatch};
use crate::{Conflict, SecretBox, StoreError, StoreResult};

fn sealing(e: crate::crypto::DocumentError) -> StoreError {
    StoreError::Backend(e)
}

pub async fn create(
    c: &Tx<'_>,
    key: &SecretBox,
    account: &AccountId,
    new: NewWebhook,
    limit: u32,
    now: DateTime<Utc>,
) -> StoreResult<Webhook> {
    // The account's row lock first: concurrent creates for one account queue here, and
    // each counts the webhooks of those before it (READ COMMITTED: the count below is a
    // new statement, which sees what they committed). NO KEY UPDATE: rows that only
    // reference the account (events, keys) are not held up by it.
    row_of(c, "SELECT id FROM accounts WHERE id = $1 FOR NO KEY UPDATE", &[&account.as_str()]).await?;
    let marked = serde_json::to_string(&new.headers.1)?;
    let headers = key.seal_headers(&serde_json::to_string(&new.headers.0)?, &marked).map_err(sealing)?;
    let format = key.seal_format(&serde_json::to_string(&new.format)?).map_err(sealing)?;
    let created = exec(
        c,
        "INSERT INTO webhooks (id, account_id, url, description, events, secret, headers, active, created_at, updated_at,
             projects, min_severity, format, sensitive_headers, fifo_next)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11, $12, $13, CASE WHEN $15 THEN 0 END
         WHERE (SELECT COUNT(*) FROM webhooks WHERE account_id = $2) < $14",
        &[
            &new.id.as_str(),
            &account.as_str(),
            &new.url.as_str(),
            &new.description,
            &serde_json::to_string(&new.events)?,
            &key.seal(new.secret.expose()),
            &headers,
            &new.active,
            &ms(now),
            &serde_json::to_string(&new.projects)?,
            &new.min_severity.map(|s| s.as_str()),
            &format,
            &marked,
            &i64::from(limit),
            &new.format.ordering.is_fifo(),
        ],
    )
    .await?;
    if created == 0 {
        return Err(Conflict::WebhookLimit { limit }.into());
    }
    get(c, key, account, &new.id).await
}

pub async fn get(c: &Tx<'_>, key: &SecretBox, account: &AccountId, id: &WebhookId) -> StoreResult<Webhook> {
    let row = row_of(
        c,
        &format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks w WHERE w.id = $1 AND w.account_id = $2"),
        &[&id.as_str(), &account.as_str()],
    )
    .await?;
    rows::webhook(&row, 0, key)
}

/// Whether the endpoint exists in the account (NotFound if not), without opening secrets;
/// it then stays until the unit commits (key-share lock: a deletion waits).
pub async fn exists(c: &Tx<'_>, account: &AccountId, id: &WebhookId) -> StoreResult<()> {
    row_of(
        c,
        "SELECT 1 FROM webhooks WHERE id = $1 AND account_id = $2 FOR KEY SHARE",
        &[&id.as_str(), &account.as_str()],
    )
    .await?;
    Ok(())
}

pub async fn list(c: &Tx<'_>, key: &SecretBox, account: &AccountId, page: Page) -> StoreResult<Paged<Webhook>> {
    let items =
        Query::new(&format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks w"), "w.account_id = ?", account.to_string())
            .page("w.id", &page)
            .rows(c, |r| rows::webhook(r, 0, key))
            .await?;
    Ok(rows::paged(items, page.limit, |w| w.id.to_string()))
}

pub async fn update(
    c: &Tx<'_>,
    key: &SecretBox,
    account: &AccountId,
    id: &WebhookId,
    patch: WebhookPatch,
    now: DateTime<Utc>,
) -> StoreResult<Webhook> {
    // A patch is read, merged and written: the row is held from the read on, so that two
    // concurrent patches of different fields both land (the second merges onto the first).
    row_of(
        c,
        "SELECT 1 FROM webhooks WHERE id = $1 AND account_id = $2 FOR NO KEY UPDATE",
        &[&id.as_str(), &account.as_str()],
    )
    .await?;
    let current = get(c, key, account, id).await?;
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
    let marked = serde_json::to_string(&headers.1)?;
    let sealed_headers = key.seal_headers(&serde_json::to_string(&headers.0)?, &marked).map_err(sealing)?;
    let sealed_format = key.seal_format(&serde_json::to_string(&format)?).map_err(sealing)?;
    let secret = patch.secret.as_ref().map(|s| key.seal(WebhookSecret::expose(s)));
    exec(
        c,
        "UPDATE webhooks SET url = $1, description = $2, events = $3, headers = $4,
             active = $5, updated_at = $6,
             disabled_reason = CASE WHEN $7 THEN NULL ELSE disabled_reason END,
             disabled_at = CASE WHEN $7 THEN NULL ELSE disabled_at END,
             consecutive_failures = CASE WHEN $7 AND $5 THEN 0 ELSE consecutive_failures END,
             projects = $10, min_severity = $11, format = $12, sensitive_headers = $13,
             secret = COALESCE($14, secret),
             previous_secret = CASE WHEN $14::TEXT IS NULL THEN previous_secret END,
             previous_secret_expires_at = CASE WHEN $14::TEXT IS NULL THEN previous_secret_expires_at END
         WHERE id = $8 AND account_id = $9",
        &[
            &url.as_str(),
            &description,
            &serde_json::to_string(&events)?,
            &sealed_headers,
            &active,
            &ms(now),
            &deciding,
            &id.as_str(),
            &account.as_str(),
            &serde_json::to_string(&projects)?,
            &min_severity.map(|s| s.as_str()),
            &sealed_format,
            &marked,
            &secret,
        ],
    )
    .await?;
    super::fifo::set_ordered(c, id, ordering.is_fifo(), now).await?;
    if deciding {
        settle_held(c, id, &Missed::GiveUp(crate::model::NOT_SENT_WHILE_DISABLED.into()), now).await?;
    }
    get(c, key, account, id).await
}

/// Enables the endpoint, clearing an automatic disable, and settles its held deliveries.
pub async fn enable(
    c: &Tx<'_>,
    key: &SecretBox,
    account: &AccountId,
    id: &WebhookId,
    missed: Missed,
    now: DateTime<Utc>,
) -> StoreResult<Webhook> {
    exists(c, account, id).await?;
    exec(
        c,
        "UPDATE webhooks SET active = TRUE, disabled_reason = NULL, disabled_at = NULL, consecutive_failures = 0,
             updated_at = $1
         WHERE id = $2 AND account_id = $3",
        &[&ms(now), &id.as_str(), &account.as_str()],
    )
    .await?;
    settle_held(c, id, &missed, now).await?;
    get(c, key, account, id).await
}

/// Moves the deliveries held for an endpoint on: pending, due in the order they were made
/// (their creation times are past, so all are due now, oldest first; an ordered
/// endpoint's wait their turn in their places, `fifo::settle`), or dead. The caller holds
/// the endpoint's row.
async fn settle_held(c: &Tx<'_>, id: &WebhookId, missed: &Missed, now: DateTime<Utc>) -> StoreResult<()> {
    match missed {
        Missed::Replay => {
            let replayed = exec(
                c,
                "UPDATE deliveries SET status = 'pending', round_attempts = 0, updated_at = $1,
                     next_attempt_at = CASE WHEN fifo_seq IS NULL THEN created_at END
                 WHERE webhook_id = $2 AND status = 'held'",
                &[&ms(now), &id.as_str()],
            )
            .await?;
            if replayed > 0 {
                super::listen::announce(c).await?;
            }
            replayed
        }
        Missed::GiveUp(note) => {
            exec(
                c,
                "UPDATE deliveries SET status = 'dead', last_error = $3, updated_at = $1
                 WHERE webhook_id = $2 AND status = 'held'",
                &[&ms(now), &id.as_str(), note],
            )
            .await?
        }
    };
    super::fifo::settle(c, id, now).await?;
    Ok(())
}

/// Replaces the signing secret; the old one keeps signing (beside the new) until
/// `grace_until`. Only the latest two are ever in use.
pub async fn rotate_secret(
    c: &Tx<'_>,
    key: &SecretBox,
    account: &AccountId,
    id: &WebhookId,
    secret: WebhookSecret,
    grace_until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<Webhook> {
    exists(c, account, id).await?;
    exec(
        c,
        "UPDATE webhooks SET previous_secret = secret, previous_secret_expires_at = $1, secret = $2, updated_at = $3
         WHERE id = $4 AND account_id = $5",
        &[&ms(grace_until), &key.seal(secret.expose()), &ms(now), &id.as_str(), &account.as_str()],
    )
    .await?;
    get(c, key, account, id).await
}

pub async fn delete(c: &Tx<'_>, account: &AccountId, id: &WebhookId) -> StoreResult<()> {
    let n =
        exec(c, "DELETE FROM webhooks WHERE id = $1 AND account_id = $2", &[&id.as_str(), &account.as_str()]).await?;
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}
