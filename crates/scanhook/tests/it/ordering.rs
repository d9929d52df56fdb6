//! Ordered endpoints (`"ordering": "fifo"`): the receiver sees the events strictly in the
//! order they were accepted, one request at a time, through failed attempts and a node
//! killed mid-stream (two nodes on one database on PostgreSQL; one node, killed and
//! started again, on SQLite, whose file takes one server); a head that dies lets the next
//! ones through in order; an unordered endpoint beside it still gets requests at once.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering as Atomic};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use crate::common::postgres::Database;
use crate::common::{Server, on_postgres};

/// Which requests a [`Recorder`] fails with 500.
#[derive(Clone, Copy)]
enum Refuse {
    Nothing,
    /// About this share of requests, at random (from the seed printed).
    Randomly {
        percent: u64,
        seed: u64,
    },
    /// Every request for the event whose data has this `n`.
    Event(u64),
}

/// A receiver that records every request's event ID in arrival order and how many it had
/// open at once at most; it answers after `delay`, 200 or 500 as `refuse` says.
#[derive(Clone)]
struct Recorder {
    url: String,
    arrived: Arc<Mutex<Vec<String>>>,
    /// The event IDs answered 200.
    delivered: Arc<Mutex<HashSet<String>>>,
    open: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

/// Counts a request as no longer open when dropped.
struct Closed(Arc<AtomicUsize>);

impl Drop for Closed {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Atomic::SeqCst);
    }
}

