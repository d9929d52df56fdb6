//! Dashboard sessions and portal links: stored by token hash, read only while valid,
//! portal links used once by a guarded update.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};
use scanhook_core::{AccountId, ApiKeyId};

use super::rows::{ms, time};
use crate::model::{PortalLink, Session, limits_from_json, limits_to_json};
use crate::{StoreError, StoreResult};

/// How many ended rows one new session clears away.
const SWEEP: i64 = 100;

const COLUMNS: &str = "s.token_hash, s.account_id, s.key_id, s.is_admin, s.read_only, s.event_types, \
     s.created_at, s.idle_until, s.expires_at";

fn session(row: &Row) -> rusqlite::Result<Session> {
    Ok(Session {
        token_hash: row.get(0)?,
        account_id: AccountId::from_trusted(row.get(1)?),
        key_id: ApiKeyId::from_trusted(row.get(2)?),
        is_admin: row.get(3)?,
        read_only: row.get(4)?,
        event_types: limits_from_json(row.get(5)?),
        created_at: time(row.get(6)?),
        idle_until: time(row.get(7)?),
        expires_at: time(row.get(8)?),
    })
}

pub fn create(c: &Connection, s: &Session) -> StoreResult<()> {
    let now = ms(s.created_at);
    c.prepare_cached(
        "DELETE FROM sessions WHERE token_hash IN
         (SELECT token_hash FROM sessions WHERE expires_at <= ?1 OR idle_until <= ?1 LIMIT ?2)",
    )?
    .execute(params![now, SWEEP])?;
    c.prepare_cached(
        "DELETE FROM portal_links WHERE token_hash IN
         (SELECT token_hash FROM portal_links WHERE expires_at <= ?1 LIMIT ?2)",
    )?
    .execute(params![now, SWEEP])?;
    c.prepare_cached(
        "INSERT INTO sessions (token_hash, account_id, key_id, is_admin, read_only, event_types, created_at,
         idle_until, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        s.token_hash,
        s.account_id.as_str(),
        s.key_id.as_str(),
        s.is_admin,
        s.read_only,
        limits_to_json(&s.event_types),
        now,
        ms(s.idle_until),
        ms(s.expires_at),
    ])?;
    Ok(())
}

pub fn find(c: &Connection, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<Session>> {
    let sql =
        format!("SELECT {COLUMNS} FROM sessions s WHERE s.token_hash = ?1 AND s.idle_until > ?2 AND s.expires_at > ?2");
    Ok(c.prepare_cached(&sql)?.query_row(params![token_hash, ms(now)], session).optional()?)
}

pub fn touch(c: &Connection, token_hash: &str, now: DateTime<Utc>, idle_until: DateTime<Utc>) -> StoreResult<bool> {
    let changed = c
        .prepare_cached(
            "UPDATE sessions SET idle_until = MAX(idle_until, MIN(?3, expires_at))
             WHERE token_hash = ?1 AND idle_until > ?2 AND expires_at > ?2",
        )?
        .execute(params![token_hash, ms(now), ms(idle_until)])?;
    Ok(changed == 1)
}

pub fn delete(c: &Connection, token_hash: &str) -> StoreResult<()> {
    c.prepare_cached("DELETE FROM sessions WHERE token_hash = ?1")?.execute([token_hash])?;
    Ok(())
}

/// A conditional insert: an account that does not exist is [`StoreError::NotFound`], and
/// nothing is written.
pub fn create_link(c: &Connection, l: &PortalLink) -> StoreResult<()> {
    let added = c
        .prepare_cached(
            "INSERT INTO portal_links (token_hash, account_id, key_id, read_only, event_types, created_at, expires_at)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE EXISTS (SELECT 1 FROM accounts WHERE id = ?2)",
        )?
        .execute(params![
            l.token_hash,
            l.account_id.as_str(),
            l.key_id.as_str(),
            l.read_only,
            limits_to_json(&l.event_types),
            ms(l.created_at),
            ms(l.expires_at),
        ])?;
    if added == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// The guarded `UPDATE … WHERE used_at IS NULL` decides who wins; the session is written
/// only by the winner, in the same unit.
pub fn redeem(c: &Connection, link_hash: &str, mut s: Session, now: DateTime<Utc>) -> StoreResult<Option<Session>> {
    let link = c
        .prepare_cached(
            "UPDATE portal_links SET used_at = ?2
             WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2
             RETURNING account_id, key_id, read_only, event_types",
        )?
        .query_row(params![link_hash, ms(now)], |row| {
            Ok((
                AccountId::from_trusted(row.get(0)?),
                ApiKeyId::from_trusted(row.get(1)?),
                row.get::<_, bool>(2)?,
                limits_from_json(row.get(3)?),
            ))
        })
        .optional()?;
    let Some((account_id, key_id, read_only, event_types)) = link else {
        return Ok(None);
    };
    s.account_id = account_id;
    s.key_id = key_id;
    s.is_admin = false;
    s.read_only = read_only;
    s.event_types = event_types;
    create(c, &s)?;
    Ok(Some(s))
}
