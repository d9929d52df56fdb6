//! Tests of the SARIF import against hand-written Semgrep and CodeQL logs.
use serde_json::{Value, json};

use super::*;

const SEMGREP: &[u8] = include_bytes!("../../../../testdata/sarif/semgrep.sarif");
const CODEQL: &[u8] = include_bytes!("../../../../testdata/sarif/codeql.sarif");

/// A one-run log whose results are `results`, each a minimal result with `changes` applied
/// (a `null` removes the field).
fn log(rules: Value, results: &[Value]) -> Vec<u8> {
    let results: Vec<Value> = results
        .iter()
        .map(|changes| {
            let place = json!({"artifactLocation": {"uri": "src/a.py"}, "region": {"startLine": 3}});
            let mut result = json!({
                "ruleId": "r1",
                "message": {"text": "m"},
                "locations": [{"physicalLocation": place}],
            });
            if let (Value::Object(result), Some(changes)) = (&mut result, changes.as_object()) {
                for (key, value) in changes {
                    if value.is_null() {
                        result.remove(key);
                    } else {
                        result.insert(key.clone(), value.clone());
                    }
                }
            }
            result
        })
        .collect();
    json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t", "rules": rules}}, "results": results}]})
        .to_string()
        .into_bytes()
}

fn one(rules: Value, changes: Value) -> Result<Finding, Invalid> {
    let mut findings = findings_from_sarif(&log(rules, &[changes]), None)?.findings;
    assert_eq!(findings.len(), 1);
    Ok(findings.remove(0))
}

fn error(raw: &[u8]) -> String {
    findings_from_sarif(raw, None).unwrap_err().0
}

#[test]
fn semgrep_sample_maps_levels_fixes_and_suppressions() {
    let findings = findings_from_sarif(SEMGREP, None).unwrap().findings;
    assert_eq!(findings.len(), 4, "the suppressed result is left out");
    assert!(findings.iter().all(|f| f.file != "app/reports.py"));

    let sql = &findings[0];
    assert_eq!(sql.rule, "python.flask.security.sql-string-format");
    assert_eq!((sql.severity, sql.file.as_str(), sql.line), (Severity::High, "app/db.py", 42));
    assert!(sql.message.starts_with("User input from 'request.args' flows into a SQL string"));
    assert_eq!(
        sql.suggestion.as_deref(),
        Some("Pass the value as a query parameter instead of formatting it into the SQL string.")
    );
    let print = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";
    assert_eq!(sql.fingerprint, sha256_hex(format!("{}\napp/db.py\n{print}", sql.rule).as_bytes()));

    let token = &findings[1];
    assert_eq!((token.severity, token.file.as_str(), token.line), (Severity::Medium, "config/settings.py", 12));
    assert!(token.suggestion.as_deref().unwrap().starts_with("Move the token to a secret store"), "rule help");

    // No level on the result: the rule's default (note) applies. No fingerprints: derived.
    let redirect = &findings[2];
    assert_eq!(redirect.severity, Severity::Low);
    assert_eq!(redirect.fingerprint, finding::fingerprint(&redirect.rule, &redirect.file, &redirect.message));

    let encoding = &findings[3];
    assert_eq!((encoding.severity, encoding.line), (Severity::Low, 7));
    assert_eq!(encoding.suggestion.as_deref(), Some("Add encoding=\"utf-8\" to the open() call."));
}

