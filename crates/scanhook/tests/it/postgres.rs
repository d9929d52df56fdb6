//! The real server on PostgreSQL (`SCANHOOK_DATABASE_URL`), each test on a fresh database
//! of the server at `SCANHOOK_TEST_POSTGRES_URL` (default: this machine's, trust auth);
//! skipped, saying so, where none answers.

use std::collections::HashMap;

use serde_json::json;

use crate::common::postgres::{Database, TwoNodes};
use crate::common::{Receiver, Server};

/// Two nodes on one database (the second started once the first migrated it): an event
/// accepted by either is delivered, signed with the endpoint's secret, exactly once; the
/// data is in PostgreSQL, not in a SQLite file.
#[tokio::test]
async fn two_nodes_on_postgresql_deliver_every_event_once() {
    let test = "two_nodes_on_postgresql_deliver_every_event_once";
    let Some(nodes) = TwoNodes::start(test, &[]).await else { return };
    let (one, two, db) = (&nodes.one, &nodes.two, &nodes.db);
    let receiver = Receiver::start().await;
    let webhook = one.create_webhook(json!({"url": receiver.url, "events": ["scan.*"]})).await;
    let secret = webhook["secret"].as_str().unwrap().to_string();

    let mut accepted = Vec::new();
    for i in 0..10 {
        let node = if i % 2 == 0 { one } else { two };
        accepted.push(node.send_event("scan.completed", json!({"n": i})).await);
    }
    assert!(accepted.iter().all(|a| a["deliveries"] == 1), "{accepted:?}");
    receiver.wait_for(10, 20).await;
    // Time for a duplicate, were there one, to arrive too.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let got = receiver.received();
    let mut per_event: HashMap<String, usize> = HashMap::new();
    for req in &got {
        *per_event.entry(req.header("webhook-id").to_string()).or_default() += 1;
        let expected = crate::common::verify::standard_signature(
            &secret,
            req.header("webhook-id"),
            req.header("webhook-timestamp"),
            &req.body,
        );
        assert_eq!(req.header("webhook-signature"), expected);
    }
    assert_eq!(per_event.len(), 10, "every event arrived");
    assert!(per_event.values().all(|n| *n == 1), "no event arrived twice: {per_event:?}");

    let path = format!("/v1/deliveries?webhook_id={}&status=succeeded", webhook["id"].as_str().unwrap());
    two.wait_until(&path, 10, |l| l["data"].as_array().is_some_and(|d| d.len() == 10)).await;
    assert_eq!(db.count("SELECT COUNT(*) FROM events").await, 10);
    assert!(db.count("SELECT COUNT(*) FROM webhooks WHERE secret LIKE 'enc:v1:%'").await == 1, "sealed at rest");
    assert!(!one.data_dir.join("scanhook.db").exists() && !two.data_dir.join("scanhook.db").exists());
}

/// A node that only serves the API accepts an event; the node that dispatches, idle with a
/// poll interval of a minute, is woken by PostgreSQL (LISTEN/NOTIFY) and sends it at once.
#[tokio::test]
async fn an_idle_node_is_woken_by_an_event_another_node_accepted() {
    let Some(db) = Database::create("an_idle_node_is_woken_by_an_event_another_node_accepted").await else { return };
    let key = scanhook_store::SecretBox::generate_key();
    let shared = [("SCANHOOK_DATABASE_URL", db.url.as_str()), ("SCANHOOK_ENCRYPTION_KEY", key.as_str())];
    let api = Server::start(&[&shared[..], &[("SCANHOOK_DISPATCH", "false")]].concat()).await;
    let sender = Server::start(&[&shared[..], &[("SCANHOOK_POLL_INTERVAL", "60s")]].concat()).await;
    let receiver = Receiver::start().await;
    api.create_webhook(json!({"url": receiver.url, "events": ["*"]})).await;
    // Long enough for the sender's first look (at start) to be over: it now sleeps a minute.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let accepted = api.send_event("scan.completed", json!({})).await;
    let got = receiver.wait_for(1, 10).await;
    assert_eq!(got[0].header("webhook-id"), accepted["id"].as_str().unwrap());
    drop(sender);
}

