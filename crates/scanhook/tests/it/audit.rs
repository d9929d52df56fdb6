//! The audit log: every management action is recorded with the key that acted and what
//! changed, per account, newest first, without a secret value anywhere.

use crate::common::{Receiver, Server};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const TOKEN: &str = "tok-AUDIT-secret-1";
const TOKEN_2: &str = "tok-AUDIT-secret-2";
const HEADER: &str = "hdr-AUDIT-secret-3";
const HEADER_2: &str = "hdr-AUDIT-secret-4";
const ROTATED: &str = "rotated-AUDIT-secret-5";

async fn log(server: &Server, query: &str, key: Option<&str>) -> Value {
    let (status, page) = server.call(Method::GET, &format!("/v1/audit-log{query}"), None, key).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page
}

#[tokio::test]
async fn every_management_action_is_logged_with_its_key_and_no_secret() {
    let server = Server::start(&[]).await;
    let receiver = Receiver::start().await;
    let (_, keys) = server.get("/v1/api-keys").await;
    let admin_key_id = keys["data"][0]["id"].as_str().unwrap().to_string();

    let (status, account) = server.post("/v1/accounts", json!({"name": "tenant b"})).await;
    assert_eq!(status, StatusCode::CREATED, "{account}");
    let other_key = account["api_key"]["key"].as_str().unwrap().to_string();
    let (_, key) = server.post("/v1/api-keys", json!({"name": "ci"})).await;
    let key_id = key["id"].as_str().unwrap();

    let webhook = server
        .create_webhook(json!({
            "url": receiver.url, "events": ["*"], "bearer_token": TOKEN, "headers": {"X-Api-Key": HEADER},
        }))
        .await;
    let secret = webhook["secret"].as_str().unwrap().to_string();
    let id = webhook["id"].as_str().unwrap();
    let path = format!("/v1/webhooks/{id}");
    let patch = json!({"description": "prod", "bearer_token": TOKEN_2, "headers": {"X-Api-Key": HEADER_2}});
    assert_eq!(server.call(Method::PATCH, &path, Some(patch), None).await.0, StatusCode::OK);
    assert_eq!(server.call(Method::PATCH, &path, Some(json!({"active": false})), None).await.0, StatusCode::OK);
    assert_eq!(server.post(&format!("{path}/enable"), json!({})).await.0, StatusCode::OK);
    let (status, _) = server.post(&format!("{path}/rotate-secret"), json!({"secret": ROTATED})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(server.post(&format!("{path}/replay"), json!({})).await.0, StatusCode::ACCEPTED);
    server.send_event("scan.completed", json!({})).await;
    let list = server
        .wait_until(&format!("/v1/deliveries?webhook_id={id}"), 10, |l| l["data"][0]["status"] == "succeeded")
        .await;
    let delivery = list["data"][0]["id"].as_str().unwrap();
    let (status, _) = server.post(&format!("/v1/deliveries/{delivery}/retry"), json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        server.call(Method::DELETE, &format!("/v1/api-keys/{key_id}"), None, None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(server.call(Method::DELETE, &path, None, None).await.0, StatusCode::NO_CONTENT);

    let page = log(&server, "?limit=250", None).await;
    let entries = page["data"].as_array().unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "webhook.deleted",
            "api_key.revoked",
            "delivery.retried",
            "webhook.replayed",
            "webhook.secret_rotated",
            "webhook.enabled",
            "webhook.disabled",
            "webhook.updated",
            "webhook.created",
            "api_key.created",
            "account.created",
        ],
        "newest first"
    );
    assert!(entries.iter().all(|e| e["key_id"] == admin_key_id.as_str()), "{page}");
    let entry = |action: &str| entries.iter().find(|e| e["action"] == action).unwrap();
    assert_eq!(entry("account.created")["target_id"], account["id"]);
    assert_eq!(entry("delivery.retried")["target_id"], delivery);
    let updated = &entry("webhook.updated")["changes"];
    assert_eq!(updated["description"], json!({"from": null, "to": "prod"}), "{updated}");
    assert_eq!(updated["bearer_token"], "[redacted]");
    assert_eq!(updated["headers.X-Api-Key"], "[redacted]");
    assert_eq!(entry("webhook.disabled")["changes"]["active"], json!({"from": true, "to": false}));
    assert_eq!(entry("webhook.secret_rotated")["changes"]["secret"], "[redacted]");

    let text = page.to_string();
    for plain in [TOKEN, TOKEN_2, HEADER, HEADER_2, ROTATED, secret.as_str(), other_key.as_str()] {
        assert!(!text.contains(plain), "{plain} in the audit log: {text}");
    }

    // Filters and pages.
    let only = log(&server, &format!("?action=webhook.updated&target_id={id}"), None).await;
    assert_eq!(only["data"].as_array().unwrap().len(), 1);
    let first = log(&server, "?limit=4", None).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = log(&server, &format!("?limit=250&cursor={cursor}"), None).await;
    assert_eq!(second["data"].as_array().unwrap().len(), 7);
    assert_eq!(second["data"][0]["action"], "webhook.secret_rotated");
    let (status, problem) = server.get("/v1/audit-log?action=webhook.eaten").await;
    assert_eq!((status, problem["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("action")));

    // Another account sees none of it.
    let theirs = log(&server, "", Some(&other_key)).await;
    assert_eq!(theirs["data"], json!([]));
}

#[tokio::test]
async fn the_audit_log_lists_a_time_range() {
    let server = Server::start(&[]).await;
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    server.create_webhook(json!({"url": "https://receiver.example.com/hook", "events": ["*"]})).await;
    let after = chrono::Utc::now() + chrono::Duration::seconds(1);
    let q = |name: &str, t: chrono::DateTime<chrono::Utc>| {
        format!("{name}={}", t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    };
    let since = log(&server, &format!("?{}&action=webhook.created", q("since", before)), None).await;
    assert_eq!(since["data"].as_array().map(Vec::len), Some(1), "{since}");
    let window = log(&server, &format!("?{}&{}", q("since", before), q("until", after)), None).await;
    assert!(!window["data"].as_array().expect("data").is_empty(), "{window}");
    let until = log(&server, &format!("?{}", q("until", before)), None).await;
    assert_eq!(until["data"].as_array().map(Vec::len), Some(0), "since ≤ at < until: {until}");
    let (status, bad) = server.get("/v1/audit-log?since=yesterday").await;
    assert_eq!((status, bad["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("since")), "{bad}");
}
