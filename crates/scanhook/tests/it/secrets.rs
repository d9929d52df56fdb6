//! Credentials never come back and never rest in plaintext: the attempt log and webhook
//! reads redact the bearer token and sensitive header values; the database holds them
//! (and endpoint secrets) only sealed with the deployment's key; a start with another key
//! stops with a clear message; a database of an older version is sealed on first start.

use crate::common::verify::standard_signature;
use crate::common::{Receiver, Server};
use reqwest::StatusCode;
use serde_json::{Value, json};

const TOKEN: &str = "tok-SECRET-bearer-1";
const API_KEY: &str = "key-SECRET-header-2";
const TENANT: &str = "tenant-SECRET-marked-3";
const TEAM: &str = "team-PLAIN-4";

fn delivered(list: &Value) -> bool {
    list["data"].as_array().is_some_and(|d| !d.is_empty() && d.iter().all(|d| d["status"] == "succeeded"))
}

/// Every byte of the database files, to search for plaintext.
fn database_bytes(server: &Server) -> Vec<u8> {
    let mut all = Vec::new();
    for name in ["scanhook.db", "scanhook.db-wal"] {
        all.extend(std::fs::read(server.data_dir.join(name)).unwrap_or_default());
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

async fn secret_webhook(server: &Server, receiver: &Receiver) -> Value {
    server
        .create_webhook(json!({
            "url": receiver.url,
            "events": ["*"],
            "bearer_token": TOKEN,
            "headers": {"X-Api-Key": API_KEY, "X-Tenant": TENANT, "X-Team": TEAM},
            "sensitive_headers": ["X-Tenant"],
        }))
        .await
}

#[tokio::test]
async fn no_read_returns_a_credential_and_the_database_holds_none() {
    let mut server = Server::start(&[]).await;
    let receiver = Receiver::start().await;
    let webhook = secret_webhook(&server, &receiver).await;
    let id = webhook["id"].as_str().unwrap();
    let secret = webhook["secret"].as_str().unwrap().to_string();
    assert_eq!(webhook["headers"], json!({"X-Api-Key": "[redacted]", "X-Tenant": "[redacted]", "X-Team": TEAM}));
    assert_eq!(webhook["sensitive_headers"], json!(["X-Api-Key", "X-Tenant"]));

    server.send_event("scan.completed", json!({"n": 1})).await;
    let got = receiver.wait_for(1, 10).await;
    assert_eq!(got[0].header("authorization"), format!("Bearer {TOKEN}"));
    assert_eq!(got[0].header("x-api-key"), API_KEY);
    assert_eq!(got[0].header("x-tenant"), TENANT);
    let list = server.wait_until(&format!("/v1/deliveries?webhook_id={id}"), 10, delivered).await;

    // The attempt log names every header, credentials redacted, signatures kept.
    let (_, detail) = server.get(&format!("/v1/deliveries/{}", list["data"][0]["id"].as_str().unwrap())).await;
    let headers: Vec<(String, String)> =
        serde_json::from_value(detail["attempt_log"][0]["request"]["headers"].clone()).unwrap();
    let value = |name: &str| headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    assert_eq!(value("Authorization"), Some("[redacted]"));
    assert_eq!(value("X-Api-Key"), Some("[redacted]"));
    assert_eq!(value("X-Tenant"), Some("[redacted]"));
    assert_eq!(value("X-Team"), Some(TEAM));
    assert_eq!(value("webhook-signature"), Some(got[0].header("webhook-signature")));

    // No read shows them: the delivery, the webhook, the list.
    let (_, one) = server.get(&format!("/v1/webhooks/{id}")).await;
    let (_, all) = server.get("/v1/webhooks").await;
    for answer in [&detail, &one, &all] {
        let text = answer.to_string();
        for plain in [TOKEN, API_KEY, TENANT, secret.as_str()] {
            assert!(!text.contains(plain), "{plain} in {text}");
        }
    }

    // A patch may send the redacted values back: they keep what they were.
    let patch = json!({"headers": {"X-Api-Key": "[redacted]", "X-Tenant": "[redacted]", "X-Team": "green"}});
    let (status, patched) = server.call(reqwest::Method::PATCH, &format!("/v1/webhooks/{id}"), Some(patch), None).await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["sensitive_headers"], json!(["X-Api-Key", "X-Tenant"]));
    server.send_event("scan.completed", json!({"n": 2})).await;
    let got = receiver.wait_for(2, 10).await;
    assert_eq!(got[1].header("x-api-key"), API_KEY);
    assert_eq!(got[1].header("x-tenant"), TENANT);
    assert_eq!(got[1].header("x-team"), "green");

    // At rest: sealed, all of it; the plain header is there to show the search works.
    assert!(server.terminate());
    let bytes = match &server.database {
        Some(postgres) => postgres.all_rows().await.into_bytes(),
        None => database_bytes(&server),
    };
    assert!(contains(&bytes, "green"));
    for plain in [TOKEN, API_KEY, TENANT, secret.as_str()] {
        assert!(!contains(&bytes, plain), "{plain} is stored in plaintext");
    }
    // The key was made on first start, readable by its owner only.
    let key_file = server.data_dir.join("encryption.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let err = server.start_fails_with(&[("SCANHOOK_ENCRYPTION_KEY", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]);
    assert!(err.contains("SCANHOOK_ENCRYPTION_KEY"), "{err}");
    server.restart().await;
    let (status, _) = server.get(&format!("/v1/webhooks/{id}")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_start_with_another_key_stops_with_a_clear_message() {
    let first = "MTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTE=";
    let mut server = Server::start(&[("SCANHOOK_ENCRYPTION_KEY", first)]).await;
    let receiver = Receiver::start().await;
    secret_webhook(&server, &receiver).await;
    assert!(server.terminate());
    assert!(!server.data_dir.join("encryption.key").exists(), "a configured key writes no key file");

    let other = "MjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjI=";
    let log = server.start_fails_with(&[("SCANHOOK_ENCRYPTION_KEY", other)]);
    assert!(log.contains("encryption key is not the one"), "{log}");
    assert!(log.contains("SCANHOOK_ENCRYPTION_KEY"), "{log}");
    let log = server.start_fails_with(&[("SCANHOOK_ENCRYPTION_KEY", "c2hvcnQ=")]);
    assert!(log.contains("base64 of 32 bytes"), "{log}");

    server.restart().await;
    server.send_event("scan.completed", json!({})).await;
    let got = receiver.wait_for(1, 10).await;
    assert_eq!(got[0].header("x-api-key"), API_KEY);
}

/// A database as version 0.1 (schema 7) left it: plaintext secret, token and header
/// values, and an attempt whose log holds the token.
fn old_database(dir: &std::path::Path, receiver_url: &str) {
    // Schema 7 is the first seven of the store's own migrations (which never change once released).
    macro_rules! migration {
        ($file:literal) => {
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../scanhook-store/migrations/sqlite/", $file))
        };
    }
    let migrations = [
        migration!("0001_core.sql"),
        migration!("0002_projects.sql"),
        migration!("0003_scans.sql"),
        migration!("0004_violations.sql"),
        migration!("0005_scan_progress.sql"),
        migration!("0006_webhook_filters.sql"),
        migration!("0007_delivery_format.sql"),
    ];
    let c = rusqlite::Connection::open(dir.join("scanhook.db")).unwrap();
    for sql in migrations {
        c.execute_batch(sql).unwrap();
    }
    c.pragma_update(None, "user_version", 7).unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    c.execute("INSERT INTO accounts (id, name, is_admin, created_at) VALUES ('acc_01J00000000000000000000000', 'default', 1, ?1)", [now])
        .unwrap();
    c.execute(
        "INSERT INTO webhooks (id, account_id, url, description, events, secret, headers, active, created_at,
             updated_at, format)
         VALUES ('wh_01J00000000000000000000000', 'acc_01J00000000000000000000000', ?1, NULL, '[\"*\"]', 'old-plain-SECRET-0123', ?2, 1, ?3, ?3, ?4)",
        rusqlite::params![
            receiver_url,
            json!({"X-Api-Key": API_KEY, "X-Team": TEAM}).to_string(),
            now,
            json!({"bearer_token": TOKEN}).to_string()
        ],
    )
    .unwrap();
    c.execute(
        "INSERT INTO events (id, account_id, type, timestamp, data, delivery_count)
         VALUES ('evt_01J00000000000000000000000', 'acc_01J00000000000000000000000', 'scan.completed', ?1, '{}', 1)",
        [now],
    )
    .unwrap();
    c.execute(
        "INSERT INTO deliveries (id, account_id, event_id, event_type, webhook_id, status, attempt_count, created_at,
             updated_at)
         VALUES ('dlv_01J00000000000000000000000', 'acc_01J00000000000000000000000', 'evt_01J00000000000000000000000', 'scan.completed', 'wh_01J00000000000000000000000', 'succeeded', 1, ?1, ?1)",
        [now],
    )
    .unwrap();
    let logged = json!([["Authorization", format!("Bearer {TOKEN}")], ["X-Api-Key", API_KEY], ["X-Team", TEAM]]);
    c.execute(
        "INSERT INTO attempts (id, delivery_id, number, started_at, latency_ms, status_code, request_headers)
         VALUES ('atm_01J00000000000000000000000', 'dlv_01J00000000000000000000000', 1, ?1, 5, 200, ?2)",
        rusqlite::params![now, logged.to_string()],
    )
    .unwrap();
}

#[tokio::test]
async fn an_old_database_is_sealed_on_first_start_and_still_signs_right() {
    if crate::common::sqlite_only(
        "an_old_database_is_sealed_on_first_start_and_still_signs_right",
        "it starts on an SQLite file of an older version",
    ) {
        return;
    }
    let receiver = Receiver::start().await;
    let tmp = tempfile::tempdir().unwrap();
    old_database(tmp.path(), &receiver.url);
    let mut server = Server::start_in(tmp, &[]).await;

    // The old attempt log no longer shows the token.
    let (status, detail) = server.get("/v1/deliveries/dlv_01J00000000000000000000000").await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    let text = detail.to_string();
    assert!(!text.contains(TOKEN) && !text.contains(API_KEY), "{text}");
    assert!(text.contains(TEAM), "{text}");

    // Deliveries still carry the token and verify with the old secret.
    server.send_event("scan.completed", json!({"after": "migration"})).await;
    let got = receiver.wait_for(1, 10).await;
    let req = &got[0];
    assert_eq!(req.header("authorization"), format!("Bearer {TOKEN}"));
    assert_eq!(req.header("x-api-key"), API_KEY);
    let expected = standard_signature(
        "old-plain-SECRET-0123",
        req.header("webhook-id"),
        req.header("webhook-timestamp"),
        &req.body,
    );
    assert_eq!(req.header("webhook-signature"), expected);

    assert!(server.terminate());
    let bytes = database_bytes(&server);
    assert!(contains(&bytes, TEAM));
    for plain in [TOKEN, API_KEY, "old-plain-SECRET-0123"] {
        assert!(!contains(&bytes, plain), "{plain} is still stored in plaintext");
    }
}
