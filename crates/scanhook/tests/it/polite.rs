//! Polite retries end to end: a receiver's `429`/`503` with `Retry-After` (seconds or an
//! HTTP date) holds its endpoint back — the failed delivery's retry and every other
//! delivery to it, on every node — for at most the retry schedule's longest step, and
//! waiting costs no attempts; `410 Gone` disables the endpoint at once. The attempt log
//! says why.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::receiver::{RetryAfter, retry_after, status};
use crate::common::{Receiver, Server};
use crate::dashboard::{page, sign_in};

/// A short schedule (a retry 100 ms after a failure) whose longest step, 3 s, is above the
/// waits the receivers ask for.
const SCHEDULE: (&str, &str) = ("SCANHOOK_RETRY_SCHEDULE", "0s,100ms,100ms,3s");

/// How much sooner than asked a request may arrive: clocks read in milliseconds, a pause
/// starts when the answer is recorded (a little after it arrived), and a date has whole
/// seconds.
const SLACK: Duration = Duration::from_millis(100);

fn id(v: &Value) -> &str {
    v["id"].as_str().expect("an id")
}

/// The delivery of `event` and its attempt log, once it is `status`.
async fn delivery(server: &Server, event: &Value, status: &str) -> (Value, Vec<Value>) {
    let path = format!("/v1/deliveries?event_id={}", id(event));
    let list = server
        .wait_until(&path, 20, |l| l["data"].as_array().is_some_and(|d| d.len() == 1 && d[0]["status"] == status))
        .await;
    let (_, detail) = server.get(&format!("/v1/deliveries/{}", id(&list["data"][0]))).await;
    let log = detail["attempt_log"].as_array().expect("an attempt log").clone();
    (detail, log)
}

/// The event IDs of requests that arrived at `receiver`, with how long after `start`.
fn arrivals(receiver: &Receiver, start: Instant) -> Vec<(String, Duration)> {
    receiver.received().iter().map(|r| (r.header("webhook-id").to_string(), r.at.duration_since(start))).collect()
}

/// What the two-node test and the one-node test share: `429` with `Retry-After: 2` to the
/// first event; a second event accepted (by `second`) once that answer is recorded. Neither
/// the first event's retry (the schedule says 100 ms) nor the second event arrives sooner
/// than 2 s after the 429, and each costs exactly one more request.
async fn a_pause_holds_every_delivery_back(first: &Server, second: &Server) {
    let receiver = Receiver::start().await;
    receiver.script(&[retry_after(429, RetryAfter::Value("2"))]);
    let webhook = first.create_webhook(json!({"url": receiver.url, "events": ["*"]})).await;
    let a = first.send_event("scan.completed", json!({"n": 1})).await;
    let start = receiver.wait_for(1, 10).await[0].at;
    // The 429 is recorded (the endpoint is paused) once the attempt is in the log.
    first.wait_until(&format!("/v1/deliveries?event_id={}", id(&a)), 10, |l| l["data"][0]["attempts"] == 1).await;
    let (_, endpoint) = first.get(&format!("/v1/webhooks/{}", id(&webhook))).await;
    assert!(endpoint["retry_not_before"].is_string(), "the endpoint shows its pause: {endpoint}");
    let shown = crate::cli::Cli::of(first).run(&["webhooks", "get", id(&webhook)]).await;
    assert!(shown.ok().contains("paused until"), "the CLI shows it too: {}", shown.ok());
    let (token, _) = sign_in(first, &first.key).await;
    let (_, html) = page(first, &token, &format!("/endpoints/{}", id(&webhook))).await;
    assert!(html.contains("Paused by its receiver"), "and the dashboard: {html}");
    let b = second.send_event("scan.completed", json!({"n": 2})).await;

    let got = receiver.wait_for(3, 15).await;
    let after: Vec<_> = arrivals(&receiver, start);
    for (event, at) in &after[1..] {
        assert!(*at + SLACK >= Duration::from_secs(2), "{event} arrived {at:?} after the 429: {after:?}");
    }
    let (a_detail, a_log) = delivery(first, &a, "succeeded").await;
    let (b_detail, _) = delivery(second, &b, "succeeded").await;
    assert_eq!(a_detail["attempts"], 2, "the 429 and the retry: {a_detail}");
    assert_eq!(b_detail["attempts"], 1, "waiting for the pause is no attempt: {b_detail}");
    assert_eq!(a_log[0]["status_code"], 429);
    let error = a_log[0]["error"].as_str().unwrap();
    assert!(error.contains("asked to retry after 2s"), "the attempt log says why: {error}");
    assert_eq!(got.iter().filter(|r| r.header("webhook-id") == id(&a)).count(), 2);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 3, "nothing more arrived");
}

