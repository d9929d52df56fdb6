//! Secrets at rest in SQLite: the [`SecretBox`] as SQL functions registered on every
//! connection, so the statements that read and write secret columns say which ones are
//! sealed (`scanhook_seal(?6)`, `scanhook_open(w.secret)`), and the row mappers and the
//! queries that join webhooks stay as they are.
//!
//! - `scanhook_seal(text)` / `scanhook_open(text)`: a whole value (a secret); NULL stays NULL.
//! - `scanhook_seal_format(json)` / `scanhook_open_format(json)`: the `bearer_token` inside a
//!   stored `DeliveryFormat` document.
//! - `scanhook_seal_headers(json, marked)` / `scanhook_open_headers(json)`: the values of the
//!   sensitive extra headers (`ExtraHeaders::is_sensitive`; `marked` is the JSON list of
//!   names the user marked). A value that happens to look sealed is sealed too, so opening
//!   never mistakes plaintext for ciphertext.
//! - `scanhook_redact_logged(json)`: attempt-log headers of older versions, redacted
//!   (`webhook::redact_logged_headers`), for migration 0009.

use rusqlite::Connection;
use rusqlite::functions::{Context, FunctionFlags};
use scanhook_core::webhook::redact_logged_headers;

use crate::crypto::{KEY_CHECK, SecretBox};
use crate::{StoreError, StoreResult};

type FnResult<T> = rusqlite::Result<T>;

fn fail(e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::UserFunctionError(Box::new(e))
}

fn text_arg(ctx: &Context, i: usize) -> FnResult<Option<String>> {
    ctx.get::<Option<String>>(i)
}

/// Registers the functions on `conn`: all of them on the writer, only the openers on the
/// read-only connections.
pub fn register(conn: &Connection, key: &SecretBox, writer: bool) -> rusqlite::Result<()> {
    let pure = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    // A seal draws a random nonce: not deterministic.
    let random = FunctionFlags::SQLITE_UTF8;
    let k = key.clone();
    conn.create_scalar_function("scanhook_open", 1, pure, move |ctx| {
        text_arg(ctx, 0)?.map(|s| k.open(&s).map_err(fail)).transpose()
    })?;
    let k = key.clone();
    conn.create_scalar_function("scanhook_open_format", 1, pure, move |ctx| {
        text_arg(ctx, 0)?.map(|s| open_format(&k, &s)).transpose()
    })?;
    let k = key.clone();
    conn.create_scalar_function("scanhook_open_headers", 1, pure, move |ctx| {
        text_arg(ctx, 0)?.map(|s| open_headers(&k, &s)).transpose()
    })?;
    if !writer {
        return Ok(());
    }
    let k = key.clone();
    conn.create_scalar_function("scanhook_seal", 1, random, move |ctx| Ok(text_arg(ctx, 0)?.map(|s| k.seal(&s))))?;
    let k = key.clone();
    conn.create_scalar_function("scanhook_seal_format", 1, random, move |ctx| {
        text_arg(ctx, 0)?.map(|s| seal_format(&k, &s)).transpose()
    })?;
    let k = key.clone();
    conn.create_scalar_function("scanhook_seal_headers", 2, random, move |ctx| {
        let marked = text_arg(ctx, 1)?.unwrap_or_else(|| "[]".into());
        text_arg(ctx, 0)?.map(|s| seal_headers(&k, &s, &marked)).transpose()
    })?;
    conn.create_scalar_function("scanhook_redact_logged", 1, pure, |ctx| {
        text_arg(ctx, 0)?
            .map(|s| {
                let headers: Vec<(String, String)> = serde_json::from_str(&s).map_err(fail)?;
                serde_json::to_string(&redact_logged_headers(headers)).map_err(fail)
            })
            .transpose()
    })?;
    Ok(())
}

fn seal_format(key: &SecretBox, raw: &str) -> FnResult<String> {
    key.seal_format(raw).map_err(rusqlite::Error::UserFunctionError)
}

fn open_format(key: &SecretBox, raw: &str) -> FnResult<String> {
    key.open_format(raw).map_err(rusqlite::Error::UserFunctionError)
}