/// A TCP link between the server and PostgreSQL that the test can cut and restore, as a
/// database restart or a network failure would.
struct Link {
    listen: std::net::SocketAddr,
    target: String,
    tasks: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Link {
    async fn open(target: String) -> Link {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let link = Link { listen: listener.local_addr().expect("addr"), target, tasks: Default::default() };
        link.serve(listener);
        link
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let (target, tasks) = (self.target.clone(), self.tasks.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                let copy = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().unwrap().push(copy.abort_handle());
            }
        });
        self.tasks.lock().unwrap().push(accept.abort_handle());
    }

    /// Drops every connection and refuses new ones.
    fn cut(&self) {
        self.tasks.lock().unwrap().drain(..).for_each(|task| task.abort());
    }

    async fn restore(&self) {
        let listener = tokio::net::TcpListener::bind(self.listen).await.expect("the same port again");
        self.serve(listener);
    }
}

/// While the database cannot be reached, requests that need it answer 503 with
/// `Retry-After` and change nothing; once it is back, the server reconnects by itself.
/// (Multi-threaded: the link's tasks run while the harness waits for the server's start.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_database_is_away_requests_get_503_and_the_server_recovers() {
    let test = "while_the_database_is_away_requests_get_503_and_the_server_recovers";
    let Some(db) = Database::create(test).await else { return };
    let (host, port) = match (db.server.get_hosts().first(), db.server.get_ports().first()) {
        (Some(tokio_postgres::config::Host::Tcp(host)), Some(port)) => (host.clone(), *port),
        _ => return eprintln!("SKIPPED {test}: SCANHOOK_TEST_POSTGRES_URL names no TCP host and port"),
    };
    let link = Link::open(format!("{host}:{port}")).await;
    let Some(url) =
        Some(db.url.replacen(&format!("{host}:{port}"), &link.listen.to_string(), 1)).filter(|url| *url != db.url)
    else {
        return eprintln!("SKIPPED {test}: SCANHOOK_TEST_POSTGRES_URL does not spell out host:port");
    };
    let key = scanhook_store::SecretBox::generate_key();
    let env = [
        ("SCANHOOK_DATABASE_URL", url.as_str()),
        ("SCANHOOK_DATABASE_POOL_SIZE", "2"),
        ("SCANHOOK_ENCRYPTION_KEY", key.as_str()),
    ];
    let server = Server::start(&env).await;
    let create = async |name: &str| {
        let response = server
            .client()
            .post(server.url("/v1/projects"))
            .bearer_auth(&server.key)
            .json(&json!({"name": name}))
            .send()
            .await
            .expect("an answer");
        let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap_or("").to_string());
        (response.status().as_u16(), retry_after, response.json::<serde_json::Value>().await.unwrap_or_default())
    };
    assert_eq!(create("before").await.0, 201);

    link.cut();
    let (status, retry_after, problem) = create("while away").await;
    assert_eq!((status, problem["code"].as_str()), (503, Some("database_unavailable")), "{problem}");
    assert_eq!(retry_after.as_deref(), Some("2"));

    link.restore().await;
    let mut status = 0;
    for _ in 0..60 {
        status = create("after").await.0;
        if status == 201 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(status, 201, "the server reconnected by itself");
    let names = db.count("SELECT COUNT(*) FROM projects WHERE name IN ('before', 'after')").await;
    let away = db.count("SELECT COUNT(*) FROM projects WHERE name = 'while away'").await;
    assert_eq!((names, away), (2, 0), "nothing accepted is lost, nothing refused was written");
}

