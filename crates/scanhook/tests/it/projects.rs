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