#[test]
fn codeql_sample_maps_security_severity_and_extensions() {
    let findings = findings_from_sarif(CODEQL, None).unwrap().findings;
    let summary: Vec<(&str, Severity)> = findings.iter().map(|f| (f.rule.as_str(), f.severity)).collect();
    assert_eq!(
        summary,
        [
            ("js/sql-injection", Severity::High),             // 8.8
            ("js/code-injection", Severity::Critical),        // 9.3, over level error
            ("js/clear-text-logging", Severity::Medium),      // 4.0, over level warning
            ("js/unused-local-variable", Severity::Low),      // no score: level note
            ("acme/js/hardcoded-jwt-secret", Severity::High), // 7.0, from the extension's rule
            ("js/sql-injection", Severity::High),
        ]
    );
    let first = &findings[0];
    assert_eq!((first.file.as_str(), first.line), ("src/routes/users.js", 27));
    assert_eq!(first.message, "This query string depends on a [user-provided value](1).");
    assert!(first.suggestion.as_deref().unwrap().starts_with("# Database query built from user-controlled"));
    assert_eq!(findings[2].suggestion, None);
    let print = sha256_hex(b"js/sql-injection\nsrc/routes/users.js\n8f26d6fe2a3dafd8:1");
    assert_eq!(first.fingerprint, print, "primaryLocationLineHash sorts first");
    assert_ne!(findings[0].fingerprint, findings[5].fingerprint);
}

#[test]
fn level_maps_when_there_is_no_score() {
    let no_rules = json!([]);
    for (level, expected) in
        [("error", Severity::High), ("warning", Severity::Medium), ("note", Severity::Low), ("none", Severity::Info)]
    {
        assert_eq!(one(no_rules.clone(), json!({"level": level})).unwrap().severity, expected);
    }
    assert_eq!(one(no_rules.clone(), json!({})).unwrap().severity, Severity::Medium, "default warning");
    let err = one(no_rules, json!({"level": "fatal"})).unwrap_err().0;
    assert_eq!(err, "runs[0].results[0]: level 'fatal' is not a SARIF level (error, warning, note or none)");
}

#[test]
fn security_severity_thresholds() {
    let rule = |score: Value| json!([{"id": "r1", "properties": {"security-severity": score}}]);
    for (score, expected) in [
        (json!(9.0), Severity::Critical),
        (json!("10"), Severity::Critical),
        (json!(7), Severity::High),
        (json!("6.9"), Severity::Medium),
        (json!(4.0), Severity::Medium),
        (json!("3.9"), Severity::Low),
        (json!(0.1), Severity::Low),
        (json!("0.0"), Severity::Info),
    ] {
        let found = one(rule(score.clone()), json!({"level": "note"})).unwrap().severity;
        assert_eq!(found, expected, "{score}");
    }
    assert_eq!(one(rule(json!("high")), json!({"level": "error"})).unwrap().severity, Severity::High, "unparsable");
}

#[test]
fn rule_found_by_index_with_message_template_and_artifact_index() {
    let rules = json!([
        {"id": "other"},
        {"id": "py/unused-import", "defaultConfiguration": {"level": "note"},
         "messageStrings": {"default": {"text": "Import of '{0}' is not used ({1} times)."}},
         "help": {"text": "Remove the import."}},
    ]);
    let raw = json!({
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {"name": "t", "rules": rules},
                "extensions": [{
                    "name": "pack",
                    "rules": [{"id": "pack/q", "properties": {"security-severity": "9.8"}}],
                }],
            },
            "artifacts": [{"location": {"uri": "lib/x.py"}}],
            "results": [
                {"ruleIndex": 1, "message": {"id": "default", "arguments": ["os", "2"]},
                 "locations": [{"physicalLocation": {"artifactLocation": {"index": 0}}}]},
                {"rule": {"index": 0, "toolComponent": {"name": "pack"}}, "message": {"text": "x"},
                 "locations": [{"physicalLocation": {"artifactLocation": {"uri": "file:///srv/app/y.py"}}}]},
            ],
        }],
    });
    let findings = findings_from_sarif(raw.to_string().as_bytes(), None).unwrap().findings;
    let unused = &findings[0];
    assert_eq!(unused.rule, "py/unused-import");
    assert_eq!(unused.message, "Import of 'os' is not used (2 times).");
    assert_eq!((unused.file.as_str(), unused.line, unused.severity), ("lib/x.py", 1, Severity::Low));
    assert_eq!(unused.suggestion.as_deref(), Some("Remove the import."));
    let pack = &findings[1];
    assert_eq!(
        (pack.rule.as_str(), pack.severity, pack.file.as_str()),
        ("pack/q", Severity::Critical, "y.py"),
        "the log's only absolute path is relative to its own directory"
    );
    assert_eq!(pack.uri.as_deref(), Some("file:///srv/app/y.py"));
    assert_eq!(unused.uri, None, "kept only where it differs");
}

