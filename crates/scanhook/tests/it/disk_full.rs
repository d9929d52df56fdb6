//! A full disk. Under the database: writes answer 503 `storage_full` with `Retry-After`,
//! reads go on, deliveries accepted before keep going out, and writes succeed again once
//! there is room, without a restart. Under the log: requests still get their answers.
//!
//! Each test mounts a small tmpfs of its own, which needs root and a machine that allows
//! `mount`; where it does not, the test says so and passes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::{Receiver, Server, receiver::status};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A tmpfs mounted for one test; unmounted when dropped (also when the test fails).
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().expect("temp dir");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            eprintln!(
                "SKIPPED: cannot mount a tmpfs here; run as root on a machine that allows mount: \
                 cargo test -p scanhook --test it disk_full::"
            );
            return None;
        }
        Some(SmallDisk { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills what room is left with one file; returns its path.
    fn fill(&self) -> PathBuf {
        let path = self.path().join("filler");
        std::fs::File::create(&path).expect("filler");
        fill_up(&path);
        path
    }
}

/// Appends to `path` until the disk refuses, in smaller writes at the end: the last page
/// of a file has room too.
fn fill_up(path: &Path) {
    let mut file = std::fs::OpenOptions::new().append(true).open(path).expect("open");
    for size in [64 * 1024, 64] {
        let chunk = vec![b'.'; size];
        // Bounded: a tmpfs of a few MiB is full long before this.
        for _ in 0..100_000 {
            if file.write_all(&chunk).is_err() {
                break;
            }
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Lazy: a process still holding a file there cannot keep the mount busy.
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

async fn post_event(server: &Server, data: Value) -> reqwest::Response {
    server
        .client()
        .post(server.url("/v1/events"))
        .bearer_auth(&server.key)
        .json(&json!({"type": "scan.completed", "data": data}))
        .send()
        .await
        .expect("an answer, not a dropped connection")
}

#[tokio::test]
async fn a_full_database_disk_refuses_writes_with_503_and_recovers_when_room_returns() {
    if crate::common::sqlite_only(
        "a_full_database_disk_refuses_writes_with_503_and_recovers_when_room_returns",
        "it fills the disk under the SQLite file",
    ) {
        return;
    }
    let Some(disk) = SmallDisk::mount("24m") else { return };
    let data_dir = disk.path().join("data");
    std::fs::create_dir(&data_dir).unwrap();
    let receiver = Receiver::start().await;
    let server = Server::start_at(
        &data_dir,
        &[("SCANHOOK_RETRY_SCHEDULE", "0s,500ms,500ms,500ms,500ms,500ms,500ms,500ms,500ms,500ms,500ms,500ms")],
    )
    .await;
    server.create_webhook(json!({"url": receiver.url, "events": ["*"]})).await;

    // Accepted before the disk fills; the receiver is down, so they wait for a retry.
    receiver.always(status(503));
    for n in 0..3 {
        server.send_event("scan.completed", json!({"before": n})).await;
    }
    receiver.wait_for(3, 10).await;
    let filler = disk.fill();
    receiver.always(status(200));

    let padding = "x".repeat(8 * 1024);
    let mut refused = None;
    for n in 0..2_000 {
        let resp = post_event(&server, json!({"n": n, "padding": padding})).await;
        if resp.status() != StatusCode::ACCEPTED {
            refused = Some(resp);
            break;
        }
    }
    let refused = refused.expect("writes are refused once the disk is full");
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after > 0);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["code"], "storage_full", "{problem}");

    let (status, _) = server.get("/v1/events?limit=1").await;
    assert_eq!(status, StatusCode::OK, "reads go on");

    // The deliveries accepted before the fill still reach the receiver (each of the 3
    // events answered 200 at least once: at-least-once).
    let before = receiver.received().len();
    receiver.wait_for(before + 3, 20).await;

    // Room returns: the store notices within a second or so, without a restart.
    std::fs::remove_file(&filler).unwrap();
    let mut last = None;
    for _ in 0..50 {
        let resp = post_event(&server, json!({"after": true})).await;
        if resp.status() == StatusCode::ACCEPTED {
            return;
        }
        last = Some(resp.status());
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("writes were still refused after room returned: {last:?}\n{}", server.log());
}

#[tokio::test]
async fn requests_and_deliveries_go_on_while_the_log_disk_is_full() {
    let Some(disk) = SmallDisk::mount("4m") else { return };
    let data_dir = tempfile::tempdir().unwrap();
    // The harness logs to <data dir>/server.log: point it at the small disk.
    let log = disk.path().join("server.log");
    std::os::unix::fs::symlink(&log, data_dir.path().join("server.log")).unwrap();
    // Trace: requests and deliveries write log lines.
    let server = Server::start_at(data_dir.path(), &[("SCANHOOK_LOG", "trace")]).await;
    let receiver = Receiver::start().await;
    server.create_webhook(json!({"url": receiver.url, "events": ["*"]})).await;
    let _filler = disk.fill();
    fill_up(&log);

    for n in 0..3 {
        let (status, _) = server.get("/v1/webhooks").await;
        assert_eq!(status, StatusCode::OK);
        let resp = post_event(&server, json!({"n": n})).await;
        assert_eq!(resp.status(), StatusCode::ACCEPTED);
        let (status, _) = server.get("/v1/nope").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    receiver.wait_for(3, 20).await;
    server
        .wait_until("/v1/deliveries", 20, |list| {
            list["data"].as_array().is_some_and(|d| d.len() == 3 && d.iter().all(|d| d["status"] == "succeeded"))
        })
        .await;
}
