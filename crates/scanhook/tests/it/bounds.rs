//! Input bounds: JSON nested too deep, templates nested too deep and reports padded with
//! what scanhook does not read are refused or skimmed without taking the server down or
//! its memory up; large reports beyond the configured number wait, then get 503.

use std::time::Duration;

use crate::common::receiver::status;
use crate::common::{Receiver, Server};
use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `depth` nested arrays.
fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

#[tokio::test]
async fn deep_event_data_is_refused_at_ingest_and_chat_endpoints_keep_working() {
    let mut server = Server::start(&[]).await;
    let receiver = Receiver::start().await;
    server.create_webhook(json!({"url": receiver.url, "events": ["*"], "kind": "slack"})).await;

    let body = format!(r#"{{"type": "scan.completed", "data": {{"a": {}}}}}"#, nested(300_000));
    let (code, problem) = server.post_raw("/v1/events", "application/json", body).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let field = problem["field"].as_str().unwrap_or_default();
    assert!(field.starts_with("data.a[0][0]"), "{problem}");
    assert!(problem["message"].as_str().unwrap_or_default().contains("deeper than 128 levels"), "{problem}");

    // Other bodies are bounded the same way, whatever their type.
    let deep_extra =
        format!(r#"{{"url": "{}", "events": ["*"], "extra_payload": {{"x": {}}}}}"#, receiver.url, nested(200));
    let (code, problem) = server.post_raw("/v1/webhooks", "application/json", deep_extra).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem["field"].as_str().unwrap_or_default().starts_with("extra_payload.x[0]"), "{problem}");

    assert!(server.is_healthy().await, "{}", server.log());
    server.send_event("scan.completed", json!({"scanId": "scan_1"})).await;
    let got = receiver.wait_for(1, 10).await;
    assert!(got[0].json()["attachments"].is_array(), "a Slack body");
    assert!(server.is_healthy().await);
}

/// An endpoint's event patterns are matched against every event and its projects are each
/// looked up when it is saved: both lists are bounded, and a list over the bound creates
/// nothing. Before the bound, one request could list ~30,000 projects (a store read each).
#[tokio::test]
async fn an_endpoint_lists_at_most_100_event_patterns_and_100_projects() {
    let server = Server::start(&[]).await;
    let url = "https://example.com/hooks";
    let (_, project) = server.post("/v1/projects", json!({"name": "p"})).await;
    let project_id = project["id"].as_str().unwrap_or_default().to_string();

    let patterns: Vec<String> = (0..101).map(|i| format!("custom.type_{i}")).collect();
    let (code, problem) = server.post("/v1/webhooks", json!({"url": url, "events": patterns})).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["field"], "events", "{problem}");
    assert!(problem["message"].as_str().unwrap_or_default().contains("at most 100"), "{problem}");

    let projects = vec![project_id.clone(); 101];
    let (code, problem) = server.post("/v1/webhooks", json!({"url": url, "events": ["*"], "projects": projects})).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["field"], "projects", "{problem}");
    let (_, list) = server.get("/v1/webhooks").await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(0), "a refused list creates nothing: {list}");

    // At the bound it is accepted, repeats kept once.
    let patterns: Vec<String> = (0..100).map(|i| format!("custom.type_{i}")).collect();
    let projects = vec![project_id.clone(); 100];
    let (code, created) =
        server.post("/v1/webhooks", json!({"url": url, "events": patterns, "projects": projects})).await;
    assert_eq!(code, StatusCode::CREATED, "{created}");
    assert_eq!(created["events"].as_array().map(Vec::len), Some(100), "{created}");
    assert_eq!(created["projects"], json!([project_id]), "{created}");

    let id = created["id"].as_str().unwrap_or_default();
    let patterns: Vec<String> = (0..101).map(|i| format!("custom.type_{i}")).collect();
    let (code, problem) = server
        .call(reqwest::Method::PATCH, &format!("/v1/webhooks/{id}"), Some(json!({"events": patterns})), None)
        .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["field"], "events", "{problem}");
}