fn seal_headers(key: &SecretBox, raw: &str, marked: &str) -> FnResult<String> {
    key.seal_headers(raw, marked).map_err(rusqlite::Error::UserFunctionError)
}

fn open_headers(key: &SecretBox, raw: &str) -> FnResult<String> {
    key.open_headers(raw).map_err(rusqlite::Error::UserFunctionError)
}

/// Whether the database already has a key check (migration 0009 ran).
pub fn has_key_check(conn: &Connection) -> StoreResult<bool> {
    let n: u32 =
        conn.query_row("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'", [], |r| r.get(0))?;
    Ok(n > 0)
}

/// Stops with a clear error when `key` is not the key this database's secrets were sealed
/// with (migration 0009 stores [`KEY_CHECK`] sealed in `meta`).
pub fn check_key(conn: &Connection, key: &SecretBox) -> StoreResult<()> {
    let sealed: String = conn.query_row("SELECT value FROM meta WHERE name = 'key_check'", [], |r| r.get(0))?;
    match key.open(&sealed) {
        Ok(plain) if plain == KEY_CHECK => Ok(()),
        _ => Err(StoreError::Backend(
            "the encryption key is not the one this database's secrets were encrypted with: start with the \
             SCANHOOK_ENCRYPTION_KEY (or the data directory's encryption.key) it was created with"
                .into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn conn(key: &SecretBox) -> Connection {
        let c = Connection::open_in_memory().unwrap();
        register(&c, key, true).unwrap();
        c
    }

    fn one(c: &Connection, sql: &str) -> String {
        c.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn whole_values_round_trip() {
        let c = conn(&SecretBox::random());
        let sealed = one(&c, "SELECT scanhook_seal('whsec_plain')");
        assert!(!sealed.contains("plain"));
        assert_eq!(one(&c, &format!("SELECT scanhook_open('{sealed}')")), "whsec_plain");
        let null: Option<String> = c.query_row("SELECT scanhook_seal(NULL)", [], |r| r.get(0)).unwrap();
        assert!(null.is_none());
    }

    #[test]
    fn only_the_bearer_token_of_a_format_is_sealed() {
        let c = conn(&SecretBox::random());
        let sealed = one(&c, r#"SELECT scanhook_seal_format('{"bearer_token":"t0k","kind":"slack"}')"#);
        assert!(!sealed.contains("t0k") && sealed.contains(r#""kind":"slack""#), "{sealed}");
        let opened = one(&c, &format!("SELECT scanhook_open_format('{sealed}')"));
        assert_eq!(opened, r#"{"bearer_token":"t0k","kind":"slack"}"#);
    }

    #[test]
    fn sensitive_header_values_are_sealed() {
        let c = conn(&SecretBox::random());
        // Plain values long enough that random ciphertext never contains them by chance.
        let raw = r#"{"X-Api-Key":"key-value-one","X-Team":"blue","X-Tenant":"tenant-value-two","X-Odd":"enc:v1:looks-sealed"}"#;
        let sealed = one(&c, &format!(r#"SELECT scanhook_seal_headers('{raw}', '["x-tenant"]')"#));
        for plain in ["key-value-one", "tenant-value-two", "looks-sealed"] {
            assert!(!sealed.contains(plain), "{sealed}");
        }
        assert!(sealed.contains(r#""X-Team":"blue""#), "{sealed}");
        let opened: BTreeMap<String, String> =
            serde_json::from_str(&one(&c, &format!("SELECT scanhook_open_headers('{sealed}')"))).unwrap();
        assert_eq!(opened, serde_json::from_str::<BTreeMap<String, String>>(raw).unwrap());
    }

    #[test]
    fn another_key_is_refused_with_a_clear_message() {
        let key = SecretBox::random();
        let c = conn(&key);
        c.execute_batch("CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)").unwrap();
        c.execute("INSERT INTO meta VALUES ('key_check', ?1)", [key.seal(KEY_CHECK)]).unwrap();
        assert!(check_key(&c, &key).is_ok());
        let err = check_key(&c, &SecretBox::random()).unwrap_err().to_string();
        assert!(err.contains("SCANHOOK_ENCRYPTION_KEY"), "{err}");
    }
}
