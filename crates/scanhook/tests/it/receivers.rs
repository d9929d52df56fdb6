//! The receivers of docs/receivers.md (examples/receivers/) run as real node and python3
//! processes and verify real deliveries from the real server: a webhook with their secret
//! succeeds (204), one with another secret is refused (401) and retried until dead.

use std::path::PathBuf;
use std::process::Command;

use crate::common::Server;
use crate::common::process::Process;
use serde_json::json;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn example_dir(language: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/receivers").join(language)
}

fn with_receiver_env(mut command: Command) -> Command {
    command.env("WEBHOOK_SECRET", SECRET).env("PORT", "0");
    command
}

async fn receiver_verifies_real_deliveries(receiver: Process) {
    let url = format!("{}/hooks/scans", receiver.listening_url().await);
    let server = Server::start(&[]).await;
    let right = server.create_webhook(json!({"url": url, "events": ["scan.*"], "secret": SECRET})).await;
    let wrong = server
        .create_webhook(json!({"url": url, "events": ["scan.*"], "secret": "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"}))
        .await;
    let accepted = server.send_event("scan.completed", json!({"scanId": "scan_1", "violations": {"total": 2}})).await;
    assert_eq!(accepted["deliveries"], 2);

    let printed = receiver.wait_for_line(20, |l| l.starts_with("verified ")).await;
    assert_eq!(printed, format!("verified scan.completed {}", accepted["id"].as_str().unwrap()));

    let log = server.attempt_log(&right, "succeeded").await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0]["status_code"], 204);

    let log = server.attempt_log(&wrong, "dead").await;
    assert_eq!(log.len(), 3, "every attempt of the schedule was refused: {log:?}");
    assert!(log.iter().all(|a| a["status_code"] == 401), "{log:?}");
    assert!(receiver.stderr().contains("rejected: no signature matches"), "{}", receiver.stderr());
    let verified = receiver.stdout().lines().filter(|l| l.starts_with("verified ")).count();
    assert_eq!(verified, 1, "only the right secret verifies:\n{}", receiver.stdout());
}

#[tokio::test]
async fn python_receiver_verifies_real_deliveries() {
    let mut command = Command::new("python3");
    command.arg(example_dir("python").join("receiver.py"));
    receiver_verifies_real_deliveries(Process::spawn("the Python receiver", with_receiver_env(command))).await;
}

#[tokio::test]
async fn node_receiver_verifies_real_deliveries() {
    let dir = example_dir("node");
    crate::common::node::npm_ci(&dir);
    let mut command = Command::new("node");
    command.arg(dir.join("receiver.js"));
    receiver_verifies_real_deliveries(Process::spawn("the Node receiver", with_receiver_env(command))).await;
}

/// docs/receivers.md quotes the example files whole; the quotes must not drift from the
/// code these tests run.
#[test]
fn docs_quote_the_tested_examples_verbatim() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let docs = std::fs::read_to_string(root.join("docs/receivers.md")).expect("docs/receivers.md");
    let mut quoted = Vec::new();
    for after in docs.split("<!-- quote: ").skip(1) {
        let path = after.split_whitespace().next().unwrap();
        let fence_start = after.find("```").unwrap();
        let block = &after[fence_start..];
        let code_start = block.find('\n').unwrap() + 1;
        let code_end = block[code_start..].find("\n```").unwrap() + code_start;
        let file = std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(&block[code_start..=code_end], file, "docs/receivers.md quotes {path} as it was; copy it again");
        quoted.push(path);
    }
    for example in [
        "examples/receivers/node/receiver.js",
        "examples/receivers/python/receiver.py",
        "examples/receivers/node/receiver-ed25519.js",
        "examples/receivers/python/receiver_ed25519.py",
    ] {
        assert!(quoted.contains(&example), "docs/receivers.md quotes {example}");
    }
}
