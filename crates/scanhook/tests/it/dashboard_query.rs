//! Every dashboard page answers an address it cannot read (a repeated or mistyped query
//! parameter) with an HTML page in the dashboard's shell that names the parameter (400 or
//! 422), never with a plain-text rejection; pages that read no query ignore it. The table
//! below must name every GET route of the dashboard's router, so a new page is walked too.

use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::Server;
use crate::dashboard::{browser, page, sign_in};

/// The dashboard's router, read for its GET routes.
const ROUTER: &str = include_str!("../../../scanhook-server/src/dashboard/mod.rs");

/// Each GET route and the query parameters its page reads.
const ROUTES: &[(&str, &[&str])] = &[
    ("/", &[]),
    ("/sign-in", &[]),
    ("/portal/{token}", &[]),
    ("/endpoints", &[]),
    ("/endpoints/new", &[]),
    ("/endpoints/{id}", &[]),
    ("/endpoints/{id}/delete", &[]),
    ("/deliveries", &["status", "event_type", "webhook_id", "since", "until", "limit", "cursor"]),
    ("/deliveries/{id}", &[]),
    ("/events", &["type", "since", "until", "cursor"]),
    ("/events/{id}", &[]),
    ("/event-types", &[]),
    ("/projects", &["cursor"]),
    ("/projects/{id}", &["severity", "scans", "open", "resolved", "alerts"]),
    ("/audit", &["action", "target_id", "since", "until", "cursor"]),
    ("/accounts", &["cursor"]),
    ("/assets/app.css", &[]),
    ("/assets/app.js", &[]),
    ("/assets/brand.css", &[]),
    ("/assets/icon.svg", &[]),
];

/// Every parameter any page reads, each given twice, and values of the wrong kind.
const HOSTILE: &str = "cursor=a&cursor=%ZZ&type=a&type=b&status=x&status=y&event_type=a&event_type=b&\
                       webhook_id=1&webhook_id=2&since=yesterday&since=now&until=never&until=x&limit=abc&limit=-1&\
                       severity=a&severity=b&scans=a&scans=b&open=a&open=b&resolved=a&resolved=b&alerts=a&alerts=b&\
                       action=a&action=b&target_id=a&target_id=b";

fn get_routes(router: &str) -> Vec<String> {
    router
        .split(".route(\"")
        .skip(1)
        .filter_map(|rest| {
            let (path, handler) = rest.split_once('"')?;
            let handler = &handler[..handler.find('\n').unwrap_or(handler.len())];
            handler.contains("get(").then(|| path.to_string())
        })
        .collect()
}

#[tokio::test]
async fn every_page_answers_a_query_it_cannot_read_with_html_naming_the_parameter() {
    let mut routed = get_routes(ROUTER);
    let mut walked: Vec<String> = ROUTES.iter().map(|(r, _)| r.to_string()).collect();
    routed.sort();
    walked.sort();
    assert_eq!(routed, walked, "the table names every GET route of the dashboard");

    let server = Server::start(&[]).await;
    let hook = server.create_webhook(json!({"url": "https://receiver.example.com/hook", "events": ["*"]})).await;
    let event = server.send_event("scan.completed", json!({"n": 1})).await;
    let (_, deliveries) = server.get("/v1/deliveries").await;
    let (_, project) = server.post("/v1/projects", json!({"name": "web"})).await;
    let (_, link) = server.call(Method::POST, "/v1/portal-links", None, None).await;
    let token_of_link = link["url"].as_str().expect("url").rsplit('/').next().expect("token").to_string();
    let ids = [
        ("/endpoints/{id}", hook["id"].as_str().expect("id").to_string()),
        ("/deliveries/{id}", deliveries["data"][0]["id"].as_str().expect("a delivery").to_string()),
        ("/events/{id}", event["id"].as_str().expect("id").to_string()),
        ("/projects/{id}", project["id"].as_str().expect("id").to_string()),
    ];
    let concrete = |route: &str| {
        let mut path = route.replace("{token}", &token_of_link);
        for (prefix, id) in &ids {
            let stem = prefix.trim_end_matches("{id}");
            if path.starts_with(stem) {
                path = path.replace("{id}", id);
            }
        }
        path
    };
    let (session, _) = sign_in(&server, &server.key).await;

    for (route, reads) in ROUTES {
        let path = concrete(route);
        // Everything at once: a page that reads a query refuses it, one that reads none
        // ignores it; neither answers in plain text.
        let (status, html) = page(&server, &session, &format!("{path}?{HOSTILE}")).await;
        if route.starts_with("/assets/") || *route == "/" {
            assert!(status.is_success() || status.is_redirection(), "{route}: {status}");
            continue;
        }
        assert!(html.starts_with("<!DOCTYPE html>"), "{route}: {status} {html}");
        if reads.is_empty() {
            assert_eq!(status, StatusCode::OK, "{route} reads no query: {html}");
            continue;
        }
        assert_eq!(status, StatusCode::BAD_REQUEST, "{route}: {html}");
        assert!(html.contains(r#"href="/endpoints""#), "{route}: the page keeps its navigation: {html}");
        // Each parameter it reads, given twice, is named.
        for name in *reads {
            let response = browser()
                .get(server.url(&format!("{path}?{name}=a&{name}=b")))
                .header("cookie", format!("scanhook_session={session}"))
                .send()
                .await
                .expect("page");
            let status = response.status();
            let kind = response.headers()[CONTENT_TYPE].to_str().unwrap_or_default().to_string();
            let html = response.text().await.expect("html");
            assert_eq!(status, StatusCode::BAD_REQUEST, "{route} {name}: {html}");
            assert!(kind.starts_with("text/html"), "{route} {name}: {kind}");
            assert!(
                html.contains(&format!("query parameter &#39;{name}&#39;")) || html.contains(&format!("'{name}'")),
                "{route} {name}: {html}"
            );
        }
    }

    // Values the page passes on are refused by the API, which names them beside the form.
    let checked = [
        ("/deliveries?limit=abc", "limit"),
        ("/deliveries?since=yesterday", "since"),
        ("/events?since=yesterday", "since"),
        ("/audit?until=never", "until"),
    ];
    for (path, name) in checked {
        let (status, html) = page(&server, &session, path).await;
        assert!(status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::BAD_REQUEST, "{path}: {status}");
        assert!(html.starts_with("<!DOCTYPE html>") && html.contains(name), "{path}: {html}");
    }
    // Without a session, a bad address still signs in first and tells nothing.
    let response = browser().get(server.url("/events?cursor=a&cursor=b")).send().await.expect("page");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}
