//! `scanhook webhooks …`.

use super::{Cli, s, with_receiver};
use crate::common::Server;
use crate::common::receiver::status;

#[tokio::test]
async fn webhooks_are_created_listed_changed_and_deleted() {
    let server = Server::start(&[]).await;
    let cli = Cli::of(&server);

    let out = cli
        .run(&[
            "webhooks",
            "create",
            "--url",
            "https://example.com/hook",
            "--events",
            "scan.completed,violation.*",
            "--header",
            "X-Team: security",
            "--description",
            "SOC",
            "--min-severity",
            "high",
        ])
        .await;
    let text = out.ok();
    assert!(text.contains("whsec_"), "the secret is shown once: {text}");
    assert!(text.contains("X-Team: security"), "{text}");
    let id = text.lines().find_map(|l| l.strip_prefix("id")).expect("id line").trim().to_string();

    let list = cli.run(&["webhooks", "list"]).await;
    let table = list.ok();
    assert!(table.starts_with("ID "), "{table}");
    assert!(table.contains(&id) && table.contains("scan.completed,violation.*"), "{table}");
    let json = cli.json(&["webhooks", "list"]).await;
    assert_eq!(json["data"][0]["id"], id.as_str());
    assert!(json["data"][0].get("secret").is_none(), "the secret is not listed");

    let got = cli.json(&["webhooks", "get", &id]).await;
    assert_eq!(got["headers"]["X-Team"], "security");
    assert_eq!(got["min_severity"], "high");

    let changed = cli
        .json(&[
            "webhooks",
            "update",
            &id,
            "--events",
            "scan.*",
            "--active",
            "false",
            "--clear-description",
            "--any-severity",
        ])
        .await;
    assert_eq!(changed["events"], serde_json::json!(["scan.*"]));
    assert_eq!(changed["active"], false);
    assert!(changed.get("description").is_none() && changed.get("min_severity").is_none(), "{changed}");
    assert_eq!(changed["url"], "https://example.com/hook", "flags left out stay");

    let enabled = cli.json(&["webhooks", "enable", &id]).await;
    assert_eq!(enabled["active"], true);
    let enabled = cli.json(&["webhooks", "enable", &id, "--replay-missed"]).await;
    assert_eq!(enabled["active"], true);

    let replay = cli.run(&["webhooks", "replay", &id, "--since", "1h"]).await;
    assert!(replay.ok().contains("Queued 0 dead deliveries"), "{}", replay.stdout);

    assert!(cli.run(&["webhooks", "delete", &id]).await.ok().contains("Deleted webhook"));
    for args in [
        vec!["webhooks", "get", &id],
        vec!["webhooks", "update", &id, "--url", "https://example.com/x"],
        vec!["webhooks", "delete", &id],
        vec!["webhooks", "enable", &id],
        vec!["webhooks", "test", &id],
        vec!["webhooks", "replay", &id],
    ] {
        cli.run(&args).await.fails(1, &["HTTP 404", &id, "not_found"]);
    }
}

#[tokio::test]
async fn webhook_flags_are_checked() {
    let server = Server::start(&[]).await;
    let cli = Cli::of(&server);
    // Usage errors: clap's message and exit 2, before any request.
    cli.run(&["webhooks", "create", "--url", "https://example.com"]).await.fails(2, &["--events"]);
    cli.run(&["webhooks", "create", "--url", "https://x", "--events", "a", "--header", "nocolon"])
        .await
        .fails(2, &["nocolon"]);
    cli.run(&["webhooks", "update", "wh_1", "--active", "maybe"]).await.fails(2, &["maybe"]);
    cli.run(&["webhooks", "replay", "wh_1", "--since", "last week"]).await.fails(2, &["RFC 3339"]);
    cli.run(&["webhooks", "list", "--limit", "0"]).await.fails(2, &["--limit"]);
    cli.run(&["webhooks", "frobnicate"]).await.fails(2, &["frobnicate"]);
    // The server's refusal names the field.
    cli.run(&["webhooks", "create", "--url", "ftp://example.com", "--events", "scan.completed"])
        .await
        .fails(1, &["HTTP 422", "url"]);
}

