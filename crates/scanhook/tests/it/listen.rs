//! `scanhook listen` as a developer runs it: the real binary on a free port receives real
//! deliveries from a real server, prints what came and whether it verified, and with
//! `--forward-to` relays each request unchanged to a real receiver and its answer back.

use std::process::Command;

use crate::common::process::Process;
use crate::common::receiver::status;
use crate::common::verify::standard_signature;
use crate::common::{Receiver, Server};
use reqwest::StatusCode;
use serde_json::{Value, json};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OTHER_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

fn listen(args: &[&str]) -> Process {
    let mut command = Command::new(env!("CARGO_BIN_EXE_scanhook"));
    command
        .args(["listen", "--port", "0"])
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    Process::spawn("scanhook listen", command)
}

/// The attempt log of a webhook's one delivery, once it has `status`.
async fn attempts(server: &Server, webhook: &Value, status: &str) -> (String, Vec<Value>) {
    let path = format!("/v1/deliveries?webhook_id={}", webhook["id"].as_str().unwrap());
    let list = server
        .wait_until(&path, 20, |l| l["data"].as_array().is_some_and(|d| d.len() == 1 && d[0]["status"] == status))
        .await;
    let id = list["data"][0]["id"].as_str().unwrap().to_string();
    let (_, detail) = server.get(&format!("/v1/deliveries/{id}")).await;
    (id, detail["attempt_log"].as_array().unwrap().clone())
}

/// The printed block (one per request, blank-line separated) that mentions `needle`.
async fn block_about(listener: &Process, needle: &str) -> String {
    listener.wait_for_line(20, |l| l.contains(needle)).await;
    let out = listener.stdout();
    out.split("\n\n").find(|b| b.contains(needle)).unwrap_or_default().to_string()
}

#[tokio::test]
async fn listen_prints_each_delivery_and_whether_it_verified() {
    let listener = listen(&["--secret", SECRET]);
    let url = format!("{}/any/path", listener.listening_url().await);
    let server = Server::start(&[]).await;
    let right = server.create_webhook(json!({"url": url, "events": ["scan.*"], "secret": SECRET})).await;
    let wrong = server.create_webhook(json!({"url": url, "events": ["scan.*"], "secret": OTHER_SECRET})).await;
    server.send_event("scan.completed", json!({"scanId": "scan_1", "violations": {"total": 2}})).await;

    // The listener answers 204 to everything, verified or not.
    let (right_id, log) = attempts(&server, &right, "succeeded").await;
    assert_eq!(log[0]["status_code"], 204);
    let (wrong_id, _) = attempts(&server, &wrong, "succeeded").await;

    let block = block_about(&listener, &right_id).await;
    assert!(block.contains("POST /any/path"), "{block}");
    assert!(block.contains("event:     scan.completed"), "{block}");
    assert!(block.contains(&format!("delivery:  {right_id}")), "{block}");
    assert!(block.contains("signature: verified (webhook-signature, x-scanhook-signature)"), "{block}");
    assert!(block.contains("\n      \"scanId\": \"scan_1\",\n"), "the body is pretty-printed:\n{block}");

    let block = block_about(&listener, &wrong_id).await;
    assert!(
        block.contains("signature: NOT verified: webhook-signature: no signature matches the payload; x-scanhook-signature: no signature matches the payload"),
        "{block}"
    );
}

#[tokio::test]
async fn listen_forwards_requests_unchanged_and_relays_the_answer() {
    let receiver = Receiver::start().await;
    receiver.script(&[status(500)]);
    let listener = listen(&["--secret", SECRET, "--forward-to", &receiver.url]);
    let url = format!("{}/hook", listener.listening_url().await);
    let server = Server::start(&[]).await;
    let webhook = server
        .create_webhook(json!({"url": url, "events": ["scan.*"], "secret": SECRET, "headers": {"X-Team": "appsec"}}))
        .await;
    server.send_event("scan.completed", json!({"scanId": "scan_1", "note": "ünïcode"})).await;

    // The receiver's 500 reached the sender, which retried; its 200 ended the delivery.
    let (delivery_id, log) = attempts(&server, &webhook, "succeeded").await;
    let codes: Vec<&Value> = log.iter().map(|a| &a["status_code"]).collect();
    assert_eq!(codes, [&json!(500), &json!(200)]);
    assert_eq!(log[1]["response"]["body"], "received");

    let got = receiver.wait_for(2, 10).await;
    for (attempt, request) in log.iter().zip(&got) {
        assert_eq!(request.body, attempt["request"]["body"].as_str().unwrap().as_bytes(), "the body is byte-identical");
        for pair in attempt["request"]["headers"].as_array().unwrap() {
            let (name, value) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
            assert_eq!(request.header(name), value, "header {name} is relayed unchanged");
        }
        let signed = standard_signature(
            SECRET,
            request.header("webhook-id"),
            request.header("webhook-timestamp"),
            &request.body,
        );
        assert_eq!(request.header("webhook-signature"), signed);
    }

    let out = listener.wait_for_line(10, |l| l.contains("forwarded:") && l.contains("200 OK")).await;
    assert!(out.contains(&format!("from {}", receiver.url)), "{out}");
    let block = block_about(&listener, "500 Internal Server Error").await;
    assert!(block.contains(&delivery_id) && block.contains("signature: verified"), "{block}");
}

#[tokio::test]
async fn listen_without_a_secret_shows_raw_bodies_and_failed_forwards() {
    // Port 1 is closed: the forward fails and the sender gets a 502 to retry on.
    let listener = listen(&["--forward-to", "http://127.0.0.1:1/hook"]);
    let url = listener.listening_url().await;
    assert!(listener.stdout().contains("no --secret, so signatures are not checked"));

    let answer = reqwest::Client::new()
        .put(format!("{url}/plain?x=1"))
        .header("X-Acme-Event", "build.finished")
        .header("webhook-id", "msg_42")
        .body("not JSON at all")
        .send()
        .await
        .expect("the listener answers");
    assert_eq!(answer.status(), StatusCode::BAD_GATEWAY);

    let block = block_about(&listener, "PUT /plain?x=1").await;
    assert!(block.contains("event:     build.finished"), "{block}");
    assert!(block.contains("delivery:  msg_42"), "{block}");
    assert!(block.contains("signature: not checked (no --secret)"), "{block}");
    assert!(block.contains("forwarded: failed:"), "{block}");
    assert!(block.contains("  not JSON at all"), "{block}");
}

#[tokio::test]
async fn listen_checks_bearer_tokens() {
    let listener = listen(&["--token", "rcv-token-1"]);
    let url = listener.listening_url().await;
    let server = Server::start(&[]).await;
    let scheme = json!({"scheme": "bearer"});
    let right = server
        .create_webhook(json!({"url": url, "events": ["*"], "signature": scheme, "bearer_token": "rcv-token-1"}))
        .await;
    let wrong = server
        .create_webhook(json!({"url": url, "events": ["*"], "signature": scheme, "bearer_token": "guessed"}))
        .await;
    server.send_event("scan.started", json!({})).await;
    let (right_id, _) = attempts(&server, &right, "succeeded").await;
    let (wrong_id, _) = attempts(&server, &wrong, "succeeded").await;
    assert!(block_about(&listener, &right_id).await.contains("bearer:    verified"));
    let block = block_about(&listener, &wrong_id).await;
    assert!(block.contains("bearer:    NOT verified"), "{block}");
}
