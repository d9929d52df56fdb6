//! The OpenAPI 3.1 document, generated from the handlers' annotations. A committed copy
//! (`openapi.json` at the repository root) is compared by a test, so API drift fails CI.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{accounts, alerts, audit, deliveries, event_types, events, projects, scans, violations, webhooks};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "scanhook",
        description = "Webhook notifications for security and compliance scan platforms. \
            Every request carries `Authorization: Bearer <API key>`; errors are `application/problem+json`."
    ),
    paths(
        accounts::create_account,
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
        projects::create,
        projects::list,
        projects::get,
        projects::update,
        projects::delete,
        scans::start,
        scans::get,
        scans::fail,
        scans::progress,
        scans::complete,
        violations::list,
        violations::resolve,
        alerts::raise,
        event_types::list,
        events::create,
        events::list,
        events::get,
        deliveries::list,
        deliveries::get,
        deliveries::retry,
        audit::list,
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
    }
}

/// The document as pretty JSON (what the committed copy holds).
pub fn document() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_default()
}

pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
