//! Containment of delivery work: a delivery that crashes its worker is parked instead of
//! crashing the service forever; an outcome for a deleted endpoint spoils no other; one
//! account's slow templates do not hold up another's deliveries; and events accepted
//! while an endpoint is disabled after failures are kept for it.

use std::time::Duration;

use crate::common::receiver::{Reply, status};
use crate::common::{Receiver, Server};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Waits (bounded) until the server process no longer answers: it crashed.
async fn until_down(server: &Server) {
    for _ in 0..300 {
        if server.client().get(server.url("/healthz")).send().await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server did not go down\n{}", server.log());
}

#[tokio::test]
async fn a_delivery_that_crashes_its_worker_is_parked_after_three_expired_leases() {
    // Debug builds only: the process aborts when it starts on a delivery with this marker.
    let marker = "poison-4f1c";
    let mut server = Server::start(&[("SCANHOOK_FAULT_ABORT_ON_DELIVERY_DATA", marker)]).await;
    let receiver = Receiver::start().await;
    let webhook = server.create_webhook(json!({"url": receiver.url, "events": ["*"]})).await;
    let poison = server.send_event("scan.completed", json!({"note": marker})).await;
    for crash in 1..=3 {
        until_down(&server).await;
        // Like a supervisor: start it again on the same data.
        server.kill();
        server.restart().await;
        // Between crashes it serves, and other deliveries go out.
        server.send_event("scan.completed", json!({"i": crash})).await;
        receiver.wait_for(crash, 10).await;
    }
    let path = format!("/v1/deliveries?webhook_id={}&status=dead", webhook["id"].as_str().unwrap());
    let dead = server.wait_until(&path, 30, |l| !l["data"].as_array().unwrap().is_empty()).await;
    let parked = &dead["data"][0];
    assert_eq!(parked["event_id"], poison["id"], "{dead}");
    let reason = parked["last_error"].as_str().unwrap();
    assert!(reason.starts_with("parked: 3 leases expired without an outcome"), "{reason}");
    // It stays parked: the server keeps serving and the other deliveries all succeeded.
    server.send_event("scan.completed", json!({"i": 4})).await;
    let got = receiver.wait_for(4, 10).await;
    assert!(got.iter().all(|r| !String::from_utf8_lossy(&r.body).contains(marker)));
    assert_eq!(server.get("/healthz").await.0, StatusCode::OK);
}

/// Two endpoints with deliveries in flight to slow receivers; `act` changes the first
/// mid-flight while API writes go on. Every delivery of the second is recorded exactly once.
async fn other_endpoint_unharmed(act: &str) {
    let server = Server::start(&[("SCANHOOK_RETRY_SCHEDULE", "0s,5s")]).await;
    let (slow, other) = (Receiver::start().await, Receiver::start().await);
    // Answers come back together, so their outcomes share the recorder's batches.
    let wait = Reply { status: 200, delay: Duration::from_millis(800), retry_after: None };
    slow.always(wait);
    other.always(wait);
    let target = server.create_webhook(json!({"url": slow.url, "events": ["*"]})).await;
    // Scan events only: the target's dead deliveries are announced (`delivery.dead`) to `*`.
    let kept = server.create_webhook(json!({"url": other.url, "events": ["scan.*"]})).await;
    let events = 20;
    for i in 0..events {
        server.send_event("scan.completed", json!({"i": i})).await;
    }
    slow.wait_for(1, 10).await;
    let path = format!("/v1/webhooks/{}", target["id"].as_str().unwrap());
    let (code, body) = match act {
        "delete" => server.call(Method::DELETE, &path, None, None).await,
        "disable" => server.call(Method::PATCH, &path, Some(json!({"active": false})), None).await,
        _ => server.post(&format!("{path}/rotate-secret"), json!({})).await,
    };
    assert!(code.is_success(), "{act}: {code} {body}");
    // API writes in flight while the outcomes are recorded all succeed.
    let kept_path = format!("/v1/deliveries?webhook_id={}&limit=100", kept["id"].as_str().unwrap());
    let all_done = |l: &Value| {
        let d = l["data"].as_array().unwrap();
        d.len() == events && d.iter().all(|x| x["status"] == "succeeded")
    };
    let kept_hook = format!("/v1/webhooks/{}", kept["id"].as_str().unwrap());
    let mut n = 0;
    let list = loop {
        // A write that emits no event, so the deliveries under test stay the only ones.
        let change = json!({"description": format!("write {n}")});
        let (code, body) = server.call(Method::PATCH, &kept_hook, Some(change), None).await;
        assert_eq!(code, StatusCode::OK, "{act}: an API write failed: {body}");
        n += 1;
        let (_, list) = server.get(&kept_path).await;
        if all_done(&list) {
            break list;
        }
        let statuses: Vec<&str> =
            list["data"].as_array().unwrap().iter().map(|d| d["status"].as_str().unwrap_or("")).collect();
        assert!(n < 1000, "{act}: deliveries of the other endpoint not all recorded: {statuses:?}\n{}", server.log());
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    for d in list["data"].as_array().unwrap() {
        let (_, detail) = server.get(&format!("/v1/deliveries/{}", d["id"].as_str().unwrap())).await;
        assert_eq!(detail["attempt_log"].as_array().unwrap().len(), 1, "{act}: recorded once: {detail}");
    }
    assert_eq!(other.received().len(), events, "{act}: nothing was sent twice");
    assert!(!server.log().contains("group commit failed"), "{act}:\n{}", server.log());
}

#[tokio::test]
async fn deleting_an_endpoint_mid_flight_spoils_no_other_outcome() {
    other_endpoint_unharmed("delete").await;
}

#[tokio::test]
async fn disabling_an_endpoint_mid_flight_spoils_no_other_outcome() {
    other_endpoint_unharmed("disable").await;
}

#[tokio::test]
async fn rotating_a_secret_mid_flight_spoils_no_other_outcome() {
    other_endpoint_unharmed("rotate").await;
}

async fn new_account(server: &Server, name: &str) -> String {
    let (code, account) = server.post("/v1/accounts", json!({"name": name})).await;
    assert_eq!(code, StatusCode::CREATED, "{account}");
    account["api_key"]["key"].as_str().unwrap().to_string()
}

async fn as_account(server: &Server, key: &str, method: Method, path: &str, body: Option<Value>) -> Value {
    let (code, json) = server.call(method, path, body, Some(key)).await;
    assert!(code.is_success(), "{path}: {code} {json}");
    json
}

fn millis(at: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(at.as_str().unwrap()).unwrap().timestamp_millis()
}

#[tokio::test]
async fn one_accounts_slow_templates_do_not_hold_up_another_accounts_deliveries() {
    let server = Server::start(&[("SCANHOOK_RETRY_SCHEDULE", "0s")]).await;
    let receiver = Receiver::start().await;
    let (x, y) = (new_account(&server, "x").await, new_account(&server, "y").await);
    // X's template loops until the sandbox's 1 s limit stops it.
    let looping = json!({"url": receiver.url, "events": ["*"], "template": "last(repeat(1))"});
    let x_hook = as_account(&server, &x, Method::POST, "/v1/webhooks", Some(looping)).await;
    let shaped = json!({"url": receiver.url, "events": ["*"], "template": "{y: .data.i}"});
    as_account(&server, &y, Method::POST, "/v1/webhooks", Some(shaped)).await;
    as_account(&server, &y, Method::POST, "/v1/webhooks", Some(json!({"url": receiver.url, "events": ["*"]}))).await;

    let floods = 24;
    for i in 0..floods {
        let event = json!({"type": "scan.completed", "data": {"i": i}});
        as_account(&server, &x, Method::POST, "/v1/events", Some(event)).await;
    }
    let x_list = format!("/v1/deliveries?webhook_id={}&limit=100", x_hook["id"].as_str().unwrap());
    // X's templates are running before Y sends anything.
    for _ in 0..200 {
        let list = as_account(&server, &x, Method::GET, &x_list, None).await;
        if list["data"].as_array().unwrap().iter().any(|d| d["attempts"] != 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sent = 5;
    for i in 0..sent {
        let event = json!({"type": "scan.completed", "data": {"i": i}});
        as_account(&server, &y, Method::POST, "/v1/events", Some(event)).await;
    }
    receiver.wait_for(2 * sent, 30).await;
    let mut y_list = Value::Null;
    for _ in 0..200 {
        y_list = as_account(&server, &y, Method::GET, "/v1/deliveries?limit=100", None).await;
        if y_list["data"].as_array().unwrap().iter().all(|d| d["status"] != "pending") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let y_done = y_list["data"].as_array().unwrap();
    assert_eq!(y_done.len(), 2 * sent, "{y_list}");
    assert!(y_done.iter().all(|d| d["status"] == "succeeded" && d["attempts"] == 1), "{y_list}");
    let y_finished = y_done.iter().map(|d| millis(&d["updated_at"])).max().unwrap();

    // How many of X's renders ran to the time limit before Y was through: with fair
    // shares, the few X held at once (half the workers); without, Y queued behind rounds
    // of all eight.
    let list = as_account(&server, &x, Method::GET, &x_list, None).await;
    let mut x_ran_out = 0;
    for d in list["data"].as_array().unwrap() {
        let detail =
            as_account(&server, &x, Method::GET, &format!("/v1/deliveries/{}", d["id"].as_str().unwrap()), None).await;
        for a in detail["attempt_log"].as_array().unwrap() {
            let ended = millis(&a["started_at"]) + a["latency_ms"].as_i64().unwrap_or(0);
            if a["error"].as_str().unwrap_or("").contains("longer than") && ended <= y_finished {
                x_ran_out += 1;
            }
        }
    }
    assert!(x_ran_out < 12, "Y waited for {x_ran_out} of X's runaway templates");
    assert_eq!(receiver.received().len(), 2 * sent, "X's templates never produce a body");
}

#[tokio::test]
async fn events_accepted_while_auto_disabled_are_kept_and_replayed_on_enable_oldest_first() {
    let server = Server::start(&[("SCANHOOK_DISABLE_AFTER", "1"), ("SCANHOOK_RETRY_SCHEDULE", "0s")]).await;
    let (receiver, off_receiver) = (Receiver::start().await, Receiver::start().await);
    receiver.always(status(500));
    let webhook = server.create_webhook(json!({"url": receiver.url, "events": ["*"]})).await;
    let off = server.create_webhook(json!({"url": off_receiver.url, "events": ["*"]})).await;
    let path = format!("/v1/webhooks/{}", webhook["id"].as_str().unwrap());
    let off_path = format!("/v1/webhooks/{}", off["id"].as_str().unwrap());
    // The user switches one off; scanhook disables the other after a failure.
    let (code, _) = server.call(Method::PATCH, &off_path, Some(json!({"active": false})), None).await;
    assert_eq!(code, StatusCode::OK);
    server.send_event("scan.completed", json!({"i": -1})).await;
    server.wait_until(&path, 10, |w| w["active"] == false).await;

    let mut missed = Vec::new();
    for i in 0..3 {
        let event = server.send_event("scan.completed", json!({"i": i})).await;
        assert_eq!(event["deliveries"], 1, "kept for the failing endpoint, none for the one switched off: {event}");
        missed.push(event["id"].as_str().unwrap().to_string());
    }
    let held = format!("/v1/deliveries?webhook_id={}&status=held", webhook["id"].as_str().unwrap());
    assert_eq!(server.get(&held).await.1["data"].as_array().unwrap().len(), 3);

    receiver.always(status(200));
    let (code, body) = server.post(&format!("{path}/enable"), json!({"replay_missed": true, "extra": 1})).await;
    assert!(code.is_client_error(), "unknown fields are refused: {body}");
    let (code, enabled) = server.post(&format!("{path}/enable"), json!({"replay_missed": true})).await;
    assert_eq!(code, StatusCode::OK, "{enabled}");
    assert_eq!(enabled["active"], true);
    let got = receiver.wait_for(4, 10).await;
    // Claimed oldest first (the store's conformance suite checks the order), sent in parallel.
    let mut arrived: Vec<String> = got[1..].iter().map(|r| r.header("webhook-id").to_string()).collect();
    arrived.sort();
    missed.sort();
    assert_eq!(arrived, missed, "every missed event arrives");
    assert!(off_receiver.received().is_empty(), "an endpoint switched off receives nothing");

    // Without replay_missed they are not sent, but stay dead where /replay finds them.
    receiver.always(status(500));
    server.send_event("scan.completed", json!({"i": 10})).await;
    server.wait_until(&path, 10, |w| w["active"] == false).await;
    let kept = server.send_event("scan.completed", json!({"i": 11})).await;
    receiver.always(status(200));
    let (code, _) = server.post(&format!("{path}/enable"), json!({})).await;
    assert_eq!(code, StatusCode::OK);
    let delivery = format!("/v1/deliveries?event_id={}", kept["id"].as_str().unwrap());
    let list = server.wait_until(&delivery, 10, |l| l["data"][0]["status"] == "dead").await;
    assert_eq!(list["data"][0]["last_error"], "not sent: the endpoint was disabled", "{list}");
    let (code, replay) = server.post(&format!("{path}/replay"), json!({})).await;
    assert_eq!(code, StatusCode::ACCEPTED);
    // The three dead ones: the two that failed and the one not sent.
    assert_eq!(replay["requeued"], 3, "{replay}");
    let got = receiver.wait_for(8, 10).await;
    assert!(got.iter().any(|r| r.header("webhook-id") == kept["id"].as_str().unwrap()));
}

#[tokio::test]
async fn a_templates_error_text_is_capped() {
    let server = Server::start(&[("SCANHOOK_RETRY_SCHEDULE", "0s")]).await;
    let receiver = Receiver::start().await;
    // Fails with a message of a few hundred kilobytes.
    let template = "[range(100000)] | tostring | error";
    let webhook = server.create_webhook(json!({"url": receiver.url, "events": ["*"], "template": template})).await;
    server.send_event("scan.completed", json!({})).await;
    let path = format!("/v1/deliveries?webhook_id={}", webhook["id"].as_str().unwrap());
    let list = server.wait_until(&path, 20, |l| l["data"][0]["status"] == "dead").await;
    let detail = server.get(&format!("/v1/deliveries/{}", list["data"][0]["id"].as_str().unwrap())).await.1;
    let error = detail["attempt_log"][0]["error"].as_str().unwrap();
    assert!(error.starts_with("no request was sent"), "{error}");
    assert!(error.len() <= 2 * 1024 + 64, "{} bytes of error text", error.len());
    assert!(error.ends_with('…'), "it was cut short: {error}");
    assert_eq!(detail["last_error"], error, "the delivery shows its last attempt's error");
}

#[tokio::test]
async fn deliveries_waiting_to_retry_when_their_endpoint_is_disabled_are_held_too() {
    // One failure disables; a retry comes 3 s (±10 %) after a failed attempt.
    let server = Server::start(&[("SCANHOOK_DISABLE_AFTER", "1"), ("SCANHOOK_RETRY_SCHEDULE", "0s,3s")]).await;
    let receiver = Receiver::start().await;
    receiver.always(status(500));
    let webhook = server.create_webhook(json!({"url": receiver.url, "events": ["*"]})).await;
    let path = format!("/v1/webhooks/{}", webhook["id"].as_str().unwrap());
    let first = server.send_event("scan.completed", json!({"i": 1})).await;
    receiver.wait_for(1, 10).await;
    // Sent 1.5 s later, the second event's retry is due at least 0.9 s after the first's
    // last attempt has died and disabled the endpoint.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let second = server.send_event("scan.completed", json!({"i": 2})).await;
    let of = |event: &Value| format!("/v1/deliveries?event_id={}", event["id"].as_str().unwrap());
    server.wait_until(&of(&first), 15, |l| l["data"][0]["status"] == "dead").await;
    server.wait_until(&path, 10, |w| w["active"] == false).await;
    let held = server.wait_until(&of(&second), 15, |l| l["data"][0]["status"] == "held").await;
    assert_eq!(held["data"][0]["attempts"], 1, "tried once before the endpoint was disabled: {held}");

    receiver.always(status(200));
    let (code, _) = server.post(&format!("{path}/enable"), json!({"replay_missed": true})).await;
    assert_eq!(code, StatusCode::OK);
    server.wait_until(&of(&second), 15, |l| l["data"][0]["status"] == "succeeded").await;
    let arrived = receiver.received();
    assert_eq!(arrived.last().unwrap().header("webhook-id"), second["id"].as_str().unwrap());
}

/// Processes whose parent is `pid` and that are not yet dead (zombies count as dead).
fn live_children(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|child| {
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
            // pid (comm) state ppid …: the command may hold spaces, so read after its ')'.
            let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
            fields.first().is_some_and(|state| *state != "Z") && fields.get(1) == Some(&pid.to_string().as_str())
        })
        .collect()
}

fn alive(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
}

#[tokio::test]
async fn a_template_worker_left_running_by_a_killed_server_stops_too() {
    let mut server = Server::start(&[]).await;
    let receiver = Receiver::start().await;
    // Loops until the server stops it after 1 s; the server will be gone before then.
    server.create_webhook(json!({"url": receiver.url, "events": ["*"], "template": "last(repeat(1))"})).await;
    server.send_event("scan.completed", json!({})).await;
    let mut workers = Vec::new();
    for _ in 0..100 {
        workers = live_children(server.pid());
        if !workers.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!workers.is_empty(), "a template worker started");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(workers.iter().all(|w| alive(*w)), "the workers run the template (it takes 1 s)");
    server.kill();
    for _ in 0..50 {
        if !workers.iter().any(|w| alive(*w)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("template workers {workers:?} outlived their server by 5 s");
}
