//! The dashboard's endpoint form over real HTTP: every setting it offers is stored as
//! typed, the edit page shows each one back, posting that page back untouched changes
//! nothing (the bearer token still reaches a real receiver), and a bad value comes back
//! beside its field with nothing changed.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::{Value, json};

use crate::common::verify::body_hmac;
use crate::common::{Receiver, Server};
use crate::dashboard::{csrf_of, form, page, sign_in};

/// The text of HTML as maud escapes it.
fn unescape(html: &str) -> String {
    html.replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&#39;", "'").replace("&amp;", "&")
}

/// The value of attribute `name` in one tag's text.
fn attr(tag: &str, name: &str) -> Option<String> {
    let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    Some(unescape(tag[at..].split('"').next()?))
}

/// What a browser posts for the form whose action is `action`: each input's value (a
/// checkbox only when checked), each textarea's text and each select's chosen option.
fn fields_of(html: &str, action: &str) -> Vec<(String, String)> {
    let start = html.find(&format!("action=\"{action}\"")).expect("the form");
    let form = &html[start..start + html[start..].find("</form>").expect("its end")];
    let mut out = Vec::new();
    for tag in form.split('<').skip(1) {
        let (head, rest) = tag.split_once('>').unwrap_or((tag, ""));
        let Some(name) = attr(head, "name") else { continue };
        if head.starts_with("input") {
            if attr(head, "type").as_deref() != Some("checkbox") || head.contains(" checked") {
                out.push((name, attr(head, "value").unwrap_or_default()));
            }
        } else if head.starts_with("textarea") {
            out.push((name, unescape(rest)));
        } else if head.starts_with("select") {
            let select = &form[form.find(head).expect("the select")..];
            let chosen = select[..select.find("</select>").expect("its end")]
                .split("<option")
                .skip(1)
                .find(|o| o.split('>').next().is_some_and(|t| t.contains(" selected")))
                .and_then(|o| attr(o, "value"))
                .unwrap_or_default();
            out.push((name, chosen));
        }
    }
    out
}

fn value<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).unwrap_or_else(|| panic!("no field {name}"))
}

fn with(fields: &[(String, String)], changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        fields.iter().filter(|(n, _)| !changes.iter().any(|(c, _)| c == n)).cloned().collect();
    out.extend(changes.iter().map(|(n, v)| (n.to_string(), v.to_string())));
    out
}

/// Fields to change in a posted form.
type Changes<'a> = &'a [(&'a str, &'a str)];

async fn post(server: &Server, token: &str, path: &str, fields: &[(String, String)]) -> reqwest::Response {
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    form(server, token, path, &pairs, "same-origin").await
}

/// The endpoint as the API shows it, less what a read stamps.
async fn stored(server: &Server, id: &str) -> Value {
    server.get(&format!("/v1/webhooks/{id}")).await.1
}

