//! `scanhook projects …`, `scanhook scans …` and `scanhook violations …`.

use super::{Cli, s};
use crate::common::Server;

const SARIF: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/sarif/semgrep.sarif");

#[tokio::test]
async fn a_scan_is_reported_from_start_to_violations() {
    let server = Server::start(&[]).await;
    let cli = Cli::of(&server);

    let project =
        cli.run(&["projects", "create", "--name", "web", "--target", "https://github.com/acme/web", "-q"]).await;
    let project = project.ok().trim().to_string();
    assert!(project.starts_with("proj_"), "{project}");
    assert!(cli.run(&["projects", "list"]).await.ok().contains(&project));
    assert_eq!(cli.json(&["projects", "get", &project]).await["name"], "web");
    let args = ["webhooks", "create", "--url", "https://example.com/h", "--events", "violation.*", "--disabled"];
    let hook = cli.json(&[&args[..], &["--projects", &project, "--min-severity", "high"]].concat()).await;
    assert_eq!((hook["projects"][0].as_str(), hook["active"].as_bool()), (Some(project.as_str()), Some(false)));

    // The CI one-liner of the README: start, complete with the SARIF log.
    let scan = cli.run(&["scans", "start", "--project", &project, "--rules", "owasp,gdpr", "-q"]).await;
    let scan = scan.ok().trim().to_string();
    let progress = cli.run(&["scans", "progress", &scan, "--percent", "40", "--message", "halfway"]).await;
    assert!(progress.ok().contains("40%"), "{}", progress.stdout);
    let sarif = std::fs::read_to_string(SARIF).unwrap();
    let done = cli.run_with_stdin(&["scans", "complete", &scan, "--sarif", "@-"], &sarif).await;
    assert!(done.ok().contains("4 new violations"), "{}", done.stdout);
    assert_eq!(cli.json(&["scans", "get", &scan]).await["status"], "completed");

    let violations = cli.json(&["violations", "list", "--project", &project, "--severity", "high"]).await;
    assert_eq!(violations["data"].as_array().map(Vec::len), Some(1));
    let violation = s(&violations["data"][0], "id");
    let table = cli.run(&["violations", "list", "--project", &project]).await;
    assert_eq!(table.ok().lines().count(), 5, "header and 4 violations: {}", table.stdout);
    let resolved = cli.run(&["violations", "resolve", &violation, "--by", "alice"]).await;
    assert!(resolved.ok().contains("Resolved violation"), "{}", resolved.stdout);
    let shown = cli.json(&["violations", "list", "--project", &project, "--status", "resolved"]).await;
    assert_eq!(shown["data"][0]["resolved_by"], "alice");
    cli.run(&["violations", "resolve", &violation]).await.fails(1, &["HTTP 409"]);
    let history = cli.run(&["violations", "show", &violation]).await;
    let history = history.ok();
    let detected = history.find("detected in scan_").unwrap_or_else(|| panic!("{history}"));
    assert!(history[detected..].contains("resolved by alice"), "{history}");
    assert_eq!(cli.json(&["violations", "show", &violation]).await["history"][1]["by"], "alice");
    let shown = cli.run(&["projects", "get", &project]).await;
    assert!(shown.ok().contains("resolved violations  1"), "{}", shown.stdout);
    let events = cli.json(&["events", "list", "--project", &project, "--type", "violation.resolved"]).await;
    assert_eq!(events["data"].as_array().map(Vec::len), Some(1), "{events}");

    // A scan ends once.
    cli.run(&["scans", "fail", &scan, "--code", "late", "--message", "too late"]).await.fails(1, &["HTTP 409"]);

    // scanhook's JSON findings, as a bare array, with a score.
    let report = cli.home().join("report.json");
    std::fs::write(&report, r#"[{"rule": "r1", "severity": "critical", "file": "a.py", "line": 3, "message": "m"}]"#)
        .unwrap();
    let second = s(&cli.json(&["scans", "start", "--project", &project]).await, "id");
    let args = ["scans", "complete", &second, "--findings", &format!("@{}", report.display()), "--score", "70"];
    let completed = cli.json(&args).await;
    assert_eq!((completed["detected"].as_u64(), completed["score"].as_u64()), (Some(1), Some(70)));

    let third = s(&cli.json(&["scans", "start", "--project", &project]).await, "id");
    let failed = cli.json(&["scans", "fail", &third, "--code", "crash", "--message", "the scanner died"]).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error"]["code"], "crash");

    assert!(cli.run(&["projects", "delete", &project]).await.ok().contains("Deleted project"));
    cli.run(&["projects", "get", &project]).await.fails(1, &["HTTP 404", &project]);
}

#[tokio::test]
async fn scan_errors_are_clear() {
    let server = Server::start(&[]).await;
    let cli = Cli::of(&server);
    let unknown = "scan_01J0000000000000000000000";
    cli.run(&["scans", "start", "--project", "proj_01J0000000000000000000000"]).await.fails(1, &["HTTP 404"]);
    cli.run(&["scans", "progress", unknown, "--percent", "5"]).await.fails(1, &["HTTP 404", unknown]);
    cli.run(&["scans", "complete", unknown, "--findings", "[]"]).await.fails(1, &["HTTP 404"]);
    cli.run(&["scans", "fail", unknown, "--code", "c", "--message", "m"]).await.fails(1, &["HTTP 404"]);
    cli.run(&["violations", "resolve", "viol_01J0000000000000000000000"]).await.fails(1, &["HTTP 404"]);
    cli.run(&["violations", "show", "viol_01J0000000000000000000000"]).await.fails(1, &["HTTP 404"]);
    cli.run(&["violations", "list", "--project", "proj_01J0000000000000000000000"]).await.fails(1, &["HTTP 404"]);
    cli.run(&["projects", "delete", "proj_01J0000000000000000000000"]).await.fails(1, &["HTTP 404"]);
    // Usage errors.
    cli.run(&["scans", "complete", unknown]).await.fails(2, &["--findings"]);
    cli.run(&["scans", "complete", unknown, "--sarif", "@x.sarif", "--score", "5"]).await.fails(2, &["--score"]);
    cli.run(&["scans", "progress", unknown, "--percent", "101"]).await.fails(2, &["101"]);
    cli.run(&["violations", "list", "--project", "p", "--severity", "dire"]).await.fails(2, &["dire"]);
    cli.run(&["scans", "complete", unknown, "--findings", "42"]).await.fails(1, &["--findings must be"]);
}