/// Three nodes on one database, 20,000 events sent to all three, one node killed with
/// SIGKILL mid-stream (requests in flight to a slow receiver) and started again: every
/// accepted event arrives, and nothing arrives that was not accepted. Duplicates are
/// counted and printed, not yet bounded: under this load live nodes also send some
/// deliveries twice, when an outcome is recorded after its lease ran out (issue 12 note).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_lose_nothing_when_one_is_killed_mid_stream() {
    let test = "three_nodes_lose_nothing_when_one_is_killed_mid_stream";
    if crate::common::on_postgres() {
        // Its database is its own in either pass: once is enough.
        return eprintln!("SKIPPED {test} in the PostgreSQL pass: it ran in the first");
    }
    let Some(db) = Database::create(test).await else { return };
    const EVENTS: usize = 20_000;
    const IN_FLIGHT: usize = 64;
    let key = scanhook_store::SecretBox::generate_key();
    let in_flight = IN_FLIGHT.to_string();
    let env = [
        ("SCANHOOK_DATABASE_URL", db.url.as_str()),
        ("SCANHOOK_DATABASE_POOL_SIZE", "4"),
        ("SCANHOOK_ENCRYPTION_KEY", key.as_str()),
        ("SCANHOOK_MAX_IN_FLIGHT", in_flight.as_str()),
        // Leases far shorter than the run, so that this load outlasts several of them:
        // live nodes keep theirs by renewing them (every 4 s here), and only the killed
        // node's work can be sent twice. The slack lets a renewal through on a machine
        // whose two cores are also building and testing.
        ("SCANHOOK_DELIVERY_TIMEOUT", "4s"),
        ("SCANHOOK_LEASE", "12s"),
        ("SCANHOOK_LOG", "warn"),
    ];
    let node = |name: &'static str| {
        let mut env = env.to_vec();
        env.push(("SCANHOOK_NODE_NAME", name));
        async move { Server::start(&env).await }
    };
    let mut nodes = vec![node("live1").await, node("live2").await, node("killed").await];
    let receiver = Receiver::start().await;
    // A receiver that takes its time, so that the killed node dies with requests in flight.
    receiver.always(crate::common::receiver::Reply {
        status: 200,
        delay: std::time::Duration::from_millis(250),
        retry_after: None,
    });
    nodes[0].create_webhook(json!({"url": receiver.url, "events": ["scan.*"]})).await;

    // Sends events `range` round-robin, 16 at a time; returns the IDs of those accepted.
    let send = async |nodes: &[Server], range: std::ops::Range<usize>| -> Vec<String> {
        let client = nodes[0].client().clone();
        let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(16));
        let mut sends = tokio::task::JoinSet::new();
        for i in range {
            let node = &nodes[i % nodes.len()];
            let request = client
                .post(node.url("/v1/events"))
                .bearer_auth(&node.key)
                .json(&json!({"type": "scan.completed", "data": {"n": i}}));
            let slot = slots.clone().acquire_owned().await.expect("semaphore");
            sends.spawn(async move {
                let _slot = slot;
                let response = request.send().await.ok()?;
                (response.status() == 202).then_some(())?;
                Some(response.json::<serde_json::Value>().await.ok()?["id"].as_str()?.to_string())
            });
        }
        sends.join_all().await.into_iter().flatten().collect()
    };

    let mut accepted = send(&nodes, 0..EVENTS / 4).await;
    // Mid-stream, with deliveries in flight on every node: the third dies.
    nodes[2].kill();
    let killed_held =
        db.count("SELECT count(*) FROM deliveries WHERE status = 'pending' AND lease_owner LIKE 'killed-%'").await;
    accepted.extend(send(&nodes[..2], EVENTS / 4..EVENTS / 2).await);
    nodes[2].restart().await;
    accepted.extend(send(&nodes, EVENTS / 2..EVENTS).await);
    assert!(accepted.len() >= EVENTS * 9 / 10, "only {} of {EVENTS} accepted", accepted.len());

    let wanted: std::collections::HashSet<&str> = accepted.iter().map(String::as_str).collect();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(300);
    // Each event's attempts as they arrived: the same attempt twice means two workers held
    // the delivery; a later attempt follows a failure the worker recorded (a timeout under
    // this load: the receiver may still have had the first).
    let per_event = loop {
        let mut per_event: HashMap<String, Vec<String>> = HashMap::new();
        for req in receiver.received() {
            let attempt = req.header("x-scanhook-attempt").to_string();
            per_event.entry(req.header("webhook-id").to_string()).or_default().push(attempt);
        }
        if wanted.iter().all(|id| per_event.contains_key(*id)) {
            break per_event;
        }
        let missing = wanted.iter().filter(|id| !per_event.contains_key(**id)).count();
        assert!(tokio::time::Instant::now() < deadline, "{missing} accepted events never arrived");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    let retried: usize = per_event.values().map(|attempts| attempts.len() - 1).sum();
    let duplicates: usize = per_event
        .values()
        .map(|attempts| attempts.len() - attempts.iter().collect::<std::collections::HashSet<_>>().len())
        .sum();
    eprintln!(
        "{test}: {} events accepted, all delivered; {duplicates} attempts sent twice, of the {killed_held} \
         deliveries the killed node held; {retried} arrivals in all beyond the first",
        accepted.len()
    );
    if duplicates as i64 > killed_held {
        for n in &nodes {
            let log = n.log();
            let lines: Vec<&str> = log
                .lines()
                .filter(|l| l.contains("WARN") || l.contains("ERROR") || l.contains("renew"))
                .take(30)
                .collect();
            eprintln!("---\n{}", lines.join("\n"));
        }
    }
    assert!(duplicates as i64 <= killed_held, "live nodes sent attempts twice: {duplicates} > {killed_held}");
    assert!(per_event.keys().all(|id| wanted.contains(id.as_str())), "nothing arrived that was not accepted");
}

