//! `/metrics`, `/readyz` and the monitoring samples of docs/monitoring: real events to real
//! receivers, then the scrape parsed as the text format and its counters checked exactly.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::common::receiver::status;
use crate::common::{Receiver, Server, postgres};

const TOKEN: &str = "metrics-token-0123456789";

/// One sample of a scrape: its name and labels.
type Series = (String, BTreeMap<String, String>);

/// The samples of a scrape in the Prometheus (OpenMetrics) text format; panics on a line
/// that is not a comment or `name{labels} value`, or without the closing `# EOF`.
fn parse(text: &str) -> BTreeMap<Series, f64> {
    assert!(text.ends_with("# EOF\n"), "no # EOF at the end:\n{text}");
    let mut samples = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value: {line}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("not a number in: {line}")),
        };
        let (name, mut rest) = match series.find('{') {
            Some(i) => (&series[..i], &series[i + 1..]),
            None => (series, "}"),
        };
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name in: {line}"
        );
        let mut labels = BTreeMap::new();
        while !rest.starts_with('}') {
            let (key, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("bad label in: {line}"));
            let mut value = String::new();
            let mut chars = after.char_indices();
            let end = loop {
                match chars.next() {
                    Some((_, '\\')) => value.push(chars.next().map(|(_, c)| c).unwrap_or_default()),
                    Some((i, '"')) => break i,
                    Some((_, c)) => value.push(c),
                    None => panic!("unterminated label value in: {line}"),
                }
            };
            labels.insert(key.trim_start_matches(',').to_string(), value);
            rest = after[end + 1..].trim_start_matches(',');
        }
        samples.insert((name.to_string(), labels), value);
    }
    samples
}

/// The value of `name` with exactly `labels` (0 when absent).
fn value(samples: &BTreeMap<Series, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    let labels: BTreeMap<String, String> = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    samples.get(&(name.to_string(), labels)).copied().unwrap_or(0.0)
}