#[tokio::test]
async fn every_advanced_setting_is_stored_shown_back_and_kept_by_an_untouched_save() {
    let server = Server::start(&[("SCANHOOK_ALLOW_PRIVATE_NETWORKS", "true")]).await;
    let receiver = Receiver::start().await;
    let (_, project) = server.post("/v1/projects", json!({"name": "web"})).await;
    let project = project["id"].as_str().expect("project id").to_string();
    let (token, _) = sign_in(&server, &server.key).await;
    let (_, html) = page(&server, &token, "/endpoints/new").await;
    assert!(html.contains("<details class=\"advanced\">"), "closed on a fresh form: {html}");
    let csrf = csrf_of(&html);

    let typed = [
        ("csrf", csrf.as_str()),
        ("url", receiver.url.as_str()),
        ("events", "scan.*, alert.raised"),
        ("description", "Security intake"),
        ("signature", "hmac-sha256"),
        ("signature_header", "X-Acme-Signature"),
        ("signature_prefix", "sha256="),
        ("signature_encoding", "base64"),
        ("bearer_token", "tok_first_0123456789"),
        ("secret", "our_own_signing_secret_42"),
        ("kind", "cloudevents"),
        ("body_json", "javascript"),
        ("cloudevents_mode", "binary"),
        ("cloudevents_source", "/scanner"),
        ("timeout", "7"),
        ("max_in_flight", "4"),
        ("rate_limit", "100"),
        ("rate_limit_burst", "20"),
        ("header_prefix", "X-Acme"),
        ("projects", &project),
        ("min_severity", "high"),
        ("headers", "X-Team: sec\r\nX-Tenant: t-42"),
        ("sensitive_headers", "X-Tenant"),
        ("extra_payload", "{\"team\": \"sec\"}"),
        ("template", "{kind: .type}"),
    ];
    let response = form(&server, &token, "/endpoints", &typed, "same-origin").await;
    assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
    let (_, list) = server.get("/v1/webhooks").await;
    let id = list["data"][0]["id"].as_str().expect("created").to_string();
    let w = stored(&server, &id).await;
    let expected = json!({
        "url": receiver.url, "events": ["scan.*", "alert.raised"], "description": "Security intake",
        "signature": {"scheme": "hmac-sha256", "header": "X-Acme-Signature", "prefix": "sha256=", "encoding": "base64"},
        "bearer_token_set": true, "kind": "cloudevents", "body_json": "javascript",
        "cloudevents": {"mode": "binary", "source": "/scanner"}, "timeout": 7, "header_prefix": "X-Acme",
        "max_in_flight": 4, "rate_limit": 100, "rate_limit_burst": 20, "projects": [project], "min_severity": "high", "headers": {"X-Team": "sec", "X-Tenant": "[redacted]"},
        "sensitive_headers": ["X-Tenant"], "extra_payload": {"team": "sec"}, "template": "{kind: .type}",
    });
    for (field, want) in expected.as_object().unwrap() {
        assert_eq!(&w[field], want, "{field}: {w}");
    }

    // The edit page shows each setting (never the token), its advanced part open.
    let path = format!("/endpoints/{id}");
    let (_, html) = page(&server, &token, &path).await;
    assert!(html.contains("<details class=\"advanced\" open>"), "{html}");
    assert!(!html.contains("tok_first"), "the token is never shown");
    let fields = fields_of(&html, &path);
    // As typed, but for the token and what the API keeps in its own spelling.
    let shown_otherwise = [
        ("bearer_token", ""),
        ("headers", "X-Team: sec\nX-Tenant: [redacted]"),
        ("extra_payload", "{\n  \"team\": \"sec\"\n}"),
    ];
    assert!(!fields.iter().any(|(n, _)| n == "secret"), "a secret is changed by rotating it");
    for (name, typed) in typed.iter().filter(|(name, _)| !matches!(*name, "csrf" | "secret")) {
        let want = shown_otherwise.iter().find(|(n, _)| n == name).map_or(*typed, |(_, shown)| *shown);
        assert_eq!(value(&fields, name), want, "{name}");
    }
    assert!(!fields.iter().any(|(n, _)| n == "remove_bearer_token"), "unchecked");

    // Saved as shown (textareas as browsers send them): nothing changes, not even the time.
    let crlf: Vec<(String, String)> = fields.iter().map(|(n, v)| (n.clone(), v.replace('\n', "\r\n"))).collect();
    let response = post(&server, &token, &path, &crlf).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], path.as_str());
    assert_eq!(stored(&server, &id).await, w, "an untouched save changes nothing");
    let (_, audit) = server.get("/v1/audit-log?action=webhook.updated").await;
    assert_eq!(audit["data"], json!([]), "{audit}");

    // A real delivery still carries the token, the sensitive header's value and the signature.
    let sent = server.post(&format!("/v1/webhooks/{id}/test"), json!({})).await;
    assert_eq!(sent.0, StatusCode::ACCEPTED, "{}", sent.1);
    let got = receiver.wait_for(1, 20).await;
    assert_eq!(got[0].header("authorization"), "Bearer tok_first_0123456789");
    assert_eq!(got[0].header("x-tenant"), "t-42");
    let tag = STANDARD.encode(body_hmac("our_own_signing_secret_42", &got[0].body));
    assert_eq!(got[0].header("x-acme-signature"), format!("sha256={tag}"), "signed with the secret given");
    assert_eq!(got[0].header("ce-source"), "/scanner", "binary mode");

    // One change sends that change only; an empty token keeps the token; "remove" removes it.
    let response = post(&server, &token, &path, &with(&fields, &[("timeout", "12"), ("min_severity", "")])).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let after = stored(&server, &id).await;
    assert_eq!((&after["timeout"], after.get("min_severity")), (&json!(12), None), "{after}");
    assert_eq!(after["bearer_token_set"], true);
    assert_eq!((&after["signature"], &after["headers"]), (&w["signature"], &w["headers"]));
    let (_, html) = page(&server, &token, &path).await;
    let fields = fields_of(&html, &path);
    let response = post(&server, &token, &path, &with(&fields, &[("remove_bearer_token", "true")])).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(stored(&server, &id).await["bearer_token_set"], false);
}

