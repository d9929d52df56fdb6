//! `scanhook migrate-store`: a real server on SQLite fills its database through the API, is
//! stopped, the binary copies the database into PostgreSQL, and a server on PostgreSQL with
//! the same encryption key answers the same to every read, takes the old API key, signs with
//! the old secret and sends the retry the old server had scheduled. The command refuses a
//! target in use and leaves the target as it was when it fails. Skipped, saying so, without
//! PostgreSQL, and in the suite's PostgreSQL pass (its source is the SQLite file).

use std::process::{Command, Output};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::postgres::Database;
use crate::common::receiver::status;
use crate::common::{Receiver, Server, sqlite_only, verify};

fn migrate_store(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scanhook"))
        .arg("migrate-store")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .output()
        .expect("run scanhook migrate-store")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh target database; `None` (saying so) without PostgreSQL, and in the suite's
/// PostgreSQL pass, since the source is a SQLite deployment.
async fn target(test: &str) -> Option<Database> {
    if sqlite_only(test, "its source is a SQLite deployment") {
        return None;
    }
    Database::create(test).await
}

/// POSTs `body` to `path` with `key`.
async fn post(server: &Server, key: &str, path: &str, body: Value) -> (StatusCode, Value) {
    server.call(reqwest::Method::POST, path, Some(body), Some(key)).await
}

/// Polls `GET path` with `key` until `done` holds, for at most 20 s.
async fn wait_as(server: &Server, key: &str, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..400 {
        last = server.call(reqwest::Method::GET, path, None, Some(key)).await.1;
        if done(&last) {
            return last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out waiting on {path}: {last}\nserver log:\n{}", server.log());
}

/// Every page of a list, with `key`.
async fn all(server: &Server, path: &str, key: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut next = path.to_string();
    loop {
        let (code, page) = server.call(reqwest::Method::GET, &next, None, Some(key)).await;
        assert_eq!(code, StatusCode::OK, "{path}: {page}");
        items.extend(page["data"].as_array().expect("a list").iter().cloned());
        let Some(cursor) = page["next_cursor"].as_str() else { return items };
        let sep = if path.contains('?') { '&' } else { '?' };
        next = format!("{path}{sep}cursor={cursor}");
    }
}

/// What the account's key reads through the API: every list, and every item by its ID.
async fn everything(server: &Server, key: &str, scans: &[String]) -> Value {
    let get = |path: String| async move {
        let (code, body) = server.call(reqwest::Method::GET, &path, None, Some(key)).await;
        assert_eq!(code, StatusCode::OK, "{path}: {body}");
        body
    };
    let mut out = serde_json::Map::new();
    for (list, item) in [
        ("/v1/webhooks", "/v1/webhooks"),
        ("/v1/projects", "/v1/projects"),
        ("/v1/events", "/v1/events"),
        ("/v1/deliveries", "/v1/deliveries"),
        ("/v1/audit-log", ""),
        ("/v1/api-keys", ""),
    ] {
        let items = all(server, list, key).await;
        assert!(!items.is_empty(), "{list} has something to compare");
        if !item.is_empty() {
            for one in &items {
                let id = one["id"].as_str().expect("an id");
                out.insert(format!("{item}/{id}"), get(format!("{item}/{id}")).await);
                if list == "/v1/projects" {
                    for violation in all(server, &format!("/v1/projects/{id}/violations"), key).await {
                        let id = violation["id"].as_str().expect("an id");
                        out.insert(format!("/v1/violations/{id}"), get(format!("/v1/violations/{id}")).await);
                    }
                }
            }
        }
        out.insert(list.to_string(), Value::Array(items));
    }
    for scan in scans {
        out.insert(format!("/v1/scans/{scan}"), get(format!("/v1/scans/{scan}")).await);
    }
    Value::Object(out)
}

#[tokio::test]
async fn a_sqlite_deployment_moves_to_postgresql_and_goes_on_where_it_stopped() {
    let Some(db) = target("a_sqlite_deployment_moves_to_postgresql_and_goes_on_where_it_stopped").await else { return };
    let (ok, flaky) = (Receiver::start().await, Receiver::start().await);
    flaky.always(status(500));
    // No SCANHOOK_ENCRYPTION_KEY: the old server makes encryption.key in its data directory.
    let mut old = Server::start(&[]).await;
    let (code, account) = old.post("/v1/accounts", json!({"name": "Acme Sécurité"})).await;
    assert_eq!(code, StatusCode::CREATED, "{account}");
    let key = account["api_key"]["key"].as_str().unwrap().to_string();
    let (code, _) = post(&old, &key, "/v1/api-keys", json!({"name": "ci"})).await;
    assert_eq!(code, StatusCode::CREATED);
    let (_, project) =
        post(&old, &key, "/v1/projects", json!({"name": "api", "target": "https://git.example/api"})).await;
    let project_id = project["id"].as_str().unwrap().to_string();
    let (code, steady) = post(
        &old,
        &key,
        "/v1/webhooks",
        json!({"url": ok.url, "events": ["scan.completed", "violation.*"], "min_severity": "high",
               "headers": {"X-Team": "appsec", "Authorization": "Bearer s3cr3t"}, "description": "all of it"}),
    )
    .await;
    assert_eq!(code, StatusCode::CREATED, "{steady}");
    let secret = steady["secret"].as_str().unwrap().to_string();
    let (_, failing) = post(&old, &key, "/v1/webhooks", json!({"url": flaky.url, "events": ["scan.failed"]})).await;

    // A scan with findings: violations, one resolved by hand, and their events.
    let mut scans = Vec::new();
    for findings in [
        json!([{"rule": "gdpr", "severity": "high", "file": "src/a.js", "line": 4, "message": "Personal data"},
               {"rule": "sqli", "severity": "critical", "file": "src/db.js", "line": 10, "message": "SQL ünjection"}]),
        json!([{"rule": "gdpr", "severity": "high", "file": "src/a.js", "line": 5, "message": "Personal data"}]),
    ] {
        let (_, scan) = post(&old, &key, "/v1/scans", json!({"project": project_id, "rules": ["gdpr"]})).await;
        let id = scan["id"].as_str().unwrap().to_string();
        let (code, done) =
            post(&old, &key, &format!("/v1/scans/{id}/complete"), json!({"findings": findings, "score": 80})).await;
        assert_eq!(code, StatusCode::OK, "{done}");
        scans.push(id);
    }
    let violations = all(&old, &format!("/v1/projects/{project_id}/violations?status=open"), &key).await;
    let resolve = format!("/v1/violations/{}/resolve", violations[0]["id"].as_str().unwrap());
    let (code, resolved) = post(&old, &key, &resolve, json!({"resolved_by": "alice"})).await;
    assert_eq!(code, StatusCode::OK, "{resolved}");

    // Succeeded deliveries, and one dead (every attempt of the fast schedule failed).
    let (code, _) =
        post(&old, &key, "/v1/events", json!({"type": "scan.completed", "data": {"project": project_id, "n": 1}}))
            .await;
    assert_eq!(code, StatusCode::ACCEPTED);
    let (code, dead) = post(&old, &key, "/v1/events", json!({"type": "scan.failed", "data": {"why": "first"}})).await;
    assert_eq!((code, &dead["deliveries"]), (StatusCode::ACCEPTED, &json!(1)), "{dead}");
    let dead_path = format!("/v1/deliveries?event_id={}", dead["id"].as_str().unwrap());
    wait_as(&old, &key, &dead_path, |l| l["data"][0]["status"] == "dead").await;
    let arrived = ok.received().len();
    assert!(arrived >= 3, "the scans' and the event's deliveries arrived: {arrived}");

    // One that failed once and waits for its retry when the server stops.
    old.terminate();
    old.restart_with(&[("SCANHOOK_RETRY_SCHEDULE", "0s,6s")]).await;
    let (_, retrying) = post(&old, &key, "/v1/events", json!({"type": "scan.failed", "data": {"why": "second"}})).await;
    let retry_path = format!("/v1/deliveries?event_id={}", retrying["id"].as_str().unwrap());
    wait_as(&old, &key, &retry_path, |l| l["data"][0]["attempts"] == 1).await;
    let failed_id = flaky.received().last().unwrap().header("webhook-id").to_string();
    let before = everything(&old, &key, &scans).await;
    assert!(old.terminate(), "the old server stops cleanly");

    // The copy, with the data directory's key file.
    let from = format!("sqlite://{}", old.data_dir.display());
    let copied = migrate_store(&["--from", &from, "--to", &db.url], &[]);
    let (out, err) = (text(&copied.stdout), text(&copied.stderr));
    assert!(copied.status.success(), "{out}\n{err}");
    assert!(out.contains("Every copied table has as many rows in PostgreSQL as in SQLite"), "{out}");
    assert!(out.contains("job_leases") && out.contains("not copied"), "{out}");
    assert!(out.contains("same encryption key") || out.contains("SCANHOOK_ENCRYPTION_KEY"), "{out}");
    let rows = |table: &str| {
        let line = out.lines().find(|l| l.split_whitespace().next() == Some(table)).unwrap_or_default().to_string();
        line.split_whitespace().nth(1).and_then(|n| n.parse::<u64>().ok())
    };
    assert_eq!(rows("accounts"), Some(2), "{out}");
    assert_eq!(rows("webhooks"), Some(2), "{out}");
    assert_eq!(rows("scans"), Some(2), "{out}");

    // Copying again: the target is in use now.
    let again = migrate_store(&["--from", &from, "--to", &db.url], &[]);
    let err = text(&again.stderr);
    assert!(!again.status.success() && err.contains("not empty") && err.contains("accounts has 2 rows"), "{err}");

    // A node on PostgreSQL with the old key, sending nothing yet: the same answers.
    let key_file = std::fs::read_to_string(old.data_dir.join("encryption.key")).unwrap();
    let pg_env = [("SCANHOOK_DATABASE_URL", db.url.as_str()), ("SCANHOOK_ENCRYPTION_KEY", key_file.trim())];
    let mut new = Server::start(&[pg_env[0], pg_env[1], ("SCANHOOK_DISPATCH", "false")]).await;
    let after = everything(&new, &key, &scans).await;
    let before_map = before.as_object().unwrap();
    for (path, value) in after.as_object().unwrap() {
        assert_eq!(Some(value), before_map.get(path), "{path} reads the same on PostgreSQL");
    }
    assert_eq!(after.as_object().unwrap().len(), before_map.len());

    // Sending again: the retry the old server scheduled, and a new event signed with the
    // old secret, with the sealed header's value.
    flaky.always(status(200));
    new.terminate();
    new.restart_with(&[("SCANHOOK_DISPATCH", "true")]).await;
    let (code, _) = new
        .call(
            reqwest::Method::POST,
            "/v1/events",
            Some(json!({"type": "scan.completed", "data": {"project": project_id, "n": 2}})),
            Some(&key),
        )
        .await;
    assert_eq!(code, StatusCode::ACCEPTED);
    let mut last = None;
    for _ in 0..400 {
        last = ok.received().into_iter().find(|r| r.json()["data"]["n"] == 2);
        if last.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let last = last.expect("the new event arrived");
    assert_eq!(last.json()["data"]["n"], 2);
    let expected =
        verify::standard_signature(&secret, last.header("webhook-id"), last.header("webhook-timestamp"), &last.body);
    assert_eq!(last.header("webhook-signature"), expected, "signed with the secret made on SQLite");
    assert_eq!((last.header("authorization"), last.header("x-team")), ("Bearer s3cr3t", "appsec"));
    let retried = flaky.wait_for(5, 20).await;
    assert_eq!(retried.last().unwrap().header("webhook-id"), failed_id, "the scheduled retry of the same message");
    wait_as(&new, &key, &retry_path, |l| l["data"][0]["status"] == "succeeded" && l["data"][0]["attempts"] == 2).await;
    let failing_id = failing["id"].as_str().unwrap();
    let path = format!("/v1/deliveries?webhook_id={failing_id}&status=succeeded");
    wait_as(&new, &key, &path, |l| l["data"].as_array().is_some_and(|d| d.len() == 1)).await;
}

/// A copy that meets a value it cannot copy stops, names it, and the target is left with
/// not even the schema; sqlite→sqlite and postgres→ are refused by name.
#[tokio::test]
async fn a_copy_that_fails_midway_leaves_the_target_as_it_was() {
    let Some(db) = target("a_copy_that_fails_midway_leaves_the_target_as_it_was").await else { return };
    let receiver = Receiver::start().await;
    let mut old = Server::start(&[]).await;
    old.create_webhook(json!({"url": receiver.url, "events": ["scan.*"]})).await;
    old.send_event("scan.completed", json!({"n": 1})).await;
    receiver.wait_for(1, 10).await;
    old.wait_until("/v1/deliveries?status=succeeded", 10, |l| l["data"].as_array().is_some_and(|d| d.len() == 1)).await;
    assert!(old.terminate());
    // An attempt's latency that is not a number: attempts are copied after most tables.
    let conn = rusqlite::Connection::open(old.data_dir.join("scanhook.db")).unwrap();
    assert_eq!(conn.execute("UPDATE attempts SET latency_ms = 'slow'", []).unwrap(), 1);
    drop(conn);

    let from = format!("sqlite://{}", old.data_dir.display());
    let failed = migrate_store(&["--from", &from, "--to", &db.url], &[]);
    let err = text(&failed.stderr);
    assert!(!failed.status.success(), "{err}");
    assert!(err.contains("attempts.latency_ms") && err.contains("the target is unchanged"), "{err}");
    let tables = db.count("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'").await;
    assert_eq!(tables, 0, "not even the schema is left behind");

    let sqlite_to_sqlite = migrate_store(&["--from", &from, "--to", "sqlite:///tmp/x.db"], &[]);
    assert!(text(&sqlite_to_sqlite.stderr).contains("--to must be a postgres:// URL"));
    let from_postgres = migrate_store(&["--from", &db.url, "--to", &db.url], &[]);
    assert!(text(&from_postgres.stderr).contains("--from must be sqlite://PATH"));
}
