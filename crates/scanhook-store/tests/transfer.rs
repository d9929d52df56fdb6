//! `scanhook_store::transfer`: the copy plan covers every table of both schemas in foreign-key
//! order, every value of every table round-trips from SQLite to PostgreSQL exactly, and a
//! copy that fails, or finds the target in use, leaves the target as it was. The end-to-end
//! test through the binary is `crates/scanhook/tests/it/migrate_store.rs`.

use chrono::DateTime;
use rusqlite::Connection;
use scanhook_store::SecretBox;
use scanhook_store::postgres::{PostgresStore, Settings};
use scanhook_store::sqlite::SqliteStore;
use scanhook_store::transfer::{self, PLAN, Step, TransferError};

mod support;
use support::TestDatabase;

fn position(table: &str) -> usize {
    PLAN.iter().position(|(t, _)| *t == table).unwrap_or_else(|| panic!("{table} is not in transfer::PLAN"))
}

fn planned() -> Vec<String> {
    let mut all: Vec<String> = PLAN.iter().map(|(t, _)| t.to_string()).collect();
    all.sort();
    all
}

/// A new migration that adds a table to one schema and not to the plan fails here.
#[tokio::test]
async fn the_plan_names_every_table_of_both_schemas_referenced_tables_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fresh.db");
    drop(SqliteStore::open(&path, SecretBox::random()).unwrap());
    let conn = Connection::open(&path).unwrap();
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap();
    let tables: Vec<String> = stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    assert_eq!(tables, planned(), "SQLite's tables are exactly transfer::PLAN's");
    for table in &tables {
        let mut fks = conn.prepare("SELECT \"table\" FROM pragma_foreign_key_list(?1)").unwrap();
        for parent in fks.query_map([table], |r| r.get::<_, String>(0)).unwrap().map(Result::unwrap) {
            assert!(position(&parent) < position(table), "SQLite: {table} references {parent}, copied later");
        }
    }

    let Some(db) = TestDatabase::create().await else { return };
    drop(PostgresStore::connect_config(db.config.clone(), 1, SecretBox::random()).await.unwrap());
    let (client, connection) = db.config.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let rows = client
        .query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_name <> 'schema_version' ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    let tables: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(tables, planned(), "PostgreSQL's tables are exactly transfer::PLAN's");
    let fks = client
        .query("SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint WHERE contype = 'f'", &[])
        .await
        .unwrap();
    assert!(!fks.is_empty());
    for fk in fks {
        let (table, parent): (String, String) = (fk.get(0), fk.get(1));
        assert!(position(&parent) < position(&table), "PostgreSQL: {table} references {parent}, copied later");
    }
}

