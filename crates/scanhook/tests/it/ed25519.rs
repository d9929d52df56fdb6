//! The `standard-ed25519` scheme end to end: real deliveries from the real server, signed
//! `v1a` with the endpoint's Ed25519 key, verified with the public key read from the API
//! by the documented receivers (examples/receivers: Node's built-in `crypto`, Python's
//! `cryptography`), by `scanhook-verify` and by `scanhook listen`; rotation signs with
//! both keys for its grace; the secret key never appears in an answer or, unsealed, in
//! the database; secrets of the wrong kind are refused.

use std::path::PathBuf;
use std::process::Command;

use crate::common::process::Process;
use crate::common::{Receiver, Server};
use reqwest::{Method, StatusCode};
use scanhook_verify::ed25519::{PublicKey, Verifier};
use serde_json::{Value, json};

/// The pinned `cryptography` the Python receiver imports, installed into a venv under target/.
const CRYPTOGRAPHY: &str = "cryptography==50.0.2";

/// A published key pair (Svix's test key; the spec's example `v1a` signature is its).
const PUBLISHED_SECRET_KEY: &str =
    "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg==";
const PUBLISHED_PUBLIC_KEY: &str = "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn node_receiver(public_key: &str) -> Process {
    let mut command = Command::new("node");
    command.arg(root().join("examples/receivers/node/receiver-ed25519.js"));
    command.env("WEBHOOK_PUBLIC_KEY", public_key).env("PORT", "0");
    Process::spawn("the Node Ed25519 receiver", command)
}

