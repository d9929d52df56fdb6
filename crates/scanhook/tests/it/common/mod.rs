//! The test harness: the real `scanhook` binary on an ephemeral port with its own data
//! directory, a real HTTP receiver on another port, and a small JSON client.

pub mod node;
pub mod pg_cluster;
pub mod postgres;
pub mod process;
pub mod python;
pub mod receiver;
pub mod verify;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

pub use receiver::Receiver;

pub const ADMIN_KEY: &str = "shk_test_admin_key_0123456789";

/// Settings that make retries quick enough for tests; a test may override any of them.
pub const FAST: &[(&str, &str)] = &[
    ("SCANHOOK_RETRY_SCHEDULE", "0s,100ms,100ms"),
    ("SCANHOOK_POLL_INTERVAL", "100ms"),
    ("SCANHOOK_DELIVERY_TIMEOUT", "2s"),
    ("SCANHOOK_LEASE", "3s"),
    ("SCANHOOK_SHUTDOWN_GRACE", "2s"),
];

pub struct Server {
    child: Option<Child>,
    pub base: String,
    pub key: String,
    pub data_dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    env: Vec<(String, String)>,
    client: reqwest::Client,
    /// The server's own PostgreSQL database, when the suite runs on PostgreSQL; dropped
    /// after the process (fields drop after `Drop::drop` kills it).
    pub database: Option<postgres::Database>,
}

/// Whether the suite runs its servers on PostgreSQL (`SCANHOOK_TEST_BACKEND=postgres`,
/// `.ci/run` does a second pass so) rather than on their embedded SQLite.
pub fn on_postgres() -> bool {
    std::env::var("SCANHOOK_TEST_BACKEND").is_ok_and(|b| b == "postgres")
}

/// True (after saying the test is skipped, and why) when the suite runs on PostgreSQL and
/// the test is about the SQLite file itself.
pub fn sqlite_only(test: &str, why: &str) -> bool {
    if on_postgres() {
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "SKIPPED {test} on PostgreSQL: {why}; it runs in the SQLite pass");
    }
    on_postgres()
}

/// On PostgreSQL, a fresh database for a server whose settings name none.
async fn database_for(env: &mut Vec<(String, String)>) -> Option<postgres::Database> {
    if !on_postgres() || env.iter().any(|(k, _)| k == "SCANHOOK_DATABASE_URL") {
        return None;
    }
    let database = postgres::Database::create("the suite on PostgreSQL")
        .await
        .expect("SCANHOOK_TEST_BACKEND=postgres needs a PostgreSQL server (SCANHOOK_TEST_POSTGRES_URL)");
    env.push(("SCANHOOK_DATABASE_URL".into(), database.url.clone()));
    Some(database)
}

impl Server {
    /// Starts a server on a fresh data directory with [`FAST`] settings plus `env`.
    pub async fn start(env: &[(&str, &str)]) -> Server {
        Self::start_in(tempfile::tempdir().expect("temp dir"), env).await
    }

    /// Like [`Server::start`], on a data directory the test prepared (an old database).
    pub async fn start_in(tmp: tempfile::TempDir, env: &[(&str, &str)]) -> Server {
        let mut all: Vec<(String, String)> = FAST.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        all.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let database = database_for(&mut all).await;
        let mut server = Self::spawn(tmp.path(), all);
        server._tmp = Some(tmp);
        server.database = database;
        server.wait_healthy().await;
        server
    }