/// Half a surrogate pair (`\ud800`) is valid JSON grammar but no character: kept as raw
/// bytes it reached the store, then answered 500 with an Idempotency-Key (the request's
/// fingerprint could not be parsed), showed as `null` on read and failed every template.
#[tokio::test]
async fn event_data_with_half_a_surrogate_pair_is_refused_at_ingest() {
    let server = Server::start(&[]).await;
    let body = r#"{"type": "scan.completed", "data": {"name": "a\ud800b"}}"#;
    for idempotency_key in [None, Some("k-1")] {
        let mut request = server
            .client()
            .post(server.url("/v1/events"))
            .bearer_auth(&server.key)
            .header("content-type", "application/json")
            .body(body);
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let problem: serde_json::Value = response.json().await.unwrap();
        assert_eq!((status, problem["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("data")), "{problem}");
    }
    assert_eq!(server.get("/v1/events").await.1["data"], json!([]), "nothing stored");
    let paired = r#"{"type": "scan.completed", "data": {"name": "a\ud83d\ude00b"}}"#;
    let (status, _) = server.post_raw("/v1/events", "application/json", paired.to_string()).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(server.get("/v1/events").await.1["data"][0]["data"]["name"], "a😀b");
}

#[tokio::test]
async fn a_deep_event_stored_by_an_older_version_fails_its_attempt_only() {
    if crate::common::sqlite_only(
        "a_deep_event_stored_by_an_older_version_fails_its_attempt_only",
        "it writes a row into the SQLite file as an older version would",
    ) {
        return;
    }
    let mut server = Server::start(&[]).await;
    let receiver = Receiver::start().await;
    receiver.always(status(500));
    let hook = server.create_webhook(json!({"url": receiver.url, "events": ["*"], "kind": "discord"})).await;
    let event = server.send_event("scan.completed", json!({"scanId": "scan_1"})).await;
    let path = format!("/v1/deliveries?webhook_id={}", hook["id"].as_str().unwrap());
    let list = server.wait_until(&path, 10, |l| l["data"][0]["status"] == "dead").await;
    let delivery = list["data"][0]["id"].as_str().unwrap().to_string();

    // What an older version accepted: data nested far deeper than any stack.
    let db = rusqlite::Connection::open(server.data_dir.join("scanhook.db")).expect("open the database");
    db.busy_timeout(Duration::from_secs(10)).unwrap();
    let deep = format!(r#"{{"a": {}}}"#, nested(300_000));
    let changed =
        db.execute("UPDATE events SET data = ?1 WHERE id = ?2", (&deep, event["id"].as_str().unwrap())).unwrap();
    assert_eq!(changed, 1);

    let (code, _) = server.post(&format!("/v1/deliveries/{delivery}/retry"), json!({})).await;
    assert_eq!(code, StatusCode::ACCEPTED);
    let done = server
        .wait_until(&format!("/v1/deliveries/{delivery}"), 10, |d| {
            d["attempts"].as_u64().is_some_and(|n| n > 3) && d["status"] == "dead"
        })
        .await;
    let last = done["attempt_log"].as_array().unwrap().last().unwrap().clone();
    let error = last["error"].as_str().unwrap_or_default();
    assert!(error.contains("cannot be rendered") && error.contains("data.a[0]"), "{last}");
    assert!(server.is_healthy().await, "the server survives:\n{}", server.log());
}

#[tokio::test]
async fn deeply_nested_templates_are_refused_without_crashing() {
    let mut server = Server::start(&[]).await;
    let hook = server.create_webhook(json!({"url": "http://127.0.0.1:9/hook", "events": ["*"]})).await;
    let id = hook["id"].as_str().unwrap();
    // Each nesting construct of jq, as deep as 30,000 or as fits the 64 KiB length limit.
    let fit = |unit: &str, close: &str| 30_000.min(60_000 / (unit.len() + close.len()));
    let repeat = |open: &str, middle: &str, close: &str| {
        let n = fit(open, close);
        format!("{}{middle}{}", open.repeat(n), close.repeat(n))
    };
    let templates = [
        repeat("(", ".", ")"),
        repeat("[", ".", "]"),
        repeat("{a:", ".", "}"),
        repeat("if . then ", ".", " end"),
        repeat("try ", ".", ""),
        repeat("- ", "1", ""),
        repeat("\"\\(", ".", ")\""),
        repeat("def f: ", ".", "; ."),
        repeat("reduce . as $x (0; ", ".", ")"),
        repeat(". | ", ".", ""),
        repeat("1 + ", "1", ""),
        repeat(". as $x | ", ".", ""),
    ];
    for template in templates {
        let (code, problem) = server
            .post("/v1/webhooks", json!({"url": "http://127.0.0.1:9/x", "events": ["*"], "template": template}))
            .await;
        let head: String = template.chars().take(20).collect();
        assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{head}: {problem}");
        assert_eq!(problem["field"], "template", "{head}: {problem}");
        assert!(problem["message"].as_str().unwrap_or_default().contains("nested more than"), "{head}: {problem}");
        let (code, problem) = server
            .call(reqwest::Method::PATCH, &format!("/v1/webhooks/{id}"), Some(json!({"template": template})), None)
            .await;
        assert_eq!((code, problem["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("template")));
        assert!(server.is_healthy().await, "{head}:\n{}", server.log());
    }
}

/// A SARIF log of one finding whose bulk (`pad_bytes`) sits in `[{}, {}, …]` arrays at the
/// given places: the log's version, or a rule's property bag and the result's properties.
fn padded_sarif(pad_bytes: usize, in_version: bool) -> String {
    let pad = format!("[{}{{}}]", "{},".repeat(pad_bytes / 3));
    let version = if in_version { pad.clone() } else { "\"2.1.0\"".into() };
    let properties =
        if in_version { "{}".to_string() } else { format!(r#"{{"tags": {pad}, "security-severity": "9.1"}}"#) };
    let result_pad = if in_version { "[]".to_string() } else { pad };
    format!(
        r#"{{"version": {version}, "runs": [{{"tool": {{"driver": {{"name": "t",
            "rules": [{{"id": "r1", "properties": {properties}}}]}}}},
          "results": [{{"ruleId": "r1", "message": {{"text": "m"}}, "properties": {{"bulk": {result_pad}}},
            "locations": [{{"physicalLocation": {{"artifactLocation": {{"uri": "a.py"}}}}}}]}}]}}]}}"#
    )
}

