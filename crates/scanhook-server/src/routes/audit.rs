//! The audit log: recording management actions, and `GET /v1/audit-log`.
//!
//! Handlers call [`record`] once their change has committed; the entry is its own write,
//! so a crash between the two can lose it, and a failure to write it is logged rather
//! than turned into an error for a change that already happened.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use scanhook_api_types::{AuditEntryOut, ListOut, Problem};
use scanhook_core::AuditEntryId;
use scanhook_core::audit::AuditAction;
use scanhook_store::{AuditEntry, AuditFilter};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::IntoParams;

use super::PageQuery;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::state::AppState;

/// Appends `action` on `target` by the caller's key to the caller's audit log. `changes`
/// must already hide secrets (build it from the API's own views).
pub async fn record(state: &AppState, caller: &Caller, action: AuditAction, target: &str, changes: Map<String, Value>) {
    let entry = AuditEntry {
        id: AuditEntryId::generate(),
        account_id: caller.account.clone(),
        key_id: caller.key_id.clone(),
        at: state.now(),
        action,
        target_id: target.to_string(),
        changes,
    };
    if let Err(e) = state.store().record_audit(entry).await {
        tracing::error!(error = %scanhook_core::error_chain(&e), action = action.as_str(), target, "audit entry lost");
    }
}

/// A view as the `changes` of a creation: its fields, as the API shows them.
pub fn snapshot(view: &impl serde::Serialize) -> Map<String, Value> {
    match serde_json::to_value(view) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// The names of the audited actions, as the schema of the `action` filter: built from
/// [`AuditAction::ALL`], so the document cannot fall behind the code.
pub struct AuditActionName;

impl utoipa::PartialSchema for AuditActionName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(AuditAction::ALL.map(AuditAction::as_str)))
            .into()
    }
}

impl utoipa::ToSchema for AuditActionName {}

/// Filters of the audit log.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this action, such as `webhook.updated`.
    #[param(value_type = Option<AuditActionName>, inline)]
    pub action: Option<String>,
    /// Only entries about this ID (a webhook, key, account or delivery).
    pub target_id: Option<String>,
    /// Only entries at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Only entries before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
}

fn entry_out(e: AuditEntry) -> AuditEntryOut {
    AuditEntryOut {
        id: e.id.to_string(),
        at: e.at,
        key_id: e.key_id.to_string(),
        action: e.action.as_str().to_string(),
        target_id: e.target_id,
        changes: Value::Object(e.changes),
    }
}

/// The account's audit log, newest first: who (which API key) did what, when, to what.
#[utoipa::path(get, path = "/v1/audit-log", tag = "audit-log", params(AuditQuery, PageQuery),
    responses((status = 200, body = ListOut<AuditEntryOut>), (status = 422, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<AuditQuery>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<ListOut<AuditEntryOut>>, ApiError> {
    let action =
        query.action.as_deref().map(AuditAction::parse).transpose().map_err(|e| ApiError::invalid("action", e.0))?;
    if query.target_id.as_ref().is_some_and(|t| t.len() > 100) {
        return Err(ApiError::invalid("target_id", "target_id is at most 100 characters"));
    }
    let filter = AuditFilter { action, target_id: query.target_id, since: query.since, until: query.until };
    let paged = state.store().list_audit(&caller.account, filter, page.page()?).await?;
    Ok(Json(ListOut { data: paged.items.into_iter().map(entry_out).collect(), next_cursor: paged.next_cursor }))
}
