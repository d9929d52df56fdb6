//! The dashboard and the credentials behind it, over real HTTP: sessions and their cookie,
//! CSRF and cross-site refusal, security headers, portal links used once, and the API
//! enforcing read-only and event-type limits on a session's calls.

use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode, redirect};
use serde_json::{Value, json};

use crate::common::Server;

/// A client that shows redirects instead of following them.
pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(redirect::Policy::none()).build().expect("client")
}

/// The session token from a `Set-Cookie`, and the whole header.
pub fn session_cookie(response: &reqwest::Response) -> (String, String) {
    let header = response.headers().get(SET_COOKIE).expect("Set-Cookie").to_str().expect("ascii").to_string();
    let token = header.strip_prefix("scanhook_session=").and_then(|r| r.split(';').next()).expect("the cookie");
    (token.to_string(), header)
}

pub(crate) async fn sign_in(server: &Server, key: &str) -> (String, String) {
    let response = browser().post(server.url("/sign-in")).form(&[("api_key", key)]).send().await.expect("sign in");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/endpoints");
    session_cookie(&response)
}

/// A page as the signed-in browser gets it: status and HTML.
pub(crate) async fn page(server: &Server, token: &str, path: &str) -> (StatusCode, String) {
    let response = browser()
        .get(server.url(path))
        .header("cookie", format!("scanhook_session={token}"))
        .send()
        .await
        .expect("page");
    (response.status(), response.text().await.expect("html"))
}

