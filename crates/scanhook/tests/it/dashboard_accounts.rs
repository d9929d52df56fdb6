//! The dashboard's accounts page over real HTTP: the admin lists accounts and creates one
//! (its first API key shown once, with a copy button); an ordinary account's session and a
//! portal session never see the link, and get the API's refusal if they type the address.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::Server;
use crate::dashboard::{csrf_of, form, page, portal_session, sign_in};

const NAV_LINK: &str = r#"href="/accounts""#;

/// The value of the read-only field `id` on a page.
fn field_value(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!(r#"id="{id}""#))?;
    let tag = &html[html[..at].rfind('<')?..];
    let tag = &tag[..tag.find('>')?];
    let value = tag.split(r#"value=""#).nth(1)?;
    Some(value.split('"').next()?.to_string())
}

#[tokio::test]
async fn the_admin_sees_every_account_and_creates_one_whose_key_is_shown_once() {
    let server = Server::start(&[]).await;
    let (token, _) = sign_in(&server, &server.key).await;
    let (status, html) = page(&server, &token, "/endpoints").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(NAV_LINK), "the admin's nav links the accounts: {html}");

    let (status, html) = page(&server, &token, "/accounts").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("default") && html.contains("Admin"), "the admin's own account: {html}");
    let csrf = csrf_of(&html);

    // A name the API refuses comes back beside the field, with what was typed.
    let blank = form(&server, &token, "/accounts", &[("csrf", &csrf), ("name", "   ")], "same-origin").await;
    assert_eq!(blank.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let blank = blank.text().await.unwrap();
    assert!(blank.contains(r#"id="name-error""#), "{blank}");
    // Without the CSRF token nothing is made.
    let forged = form(&server, &token, "/accounts", &[("name", "Forged")], "same-origin").await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    let made = form(&server, &token, "/accounts", &[("csrf", &csrf), ("name", "Tenant <Co>")], "same-origin").await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let made = made.text().await.unwrap();
    assert!(made.contains("Tenant &lt;Co&gt;") && made.contains("shown only this once"), "{made}");
    assert!(made.contains(r#"data-copy="api_key""#), "a copy button: {made}");
    let key = field_value(&made, "api_key").expect("the new key in its box");
    let (status, mine) = server.call(Method::GET, "/v1/webhooks", None, Some(&key)).await;
    assert_eq!(status, StatusCode::OK, "the key shown works: {mine}");

    let (_, html) = page(&server, &token, "/accounts").await;
    assert!(html.contains("Tenant &lt;Co&gt;") && !html.contains("Forged"), "{html}");
    assert!(field_value(&html, "api_key").is_none() && !html.contains(&key), "the key is not shown again");
    let (_, list) = server.get("/v1/accounts").await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(2), "{list}");
    assert!(html.contains("The deployment&#39;s") || html.contains("The deployment's"), "{html}");

    // An account's own ingest limit is shown with it.
    let tenant = list["data"].as_array().unwrap().iter().find(|a| a["is_admin"] == false).unwrap();
    let path = format!("/v1/accounts/{}", tenant["id"].as_str().unwrap());
    let (status, _) = server.call(Method::PATCH, &path, Some(serde_json::json!({"ingest_rate": 7})), None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, html) = page(&server, &token, "/accounts").await;
    assert!(html.contains("7 events/s, bursts of 100"), "{html}");
}

#[tokio::test]
async fn account_and_portal_sessions_never_see_the_accounts_page() {
    let server = Server::start(&[]).await;
    let (status, account) = server.post("/v1/accounts", json!({"name": "Tenant"})).await;
    assert_eq!(status, StatusCode::CREATED, "{account}");
    let tenant_key = account["api_key"]["key"].as_str().unwrap().to_string();
    let (tenant, _) = sign_in(&server, &tenant_key).await;
    // A portal link into the admin's own account: still no admin session.
    let portal = portal_session(&server, &server.key, json!({})).await;
    let tenant_portal = portal_session(&server, &tenant_key, json!({})).await;

    for (who, token) in [("account key", &tenant), ("admin's portal", &portal), ("tenant's portal", &tenant_portal)] {
        let (status, html) = page(&server, token, "/endpoints").await;
        assert_eq!(status, StatusCode::OK, "{who}");
        assert!(!html.contains(NAV_LINK), "{who}: no link to the accounts");
        let (status, html) = page(&server, token, "/accounts").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}: {html}");
        assert!(html.contains("only the admin API key") && html.contains("<html"), "{who}: the API's refusal: {html}");
        assert!(!html.contains("Tenant") && !html.contains(NAV_LINK), "{who}: {html}");
        let csrf = csrf_of(&page(&server, token, "/endpoints").await.1);
        let post = form(&server, token, "/accounts", &[("csrf", &csrf), ("name", "Sneaky")], "same-origin").await;
        assert_eq!(post.status(), StatusCode::FORBIDDEN, "{who}");
    }
    let (_, list) = server.get("/v1/accounts").await;
    let names: Vec<&str> = list["data"].as_array().unwrap().iter().filter_map(|a| a["name"].as_str()).collect();
    assert!(!names.contains(&"Sneaky"), "nothing was made: {list}");
    assert_eq!(list["data"].as_array().map(Vec::len), Some(2), "{}", Value::from(names));
}
