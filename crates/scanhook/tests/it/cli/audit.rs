//! `scanhook audit-log`.

use super::{Cli, s};
use crate::common::Server;

#[tokio::test]
async fn the_audit_log_lists_actions_newest_first_and_filters_them() {
    let server = Server::start(&[]).await;
    let cli = Cli::of(&server);
    let hook = cli.json(&["webhooks", "create", "--url", "https://hooks.example.com/a", "--events", "*"]).await;
    let id = s(&hook, "id");
    cli.run(&["webhooks", "update", &id, "--description", "prod"]).await.ok();

    let table = cli.run(&["audit-log"]).await;
    let lines: Vec<&str> = table.ok().lines().collect();
    assert_eq!(lines.len(), 3, "header and two entries: {}", table.stdout);
    assert!(lines[1].contains("webhook.updated") && lines[1].contains("description"), "{}", table.stdout);
    assert!(lines[2].contains("webhook.created"), "{}", table.stdout);

    let only = cli.json(&["audit-log", "--action", "webhook.created", "--target", &id]).await;
    assert_eq!(only["data"].as_array().map(Vec::len), Some(1), "{only}");
    cli.run(&["audit-log", "--action", "webhook.eaten"]).await.fails(1, &["not an audited action", "422"]);
    let recent = cli.json(&["audit-log", "--action", "webhook.created", "--since", "1h"]).await;
    assert_eq!(recent["data"].as_array().map(Vec::len), Some(1), "{recent}");
    let before = cli.json(&["audit-log", "--until", "1h"]).await;
    assert_eq!(before["data"].as_array().map(Vec::len), Some(0), "{before}");
}
