//! Dashboard sessions and portal links, as in `sqlite/sessions.rs`: a portal link is used
//! by one guarded `UPDATE … WHERE used_at IS NULL`; a concurrent redeem waits for the
//! winner's row lock, then finds the link used and changes nothing.

use chrono::{DateTime, Utc};
use scanhook_core::{AccountId, ApiKeyId};
use tokio_postgres::Row;

use super::rows::{ms, time};
use super::{Tx, exec, opt_row_of};
use crate::model::{PortalLink, Session, limits_from_json, limits_to_json};
use crate::{StoreError, StoreResult};

/// How many ended rows one new session clears away.
const SWEEP: i64 = 100;

const COLUMNS: &str = "s.token_hash, s.account_id, s.key_id, s.is_admin, s.read_only, s.event_types, \
     s.created_at, s.idle_until, s.expires_at";

fn session(row: &Row) -> StoreResult<Session> {
    Ok(Session {
        token_hash: row.try_get(0)?,
        account_id: AccountId::from_trusted(row.try_get(1)?),
        key_id: ApiKeyId::from_trusted(row.try_get(2)?),
        is_admin: row.try_get(3)?,
        read_only: row.try_get(4)?,
        event_types: limits_from_json(row.try_get(5)?),
        created_at: time(row.try_get(6)?),
        idle_until: time(row.try_get(7)?),
        expires_at: time(row.try_get(8)?),
    })
}

pub async fn create(c: &Tx<'_>, s: &Session) -> StoreResult<()> {
    let now = ms(s.created_at);
    exec(
        c,
        "DELETE FROM sessions WHERE token_hash IN
         (SELECT token_hash FROM sessions WHERE expires_at <= $1 OR idle_until <= $1 LIMIT $2)",
        &[&now, &SWEEP],
    )
    .await?;
    exec(
        c,
        "DELETE FROM portal_links WHERE token_hash IN
         (SELECT token_hash FROM portal_links WHERE expires_at <= $1 LIMIT $2)",
        &[&now, &SWEEP],
    )
    .await?;
    exec(
        c,
        "INSERT INTO sessions (token_hash, account_id, key_id, is_admin, read_only, event_types, created_at,
         idle_until, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &s.token_hash,
            &s.account_id.as_str(),
            &s.key_id.as_str(),
            &s.is_admin,
            &s.read_only,
            &limits_to_json(&s.event_types),
            &now,
            &ms(s.idle_until),
            &ms(s.expires_at),
        ],
    )
    .await?;
    Ok(())
}

pub async fn find(c: &Tx<'_>, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<Session>> {
    let sql =
        format!("SELECT {COLUMNS} FROM sessions s WHERE s.token_hash = $1 AND s.idle_until > $2 AND s.expires_at > $2");
    opt_row_of(c, &sql, &[&token_hash, &ms(now)]).await?.map(|row| session(&row)).transpose()
}

pub async fn touch(c: &Tx<'_>, token_hash: &str, now: DateTime<Utc>, idle_until: DateTime<Utc>) -> StoreResult<bool> {
    let changed = exec(
        c,
        "UPDATE sessions SET idle_until = GREATEST(idle_until, LEAST($3, expires_at))
         WHERE token_hash = $1 AND idle_until > $2 AND expires_at > $2",
        &[&token_hash, &ms(now), &ms(idle_until)],
    )
    .await?;
    Ok(changed == 1)
}

pub async fn delete(c: &Tx<'_>, token_hash: &str) -> StoreResult<()> {
    exec(c, "DELETE FROM sessions WHERE token_hash = $1", &[&token_hash]).await?;
    Ok(())
}

/// A conditional insert, as in SQLite: an unknown account is [`StoreError::NotFound`].
pub async fn create_link(c: &Tx<'_>, l: &PortalLink) -> StoreResult<()> {
    let added = exec(
        c,
        "INSERT INTO portal_links (token_hash, account_id, key_id, read_only, event_types, created_at, expires_at)
         SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS (SELECT 1 FROM accounts WHERE id = $2)",
        &[
            &l.token_hash,
            &l.account_id.as_str(),
            &l.key_id.as_str(),
            &l.read_only,
            &limits_to_json(&l.event_types),
            &ms(l.created_at),
            &ms(l.expires_at),
        ],
    )
    .await?;
    if added == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub async fn redeem(c: &Tx<'_>, link_hash: &str, mut s: Session, now: DateTime<Utc>) -> StoreResult<Option<Session>> {
    let Some(row) = opt_row_of(
        c,
        "UPDATE portal_links SET used_at = $2
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
         RETURNING account_id, key_id, read_only, event_types",
        &[&link_hash, &ms(now)],
    )
    .await?
    else {
        return Ok(None);
    };
    s.account_id = AccountId::from_trusted(row.try_get(0)?);
    s.key_id = ApiKeyId::from_trusted(row.try_get(1)?);
    s.is_admin = false;
    s.read_only = row.try_get(2)?;
    s.event_types = limits_from_json(row.try_get(3)?);
    create(c, &s).await?;
    Ok(Some(s))
}
