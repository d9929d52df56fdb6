//! `scanhook serve` as a newcomer meets it: the first start generates and prints an admin
//! key once; a bad setting stops the start with a message that names it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn serve(dir: &std::path::Path, env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scanhook"));
    cmd.arg("serve")
        .env_clear()
        .env("SCANHOOK_LISTEN", "127.0.0.1:0")
        .env("SCANHOOK_DATA_DIR", dir)
        .env("SCANHOOK_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Starts the server, returns its stdout lines up to the listening line, and kills it.
fn first_lines(dir: &std::path::Path) -> Vec<String> {
    let mut child = serve(dir, &[]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let done = line.starts_with("scanhook listening on ");
        lines.push(line);
        if done {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    lines
}

#[tokio::test]
async fn first_start_prints_a_working_admin_key_once() {
    let dir = tempfile::tempdir().unwrap();
    let lines = first_lines(dir.path());
    let key = lines
        .iter()
        .find_map(|l| l.split("keep it): ").nth(1))
        .unwrap_or_else(|| panic!("no generated key in {lines:?}"))
        .to_string();
    assert!(key.starts_with("shk_"));

    // On the same data the key is not printed again, and it opens the API.
    let mut child = serve(dir.path(), &[]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = reader.next().unwrap().unwrap();
    assert!(first.starts_with("scanhook listening on "), "{first}");
    let base = first.trim_start_matches("scanhook listening on ").split_whitespace().next().unwrap().to_string();
    let client = reqwest::Client::new();
    let ok = client.get(format!("{base}/v1/webhooks")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    let wrong = client.get(format!("{base}/v1/webhooks")).bearer_auth("shk_wrong_key_0123456789").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn bad_settings_stop_the_start_and_name_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &str)] = &[
        ("SCANHOOK_RETRY_SCHEDULE", "0s,soon", "SCANHOOK_RETRY_SCHEDULE"),
        ("SCANHOOK_DELIVERY_TIMEOUT", "forever", "forever"),
        ("SCANHOOK_LEASE", "1s", "SCANHOOK_LEASE"),
        ("SCANHOOK_API_KEY", "short", "SCANHOOK_API_KEY"),
        ("SCANHOOK_MAX_WEBHOOKS", "ten", "ten"),
        ("SCANHOOK_DATABASE_URL", "mysql://u:pw@db/hooks", "SCANHOOK_DATABASE_URL"),
        ("SCANHOOK_DATABASE_POOL_SIZE", "0", "database-pool-size"),
    ];
    for (name, value, expected) in cases {
        let out = serve(dir.path(), &[(name, value)]).output().unwrap();
        assert!(!out.status.success(), "{name}={value} should not start");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{name}={value}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "a refused start leaves nothing behind");

    // A PostgreSQL server that does not answer stops the start, saying which setting led there.
    let nowhere = [("SCANHOOK_DATABASE_URL", "postgres://postgres@127.0.0.1:1/hooks")];
    let out = serve(tempfile::tempdir().unwrap().path(), &nowhere).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("connecting to PostgreSQL (SCANHOOK_DATABASE_URL)"), "{stderr}");
}