/// The Python receiver, once `cryptography` is installed in target/ed25519-venv; `None`
/// (after saying so) when PyPI cannot be reached.
fn python_receiver(public_key: &str) -> Option<Process> {
    // Tests of this binary run at once: one installs, the others wait for it.
    static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _installing = INSTALLING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let venv = root().join("target/ed25519-venv");
    let python = venv.join("bin/python");
    let pinned = || {
        Command::new(&python)
            .args(["-c", "import cryptography, sys; sys.exit(cryptography.__version__ != sys.argv[1])"])
            .arg(CRYPTOGRAPHY.trim_start_matches("cryptography=="))
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !pinned() {
        let made = Command::new("python3").arg("-m").arg("venv").arg(&venv).status().is_ok_and(|s| s.success());
        let installed = made
            && Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet", "--disable-pip-version-check", CRYPTOGRAPHY])
                .status()
                .is_ok_and(|s| s.success());
        if !installed || !pinned() {
            eprintln!(
                "SKIPPED the Python Ed25519 receiver: could not install {CRYPTOGRAPHY} into {} (PyPI unreachable?). \
                 Run: python3 -m venv target/ed25519-venv && target/ed25519-venv/bin/pip install {CRYPTOGRAPHY}",
                venv.display()
            );
            return None;
        }
    }
    let mut command = Command::new(python);
    command.arg(root().join("examples/receivers/python/receiver_ed25519.py"));
    command.env("WEBHOOK_PUBLIC_KEY", public_key).env("PORT", "0");
    Some(Process::spawn("the Python Ed25519 receiver", command))
}

async fn patch(server: &Server, id: &str, body: Value) -> Value {
    let (status, json) = server.call(Method::PATCH, &format!("/v1/webhooks/{id}"), Some(body), None).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    json
}

async fn rotate(server: &Server, id: &str, body: Value) -> Value {
    let (status, json) = server.post(&format!("/v1/webhooks/{id}/rotate-secret"), body).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    json
}

/// An Ed25519 endpoint, created before its receiver runs: the receiver needs the public
/// key, read back with `GET` as a user would, and the endpoint then gets its URL.
async fn ed25519_webhook(server: &Server) -> (String, String) {
    let created = server
        .create_webhook(json!({"url": "http://127.0.0.1:9/later", "events": ["scan.*"],
            "signature": {"scheme": "standard-ed25519"}}))
        .await;
    let id = created["id"].as_str().unwrap().to_string();
    let (_, read) = server.get(&format!("/v1/webhooks/{id}")).await;
    let public_key = read["public_key"].as_str().expect("every read shows the public key").to_string();
    assert_eq!(created["public_key"], public_key);
    assert!(created.get("secret").is_none() && !created.to_string().contains("whsk_"), "{created}");
    (id, public_key)
}

/// The attempt log of a webhook's one delivery, once it has `status`.
async fn attempts(server: &Server, id: &str, status: &str) -> Vec<Value> {
    let path = format!("/v1/deliveries?webhook_id={id}");
    let list = server
        .wait_until(&path, 20, |l| l["data"].as_array().is_some_and(|d| d.len() == 1 && d[0]["status"] == status))
        .await;
    let (_, detail) = server.get(&format!("/v1/deliveries/{}", list["data"][0]["id"].as_str().unwrap())).await;
    detail["attempt_log"].as_array().unwrap().clone()
}

fn logged_header(attempt: &Value, name: &str) -> Option<String> {
    let headers: Vec<(String, String)> = serde_json::from_value(attempt["request"]["headers"].clone()).unwrap();
    headers.into_iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

/// A receiver with the endpoint's public key verifies; one with another endpoint's key
/// refuses every attempt (401) until the delivery is dead; `scanhook-verify` checks the
/// logged signature with the key too.
async fn receiver_verifies_real_deliveries(server: &Server, spawn: impl Fn(&str) -> Option<Process>) {
    let (right, key) = ed25519_webhook(server).await;
    let Some(receiver) = spawn(&key) else { return };
    let url = format!("{}/hooks/scans", receiver.listening_url().await);
    patch(server, &right, json!({"url": url})).await;
    let (wrong, _) = ed25519_webhook(server).await;
    patch(server, &wrong, json!({"url": url})).await;

    let accepted = server.send_event("scan.completed", json!({"scanId": "scan_1"})).await;
    let printed = receiver.wait_for_line(20, |l| l.starts_with("verified ")).await;
    assert_eq!(printed, format!("verified scan.completed {}", accepted["id"].as_str().unwrap()));

    let log = attempts(server, &right, "succeeded").await;
    assert_eq!(log[0]["status_code"], 204, "{log:?}");
    let signature = logged_header(&log[0], "webhook-signature").unwrap();
    assert!(signature.starts_with("v1a,") && !signature.contains(' '), "{signature}");
    assert_eq!(logged_header(&log[0], "X-Scanhook-Signature"), None, "no HMAC without a shared secret");
    // The log rebuilds the canonical body byte for byte: scanhook-verify checks it too.
    let at = logged_header(&log[0], "webhook-timestamp").unwrap();
    let sent = log[0]["request"]["body"].as_str().unwrap();
    Verifier::new(PublicKey::parse(&key).unwrap())
        .verify(accepted["id"].as_str().unwrap(), &at, &signature, sent.as_bytes(), at.parse().unwrap())
        .expect("scanhook-verify accepts what the receiver accepted");

    let log = attempts(server, &wrong, "dead").await;
    assert!(log.len() == 3 && log.iter().all(|a| a["status_code"] == 401), "{log:?}");
    assert!(receiver.stderr().contains("rejected: no signature matches"), "{}", receiver.stderr());
}

#[tokio::test]
async fn node_receiver_verifies_real_deliveries_with_the_public_key() {
    let server = Server::start(&[]).await;
    receiver_verifies_real_deliveries(&server, |key| Some(node_receiver(key))).await;
}

#[tokio::test]
async fn python_receiver_verifies_real_deliveries_with_the_public_key() {
    let server = Server::start(&[]).await;
    receiver_verifies_real_deliveries(&server, python_receiver).await;
}

/// Every byte of the database files, to search for plaintext.
fn database_bytes(server: &Server) -> Vec<u8> {
    ["scanhook.db", "scanhook.db-wal"]
        .iter()
        .flat_map(|name| std::fs::read(server.data_dir.join(name)).unwrap_or_default())
        .collect()
}

fn verifies(public_key: &str, delivery: &crate::common::receiver::Received) -> bool {
    Verifier::new(PublicKey::parse(public_key).unwrap())
        .verify_now(
            delivery.header("webhook-id"),
            delivery.header("webhook-timestamp"),
            delivery.header("webhook-signature"),
            &delivery.body,
        )
        .is_ok()
}

/// Replays a received delivery to another receiver: its status.
async fn replay_to(receiver: &Process, delivery: &crate::common::receiver::Received) -> u16 {
    let url = format!("{}/hooks", receiver.listening_url().await);
    let mut request = reqwest::Client::new().post(url).body(delivery.body.clone());
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature", "content-type"] {
        request = request.header(name, delivery.header(name));
    }
    request.send().await.expect("the receiver answers").status().as_u16()
}

#[tokio::test]
async fn rotation_signs_with_both_keys_for_its_grace_and_the_secret_key_never_shows() {
    let mut server = Server::start(&[]).await;
    let receiver = Receiver::start().await;
    let mut answers = Vec::new();
    let created = server
        .create_webhook(json!({"url": receiver.url, "events": ["*"], "signature": {"scheme": "standard-ed25519"}}))
        .await;
    let id = created["id"].as_str().unwrap().to_string();
    let first = created["public_key"].as_str().unwrap().to_string();
    answers.push(created);

    // Rotated with a grace period: the answer has the new public key, no secret.
    let rotated = rotate(&server, &id, json!({"grace_period": 3600})).await;
    let second = rotated["public_key"].as_str().expect("the new public key").to_string();
    assert!(rotated.get("secret").is_none() && second != first, "{rotated}");
    let (_, read) = server.get(&format!("/v1/webhooks/{id}")).await;
    assert_eq!((read["public_key"].as_str(), read["previous_public_key"].as_str()), (Some(&*second), Some(&*first)));
    answers.extend([rotated, read]);

    // During the grace every delivery carries both signatures, the new one first: a
    // receiver with either public key accepts it — the documented ones too.
    server.send_event("scan.completed", json!({"n": 1})).await;
    let got = receiver.wait_for(1, 10).await;
    let entries: Vec<&str> = got[0].header("webhook-signature").split(' ').collect();
    assert!(entries.len() == 2 && entries.iter().all(|e| e.starts_with("v1a,")), "{entries:?}");
    assert!(verifies(&first, &got[0]) && verifies(&second, &got[0]));
    assert_eq!(got[0].header("x-scanhook-signature"), "", "no HMAC header without a shared secret");
    assert_eq!(replay_to(&node_receiver(&first), &got[0]).await, 204);
    if let Some(python) = python_receiver(&second) {
        assert_eq!(replay_to(&python, &got[0]).await, 204);
    }
    let (_, third_party) = ed25519_webhook(&server).await;
    assert_eq!(replay_to(&node_receiver(&third_party), &got[0]).await, 401, "another endpoint's key does not verify");

    // Without a grace the old key stops at once.
    let rotated = rotate(&server, &id, json!({"grace_period": 0})).await;
    let third = rotated["public_key"].as_str().unwrap().to_string();
    answers.push(rotated);
    server.send_event("scan.completed", json!({"n": 2})).await;
    let got = receiver.wait_for(2, 10).await;
    assert!(!got[1].header("webhook-signature").contains(' '), "{}", got[1].header("webhook-signature"));
    assert!(verifies(&third, &got[1]) && !verifies(&second, &got[1]));

    // To an HMAC scheme: a new shared secret, shown in that answer only; the key pair is gone.
    let to_standard = patch(&server, &id, json!({"signature": {"scheme": "standard"}})).await;
    let shared = to_standard["secret"].as_str().expect("the new shared secret, once").to_string();
    assert!(shared.starts_with("whsec_") && to_standard.get("public_key").is_none(), "{to_standard}");
    assert!(to_standard.get("previous_secret_expires_at").is_none(), "{to_standard}");
    server.send_event("scan.completed", json!({"n": 3})).await;
    let got = receiver.wait_for(3, 10).await;
    let v1 = scanhook_verify::standard::Verifier::new(&shared);
    let header = |name| got[2].header(name);
    v1.verify_now(header("webhook-id"), header("webhook-timestamp"), header("webhook-signature"), &got[2].body)
        .expect("signed v1 with the new shared secret");
    let (_, read) = server.get(&format!("/v1/webhooks/{id}")).await;
    assert!(read.get("secret").is_none(), "{read}");
    answers.extend([to_standard, read]);

    // And back: a fresh key pair, its public key shown, nothing secret.
    let back = patch(&server, &id, json!({"signature": {"scheme": "standard-ed25519"}})).await;
    let fourth = back["public_key"].as_str().unwrap().to_string();
    assert!(back.get("secret").is_none() && ![&first, &second, &third].contains(&&fourth), "{back}");
    server.send_event("scan.completed", json!({"n": 4})).await;
    let got = receiver.wait_for(4, 10).await;
    assert!(verifies(&fourth, &got[3]));
    let (_, list) = server.get("/v1/webhooks").await;
    let (_, audit) = server.get("/v1/audit-log").await;
    answers.extend([back, list, audit]);

    for answer in &answers {
        assert!(!answer.to_string().contains("whsk_"), "a secret key in an answer: {answer}");
    }
    assert!(server.terminate());
    let bytes = match &server.database {
        Some(postgres) => postgres.all_rows().await.into_bytes(),
        None => database_bytes(&server),
    };
    assert!(!bytes.windows(5).any(|w| w == b"whsk_"), "an Ed25519 secret key is stored in plaintext");
    assert!(bytes.windows(6).any(|w| w == b"enc:v1"), "the search looks at the sealed values");
}

#[tokio::test]
async fn secrets_of_the_wrong_kind_are_refused_and_a_given_key_is_kept() {
    let server = Server::start(&[]).await;
    let ed25519 = json!({"scheme": "standard-ed25519"});
    let refused = |status: StatusCode, problem: &Value| {
        assert_eq!(
            (status, problem["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("secret")),
            "{problem}"
        );
    };
    let url = "https://example.com/hooks";
    for (signature, secret) in [
        (ed25519.clone(), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        (ed25519.clone(), "a-shared-secret-of-mine"),
        (ed25519.clone(), "whsk_AAAAAAAAAAAAAAAAAAAAAAAA"),
        (json!({"scheme": "standard"}), PUBLISHED_SECRET_KEY),
        (json!({"scheme": "hmac-sha256", "header": "X-Sig"}), PUBLISHED_SECRET_KEY),
    ] {
        let body = json!({"url": url, "events": ["*"], "signature": signature, "secret": secret});
        let (status, problem) = server.post("/v1/webhooks", body).await;
        refused(status, &problem);
    }

    // A key from another Standard Webhooks sender is kept: receivers keep its public key.
    let moved = server
        .create_webhook(json!({"url": url, "events": ["*"], "signature": ed25519, "secret": PUBLISHED_SECRET_KEY}))
        .await;
    assert_eq!(moved["public_key"], PUBLISHED_PUBLIC_KEY);
    let id = moved["id"].as_str().unwrap();
    let path = format!("/v1/webhooks/{id}/rotate-secret");
    let (status, problem) = server.post(&path, json!({"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})).await;
    refused(status, &problem);
    let standard = server.create_webhook(json!({"url": url, "events": ["*"]})).await;
    let path = format!("/v1/webhooks/{}/rotate-secret", standard["id"].as_str().unwrap());
    let (status, problem) = server.post(&path, json!({"secret": PUBLISHED_SECRET_KEY})).await;
    refused(status, &problem);
}

#[tokio::test]
async fn listen_verifies_with_a_public_key() {
    let (server, id, public_key) = {
        let server = Server::start(&[]).await;
        let (id, key) = ed25519_webhook(&server).await;
        (server, id, key)
    };
    let mut command = Command::new(env!("CARGO_BIN_EXE_scanhook"));
    command.args(["listen", "--port", "0", "--secret", &public_key]).env_clear();
    let listener = Process::spawn("scanhook listen", command);
    patch(&server, &id, json!({"url": format!("{}/hooks", listener.listening_url().await)})).await;
    server.send_event("scan.completed", json!({})).await;
    let line = listener.wait_for_line(20, |l| l.contains("signature:")).await;
    assert_eq!(line.trim(), "signature: verified (webhook-signature)");

    let mut command = Command::new(env!("CARGO_BIN_EXE_scanhook"));
    command.args(["listen", "--port", "0", "--secret", "whpk_AAAA"]).env_clear();
    let output = command.output().expect("scanhook listen runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && stderr.contains("whpk_"), "{stderr}");
}