async fn running_scan(server: &Server) -> String {
    let (_, project) = server.post("/v1/projects", json!({"name": "p"})).await;
    let (code, scan) = server.post("/v1/scans", json!({"project": project["id"]})).await;
    assert_eq!(code, StatusCode::CREATED, "{scan}");
    scan["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn sarif_padded_where_scanhook_does_not_read_costs_little_memory() {
    let server = Server::start(&[]).await;
    let scan = running_scan(&server).await;
    let before = server.peak_rss_kib();

    let (code, problem) = server
        .post_raw(&format!("/v1/scans/{scan}/complete"), "application/sarif+json", padded_sarif(8 << 20, true))
        .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem["message"].as_str().unwrap_or_default().contains("must be a string, not an array"), "{problem}");

    let sarif = padded_sarif(8 << 20, false);
    assert!(sarif.len() > 15 << 20);
    let (code, outcome) = server.post_raw(&format!("/v1/scans/{scan}/complete"), "application/sarif+json", sarif).await;
    assert_eq!(code, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["detected"], 1);

    // Before skimming, the version alone grew the peak by about 625 MB.
    let growth_mb = (server.peak_rss_kib() - before) / 1024;
    eprintln!("peak memory grew by {growth_mb} MB");
    assert!(growth_mb < 100, "peak memory grew by {growth_mb} MB");
}

/// Sends the head of a request whose body is `length` bytes, and `first` of them.
async fn start_request(server: &Server, path: &str, length: usize, first: &[u8]) -> tokio::net::TcpStream {
    let host = server.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n",
        server.key
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(first).await.unwrap();
    stream
}

/// The status code and headers of the answer on `stream`.
async fn read_head(stream: &mut tokio::net::TcpStream) -> (u16, String) {
    read_head_within(stream, Duration::from_secs(30)).await.expect("an answer")
}

/// The answer's status code and headers, if one comes within `wait`.
async fn read_head_within(stream: &mut tokio::net::TcpStream, wait: Duration) -> Option<(u16, String)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(wait, stream.read(&mut chunk)).await.ok()?.unwrap();
        assert!(n > 0, "the connection closed before an answer");
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf).to_lowercase();
    let code = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).expect("a status line");
    Some((code, head))
}

