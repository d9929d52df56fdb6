//! Traces: every delivery sends a W3C `traceparent` in its event's trace (the producer's,
//! with or without a tracer; else one named by the event id); with `SCANHOOK_OTLP_ENDPOINT`
//! the API request, store and attempt spans reach an OTLP/HTTP collector (a Python one,
//! tests/it/traces/otlp_receiver.py, decoding with the `opentelemetry-proto` package from
//! PyPI in a venv under target/), the attempt a child of the request that ingested its
//! event, itself a child of the producer's span.

use std::path::PathBuf;
use std::process::Command;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::process::Process;
use crate::common::{ADMIN_KEY, Receiver, Server};

const PROTO: &str = "opentelemetry-proto==1.45.2";
const PRODUCER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PRODUCER_SPAN: &str = "00f067aa0ba902b7";

fn producer_traceparent() -> String {
    format!("00-{PRODUCER_TRACE}-{PRODUCER_SPAN}-01")
}

/// The venv's python with opentelemetry-proto, installed on first use; `None` (after saying
/// so) when PyPI cannot be reached.
fn python_with_proto() -> Option<PathBuf> {
    let version = PROTO.split("==").nth(1).expect("a pinned version");
    let check = format!(
        "import sys, importlib.metadata as m; import opentelemetry.proto.collector.trace.v1.trace_service_pb2; \
         sys.exit(m.version('opentelemetry-proto') != '{version}')"
    );
    crate::common::python::with_package("otlp-venv", PROTO, &check, "traces")
}

/// The (trace id, parent span id) of a `traceparent` header.
fn ids(traceparent: &str) -> (String, String) {
    let parts: Vec<_> = traceparent.split('-').collect();
    assert!(parts.len() == 4 && parts[0] == "00" && parts[1].len() == 32 && parts[2].len() == 16, "{traceparent}");
    (parts[1].to_string(), parts[2].to_string())
}

async fn post_event(server: &Server, traceparent: Option<&str>, data: Value) -> Value {
    let mut request = server.client().post(server.url("/v1/events")).bearer_auth(ADMIN_KEY);
    if let Some(traceparent) = traceparent {
        request = request.header("traceparent", traceparent);
    }
    let response = request.json(&json!({"type": "scan.completed", "data": data})).send().await.expect("event");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    response.json().await.expect("json")
}

#[tokio::test]
async fn deliveries_continue_the_producers_trace_without_a_tracer() {
    let server = Server::start(&[]).await;
    let receiver = Receiver::start().await;
    server.create_webhook(json!({"url": receiver.url, "events": ["*"]})).await;
    // scanhook sets `traceparent`; an endpoint cannot.
    let (status, body) = server
        .post("/v1/webhooks", json!({"url": receiver.url, "events": ["*"], "headers": {"TraceParent": "x"}}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    post_event(&server, Some(&producer_traceparent()), json!({"n": 1})).await;
    let got = receiver.wait_for(1, 20).await;
    let (trace, parent) = ids(got[0].header("traceparent"));
    assert_eq!(trace, PRODUCER_TRACE);
    assert_ne!(parent, PRODUCER_SPAN, "the attempt is a span of its own");

    // No trace from the producer: the event id names one, the same on every attempt.
    let event = post_event(&server, None, json!({"n": 2})).await;
    let got = receiver.wait_for(2, 20).await;
    let (trace, _) = ids(got[1].header("traceparent"));
    let ulid = event["id"].as_str().and_then(|id| id.strip_prefix("evt_")).expect("an event id");
    let ulid = ulid::Ulid::from_string(ulid).expect("a ULID");
    assert_eq!(trace, format!("{:032x}", u128::from(ulid)));

    // Events the server derives from a change (here `project.created`) continue the trace of
    // the request that made it.
    let producer = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let response = server
        .client()
        .post(server.url("/v1/projects"))
        .bearer_auth(ADMIN_KEY)
        .header("traceparent", producer)
        .json(&json!({"name": "web", "target": "https://github.com/acme/web"}))
        .send()
        .await
        .expect("project");
    assert_eq!(response.status(), StatusCode::CREATED);
    let got = receiver.wait_for(3, 20).await;
    assert_eq!(got[2].json()["type"], "project.created");
    assert_eq!(ids(got[2].header("traceparent")).0, "0af7651916cd43dd8448eb211c80319c");
}

#[tokio::test]
async fn a_collector_that_is_down_costs_deliveries_nothing() {
    // A port nobody listens on: every export fails, and its spans are dropped.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let endpoint = format!("http://{}", closed.local_addr().expect("address"));
    drop(closed);
    let mut server = Server::start(&[("SCANHOOK_OTLP_ENDPOINT", &endpoint)]).await;
    let receiver = Receiver::start().await;
    server.create_webhook(json!({"url": receiver.url, "events": ["*"]})).await;
    for n in 0..20 {
        post_event(&server, Some(&producer_traceparent()), json!({"n": n})).await;
    }
    let got = receiver.wait_for(20, 30).await;
    assert!(got.iter().all(|r| ids(r.header("traceparent")).0 == PRODUCER_TRACE));
    assert!(server.terminate(), "the server stops cleanly:\n{}", server.log());
}

#[tokio::test]
async fn request_and_attempt_spans_reach_the_collector_in_the_producers_trace() {
    let Some(python) = python_with_proto() else { return };
    let mut command = Command::new(python);
    command.arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/traces/otlp_receiver.py"));
    let collector = Process::spawn("the OTLP receiver", command);
    let endpoint = collector.listening_url().await;
    let server = Server::start(&[("SCANHOOK_OTLP_ENDPOINT", &endpoint)]).await;
    let receiver = Receiver::start().await;
    server.create_webhook(json!({"url": receiver.url, "events": ["*"]})).await;

    post_event(&server, Some(&producer_traceparent()), json!({"n": 1})).await;
    let got = receiver.wait_for(1, 20).await;
    let (trace, attempt_span) = ids(got[0].header("traceparent"));
    assert_eq!(trace, PRODUCER_TRACE, "the receiver continues the producer's trace");

    let span = |name: &'static str| {
        move |line: &str| {
            serde_json::from_str::<Value>(line).is_ok_and(|s| s["name"] == name && s["trace_id"] == PRODUCER_TRACE)
        }
    };
    let parse = |line: String| serde_json::from_str::<Value>(&line).expect("a span");
    let request = parse(collector.wait_for_line(30, span("request")).await);
    let ingest = parse(collector.wait_for_line(30, span("store.ingest_event")).await);
    let attempt = parse(collector.wait_for_line(30, span("delivery_attempt")).await);
    assert_eq!(request["service"], "scanhook");
    assert_eq!(request["parent_span_id"], PRODUCER_SPAN, "{request}");
    assert_eq!(request["attributes"]["method"], "POST", "{request}");
    assert_eq!(ingest["parent_span_id"], request["span_id"], "{ingest}");
    assert_eq!(attempt["parent_span_id"], request["span_id"], "{attempt}");
    assert_eq!(attempt["span_id"], attempt_span.as_str(), "the receiver's parent is the attempt span");
    assert!(attempt["attributes"]["delivery_id"].as_str().is_some_and(|d| d.starts_with("dlv_")), "{attempt}");
    assert!(attempt["attributes"]["attempt_id"].as_str().is_some_and(|d| d.starts_with("atm_")), "{attempt}");
    assert!(collector.stdout().contains("\"store.complete\""), "outcomes are recorded in a span");
}
