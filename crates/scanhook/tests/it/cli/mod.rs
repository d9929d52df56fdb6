//! The command-line client as a user runs it: the real `scanhook` binary against a real
//! server on an ephemeral port (and a real receiver for `webhooks test`). Each command's
//! happy path, and its error paths: an unknown ID (exit 1, the API's message), a bad flag
//! (exit 2), an unreachable server (exit 1, a message naming the URL, no panic).

mod accounts;
mod audit;
mod connection;
mod events;
mod portal_links;
mod scans;
mod webhooks;

use std::path::{Path, PathBuf};

use crate::common::{Receiver, Server};
use serde_json::Value;

/// What one run of the binary left behind.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts exit 0 and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "expected success\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        &self.stdout
    }

    /// Asserts exit 0 and parses stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        let out = self.ok();
        serde_json::from_str(out).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {out}"))
    }

    /// Asserts `code`, a message on stderr containing each of `parts`, and no panic.
    #[track_caller]
    pub fn fails(&self, code: i32, parts: &[&str]) {
        assert_eq!(self.code, code, "stdout: {}\nstderr: {}", self.stdout, self.stderr);
        for part in parts {
            assert!(self.stderr.contains(part), "stderr lacks {part:?}: {}", self.stderr);
        }
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
    }
}

/// The binary with a clean environment: only what `env` sets, a home and a config file
/// of its own, so no test reads the user's (or another test's) settings.
pub struct Cli {
    env: Vec<(String, String)>,
    _home: tempfile::TempDir,
    pub config: PathBuf,
}

impl Cli {
    /// A client of `server` through SCANHOOK_URL and SCANHOOK_API_KEY.
    pub fn of(server: &Server) -> Cli {
        Cli::with_env(&[("SCANHOOK_URL", &server.base), ("SCANHOOK_API_KEY", &server.key)])
    }

    pub fn with_env(env: &[(&str, &str)]) -> Cli {
        let home = tempfile::tempdir().expect("temp home");
        let config = home.path().join("scanhook.toml");
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Cli { env, config, _home: home }
    }

    pub fn home(&self) -> &Path {
        self._home.path()
    }

    pub async fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, "").await
    }

    pub async fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Run {
        use tokio::io::AsyncWriteExt;
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_scanhook"));
        cmd.args(args)
            .env_clear()
            .env("HOME", self.home())
            .env("SCANHOOK_CONFIG", &self.config)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn scanhook");
        let mut input = child.stdin.take().expect("stdin");
        input.write_all(stdin.as_bytes()).await.expect("write stdin");
        drop(input);
        let out = child.wait_with_output().await.expect("run scanhook");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs with `-o json` and returns the parsed answer.
    pub async fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        self.run(&all).await.json()
    }
}

/// A server, a client of it, a receiver and a webhook to it for `events`: what the tests
/// that follow deliveries start from. Returns the webhook's ID last.
pub async fn with_receiver(events: &str) -> (Server, Cli, Receiver, String) {
    let server = Server::start(&[]).await;
    let cli = Cli::of(&server);
    let receiver = Receiver::start().await;
    let hook = cli.json(&["webhooks", "create", "--url", &receiver.url, "--events", events]).await;
    let id = s(&hook, "id");
    (server, cli, receiver, id)
}

/// `value[key]` as a string.
#[track_caller]
pub fn s(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_else(|| panic!("no string {key} in {value}")).to_string()
}