#[tokio::test]
async fn webhook_test_shows_the_delivery_and_whether_it_succeeded() {
    let (server, cli, receiver, id) = with_receiver("*").await;

    let ok = cli.run(&["webhooks", "test", &id]).await;
    let text = ok.ok();
    assert!(text.contains("succeeded") && text.contains("200"), "{text}");
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(receiver.received()[0].header("X-Scanhook-Event"), "webhook.test");

    let detail = cli.json(&["webhooks", "test", &id, "--type", "scan.completed"]).await;
    assert_eq!(detail["status"], "succeeded");
    assert_eq!(detail["attempt_log"][0]["status_code"], 200);

    // A failing endpoint: exit 1, and the answer it gave.
    receiver.always(status(500));
    cli.run(&["webhooks", "test", &id]).await.fails(1, &["failed", "HTTP 500"]);

    // Its dead deliveries can be replayed once the endpoint is fixed.
    server.send_event("scan.completed", serde_json::json!({})).await;
    server.wait_until("/v1/deliveries?status=dead", 10, |j| j["data"].as_array().is_some_and(|d| d.len() >= 2)).await;
    receiver.always(status(200));
    let replay = cli.json(&["webhooks", "replay", &id]).await;
    assert!(replay["requeued"].as_u64().is_some_and(|n| n >= 2), "{replay}");
}

