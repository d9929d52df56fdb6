//! Sessions and portal links end on time, over real HTTP with a real server whose
//! lifetimes are made short by its settings (`SCANHOOK_SESSION_IDLE`,
//! `SCANHOOK_PORTAL_LINK_MIN_EXPIRY`), so the tests wait seconds, not minutes. (A link
//! used twice and sign-out ending the session server-side are in `dashboard.rs`.)

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::Server;
use crate::dashboard::{as_session, browser, page, redeem, sign_in};

#[tokio::test]
async fn a_portal_link_past_its_expiry_is_refused() {
    let server = Server::start(&[("SCANHOOK_PORTAL_LINK_MIN_EXPIRY", "1s")]).await;
    let (status, short) = server.post("/v1/portal-links", json!({"expires_in": 1})).await;
    assert_eq!(status, StatusCode::CREATED, "{short}");
    let (_, long) = server.post("/v1/portal-links", json!({})).await;
    let (status, body) = server.post("/v1/portal-links", json!({"expires_in": 0})).await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("expires_in")), "{body}");
    assert!(body["message"].as_str().unwrap_or_default().contains("1 to 86400"), "{body}");

    tokio::time::sleep(Duration::from_millis(1600)).await;
    let expired = redeem(short["url"].as_str().expect("url")).await;
    assert_eq!(expired.status(), StatusCode::GONE);
    assert!(expired.headers().get("set-cookie").is_none(), "no session for an expired link");
    let html = expired.text().await.unwrap();
    assert!(html.contains("expired or was already used") && html.starts_with("<!DOCTYPE html>"), "{html}");
    // The same wait leaves a link of the default lifetime valid: it is the time that refused.
    assert_eq!(redeem(long["url"].as_str().expect("url")).await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn without_the_setting_a_portal_link_lives_a_minute_at_least() {
    let server = Server::start(&[]).await;
    let (status, body) = server.post("/v1/portal-links", json!({"expires_in": 30})).await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("expires_in")), "{body}");
    assert!(body["message"].as_str().unwrap_or_default().contains("60 to 86400"), "{body}");
}

#[tokio::test]
async fn a_session_ends_after_its_idle_time_and_requests_keep_it_alive() {
    let server = Server::start(&[("SCANHOOK_SESSION_IDLE", "4s")]).await;
    let sign_in_page = browser().get(server.url("/sign-in")).send().await.unwrap().text().await.unwrap();
    assert!(sign_in_page.contains("after 4 seconds idle"), "{sign_in_page}");
    let (token, _) = sign_in(&server, &server.key).await;

    // Used at 2.5 s, the session's idle end moves on; at 5 s (past the first 4 s) it lives.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(page(&server, &token, "/endpoints").await.0, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(page(&server, &token, "/endpoints").await.0, StatusCode::OK, "a used session lives on");

    // Left alone longer than its idle time, it is gone: pages sign in again, the API refuses it.
    tokio::time::sleep(Duration::from_millis(4500)).await;
    let (status, _) = page(&server, &token, "/endpoints").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "to the sign-in page");
    let (status, _) = server.call(Method::GET, "/v1/webhooks", None, None).await;
    assert_eq!(status, StatusCode::OK, "the key itself still works");
    assert_eq!(as_session(&server, &token, Method::GET, "/v1/webhooks", None).await.0, StatusCode::UNAUTHORIZED);
}
