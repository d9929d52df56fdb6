//! Scans: a scanner reports a scan's lifecycle and scanhook emits its events.

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use scanhook_api_types::{
    ListOut, Problem, ScanCompleteIn, ScanCompleteOut, ScanErrorBody, ScanFailIn, ScanIn, ScanOut, ScanProgressIn,
    ScanProgressOut,
};
use scanhook_core::scan::{Analysis, MAX_FINDINGS, SarifReport, findings_from_sarif, parse_findings, path};
use scanhook_core::{ProjectId, ScanId};
use scanhook_store::{NewScan, Scan, ScanFilter, ScanProgress, ScanReport, ScanStatus};
use serde::Deserialize;
use tokio::sync::OwnedSemaphorePermit;
use utoipa::IntoParams;

use super::{PageQuery, text};
use crate::auth::Caller;
use crate::error::{ApiError, named};
use crate::extract::{ApiJson, ApiQuery, RawBody, check_depth, parse_json, path_id};
use crate::state::AppState;

const MAX_RULES: usize = 100;
/// At most one `scan.progress` per scan this often; updates in between are stored only.
const PROGRESS_INTERVAL_SECS: i64 = 5;

fn scan_out(s: Scan) -> ScanOut {
    ScanOut {
        id: s.id.to_string(),
        project_id: s.project_id.to_string(),
        status: s.status.as_str().to_string(),
        target: s.target,
        rules: s.rules,
        started_at: s.started_at,
        deadline_at: s.deadline_at,
        ended_at: s.ended_at,
        error: s.error.map(|(code, message)| ScanErrorBody { code, message }),
        files_scanned: s.files_scanned,
        score: s.score,
        grade: s.grade,
        tool: super::non_empty(s.analysis.tool),
        category: super::non_empty(s.analysis.category),
        covered: s.covered,
        root: s.root,
    }
}

fn parse_rules(raw: Option<Vec<String>>) -> Result<Vec<String>, ApiError> {
    let rules = raw.unwrap_or_default();
    if rules.len() > MAX_RULES {
        return Err(ApiError::invalid("rules", format!("at most {MAX_RULES} rule sets")));
    }
    for (i, rule) in rules.iter().enumerate() {
        if rule.trim().is_empty() || rule.len() > 100 {
            return Err(ApiError::invalid(&format!("rules[{i}]"), "a rule set name is 1 to 100 characters"));
        }
    }
    Ok(rules)
}

/// The store keeps counts as signed 64-bit integers.
fn parse_files_scanned(raw: Option<u64>) -> Result<Option<u64>, ApiError> {
    match raw {
        Some(n) if n > i64::MAX as u64 => Err(ApiError::invalid("files_scanned", "files_scanned is too large")),
        other => Ok(other),
    }
}

