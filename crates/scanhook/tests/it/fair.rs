//! Fair to every endpoint: an endpoint that hangs until the timeout holds at most its
//! `max_in_flight` requests open while a healthy endpoint's deliveries arrive promptly, and
//! a `rate_limit` paces an endpoint's deliveries (excess ones wait, none lost, no attempt
//! burnt), across nodes too. Invalid settings are 422s naming the field.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

use crate::common::postgres::TwoNodes;
use crate::common::{Receiver, Server};

/// A receiver that reads requests and never answers: it counts the connections open to it
/// at once (a connection is open from its accept until the sender closes it), and the most
/// it ever saw.
#[derive(Clone)]
struct Hanging {
    url: String,
    open: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    accepted: Arc<AtomicUsize>,
}

impl Hanging {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let hanging = Hanging { url, open: Arc::default(), peak: Arc::default(), accepted: Arc::default() };
        let h = hanging.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let now = h.open.fetch_add(1, Ordering::SeqCst) + 1;
                h.peak.fetch_max(now, Ordering::SeqCst);
                h.accepted.fetch_add(1, Ordering::SeqCst);
                let open = h.open.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    // Until the sender gives up (its timeout) and closes the connection.
                    while matches!(socket.read(&mut buf).await, Ok(n) if n > 0) {}
                    open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        hanging
    }
}

