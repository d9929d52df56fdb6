//! The OpenAPI 3.1 document, generated from the handlers' annotations. A committed copy
//! (`openapi.json` at the repository root) is compared by a test, so API drift fails CI.

use std::sync::OnceLock;

use axum::Json;
use serde_json::{Value, json};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::observe;
use crate::routes::{
    accounts, alerts, audit, deliveries, event_batch, event_types, events, portal_links, projects, scans, stats,
    violations, webhooks,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "scanhook",
        description = "Webhook notifications for security and compliance scan platforms. \
            Every request carries `Authorization: Bearer <API key>`; errors are `application/problem+json`."
    ),
    paths(
        serve,
        healthz,
        observe::readyz,
        observe::metrics,
        accounts::create_account,
        accounts::list_accounts,
        accounts::get_account,
        accounts::update_account,
        accounts::create_api_key,
        accounts::list_api_keys,
        accounts::delete_api_key,
        webhooks::create,
        webhooks::list,
        webhooks::get,
        webhooks::update,
        webhooks::delete,
        webhooks::enable,
        webhooks::test,
        webhooks::replay,
        webhooks::rotate_secret,
        stats::get,
        projects::create,
        projects::list,
        projects::get,
        projects::update,
        projects::delete,
        scans::start,
        scans::get,
        scans::list,
        scans::fail,
        scans::progress,
        scans::complete,
        violations::list,
        violations::get_one,
        violations::resolve,
        alerts::raise,
        event_types::list,
        events::create,
        event_batch::create,
        events::list,
        events::get,
        deliveries::list,
        deliveries::get,
        deliveries::retry,
        audit::list,
        portal_links::create,
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        // `/metrics` only: `SCANHOOK_METRICS_TOKEN`, when the deployment sets one.
        components.add_security_scheme(
            "metrics_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("SCANHOOK_METRICS_TOKEN, when the server sets one"))
                    .build(),
            ),
        );
    }
}

/// Tagged enums whose variants refuse unknown fields (utoipa marks only structs closed).
const CLOSED_ENUMS: &[&str] = &["Signature"];

/// The routes whose events count towards the account's ingest limit (429 over it).
const RATE_LIMITED: &[&str] = &["/v1/events", "/v1/events/batch"];

/// The answers every route can give besides its own, added here so no annotation can
/// forget them: 401 (authenticated routes), 422 and 414 (the query contract, see
/// [`crate::query`]), 400, 408, 413 and 422 where there is a body, and 429 where events are
/// limited (`RATE_LIMITED`). Every error is problem+json.
fn complete(doc: &mut Value) {
    for (path, item) in doc["paths"].as_object_mut().into_iter().flat_map(|paths| paths.iter_mut()) {
        for (method, op) in item.as_object_mut().into_iter().flat_map(|ops| ops.iter_mut()) {
            let public = op.get("security").is_some_and(|s| s.as_array().is_some_and(|s| s.iter().all(is_empty)));
            let has_body = op.get("requestBody").is_some();
            let responses = &mut op["responses"];
            let mut add = |status: &str, description: &str| {
                if responses.get(status).is_none() {
                    responses[status] = json!({ "description": description });
                }
            };
            if !public {
                add("401", "The `Authorization: Bearer <API key>` header is missing or the key is invalid.");
            }
            add("414", "The query string is longer than the server accepts.");
            add("422", "A field or query parameter is invalid or unknown; `field` names it.");
            if has_body {
                add("400", "The body is not valid JSON.");
                add("408", "The body did not arrive in time: a pause of 30 s, or 5 minutes in all.");
                add("413", "The body is larger than the server accepts.");
            }
            if method == "post" && RATE_LIMITED.contains(&path.as_str()) {
                add(
                    "429",
                    "The account reported more events than its ingest limit allows (`rate_limited`): \
                     nothing was stored; try again after `Retry-After` seconds.",
                );
            }
            if method != "get" {
                add(
                    "503",
                    "The database's disk is full (`storage_full`): nothing was written; try again after \
                     `Retry-After` seconds.",
                );
            }
            if let Some(limited) = responses.get_mut("429") {
                limited["headers"] = json!({ "Retry-After": {
                    "description": "Seconds to wait, at least 1.",
                    "schema": { "type": "integer", "minimum": 1 }
                }});
            }
            for (status, response) in responses.as_object_mut().into_iter().flatten() {
                if status.as_str() >= "400" {
                    response["content"] = json!({
                        "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } }
                    });
                }
            }
        }
    }
    for name in CLOSED_ENUMS {
        let variants = doc["components"]["schemas"][name]["oneOf"].as_array_mut();
        for variant in variants.into_iter().flatten() {
            variant["additionalProperties"] = Value::Bool(false);
        }
    }
}

fn is_empty(v: &Value) -> bool {
    v.as_object().is_some_and(|o| o.is_empty())
}

/// The finished document, built once.
pub fn api_doc() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
        complete(&mut doc);
        doc
    })
}

/// The document as pretty JSON (what the committed copy holds).
pub fn document() -> String {
    serde_json::to_string_pretty(api_doc()).unwrap_or_default()
}

/// The document, for every caller (no key needed).
#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "This OpenAPI document", body = Object)))]
pub async fn serve() -> Json<&'static Value> {
    Json(api_doc())
}

/// Liveness: answers `ok` while the process serves requests (no key needed).
#[utoipa::path(get, path = "/healthz", tag = "meta", security(()),
    responses((status = 200, description = "The server is up", body = String, content_type = "text/plain")))]
pub async fn healthz() -> &'static str {
    "ok"
}