#[tokio::test]
async fn lists_page_through_the_cursor() {
    let server = Server::start(&[]).await;
    let cli = Cli::of(&server);
    for i in 0..3 {
        cli.run(&["webhooks", "create", "--url", &format!("https://example.com/{i}"), "--events", "*"]).await.ok();
    }
    let first = cli.run(&["webhooks", "list", "--limit", "2"]).await;
    assert_eq!(first.ok().lines().count(), 3, "header and two rows: {}", first.stdout);
    assert!(first.stderr.contains("--cursor"), "{}", first.stderr);

    let page = cli.json(&["webhooks", "list", "--limit", "2"]).await;
    let cursor = s(&page, "next_cursor");
    let rest = cli.json(&["webhooks", "list", "--limit", "2", "--cursor", &cursor]).await;
    assert_eq!(rest["data"].as_array().map(Vec::len), Some(1));

    let all = cli.run(&["webhooks", "list", "--limit", "2", "--all"]).await;
    assert_eq!(all.ok().lines().count(), 4, "{}", all.stdout);
    assert!(all.stderr.is_empty(), "{}", all.stderr);
    let all = cli.json(&["webhooks", "list", "--limit", "1", "--all"]).await;
    assert_eq!(all["data"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn receiver_formats_are_set_from_flags_and_secrets_rotate() {
    let server = Server::start(&[]).await;
    let cli = Cli::of(&server);
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("juro.jq");
    std::fs::write(&template, "{event: .type, timestamp, data}").unwrap();
    let template_arg = format!("@{}", template.display());
    let created = cli
        .json(&[
            "webhooks",
            "create",
            "--url",
            "https://example.com/juro",
            "--events",
            "scan.*",
            "--signature-header",
            "X-Juro-Signature",
            "--signature-encoding",
            "base64",
            "--bearer-token",
            "tok-1",
            "--timeout",
            "5",
            "--template",
            &template_arg,
            "--extra-payload",
            r#"{"source": "ci"}"#,
            "--header-prefix",
            "X-Juro",
            "--body-json",
            "javascript",
            "--max-in-flight",
            "4",
            "--rate-limit",
            "100",
            "--ordering",
            "fifo",
        ])
        .await;
    let id = s(&created, "id");
    assert_eq!(created["ordering"], "fifo");
    assert_eq!((&created["max_in_flight"], &created["rate_limit"]), (&serde_json::json!(4), &serde_json::json!(100)));
    assert_eq!(
        created["signature"],
        serde_json::json!({"scheme": "hmac-sha256", "header": "X-Juro-Signature", "prefix": "", "encoding": "base64"})
    );
    assert_eq!(
        (&created["bearer_token_set"], &created["timeout"], &created["header_prefix"]),
        (&serde_json::json!(true), &serde_json::json!(5), &serde_json::json!("X-Juro"))
    );
    assert_eq!(created["template"], "{event: .type, timestamp, data}");
    assert_eq!(created["extra_payload"], serde_json::json!({"source": "ci"}));
    assert_eq!(created["body_json"], "javascript");
    let shown = cli.run(&["webhooks", "get", &id]).await;
    let shown = shown.ok();
    assert!(shown.contains("hmac-sha256 in X-Juro-Signature") && !shown.contains("tok-1"), "{shown}");
    assert!(shown.contains("100/s, burst 100"), "{shown}");
    assert!(shown.contains("ordering") && shown.contains("fifo"), "{shown}");
    let unpaced = cli
        .json(&["webhooks", "update", &id, "--no-rate-limit", "--max-in-flight", "50", "--ordering", "unordered"])
        .await;
    assert!(unpaced.get("rate_limit").is_none() && unpaced["max_in_flight"] == 50, "{unpaced}");
    assert_eq!(unpaced["ordering"], "unordered");

    let changed = cli
        .json(&["webhooks", "update", &id, "--signature", "none", "--kind", "slack", "--body-json", "verbatim"])
        .await;
    assert_eq!(
        (&changed["signature"]["scheme"], &changed["kind"], &changed["body_json"]),
        (&serde_json::json!("none"), &serde_json::json!("slack"), &serde_json::json!("verbatim"))
    );

    let rotated = cli.run(&["webhooks", "rotate-secret", &id, "--grace-period", "1h"]).await;
    let rotated = rotated.ok();
    assert!(rotated.contains("whsec_") && rotated.contains("also signs until"), "{rotated}");
    let json = cli.json(&["webhooks", "rotate-secret", &id]).await;
    assert!(s(&json, "secret").starts_with("whsec_"));

    // Without --signature-header, the signature goes in <prefix>-Signature.
    let default_header = cli
        .run(&["webhooks", "create", "--url", "https://x.example", "--events", "a.b", "--signature", "hmac-sha256"])
        .await;
    assert!(default_header.ok().contains("hmac-sha256 in <prefix>-Signature: <hex>"), "{}", default_header.ok());
    cli.run(&["webhooks", "create", "--url", "https://x.example", "--events", "a.b", "--template", "{a: .b"])
        .await
        .fails(1, &["HTTP 422", "jq syntax error"]);
    cli.run(&["webhooks", "create", "--url", "https://x.example", "--events", "a.b", "--kind", "irc"])
        .await
        .fails(2, &["irc"]);
    cli.run(&["webhooks", "rotate-secret", "wh_01ARZ3NDEKTSV4RRFFQ69G5FAV"]).await.fails(1, &["HTTP 404"]);
}

#[tokio::test]
async fn cloudevents_flags_set_the_mode_and_source_and_validate_asks_first() {
    let (server, cli, receiver, _) = with_receiver("scan.*").await;
    let created = cli
        .json(&[
            "webhooks",
            "create",
            "--url",
            &receiver.url,
            "--events",
            "scan.*",
            "--kind",
            "cloudevents",
            "--cloudevents-mode",
            "binary",
            "--cloudevents-source",
            "urn:scanhook:ci",
        ])
        .await;
    assert_eq!(created["kind"], "cloudevents");
    assert_eq!(created["cloudevents"], serde_json::json!({"mode": "binary", "source": "urn:scanhook:ci"}));
    let id = s(&created, "id");
    let shown = cli.run(&["webhooks", "get", &id]).await;
    assert!(shown.ok().contains("binary, source urn:scanhook:ci"), "{}", shown.ok());
    let changed = cli.json(&["webhooks", "update", &id, "--kind", "generic"]).await;
    assert!(changed.get("cloudevents").is_none(), "another kind drops the settings: {changed}");

    // The test receiver answers OPTIONS without WebHook-Allowed-Origin: no consent.
    let before = receiver.received().len();
    cli.run(&["webhooks", "create", "--url", &receiver.url, "--events", "scan.*", "--validate"])
        .await
        .fails(1, &["422", "no WebHook-Allowed-Origin"]);
    assert_eq!(receiver.received().len(), before + 1, "one OPTIONS request");
    let (_, listed) = server.get("/v1/webhooks").await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 2, "nothing stored: {listed}");
}

#[tokio::test]
async fn ed25519_endpoints_print_their_public_key_and_never_the_secret_key() {
    let server = Server::start(&[]).await;
    let cli = Cli::of(&server);
    let args = ["webhooks", "create", "--url", "https://example.com/h", "--events", "*"];
    let created = cli.run(&[&args[..], &["--signature", "standard-ed25519"]].concat()).await;
    let shown = created.ok();
    assert!(shown.contains("public key") && shown.contains("whpk_"), "{shown}");
    assert!(shown.contains("the secret key stays on the server") && !shown.contains("whsk_"), "{shown}");
    let id = shown.lines().find_map(|l| l.strip_prefix("id")).unwrap().trim().to_string();
    assert!(cli.run(&["webhooks", "get", &id]).await.ok().contains("standard-ed25519"));

    let rotated = cli.run(&["webhooks", "rotate-secret", &id]).await;
    let rotated = rotated.ok();
    assert!(rotated.starts_with("public key  whpk_") && !rotated.contains("whsk_"), "{rotated}");
    // Back to a shared secret: the new one is printed, once.
    let changed = cli.run(&["webhooks", "update", &id, "--signature", "standard"]).await;
    let changed = changed.ok();
    assert!(changed.contains("whsec_") && changed.contains("shown only this once"), "{changed}");
    assert!(!cli.run(&["webhooks", "get", &id]).await.ok().contains("whsec_"));
}
