//! `scanhook accounts …`, and `GET /v1/accounts` behind it: the admin key only.

use reqwest::{Method, StatusCode};

use super::{Cli, s};
use crate::common::Server;

#[tokio::test]
async fn the_admin_lists_and_creates_accounts_and_nobody_else_sees_them() {
    let server = Server::start(&[]).await;
    let cli = Cli::of(&server);
    let created = cli.json(&["accounts", "create", "--name", "Tenant One"]).await;
    let tenant_key = created["api_key"]["key"].as_str().expect("the first key, shown once").to_string();
    let quiet = cli.run(&["accounts", "create", "--name", "Tenant Two", "-q"]).await;
    assert!(quiet.ok().trim().len() >= 16 && !quiet.ok().contains("Tenant"), "{}", quiet.stdout);

    let table = cli.run(&["accounts", "list"]).await;
    for part in ["NAME", "Tenant One", "Tenant Two", "default", "yes"] {
        assert!(table.ok().contains(part), "{part}: {}", table.stdout);
    }
    // Pages of one, followed to the end: the three accounts, each once.
    let all = cli.json(&["accounts", "list", "--limit", "1", "--all"]).await;
    let names: Vec<_> = all["data"].as_array().expect("data").iter().map(|a| s(a, "name")).collect();
    assert_eq!(names.len(), 3, "{all}");
    let (status, first) = server.get("/v1/accounts?limit=1").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let cursor = s(&first, "next_cursor");
    let (_, second) = server.get(&format!("/v1/accounts?limit=1&cursor={cursor}")).await;
    assert_ne!(first["data"][0]["id"], second["data"][0]["id"], "keyset pages move on");

    let id = s(&created, "id");
    let one = cli.json(&["accounts", "get", &id]).await;
    assert_eq!(
        (s(&one, "name"), one["is_admin"].as_bool(), one.get("api_key")),
        ("Tenant One".into(), Some(false), None)
    );
    cli.run(&["accounts", "get", "acc_01KABCDEFGHJKMNPQRSTVWXYZ0"]).await.fails(1, &["404"]);
    let (status, body) = server.get("/v1/accounts?limit=0").await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("limit")), "{body}");

    // An ordinary account's key may not list, read or create accounts, its own included.
    for (method, path) in [(Method::GET, "/v1/accounts".to_string()), (Method::GET, format!("/v1/accounts/{id}"))] {
        let (status, body) = server.call(method, &path, None, Some(&tenant_key)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
    }
    let tenant = Cli::with_env(&[("SCANHOOK_URL", &server.base), ("SCANHOOK_API_KEY", &tenant_key)]);
    tenant.run(&["accounts", "list"]).await.fails(1, &["403"]);
    tenant.run(&["accounts", "update", &id, "--ingest-rate", "5"]).await.fails(1, &["403"]);

    // The admin sets an account's own ingest limit, and takes it back.
    let limited = cli.json(&["accounts", "update", &id, "--ingest-rate", "50"]).await;
    assert_eq!((limited["ingest_rate"].as_u64(), limited["ingest_burst"].as_u64()), (Some(50), Some(100)));
    let shown = cli.run(&["accounts", "get", &id]).await;
    assert!(shown.stdout.contains("50 events/s, bursts of 100"), "{}", shown.stdout);
    let back = cli.json(&["accounts", "update", &id, "--ingest-default"]).await;
    assert_eq!((back["ingest_rate"].as_u64(), back["ingest_burst"].as_u64()), (None, None));
    cli.run(&["accounts", "update", &id, "--ingest-rate", "0"]).await.fails(1, &["ingest_rate"]);
}