    /// Runs `scanhook serve` on this server's data directory (stopped first) with its
    /// settings plus `changes`, expecting it to refuse to start: returns its log.
    pub fn start_fails_with(&self, changes: &[(&str, &str)]) -> String {
        assert!(self.child.is_none(), "stop the server first");
        let log_path = self.data_dir.join("refused.log");
        let log = std::fs::File::create(&log_path).expect("log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_scanhook"));
        cmd.arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("SCANHOOK_LISTEN", "127.0.0.1:0")
            .env("SCANHOOK_DATA_DIR", &self.data_dir)
            .env("SCANHOOK_API_KEY", ADMIN_KEY)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .envs(changes.iter().copied())
            .stdout(Stdio::null())
            .stderr(log);
        let mut child = cmd.spawn().expect("spawn scanhook");
        for _ in 0..200 {
            if let Some(status) = child.try_wait().expect("wait") {
                assert!(!status.success(), "scanhook exited cleanly");
                return std::fs::read_to_string(&log_path).unwrap_or_default();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        panic!("scanhook started although it should have refused");
    }

    /// Like [`Server::start`], on a data directory the caller owns (and removes).
    pub async fn start_at(data_dir: &Path, env: &[(&str, &str)]) -> Server {
        let mut all: Vec<(String, String)> = FAST.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        all.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let database = database_for(&mut all).await;
        let mut server = Self::spawn(data_dir, all);
        server.database = database;
        server.wait_healthy().await;
        server
    }

    fn spawn(data_dir: &Path, env: Vec<(String, String)>) -> Server {
        let log =
            std::fs::OpenOptions::new().create(true).append(true).open(data_dir.join("server.log")).expect("log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_scanhook"));
        cmd.arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("SCANHOOK_LISTEN", "127.0.0.1:0")
            .env("SCANHOOK_DATA_DIR", data_dir)
            .env("SCANHOOK_API_KEY", ADMIN_KEY)
            .env("SCANHOOK_ALLOW_PRIVATE_NETWORKS", "true")
            .env("SCANHOOK_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(log);
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn scanhook");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut base = None;
        for line in lines.by_ref() {
            let line = line.expect("read stdout");
            if let Some(rest) = line.strip_prefix("scanhook listening on ") {
                base = rest.split_whitespace().next().map(str::to_string);
                break;
            }
        }
        let Some(base) = base else {
            let log = std::fs::read_to_string(data_dir.join("server.log")).unwrap_or_default();
            panic!("scanhook did not start:\n{log}");
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server {
            child: Some(child),
            base,
            key: ADMIN_KEY.into(),
            data_dir: data_dir.to_path_buf(),
            _tmp: None,
            env,
            client: reqwest::Client::new(),
            database: None,
        }
    }

    async fn wait_healthy(&self) {
        for _ in 0..100 {
            if self.client.get(format!("{}/healthz", self.base)).send().await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("scanhook at {} never became healthy", self.base);
    }

    /// Kills the process with SIGKILL: no chance to finish or release anything.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL");
            child.wait().expect("reap");
        }
    }

    /// Sends SIGTERM and waits for the process to exit; returns whether it exited cleanly.
    pub fn terminate(&mut self) -> bool {
        let Some(mut child) = self.child.take() else { return false };
        let status = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().expect("kill -TERM");
        assert!(status.success());
        child.wait().expect("wait").success()
    }

    /// Starts a new process on the same data directory and settings (after kill/terminate).
    pub async fn restart(&mut self) {
        self.restart_with(&[]).await
    }

    /// Like [`Server::restart`], with some settings changed from now on.
    pub async fn restart_with(&mut self, changes: &[(&str, &str)]) {
        assert!(self.child.is_none(), "stop the server first");
        self.env.extend(changes.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let mut next = Self::spawn(&self.data_dir, self.env.clone());
        self.child = next.child.take();
        self.base = std::mem::take(&mut next.base);
        self.wait_healthy().await;
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the server is running").id()
    }

    /// The server process's peak resident memory so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let pid = self.child.as_ref().expect("the server is running").id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/<pid>/status");
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM in /proc/<pid>/status");
        line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("VmHWM in kB")
    }

    /// Whether the process still runs and answers `/healthz`.
    pub async fn is_healthy(&mut self) -> bool {
        let running = self.child.as_mut().is_some_and(|c| c.try_wait().ok().flatten().is_none());
        running && self.client.get(format!("{}/healthz", self.base)).send().await.is_ok_and(|r| r.status().is_success())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("server.log")).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends a request with the admin key (or `key`) and returns status and JSON body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, self.url(path)).bearer_auth(key.unwrap_or(&self.key));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let json =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        (status, json)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, None, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(body), None).await
    }

    /// POSTs `body` as these very bytes, with the admin key.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: String) -> (StatusCode, Value) {
        let response = self
            .client
            .post(self.url(path))
            .bearer_auth(&self.key)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request");
        let code = response.status();
        (code, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn create_webhook(&self, body: Value) -> Value {
        let (status, json) = self.post("/v1/webhooks", body).await;
        assert_eq!(status, StatusCode::CREATED, "{json}");
        json
    }

    pub async fn send_event(&self, event_type: &str, data: Value) -> Value {
        let (status, json) = self.post("/v1/events", serde_json::json!({"type": event_type, "data": data})).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{json}");
        json
    }

    /// The attempt log of `webhook`'s only delivery, once that delivery is `status`.
    pub async fn attempt_log(&self, webhook: &Value, status: &str) -> Vec<Value> {
        let path = format!("/v1/deliveries?webhook_id={}", webhook["id"].as_str().expect("a webhook"));
        let list = self
            .wait_until(&path, 20, |l| l["data"].as_array().is_some_and(|d| d.len() == 1 && d[0]["status"] == status))
            .await;
        let id = list["data"][0]["id"].as_str().expect("a delivery");
        let (_, detail) = self.get(&format!("/v1/deliveries/{id}")).await;
        detail["attempt_log"].as_array().expect("an attempt log").clone()
    }

    /// Polls `GET path` until `done` holds for its JSON, or fails after `secs` seconds.
    pub async fn wait_until(&self, path: &str, secs: u64, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let (_, json) = self.get(path).await;
            if done(&json) {
                return json;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("timed out waiting on {path}; last answer: {json}\nserver log:\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}
