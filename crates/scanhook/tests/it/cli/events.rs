//! `scanhook events …` and `scanhook deliveries …`.

use super::{Cli, s, with_receiver};
use crate::common::Server;

#[tokio::test]
async fn events_are_sent_listed_and_shown_with_their_deliveries() {
    let (server, cli, receiver, hook_id) = with_receiver("scan.*").await;

    let sent = cli.run(&["events", "send", "--type", "scan.completed", "--data", r#"{"scanId": "s1"}"#]).await;
    assert!(sent.ok().contains("1 deliveries"), "{}", sent.stdout);

    // From a file, with an idempotency key: the second send is the first one.
    let file = cli.home().join("event.json");
    std::fs::write(&file, r#"{"scanId": "s2", "violations": {"total": 3}}"#).unwrap();
    let data = format!("@{}", file.display());
    let args = ["events", "send", "--type", "scan.started", "--data", &data, "--idempotency-key", "k-1"];
    let first = cli.json(&args).await;
    let again = cli.json(&args).await;
    assert_eq!(first["id"], again["id"]);

    // From standard input.
    let piped = cli.run_with_stdin(&["events", "send", "--type", "scan.failed", "--data", "@-"], r#"{"x": 1}"#).await;
    assert!(piped.ok().starts_with("Accepted event evt_"), "{}", piped.stdout);

    let listed = cli.json(&["events", "list", "--type", "scan.started"]).await;
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(1));
    let table = cli.run(&["events", "list", "--since", "1h"]).await;
    assert_eq!(table.ok().lines().count(), 4, "header and 3 events: {}", table.stdout);

    let event_id = s(&first, "id");
    let shown = cli.run(&["events", "get", &event_id]).await;
    assert!(shown.ok().contains(r#""total": 3"#), "{}", shown.stdout);

    // Deliveries: filtered by webhook, event and status; one shown with its attempts.
    receiver.wait_for(3, 10).await;
    server
        .wait_until("/v1/deliveries?status=succeeded", 10, |j| j["data"].as_array().is_some_and(|d| d.len() == 3))
        .await;
    let by_event = cli.json(&["deliveries", "list", "--event", &event_id, "--webhook", &hook_id]).await;
    let delivery_id = s(&by_event["data"][0], "id");
    assert_eq!(by_event["data"].as_array().map(Vec::len), Some(1));
    let succeeded = cli.run(&["deliveries", "list", "--status", "succeeded"]).await;
    assert_eq!(succeeded.ok().lines().count(), 4, "{}", succeeded.stdout);
    assert_eq!(cli.json(&["deliveries", "list", "--status", "dead"]).await["data"], serde_json::json!([]));

    let detail = cli.run(&["deliveries", "get", &delivery_id]).await;
    let text = detail.ok();
    assert!(text.contains("#  TIME") && text.contains("CODE") && text.contains("LATENCY"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("1 ") && l.contains(" 200 ")), "{text}");

    let retried = cli.json(&["deliveries", "retry", &delivery_id]).await;
    assert_eq!(retried["status"], "pending");
    receiver.wait_for(4, 10).await;
}

#[tokio::test]
async fn event_and_delivery_errors_are_clear() {
    let server = Server::start(&[]).await;
    let cli = Cli::of(&server);
    cli.run(&["events", "send", "--type", "scan.completed", "--data", "{not json"]).await.fails(1, &["not valid JSON"]);
    cli.run(&["events", "send", "--type", "scan.completed", "--data", "@/no/such/file.json"])
        .await
        .fails(1, &["/no/such/file.json"]);
    cli.run(&["events", "send", "--type", "Not A Type"]).await.fails(1, &["HTTP 422", "type"]);
    cli.run(&["events", "send"]).await.fails(2, &["--type"]);
    cli.run(&["events", "get", "evt_01J0000000000000000000000"]).await.fails(1, &["HTTP 404", "not_found"]);
    cli.run(&["deliveries", "get", "dlv_01J0000000000000000000000"]).await.fails(1, &["HTTP 404"]);
    cli.run(&["deliveries", "retry", "dlv_01J0000000000000000000000"]).await.fails(1, &["HTTP 404"]);
    cli.run(&["deliveries", "list", "--status", "lost"]).await.fails(2, &["lost"]);
    cli.run(&["deliveries", "list", "--webhook", "nope"]).await.fails(1, &["HTTP 422", "webhook_id"]);
}

#[tokio::test]
async fn a_file_of_events_is_sent_in_batches_and_each_result_shown() {
    let (_server, cli, receiver, _) = with_receiver("scan.*").await;

    // JSON Lines, more than one batch's worth: sent 100 at a time, every one accepted.
    let lines: String =
        (0..150).map(|n| format!("{{\"type\": \"scan.completed\", \"data\": {{\"n\": {n}}}}}\n")).collect();
    let file = cli.home().join("events.jsonl");
    std::fs::write(&file, lines).unwrap();
    let sent = cli.run(&["events", "send-batch", file.to_str().unwrap()]).await;
    let table = sent.ok();
    assert_eq!(table.lines().count(), 151, "header and one row per event: {table}");
    assert!(table.lines().nth(150).is_some_and(|l| l.starts_with("149 ") && l.contains(" 202 ")), "{table}");
    receiver.wait_for(150, 30).await;

    // A JSON array from standard input, one event refused: every result printed, the
    // refused one by its field, and the command fails.
    let events = r#"[{"type": "scan.started", "idempotency_key": "b-1"}, {"type": "NOPE"}, {"type": "scan.started", "idempotency_key": "b-1"}]"#;
    let mixed = cli.run_with_stdin(&["events", "send-batch", "-"], events).await;
    assert_ne!(mixed.code, 0, "{}", mixed.stdout);
    assert!(
        mixed.stdout.lines().any(|l| l.starts_with("1 ") && l.contains(" 422 ") && l.contains("type:")),
        "{}",
        mixed.stdout
    );
    assert!(mixed.stdout.lines().any(|l| l.starts_with("2 ") && l.contains("replayed")), "{}", mixed.stdout);
    assert!(mixed.stderr.contains("1 of 3 events were refused"), "{}", mixed.stderr);

    // Scripts get the server's answer.
    let file = cli.home().join("body.json");
    std::fs::write(&file, r#"{"events": [{"type": "scan.failed", "data": {"x": 1}}]}"#).unwrap();
    let answer = cli.json(&["events", "send-batch", file.to_str().unwrap()]).await;
    assert_eq!(answer["results"][0]["status"], 202, "{answer}");
}