/// Start a scan of a project; emits `scan.started`.
#[utoipa::path(post, path = "/v1/scans", tag = "scans", request_body = ScanIn,
    responses((status = 201, body = ScanOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn start(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<ScanIn>,
) -> Result<(StatusCode, Json<ScanOut>), ApiError> {
    let project: ProjectId = path_id(&input.project, "project")?;
    if let Some(limit) = input.time_limit_secs
        && !(1..=7 * 24 * 3600).contains(&limit)
    {
        return Err(ApiError::invalid("time_limit_secs", "time_limit_secs must be between 1 and 604800"));
    }
    let new = NewScan {
        id: ScanId::generate(),
        project_id: project,
        target: input.target.map(|t| text("target", &t, 2000)).transpose()?,
        rules: parse_rules(input.rules)?,
        time_limit_secs: input.time_limit_secs,
        analysis: Analysis::parse(input.tool, input.category).map_err(|(field, e)| ApiError::invalid(field, e.0))?,
        root: input
            .root
            .map(|r| path::parse_root(&r).map(|_| r.trim().to_string()))
            .transpose()
            .map_err(|e| ApiError::invalid("root", e.0))?,
    };
    let scan = state.engine.start_scan(&caller.account, new).await.map_err(named("project", &input.project))?;
    Ok((StatusCode::CREATED, Json(scan_out(scan))))
}

/// Get one scan.
#[utoipa::path(get, path = "/v1/scans/{id}", tag = "scans", params(("id" = String, Path)),
    responses((status = 200, body = ScanOut), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ScanOut>, ApiError> {
    let scan_id: ScanId = path_id(&id, "scan")?;
    let scan = state.store().get_scan(&caller.account, &scan_id).await.map_err(named("scan", &id))?;
    Ok(Json(scan_out(scan)))
}

/// Filters of a project's scan list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScanQuery {
    /// `running`, `completed`, `failed` or `timed_out`.
    #[param(pattern = "^(running|completed|failed|timed_out)$")]
    pub status: Option<String>,
}

/// List a project's scans, newest first.
#[utoipa::path(get, path = "/v1/projects/{id}/scans", tag = "scans", params(("id" = String, Path), ScanQuery, PageQuery),
    responses((status = 200, body = ListOut<ScanOut>), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ScanQuery>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<ListOut<ScanOut>>, ApiError> {
    let project: ProjectId = path_id(&id, "project")?;
    let status = query
        .status
        .as_deref()
        .map(|raw| {
            ScanStatus::from_stored(raw).ok_or_else(|| {
                ApiError::invalid(
                    "status",
                    format!("'{raw}' is not a scan status (running, completed, failed or timed_out)"),
                )
            })
        })
        .transpose()?;
    let paged = state
        .store()
        .list_scans(&caller.account, &project, ScanFilter { status }, page.page()?)
        .await
        .map_err(named("project", &id))?;
    Ok(Json(ListOut { data: paged.items.into_iter().map(scan_out).collect(), next_cursor: paged.next_cursor }))
}

/// End a running scan as failed; emits `scan.failed`. A scan ends once: 409 afterwards.
#[utoipa::path(post, path = "/v1/scans/{id}/fail", tag = "scans", params(("id" = String, Path)), request_body = ScanFailIn,
    responses((status = 200, body = ScanOut), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn fail(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ScanFailIn>,
) -> Result<Json<ScanOut>, ApiError> {
    let scan_id: ScanId = path_id(&id, "scan")?;
    let error = (text("error.code", &input.error.code, 100)?, text("error.message", &input.error.message, 2000)?);
    let scan = state.engine.fail_scan(&caller.account, &scan_id, error).await.map_err(named("scan", &id))?;
    Ok(Json(scan_out(scan)))
}

/// A slot for parsing a report larger than an ordinary body, held until the answer: at
/// most `max_concurrent_reports` are parsed at once, so their memory has a ceiling. Taken
/// before the body is read; a report that finds no slot in `report_wait` gets 503.
pub struct ReportSlot(#[allow(dead_code)] Option<OwnedSemaphorePermit>);

/// Stable code of the 503 a report gets when every slot stays taken.
const REPORTS_BUSY: &str = "reports_busy";

impl FromRequestParts<AppState> for ReportSlot {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let length = parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
        // A body without a length (chunked) may be as large as the report limit.
        if length.is_some_and(|n| n <= state.limits.max_body_bytes) {
            return Ok(Self(None));
        }
        let wait = state.limits.report_wait;
        match tokio::time::timeout(wait, state.reports.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Self(Some(permit))),
            _ => Err(ApiError::Unavailable {
                code: REPORTS_BUSY,
                message: format!(
                    "{} large reports are being processed; try again shortly",
                    state.limits.max_concurrent_reports
                ),
                retry_after_secs: wait.as_secs().clamp(1, 60),
            }),
        }
    }
}

/// The report in the body: scanhook's JSON, or a SARIF 2.1.0 log. Either's depth is
/// checked before it is parsed (`parse_json` does it for JSON).
fn report(headers: &HeaderMap, body: &[u8], root: Option<&str>) -> Result<ScanReport, ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if content_type.starts_with("application/sarif+json") {
        check_depth(body)?;
        let SarifReport { findings, analyses } =
            findings_from_sarif(body, root).map_err(|e| ApiError::invalid("sarif", e.0))?;
        return Ok(ScanReport { findings, analyses, ..Default::default() });
    }
    let input: ScanCompleteIn = if body.iter().all(u8::is_ascii_whitespace) {
        ScanCompleteIn { findings: Vec::new(), score: None, grade: None, files_scanned: None }
    } else {
        parse_json(body)?
    };
    if input.findings.len() > MAX_FINDINGS {
        return Err(ApiError::invalid("findings", format!("a report holds at most {MAX_FINDINGS} findings")));
    }
    let findings = parse_findings(input.findings, root)
        .map_err(|e| ApiError::invalid(&format!("findings[{}].{}", e.index, e.field), e.to_string()))?;
    if input.score.is_some_and(|s| s > 100) {
        return Err(ApiError::invalid("score", "score must be between 0 and 100"));
    }
    let grade = input.grade.map(|g| text("grade", &g, 10)).transpose()?;
    let files_scanned = parse_files_scanned(input.files_scanned)?;
    Ok(ScanReport { findings, analyses: Vec::new(), files_scanned, score: input.score, grade })
}

/// Complete a running scan with its findings: new findings become open violations
/// (`violation.detected`, and `issue.critical` for critical ones), open violations not
/// found again are resolved (`violation.resolved`), then `scan.completed` reports the
/// counts. Accepts scanhook's JSON or a SARIF 2.1.0 log (`application/sarif+json`).
#[utoipa::path(post, path = "/v1/scans/{id}/complete", tag = "scans", params(("id" = String, Path)),
    request_body(content = Option<ScanCompleteIn>, content_type = "application/json"),
    responses((status = 200, body = ScanCompleteOut), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 413, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn complete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    _slot: ReportSlot,
    RawBody(body): RawBody,
) -> Result<Json<ScanCompleteOut>, ApiError> {
    let scan_id: ScanId = path_id(&id, "scan")?;
    // Its root makes the report's absolute paths relative; a scan that ended is refused
    // by the store, which checks again in the unit of work.
    let scan = state.store().get_scan(&caller.account, &scan_id).await.map_err(named("scan", &id))?;
    let root = scan.root.as_deref().map(path::parse_root).transpose().map_err(|e| ApiError::invalid("root", e.0))?;
    let report = report(&headers, &body, root.as_deref())?;
    let outcome = state.engine.complete_scan(&caller.account, &scan_id, report).await.map_err(named("scan", &id))?;
    Ok(Json(ScanCompleteOut {
        scan: scan_out(outcome.scan),
        detected: outcome.detected,
        reopened: outcome.reopened,
        resolved: outcome.resolved,
        open: outcome.open,
    }))
}

/// Report a running scan's progress; emits `scan.progress` at most once per scan every 5 s.
#[utoipa::path(post, path = "/v1/scans/{id}/progress", tag = "scans", params(("id" = String, Path)), request_body = ScanProgressIn,
    responses((status = 200, body = ScanProgressOut), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn progress(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ScanProgressIn>,
) -> Result<Json<ScanProgressOut>, ApiError> {
    let scan_id: ScanId = path_id(&id, "scan")?;
    if input.percent > 100 {
        return Err(ApiError::invalid("percent", "percent must be between 0 and 100"));
    }
    let progress = ScanProgress {
        percent: input.percent,
        files_scanned: parse_files_scanned(input.files_scanned)?,
        message: input.message.map(|m| text("message", &m, 2000)).transpose()?,
        min_interval: chrono::Duration::seconds(PROGRESS_INTERVAL_SECS),
    };
    let (scan, sent) =
        state.engine.record_progress(&caller.account, &scan_id, progress).await.map_err(named("scan", &id))?;
    Ok(Json(ScanProgressOut { scan: scan_out(scan), percent: input.percent, sent }))
}
