//! What receivers get, endpoint by endpoint: signature schemes, bearer tokens, their own
//! timeout, templates, extra payloads, chat formats, secret rotation and white-label
//! headers — through the real server into a real receiver.

use std::time::Duration;

use crate::common::receiver::Reply;
use crate::common::verify::{body_hmac, hex_signature, standard_signature};
use crate::common::{Receiver, Server};
use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn attempts_of_only_delivery(server: &Server, webhook: &Value, done: impl Fn(&Value) -> bool) -> Value {
    let path = format!("/v1/deliveries?webhook_id={}", webhook["id"].as_str().unwrap());
    let list = server.wait_until(&path, 10, |l| l["data"].as_array().is_some_and(|d| d.len() == 1)).await;
    let id = list["data"][0]["id"].as_str().unwrap().to_string();
    server.wait_until(&format!("/v1/deliveries/{id}"), 10, done).await
}

#[tokio::test]
async fn a_platform_keeps_its_receivers_header_names_and_signatures() {
    // Juro: hex HMAC of the raw body in X-Juro-Signature, X-Juro-* headers, its own agent.
    let server =
        Server::start(&[("SCANHOOK_HEADER_PREFIX", "X-Juro"), ("SCANHOOK_USER_AGENT", "Juro-Webhooks/1.0")]).await;
    let receiver = Receiver::start().await;
    let secret = "juro_receiver_secret_0123";
    let (code, juro) = server
        .post(
            "/v1/webhooks",
            json!({"url": receiver.url, "events": ["*"], "secret": secret,
                   "signature": {"scheme": "hmac-sha256", "header": "X-Juro-Signature"}}),
        )
        .await;
    assert_eq!(code, StatusCode::CREATED, "{juro}");
    // Cortex on the same deployment: its own prefix and GitHub-style `sha256=` signatures.
    let (_, cortex) = server
        .post(
            "/v1/webhooks",
            json!({"url": format!("{}/cortex", receiver.url), "events": ["*"], "secret": secret, "header_prefix": "X-Cortex",
                   "signature": {"scheme": "hmac-sha256", "header": "X-Cortex-Signature", "prefix": "sha256="}}),
        )
        .await;
    assert_eq!(cortex["header_prefix"], "X-Cortex");
    server.send_event("scan.completed", json!({"scanId": "scan_1"})).await;

    let got = receiver.wait_for(2, 10).await;
    let juro_req = got.iter().find(|r| r.headers.contains_key("x-juro-signature")).expect("the Juro delivery");
    let unprefixed = hex_signature(secret, &juro_req.body).trim_start_matches("sha256=").to_string();
    assert_eq!(juro_req.header("x-juro-signature"), unprefixed);
    assert_eq!(juro_req.header("x-juro-event"), "scan.completed");
    assert!(juro_req.header("x-juro-delivery").starts_with("dlv_"));
    assert_eq!(juro_req.header("user-agent"), "Juro-Webhooks/1.0");
    assert!(!juro_req.headers.contains_key("webhook-signature"), "only the chosen scheme signs");
    assert!(juro_req.headers.keys().all(|k| !k.as_str().starts_with("x-scanhook")), "{:?}", juro_req.headers);
    assert!(juro_req.header("webhook-id").starts_with("evt_"), "the standard id header stays, for deduplication");

    let cortex_req = got.iter().find(|r| r.headers.contains_key("x-cortex-signature")).expect("the Cortex delivery");
    assert_eq!(cortex_req.header("x-cortex-signature"), hex_signature(secret, &cortex_req.body));
    assert_eq!(cortex_req.header("x-cortex-event"), "scan.completed");
    assert!(!cortex_req.headers.contains_key("x-juro-event"));
}

