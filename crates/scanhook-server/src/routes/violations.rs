//! A project's violations, and resolving one by hand (`violation.resolved`).

use axum::Json;
use axum::extract::{Path, State};
use scanhook_api_types::{ListOut, Problem, ViolationChangeOut, ViolationOut, ViolationResolveIn};
use scanhook_core::scan::{Analysis, Severity};
use scanhook_core::{ProjectId, ViolationId};
use scanhook_store::{Violation, ViolationChange, ViolationFilter};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{PageQuery, text};
use crate::auth::Caller;
use crate::error::{ApiError, named};
use crate::extract::{ApiJson, ApiQuery, path_id};
use crate::state::AppState;

fn violation_out(v: Violation) -> ViolationOut {
    ViolationOut {
        id: v.id.to_string(),
        project_id: v.project_id.to_string(),
        status: if v.open { "open" } else { "resolved" }.to_string(),
        rule: v.finding.rule,
        severity: v.finding.severity,
        file: v.finding.file,
        uri: v.finding.uri,
        line: v.finding.line,
        message: v.finding.message,
        suggestion: v.finding.suggestion,
        fingerprint: v.finding.fingerprint,
        tool: super::non_empty(v.finding.analysis.tool),
        category: super::non_empty(v.finding.analysis.category),
        first_scan_id: v.first_scan_id.to_string(),
        last_scan_id: v.last_scan_id.to_string(),
        resolved_by: v.resolved_by,
        resolved_at: v.resolved_at,
        created_at: v.created_at,
        history: None,
    }
}

fn change_out(c: ViolationChange) -> ViolationChangeOut {
    ViolationChangeOut { action: c.action, at: c.at, scan_id: c.scan_id.map(|s| s.to_string()), by: c.by }
}

/// Filters of the violation list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ViolationQuery {
    /// `open` or `resolved`.
    #[param(pattern = "^(open|resolved)$")]
    pub status: Option<String>,
    #[param(value_type = Option<Severity>)]
    pub severity: Option<String>,
    /// Only violations found by this tool.
    #[param(min_length = 1, max_length = 200)]
    pub tool: Option<String>,
}

/// List a project's violations, newest first.
#[utoipa::path(get, path = "/v1/projects/{id}/violations", tag = "violations",
    params(("id" = String, Path), ViolationQuery, PageQuery),
    responses((status = 200, body = ListOut<ViolationOut>), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ViolationQuery>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<ListOut<ViolationOut>>, ApiError> {
    let project: ProjectId = path_id(&id, "project")?;
    let open = match query.status.as_deref() {
        None => None,
        Some("open") => Some(true),
        Some("resolved") => Some(false),
        Some(other) => {
            return Err(ApiError::invalid("status", format!("'{other}' is not a violation status (open or resolved)")));
        }
    };
    let severity =
        query.severity.as_deref().map(Severity::parse).transpose().map_err(|e| ApiError::invalid("severity", e.0))?;
    if let Some(tool) = &query.tool
        && (tool.is_empty() || tool.chars().count() > Analysis::MAX_NAME)
    {
        return Err(ApiError::invalid("tool", format!("tool must be 1 to {} characters", Analysis::MAX_NAME)));
    }
    let paged = state
        .store()
        .list_violations(&caller.account, &project, ViolationFilter { open, severity, tool: query.tool }, page.page()?)
        .await
        .map_err(named("project", &id))?;
    Ok(Json(ListOut { data: paged.items.into_iter().map(violation_out).collect(), next_cursor: paged.next_cursor }))
}

/// One violation, with its history: when it was detected, resolved and reopened.
#[utoipa::path(get, path = "/v1/violations/{id}", tag = "violations", params(("id" = String, Path)),
    responses((status = 200, body = ViolationOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ViolationOut>, ApiError> {
    let violation: ViolationId = path_id(&id, "violation")?;
    let (found, history) =
        state.store().get_violation(&caller.account, &violation).await.map_err(named("violation", &id))?;
    Ok(Json(ViolationOut { history: Some(history.into_iter().map(change_out).collect()), ..violation_out(found) }))
}

/// Resolve an open violation by hand; emits `violation.resolved`.
#[utoipa::path(post, path = "/v1/violations/{id}/resolve", tag = "violations", params(("id" = String, Path)),
    request_body = ViolationResolveIn,
    responses((status = 200, body = ViolationOut), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ViolationResolveIn>,
) -> Result<Json<ViolationOut>, ApiError> {
    let violation: ViolationId = path_id(&id, "violation")?;
    let by = text("resolved_by", &input.resolved_by, 200)?;
    let resolved =
        state.engine.resolve_violation(&caller.account, &violation, by).await.map_err(named("violation", &id))?;
    Ok(Json(violation_out(resolved)))
}
