//! The seed platforms' receivers (examples/platforms/, their documented code as written)
//! get real deliveries from endpoints set as docs/receivers.md's table says, and accept them:
//! 2xx in the attempt log and the receiver's own printed line. Each refuses a delivery signed
//! with another secret (or carrying another token) with 401.

use std::path::PathBuf;
use std::process::Command;

use crate::common::Server;
use crate::common::node;
use crate::common::process::Process;
use serde_json::{Value, json};

const SECRET: &str = "platform_receiver_secret_01";
const OTHER: &str = "not_the_receivers_secret_01";

/// Event data with numbers JavaScript rewrites (`1.0` → `1`, `1e2` → `100`).
fn awkward(mut data: Value) -> Value {
    data["ratio"] = json!(1.0);
    data["awkward"] = serde_json::from_str(r#"{"float": 1.0, "exp": 1e2, "neg_zero": -0.0, "tiny": 1E-7}"#).unwrap();
    data
}

fn template(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/templates").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The platform's receiver on a free port, its dependencies installed first.
async fn receiver(file: &str, env: &[(&str, &str)]) -> (Process, String) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/platforms");
    node::npm_ci(&dir);
    let mut command = Command::new("node");
    command.arg(dir.join(file)).env("PORT", "0").envs(env.iter().copied());
    let process = Process::spawn(file, command);
    let url = process.listening_url().await;
    (process, url)
}

/// An endpoint with `settings` (the table's row) plus `url`, `events` and `secret`. Scan
/// events only: the refused endpoints' dead deliveries are announced (`delivery.dead`) to `*`.
async fn endpoint(server: &Server, url: String, secret: &str, settings: Value) -> Value {
    let mut body = json!({"url": url, "events": ["scan.*"], "secret": secret});
    body.as_object_mut().unwrap().extend(settings.as_object().unwrap().clone());
    server.create_webhook(body).await
}

fn refused(log: &[Value]) {
    assert!(!log.is_empty() && log.iter().all(|a| a["status_code"] == 401), "{log:#?}");
}

fn header<'a>(attempt: &'a Value, name: &str) -> &'a str {
    let headers = attempt["request"]["headers"].as_array().unwrap();
    let found = headers.iter().find(|h| h[0].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)));
    found.and_then(|h| h[1].as_str()).unwrap_or_default()
}

#[tokio::test]
async fn juro_receiver_as_documented_verifies_javascript_bodies_only() {
    if !node::available("juro_receiver_as_documented_verifies_javascript_bodies_only") {
        return;
    }
    let (juro, url) = receiver("juro.js", &[("JURO_WEBHOOK_SECRET", SECRET)]).await;
    let url = format!("{url}/webhooks/juro");
    let server = Server::start(&[]).await;
    let row = json!({"signature": {"scheme": "hmac-sha256", "header": "X-Juro-Signature"}, "header_prefix": "X-Juro",
                     "template": template("juro.jq"), "body_json": "javascript"});
    let javascript = endpoint(&server, url.clone(), SECRET, row.clone()).await;
    let mut verbatim_row = row.clone();
    verbatim_row["body_json"] = json!("verbatim");
    let verbatim = endpoint(&server, url.clone(), SECRET, verbatim_row).await;
    let wrong = endpoint(&server, url, OTHER, row).await;

    let data = awkward(json!({"scanId": "scan_juro", "violations": {"total": 5, "critical": 0, "high": 2}}));
    server.send_event("scan.completed", data).await;

    let log = server.attempt_log(&javascript, "succeeded").await;
    assert_eq!(log[0]["status_code"], 200, "{log:#?}");
    assert!(header(&log[0], "X-Juro-Event") == "scan.completed", "{log:#?}");
    juro.wait_for_line(10, |l| l == "Scan scan_juro completed with 5 violations").await;
    // The bug this setting fixes: the body as rendered holds `1.0`, which
    // JSON.stringify(req.body) writes as `1`, so the seed's receiver computes another HMAC.
    let log = server.attempt_log(&verbatim, "dead").await;
    refused(&log);
    assert!(log[0]["request"]["body"].as_str().unwrap().contains("1.0"), "{log:#?}");
    refused(&server.attempt_log(&wrong, "dead").await);
    let handled = juro.stdout().lines().filter(|l| l.starts_with("Scan ")).count();
    assert_eq!(handled, 1, "only the javascript body with the right secret verified:\n{}", juro.stdout());
}