#[tokio::test]
async fn an_hmac_signature_without_a_header_goes_in_the_prefixed_signature_header() {
    let server = Server::start(&[("SCANHOOK_HEADER_PREFIX", "X-ComplianceLayer")]).await;
    let receiver = Receiver::start().await;
    let secret = "compliance_receiver_secret_01";
    let compliance = server
        .create_webhook(json!({"url": receiver.url, "events": ["*"], "secret": secret,
                               "signature": {"scheme": "hmac-sha256"}}))
        .await;
    assert_eq!(compliance["signature"], json!({"scheme": "hmac-sha256", "prefix": "", "encoding": "hex"}));
    // The endpoint's own header prefix wins over the deployment's, for the signature too.
    server
        .create_webhook(json!({"url": receiver.url, "events": ["*"], "secret": secret,
                               "header_prefix": "X-Cortex", "signature": {"scheme": "hmac-sha256", "prefix": "sha256="}}))
        .await;
    server.send_event("scan.completed", json!({"score": 85})).await;

    let got = receiver.wait_for(2, 10).await;
    let compliance_req =
        got.iter().find(|r| r.headers.contains_key("x-compliancelayer-event")).expect("the ComplianceLayer delivery");
    let hex = hex_signature(secret, &compliance_req.body);
    assert_eq!(compliance_req.header("x-compliancelayer-signature"), hex.trim_start_matches("sha256="));
    assert_eq!(compliance_req.header("x-compliancelayer-event"), "scan.completed");
    let cortex_req = got.iter().find(|r| r.headers.contains_key("x-cortex-event")).expect("the Cortex delivery");
    assert_eq!(cortex_req.header("x-cortex-signature"), hex_signature(secret, &cortex_req.body));
    assert!(!cortex_req.headers.contains_key("x-compliancelayer-signature"), "{:?}", cortex_req.headers);
}

#[tokio::test]
async fn bearer_tokens_and_base64_signatures_reach_the_receiver_and_tokens_are_never_shown() {
    let server = Server::start(&[]).await;
    let receiver = Receiver::start().await;
    let secret = "base64_receiver_secret_01";
    let (code, both) = server
        .post(
            "/v1/webhooks",
            json!({"url": receiver.url, "events": ["scan.*"], "secret": secret, "bearer_token": "rcv-token-123",
                   "signature": {"scheme": "hmac-sha256", "header": "X-Signature", "encoding": "base64"}}),
        )
        .await;
    assert_eq!(code, StatusCode::CREATED, "{both}");
    assert_eq!(both["bearer_token_set"], true);
    assert!(!both.to_string().contains("rcv-token-123"), "the token is never returned: {both}");
    let (_, bearer_only) = server
        .post(
            "/v1/webhooks",
            json!({"url": format!("{}/b", receiver.url), "events": ["scan.*"], "bearer_token": "only-token",
                   "signature": {"scheme": "bearer"}}),
        )
        .await;
    let (_, listed) = server.get("/v1/webhooks").await;
    assert!(!listed.to_string().contains("only-token"));
    server.send_event("scan.started", json!({"scanId": "scan_2"})).await;

    let got = receiver.wait_for(2, 10).await;
    let signed = got.iter().find(|r| r.headers.contains_key("x-signature")).unwrap();
    assert_eq!(signed.header("authorization"), "Bearer rcv-token-123");
    let expected = base64::engine::general_purpose::STANDARD.encode(body_hmac(secret, &signed.body));
    assert_eq!(signed.header("x-signature"), expected);
    let plain = got.iter().find(|r| !r.headers.contains_key("x-signature")).unwrap();
    assert_eq!(plain.header("authorization"), "Bearer only-token");
    assert!(!plain.headers.contains_key("webhook-signature") && !plain.headers.contains_key("x-scanhook-signature"));
    assert_eq!(bearer_only["signature"], json!({"scheme": "bearer"}));
}

#[tokio::test]
async fn an_endpoint_waits_only_as_long_as_its_own_timeout() {
    let server = Server::start(&[("SCANHOOK_DELIVERY_TIMEOUT", "2s"), ("SCANHOOK_RETRY_SCHEDULE", "0s")]).await;
    let receiver = Receiver::start().await;
    receiver.always(Reply { status: 200, delay: Duration::from_millis(1500), retry_after: None });
    let (_, webhook) = server.post("/v1/webhooks", json!({"url": receiver.url, "events": ["*"], "timeout": 1})).await;
    assert_eq!(webhook["timeout"], 1);
    server.send_event("scan.started", json!({})).await;
    let detail = attempts_of_only_delivery(&server, &webhook, |d| d["status"] == "dead").await;
    let error = detail["attempt_log"][0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("timed out after 1s"), "{detail}");
}

