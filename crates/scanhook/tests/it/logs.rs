//! Logs: with `SCANHOOK_LOG_FORMAT=json` and every level on, each line is a JSON object;
//! request ids (the caller's, or a new one) come back in `X-Request-Id` and name the
//! request's lines; an attempt's lines name its delivery and attempt ids; and no line holds
//! a credential of any kind or an event's payload.

use base64::Engine as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{ADMIN_KEY, Receiver, Server};
use crate::dashboard::{browser, portal_session, sign_in};

/// A value only the events' data holds.
const PAYLOAD: &str = "payload-LOGTEST-7f3a9c";
const USER_SECRET: &str = "whsec_TE9HVEVTVC11c2VyLWdpdmVuLXNlY3JldA==";
const ED25519_SECRET: &str =
    "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg==";
const BEARER: &str = "bearer-LOGTEST-token-1";
const DEJACODE: &str = "dejacode-LOGTEST-token-2";
const MARKED: &str = "marked-LOGTEST-value-3";

fn lines(log: &str) -> Vec<Value> {
    log.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {l}")))
        .collect()
}

/// Whether any span of `line` (or the current one) has `field` = `value`.
fn in_span(line: &Value, field: &str, value: &str) -> bool {
    let spans = line["spans"].as_array().into_iter().flatten().chain(std::iter::once(&line["span"]));
    spans.into_iter().any(|s| s[field] == value)
}

#[tokio::test]
async fn json_logs_name_requests_and_attempts_and_hold_no_secret_or_payload() {
    let encryption_key = base64::engine::general_purpose::STANDARD.encode(b"LOGTEST-encryption-key-32-bytes!");
    let server = Server::start(&[
        ("SCANHOOK_LOG", "trace"),
        ("SCANHOOK_LOG_FORMAT", "json"),
        ("SCANHOOK_ENCRYPTION_KEY", &encryption_key),
    ])
    .await;
    let receiver = Receiver::start().await;

    // Credentials of every kind: account keys, endpoint secrets (generated, given,
    // Ed25519), a bearer token, sensitive headers, a session and a portal link.
    let (status, account) = server.post("/v1/accounts", json!({"name": "logs"})).await;
    assert_eq!(status, StatusCode::CREATED, "{account}");
    let account_key = account["api_key"]["key"].as_str().expect("a key").to_string();
    let generated = server
        .create_webhook(json!({"url": receiver.url, "events": ["*"], "bearer_token": BEARER,
            "headers": {"X-DejaCode-Token": DEJACODE, "X-Marked": MARKED}, "sensitive_headers": ["X-Marked"]}))
        .await;
    let generated_secret = generated["secret"].as_str().expect("a secret").to_string();
    server.create_webhook(json!({"url": receiver.url, "events": ["*"], "secret": USER_SECRET})).await;
    server
        .create_webhook(json!({"url": receiver.url, "events": ["*"], "secret": ED25519_SECRET,
            "signature": {"scheme": "standard-ed25519"}}))
        .await;
    let (status, rotated) =
        server.post(&format!("/v1/webhooks/{}/rotate-secret", generated["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let rotated_secret = rotated["secret"].as_str().expect("a new secret").to_string();
    let (session, _) = sign_in(&server, ADMIN_KEY).await;
    let (status, _) = crate::dashboard::page(&server, &session, "/endpoints").await;
    assert_eq!(status, StatusCode::OK);
    let portal = portal_session(&server, ADMIN_KEY, json!({})).await;
    let (status, link) = server.call(Method::POST, "/v1/portal-links", Some(json!({})), None).await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    let link_url = link["url"].as_str().expect("a link").to_string();
    let link_token = link_url.rsplit('/').next().expect("a token").to_string();
    let _ = browser().get(&link_url).send().await;
    // The account's key works, and a refused key is still not logged.
    let (status, _) = server.call(Method::GET, "/v1/webhooks", None, Some(&account_key)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server.call(Method::GET, "/v1/webhooks", None, Some("shk_wrong_LOGTEST_key_000000")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A request id the caller chose comes back and names the request's lines; a malformed
    // one is replaced.
    let response = server
        .client()
        .post(server.url("/v1/events"))
        .bearer_auth(ADMIN_KEY)
        .header("x-request-id", "caller-LOGTEST-42")
        .json(&json!({"type": "scan.completed", "data": {"note": PAYLOAD}}))
        .send()
        .await
        .expect("event");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(response.headers()["x-request-id"], "caller-LOGTEST-42");
    let response = server
        .client()
        .get(server.url("/v1/events"))
        .bearer_auth(ADMIN_KEY)
        .header("x-request-id", "has spaces; and \"quotes\"")
        .send()
        .await
        .expect("list");
    let generated_id = response.headers()["x-request-id"].to_str().expect("ascii").to_string();
    assert!(generated_id.starts_with("req_") && generated_id.len() < 40, "{generated_id}");
    server.send_event("scan.completed", json!({"again": PAYLOAD})).await;

    receiver.wait_for(6, 20).await;
    let all_sent =
        |l: &Value| l["data"].as_array().is_some_and(|d| d.len() == 6 && d.iter().all(|d| d["status"] == "succeeded"));
    let deliveries = server.wait_until("/v1/deliveries", 20, all_sent).await;
    let delivery = deliveries["data"][0]["id"].as_str().expect("a delivery").to_string();
    let (_, detail) = server.get(&format!("/v1/deliveries/{delivery}")).await;
    let attempt_id = detail["attempt_log"][0]["id"].as_str().expect("an attempt").to_string();
    // Outcomes are recorded after the receiver has answered: give the lines time to land.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    let log = server.log();
    let all = lines(&log);
    let database_password = server
        .database
        .as_ref()
        .and_then(|d| reqwest::Url::parse(&d.url).ok())
        .and_then(|u| u.password().map(str::to_string));
    let mut secrets = vec![
        ADMIN_KEY.to_string(),
        account_key,
        generated_secret,
        rotated_secret,
        USER_SECRET.into(),
        ED25519_SECRET.into(),
        BEARER.into(),
        DEJACODE.into(),
        MARKED.into(),
        session,
        portal,
        link_token,
        encryption_key,
        "shk_wrong_LOGTEST_key_000000".into(),
        PAYLOAD.into(),
    ];
    secrets.extend(database_password.filter(|p| p.len() >= 4));
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "the log holds '{secret}':\n{log}");
    }
    let with_request = |id: &str| all.iter().filter(|l| in_span(l, "request_id", id)).count();
    assert!(with_request("caller-LOGTEST-42") > 0, "no line names the caller's request id:\n{log}");
    assert!(with_request(&generated_id) > 0, "no line names the generated request id:\n{log}");
    assert!(
        all.iter().any(|l| in_span(l, "delivery_id", &delivery) && in_span(l, "attempt_id", &attempt_id)),
        "no line names delivery {delivery} and attempt {attempt_id}:\n{log}"
    );
}

#[tokio::test]
async fn an_unknown_log_format_or_a_malformed_otlp_endpoint_stops_the_start() {
    let mut server = Server::start(&[]).await;
    server.kill();
    let log = server.start_fails_with(&[("SCANHOOK_LOG_FORMAT", "yaml")]);
    assert!(log.contains("SCANHOOK_LOG_FORMAT must be 'text' or 'json'"), "{log}");
    let log = server.start_fails_with(&[("SCANHOOK_OTLP_ENDPOINT", "collector:4318")]);
    assert!(log.contains("SCANHOOK_OTLP_ENDPOINT must be an http:// or https:// URL"), "{log}");
}
