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

/// The error shown beside the filter `field`, if any.
fn error_beside(html: &str, field: &str) -> Option<String> {
    let at = html.find(&format!(r#"id="{field}-error""#))?;
    html[at..].split('>').nth(1).and_then(|r| r.split('<').next()).map(|m| m.replace("&#39;", "'"))
}

/// The part of a page from the element with `id` to the next `until`.
fn part<'a>(html: &'a str, id: &str, until: &str) -> &'a str {
    let from = html.find(&format!(r#"id="{id}""#)).unwrap_or_else(|| panic!("#{id} in {html}"));
    let rest = &html[from..];
    &rest[..rest.find(until).unwrap_or(rest.len())]
}

/// The "Older →" link of a part of a page, unescaped.
fn older(part: &str) -> Option<String> {
    let at = part.find(r#"rel="next""#)?;
    let link = part[..at].rsplit(r#"href=""#).next()?.split('"').next()?;
    Some(link.replace("&amp;", "&"))
}

#[tokio::test]
async fn events_are_listed_filtered_paged_and_each_shows_its_payload_and_deliveries() {
    let server = Server::start(&[]).await;
    let token = session(&server, &server.key).await;
    let (status, html) = page(&server, &token, "/events").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("No events yet"), "{html}");
    assert!(html.contains(r#"href="/events""#), "the nav links the page");

    let hook =
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
    assert!(none.contains("No events match these filters"), "{none}");
    let (status, bad) = page(&server, &token, "/events?type=Not%20A%20Type").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error_beside(&bad, "type").is_some(), "the API's refusal beside the field: {bad}");

    // By time: since is inclusive, until exclusive, typed in UTC as a datetime-local field.
    let now = chrono::Utc::now();
    let typed = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let hour_ago = typed(now - chrono::Duration::hours(1));
    let (_, recent) = page(&server, &token, &format!("/events?type=invoice.paid&since={hour_ago}")).await;
    assert!(recent.contains("invoice.paid") && recent.contains(&format!(r#"value="{hour_ago}""#)), "{recent}");
    let (_, before) = page(&server, &token, &format!("/events?until={hour_ago}")).await;
    assert!(before.contains("No events match these filters"), "{before}");
    let (status, bad) = page(&server, &token, "/events?since=yesterday").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = error_beside(&bad, "since").expect("the error beside Since");
    assert!(message.contains("is not a date and time"), "{message}");
    let later = typed(now + chrono::Duration::hours(1));
    let (_, bad) = page(&server, &token, &format!("/events?since={later}&until={hour_ago}")).await;
    assert!(error_beside(&bad, "until").is_some_and(|m| m.contains("later than since")), "{bad}");
    let (status, _) = page(&server, &token, "/events?type=a.b&type=c.d").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a query the page cannot read is a page that says so");

    let id = paid["id"].as_str().expect("id");
    let (status, html) = page(&server, &token, &format!("/events/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("&quot;amount&quot;: 1200"), "pretty-printed payload: {html}");
    assert!(html.contains("/deliveries/dlv_"), "its delivery is linked: {html}");
    // Its deliveries name their endpoint, not the event the page is about.
    let deliveries = &html[html.find("<h2 class=\"section\">Deliveries</h2>").expect("the deliveries")..];
    let hook_id = hook["id"].as_str().expect("id");
    let endpoint = format!(r#"<a href="/endpoints/{hook_id}">https://receiver.example.com/hook</a>"#);
    assert!(deliveries.contains(&endpoint), "the endpoint's URL, linked: {deliveries}");
    assert!(deliveries.contains("<th>Endpoint</th>") && !deliveries.contains("<th>Event</th>"), "{deliveries}");
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
async fn the_projects_list_is_paged() {
    let server = Server::start(&[]).await;
    let token = session(&server, &server.key).await;
    let (status, html) = page(&server, &token, "/projects").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("No projects yet"), "{html}");
    let mut ids = Vec::new();
    for n in 0..26 {
        let (_, project) = server.post("/v1/projects", json!({"name": format!("project {n}")})).await;
        ids.push(project["id"].as_str().expect("id").to_string());
    }
    // Newest first is the IDs' order (ULIDs: two made in one millisecond are ordered by
    // their random part, not by the order they were made in).
    ids.sort();
    let (_, first) = page(&server, &token, "/projects").await;
    assert!(first.contains(&ids[25]) && !first.contains(&format!("/projects/{}\"", ids[0])), "25 newest first");
    let next = older(&first).expect("a link to the older projects");
    let (status, second) = page(&server, &token, &next).await;
    assert_eq!(status, StatusCode::OK);
    assert!(second.contains(&format!(r#"href="/projects/{}""#, ids[0])) && second.contains("Newest"), "{second}");
}

#[tokio::test]
async fn a_project_page_counts_and_pages_its_violations_scans_and_alerts_exactly() {
    let server = Server::start(&[]).await;
    let token = session(&server, &server.key).await;
    let (_, project) = server.post("/v1/projects", json!({"name": "web shop", "target": "https://shop.example"})).await;
    let id = project["id"].as_str().expect("id").to_string();
    let (_, other) = server.post("/v1/projects", json!({"name": "other"})).await;
    let other = other["id"].as_str().expect("id").to_string();
    let (_, html) = page(&server, &token, "/projects").await;
    assert!(html.contains(&format!(r#"href="/projects/{id}""#)) && html.contains("web shop"), "{html}");
    let (_, fresh) = page(&server, &token, &format!("/projects/{id}")).await;
    assert!(fresh.contains("No scans yet") && fresh.contains("No open violations"), "{fresh}");
    assert!(fresh.contains("None resolved yet") && fresh.contains("No alerts for this project"), "{fresh}");

    let raise = async |project: &str, title: &str| {
        let alert = json!({"project": project, "alert_type": "cert_expiring_soon", "severity": "high",
            "title": title, "message": "in 5 days"});
        let (status, raised) = server.post("/v1/alerts", alert).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{raised}");
    };
    // The project's first alert is older than 250 alerts of another project.
    raise(&id, "Oldest alert of ours").await;
    for n in 0..250 {
        raise(&other, &format!("Not ours {n}")).await;
    }

    // 40 findings: one critical and 39 high; the second scan finds 29 of the high ones
    // again, so 11 are resolved and 29 stay open.
    let finding = |n: u32| {
        let severity = if n == 0 { "critical" } else { "high" };
        json!({"rule": format!("rule{n:02}"), "severity": severity, "file": "src/app.js", "line": n + 1,
            "message": format!("issue {n:02}")})
    };
    let mut scans = Vec::new();
    for found in [0..40, 11..40] {
        let (_, scan) = server.post("/v1/scans", json!({"project": id, "rules": ["owasp"]})).await;
        let scan = scan["id"].as_str().expect("scan").to_string();
        let findings: Vec<_> = found.map(finding).collect();
        let (status, done) = server.post(&format!("/v1/scans/{scan}/complete"), json!({"findings": findings})).await;
        assert_eq!(status, StatusCode::OK, "{done}");
        scans.push(scan);
    }
    for _ in 0..9 {
        let (_, scan) = server.post("/v1/scans", json!({"project": id})).await;
        scans.push(scan["id"].as_str().expect("scan").to_string());
    }
    for n in 0..10 {
        raise(&id, &format!("Recent alert {n}")).await;
    }

    let path = format!("/projects/{id}");
    let (status, html) = page(&server, &token, &path).await;
    assert_eq!(status, StatusCode::OK);
    let count = |html: &str, severity: &str| {
        let at = html.find(&format!(">{severity}</span><strong>")).expect(severity);
        html[at..].split("<strong>").nth(1).and_then(|r| r.split('<').next()).expect("count").to_string()
    };
    let counts: Vec<_> = ["all", "critical", "high", "medium"].iter().map(|s| count(&html, s)).collect();
    assert_eq!(counts, ["29", "0", "29", "0"], "exact counts of the open ones");
    assert!(part(&html, "resolved", "</h2>").contains("(11)"), "the resolved ones counted");

    // Open violations: 25 a page, the rest on the next.
    let open = part(&html, "open", r#"id="scans""#);
    let rule = |n: u32| format!("<code>rule{n:02}</code>");
    let listed = |part: &str| (11..40).filter(|n| part.contains(&rule(*n))).count();
    assert_eq!(listed(open), 25, "{open}");
    let next = older(open).expect("older open violations");
    assert!(next.contains("open=") && next.ends_with("#open"), "{next}");
    let (_, second) = page(&server, &token, &next).await;
    assert_eq!(listed(part(&second, "open", r#"id="scans""#)), 4, "the 4 beyond the first page");
    // The scans' list is where it was.
    assert!(part(&second, "scans", r#"id="resolved""#).contains(&scans[10]), "{second}");

    // Of one severity, and the counts link to it.
    assert!(html.contains(&format!(r#"href="{path}?severity=high#open""#)), "{html}");
    let (_, high) = page(&server, &token, &format!("{path}?severity=high")).await;
    assert!(part(&high, "open", r#"id="scans""#).contains(r#"aria-current="true""#));
    let (_, critical) = page(&server, &token, &format!("{path}?severity=critical")).await;
    assert!(part(&critical, "open", r#"id="scans""#).contains("No open critical violations"), "{critical}");
    let (_, bad) = page(&server, &token, &format!("{path}?severity=urgent")).await;
    assert!(part(&bad, "open", r#"id="scans""#).contains("is not a severity"), "{bad}");

    // Scans: 10 a page; the first scan is on the second.
    let scan_part = part(&html, "scans", r#"id="resolved""#);
    assert!(scan_part.contains(&scans[10]) && !scan_part.contains(&scans[0]), "{scan_part}");
    let (_, second) = page(&server, &token, &older(scan_part).expect("older scans")).await;
    assert!(part(&second, "scans", r#"id="resolved""#).contains(&scans[0]), "{second}");

    // Resolved: 10 a page; 11 resolved.
    let resolved = part(&html, "resolved", r#"id="alerts""#);
    let gone = |part: &str| (0..11).filter(|n| part.contains(&rule(*n))).count();
    assert_eq!(gone(resolved), 10, "{resolved}");
    let (_, second) = page(&server, &token, &older(resolved).expect("older resolved")).await;
    assert_eq!(gone(part(&second, "resolved", r#"id="alerts""#)), 1);

    // Alerts: only this project's, found however many others came between, paged.
    let mut alerts = part(&html, "alerts", "</main>").to_string();
    assert!(alerts.contains("Recent alert 9") && !alerts.contains("Not ours"), "{alerts}");
    let mut pages = 1;
    while !alerts.contains("Oldest alert of ours") {
        let next = older(&alerts).expect("the oldest alert is on a later page");
        let (_, html) = page(&server, &token, &next).await;
        alerts = part(&html, "alerts", "</main>").to_string();
        assert!(!alerts.contains("Not ours"), "{alerts}");
        pages += 1;
        assert!(pages <= 3, "11 or 12 alerts fill at most 2 pages of 10");
    }
    assert_eq!(pages, 2, "the oldest alert is beyond the first page");

    let (status, _) = page(&server, &token, "/projects/proj_nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = page(&server, &token, &format!("{path}?scans=bogus")).await;
    assert_eq!(status, StatusCode::OK, "a bad cursor is said in its section");
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
    let (updated, created) = (
        html.find("<code class=\"tag\">webhook.updated").expect("updated"),
        html.find("<code class=\"tag\">webhook.created").expect("created"),
    );
    assert!(updated < created, "newest first");
    assert!(html.contains("https://receiver.example.com/hook → https://receiver.example.com/v2"), "{html}");
}

#[tokio::test]
async fn the_audit_log_page_filters_by_action_target_and_time_and_pages() {
    let server = Server::start(&[]).await;
    let token = session(&server, &server.key).await;
    let hook = server.create_webhook(json!({"url": "https://receiver.example.com/hook", "events": ["*"]})).await;
    let hook_id = hook["id"].as_str().expect("id").to_string();
    let spare = server.create_webhook(json!({"url": "https://receiver.example.com/spare", "events": ["*"]})).await;
    let spare_id = spare["id"].as_str().expect("id").to_string();
    for n in 0..50 {
        let path = format!("/v1/webhooks/{hook_id}");
        let body = json!({"description": format!("change {n}")});
        let (status, _) = server.call(Method::PATCH, &path, Some(body), None).await;
        assert_eq!(status, StatusCode::OK);
    }
    let tag = |action: &str| format!(r#"<code class="tag">{action}</code>"#);
    let (_, html) = page(&server, &token, "/audit").await;
    assert!(html.contains(&tag("webhook.updated")) && !html.contains(&tag("webhook.created")), "50 newest first");
    let (_, second) = page(&server, &token, &older(&html).expect("older entries")).await;
    assert!(second.contains(&tag("webhook.created")), "{second}");

    let (_, created) = page(&server, &token, "/audit?action=webhook.created").await;
    assert!(created.contains(&spare_id) && created.contains(&hook_id) && !created.contains(&tag("webhook.updated")));
    assert!(created.contains(r#"<option value="webhook.created" selected>"#), "the select keeps the filter");
    let (_, spare_only) = page(&server, &token, &format!("/audit?target_id={spare_id}")).await;
    assert!(spare_only.contains(&spare_id) && !spare_only.contains(&tag("webhook.updated")), "{spare_only}");

    let typed = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let (now, hour) = (chrono::Utc::now(), chrono::Duration::hours(1));
    let (_, recent) =
        page(&server, &token, &format!("/audit?action=webhook.created&since={}", typed(now - hour))).await;
    assert!(recent.contains(&tag("webhook.created")), "{recent}");
    let (_, none) = page(&server, &token, &format!("/audit?until={}", typed(now - hour))).await;
    assert!(none.contains("No entries match these filters"), "{none}");
    let (status, bad) = page(&server, &token, "/audit?until=soon").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error_beside(&bad, "until").is_some_and(|m| m.contains("'soon' is not a date and time")), "{bad}");
    let (status, bad) = page(&server, &token, "/audit?action=webhook.exploded").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error_beside(&bad, "action").is_some(), "the API's refusal beside the field: {bad}");
}

/// The signed-in shell: the navigation and a sign-out form carrying the session's token.
fn has_shell(html: &str, csrf: &str) -> bool {
    html.contains(r#"<nav aria-label="Main">"#)
        && html.contains(r#"action="/sign-out""#)
        && html.contains(&format!(r#"name="csrf" value="{csrf}""#))
}

#[tokio::test]
async fn error_pages_keep_the_navigation_when_signed_in_and_show_nothing_otherwise() {
    let server = Server::start(&[]).await;
    let token = session(&server, &server.key).await;
    let (_, home) = page(&server, &token, "/endpoints").await;
    let csrf = crate::dashboard::csrf_of(&home);
    assert!(has_shell(&home, &csrf));

    for path in [
        "/endpoints/wh_nope",
        "/endpoints/not-an-id",
        "/deliveries/dlv_nope",
        "/events/evt_nope",
        "/projects/proj_nope",
    ] {
        let (status, html) = page(&server, &token, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(has_shell(&html, &csrf), "{path} in the signed-in shell: {html}");
    }
    let (status, html) = page(&server, &token, "/events?type=a.b&type=c.d").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(has_shell(&html, &csrf), "the bad query page: {html}");

    // A form with the wrong token is refused in the shell (which carries the right one).
    let refused =
        crate::dashboard::form(&server, &token, "/deliveries/dlv_nope/retry", &[("csrf", "wrong")], "same-origin")
            .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let html = refused.text().await.expect("html");
    assert!(html.contains("out of date") && has_shell(&html, &csrf), "{html}");

    // An address nobody knows, opened by a browser: with the session, and without one (or
    // with one that is not valid): nothing of the session or the navigation.
    let browse = |cookie: Option<String>| {
        let mut request = crate::dashboard::browser().get(server.url("/no/such/page")).header("accept", "text/html");
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send()
    };
    let signed_in = browse(Some(format!("scanhook_session={token}"))).await.expect("page");
    assert_eq!(signed_in.status(), StatusCode::NOT_FOUND);
    assert!(has_shell(&signed_in.text().await.expect("html"), &csrf));
    for cookie in [None, Some("scanhook_session=not-a-session".to_string())] {
        let response = browse(cookie).await.expect("page");
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let html = response.text().await.expect("html");
        assert!(html.contains("There is no page at this address"), "{html}");
        for leak in ["<nav", "sign-out", "csrf", &csrf, "Admin", "Sign out"] {
            assert!(!html.contains(leak), "{leak} on a signed-out error page: {html}");
        }
    }
    // A page that needs a session still sends a stranger to sign in, not to a 404.
    let response = crate::dashboard::browser().get(server.url("/events/evt_nope")).send().await.expect("page");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}
