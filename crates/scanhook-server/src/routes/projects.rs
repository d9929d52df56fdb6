//! Projects: what scans run against. Creating and deleting one emits `project.created` /
//! `project.deleted` to subscribed endpoints.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use scanhook_api_types::{
    ListOut, Problem, ProjectIn, ProjectOut, ProjectPatch, SeverityCountsOut, ViolationCountsOut,
};
use scanhook_core::ProjectId;
use scanhook_core::scan::Severity;
use scanhook_store::{NewProject, Project, ViolationCounts};

use super::{PageQuery, text};
use crate::auth::Caller;
use crate::error::{ApiError, named};
use crate::extract::{ApiJson, ApiQuery, path_id};
use crate::state::AppState;

const DEFAULT_SCORE_DROP: u32 = 10;
const DEFAULT_TIME_LIMIT_SECS: u64 = 3600;

fn project_out(p: Project) -> ProjectOut {
    ProjectOut {
        id: p.id.to_string(),
        name: p.name,
        target: p.target,
        score_drop_threshold: p.score_drop_threshold,
        scan_time_limit_secs: p.scan_time_limit_secs,
        created_at: p.created_at,
        updated_at: p.updated_at,
        violations: None,
    }
}

fn counts_out(c: ViolationCounts) -> ViolationCountsOut {
    let n = |s: Severity| c.open.get(&s).copied().unwrap_or(0);
    let open = SeverityCountsOut {
        critical: n(Severity::Critical),
        high: n(Severity::High),
        medium: n(Severity::Medium),
        low: n(Severity::Low),
        info: n(Severity::Info),
    };
    ViolationCountsOut { open, resolved: c.resolved }
}

fn parse_name(raw: String) -> Result<String, ApiError> {
    text("name", &raw, 200)
}

fn parse_target(raw: Option<String>) -> Result<Option<String>, ApiError> {
    match raw.map(|t| t.trim().to_string()) {
        Some(t) if t.chars().count() > 2000 => {
            Err(ApiError::invalid("target", "target is longer than 2000 characters"))
        }
        Some(t) if t.is_empty() => Ok(None),
        other => Ok(other),
    }
}

fn parse_threshold(raw: u32) -> Result<u32, ApiError> {
    if (1..=100).contains(&raw) {
        Ok(raw)
    } else {
        Err(ApiError::invalid("score_drop_threshold", "score_drop_threshold must be between 1 and 100 points"))
    }
}

fn parse_time_limit(raw: u64) -> Result<u64, ApiError> {
    if (60..=7 * 24 * 3600).contains(&raw) {
        Ok(raw)
    } else {
        Err(ApiError::invalid("scan_time_limit_secs", "scan_time_limit_secs must be between 60 and 604800"))
    }
}

/// Create a project; emits `project.created`.
#[utoipa::path(post, path = "/v1/projects", tag = "projects", request_body = ProjectIn,
    responses((status = 201, body = ProjectOut), (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<ProjectIn>,
) -> Result<(StatusCode, Json<ProjectOut>), ApiError> {
    let new = NewProject {
        id: ProjectId::generate(),
        name: parse_name(input.name)?,
        target: parse_target(input.target)?,
        score_drop_threshold: parse_threshold(input.score_drop_threshold.unwrap_or(DEFAULT_SCORE_DROP))?,
        scan_time_limit_secs: parse_time_limit(input.scan_time_limit_secs.unwrap_or(DEFAULT_TIME_LIMIT_SECS))?,
    };
    let project = state.engine.create_project(&caller.account, new).await?;
    Ok((StatusCode::CREATED, Json(project_out(project))))
}

/// List the account's projects, newest first.
#[utoipa::path(get, path = "/v1/projects", tag = "projects", params(PageQuery),
    responses((status = 200, body = ListOut<ProjectOut>)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<ListOut<ProjectOut>>, ApiError> {
    let paged = state.store().list_projects(&caller.account, query.page()?).await?;
    Ok(Json(ListOut { data: paged.items.into_iter().map(project_out).collect(), next_cursor: paged.next_cursor }))
}

/// Get one project, with its violations counted (open ones by severity, and resolved).
#[utoipa::path(get, path = "/v1/projects/{id}", tag = "projects", params(("id" = String, Path)),
    responses((status = 200, body = ProjectOut), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ProjectOut>, ApiError> {
    let project_id: ProjectId = path_id(&id, "project")?;
    let project = state.store().get_project(&caller.account, &project_id).await.map_err(named("project", &id))?;
    let counts = state.store().count_violations(&caller.account, &project_id).await.map_err(named("project", &id))?;
    Ok(Json(ProjectOut { violations: Some(counts_out(counts)), ..project_out(project) }))
}

/// Change some fields of a project.
#[utoipa::path(patch, path = "/v1/projects/{id}", tag = "projects", params(("id" = String, Path)), request_body = ProjectPatch,
    responses((status = 200, body = ProjectOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ProjectPatch>,
) -> Result<Json<ProjectOut>, ApiError> {
    let patch = scanhook_store::ProjectPatch {
        name: input.name.map(parse_name).transpose()?,
        target: input.target.map(parse_target).transpose()?,
        score_drop_threshold: input.score_drop_threshold.map(parse_threshold).transpose()?,
        scan_time_limit_secs: input.scan_time_limit_secs.map(parse_time_limit).transpose()?,
    };
    let project_id: ProjectId = path_id(&id, "project")?;
    let project = state
        .store()
        .update_project(&caller.account, &project_id, patch, state.now())
        .await
        .map_err(named("project", &id))?;
    Ok(Json(project_out(project)))
}

/// Delete a project; emits `project.deleted`.
#[utoipa::path(delete, path = "/v1/projects/{id}", tag = "projects", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let project_id: ProjectId = path_id(&id, "project")?;
    state.engine.delete_project(&caller.account, &project_id).await.map_err(named("project", &id))?;
    Ok(StatusCode::NO_CONTENT)
}