#[test]
fn files_are_relative_to_the_projects_root_however_the_log_names_them() {
    let result = |uri: &str, base: Option<&str>| {
        let mut location = json!({"uri": uri});
        if let Some(base) = base {
            location["uriBaseId"] = json!(base);
        }
        json!({"ruleId": "r", "message": {"text": "m"}, "locations": [{"physicalLocation": {"artifactLocation": location}}]})
    };
    let files = |run: Value, root: Option<&str>| -> Vec<String> {
        let raw = json!({"version": "2.1.0", "runs": [run]}).to_string();
        findings_from_sarif(raw.as_bytes(), root).unwrap().findings.into_iter().map(|f| f.file).collect()
    };
    // Relative to bases the log describes, up to the undescribed %SRCROOT%.
    let bases = json!({"%SRCROOT%": {}, "SRC": {"uri": "src/", "uriBaseId": "%SRCROOT%"},
                       "LIB": {"uri": "lib", "uriBaseId": "SRC"}, "LOOP": {"uri": "x/", "uriBaseId": "LOOP"}});
    let run = json!({"tool": {"driver": {"name": "t"}}, "originalUriBaseIds": bases, "results": [
        result("a.py", Some("%SRCROOT%")), result("b.py", Some("SRC")), result("c.py", Some("LIB")),
        result("./d%20e.py", None), result("win\\f.py", None), result("g.py", Some("LOOP")),
    ]});
    let found = files(run, None);
    assert_eq!(&found[..5], ["a.py", "src/b.py", "src/lib/c.py", "d e.py", "win/f.py"]);
    assert!(found[5].ends_with("x/x/g.py"), "a cycle stops: {}", found[5]);
    // Absolute URIs: relative to the root the scan gave, else to %SRCROOT% where SARIF
    // says it is, else to the log's common directory.
    let run = |with_root: bool| {
        let mut run = json!({"tool": {"driver": {"name": "ruff"}}, "results": [
            result("file:///tmp/ci-1/work/app/shop/handlers.py", None),
            result("file:///tmp/ci-1/work/app/shop/storage.py", None),
        ]});
        if with_root {
            run["originalUriBaseIds"] = json!({"%SRCROOT%": {"uri": "file:///tmp/ci-1/work/app/"}});
        }
        run
    };
    assert_eq!(files(run(false), Some("/tmp/ci-1/work/app/")), ["shop/handlers.py", "shop/storage.py"]);
    assert_eq!(files(run(true), None), ["shop/handlers.py", "shop/storage.py"]);
    assert_eq!(files(run(false), None), ["handlers.py", "storage.py"], "only what the log itself says");
    assert_eq!(
        files(run(true), Some("/elsewhere/")),
        ["/tmp/ci-1/work/app/shop/handlers.py", "/tmp/ci-1/work/app/shop/storage.py"]
    );
}

/// Found by fuzzing: a rule's template of many `{0}`, filled with a long argument in each
/// of many results, made gigabytes of messages out of a small log.
#[test]
fn text_shared_by_reference_cannot_multiply_memory() {
    let template = "{0}".repeat(1_000);
    let rules =
        json!([{"id": "r1", "messageStrings": {"t": {"text": template}}, "help": {"text": "h".repeat(100_000)}}]);
    let result = json!({"message": {"id": "t", "arguments": ["a".repeat(1_000)]}});
    let findings = findings_from_sarif(&log(rules, &vec![result; 50]), None).unwrap().findings;
    assert_eq!(findings.len(), 50);
    for f in &findings {
        assert!(f.message.len() <= MAX_MESSAGE + '…'.len_utf8(), "{}", f.message.len());
        assert!(f.message.starts_with("aaa") && f.message.ends_with('…'));
        assert!(f.suggestion.as_ref().unwrap().len() <= MAX_MESSAGE + '…'.len_utf8());
    }
    assert_eq!(fill_placeholders("é{0}", &["é".repeat(MAX_MESSAGE).into()]).len(), MAX_MESSAGE + '…'.len_utf8());

    let long_id = json!([{"id": "r".repeat(MAX_NAME + 1)}]);
    let raw = log(long_id, &[json!({"ruleId": null, "ruleIndex": 0})]);
    assert!(error(&raw).contains("rule ID is longer than"), "{}", error(&raw));
}