#[tokio::test]
async fn retry_after_in_seconds_holds_the_endpoint_back_without_costing_attempts() {
    let server = Server::start(&[SCHEDULE]).await;
    a_pause_holds_every_delivery_back(&server, &server).await;
}

/// Two nodes on one PostgreSQL database: the pause one node recorded holds the other too.
#[tokio::test]
async fn a_pause_holds_on_every_node() {
    let test = "a_pause_holds_on_every_node";
    let Some(nodes) = crate::common::postgres::TwoNodes::start(test, &[SCHEDULE]).await else { return };
    a_pause_holds_every_delivery_back(&nodes.one, &nodes.two).await;
}

/// `Retry-After` as an HTTP date is read too; one of a year is cut to the schedule's
/// longest step (2 s here), and the attempt log says so.
#[tokio::test]
async fn an_http_date_is_honoured_and_an_absurd_wait_is_cut_to_the_longest_step() {
    let server = Server::start(&[("SCANHOOK_RETRY_SCHEDULE", "0s,100ms,2s")]).await;
    let (dated, absurd) = (Receiver::start().await, Receiver::start().await);
    // A whole-second date 3 s ahead is between 2 and 3 s ahead: within the longest step.
    dated.script(&[retry_after(503, RetryAfter::DateIn(Duration::from_millis(2600)))]);
    absurd.script(&[retry_after(429, RetryAfter::Value("31536000"))]);
    let on_dated = server.create_webhook(json!({"url": dated.url, "events": ["scan.*"]})).await;
    let on_absurd = server.create_webhook(json!({"url": absurd.url, "events": ["violation.*"]})).await;
    let sent = Instant::now();
    let d = server.send_event("scan.completed", json!({})).await;
    let x = server.send_event("violation.detected", json!({})).await;

    let got = dated.wait_for(2, 15).await;
    let waited = got[1].at.duration_since(got[0].at);
    assert!(waited + SLACK >= Duration::from_millis(1600), "the date's wait was kept: {waited:?}");
    let got = absurd.wait_for(2, 15).await;
    let waited = got[1].at.duration_since(got[0].at);
    assert!(waited + SLACK >= Duration::from_secs(2), "{waited:?}");
    assert!(waited < Duration::from_secs(6), "a year is cut to the longest step (2 s): {waited:?}");
    assert!(sent.elapsed() < Duration::from_secs(10));

    let (_, log) = delivery(&server, &d, "succeeded").await;
    assert_eq!(log[0]["status_code"], 503);
    assert!(log[0]["error"].as_str().unwrap().contains("asked to retry after"), "{}", log[0]);
    let (_, log) = delivery(&server, &x, "succeeded").await;
    let error = log[0]["error"].as_str().unwrap();
    assert!(error.contains("asked to retry after 31536000s"), "{error}");
    assert!(error.contains("for 2s, the retry schedule's longest step"), "{error}");
    let (_, endpoint) = server.get(&format!("/v1/webhooks/{}", id(&on_absurd))).await;
    assert!(endpoint.get("retry_not_before").is_none(), "a pause over is not shown: {endpoint}");
    let (_, endpoint) = server.get(&format!("/v1/webhooks/{}", id(&on_dated))).await;
    assert_eq!(endpoint["active"], true);
}

