//! The SSRF guard: unless SCANHOOK_ALLOW_PRIVATE_NETWORKS is set, endpoints may not point
//! at loopback, private or link-local addresses — refused when created, and refused again
//! at delivery time for endpoints stored before the guard was on.

use crate::common::{Receiver, Server};
use reqwest::StatusCode;
use serde_json::json;

const GUARDED: &[(&str, &str)] = &[("SCANHOOK_ALLOW_PRIVATE_NETWORKS", "false"), ("SCANHOOK_RETRY_SCHEDULE", "0s")];

#[tokio::test]
async fn private_endpoints_are_refused_when_created_or_changed() {
    let server = Server::start(GUARDED).await;
    for url in [
        "http://127.0.0.1:9000/hook",
        "http://localhost:9000/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data/",
        "https://10.0.0.7/hook",
        "http://[::ffff:192.168.1.1]/hook",
    ] {
        let (code, problem) = server.post("/v1/webhooks", json!({"url": url, "events": ["*"]})).await;
        assert_eq!((code, problem["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("url")), "{url}");
        assert!(problem["message"].as_str().unwrap().contains("SCANHOOK_ALLOW_PRIVATE_NETWORKS"), "{problem}");
    }
    let webhook = server.create_webhook(json!({"url": "https://hooks.example.com/x", "events": ["*"]})).await;
    let path = format!("/v1/webhooks/{}", webhook["id"].as_str().unwrap());
    let (code, _) =
        server.call(reqwest::Method::PATCH, &path, Some(json!({"url": "http://192.168.0.10/x"})), None).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(server.get(&path).await.1["url"], "https://hooks.example.com/x", "unchanged");
}

#[tokio::test]
async fn an_endpoint_stored_before_the_guard_was_on_gets_nothing() {
    let mut server = Server::start(&[("SCANHOOK_RETRY_SCHEDULE", "0s")]).await;
    let receiver = Receiver::start().await;
    let webhook = server.create_webhook(json!({"url": receiver.url, "events": ["*"]})).await;
    server.terminate();
    server.restart_with(&[("SCANHOOK_ALLOW_PRIVATE_NETWORKS", "false")]).await;
    server.send_event("scan.started", json!({})).await;
    let path = format!("/v1/deliveries?webhook_id={}", webhook["id"].as_str().unwrap());
    let list = server.wait_until(&path, 10, |l| l["data"][0]["status"] == "dead").await;
    let error = list["data"][0]["last_error"].as_str().unwrap_or_default();
    assert!(error.starts_with("no request was sent: '127.0.0.1' is a private or loopback address"), "{list}");
    assert!(receiver.received().is_empty());
}