#[test]
fn message_id_falls_back_to_short_description() {
    let rules = json!([{"id": "r1", "shortDescription": {"text": "Short"}}]);
    assert_eq!(one(rules, json!({"message": {"id": "missing"}})).unwrap().message, "Short");
    assert_eq!(fill_placeholders("{0} in {x} and {{ {5}", &["a".into()]), "a in {x} and {{ {5}");
}

#[test]
fn non_failures_and_accepted_suppressions_are_skipped() {
    let results = [
        json!({"kind": "pass"}),
        json!({"kind": "notApplicable", "locations": null}),
        json!({"suppressions": [{"kind": "external", "status": "accepted"}]}),
        json!({"suppressions": [{"kind": "inSource"}]}),
        json!({"baselineState": "absent"}),
        json!({
            "kind": "fail",
            "message": {"text": "kept: under review"},
            "suppressions": [{"kind": "external", "status": "underReview"}],
        }),
        json!({
            "message": {"text": "kept: rejected"},
            "suppressions": [{"kind": "external", "status": "rejected"}],
        }),
    ];
    let findings = findings_from_sarif(&log(json!([]), &results), None).unwrap().findings;
    let messages: Vec<&str> = findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(messages, ["kept: under review", "kept: rejected"]);
}

#[test]
fn fingerprints_survive_line_moves() {
    let at = |line: u32, changes: Value| {
        let mut changes = changes;
        changes["locations"] =
            json!([{"physicalLocation": {"artifactLocation": {"uri": "a.js"}, "region": {"startLine": line}}}]);
        one(json!([]), changes).unwrap().fingerprint
    };
    assert_eq!(at(3, json!({})), at(40, json!({})));
    let scanner = json!({"partialFingerprints": {"primaryLocationLineHash": "abc:1"}});
    assert_eq!(at(3, scanner.clone()), at(40, scanner.clone()));
    assert_ne!(at(3, scanner), at(3, json!({})));
    let other_rule = json!({"ruleId": "r2", "partialFingerprints": {"primaryLocationLineHash": "abc:1"}});
    assert_ne!(at(3, other_rule), at(3, json!({"partialFingerprints": {"primaryLocationLineHash": "abc:1"}})));
}