#[tokio::test]
async fn large_reports_beyond_the_limit_get_503_with_retry_after() {
    let server = Server::start(&[("SCANHOOK_MAX_CONCURRENT_REPORTS", "1"), ("SCANHOOK_REPORT_WAIT", "200ms")]).await;
    let scan = running_scan(&server).await;
    // A report larger than an ordinary body, sent slowly: it holds the one slot, and
    // another large report waits its bounded time, then gets 503. The server may take the
    // second one's head first: then that one holds the slot (waiting for a body that never
    // comes) and the slow one gets the 503. Both are dropped, freeing the slot, and tried again.
    let body = format!("{{\"findings\": []}}{}", " ".repeat(2 << 20));
    let (first, rest) = body.as_bytes().split_at(1024);
    let mut busy = None;
    for _ in 0..20 {
        let slow = start_request(&server, &format!("/v1/scans/{scan}/complete"), body.len(), first).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut other = start_request(&server, "/v1/scans/scan_nope/complete", 2 << 20, b"").await;
        match read_head_within(&mut other, Duration::from_secs(2)).await {
            Some((503, head)) => {
                busy = Some((slow, head));
                break;
            }
            None => {}
            Some((code, head)) => panic!("unexpected answer {code}: {head}"),
        }
    }
    let (mut slow, head) = busy.expect("a 503 while the slot is taken");
    assert!(head.contains("retry-after: 1"), "{head}");
    assert!(head.contains("application/problem+json"), "{head}");

    // The slow report finishes normally, and the slot is free again.
    slow.write_all(rest).await.unwrap();
    assert_eq!(read_head(&mut slow).await.0, 200);
    let (code, problem) = server
        .post_raw("/v1/scans/scan_nope/complete", "application/json", format!("{{}}{}", " ".repeat(2 << 20)))
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{problem}");
}

/// A client that sends a large report's head and then trickles nothing held its report
/// slot (and connection) for good: every other large report got 503 meanwhile.
#[tokio::test]
async fn a_body_that_stops_arriving_gets_408_and_frees_its_report_slot() {
    let server = Server::start(&[("SCANHOOK_MAX_CONCURRENT_REPORTS", "1"), ("SCANHOOK_REPORT_WAIT", "200ms")]).await;
    let scan = running_scan(&server).await;
    let path = format!("/v1/scans/{scan}/complete");
    let started = std::time::Instant::now();
    let mut stalled = start_request(&server, &path, 4 << 20, b"{\"findings\": [").await;
    let (code, head) = read_head_within(&mut stalled, Duration::from_secs(60)).await.expect("an answer");
    assert_eq!(code, 408, "{head}");
    assert!(started.elapsed() >= Duration::from_secs(29), "after the 30 s pause: {:?}", started.elapsed());
    let body = format!("{{\"findings\": []}}{}", " ".repeat(3 << 20));
    let (code, done) = server.post_raw(&path, "application/json", body).await;
    assert_eq!(code, StatusCode::OK, "the slot is free again: {done}");
}

/// A receiver's answer with NUL bytes is logged (each NUL shown as U+FFFD: no database
/// keeps NUL in text, PostgreSQL refuses it) and the delivery succeeds once; before, on
/// PostgreSQL, its outcome could not be recorded and it was sent again and again.
#[tokio::test]
async fn a_response_body_with_nul_bytes_is_logged_and_sent_once() {
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = hits.clone();
    let app = axum::Router::new().fallback(move || {
        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async { "before\0after" }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let server = Server::start(&[]).await;
    let webhook = server.create_webhook(json!({"url": url, "events": ["*"]})).await;
    server.send_event("scan.completed", json!({"n": 1})).await;
    let path = format!("/v1/deliveries?webhook_id={}&status=succeeded", webhook["id"].as_str().unwrap());
    let list = server.wait_until(&path, 20, |l| l["data"].as_array().is_some_and(|d| d.len() == 1)).await;
    // Longer than a lease (3 s in tests): a delivery whose outcome was lost goes again.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1, "sent once");
    let (_, delivery) = server.get(&format!("/v1/deliveries/{}", list["data"][0]["id"].as_str().unwrap())).await;
    assert_eq!(delivery["attempt_log"][0]["response"]["body"], "before\u{FFFD}after", "{delivery}");
}