/// (a) A hanging endpoint saturated with deliveries does not stop a healthy one. The node
/// has 8 slots in all; the hanging endpoint may hold 3. Without the cap, its 40 deliveries
/// (sent first, so due first) would take every slot for a 2 s timeout after another, and the
/// healthy endpoint's deliveries would wait about 10 s.
#[tokio::test]
async fn a_hanging_endpoint_holds_its_own_slots_and_no_more() {
    let server =
        Server::start(&[("SCANHOOK_MAX_IN_FLIGHT", "8"), ("SCANHOOK_RETRY_SCHEDULE", "0s,100ms,100ms,100ms")]).await;
    let hanging = Hanging::start().await;
    let healthy = Receiver::start().await;
    server.create_webhook(json!({"url": hanging.url, "events": ["scan.*"], "max_in_flight": 3})).await;
    server.create_webhook(json!({"url": healthy.url, "events": ["violation.*"]})).await;
    for n in 0..40 {
        server.send_event("scan.completed", json!({"n": n})).await;
    }
    // The hanging endpoint is saturated before the healthy one has work.
    let deadline = Instant::now() + Duration::from_secs(10);
    while hanging.open.load(Ordering::SeqCst) < 3 {
        assert!(Instant::now() < deadline, "the hanging endpoint never got its 3 slots");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let sent = Instant::now();
    for n in 0..20 {
        server.send_event("violation.detected", json!({"n": n})).await;
    }
    let got = healthy.wait_for(20, 30).await;
    let last = got.iter().map(|r| r.at).max().unwrap().duration_since(sent);
    // Generous: each arrives in milliseconds once claimed; 10 s is the uncapped figure.
    assert!(last < Duration::from_secs(5), "the healthy endpoint's 20 deliveries took {last:?}");
    // Several timeouts later, the hanging endpoint never had more than its 3 open.
    tokio::time::sleep(Duration::from_millis(4500)).await;
    assert!(hanging.accepted.load(Ordering::SeqCst) > 3, "it was sent to again after timeouts");
    assert_eq!(hanging.peak.load(Ordering::SeqCst), 3, "at most max_in_flight requests open at once");
}

/// The arrivals of `receiver`'s `n` requests, from the first.
async fn paced(receiver: &Receiver, n: usize) -> Vec<Duration> {
    let got = receiver.wait_for(n, 30).await;
    let first = got[0].at;
    let mut at: Vec<Duration> = got.iter().map(|r| r.at.duration_since(first)).collect();
    at.sort();
    at
}

/// What the one-node and two-node tests check: `rate_limit` 5 a second with a burst of 5,
/// 20 events. Five may go at once, then one each 200 ms: the k-th arrival (from 0) comes at
/// least (k − 4) × 200 ms after the first, so the last about 3 s after it. Each delivery
/// succeeds with one attempt: waiting for a token is not an attempt.
async fn twenty_events_at_five_a_second(accept: &[&Server]) {
    let receiver = Receiver::start().await;
    let server = accept[0];
    let webhook = server
        .create_webhook(json!({"url": receiver.url, "events": ["*"], "rate_limit": 5, "rate_limit_burst": 5}))
        .await;
    assert_eq!((&webhook["rate_limit"], &webhook["rate_limit_burst"]), (&json!(5), &json!(5)), "{webhook}");
    for n in 0..20 {
        accept[n % accept.len()].send_event("scan.completed", json!({"n": n})).await;
    }
    let at = paced(&receiver, 20).await;
    // Clocks read in milliseconds, and a token's time is when the claim read the clock.
    let slack = Duration::from_millis(120);
    for (k, t) in at.iter().enumerate().skip(5) {
        let earliest = Duration::from_millis(200) * (k as u32 - 4);
        assert!(*t + slack >= earliest, "arrival {k} at {t:?}, before {earliest:?}: {at:?}");
    }
    assert!(at[19] + slack >= Duration::from_secs(3), "20 events over about 3 s: {at:?}");
    let path = format!("/v1/deliveries?webhook_id={}&limit=100", webhook["id"].as_str().unwrap());
    let list = server
        .wait_until(&path, 10, |l| {
            l["data"].as_array().is_some_and(|d| d.len() == 20 && d.iter().all(|d| d["status"] == "succeeded"))
        })
        .await;
    for d in list["data"].as_array().unwrap() {
        assert_eq!(d["attempts"], 1, "waiting for a token costs no attempt: {d}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 20, "none twice, none lost");
}

/// (b) One node.
#[tokio::test]
async fn a_rate_limit_paces_deliveries_without_losing_or_burning_any() {
    let server = Server::start(&[]).await;
    twenty_events_at_five_a_second(&[&server]).await;
}

/// (b) Two nodes on one PostgreSQL database draw from one bucket: the endpoint's rate is
/// not doubled.
#[tokio::test]
async fn a_rate_limit_holds_across_nodes() {
    let test = "a_rate_limit_holds_across_nodes";
    let Some(nodes) = TwoNodes::start(test, &[]).await else { return };
    twenty_events_at_five_a_second(&[&nodes.one, &nodes.two]).await;
}

/// (c) Out-of-range and ill-typed limits are 422s naming the field, on create and update;
/// `null` returns to the defaults.
#[tokio::test]
async fn bad_limits_name_their_field() {
    let server = Server::start(&[]).await;
    let base = json!({"url": "https://example.com/hook", "events": ["*"]});
    let with = |extra: Value| {
        let mut body = base.clone();
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let cases = [
        (json!({"max_in_flight": 0}), "max_in_flight"),
        (json!({"max_in_flight": 1001}), "max_in_flight"),
        (json!({"max_in_flight": "ten"}), "max_in_flight"),
        (json!({"rate_limit": 0}), "rate_limit"),
        (json!({"rate_limit": 10001}), "rate_limit"),
        (json!({"rate_limit": 1.5}), "rate_limit"),
        (json!({"rate_limit": 5, "rate_limit_burst": 0}), "rate_limit_burst"),
        (json!({"rate_limit_burst": 5}), "rate_limit_burst"),
    ];
    for (extra, field) in &cases {
        let (code, problem) = server.post("/v1/webhooks", with(extra.clone())).await;
        assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{extra}: {problem}");
        assert_eq!(problem["field"], *field, "{extra}: {problem}");
    }
    let (_, list) = server.get("/v1/webhooks").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 0, "nothing stored");

    let webhook = server.create_webhook(with(json!({"max_in_flight": 100, "rate_limit": 100}))).await;
    assert_eq!(webhook["max_in_flight"], 100);
    assert_eq!((&webhook["rate_limit"], &webhook["rate_limit_burst"]), (&json!(100), &json!(100)));
    let path = format!("/v1/webhooks/{}", webhook["id"].as_str().unwrap());
    for (extra, field) in &cases[..cases.len() - 1] {
        let (code, problem) = server.call(Method::PATCH, &path, Some(extra.clone()), None).await;
        assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{extra}: {problem}");
        assert_eq!(problem["field"], *field, "{extra}: {problem}");
    }
    let (code, patched) = server.call(Method::PATCH, &path, Some(json!({"rate_limit_burst": 300})), None).await;
    assert_eq!((code, &patched["rate_limit_burst"]), (StatusCode::OK, &json!(300)), "{patched}");
    let reset = json!({"max_in_flight": null, "rate_limit": null});
    let (code, patched) = server.call(Method::PATCH, &path, Some(reset), None).await;
    assert_eq!(code, StatusCode::OK, "{patched}");
    assert_eq!(patched["max_in_flight"], 10, "the default: {patched}");
    assert!(patched.get("rate_limit").is_none() && patched.get("rate_limit_burst").is_none(), "{patched}");
}