#[tokio::test]
async fn compliancelayer_receiver_as_documented_verifies_verbatim_bodies() {
    if !node::available("compliancelayer_receiver_as_documented_verifies_verbatim_bodies") {
        return;
    }
    let (receiver, url) = receiver("compliancelayer.js", &[("WEBHOOK_SECRET", SECRET)]).await;
    let url = format!("{url}/webhooks/compliancelayer");
    let server = Server::start(&[("SCANHOOK_USER_AGENT", "ComplianceLayer-Webhooks/1.0")]).await;
    let row = json!({"signature": {"scheme": "hmac-sha256", "header": "X-ComplianceLayer-Signature"},
                     "header_prefix": "X-ComplianceLayer", "template": template("compliancelayer.jq"), "timeout": 30});
    let right = endpoint(&server, url.clone(), SECRET, row.clone()).await;
    assert_eq!(right["body_json"], "verbatim");
    let wrong = endpoint(&server, url, OTHER, row).await;

    let data = json!({"scanId": "scan_cl", "target": "example.com", "score": 85.0, "grade": "B",
                      "violations": {"total": 8, "critical": 0, "high": 2, "medium": 3, "low": 3}, "duration": 2.847});
    server.send_event("scan.completed", data).await;

    let log = server.attempt_log(&right, "succeeded").await;
    assert_eq!(log[0]["status_code"], 200, "{log:#?}");
    assert_eq!(header(&log[0], "User-Agent"), "ComplianceLayer-Webhooks/1.0");
    assert_eq!(header(&log[0], "X-ComplianceLayer-Event"), "scan.completed");
    assert!(header(&log[0], "X-ComplianceLayer-Delivery").starts_with("dlv_"), "{log:#?}");
    receiver.wait_for_line(10, |l| l.starts_with("Processing scan.completed")).await;
    receiver.wait_for_line(10, |l| l == "slack: ✅ Scan completed for *example.com*: B (85/100)").await;
    refused(&server.attempt_log(&wrong, "dead").await);
    let handled = receiver.stdout().lines().filter(|l| l.starts_with("Processing ")).count();
    assert_eq!(handled, 1, "only the right secret verified:\n{}", receiver.stdout());
}

#[tokio::test]
async fn cortex_receiver_as_documented_verifies_both_ways_of_getting_the_payload() {
    if !node::available("cortex_receiver_as_documented_verifies_both_ways_of_getting_the_payload") {
        return;
    }
    let (cortex, url) = receiver("cortex.js", &[("CORTEX_WEBHOOK_SECRET", SECRET)]).await;
    let server = Server::start(&[]).await;
    let row = json!({"signature": {"scheme": "hmac-sha256", "header": "X-Cortex-Signature", "prefix": "sha256="},
                     "header_prefix": "X-Cortex", "template": template("cortex.jq"), "timeout": 5});
    let mut javascript_row = row.clone();
    javascript_row["body_json"] = json!("javascript");
    // express.json() + JSON.stringify(req.body) needs javascript; express.raw() takes any.
    let parsed = endpoint(&server, format!("{url}/webhooks/cortex"), SECRET, javascript_row.clone()).await;
    let raw = endpoint(&server, format!("{url}/webhooks/cortex-raw"), SECRET, row.clone()).await;
    let wrong = endpoint(&server, format!("{url}/webhooks/cortex"), OTHER, javascript_row).await;
    let verbatim = endpoint(&server, format!("{url}/webhooks/cortex"), SECRET, row.clone()).await;

    let accepted = server.send_event("scan.completed", awkward(json!({"scan_id": "scan_abc123", "score": 85}))).await;
    let event = accepted["id"].as_str().unwrap();

    for (webhook, path) in [(&parsed, "/webhooks/cortex"), (&raw, "/webhooks/cortex-raw")] {
        let log = server.attempt_log(webhook, "succeeded").await;
        assert_eq!(log[0]["status_code"], 200, "{log:#?}");
        assert_eq!(header(&log[0], "X-Cortex-Event"), "scan.completed");
        let line = format!("verified {path} scan.completed {event} scan_abc123");
        cortex.wait_for_line(10, |l| l == line).await;
    }
    refused(&server.attempt_log(&wrong, "dead").await);
    // The body as rendered holds `1.0`: JSON.stringify(req.body) does not give it back.
    refused(&server.attempt_log(&verbatim, "dead").await);
    assert_eq!(cortex.stdout().lines().filter(|l| l.starts_with("verified ")).count(), 2, "{}", cortex.stdout());
}