/// A `Retry-After` that is neither form is ignored (the schedule decides), and says so.
#[tokio::test]
async fn a_garbage_retry_after_is_ignored() {
    let server = Server::start(&[SCHEDULE]).await;
    let receiver = Receiver::start().await;
    receiver.script(&[retry_after(429, RetryAfter::Value("soon, maybe"))]);
    server.create_webhook(json!({"url": receiver.url, "events": ["*"]})).await;
    let e = server.send_event("scan.completed", json!({})).await;
    let got = receiver.wait_for(2, 10).await;
    assert!(got[1].at.duration_since(got[0].at) < Duration::from_secs(2), "the schedule's 100 ms decided");
    let (_, log) = delivery(&server, &e, "succeeded").await;
    let error = log[0]["error"].as_str().unwrap();
    assert!(error.contains("'soon, maybe' is neither seconds nor an HTTP date"), "{error}");
}

/// `410 Gone` disables the endpoint after that one attempt, with that reason; its delivery
/// and those of later events are held for `enable`, and nothing more is sent.
#[tokio::test]
async fn gone_disables_the_endpoint_at_once_with_that_reason() {
    let server = Server::start(&[SCHEDULE]).await;
    let receiver = Receiver::start().await;
    receiver.always(status(410));
    let webhook = server.create_webhook(json!({"url": receiver.url, "events": ["*"]})).await;
    let first = server.send_event("scan.completed", json!({})).await;
    let path = format!("/v1/webhooks/{}", id(&webhook));
    let endpoint = server.wait_until(&path, 10, |w| w["active"] == false).await;
    let reason = endpoint["disabled_reason"].as_str().unwrap();
    assert!(reason.contains("410 Gone"), "{reason}");
    assert!(endpoint["disabled_at"].is_string(), "{endpoint}");

    let (detail, log) = delivery(&server, &first, "held").await;
    assert_eq!(detail["attempts"], 1, "{detail}");
    assert_eq!(log[0]["status_code"], 410);
    assert_eq!(log[0]["error"], "endpoint answered HTTP 410 Gone: the endpoint is disabled");
    let (token, _) = sign_in(&server, &server.key).await;
    let (_, html) = page(&server, &token, &format!("/endpoints/{}", id(&webhook))).await;
    assert!(html.contains("Disabled after failures") && html.contains("410 Gone"), "{html}");
    let (_, html) = page(&server, &token, &format!("/deliveries/{}", id(&detail))).await;
    assert!(html.contains("endpoint answered HTTP 410 Gone: the endpoint is disabled"), "{html}");
    let later = server.send_event("scan.completed", json!({})).await;
    assert_eq!(later["deliveries"], 1, "held for the endpoint");
    delivery(&server, &later, "held").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 1, "one attempt, nothing after it");
}

/// A test event to an endpoint the user switched off still reaches it; a `410 Gone` to it
/// leaves the endpoint as the user left it, and nothing is held for it.
#[tokio::test]
async fn gone_to_a_test_event_of_a_switched_off_endpoint_holds_nothing() {
    let server = Server::start(&[SCHEDULE]).await;
    let receiver = Receiver::start().await;
    receiver.always(status(410));
    let webhook = server.create_webhook(json!({"url": receiver.url, "events": ["*"], "active": false})).await;
    let (code, test) = server.post(&format!("/v1/webhooks/{}/test", id(&webhook)), json!({})).await;
    assert!(code.is_success(), "{test}");
    let (detail, _) = delivery(&server, &json!({"id": test["event_id"]}), "dead").await;
    assert_eq!(detail["attempts"], 1, "{detail}");
    let (_, endpoint) = server.get(&format!("/v1/webhooks/{}", id(&webhook))).await;
    assert!(endpoint["active"] == false && endpoint.get("disabled_reason").is_none(), "{endpoint}");
}