#[tokio::test]
async fn templates_and_extra_payloads_shape_the_body_and_the_signature_covers_what_was_sent() {
    let server = Server::start(&[]).await;
    let receiver = Receiver::start().await;
    // DejaCode's envelope: {"hook": {...}, "data": {...}}, plus its extra payload.
    let template = r#"{hook: {uuid: $ctx.webhook_id, event: .type, target: $ctx.endpoint}, data: .data}"#;
    let (code, webhook) = server
        .post(
            "/v1/webhooks",
            json!({"url": receiver.url, "events": ["*"], "template": template,
                   "extra_payload": {"source": "scanhook", "tenant": 7}}),
        )
        .await;
    assert_eq!(code, StatusCode::CREATED, "{webhook}");
    let secret = webhook["secret"].as_str().unwrap();
    server.send_event("request.added", json!({"api_url": "/api/v2/requests/1/", "n": 1.50})).await;

    let got = receiver.wait_for(1, 10).await;
    let req = &got[0];
    let body = String::from_utf8(req.body.to_vec()).unwrap();
    let id = webhook["id"].as_str().unwrap();
    assert_eq!(
        body,
        format!(
            r#"{{"hook":{{"uuid":"{id}","event":"request.added","target":"{}"}},"data":{{"api_url":"/api/v2/requests/1/","n":1.5}},"source":"scanhook","tenant":7}}"#,
            receiver.url
        )
    );
    let expected = standard_signature(secret, req.header("webhook-id"), req.header("webhook-timestamp"), &req.body);
    assert_eq!(req.header("webhook-signature"), expected);
    let detail = attempts_of_only_delivery(&server, &webhook, |d| d["status"] == "succeeded").await;
    assert_eq!(detail["attempt_log"][0]["request"]["body"], body, "the log shows the body that was sent");
}

#[tokio::test]
async fn a_template_that_fails_for_one_event_fails_only_that_delivery() {
    let server = Server::start(&[("SCANHOOK_RETRY_SCHEDULE", "0s")]).await;
    let receiver = Receiver::start().await;
    let (_, templated) = server
        .post("/v1/webhooks", json!({"url": receiver.url, "events": ["*"], "template": "{n: (.data.n + 1)}"}))
        .await;
    // `x.*`: the templated endpoint's dead delivery is announced (`delivery.dead`) to `*`.
    let (_, plain) =
        server.post("/v1/webhooks", json!({"url": format!("{}/plain", receiver.url), "events": ["x.*"]})).await;
    server.send_event("x.changed", json!({"n": "not a number"})).await;

    let detail = attempts_of_only_delivery(&server, &templated, |d| d["status"] == "dead").await;
    let error = detail["attempt_log"][0]["error"].as_str().unwrap_or_default();
    assert!(error.starts_with("no request was sent: the template failed"), "{detail}");
    assert!(detail["attempt_log"][0]["status_code"].is_null());
    assert_eq!(detail["attempt_log"][0]["request"]["body"], "", "nothing was sent");
    attempts_of_only_delivery(&server, &plain, |d| d["status"] == "succeeded").await;
    assert_eq!(receiver.received().len(), 1, "only the plain endpoint got a request");
}

#[tokio::test]
async fn chat_endpoints_get_readable_severity_coloured_alerts() {
    let server = Server::start(&[]).await;
    let receiver = Receiver::start().await;
    server
        .post("/v1/webhooks", json!({"url": format!("{}/slack", receiver.url), "events": ["*"], "kind": "slack"}))
        .await;
    server
        .post("/v1/webhooks", json!({"url": format!("{}/discord", receiver.url), "events": ["*"], "kind": "discord"}))
        .await;
    server
        .post("/v1/webhooks", json!({"url": format!("{}/teams", receiver.url), "events": ["*"], "kind": "teams"}))
        .await;
    let data = json!({"violationId": "viol_1", "scanId": "scan_1", "projectId": "proj_1", "rule": "owasp",
                      "severity": "critical", "file": "api/user.js", "line": 3, "message": "SQL injection"});
    server.send_event("violation.detected", data).await;

    let got = receiver.wait_for(3, 10).await;
    let bodies: Vec<Value> = got.iter().map(|r| r.json()).collect();
    let slack = bodies.iter().find(|b| b.get("attachments").is_some()).expect("slack");
    assert_eq!(slack["text"], "New critical violation: SQL injection");
    assert_eq!(slack["attachments"][0]["color"], "#B71C1C");
    let discord = bodies.iter().find(|b| b.get("embeds").is_some()).expect("discord");
    assert_eq!(discord["embeds"][0]["color"], 0xB71C1C);
    let teams = bodies.iter().find(|b| b.get("@type").is_some()).expect("teams");
    assert_eq!(teams["themeColor"], "B71C1C");
    assert!(teams.to_string().contains("api/user.js:3"));
}

