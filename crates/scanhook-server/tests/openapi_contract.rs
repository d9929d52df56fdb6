//! The OpenAPI document states the contract the server enforces, for every route and body
//! type, so a new route or type cannot forget part of it: request bodies are closed
//! objects at every depth, errors are problem+json, authenticated routes list 401.

use serde_json::Value;

fn doc() -> &'static Value {
    scanhook_server::openapi::api_doc()
}

fn resolve(schema: &Value) -> &Value {
    match schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
        Some(name) => &doc()["components"]["schemas"][name],
        None => schema,
    }
}

/// Every object with named properties under `schema` must refuse other properties; maps
/// (`additionalProperties` a schema, no `properties`) and free-form objects (`extra_payload`,
/// event `data`) are open on purpose.
fn check_closed(schema: &Value, at: &str, seen: &mut Vec<String>, open: &mut Vec<String>) {
    if let Some(name) = schema["$ref"].as_str() {
        if seen.iter().any(|s| s == name) {
            return;
        }
        seen.push(name.to_string());
    }
    let schema = resolve(schema);
    if schema.get("properties").is_some() && schema["additionalProperties"] != Value::Bool(false) {
        open.push(at.to_string());
    }
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        check_closed(property, &format!("{at}.{name}"), seen, open);
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        for (i, variant) in schema[key].as_array().into_iter().flatten().enumerate() {
            check_closed(variant, &format!("{at}/{key}[{i}]"), seen, open);
        }
    }
    if schema.get("items").is_some() {
        check_closed(&schema["items"], &format!("{at}[]"), seen, open);
    }
    if schema["additionalProperties"].is_object() {
        check_closed(&schema["additionalProperties"], &format!("{at}{{}}"), seen, open);
    }
}

fn operations() -> Vec<(String, &'static Value)> {
    let mut out = Vec::new();
    for (path, item) in doc()["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            out.push((format!("{} {path}", method.to_uppercase()), op));
        }
    }
    out
}

#[test]
fn every_request_body_refuses_unknown_fields_at_every_depth() {
    let mut open = Vec::new();
    let mut bodies = 0;
    for (name, op) in operations() {
        for (content_type, content) in op["requestBody"]["content"].as_object().into_iter().flatten() {
            bodies += 1;
            check_closed(&content["schema"], &format!("{name} ({content_type})"), &mut Vec::new(), &mut open);
        }
    }
    assert!(bodies > 10, "found only {bodies} request bodies");
    assert!(open.is_empty(), "request body objects that do not say additionalProperties: false: {open:#?}");
}

#[test]
fn every_error_is_problem_json_and_authenticated_routes_list_401() {
    for (name, op) in operations() {
        let responses = op["responses"].as_object().expect("responses");
        for (status, response) in responses {
            if status.as_str() >= "400" {
                let content: Vec<&String> = response["content"].as_object().expect("content").keys().collect();
                assert_eq!(content, ["application/problem+json"], "{name} {status}");
            }
        }
        let public = op["security"].as_array().is_some_and(|s| s.iter().all(|r| r == &serde_json::json!({})));
        assert_eq!(responses.contains_key("401"), !public, "{name}: 401 listed iff authenticated");
        for status in ["414", "422"] {
            assert!(responses.contains_key(status), "{name} lacks {status} (the query contract applies to it)");
        }
        if op.get("requestBody").is_some() {
            for status in ["400", "413"] {
                assert!(responses.contains_key(status), "{name} has a body but lacks {status}");
            }
        }
    }
    let bearer = &doc()["components"]["securitySchemes"]["bearer"];
    assert_eq!(bearer["scheme"], "bearer", "{bearer}");
}