impl Recorder {
    async fn start(refuse: Refuse, delay: Duration) -> Recorder {
        let arrived = Arc::new(Mutex::new(Vec::new()));
        let delivered = Arc::new(Mutex::new(HashSet::new()));
        let (open, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let state = Arc::new(AtomicU64::new(match refuse {
            Refuse::Randomly { seed, .. } => seed | 1,
            _ => 1,
        }));
        let (log, done, o, p) = (arrived.clone(), delivered.clone(), open.clone(), peak.clone());
        let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
            let (log, done, open, peak, state) = (log.clone(), done.clone(), o.clone(), p.clone(), state.clone());
            async move {
                let now = open.fetch_add(1, Atomic::SeqCst) + 1;
                peak.fetch_max(now, Atomic::SeqCst);
                // Closed when the answer goes, or when the sender's connection does (a
                // killed node's request is dropped mid-way).
                let _closed = Closed(open);
                let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                log.lock().unwrap().push(id.clone());
                let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let fail = match refuse {
                    Refuse::Nothing => false,
                    Refuse::Randomly { percent, .. } => {
                        // xorshift64: enough randomness for a test, reproducible from the seed.
                        let mut x = state.load(Atomic::SeqCst);
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        state.store(x, Atomic::SeqCst);
                        x % 100 < percent
                    }
                    Refuse::Event(n) => body["data"]["n"] == n,
                };
                tokio::time::sleep(delay).await;
                if fail {
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
                done.lock().unwrap().insert(id);
                StatusCode::OK
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind receiver");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Recorder { url, arrived, delivered, open, peak }
    }

    fn arrived(&self) -> Vec<String> {
        self.arrived.lock().unwrap().clone()
    }

    /// The event IDs in arrival order, each run of one ID (its retries, a resend after a
    /// crash) as one.
    fn in_order(&self) -> Vec<String> {
        let mut order = self.arrived();
        order.dedup();
        order
    }

    /// Waits until every one of `ids` was answered 200 (a refused one is sent again, so
    /// having arrived once is not enough), or panics after `secs`.
    async fn wait_for_all(&self, ids: &[String], secs: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let seen = self.delivered.lock().unwrap().clone();
            let missing = ids.iter().filter(|id| !seen.contains(*id)).count();
            if missing == 0 {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "{missing} of {} events never delivered", ids.len());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Sends an event and waits for its 202: its place in the accept order.
async fn send(node: &Server, n: u64) -> String {
    node.send_event("scan.completed", json!({"n": n})).await["id"].as_str().expect("an event ID").to_string()
}

/// How many leases the node to be killed holds (its deliveries in flight).
async fn leases_of_victim(database: Option<&Database>, node: &Server) -> i64 {
    match database {
        Some(db) => {
            db.count("SELECT count(*) FROM deliveries WHERE status = 'pending' AND lease_owner LIKE 'killed-%'").await
        }
        None => {
            let Ok(db) = rusqlite::Connection::open(node.data_dir.join("scanhook.db")) else { return 0 };
            db.query_row(
                "SELECT count(*) FROM deliveries WHERE status = 'pending' AND lease_owner IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .unwrap_or(0)
        }
    }
}

/// Enough tries that a 30 % failure rate kills no event in practice (0.3^10).
const PATIENT: (&str, &str) = ("SCANHOOK_RETRY_SCHEDULE", "0s,50ms,50ms,50ms,50ms,50ms,50ms,50ms,50ms,50ms");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_endpoint_gets_events_in_accept_order_through_failures_and_a_killed_node() {
    let test = "a_fifo_endpoint_gets_events_in_accept_order_through_failures_and_a_killed_node";
    const EVENTS: u64 = 60;
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
    let receiver = Recorder::start(Refuse::Randomly { percent: 30, seed }, Duration::from_millis(20)).await;
    // Two nodes on one database on PostgreSQL; SQLite's file takes one server, so there
    // the one node is killed and started again.
    let key = scanhook_store::SecretBox::generate_key();
    let database = if on_postgres() { Database::create(test).await } else { None };
    let mut nodes = match &database {
        Some(db) => {
            let env = [PATIENT, ("SCANHOOK_DATABASE_URL", db.url.as_str()), ("SCANHOOK_ENCRYPTION_KEY", key.as_str())];
            let node = |name| [&env[..], &[("SCANHOOK_NODE_NAME", name)]].concat();
            vec![Server::start(&node("live")).await, Server::start(&node("killed")).await]
        }
        None => vec![Server::start(&[PATIENT]).await],
    };
    let webhook = nodes[0]
        .create_webhook(json!({"url": receiver.url, "events": ["scan.*"], "ordering": "fifo", "max_in_flight": 10}))
        .await;
    assert_eq!(webhook["ordering"], "fifo");

    let mut accepted = Vec::new();
    let victim = nodes.len() - 1;
    let mut held_at_kill = 0;
    for n in 0..EVENTS {
        if n == EVENTS / 3 {
            // Part-way, once the node holds the head (its lease): SIGKILL. The one node of
            // SQLite starts again at once; of two, the other goes on alone for a while.
            let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
            while held_at_kill == 0 && tokio::time::Instant::now() < deadline {
                held_at_kill = leases_of_victim(database.as_ref(), &nodes[victim]).await;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            nodes[victim].kill();
            if nodes.len() == 1 {
                nodes[victim].restart().await;
            }
        }
        if n == EVENTS * 2 / 3 && nodes.len() == 2 {
            nodes[victim].restart().await;
        }
        let live: Vec<&Server> = match nodes.len() {
            2 if (EVENTS / 3..EVENTS * 2 / 3).contains(&n) => vec![&nodes[0]],
            _ => nodes.iter().collect(),
        };
        accepted.push(send(live[n as usize % live.len()], n).await);
    }
    receiver.wait_for_all(&accepted, 120).await;
    let arrived = receiver.arrived();
    eprintln!(
        "{test}: seed {seed}, {} nodes: {} events accepted, {} requests arrived; the killed node held {held_at_kill} \
         lease(s)",
        nodes.len(),
        accepted.len(),
        arrived.len(),
    );
    assert_eq!(held_at_kill, 1, "the node was killed with the head in flight");
    assert_eq!(receiver.in_order(), accepted, "the receiver saw them in accept order (repeats collapsed)");
    assert_eq!(receiver.peak.load(Atomic::SeqCst), 1, "one request at a time");
    assert_eq!(receiver.open.load(Atomic::SeqCst), 0);
}

#[tokio::test]
async fn a_dead_head_lets_the_next_ones_through_in_order() {
    let receiver = Recorder::start(Refuse::Event(1), Duration::ZERO).await;
    let server = Server::start(&[("SCANHOOK_RETRY_SCHEDULE", "0s,50ms")]).await;
    server.create_webhook(json!({"url": receiver.url, "events": ["scan.*"], "ordering": "fifo"})).await;
    let mut accepted = Vec::new();
    for n in 0..5 {
        accepted.push(send(&server, n).await);
    }
    // All but the refused one are delivered.
    let others: Vec<String> = accepted.iter().enumerate().filter(|(i, _)| *i != 1).map(|(_, id)| id.clone()).collect();
    receiver.wait_for_all(&others, 30).await;
    // The second event's two attempts, then the rest in order.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while receiver.arrived().len() < 6 {
        assert!(tokio::time::Instant::now() < deadline, "arrived: {:?}", receiver.arrived());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut expected = accepted.clone();
    expected.insert(2, accepted[1].clone());
    assert_eq!(receiver.arrived(), expected);
    let (_, dead) = server.get("/v1/deliveries?status=dead").await;
    assert_eq!(dead["data"][0]["event_id"], accepted[1].as_str(), "{dead}");
}

#[tokio::test]
async fn an_unordered_endpoint_beside_a_fifo_one_still_gets_requests_at_once() {
    let slow = Duration::from_millis(200);
    let (ordered, unordered) =
        (Recorder::start(Refuse::Nothing, slow).await, Recorder::start(Refuse::Nothing, slow).await);
    let server = Server::start(&[]).await;
    server.create_webhook(json!({"url": ordered.url, "events": ["scan.*"], "ordering": "fifo"})).await;
    server.create_webhook(json!({"url": unordered.url, "events": ["scan.*"]})).await;
    let mut accepted = Vec::new();
    for n in 0..8 {
        accepted.push(send(&server, n).await);
    }
    ordered.wait_for_all(&accepted, 30).await;
    unordered.wait_for_all(&accepted, 30).await;
    assert_eq!(ordered.arrived(), accepted);
    assert_eq!(ordered.peak.load(Atomic::SeqCst), 1, "the FIFO endpoint: one at a time");
    let peak = unordered.peak.load(Atomic::SeqCst);
    eprintln!("unordered endpoint: at most {peak} requests open at once");
    assert!(peak > 1, "the unordered endpoint got several at once");
}

#[tokio::test]
async fn ordering_is_set_read_and_patched_back_to_its_default() {
    let server = Server::start(&[]).await;
    let base = json!({"url": "https://example.com/hook", "events": ["*"]});
    let (code, problem) =
        server.post("/v1/webhooks", json!({"ordering": "lifo", "url": base["url"], "events": ["*"]})).await;
    assert_eq!(code, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["field"], "ordering", "{problem}");
    let webhook = server.create_webhook(base).await;
    assert_eq!(webhook["ordering"], "unordered");
    let path = format!("/v1/webhooks/{}", webhook["id"].as_str().expect("an ID"));
    let patch = async |body: Value| server.call(reqwest::Method::PATCH, &path, Some(body), None).await;
    let (code, fifo) = patch(json!({"ordering": "fifo"})).await;
    assert_eq!((code, &fifo["ordering"]), (reqwest::StatusCode::OK, &json!("fifo")), "{fifo}");
    let (_, read) = server.get(&path).await;
    assert_eq!(read["ordering"], "fifo");
    let (_, back) = patch(json!({"ordering": null})).await;
    assert_eq!(back["ordering"], "unordered", "{back}");
}
