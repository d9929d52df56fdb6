//! The dashboard's delivery log and dead-letter replay, through a signed-in session over
//! real HTTP: filters by status, event type, endpoint and time, cursor paging, the API's
//! validation error beside its field, and replay hidden from read-only sessions.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::receiver::status;
use crate::common::{Receiver, Server};
use crate::dashboard::{csrf_of, form, page, portal_session, sign_in};

/// How many deliveries a page of the log lists.
fn rows(html: &str) -> usize {
    html.matches(r#"<a href="/deliveries/dlv_"#).count()
}

/// The "Older →" link of a page, unescaped.
fn older(html: &str) -> Option<String> {
    let end = html.find(r#"" rel="next""#)?;
    let start = html[..end].rfind(r#"href=""#)? + r#"href=""#.len();
    Some(html[start..end].replace("&amp;", "&"))
}

fn id(v: &Value) -> &str {
    v["id"].as_str().expect("an id")
}

#[tokio::test]
async fn the_log_filters_pages_and_shows_the_apis_error_and_replay_requeues_dead_letters() {
    let server = Server::start(&[("SCANHOOK_ALLOW_PRIVATE_NETWORKS", "true"), ("SCANHOOK_RETRY_SCHEDULE", "0s")]).await;
    let failing = Receiver::start().await;
    failing.always(status(500));
    let fine = Receiver::start().await;
    let dead = server.create_webhook(json!({"url": failing.url, "events": ["scan.completed"]})).await;
    let ok = server.create_webhook(json!({"url": fine.url, "events": ["alert.raised"]})).await;
    for _ in 0..3 {
        server.send_event("scan.completed", json!({})).await;
    }
    for _ in 0..2 {
        server.send_event("alert.raised", json!({})).await;
    }
    let settled =
        |l: &Value| l["data"].as_array().is_some_and(|d| d.len() == 5 && d.iter().all(|x| x["status"] != "pending"));
    server.wait_until("/v1/deliveries", 20, settled).await;

    let (token, _) = sign_in(&server, &server.key).await;
    let (code, all) = page(&server, &token, "/deliveries").await;
    assert_eq!(code, StatusCode::OK);
    assert!(all.contains(r#"<a href="/deliveries">Deliveries</a>"#), "linked from the nav");
    assert_eq!(rows(&all), 5, "{all}");

    let (_, html) = page(&server, &token, "/deliveries?status=dead").await;
    assert_eq!(rows(&html), 3);
    assert!(html.contains(r#"<option value="dead" selected>"#), "the form keeps the filter");
    assert_eq!(html.matches(&format!(r#"href="/endpoints/{}""#, id(&dead))).count(), 3, "{html}");
    assert_eq!(rows(&page(&server, &token, "/deliveries?event_type=alert.raised").await.1), 2);
    let (_, mine) = page(&server, &token, &format!("/deliveries?webhook_id={}&status=", id(&ok))).await;
    assert_eq!(rows(&mine), 2);
    let (code, none) = page(&server, &token, "/deliveries?since=2999-01-01T00%3A00").await;
    assert_eq!((code, rows(&none)), (StatusCode::OK, 0));
    assert!(none.contains("No deliveries match these filters"), "{none}");
    let (_, before) = page(&server, &token, "/deliveries?until=2000-01-01T00%3A00%3A00").await;
    assert_eq!(rows(&before), 0);

    // The API's 422 is shown beside the field it names.
    let (code, bad) = page(&server, &token, "/deliveries?since=yesterday").await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.contains(r#"id="since-error""#) && bad.contains("since"), "{bad}");
    let (code, bad) = page(&server, &token, "/deliveries?event_type=NOT%20A%20TYPE").await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.contains(r#"id="event_type-error""#), "{bad}");

    // Paging with the API's cursor, the filters kept; newest first throughout.
    let mut seen = Vec::new();
    let mut next = Some("/deliveries?limit=2".to_string());
    while let Some(path) = next {
        let (code, html) = page(&server, &token, &path).await;
        assert_eq!(code, StatusCode::OK, "{path}");
        seen.push(rows(&html));
        next = older(&html);
        if let Some(n) = &next {
            assert!(n.contains("limit=2") && n.contains("cursor="), "{n}");
        }
    }
    assert_eq!(seen, [2, 2, 1]);
    let (_, api_list) = server.get("/v1/deliveries").await;
    let newest = id(&api_list["data"][0]);
    let (_, first) = page(&server, &token, "/deliveries?limit=2").await;
    assert!(first.find(newest) < first.find(id(&api_list["data"][1])), "newest first");

    // Replay from the endpoint page.
    let endpoint = format!("/endpoints/{}", id(&dead));
    let (_, html) = page(&server, &token, &endpoint).await;
    assert!(html.contains(&format!(r#"href="/deliveries?webhook_id={}""#, id(&dead))), "{html}");
    assert!(html.contains("Replay dead letters"));
    let csrf = csrf_of(&html);
    let replay = format!("{endpoint}/replay");
    assert_eq!(form(&server, &token, &replay, &[], "same-origin").await.status(), StatusCode::FORBIDDEN);
    let later = [("csrf", csrf.as_str()), ("since", "2999-01-01T00:00")];
    let response = form(&server, &token, &replay, &later, "same-origin").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("no dead deliveries to replay since then"));
    let response = form(&server, &token, &replay, &[("csrf", &csrf), ("since", "")], "same-origin").await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(text.contains("3 dead deliveries are queued"), "{text}");
    let bad = [("csrf", csrf.as_str()), ("since", "soon")];
    assert_eq!(form(&server, &token, &replay, &bad, "same-origin").await.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // A read-only session reads the log but is offered no replay.
    let reader = portal_session(&server, &server.key, json!({"read_only": true})).await;
    let (_, html) = page(&server, &reader, &endpoint).await;
    assert!(!html.contains("Replay dead letters") && html.contains("All deliveries of this endpoint"), "{html}");
    assert_eq!(rows(&page(&server, &reader, "/deliveries?status=succeeded").await.1), 2);
}
