//! `kind: cloudevents` end to end: real deliveries from the real server to a receiver built
//! on the official CloudEvents SDK for Python (tests/it/cloudevents/ce_receiver.py, the
//! `cloudevents` package from PyPI in a venv under target/), in structured and binary
//! mode, signatures verified; the abuse-protection handshake of `validate: true`; and what
//! the bytes on the wire look like, at a plain receiver.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::process::Process;
use crate::common::{Receiver, Server};
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// The SDK version the receiver is written against.
const SDK: &str = "cloudevents==2.2.0";

/// The venv's python with the SDK, installed on first use; `None` (after saying so) when
/// PyPI cannot be reached.
fn python_with_sdk() -> Option<PathBuf> {
    let version = SDK.split("==").nth(1).expect("a pinned version");
    let check = format!("import cloudevents, sys; sys.exit(cloudevents.__version__ != '{version}')");
    crate::common::python::with_package("cloudevents-venv", SDK, &check, "cloudevents")
}

fn sdk_receiver(python: &Path) -> Process {
    let mut command = Command::new(python);
    command
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/cloudevents/ce_receiver.py"))
        .env("WEBHOOK_SECRET", SECRET)
        .env("PORT", "0");
    Process::spawn("the CloudEvents SDK receiver", command)
}

fn time(raw: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(raw).unwrap_or_else(|e| panic!("{raw}: {e}")).with_timezone(&Utc)
}

/// The events the receiver printed (as the SDK read them), once there are `n`.
async fn printed_events(receiver: &Process, n: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let events: Vec<Value> = receiver
            .stdout()
            .lines()
            .filter_map(|l| l.strip_prefix("event "))
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        if events.len() >= n {
            return events;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {n} events arrived\nstdout:\n{}\nstderr:\n{}",
            events.len(),
            receiver.stdout(),
            receiver.stderr()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_sdk_reads_scan_and_project_events_in_both_modes() {
    let Some(python) = python_with_sdk() else { return };
    let receiver = sdk_receiver(&python);
    let url = format!("{}/events", receiver.listening_url().await);
    let server = Server::start(&[]).await;
    let events = ["scan.*", "project.*"];
    let structured =
        server.create_webhook(json!({"url": url, "events": events, "secret": SECRET, "kind": "cloudevents"})).await;
    assert_eq!(structured["kind"], "cloudevents");
    // A source with a space, percent-encoded: its `%` is encoded again in the header.
    let source = "/scanhook/ci?region=eu%20west";
    let binary = server
        .create_webhook(json!({"url": url, "events": events, "secret": SECRET, "kind": "cloudevents",
                               "cloudevents": {"mode": "binary", "source": source}}))
        .await;
    assert_eq!(binary["cloudevents"], json!({"mode": "binary", "source": source}));

    // A project event (derived: project.created) and a scan event (scan.started).
    let (_, project) = server.post("/v1/projects", json!({"name": "web", "target": "example.com"})).await;
    let (code, scan) = server.post("/v1/scans", json!({"project": project["id"]})).await;
    assert_eq!(code, StatusCode::CREATED, "{scan}");

    let printed = printed_events(&receiver, 4).await;
    let (_, stored) = server.get("/v1/events").await;
    let origin = server.base.trim_start_matches("http://").split(':').next().unwrap().to_string();
    for (event_type, subject) in [("project.created", &project["id"]), ("scan.started", &scan["id"])] {
        let event = stored["data"].as_array().unwrap().iter().find(|e| e["type"] == event_type).expect("stored");
        for (mode, source, content_type) in [
            ("structured", format!("{}/", server.base), "application/cloudevents+json; charset=utf-8"),
            ("binary", source.to_string(), "application/json"),
        ] {
            let got = printed
                .iter()
                .find(|p| p["type"] == event_type && p["mode"] == mode)
                .unwrap_or_else(|| panic!("no {mode} {event_type} in {printed:#?}"));
            assert_eq!(got["specversion"], "1.0");
            assert_eq!(got["id"], event["id"], "{mode} {event_type}");
            assert_eq!(got["source"], source.as_str(), "{mode} {event_type}");
            assert_eq!(got["subject"], *subject, "{mode} {event_type}");
            assert_eq!(time(got["time"].as_str().unwrap()), time(event["timestamp"].as_str().unwrap()));
            assert_eq!(got["datacontenttype"], "application/json");
            assert_eq!(got["data"], event["data"], "{mode} {event_type}: the data is the event's");
            assert_eq!(got["content_type"], content_type);
            assert_eq!(got["origin"], origin.as_str());
        }
    }
    // Each delivery verified (the receiver answers 401 otherwise) and parsed (400).
    for webhook in [&structured, &binary] {
        let path = format!("/v1/deliveries?webhook_id={}", webhook["id"].as_str().unwrap());
        server
            .wait_until(&path, 20, |l| {
                l["data"].as_array().is_some_and(|d| d.len() == 2 && d.iter().all(|d| d["status"] == "succeeded"))
            })
            .await;
    }
    assert!(receiver.stderr().is_empty(), "{}", receiver.stderr());
}

#[tokio::test]
async fn validate_true_creates_only_endpoints_that_consent() {
    let Some(python) = python_with_sdk() else { return };
    let receiver = sdk_receiver(&python);
    let consenting = format!("{}/events", receiver.listening_url().await);
    let server = Server::start(&[("SCANHOOK_PUBLIC_URL", "https://hooks.example.com/scanhook")]).await;

    let created = server
        .create_webhook(json!({"url": consenting, "events": ["*"], "kind": "cloudevents", "validate": true}))
        .await;
    assert!(created.get("validate").is_none(), "not stored: {created}");
    receiver.wait_for_line(10, |l| l == "handshake from hooks.example.com").await;

    // A plain server answers OPTIONS with 200 but no WebHook-Allowed-Origin: no consent.
    let plain = Receiver::start().await;
    let (code, problem) =
        server.post("/v1/webhooks", json!({"url": plain.url, "events": ["*"], "validate": true})).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["field"], "url");
    let message = problem["message"].as_str().unwrap();
    assert!(message.contains("HTTP 200") && message.contains("no WebHook-Allowed-Origin"), "{message}");
    let asked = plain.received();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].header("webhook-request-origin"), "hooks.example.com");

    // Nothing listening: refused too, with the reason.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gone = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    let (code, problem) = server.post("/v1/webhooks", json!({"url": gone, "events": ["*"], "validate": true})).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem["message"].as_str().unwrap().contains("no answer"), "{problem}");

    let (_, listed) = server.get("/v1/webhooks").await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1, "only the consenting endpoint was stored: {listed}");
    // Without validate, the same plain server is taken as before.
    server.create_webhook(json!({"url": plain.url, "events": ["*"]})).await;

    // A server that sends nothing does not ask either.
    let api_only = Server::start(&[("SCANHOOK_DISPATCH", "false")]).await;
    let (code, problem) =
        api_only.post("/v1/webhooks", json!({"url": consenting, "events": ["*"], "validate": true})).await;
    assert_eq!((code, problem["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validate")), "{problem}");
    assert_eq!(receiver.stdout().matches("handshake from").count(), 1, "{}", receiver.stdout());
}