#[tokio::test]
async fn a_bad_value_comes_back_beside_its_field_and_changes_nothing() {
    let server = Server::start(&[]).await;
    let w = server
        .create_webhook(
            json!({"url": "https://example.com/hook", "events": ["*"], "bearer_token": "tok_kept_0123456789"}),
        )
        .await;
    let id = w["id"].as_str().unwrap().to_string();
    let before = stored(&server, &id).await;
    let (token, _) = sign_in(&server, &server.key).await;
    let path = format!("/endpoints/{id}");
    let (_, html) = page(&server, &token, &path).await;
    let fields = fields_of(&html, &path);

    let long = "x".repeat(40);
    let cases: &[(Changes, &str, &str)] = &[
        (&[("timeout", "0")], "timeout", "1 to 30"),
        (&[("timeout", "10000")], "timeout", "1 to 30"),
        (&[("timeout", "soon")], "timeout", "whole number"),
        (&[("max_in_flight", "0")], "max_in_flight", "1 to 1000"),
        (&[("rate_limit", "many")], "rate_limit", "whole number"),
        (&[("rate_limit", ""), ("rate_limit_burst", "5")], "rate_limit_burst", "needs a rate_limit"),
        (&[("header_prefix", "Webhook-Mine")], "header_prefix", "header prefix"),
        (&[("header_prefix", "X Acme")], "header_prefix", "header prefix"),
        (&[("signature", "hmac-sha256"), ("signature_header", "Bad Header")], "signature_header", "header name"),
        (&[("signature", "hmac-sha256"), ("signature_header", "Authorization")], "signature_header", "cannot carry"),
        (&[("signature", "hmac-sha256"), ("signature_prefix", &long)], "signature_prefix", "32"),
        (&[("signature", "bearer"), ("remove_bearer_token", "true")], "bearer_token", "needs a bearer_token"),
        (&[("bearer_token", "has spaces in it")], "bearer_token", "visible ASCII"),
        (&[("kind", "cloudevents"), ("cloudevents_source", "not a uri")], "cloudevents_source", "URI-reference"),
        (&[("projects", "proj_01HM9Q8E9A7C1N5Y0R6F4A3W8B")], "projects", "no project"),
        (&[("projects", "web")], "projects", "not a valid project ID"),
        (&[("min_severity", "severe")], "min_severity", "severity"),
        (&[("kind", "xml")], "kind", "xml"),
        (&[("events", "scan.*, Not A Type")], "events", ""),
        (&[("headers", "no colon here")], "headers", "line 1"),
        (&[("headers", "X-A: 1"), ("sensitive_headers", "X-B")], "sensitive_headers", "X-B"),
        (&[("extra_payload", "[1, 2]")], "extra_payload", "object"),
        (&[("template", "{unclosed")], "template", ""),
    ];
    for (changes, field, says) in cases {
        let response = post(&server, &token, &path, &with(&fields, changes)).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{changes:?}");
        let html = response.text().await.unwrap();
        let error = html
            .split(&format!("id=\"{field}-error\""))
            .nth(1)
            .and_then(|r| r.split("</p>").next())
            .unwrap_or_else(|| panic!("{changes:?}: no error beside {field}: {html}"));
        assert!(error.contains(says), "{changes:?}: {error}");
        assert!(!html.contains("class=\"banner error\""), "{changes:?}: beside the field, not above the form");
        assert!(html.contains(&format!("id=\"{field}\"")), "{changes:?}");
        assert_eq!(stored(&server, &id).await, before, "{changes:?} changed nothing");
    }
    // An error in the advanced part opens it.
    let response = post(&server, &token, &path, &with(&fields, &[("timeout", "0")])).await;
    assert!(response.text().await.unwrap().contains("<details class=\"advanced\" open>"));

    // On create too: nothing is created.
    let (_, html) = page(&server, &token, "/endpoints/new").await;
    let new = with(&fields_of(&html, "/endpoints"), &[("url", "https://example.com/2"), ("timeout", "10000")]);
    let response = post(&server, &token, "/endpoints", &new).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains("id=\"timeout-error\""));
    assert_eq!(server.get("/v1/webhooks").await.1["data"].as_array().unwrap().len(), 1);
}
