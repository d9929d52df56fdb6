//! Several scanners on one project: each violation belongs to the tool (and category) that
//! found it, and a completed scan resolves only what it looked for. Driven by the SARIF
//! logs Bandit and Ruff wrote for testdata/scanners/ (scripts/scanner-fixtures).

use crate::common::Server;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn log(name: &str) -> Vec<u8> {
    let path = format!("{}/../../testdata/scanners/logs/{name}.sarif", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn project(server: &Server) -> String {
    let (_, project) = server.post("/v1/projects", json!({"name": "shop"})).await;
    project["id"].as_str().unwrap().to_string()
}

/// Starts a scan of `project` (with `extra` fields) and completes it with `body`.
async fn scan(server: &Server, project: &str, extra: Value, content_type: &str, body: Vec<u8>) -> Value {
    let mut start = json!({"project": project});
    start.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let (code, scan) = server.post("/v1/scans", start).await;
    assert_eq!(code, StatusCode::CREATED, "{scan}");
    let response = server
        .client()
        .post(server.url(&format!("/v1/scans/{}/complete", scan["id"].as_str().unwrap())))
        .bearer_auth(&server.key)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn sarif_scan(server: &Server, project: &str, name: &str) -> Value {
    scan(server, project, json!({}), "application/sarif+json", log(name)).await
}

/// The project's violations with `query` (`status=open&tool=ruff`), as (tool, rule) pairs.
async fn violations(server: &Server, project: &str, query: &str) -> Vec<(String, String)> {
    let (code, list) = server.get(&format!("/v1/projects/{project}/violations?limit=100&{query}")).await;
    assert_eq!(code, StatusCode::OK, "{list}");
    let mut found: Vec<(String, String)> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["tool"].as_str().unwrap_or("").to_string(), v["rule"].as_str().unwrap().to_string()))
        .collect();
    found.sort();
    found
}

#[tokio::test]
async fn a_scan_by_one_tool_never_resolves_another_tools_violations() {
    let server = Server::start(&[]).await;
    let project = project(&server).await;

    let bandit = sarif_scan(&server, &project, "bandit-v1").await;
    assert_eq!(bandit["covered"], json!([{"tool": "Bandit"}]), "{bandit}");
    let bandit_open = violations(&server, &project, "status=open&tool=Bandit").await;
    assert!(!bandit_open.is_empty() && bandit["detected"] == bandit_open.len());

    // Ruff looked at the same code and never looks for what Bandit finds: nothing resolved.
    let ruff = sarif_scan(&server, &project, "ruff-v1").await;
    assert_eq!((ruff["resolved"].as_u64(), &ruff["covered"]), (Some(0), &json!([{"tool": "ruff"}])));
    assert_eq!(violations(&server, &project, "status=open&tool=Bandit").await, bandit_open);
    let ruff_open = violations(&server, &project, "status=open&tool=ruff").await;
    assert!(ruff_open.iter().any(|(_, rule)| rule == "S324"), "the same problem found by two tools: {ruff_open:?}");
    assert!(bandit_open.iter().any(|(_, rule)| rule == "B324"));

    // v2 replaced md5: Bandit's next scan resolves Bandit's B324 and nothing of Ruff's.
    let fixed = sarif_scan(&server, &project, "bandit-v2").await;
    assert_eq!(fixed["resolved"], 1, "{fixed}");
    let resolved = violations(&server, &project, "status=resolved").await;
    assert_eq!(resolved, [("Bandit".to_string(), "B324".to_string())]);
    assert_eq!(violations(&server, &project, "status=open&tool=ruff").await, ruff_open);

    // One log with both tools' runs is one scan covering each.
    let both = sarif_scan(&server, &project, "combined-v2").await;
    assert_eq!(both["covered"], json!([{"tool": "Bandit"}, {"tool": "ruff"}]));
    let resolved = violations(&server, &project, "status=resolved&tool=ruff").await;
    assert!(resolved.contains(&("ruff".to_string(), "S324".to_string())), "{resolved:?}");
    assert_eq!(violations(&server, &project, "status=resolved&tool=Bandit").await.len(), 1, "nothing more of Bandit's");

    // The events say which tool found and which resolved.
    let (_, events) = server.get("/v1/events?type=violation.resolved&limit=100").await;
    let tools: Vec<&str> =
        events["data"].as_array().unwrap().iter().map(|e| e["data"]["tool"].as_str().unwrap()).collect();
    assert!(tools.contains(&"Bandit") && tools.contains(&"ruff"), "{tools:?}");
    let (_, detected) = server.get("/v1/events?type=violation.detected&limit=1").await;
    assert!(detected["data"][0]["data"]["tool"].is_string(), "{detected}");
}

#[tokio::test]
async fn native_findings_belong_to_the_tool_and_category_named_at_start() {
    let server = Server::start(&[]).await;
    let project = project(&server).await;
    let finding =
        |rule: &str| json!({"rule": rule, "severity": "high", "file": "Dockerfile", "line": 1, "message": rule});
    let report = |rules: &[&str]| {
        serde_json::to_vec(&json!({"findings": rules.iter().map(|r| finding(r)).collect::<Vec<_>>()})).unwrap()
    };
    let trivy = json!({"tool": "trivy", "category": "images"});
    let done = scan(&server, &project, trivy.clone(), "application/json", report(&["CVE-1", "CVE-2"])).await;
    assert_eq!((&done["tool"], &done["category"]), (&json!("trivy"), &json!("images")));
    // Scans that name no tool keep resolving each other, as before tools were told apart.
    scan(&server, &project, json!({}), "application/json", report(&["legacy-1"])).await;
    let unnamed = scan(&server, &project, json!({}), "application/json", report(&[])).await;
    assert_eq!(unnamed["resolved"], 1, "{unnamed}");
    // Another category of the same tool is another analysis.
    let other = json!({"tool": "trivy", "category": "filesystem"});
    assert_eq!(scan(&server, &project, other, "application/json", report(&[])).await["resolved"], 0);
    let again = scan(&server, &project, trivy, "application/json", report(&["CVE-2"])).await;
    assert_eq!(again["resolved"], 1);
    let (_, open) = server.get(&format!("/v1/projects/{project}/violations?status=open")).await;
    let open = open["data"].as_array().unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(
        (&open[0]["rule"], &open[0]["tool"], &open[0]["category"]),
        (&json!("CVE-2"), &json!("trivy"), &json!("images"))
    );

    let (code, problem) = server.post("/v1/scans", json!({"project": project, "tool": " "})).await;
    assert_eq!((code, problem["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("tool")), "{problem}");
    // schemathesis found the empty filter accepted, though the document says at least 1.
    let (code, problem) = server.get(&format!("/v1/projects/{project}/violations?tool=")).await;
    assert_eq!((code, problem["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("tool")), "{problem}");
}

/// The directory a log's absolute `file://` URIs start with (Ruff's: the runner's checkout).
fn checkout_of(log: &[u8]) -> String {
    let text = String::from_utf8_lossy(log);
    let start = text.find("file://").expect("an absolute URI");
    let end = start + text[start..].find("/work/app/").expect("the fixture's directory") + "/work/app/".len();
    text[start..end].to_string()
}

#[tokio::test]
async fn files_are_relative_to_the_checkout_so_findings_match_across_runners() {
    let server = Server::start(&[]).await;
    let (v1, v2) = (log("ruff-v1"), log("ruff-v2"));
    assert_ne!(checkout_of(&v1), checkout_of(&v2), "the two logs come from different directories");
    for root_given in [true, false] {
        let project = project(&server).await;
        let complete = async |log: Vec<u8>| {
            let extra = if root_given { json!({"root": checkout_of(&log)}) } else { json!({}) };
            scan(&server, &project, extra, "application/sarif+json", log).await
        };
        let first = complete(v1.clone()).await;
        let (_, list) = server.get(&format!("/v1/projects/{project}/violations?limit=100")).await;
        let mut files: Vec<&str> =
            list["data"].as_array().unwrap().iter().map(|v| v["file"].as_str().unwrap()).collect();
        files.sort();
        files.dedup();
        assert_eq!(files, ["app.py", "shop/handlers.py", "shop/storage.py"], "root given: {root_given}");
        let uri = list["data"][0]["uri"].as_str().unwrap();
        assert!(uri.starts_with("file:///") && uri.ends_with(list["data"][0]["file"].as_str().unwrap()), "{uri}");

        // v2 ran in another directory: only what changed in the code changes.
        let second = complete(v2.clone()).await;
        assert_eq!((second["detected"].as_u64(), second["resolved"].as_u64()), (Some(1), Some(1)), "{first} {second}");
        let (_, resolved) = server.get(&format!("/v1/projects/{project}/violations?status=resolved")).await;
        assert_eq!(resolved["data"][0]["rule"], "S324");
        assert_eq!(resolved["data"][0]["file"], "shop/storage.py");
    }
    let (_, project) = server.post("/v1/projects", json!({"name": "p"})).await;
    let (code, problem) = server.post("/v1/scans", json!({"project": project["id"], "root": "work/app"})).await;
    assert_eq!((code, problem["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("root")), "{problem}");
}
