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

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::Connection;
use rusqlite::functions::{Context, FunctionFlags};
use scanhook_core::ExtraHeaders;
use scanhook_core::webhook::redact_logged_headers;
use serde_json::Value;

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
    map_token(raw, |token| Ok(key.seal(token)))
}

fn open_format(key: &SecretBox, raw: &str) -> FnResult<String> {
    map_token(raw, |token| key.open(token).map_err(fail))
}

fn map_token(raw: &str, f: impl Fn(&str) -> FnResult<String>) -> FnResult<String> {
    let mut doc: Value = serde_json::from_str(raw).map_err(fail)?;
    if let Some(Value::String(token)) = doc.get_mut("bearer_token") {
        *token = f(token)?;
    }
    serde_json::to_string(&doc).map_err(fail)
}

fn seal_headers(key: &SecretBox, raw: &str, marked: &str) -> FnResult<String> {
    let headers: BTreeMap<String, String> = serde_json::from_str(raw).map_err(fail)?;
    let marked: BTreeSet<String> = serde_json::from_str(marked).map_err(fail)?;
    let rules = ExtraHeaders(BTreeMap::new(), marked);
    let sealed: BTreeMap<String, String> = headers
        .into_iter()
        .map(|(name, value)| {
            let seal = rules.is_sensitive(&name) || SecretBox::is_sealed(&value);
            let value = if seal { key.seal(&value) } else { value };
            (name, value)
        })
        .collect();
    serde_json::to_string(&sealed).map_err(fail)
}

fn open_headers(key: &SecretBox, raw: &str) -> FnResult<String> {
    let mut headers: BTreeMap<String, String> = serde_json::from_str(raw).map_err(fail)?;
    for value in headers.values_mut() {
        if SecretBox::is_sealed(value) {
            *value = key.open(value).map_err(fail)?;
        }
    }
    serde_json::to_string(&headers).map_err(fail)
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