#[test]
fn malformed_logs_say_what_is_wrong() {
    assert!(error(b"<xml/>").starts_with("SARIF log is not valid JSON"));
    assert_eq!(error(b"[]"), "SARIF log must be a JSON object, not an array");
    assert_eq!(error(br#"{"runs": []}"#), "SARIF log has no version (expected '2.1.0')");
    assert_eq!(error(br#"{"version": "2.0.0", "runs": []}"#), "SARIF version '2.0.0' is not supported: only 2.1.0 is");
    assert_eq!(error(br#"{"version": "2.1.0"}"#), "SARIF log has no runs");
    assert_eq!(error(br#"{"version": "2.1.0", "runs": {}}"#), "SARIF runs must be an array, not an object");
    assert!(error(br#"{"version": "2.1.0", "runs": [{}]}"#).starts_with("runs[0]: missing field `tool`"));
    assert!(findings_from_sarif(br#"{"version": "2.1.0", "runs": []}"#, None).unwrap().findings.is_empty());

    let second_without_location = log(json!([]), &[json!({}), json!({"locations": []})]);
    assert_eq!(error(&second_without_location), "runs[0].results[1] has no location");
    let no_uri = log(json!([]), &[json!({"locations": [{"physicalLocation": {"region": {"startLine": 1}}}]})]);
    assert_eq!(error(&no_uri), "runs[0].results[0].locations[0].physicalLocation has no artifactLocation.uri");
    assert_eq!(
        error(&log(json!([]), &[json!({"ruleId": null})])),
        "runs[0].results[0] has no rule (ruleId, rule.id or ruleIndex)"
    );
    assert_eq!(error(&log(json!([]), &[json!({"message": {"text": " "}})])), "runs[0].results[0] has no message text");
    assert!(
        error(&log(json!([]), &[json!({"message": null})])).starts_with("runs[0].results[0]: missing field `message`")
    );
}

#[test]
fn bulk_in_unread_fields_is_skipped_and_lists_are_bounded() {
    let long = format!(r#"{{"version": "{}", "runs": []}}"#, "9".repeat(100_000));
    let e = error(long.as_bytes());
    assert!(e.starts_with("SARIF version '999") && e.len() < 200, "{}", &e[..200.min(e.len())]);
    assert_eq!(error(br#"{"version": [1, 2], "runs": []}"#), "SARIF version must be a string, not an array");

    let padding = json!({"bulk": vec![json!({"a": [1, "x", {}]}); 1000], "security-severity": 9.5});
    let rules = json!([{"id": "r1", "properties": padding, "fullDescription": {"text": "unused"}}]);
    let found = one(
        rules,
        json!({"properties": {"bulk": vec!["x"; 1000]}, "locations": [
            {"physicalLocation": {"artifactLocation": {"uri": "first.py"}}},
            {"physicalLocation": {"artifactLocation": {"uri": "second.py"}}},
        ]}),
    )
    .unwrap();
    assert_eq!((found.severity, found.file.as_str()), (Severity::Critical, "first.py"));

    let arguments = vec!["a"; MAX_ARGUMENTS + 1];
    let e = error(&log(json!([]), &[json!({"message": {"text": "{0}", "arguments": arguments}})]));
    assert!(e.starts_with("runs[0].results[0]: more than 1000 items"), "{e}");
    let long_help = json!([{"id": "r1", "help": {"text": "h".repeat(MAX_MESSAGE * 2)}}]);
    assert_eq!(one(long_help, json!({})).unwrap().suggestion.map(|s| s.len()), Some(MAX_MESSAGE + '…'.len_utf8()));
}

#[test]
fn each_run_is_an_analysis_of_its_tool_and_category_and_its_findings_carry_it() {
    let result = json!({"ruleId": "B602", "message": {"text": "shell"},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": "app.py"}, "region": {"startLine": 3}}}]});
    let raw = json!({"version": "2.1.0", "runs": [
        {"tool": {"driver": {"name": "Bandit"}}, "results": [result]},
        {"tool": {"driver": {"name": "ruff"}}, "automationDetails": {"id": "ci/lint/2026-11-28"}, "results": []},
        {"tool": {"driver": {"name": "semgrep"}}, "automationDetails": {"id": "run-7"}, "results": [result, result]},
        // Its tool failed before producing results: it looked at nothing.
        {"tool": {"driver": {"name": "crashed"}}},
        {"tool": {"driver": {"name": "Bandit"}}, "results": [result]},
    ]});
    let report = findings_from_sarif(raw.to_string().as_bytes(), None).unwrap();
    let analysis = |tool: &str, category: &str| Analysis { tool: tool.into(), category: category.into() };
    assert_eq!(report.analyses, vec![analysis("Bandit", ""), analysis("ruff", "ci/lint"), analysis("semgrep", "")]);
    let tools: Vec<&str> = report.findings.iter().map(|f| f.analysis.tool.as_str()).collect();
    assert_eq!(tools, ["Bandit", "semgrep", "semgrep", "Bandit"]);

    let long = "x".repeat(Analysis::MAX_NAME + 1);
    let raw = json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": long}}, "results": []}]});
    assert_eq!(error(raw.to_string().as_bytes()), "runs[0].tool.driver.name is longer than 200 characters");
}
