//! The dashboard's events, event catalogue, projects and audit pages over real HTTP: each
//! renders real data from the API and a clear empty state, and a session limited to some
//! event types gets a page saying what it cannot see.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::Server;
use crate::dashboard::{page, redeem, session_cookie, sign_in};

/// A session of `key`, by the sign-in form.
async fn session(server: &Server, key: &str) -> String {
    sign_in(server, key).await.0
}

#[tokio::test]
async fn events_are_listed_filtered_paged_and_each_shows_its_payload_and_deliveries() {
    let server = Server::start(&[]).await;
    let token = session(&server, &server.key).await;
    let (status, html) = page(&server, &token, "/events").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("No events yet"), "{html}");
    assert!(html.contains(r#"href="/events""#), "the nav links the page");

    server.create_webhook(json!({"url": "https://receiver.example.com/hook", "events": ["invoice.*"]})).await;
    let paid = server.send_event("invoice.paid", json!({"invoice": "inv_42", "amount": 1200})).await;
    for n in 0..26 {
        server.send_event("user.signed_up", json!({"n": n})).await;
    }
    let (status, html) = page(&server, &token, "/events").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("user.signed_up") && html.contains("Older"), "a full page links the next");
    assert!(!html.contains("invoice.paid"), "25 newest first: the oldest is on the next page");
    let next = html.split(r#"href="/events?"#).nth(1).and_then(|r| r.split('"').next()).expect("the next page's link");
    let (_, older) = page(&server, &token, &format!("/events?{}", next.replace("&amp;", "&"))).await;
    assert!(older.contains("invoice.paid") && older.contains("Newest"), "{older}");

    let (_, only) = page(&server, &token, "/events?type=invoice.paid").await;
    assert!(only.contains("invoice.paid") && !only.contains("user.signed_up"), "{only}");
    let (_, none) = page(&server, &token, "/events?type=invoice.refunded").await;
    assert!(none.contains("No events of this type"), "{none}");
    let (status, bad) = page(&server, &token, "/events?type=Not%20A%20Type").await;
    assert_eq!(status, StatusCode::OK);
    assert!(bad.contains(r#"class="banner error""#), "the API's refusal beside the filter: {bad}");

    let id = paid["id"].as_str().expect("id");
    let (status, html) = page(&server, &token, &format!("/events/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("&quot;amount&quot;: 1200"), "pretty-printed payload: {html}");
    assert!(html.contains("/deliveries/dlv_"), "its delivery is linked: {html}");
    let (status, _) = page(&server, &token, "/events/evt_nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_catalogue_shows_each_type_with_its_fields_and_example() {
    let server = Server::start(&[]).await;
    let token = session(&server, &server.key).await;
    let (status, html) = page(&server, &token, "/event-types").await;
    assert_eq!(status, StatusCode::OK);
    let (_, api) = server.get("/v1/event-types").await;
    let types = api["data"].as_array().expect("the catalogue");
    assert!(!types.is_empty());
    for t in types {
        let name = t["type"].as_str().expect("type");
        assert!(html.contains(&format!(r#"id="{name}""#)), "{name} has its section");
    }
    assert!(html.contains("Fields of data") && html.contains("Example"), "{html}");
}

#[tokio::test]
async fn an_event_limited_session_is_told_what_it_cannot_see() {
    let server = Server::start(&[]).await;
    let (status, link) =
        server.call(Method::POST, "/v1/portal-links", Some(json!({"event_types": ["scan.*"]})), None).await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    let (token, _) = session_cookie(&redeem(link["url"].as_str().expect("url")).await);
    let token = token.as_str();
    let (status, html) = page(&server, token, "/events").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("so it cannot see events."), "{html}");
    assert!(!html.contains(r#"href="/events""#), "no nav link to what it cannot open");
    let (status, _) = page(&server, token, "/event-types").await;
    assert_eq!(status, StatusCode::OK, "the catalogue is open to it");
}

#[tokio::test]
async fn a_project_page_shows_its_scans_violations_by_severity_resolved_ones_and_alerts() {
    let server = Server::start(&[]).await;
    let token = session(&server, &server.key).await;
    let (status, html) = page(&server, &token, "/projects").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("No projects yet"), "{html}");

    let (_, project) = server.post("/v1/projects", json!({"name": "web shop", "target": "https://shop.example"})).await;
    let id = project["id"].as_str().expect("id").to_string();
    let (_, other) = server.post("/v1/projects", json!({"name": "other"})).await;
    let (_, html) = page(&server, &token, "/projects").await;
    assert!(html.contains(&format!(r#"href="/projects/{id}""#)) && html.contains("web shop"), "{html}");
    let (_, fresh) = page(&server, &token, &format!("/projects/{id}")).await;
    assert!(fresh.contains("No scans yet") && fresh.contains("No open violations"), "{fresh}");
    assert!(fresh.contains("None resolved yet") && fresh.contains("No alerts for this project"), "{fresh}");

    let finding = |rule: &str, severity: &str, line: u32| json!({"rule": rule, "severity": severity, "file": "src/app.js", "line": line, "message": format!("{rule} found")});
    let (_, scan) = server.post("/v1/scans", json!({"project": id, "rules": ["owasp"]})).await;
    let scan_id = scan["id"].as_str().expect("scan").to_string();
    let findings = [finding("sqli", "critical", 1), finding("xss", "high", 2), finding("xss", "high", 3)];
    let (status, done) =
        server.post(&format!("/v1/scans/{scan_id}/complete"), json!({"findings": findings, "score": 61})).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let (_, second) = server.post("/v1/scans", json!({"project": id})).await;
    let second = second["id"].as_str().expect("scan").to_string();
    let findings = [finding("xss", "high", 2), finding("xss", "high", 3)];
    let (status, done) = server.post(&format!("/v1/scans/{second}/complete"), json!({"findings": findings})).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    for (project, title) in
        [(&id, "Certificate expires soon"), (&other["id"].as_str().expect("id").to_string(), "Not ours")]
    {
        let alert = json!({"project": project, "alert_type": "cert_expiring_soon", "severity": "high",
            "title": title, "message": "in 5 days"});
        let (status, raised) = server.post("/v1/alerts", alert).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{raised}");
    }

    let (status, html) = page(&server, &token, &format!("/projects/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&scan_id) && html.contains(&second) && html.contains("completed"), "{html}");
    let count = |severity: &str| {
        let at = html.find(&format!(r#"<span class="badge bad">{severity}</span><strong>"#)).expect(severity);
        html[at..].split("<strong>").nth(1).and_then(|r| r.split('<').next()).expect("count").to_string()
    };
    assert_eq!((count("critical"), count("high")), ("0".to_string(), "2".to_string()), "{html}");
    let resolved = html.split("Resolved violations").nth(1).expect("the resolved section");
    assert!(resolved.contains("sqli"), "the critical one was resolved by the second scan: {resolved}");
    assert!(html.contains("Certificate expires soon") && !html.contains("Not ours"), "only its own alerts");
    let (status, _) = page(&server, &token, "/projects/proj_nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_audit_log_page_lists_actions_newest_first_with_their_changes() {
    let server = Server::start(&[]).await;
    let token = session(&server, &server.key).await;
    let (status, html) = page(&server, &token, "/audit").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Nothing yet"), "{html}");
    let hook = server.create_webhook(json!({"url": "https://receiver.example.com/hook", "events": ["*"]})).await;
    let path = format!("/v1/webhooks/{}", hook["id"].as_str().expect("id"));
    let (status, _) =
        server.call(Method::PATCH, &path, Some(json!({"url": "https://receiver.example.com/v2"})), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, html) = page(&server, &token, "/audit").await;
    assert_eq!(status, StatusCode::OK);
    let (updated, created) =
        (html.find("webhook.updated").expect("updated"), html.find("webhook.created").expect("created"));
    assert!(updated < created, "newest first");
    assert!(html.contains("https://receiver.example.com/hook → https://receiver.example.com/v2"), "{html}");
}