#[tokio::test]
async fn the_wire_carries_encoded_headers_and_a_template_shapes_the_data() {
    let receiver = Receiver::start().await;
    let mut server = Server::start(&[("SCANHOOK_PUBLIC_URL", "https://hooks.example.com")]).await;
    server
        .create_webhook(json!({"url": receiver.url, "events": ["scan.completed"], "kind": "cloudevents",
                               "cloudevents": {"mode": "binary"}, "secret": SECRET}))
        .await;
    server
        .create_webhook(json!({"url": receiver.url, "events": ["scan.completed"], "kind": "cloudevents",
                               "template": "{scan: .data.scanId, kind: .type}", "extra_payload": {"tenant": "acme"}}))
        .await;
    let subject = "scan 1 \"€\" 100%";
    let accepted = server.send_event("scan.completed", json!({"scanId": subject, "n": 1.50})).await;
    let got = receiver.wait_for(2, 20).await;

    let binary = got.iter().find(|r| !r.header("ce-id").is_empty()).expect("the binary delivery");
    assert_eq!(binary.header("content-type"), "application/json");
    assert_eq!(binary.header("ce-specversion"), "1.0");
    assert_eq!(binary.header("ce-id"), accepted["id"].as_str().unwrap());
    assert_eq!(binary.header("ce-source"), "https://hooks.example.com/");
    assert_eq!(binary.header("ce-type"), "scan.completed");
    assert_eq!(binary.header("ce-subject"), "scan%201%20%22%E2%82%AC%22%20100%25");
    assert_eq!(time(binary.header("ce-time")), time(accepted["timestamp"].as_str().unwrap()));
    assert_eq!(binary.header("webhook-request-origin"), "hooks.example.com");
    assert_eq!(binary.json(), json!({"scanId": subject, "n": 1.5}), "the body is the data");
    assert!(!binary.header("webhook-signature").is_empty(), "signed as any endpoint");

    let structured = got.iter().find(|r| r.header("ce-id").is_empty()).expect("the structured delivery");
    assert_eq!(structured.header("content-type"), "application/cloudevents+json; charset=utf-8");
    let event = structured.json();
    assert_eq!(event["subject"], subject);
    assert_eq!(event["data"], json!({"scan": subject, "kind": "scan.completed", "tenant": "acme"}));

    // The settings belong to kind cloudevents only.
    let (code, problem) = server
        .post("/v1/webhooks", json!({"url": receiver.url, "events": ["*"], "cloudevents": {"mode": "binary"}}))
        .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["field"], "cloudevents");
    let (code, problem) = server
        .post(
            "/v1/webhooks",
            json!({"url": receiver.url, "events": ["*"], "kind": "cloudevents",
                                      "headers": {"ce-source": "spoofed"}}),
        )
        .await;
    assert_eq!((code, problem["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("headers")), "{problem}");

    // The public URL is checked at start; it is sent to every receiver, so never a secret.
    assert!(server.terminate());
    for bad in
        ["hooks.example.com", "ftp://hooks.example.com", "https://u:hunter2@hooks.example.com", "https://h.example/?a"]
    {
        let log = server.start_fails_with(&[("SCANHOOK_PUBLIC_URL", bad)]);
        assert!(log.contains("SCANHOOK_PUBLIC_URL") && !log.contains("hunter2"), "{bad}: {log}");
    }
}