async fn scrape(server: &Server, token: Option<&str>) -> (StatusCode, String) {
    let mut request = server.client().get(server.url("/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("GET /metrics");
    (response.status(), response.text().await.expect("body"))
}

/// Scrapes until `done` holds, or panics after 20 s.
async fn scrape_until(server: &Server, done: impl Fn(&BTreeMap<Series, f64>) -> bool) -> BTreeMap<Series, f64> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (code, text) = scrape(server, Some(TOKEN)).await;
        assert_eq!(code, StatusCode::OK, "{text}");
        let samples = parse(&text);
        if done(&samples) {
            return samples;
        }
        assert!(tokio::time::Instant::now() < deadline, "the metrics never got there:\n{text}\n{}", server.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The metric names a monitoring sample refers to (`scanhook_…`).
fn names_in(text: &str) -> HashSet<String> {
    let mut names = HashSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("scanhook_") {
        let name: String =
            rest[i..].chars().take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_').collect();
        rest = &rest[i + name.len()..];
        names.insert(name);
    }
    names
}

/// Every PromQL expression of the sample alert rules, read as YAML (Prometheus's rule file
/// format: groups of rules, each an alert with an expression).
fn alert_expressions(path: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("docs/monitoring/alerts.yml");
    let docs = yaml_rust2::YamlLoader::load_from_str(&text).expect("alerts.yml is YAML");
    let groups = docs[0]["groups"].as_vec().expect("alerts.yml has groups");
    let mut exprs = Vec::new();
    for group in groups {
        assert!(group["name"].as_str().is_some(), "a group without a name");
        for rule in group["rules"].as_vec().expect("a group has rules") {
            assert!(rule["alert"].as_str().is_some(), "a rule without an alert name: {rule:?}");
            assert!(rule["annotations"]["summary"].as_str().is_some(), "a rule without a summary: {rule:?}");
            exprs.push(rule["expr"].as_str().expect("a rule has an expression").to_string());
        }
    }
    exprs
}

/// Every query of the sample Grafana dashboard.
fn dashboard_queries(path: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("docs/monitoring/grafana.json");
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("grafana.json is JSON");
    let panels = dashboard["panels"].as_array().expect("the dashboard has panels");
    panels
        .iter()
        .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
        .map(|t| t["expr"].as_str().expect("a target has an expression").to_string())
        .collect()
}

#[tokio::test]
async fn metrics_count_real_deliveries_outcomes_failures_and_routes() {
    let ok = Receiver::start().await;
    let failing = Receiver::start().await;
    failing.always(status(500));
    // Three attempts (0s, 100ms, 100ms), then dead; two dead deliveries in a row disable.
    let server = Server::start(&[("SCANHOOK_METRICS_TOKEN", TOKEN), ("SCANHOOK_DISABLE_AFTER", "2")]).await;

    // The token guards the metrics. (The first scrape that passes counts the queue, which
    // is then kept 10 s: it comes once the deliveries are over.)
    assert_eq!(scrape(&server, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(scrape(&server, Some("metrics-token-wrong")).await.0, StatusCode::UNAUTHORIZED);

    // The good endpoint's body is rendered by a template, in the sandbox. Both subscribe to
    // what they count: `*` would also get the operational events of the dead deliveries.
    let good = server
        .create_webhook(json!({"url": ok.url, "events": ["violation.*"], "template": "{rule: .data.rule}"}))
        .await;
    server.create_webhook(json!({"url": failing.url, "events": ["violation.*"]})).await;
    server.send_event("violation.detected", json!({"rule": "gdpr"})).await;
    server.send_event("violation.detected", json!({"rule": "soc2"})).await;
    let (code, _) = server.get(&format!("/v1/webhooks/{}", good["id"].as_str().unwrap())).await;
    assert_eq!(code, StatusCode::OK);

    // Every delivery over: two succeeded, two dead after three attempts each.
    server
        .wait_until("/v1/deliveries", 20, |l| {
            let data = l["data"].as_array().cloned().unwrap_or_default();
            let count = |s: &str| data.iter().filter(|d| d["status"] == s).count();
            count("succeeded") == 2 && count("dead") == 2
        })
        .await;
    let samples = scrape_until(&server, |s| {
        value(s, "scanhook_deliveries_total", &[("outcome", "delivered")]) >= 2.0
            && value(s, "scanhook_deliveries_total", &[("outcome", "dead")]) >= 2.0
    })
    .await;

    let outcome = |o: &str| value(&samples, "scanhook_deliveries_total", &[("outcome", o)]);
    assert_eq!(outcome("delivered"), 2.0);
    assert_eq!(outcome("retry_scheduled"), 4.0);
    assert_eq!(outcome("dead"), 2.0);
    assert_eq!(outcome("held"), 0.0);
    assert_eq!(outcome("paused"), 0.0);
    let failures = |c: &str| value(&samples, "scanhook_attempt_failures_total", &[("class", c)]);
    assert_eq!(failures("http_5xx"), 6.0);
    for class in ["timeout", "connect", "tls", "http_4xx", "template", "guard", "signing", "request"] {
        assert_eq!(failures(class), 0.0, "{class}");
    }
    assert_eq!(value(&samples, "scanhook_attempt_duration_seconds_count", &[]), 8.0);
    assert_eq!(value(&samples, "scanhook_attempt_duration_seconds_bucket", &[("le", "+Inf")]), 8.0);
    assert_eq!(value(&samples, "scanhook_events_ingested_total", &[("family", "violation")]), 2.0);
    assert_eq!(value(&samples, "scanhook_events_ingested_total", &[("family", "other")]), 0.0);
    // The group commit recorded the eight outcomes; the store calls were timed.
    let batch_sizes = value(&samples, "scanhook_recorder_batch_size_sum", &[]);
    assert_eq!(batch_sizes, 8.0);
    assert_eq!(value(&samples, "scanhook_sandbox_wait_seconds_count", &[]), 2.0, "one wait per render");
    // SQLite's writer counts its group commits; PostgreSQL has none to count.
    let commits = value(&samples, "scanhook_store_group_commits_total", &[]);
    let writes = value(&samples, "scanhook_store_group_commit_writes_total", &[]);
    match crate::common::on_postgres() {
        false => assert!(commits >= 1.0 && writes >= commits, "{commits} commits of {writes} writes"),
        true => assert_eq!((commits, writes), (0.0, 0.0)),
    }
    for op in ["claim", "ingest", "complete"] {
        assert!(value(&samples, "scanhook_store_duration_seconds_count", &[("operation", op)]) >= 1.0, "{op}");
    }
    // The queue, counted once the deliveries were over: the failing endpoint disabled.
    assert_eq!(value(&samples, "scanhook_queue_deliveries", &[("state", "dead")]), 2.0);
    assert_eq!(value(&samples, "scanhook_queue_deliveries", &[("state", "due")]), 0.0);
    assert_eq!(value(&samples, "scanhook_queue_deliveries", &[("state", "scheduled")]), 0.0);
    assert_eq!(value(&samples, "scanhook_endpoints_disabled", &[("disabled_by", "failures")]), 1.0);
    assert_eq!(value(&samples, "scanhook_endpoints_disabled", &[("disabled_by", "user")]), 0.0);

    // Requests by route template, never by the path with its IDs.
    let requests = |route: &str, method: &str, status: &str| {
        value(&samples, "scanhook_http_requests_total", &[("route", route), ("method", method), ("status", status)])
    };
    assert_eq!(requests("/v1/webhooks", "POST", "201"), 2.0);
    assert_eq!(requests("/v1/events", "POST", "202"), 2.0);
    assert_eq!(requests("/v1/webhooks/{id}", "GET", "200"), 1.0);
    assert_eq!(requests("/metrics", "GET", "401"), 2.0);
    let routes: Vec<&String> = samples
        .keys()
        .filter(|(name, _)| name == "scanhook_http_requests_total")
        .filter_map(|(_, labels)| labels.get("route"))
        .collect();
    assert!(routes.iter().all(|r| !r.contains("wh_") && !r.contains("evt_")), "{routes:?}");
    let bodies: Vec<_> = ok.received().iter().map(|r| r.json()["rule"].clone()).collect();
    assert!(bodies.contains(&json!("gdpr")) && bodies.contains(&json!("soc2")), "{bodies:?}");
    assert_eq!(failing.received().len(), 6);

    // The monitoring samples refer only to metrics this scrape has (so they cannot drift).
    let exported: HashSet<&str> = samples.keys().map(|(name, _)| name.as_str()).collect();
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/monitoring");
    let exprs = alert_expressions(&docs.join("alerts.yml"));
    let queries = dashboard_queries(&docs.join("grafana.json"));
    assert!(exprs.len() >= 4 && !queries.is_empty());
    for expr in exprs.iter().chain(&queries) {
        let names = names_in(expr);
        assert!(!names.is_empty(), "no scanhook metric in: {expr}");
        for name in names {
            assert!(exported.contains(name.as_str()), "{name} (in `{expr}`) is not exported by /metrics");
        }
    }
}

#[tokio::test]
async fn metrics_can_be_switched_off() {
    let server = Server::start(&[("SCANHOOK_METRICS", "false")]).await;
    let (code, text) = scrape(&server, None).await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{text}");
    assert!(text.contains("SCANHOOK_METRICS=false"), "{text}");
}

#[tokio::test]
async fn readyz_answers_503_once_shutdown_starts() {
    let server = Server::start(&[("SCANHOOK_SHUTDOWN_DRAIN", "3s")]).await;
    let (code, body) = server.get("/readyz").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(server.get("/healthz").await.0, StatusCode::OK);
    let killed = std::process::Command::new("kill").arg("-TERM").arg(server.pid().to_string()).status();
    assert!(killed.expect("kill -TERM").success());
    // While it drains, it still answers: alive, but not ready.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    let (code, body) = loop {
        let (code, body) = server.get("/readyz").await;
        if code != StatusCode::OK || tokio::time::Instant::now() > deadline {
            break (code, body);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], "shutting_down", "{body}");
    assert_eq!(server.get("/healthz").await.0, StatusCode::OK);
}

/// A real outage: the server's PostgreSQL database stops taking connections and its
/// sessions are ended. (Only PostgreSQL allows an honest outage: an open SQLite file keeps
/// answering whatever happens to its path, so the SQLite pass has no counterpart.)
#[tokio::test]
async fn readyz_answers_503_while_postgresql_is_unreachable_and_200_once_it_is_back() {
    let Some(db) = postgres::Database::create("readyz_answers_503_while_postgresql_is_unreachable").await else {
        return;
    };
    let server =
        Server::start(&[("SCANHOOK_DATABASE_URL", db.url.as_str()), ("SCANHOOK_DATABASE_POOL_SIZE", "2")]).await;
    assert_eq!(server.get("/readyz").await.0, StatusCode::OK);

    let name = db.url.rsplit('/').next().expect("a database name").to_string();
    let (admin, connection) = db.server.connect(tokio_postgres::NoTls).await.expect("connect as admin");
    tokio::spawn(connection);
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {name} ALLOW_CONNECTIONS false;
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ))
        .await
        .expect("cut the database off");
    let (code, body) = server.get("/readyz").await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], "database_unavailable", "{body}");
    assert_eq!(server.get("/healthz").await.0, StatusCode::OK, "alive all along");

    admin.batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).await.expect("reconnect");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while server.get("/readyz").await.0 != StatusCode::OK {
        assert!(tokio::time::Instant::now() < deadline, "never ready again:\n{}", server.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Transport failures are classed by what failed, from the errors themselves: a TLS
/// handshake with a server that speaks plain HTTP, a port nobody listens on, a receiver
/// slower than the timeout, and a template that fails (nothing sent).
#[tokio::test]
async fn attempt_failures_are_classed_by_what_failed() {
    let plain = Receiver::start().await;
    let slow = Receiver::start().await;
    slow.always(crate::common::receiver::Reply { delay: Duration::from_secs(3), ..status(200) });
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("an address").port()
    };
    let server = Server::start(&[("SCANHOOK_RETRY_SCHEDULE", "0s"), ("SCANHOOK_DELIVERY_TIMEOUT", "1s")]).await;
    let tls = plain.url.replace("http://", "https://");
    // Each subscribes to what is counted: `*` would also get the operational events of the
    // others' dead deliveries.
    for url in [tls.as_str(), &format!("http://127.0.0.1:{closed}/hook"), slow.url.as_str()] {
        server.create_webhook(json!({"url": url, "events": ["scan.*"]})).await;
    }
    server.create_webhook(json!({"url": plain.url, "events": ["scan.*"], "template": "error(\"boom\")"})).await;
    server.send_event("scan.completed", json!({})).await;

    let samples = scrape_until(&server, |s| value(s, "scanhook_deliveries_total", &[("outcome", "dead")]) >= 4.0).await;
    let failures = |c: &str| value(&samples, "scanhook_attempt_failures_total", &[("class", c)]);
    let classes = ["tls", "connect", "timeout", "template"];
    assert_eq!(classes.map(failures), [1.0; 4], "{classes:?}\n{}", server.log());
    assert_eq!(value(&samples, "scanhook_deliveries_total", &[("outcome", "dead")]), 4.0);
    assert_eq!(value(&samples, "scanhook_events_ingested_total", &[("family", "scan")]), 1.0);
}