#[tokio::test]
async fn scan_results_hook_checks_its_bearer_token() {
    if !node::available("scan_results_hook_checks_its_bearer_token") {
        return;
    }
    let token = "receiver-chosen-token-123";
    let (hook, url) = receiver("scan-results.js", &[("BEARER_TOKEN", token)]).await;
    let url = format!("{url}/scan-results");
    let server = Server::start(&[]).await;
    let row = |token: &str| {
        json!({"events": ["scan.*"], "signature": {"scheme": "bearer"}, "bearer_token": token,
               "template": template("scan-results.jq")})
    };
    let right = endpoint(&server, url.clone(), SECRET, row(token)).await;
    let wrong = endpoint(&server, url, SECRET, row("another-token-456")).await;

    server.send_event("scan.completed", awkward(json!({"scanId": "scan_br", "violations": {"total": 3}}))).await;

    let log = server.attempt_log(&right, "succeeded").await;
    assert_eq!(log[0]["status_code"], 200, "{log:#?}");
    assert_eq!(log[0]["response"]["body"], r#"{"message":"Scan results received successfully."}"#);
    hook.wait_for_line(10, |l| l == "received scan_br completed threatsFound=3").await;
    refused(&server.attempt_log(&wrong, "dead").await);
    assert_eq!(hook.stdout().lines().filter(|l| l.starts_with("received ")).count(), 1, "{}", hook.stdout());
}

#[tokio::test]
async fn dejacode_receiver_gets_hook_data_extra_payload_and_extra_headers() {
    if !node::available("dejacode_receiver_gets_hook_data_extra_payload_and_extra_headers") {
        return;
    }
    let token = "dejacode-shared-value-789";
    let (receiver, url) = receiver("dejacode.js", &[("DEJACODE_TOKEN", token)]).await;
    let url = format!("{url}/dejacode");
    let server = Server::start(&[]).await;
    let row = |token: &str| {
        json!({"events": ["request.*"], "signature": {"scheme": "none"}, "template": template("dejacode.jq"),
               "extra_payload": {"dataspace": "Dataspace"}, "headers": {"X-DejaCode-Token": token}})
    };
    let right = endpoint(&server, url.clone(), SECRET, row(token)).await;
    let wrong = endpoint(&server, url.clone(), SECRET, row("another-value")).await;

    let data = json!({"uuid": "fbc77986-06ff-4dbb-81c3-95cd36dbed66", "title": "New vulnerability detected",
                      "status": "open", "priority": "Urgent", "cc_emails": []});
    server.send_event("request.added", data).await;

    let log = server.attempt_log(&right, "succeeded").await;
    assert_eq!(log[0]["status_code"], 200, "{log:#?}");
    let id = right["id"].as_str().unwrap();
    let line = format!(r#"received request.added {id} {url} extra={{"dataspace":"Dataspace"}}"#);
    receiver.wait_for_line(10, |l| l == line).await;
    refused(&server.attempt_log(&wrong, "dead").await);
    assert_eq!(receiver.stdout().lines().filter(|l| l.starts_with("received ")).count(), 1, "{}", receiver.stdout());
}