/// The database server itself stops under load, as a crash would, and starts again: two
/// nodes answer 503 with `Retry-After` meanwhile (never another error), reconnect by
/// themselves, and every event they accepted, before, during or after, is delivered.
#[tokio::test]
async fn postgresql_restarted_under_load_loses_nothing_accepted() {
    let test = "postgresql_restarted_under_load_loses_nothing_accepted";
    if crate::common::on_postgres() {
        return eprintln!("SKIPPED {test} in the PostgreSQL pass: it ran in the first");
    }
    let Some(cluster) = crate::common::pg_cluster::Cluster::create(test) else { return };
    let url = cluster.url();
    let key = scanhook_store::SecretBox::generate_key();
    let env = [
        ("SCANHOOK_DATABASE_URL", url.as_str()),
        ("SCANHOOK_DATABASE_POOL_SIZE", "4"),
        ("SCANHOOK_ENCRYPTION_KEY", key.as_str()),
        ("SCANHOOK_LOG", "warn"),
    ];
    let nodes = [Server::start(&env).await, Server::start(&env).await];
    let receiver = Receiver::start().await;
    nodes[0].create_webhook(json!({"url": receiver.url, "events": ["scan.*"]})).await;

    #[derive(Default)]
    struct Tally {
        accepted: Vec<String>,
        unavailable: usize,
        unavailable_without_retry_after: usize,
        other: Vec<u16>,
        accepted_after_restart: usize,
    }
    impl Tally {
        /// Counts one answer; true when it asks to wait a little.
        fn count(&mut self, status: u16, id: Option<String>, retry_after: bool, restarted: bool) -> bool {
            match (status, id) {
                (202, Some(id)) => {
                    self.accepted.push(id);
                    self.accepted_after_restart += usize::from(restarted);
                    false
                }
                (503, _) => {
                    self.unavailable += 1;
                    self.unavailable_without_retry_after += usize::from(!retry_after);
                    true
                }
                (other, _) => {
                    self.other.push(other);
                    false
                }
            }
        }
    }
    let tally = std::sync::Arc::new(std::sync::Mutex::new(Tally::default()));
    let restarted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = tokio_util::sync::CancellationToken::new();
    let mut producers = tokio::task::JoinSet::new();
    for p in 0..8 {
        let (node, client) = (&nodes[p % 2], nodes[0].client().clone());
        let (url, key) = (node.url("/v1/events"), node.key.clone());
        let (tally, restarted, stop) = (tally.clone(), restarted.clone(), stop.clone());
        producers.spawn(async move {
            let mut n = 0;
            while !stop.is_cancelled() {
                n += 1;
                let body = json!({"type": "scan.completed", "data": {"producer": p, "n": n}});
                let Ok(response) = client.post(&url).bearer_auth(&key).json(&body).send().await else {
                    continue;
                };
                let status = response.status().as_u16();
                let retry_after = response.headers().contains_key("retry-after");
                let id =
                    response.json::<serde_json::Value>().await.ok().and_then(|v| v["id"].as_str().map(String::from));
                let after = restarted.load(std::sync::atomic::Ordering::Relaxed);
                let wait = tally.lock().unwrap().count(status, id, retry_after, after);
                if wait {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        });
    }
    let pause = |s| tokio::time::sleep(std::time::Duration::from_secs(s));
    pause(2).await;
    cluster.stop_abruptly();
    pause(3).await;
    cluster.start();
    restarted.store(true, std::sync::atomic::Ordering::Relaxed);
    // Until the nodes have reconnected and accepted a good many events again.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while tally.lock().unwrap().accepted_after_restart < 200 {
        assert!(tokio::time::Instant::now() < deadline, "the nodes did not accept events again after the restart");
        pause(1).await;
    }
    stop.cancel();
    producers.join_all().await;

    let t = std::mem::take(&mut *tally.lock().unwrap());
    eprintln!(
        "{test}: {} events accepted ({} after the restart), {} answered 503",
        t.accepted.len(),
        t.accepted_after_restart,
        t.unavailable
    );
    assert!(t.other.is_empty(), "while the database was away, only 503: also got {:?}", t.other);
    assert!(t.unavailable > 0, "the restart was seen by the producers");
    assert_eq!(t.unavailable_without_retry_after, 0, "every 503 says when to try again");
    let wanted: std::collections::HashSet<&str> = t.accepted.iter().map(String::as_str).collect();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let arrived: std::collections::HashSet<String> =
            receiver.received().iter().map(|r| r.header("webhook-id").to_string()).collect();
        let missing = wanted.iter().filter(|id| !arrived.contains(**id)).count();
        if missing == 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{missing} accepted events never arrived");
        pause(1).await;
    }
}