/// One row or two in every table, with the values that could go wrong: flags, the largest
/// integers, negative and NULL times, text with quotes, newlines, NUL and non-ASCII, JSON
/// with escapes; a leased delivery and a job lease.
const FIXTURE: &str = r#"
INSERT INTO accounts (id, name, is_admin, created_at) VALUES
    ('acc_1', 'Ünïcødé "quoted" ''single''
two lines 😀', 1, 1700000000123),
    ('acc_2', '', 0, 9223372036854775807);
INSERT INTO api_keys (id, account_id, name, key_hash, prefix, created_at) VALUES
    ('key_1', 'acc_1', 'configured', 'hash-1', 'shk_ab', -1);
INSERT INTO webhooks (id, account_id, url, description, events, secret, headers, active, disabled_reason,
    disabled_at, consecutive_failures, created_at, updated_at, projects, min_severity, format, previous_secret,
    previous_secret_expires_at, sensitive_headers) VALUES
    ('wh_1', 'acc_1', 'https://example.com/h?a=1&b=2', NULL, '["scan.*","violation.opened"]', 'enc:v1:abc',
     '{"X-Token":"enc:v1:def","X-Plain":"v"}', 1, NULL, NULL, 0, 1, 2, '["proj_1"]', 'high',
     '{"signature":{"scheme":"standard"},"template":"{\"a\": .data}"}', 'enc:v1:old', 99, '["x-token"]'),
    ('wh_2', 'acc_2', 'https://example.org', 'off', '["*"]', 'enc:v1:ghi', '{}', 0, 'failures', 5, 10, 3, 4,
     '[]', NULL, '{}', NULL, NULL, '[]');
INSERT INTO events (id, account_id, type, timestamp, data, target_webhook_id, delivery_count, idempotency_key,
    request_hash) VALUES
    ('evt_1', 'acc_1', 'scan.completed', 5, '{"a":[1,2.5,{"b":"\u0000\n\"x\""}],"n":null}', NULL, 2, 'idem-1', 'h1'),
    ('evt_2', 'acc_2', 'webhook.test', 6, '{}', 'wh_2', 1, NULL, NULL);
INSERT INTO deliveries (id, account_id, event_id, event_type, webhook_id, status, attempt_count, round_attempts,
    next_attempt_at, lease_owner, lease_until, last_status_code, last_error, created_at, updated_at,
    claims_since_outcome) VALUES
    ('dlv_1', 'acc_1', 'evt_1', 'scan.completed', 'wh_1', 'pending', 1, 1, 9000000000000, 'node-a', 9000000000000,
     500, 'boom', 3, 4, 1),
    ('dlv_2', 'acc_1', 'evt_1', 'scan.completed', 'wh_1', 'succeeded', 1, 1, NULL, NULL, NULL, 200, NULL, 3, 4, 0),
    ('dlv_3', 'acc_2', 'evt_2', 'webhook.test', 'wh_2', 'held', 0, 0, NULL, NULL, NULL, NULL, NULL, 3, 4, 0);
INSERT INTO attempts (id, delivery_id, number, started_at, latency_ms, status_code, error, request_headers,
    request_body, response_headers, response_body) VALUES
    ('atm_1', 'dlv_1', 1, 5, 120, 500, 'server error', '[["content-type","application/json"]]', NULL,
     '[["x","y"]]', 'a' || char(0) || 'b'),
    ('atm_2', 'dlv_2', 1, 6, 0, 200, NULL, '[]', '{"rendered":true}', NULL, NULL);
INSERT INTO projects (id, account_id, name, target, score_drop_threshold, scan_time_limit_secs, created_at,
    updated_at) VALUES ('proj_1', 'acc_1', 'p', 'https://git.example/p', 10, 3600, 1, 2);
INSERT INTO scans (id, account_id, project_id, status, target, rules, started_at, deadline_at, ended_at,
    error_code, error_message, files_scanned, score, grade, percent, progress_message, progress_sent_at, tool,
    category, covered, root) VALUES
    ('scan_1', 'acc_1', 'proj_1', 'completed', NULL, '["r1"]', 1, 2, 3, NULL, NULL, 10, 90, 'A', 100, 'done', 3,
     'semgrep', '', '[{"tool":"semgrep","category":""}]', '/src'),
    ('scan_2', 'acc_1', 'proj_1', 'running', NULL, '[]', 4, 5, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, '', '', NULL, NULL);
INSERT INTO violations (id, account_id, project_id, fingerprint, rule, severity, file, line, message, suggestion,
    status, first_scan_id, last_scan_id, resolved_by, resolved_at, created_at, updated_at, tool, category, uri,
    line_hash) VALUES
    ('vio_1', 'acc_1', 'proj_1', 'fp', 'rule', 'high', 'src/a.rs', 7, 'msg', NULL, 'resolved', 'scan_1', 'scan_1',
     'alice', 8, 1, 8, 'semgrep', 'sast', 'file:///src/a.rs', 'lh');
INSERT INTO violation_history (seq, violation_id, action, at, scan_id, by) VALUES
    (41, 'vio_1', 'detected', 1, 'scan_1', NULL),
    (42, 'vio_1', 'resolved', 8, NULL, 'alice');
INSERT INTO audit_log (id, account_id, key_id, at, action, target_id, changes) VALUES
    ('aud_1', 'acc_1', 'key_1', 1, 'webhook.created', 'wh_1', '{"url":{"to":"https://example.com/h"}}');
INSERT INTO job_leases (name, owner, until) VALUES ('scan_sweeper', 'node-a', 99);
"#;

/// A SQLite database migrated by the store, with `sql` run on it; its key.
fn source(dir: &std::path::Path, sql: &str) -> (std::path::PathBuf, SecretBox) {
    let key = SecretBox::generate_key();
    let path = dir.join("source.db");
    drop(SqliteStore::open(&path, SecretBox::from_base64(&key).unwrap()).unwrap());
    Connection::open(&path).unwrap().execute_batch(sql).unwrap();
    (path, SecretBox::from_base64(&key).unwrap())
}

/// Every cell of `table` as text (flags as 0/1), rows by their first column.
async fn pg_cells(client: &tokio_postgres::Client, table: &str) -> Vec<Vec<Option<String>>> {
    let columns = client
        .query(
            "SELECT column_name::text, data_type::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            &[&table],
        )
        .await
        .unwrap();
    let list: Vec<String> = columns
        .iter()
        .map(|c| match c.get::<_, &str>(1) {
            "boolean" => format!("(\"{}\"::int)::text", c.get::<_, &str>(0)),
            _ => format!("\"{}\"::text", c.get::<_, &str>(0)),
        })
        .collect();
    let sql = format!("SELECT {} FROM \"{table}\" ORDER BY 1", list.join(", "));
    client.query(&sql, &[]).await.unwrap().iter().map(|r| (0..r.len()).map(|i| r.get(i)).collect()).collect()
}

/// The same from SQLite, in PostgreSQL's column order.
fn sqlite_cells(conn: &Connection, table: &str, columns: &[String]) -> Vec<Vec<Option<String>>> {
    let list: Vec<String> = columns.iter().map(|c| format!("CAST(\"{c}\" AS TEXT)")).collect();
    let sql = format!("SELECT {} FROM \"{table}\" ORDER BY 1", list.join(", "));
    let mut stmt = conn.prepare(&sql).unwrap();
    stmt.query_map([], |r| (0..columns.len()).map(|i| r.get(i)).collect()).unwrap().map(Result::unwrap).collect()
}

#[tokio::test]
async fn every_value_of_every_table_arrives_exactly_and_leases_are_dropped() {
    let Some(db) = TestDatabase::create().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let (path, key) = source(dir.path(), FIXTURE);
    let now = DateTime::from_timestamp_millis(1_800_000_000_000).unwrap();
    let report = transfer::sqlite_to_postgres(&path, &Settings::from_config(db.config.clone()).unwrap(), key, now)
        .await
        .unwrap();
    assert_eq!(report.released_leases, 1);
    assert_eq!(report.nul_replaced, vec![("attempts.response_body".to_string(), 1)]);
    assert!(report.tables.contains(&("job_leases", Err("leases of the old server's periodic jobs"))));
    assert!(report.tables.contains(&("deliveries", Ok(3))));

    let (client, connection) = db.config.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let conn = Connection::open(&path).unwrap();
    for (table, step) in PLAN {
        let pg = pg_cells(&client, table).await;
        if let Step::Skip(_) = step {
            assert!(pg.is_empty(), "{table} is not copied");
            continue;
        }
        let columns: Vec<String> = client
            .query(
                "SELECT column_name::text FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
                &[table],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut expected = sqlite_cells(&conn, table, &columns);
        let at = |name: &str| columns.iter().position(|c| c == name).unwrap();
        match *table {
            "deliveries" => {
                let leased = &mut expected[0];
                (leased[at("lease_owner")], leased[at("lease_until")]) = (None, None);
                leased[at("next_attempt_at")] = Some(now.timestamp_millis().to_string());
            }
            "attempts" => expected[0][at("response_body")] = Some("a\u{FFFD}b".into()),
            _ => {}
        }
        assert!(!pg.is_empty(), "{table} has rows");
        assert_eq!(pg, expected, "{table}: every cell as in SQLite");
    }
    // The history's numbering goes on after the copied rows.
    let next: i64 = client
        .query_one(
            "INSERT INTO violation_history (violation_id, action, at) VALUES ('vio_1', 'reopened', 9) RETURNING seq",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(next, 43);
}

async fn public_tables(config: &tokio_postgres::Config) -> Vec<String> {
    let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let rows = client
        .query("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1", &[])
        .await
        .unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

#[tokio::test]
async fn a_copy_that_fails_midway_or_finds_the_target_in_use_leaves_it_as_it_was() {
    let Some(db) = TestDatabase::create().await else { return };
    let dir = tempfile::tempdir().unwrap();
    // A time that is not a number, in the attempts, copied after most other tables.
    let broken = format!("{FIXTURE}\nUPDATE attempts SET latency_ms = 'slow' WHERE id = 'atm_2';");
    let (path, key) = source(dir.path(), &broken);
    let target = Settings::from_config(db.config.clone()).unwrap();
    let now = DateTime::from_timestamp_millis(1_800_000_000_000).unwrap();
    let failed = transfer::sqlite_to_postgres(&path, &target, key.clone(), now).await.unwrap_err();
    assert!(
        matches!(&failed, TransferError::Value { table, column, .. } if table == "attempts" && column == "latency_ms")
    );
    assert!(failed.to_string().contains("attempts.latency_ms"), "{failed}");
    assert!(public_tables(&db.config).await.is_empty(), "not even the schema is left behind");

    // A node started on the target already: it made its admin account.
    let node = PostgresStore::connect_config(db.config.clone(), 1, key.clone()).await.unwrap();
    scanhook_store::Store::ensure_default_account(&node, now).await.unwrap();
    drop(node);
    Connection::open(&path).unwrap().execute_batch("UPDATE attempts SET latency_ms = 1").unwrap();
    let refused = transfer::sqlite_to_postgres(&path, &target, key.clone(), now).await.unwrap_err();
    assert!(matches!(refused, TransferError::NotEmpty(ref what) if what == "accounts has 1 row"), "{refused}");

    // Another application's table.
    let other = TestDatabase::create().await.unwrap();
    let (client, connection) = other.config.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client.batch_execute("CREATE TABLE invoices (id INT)").await.unwrap();
    let target = Settings::from_config(other.config.clone()).unwrap();
    let refused = transfer::sqlite_to_postgres(&path, &target, key, now).await.unwrap_err();
    assert!(matches!(refused, TransferError::ForeignTables(ref t) if t == "invoices"), "{refused}");
    assert_eq!(public_tables(&other.config).await, ["invoices"]);
}