#[tokio::test]
async fn a_rotated_secret_signs_beside_the_new_one_for_its_grace_period() {
    let server = Server::start(&[]).await;
    let receiver = Receiver::start().await;
    let webhook = server.create_webhook(json!({"url": receiver.url, "events": ["*"]})).await;
    let (id, old) = (webhook["id"].as_str().unwrap(), webhook["secret"].as_str().unwrap());
    let (code, rotated) = server.post(&format!("/v1/webhooks/{id}/rotate-secret"), json!({})).await;
    assert_eq!(code, StatusCode::OK, "{rotated}");
    let new = rotated["secret"].as_str().unwrap();
    assert!(new.starts_with("whsec_") && new != old);
    let until: chrono::DateTime<chrono::Utc> = rotated["previous_secret_expires_at"].as_str().unwrap().parse().unwrap();
    assert!((until - chrono::Utc::now() - chrono::Duration::hours(24)).num_seconds().abs() < 60, "24 h by default");
    let (_, shown) = server.get(&format!("/v1/webhooks/{id}")).await;
    assert!(shown.get("secret").is_none(), "the new secret is shown only once");
    assert_eq!(shown["previous_secret_expires_at"], rotated["previous_secret_expires_at"]);

    server.send_event("scan.started", json!({})).await;
    let req = &receiver.wait_for(1, 10).await[0];
    let (msg, ts) = (req.header("webhook-id"), req.header("webhook-timestamp"));
    let expected =
        format!("{} {}", standard_signature(new, msg, ts, &req.body), standard_signature(old, msg, ts, &req.body));
    assert_eq!(req.header("webhook-signature"), expected, "new first, then old");
    let hexes = format!("{}, {}", hex_signature(new, &req.body), hex_signature(old, &req.body));
    assert_eq!(req.header("x-scanhook-signature"), hexes);

    // Without a grace period the old secret stops at once.
    let (_, again) = server.post(&format!("/v1/webhooks/{id}/rotate-secret"), json!({"grace_period": 0})).await;
    let newest = again["secret"].as_str().unwrap();
    server.send_event("scan.started", json!({})).await;
    let req = &receiver.wait_for(2, 10).await[1];
    let only = standard_signature(newest, req.header("webhook-id"), req.header("webhook-timestamp"), &req.body);
    assert_eq!(req.header("webhook-signature"), only);

    let (code, problem) = server.post(&format!("/v1/webhooks/{id}/rotate-secret"), json!({"secret": "short"})).await;
    assert_eq!((code, problem["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("secret")));
    let (code, _) = server.post("/v1/webhooks/wh_01ARZ3NDEKTSV4RRFFQ69G5FAV/rotate-secret", json!({})).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_receiver_settings_are_refused_naming_the_field_and_change_nothing() {
    let server = Server::start(&[]).await;
    let url = "https://hooks.example.com/x";
    let hmac = |header: &str| json!({"scheme": "hmac-sha256", "header": header});
    let cases = [
        (json!({"signature": hmac("X Bad Header")}), "signature.header"),
        (json!({"signature": hmac("X-Sig"), "headers": {"x-sig": "forged"}}), "headers"),
        (json!({"headers": {"Content-Type": "text/plain"}}), "headers"),
        (json!({"headers": {"X-Scanhook-Signature": "forged"}}), "headers"),
        (json!({"bearer_token": "t", "headers": {"Authorization": "Basic x"}}), "headers"),
        (json!({"signature": {"scheme": "bearer"}}), "bearer_token"),
        (json!({"extra_payload": [1, 2]}), "extra_payload"),
        (json!({"timeout": 0}), "timeout"),
        (json!({"timeout": 31}), "timeout"),
        (json!({"template": "{a: .b"}), "template"),
        (json!({"template": ".a | nosuch"}), "template"),
        (json!({"kind": "irc"}), "kind"),
        (json!({"header_prefix": "X Bad"}), "header_prefix"),
        (json!({"body_json": "json5"}), "body_json"),
    ];
    for (extra, field) in cases {
        let mut body = json!({"url": url, "events": ["*"]});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let (code, problem) = server.post("/v1/webhooks", body.clone()).await;
        assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {problem}");
        assert_eq!(problem["field"].as_str(), Some(field), "{body}: {problem}");
    }
    let (_, syntax) = server.post("/v1/webhooks", json!({"url": url, "events": ["*"], "template": "{a: .b"})).await;
    assert!(syntax["message"].as_str().unwrap().starts_with("jq syntax error: expected closing brace"), "{syntax}");
    assert!(server.get("/v1/webhooks").await.1["data"].as_array().unwrap().is_empty(), "nothing stored");

    let webhook = server.create_webhook(json!({"url": url, "events": ["*"], "template": ".data"})).await;
    let path = format!("/v1/webhooks/{}", webhook["id"].as_str().unwrap());
    let (code, problem) = server.call(reqwest::Method::PATCH, &path, Some(json!({"template": "nosuch"})), None).await;
    assert_eq!((code, problem["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("template")), "{problem}");
    assert_eq!(server.get(&path).await.1["template"], ".data", "unchanged");
    let (code, patched) =
        server.call(reqwest::Method::PATCH, &path, Some(json!({"template": null, "kind": "slack"})), None).await;
    assert_eq!(code, StatusCode::OK, "{patched}");
    assert!(patched.get("template").is_none());
    assert_eq!(patched["kind"], "slack");
}

#[tokio::test]
async fn a_deployment_can_turn_user_templates_off_and_keep_chat_formats() {
    let mut server = Server::start(&[("SCANHOOK_RETRY_SCHEDULE", "0s")]).await;
    let receiver = Receiver::start().await;
    let templated = server
        .create_webhook(json!({"url": format!("{}/t", receiver.url), "events": ["*"], "template": ".data"}))
        .await;
    // Scan events only: the templated endpoint's dead delivery is announced (`delivery.dead`) to `*`.
    server.create_webhook(json!({"url": receiver.url, "events": ["scan.*"], "kind": "teams"})).await;
    server.terminate();
    server.restart_with(&[("SCANHOOK_TEMPLATES", "false")]).await;

    let (code, problem) =
        server.post("/v1/webhooks", json!({"url": receiver.url, "events": ["*"], "template": ".data"})).await;
    assert_eq!((code, problem["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("template")));
    assert!(problem["message"].as_str().unwrap().contains("SCANHOOK_TEMPLATES=false"), "{problem}");
    server.send_event("scan.started", json!({"scanId": "scan_1"})).await;
    assert_eq!(receiver.wait_for(1, 10).await[0].json()["@type"], "MessageCard", "chat formats still work");
    // An endpoint stored with a template before gets nothing rather than the wrong shape.
    let detail = attempts_of_only_delivery(&server, &templated, |d| d["status"] == "dead").await;
    let error = detail["attempt_log"][0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("templates are turned off on this server"), "{detail}");
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn a_runaway_template_fails_its_delivery_and_nothing_else() {
    let server = Server::start(&[("SCANHOOK_RETRY_SCHEDULE", "0s")]).await;
    let receiver = Receiver::start().await;
    // Loops forever, recurses without end, or builds a value until memory runs out.
    let template = r#"if .data.mode == "loop" then last(repeat(1))
                      elif .data.mode == "deep" then (def f: 1 + f; f)
                      elif .data.mode == "big" then [range(1e10)]
                      else {ok: .data.mode} end"#;
    let (_, webhook) =
        server.post("/v1/webhooks", json!({"url": receiver.url, "events": ["*"], "template": template})).await;
    for mode in ["loop", "deep", "big", "fine"] {
        server.send_event("x.y", json!({"mode": mode})).await;
    }
    let path = format!("/v1/deliveries?webhook_id={}", webhook["id"].as_str().unwrap());
    let done = |l: &Value| {
        let d = l["data"].as_array().unwrap();
        d.len() == 4 && d.iter().all(|x| x["status"] != "pending")
    };
    let list = server.wait_until(&path, 30, done).await;
    let deliveries = list["data"].as_array().unwrap();
    let dead: Vec<&str> =
        deliveries.iter().filter(|d| d["status"] == "dead").map(|d| d["last_error"].as_str().unwrap_or("")).collect();
    assert_eq!(dead.len(), 3, "{list}");
    assert!(dead.iter().all(|e| e.starts_with("no request was sent: the template")), "{dead:?}");
    assert!(dead.iter().any(|e| e.contains("longer than")), "the endless loop is stopped: {dead:?}");
    assert_eq!(receiver.wait_for(1, 10).await[0].json(), json!({"ok": "fine"}));
    assert_eq!(server.get("/healthz").await.0, StatusCode::OK, "the server is unharmed");
}