/// The CSRF token of the session, as its pages carry it.
pub(crate) fn csrf_of(html: &str) -> String {
    let at = html.find(r#"name="csrf" value=""#).expect("a csrf field") + r#"name="csrf" value=""#.len();
    html[at..].split('"').next().expect("value").to_string()
}

pub(crate) async fn form(
    server: &Server,
    token: &str,
    path: &str,
    fields: &[(&str, &str)],
    site: &str,
) -> reqwest::Response {
    browser()
        .post(server.url(path))
        .header("cookie", format!("scanhook_session={token}"))
        .header("sec-fetch-site", site)
        .form(fields)
        .send()
        .await
        .expect("form")
}

/// An API call made with a session's credential.
pub(crate) async fn as_session(
    server: &Server,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request =
        server.client().request(method, server.url(path)).header("authorization", format!("Session {token}"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub async fn redeem(url: &str) -> reqwest::Response {
    browser().post(url).header("sec-fetch-site", "same-origin").send().await.expect("redeem")
}

pub(crate) async fn portal_session(server: &Server, key: &str, body: Value) -> String {
    let (status, link) = server.call(Method::POST, "/v1/portal-links", Some(body), Some(key)).await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    let response = redeem(link["url"].as_str().expect("url")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    session_cookie(&response).0
}

#[tokio::test]
async fn a_session_lives_in_a_strict_cookie_without_the_key_and_sign_out_ends_it() {
    let server = Server::start(&[]).await;
    let (token, cookie) = sign_in(&server, &server.key).await;
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    assert!(!cookie.contains(&server.key), "{cookie}");

    let response = browser()
        .get(server.url("/endpoints"))
        .header("cookie", format!("scanhook_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let h = response.headers();
    let csp = h[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    let html = response.text().await.unwrap();
    assert!(html.contains("No endpoints yet"), "{html}");
    assert!(!html.contains("<script>"), "no inline script");

    // The session is a credential of the API too, until sign-out.
    assert_eq!(as_session(&server, &token, Method::GET, "/v1/webhooks", None).await.0, StatusCode::OK);
    let csrf = csrf_of(&html);
    assert_eq!(form(&server, &token, "/sign-out", &[], "same-origin").await.status(), StatusCode::FORBIDDEN);
    let out = form(&server, &token, "/sign-out", &[("csrf", &csrf)], "same-origin").await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(out.headers()[SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
    let (status, _) = page(&server, &token, "/endpoints").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "signed out: back to sign-in");
    assert_eq!(as_session(&server, &token, Method::GET, "/v1/webhooks", None).await.0, StatusCode::UNAUTHORIZED);

    // A wrong key opens nothing; a page without a session redirects.
    let wrong = browser().post(server.url("/sign-in")).form(&[("api_key", "shk_nobody_has_this_key")]).send().await;
    assert_eq!(wrong.unwrap().status(), StatusCode::UNAUTHORIZED);
    let (status, _) = page(&server, "shs_not_a_session_token_at_all", "/endpoints").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_cookie_is_secure_when_the_deployment_is_https_and_the_brand_is_checked() {
    let mut server = Server::start(&[("SCANHOOK_PUBLIC_URL", "https://hooks.example.com")]).await;
    let (_, cookie) = sign_in(&server, &server.key).await;
    assert!(cookie.contains("; Secure"), "{cookie}");
    server.kill();
    let log = server.start_fails_with(&[("SCANHOOK_BRAND_COLOR", "red")]);
    assert!(log.contains("SCANHOOK_BRAND_COLOR"), "{log}");
}

#[tokio::test]
async fn a_browser_at_an_address_that_is_no_page_gets_a_page_and_the_api_stays_json() {
    let server = Server::start(&[]).await;
    let get = |path: &str, accept: &str| browser().get(server.url(path)).header("accept", accept.to_string()).send();
    let page = get("/endpoint", "text/html,application/xhtml+xml").await.unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(page.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap().contains("default-src 'none'"));
    assert!(page.text().await.unwrap().contains("There is no page at this address."));
    for (path, accept) in [("/endpoint", "application/json"), ("/v1/nothing", "text/html")] {
        let answer = get(path, accept).await.unwrap();
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(answer.headers()["content-type"], "application/problem+json", "{path} as {accept}");
    }
    let icon = get("/assets/icon.svg", "image/*").await.unwrap();
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");
    assert!(icon.text().await.unwrap().contains("<svg"));
}

#[tokio::test]
async fn forms_without_the_csrf_token_or_from_another_site_change_nothing() {
    let server = Server::start(&[("SCANHOOK_ALLOW_PRIVATE_NETWORKS", "true")]).await;
    let (token, _) = sign_in(&server, &server.key).await;
    let (_, html) = page(&server, &token, "/endpoints/new").await;
    let csrf = csrf_of(&html);
    let url = ("url", "http://127.0.0.1:9/hook");
    let other = "0".repeat(64);
    for (token_given, site) in [("", "same-origin"), (other.as_str(), "same-origin"), (csrf.as_str(), "cross-site")] {
        let fields = [url, ("events", "*"), ("csrf", token_given)];
        let status = form(&server, &token, "/endpoints", &fields, site).await.status();
        assert_eq!(status, StatusCode::FORBIDDEN, "{token_given:?} from {site}");
    }
    assert_eq!(server.get("/v1/webhooks").await.1["data"], json!([]), "nothing was created");

    // The right token from this site works, and the API's refusals come back beside the field.
    let bad = [("url", "ftp://x"), ("events", "*"), ("csrf", csrf.as_str())];
    let response = form(&server, &token, "/endpoints", &bad, "same-origin").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains(r#"id="url-error""#));
    let response = form(&server, &token, "/endpoints", &[url, ("events", "*"), ("csrf", &csrf)], "same-origin").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let html = response.text().await.unwrap();
    assert!(html.contains("whsec_"), "the secret is shown once");
    assert_eq!(server.get("/v1/webhooks").await.1["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_portal_link_signs_in_once_for_its_account_only() {
    let server = Server::start(&[]).await;
    let (status, account) = server.post("/v1/accounts", json!({"name": "Tenant"})).await;
    assert_eq!(status, StatusCode::CREATED, "{account}");
    let tenant_key = account["api_key"]["key"].as_str().unwrap().to_string();
    server.create_webhook(json!({"url": "https://admin.example.com/hook", "events": ["*"]})).await;

    let (status, link) = server.call(Method::POST, "/v1/portal-links", None, Some(&tenant_key)).await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    let url = link["url"].as_str().unwrap();
    assert!(url.starts_with(&server.url("/portal/shp_")), "{url}");
    let expires: chrono::DateTime<chrono::Utc> = link["expires_at"].as_str().unwrap().parse().unwrap();
    let left = expires - chrono::Utc::now();
    assert!(left > chrono::Duration::minutes(9) && left <= chrono::Duration::minutes(10), "{left}");

    let (_, audit) =
        server.call(Method::GET, "/v1/audit-log?action=portal_link.created", None, Some(&tenant_key)).await;
    assert_eq!(audit["data"][0]["target_id"], account["id"], "{audit}");
    assert_eq!(audit["data"][0]["changes"]["read_only"], false, "{audit}");

    // Opening it only asks; posting uses it, once.
    assert_eq!(browser().get(url).send().await.unwrap().status(), StatusCode::OK);
    let first = redeem(url).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let (token, _) = session_cookie(&first);
    assert_eq!(redeem(url).await.status(), StatusCode::GONE);
    let (_, list) = as_session(&server, &token, Method::GET, "/v1/webhooks", None).await;
    assert_eq!(list["data"], json!([]), "the admin's endpoint is not the tenant's: {list}");
    let (status, _) = as_session(&server, &token, Method::POST, "/v1/accounts", Some(json!({"name": "x"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = as_session(&server, &token, Method::POST, "/v1/portal-links", Some(json!({}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a session cannot mint its successor");

    // Bounds and who may name an account.
    for bad in [json!({"expires_in": 30}), json!({"expires_in": 86401}), json!({"event_types": ["NOT A TYPE"]})] {
        let (status, body) = server.post("/v1/portal-links", bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert!(body["field"] == "expires_in" || body["field"] == "event_types", "{body}");
    }
    let admin_account = json!({"account_id": account["id"]});
    let (status, _) =
        server.call(Method::POST, "/v1/portal-links", Some(admin_account.clone()), Some(&tenant_key)).await;
    assert_eq!(status, StatusCode::CREATED, "its own account by name");
    let (status, body) = server.post("/v1/portal-links", json!({"account_id": "acc_01KABCDEFGHJKMNPQRSTVWXYZ0"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = server.post("/v1/portal-links", admin_account).await;
    assert_eq!(status, StatusCode::CREATED, "the admin names any account: {body}");
}

#[tokio::test]
async fn the_api_refuses_every_change_of_a_read_only_session() {
    let server = Server::start(&[]).await;
    let webhook = server.create_webhook(json!({"url": "https://example.com/hook", "events": ["*"]})).await;
    let path = format!("/v1/webhooks/{}", webhook["id"].as_str().unwrap());
    let token = portal_session(&server, &server.key, json!({"read_only": true})).await;
    assert_eq!(as_session(&server, &token, Method::GET, &path, None).await.0, StatusCode::OK);
    let changes = [
        (Method::POST, "/v1/webhooks".to_string(), Some(json!({"url": "https://example.com/2", "events": ["*"]}))),
        (Method::PATCH, path.clone(), Some(json!({"active": false}))),
        (Method::POST, format!("{path}/test"), None),
        (Method::POST, format!("{path}/rotate-secret"), None),
        (Method::DELETE, path.clone(), None),
        (Method::POST, "/v1/events".to_string(), Some(json!({"type": "scan.completed"}))),
    ];
    for (method, uri, body) in changes {
        let (status, answer) = as_session(&server, &token, method.clone(), &uri, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {uri}: {answer}");
    }
    assert_eq!(server.get(&path).await.1["active"], true);
    // And the dashboard shows no form that could try.
    let (_, html) = page(&server, &token, &format!("/endpoints/{}", webhook["id"].as_str().unwrap())).await;
    assert!(html.contains("Read-only") && !html.contains("Send test event"), "{html}");
}

#[tokio::test]
async fn an_event_limited_session_sees_and_subscribes_only_within_its_types() {
    let server = Server::start(&[]).await;
    let all = server.create_webhook(json!({"url": "https://example.com/all", "events": ["*"]})).await;
    let scans = server.create_webhook(json!({"url": "https://example.com/scans", "events": ["scan.completed"]})).await;
    server.send_event("scan.completed", json!({})).await;
    server.send_event("alert.raised", json!({})).await;
    let token = portal_session(&server, &server.key, json!({"event_types": ["scan.*"]})).await;

    let (_, list) = as_session(&server, &token, Method::GET, "/v1/webhooks", None).await;
    let ids: Vec<&str> = list["data"].as_array().unwrap().iter().map(|w| w["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [scans["id"].as_str().unwrap()]);
    let hidden = format!("/v1/webhooks/{}", all["id"].as_str().unwrap());
    assert_eq!(as_session(&server, &token, Method::GET, &hidden, None).await.0, StatusCode::NOT_FOUND);
    let (status, _) = as_session(&server, &token, Method::PATCH, &hidden, Some(json!({"active": false}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Nor its health, which names its deliveries and errors.
    let (status, _) = as_session(&server, &token, Method::GET, &format!("{hidden}/stats"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let visible = format!("/v1/webhooks/{}/stats", scans["id"].as_str().unwrap());
    assert_eq!(as_session(&server, &token, Method::GET, &visible, None).await.0, StatusCode::OK);

    let (_, deliveries) = as_session(&server, &token, Method::GET, "/v1/deliveries", None).await;
    let types: Vec<&str> =
        deliveries["data"].as_array().unwrap().iter().map(|d| d["event_type"].as_str().unwrap()).collect();
    assert!(!types.is_empty() && types.iter().all(|t| *t == "scan.completed"), "{deliveries}");

    let (status, body) = as_session(
        &server,
        &token,
        Method::POST,
        "/v1/webhooks",
        Some(json!({"url": "https://example.com/x", "events": ["alert.raised"]})),
    )
    .await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("events")), "{body}");
    let ok = json!({"url": "https://example.com/x", "events": ["scan.failed"]});
    assert_eq!(as_session(&server, &token, Method::POST, "/v1/webhooks", Some(ok)).await.0, StatusCode::CREATED);
    let widen = format!("/v1/webhooks/{}", scans["id"].as_str().unwrap());
    let (status, _) = as_session(&server, &token, Method::PATCH, &widen, Some(json!({"events": ["*"]}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for closed in ["/v1/events", "/v1/projects", "/v1/audit-log", "/v1/api-keys"] {
        assert_eq!(as_session(&server, &token, Method::GET, closed, None).await.0, StatusCode::FORBIDDEN, "{closed}");
    }
}
