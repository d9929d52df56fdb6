//! Several scanners on one project: each violation belongs to the tool (and category) that
//! found it, and a completed scan resolves only what it looked for. Driven by the SARIF
//! logs Bandit and Ruff wrote for testdata/scanners/ (scripts/scanner-fixtures).

use std::collections::BTreeMap;

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
        assert_eq!((second["detected"].as_u64(), second["resolved"].as_u64()), (Some(1), Some(2)), "{first} {second}");
        let resolved = places(&server, &project, "resolved").await;
        let resolved: Vec<_> =
            resolved.keys().map(|(_, rule, file, line)| (rule.as_str(), file.as_str(), *line)).collect();
        assert_eq!(resolved, [("D103", "shop/handlers.py", 13), ("S324", "shop/storage.py", 22)]);
    }
    let (_, project) = server.post("/v1/projects", json!({"name": "p"})).await;
    let (code, problem) = server.post("/v1/scans", json!({"project": project["id"], "root": "work/app"})).await;
    assert_eq!((code, problem["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("root")), "{problem}");
}

/// Where each violation with `status` is: (tool, rule, file, line) → its ID.
async fn places(server: &Server, project: &str, status: &str) -> BTreeMap<(String, String, String, u64), String> {
    let (code, list) = server.get(&format!("/v1/projects/{project}/violations?limit=100&status={status}")).await;
    assert_eq!(code, StatusCode::OK, "{list}");
    let text = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    let all = list["data"].as_array().unwrap();
    let found: BTreeMap<_, _> = all
        .iter()
        .map(|v| ((text(v, "tool"), text(v, "rule"), text(v, "file"), v["line"].as_u64().unwrap()), text(v, "id")))
        .collect();
    assert_eq!(found.len(), all.len(), "no two {status} violations at one place");
    found
}

/// testdata/scanners/README.md, "Every finding, v1 → v2": the findings that stayed, with
/// their lines in v1 and v2 (the fixed and the new ones are checked on their own).
const STAYED: &[(&str, &str, &str, u64, u64)] = &[
    ("Bandit", "B404", "app.py", 3, 3),
    ("Bandit", "B105", "app.py", 8, 8),
    ("Bandit", "B602", "app.py", 13, 13),
    ("Bandit", "B101", "shop/handlers.py", 9, 9),
    ("Bandit", "B113", "shop/handlers.py", 14, 15),
    ("Bandit", "B101", "shop/handlers.py", 18, 19),
    ("Bandit", "B403", "shop/storage.py", 4, 4),
    ("Bandit", "B301", "shop/storage.py", 12, 17),
    ("Bandit", "B506", "shop/storage.py", 17, 22),
    ("ruff", "S105", "app.py", 8, 8),
    ("ruff", "S602", "app.py", 13, 13),
    ("ruff", "D103", "shop/handlers.py", 8, 8),
    ("ruff", "S101", "shop/handlers.py", 9, 9),
    ("ruff", "S113", "shop/handlers.py", 14, 15),
    ("ruff", "D103", "shop/handlers.py", 17, 18),
    ("ruff", "S101", "shop/handlers.py", 18, 19),
    ("ruff", "D103", "shop/handlers.py", 22, 23),
    ("ruff", "S301", "shop/storage.py", 12, 17),
    ("ruff", "S506", "shop/storage.py", 17, 22),
];

fn place(tool: &str, rule: &str, file: &str, line: u64) -> (String, String, String, u64) {
    (tool.into(), rule.into(), file.into(), line)
}

/// Every violation that stayed from v1 to v2 is the same violation, at its v2 line.
fn assert_stayed(
    v1: &BTreeMap<(String, String, String, u64), String>,
    v2: &BTreeMap<(String, String, String, u64), String>,
) {
    for &(tool, rule, file, before, after) in STAYED {
        let (old, new) = (v1.get(&place(tool, rule, file, before)), v2.get(&place(tool, rule, file, after)));
        assert!(old.is_some() && old == new, "{tool} {rule} {file}:{before} → {after}: {old:?} {new:?}");
    }
}

/// The README's walk through the fixtures: look-alikes stay distinct, moved findings stay
/// the same violations, a fix resolves exactly the fixed finding (per tool), and a fix
/// undone reopens the same violation, whose history shows it.
#[tokio::test]
async fn look_alikes_moves_fixes_and_regressions_on_real_scanners_logs() {
    let server = Server::start(&[]).await;
    let project = project(&server).await;
    let counts = |done: &Value| {
        let n = |k: &str| done[k].as_u64().unwrap();
        (n("detected"), n("reopened"), n("resolved"), n("open"))
    };

    // 1–2. Ten Bandit results are ten violations; Ruff's twelve, twelve (four D103 in one file).
    assert_eq!(counts(&sarif_scan(&server, &project, "bandit-v1").await), (10, 0, 0, 10));
    assert_eq!(counts(&sarif_scan(&server, &project, "ruff-v1").await), (12, 0, 0, 22));
    let v1 = places(&server, &project, "open").await;
    assert_eq!(v1.keys().filter(|(tool, rule, ..)| tool == "ruff" && rule == "D103").count(), 4);

    // 3. Bandit's v2: B324 fixed, B307 new, four findings moved (and kept).
    assert_eq!(counts(&sarif_scan(&server, &project, "bandit-v2").await), (1, 0, 1, 22));
    // 4. Ruff's v2: S324 and exactly `price`'s D103 fixed, S307 new, six moved.
    assert_eq!(counts(&sarif_scan(&server, &project, "ruff-v2").await), (1, 0, 2, 21));
    let v2 = places(&server, &project, "open").await;
    assert_stayed(&v1, &v2);
    let resolved = places(&server, &project, "resolved").await;
    let fixed = [
        place("Bandit", "B324", "shop/storage.py", 22),
        place("ruff", "D103", "shop/handlers.py", 13),
        place("ruff", "S324", "shop/storage.py", 22),
    ];
    assert_eq!(resolved.keys().cloned().collect::<Vec<_>>(), fixed);
    for fixed in &fixed {
        assert_eq!(resolved[fixed], v1[fixed], "the violation v1 opened: {fixed:?}");
    }
    assert!(
        v2.contains_key(&place("Bandit", "B307", "app.py", 25))
            && v2.contains_key(&place("ruff", "S307", "app.py", 25))
    );

    // 5. v1 again: the fixes undone reopen the very same violations; `eval` goes away.
    assert_eq!(counts(&sarif_scan(&server, &project, "bandit-v1").await), (1, 1, 1, 21));
    assert_eq!(counts(&sarif_scan(&server, &project, "ruff-v1").await), (2, 2, 1, 22));
    assert_eq!(places(&server, &project, "open").await, v1, "every violation as v1 left it");

    let (_, events) = server.get("/v1/events?type=violation.detected&limit=100").await;
    let reopened: Vec<&Value> =
        events["data"].as_array().unwrap().iter().map(|e| &e["data"]).filter(|d| d["reopened"] == true).collect();
    let mut ids: Vec<&str> = reopened.iter().map(|d| d["violationId"].as_str().unwrap()).collect();
    ids.sort();
    let mut expected: Vec<&str> = fixed.iter().map(|f| v1[f].as_str()).collect();
    expected.sort();
    assert_eq!(ids, expected);
    assert!(reopened.iter().all(|d| d["resolvedAt"].is_string()), "{reopened:?}");

    let b324 = &v1[&fixed[0]];
    let (code, violation) = server.get(&format!("/v1/violations/{b324}")).await;
    assert_eq!(code, StatusCode::OK, "{violation}");
    let history: Vec<(&str, Option<&str>)> = violation["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["action"].as_str().unwrap(), c["by"].as_str()))
        .collect();
    assert_eq!(history, [("detected", None), ("resolved", Some("scan")), ("reopened", None)]);
    assert_eq!((violation["status"].as_str(), violation["line"].as_u64()), (Some("open"), Some(22)));
    let (code, _) = server.get("/v1/violations/viol_01HM9Q7D8Z6B0M4X9Q5E3T2V7A").await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

/// One log with both tools' runs does per tool what the tools' own logs do.
#[tokio::test]
async fn a_combined_log_matches_per_tool_as_the_separate_logs_do() {
    let server = Server::start(&[]).await;
    let project = project(&server).await;
    let first = sarif_scan(&server, &project, "combined-v1").await;
    assert_eq!((first["detected"].as_u64(), first["open"].as_u64()), (Some(22), Some(22)), "{first}");
    let v1 = places(&server, &project, "open").await;
    let second = sarif_scan(&server, &project, "combined-v2").await;
    assert_eq!((second["detected"].as_u64(), second["resolved"].as_u64()), (Some(2), Some(3)), "{second}");
    assert_stayed(&v1, &places(&server, &project, "open").await);
}

/// Native findings with the flagged line's text: identical asserts stay two violations,
/// and a changed text is told from a moved one.
#[tokio::test]
async fn native_findings_with_snippets_tell_look_alikes_apart() {
    let server = Server::start(&[]).await;
    let project = project(&server).await;
    let finding = |line: u32, snippet: &str| json!({"rule": "B101", "severity": "low", "file": "a.py", "line": line, "message": "Use of assert", "snippet": snippet});
    let report = |findings: Vec<Value>| serde_json::to_vec(&json!({"findings": findings})).unwrap();
    let tool = json!({"tool": "bandit"});
    let first = report(vec![finding(9, "assert x"), finding(18, "assert y")]);
    let done = scan(&server, &project, tool.clone(), "application/json", first).await;
    assert_eq!(done["detected"], 2, "{done}");
    let before = places(&server, &project, "open").await;
    // `assert x` removed, `assert y` moved up to line 9: y stays open, x is resolved.
    let done = scan(&server, &project, tool, "application/json", report(vec![finding(9, "assert y")])).await;
    assert_eq!((done["detected"].as_u64(), done["resolved"].as_u64()), (Some(0), Some(1)), "{done}");
    let after = places(&server, &project, "open").await;
    assert_eq!(after.values().collect::<Vec<_>>(), [&before[&place("bandit", "B101", "a.py", 18)]]);
}
