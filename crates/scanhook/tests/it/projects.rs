//! Projects through the API: CRUD, validation, and the events their creation and deletion
//! send to subscribed endpoints.

use crate::common::{Receiver, Server};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn projects_are_managed_and_announce_themselves() {
    let server = Server::start(&[]).await;
    let receiver = Receiver::start().await;
    server.create_webhook(json!({"url": receiver.url, "events": ["project.*"]})).await;

    let (code, project) =
        server.post("/v1/projects", json!({"name": "web", "target": "https://github.com/acme/web"})).await;
    assert_eq!(code, StatusCode::CREATED, "{project}");
    let id = project["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("proj_"));
    assert_eq!(
        (project["score_drop_threshold"].as_u64(), project["scan_time_limit_secs"].as_u64()),
        (Some(10), Some(3600))
    );

    let created = receiver.wait_for(1, 10).await[0].json();
    assert_eq!(created["type"], "project.created");
    assert_eq!(created["data"]["projectId"], id.as_str());
    assert_eq!(created["data"]["name"], "web");
    assert_eq!(created["data"]["target"], "https://github.com/acme/web");

    let path = format!("/v1/projects/{id}");
    let (code, patched) =
        server.call(Method::PATCH, &path, Some(json!({"score_drop_threshold": 15, "target": null})), None).await;
    assert_eq!(code, StatusCode::OK, "{patched}");
    assert_eq!(patched["score_drop_threshold"], 15);
    assert!(patched.get("target").is_none());
    assert_eq!(server.get(&path).await.1["name"], "web");
    let (_, listed) = server.get("/v1/projects").await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);

    assert_eq!(server.call(Method::DELETE, &path, None, None).await.0, StatusCode::NO_CONTENT);
    let deleted = receiver.wait_for(2, 10).await[1].json();
    assert_eq!(deleted["type"], "project.deleted");
    assert_eq!(deleted["data"]["projectId"], id.as_str());
    assert!(deleted["data"]["deletedAt"].is_string());
    assert_eq!(server.get(&path).await.0, StatusCode::NOT_FOUND);
    assert_eq!(server.call(Method::DELETE, &path, None, None).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_project_input_names_the_field_and_stores_nothing() {
    let server = Server::start(&[]).await;
    for (body, field) in [
        (json!({"name": "  "}), "name"),
        (json!({"target": "x"}), "name"),
        (json!({"name": "web", "score_drop_threshold": 0}), "score_drop_threshold"),
        (json!({"name": "web", "scan_time_limit_secs": 5}), "scan_time_limit_secs"),
        (json!({"name": "web", "owner": "me"}), "owner"),
    ] {
        let (code, problem) = server.post("/v1/projects", body).await;
        assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["field"], field, "{problem}");
    }
    let (_, listed) = server.get("/v1/projects").await;
    assert!(listed["data"].as_array().unwrap().is_empty());
    let (_, events) = server.get("/v1/events").await;
    assert!(events["data"].as_array().unwrap().is_empty(), "no project.created for a refused project");

    let other =
        server.post("/v1/accounts", json!({"name": "b"})).await.1["api_key"]["key"].as_str().unwrap().to_string();
    let (_, mine) = server.post("/v1/projects", json!({"name": "mine"})).await;
    let path = format!("/v1/projects/{}", mine["id"].as_str().unwrap());
    assert_eq!(server.call(Method::GET, &path, None, Some(&other)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(server.call(Method::DELETE, &path, None, Some(&other)).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_projects_events_are_listed_exactly_and_its_violations_counted() {
    let server = Server::start(&[]).await;
    let (_, web) = server.post("/v1/projects", json!({"name": "web"})).await;
    let web = web["id"].as_str().expect("id").to_string();
    let (_, api) = server.post("/v1/projects", json!({"name": "api"})).await;
    let api = api["id"].as_str().expect("id").to_string();
    let (_, scan) = server.post("/v1/scans", json!({"project": web})).await;
    let scan = scan["id"].as_str().expect("scan").to_string();
    let finding = |rule: &str, severity: &str| json!({"rule": rule, "severity": severity, "file": "a.py", "line": 1, "message": rule});
    let findings = [finding("a", "critical"), finding("b", "high"), finding("c", "high"), finding("d", "info")];
    let (status, done) = server.post(&format!("/v1/scans/{scan}/complete"), json!({"findings": findings})).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    for project in [&web, &api] {
        let alert =
            json!({"project": project, "alert_type": "config_change", "severity": "low", "title": "t", "message": "m"});
        let (status, raised) = server.post("/v1/alerts", alert).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{raised}");
    }
    // A producer's event that names the project in its data is not the project's.
    server.send_event("alert.triggered", json!({"project_id": web})).await;

    let (status, page) = server.get(&format!("/v1/events?project_id={web}&type=alert.triggered")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let alerts = page["data"].as_array().expect("data");
    assert!(!alerts.is_empty() && alerts.iter().all(|e| e["data"]["project_id"] == web.as_str()), "{page}");
    let raised: Vec<_> = alerts.iter().filter(|e| e["data"]["alert_type"] == "config_change").collect();
    assert_eq!(raised.len(), 1, "the critical issue's alert and the one raised: {page}");
    assert!(alerts.iter().all(|e| e["data"].get("alert_id").is_some()), "no producer's event: {page}");
    let (_, all) = server.get(&format!("/v1/events?project_id={web}")).await;
    let types: Vec<&str> = all["data"].as_array().expect("data").iter().filter_map(|e| e["type"].as_str()).collect();
    for t in ["project.created", "scan.started", "scan.completed", "violation.detected", "alert.triggered"] {
        assert!(types.contains(&t), "{t} in {types:?}");
    }
    let (_, theirs) = server.get(&format!("/v1/events?project_id={api}&type=alert.triggered")).await;
    assert_eq!(theirs["data"].as_array().map(Vec::len), Some(1), "{theirs}");
    let (status, bad) = server.get("/v1/events?project_id=wh_01").await;
    assert_eq!((status, bad["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("project_id")), "{bad}");

    let (status, project) = server.get(&format!("/v1/projects/{web}")).await;
    assert_eq!(status, StatusCode::OK, "{project}");
    let open = json!({"critical": 1, "high": 2, "medium": 0, "low": 0, "info": 1});
    assert_eq!(project["violations"], json!({"open": open, "resolved": 0}), "{project}");
    let (_, listed) = server.get("/v1/projects").await;
    assert!(listed["data"][0].get("violations").is_none(), "counted on the one project's answer only: {listed}");
}
