//! Alerts a scanner raises itself (certificates, configuration changes); scanhook raises
//! score drops and critical issues on its own when a scan completes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use scanhook_api_types::{AlertIn, AlertOut, Problem};
use scanhook_core::scan::Severity;
use scanhook_core::scan::events::{Alert, RAISED_ALERT_TYPES, alert_triggered};
use scanhook_core::{AlertId, ProjectId};
use scanhook_engine::IncomingEvent;

use super::text;
use crate::auth::Caller;
use crate::error::{ApiError, named};
use crate::extract::{ApiJson, path_id};
use crate::state::AppState;

/// Raise an alert for a project; emits `alert.triggered`.
#[utoipa::path(post, path = "/v1/alerts", tag = "alerts", request_body = AlertIn,
    responses((status = 202, body = AlertOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn raise(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<AlertIn>,
) -> Result<(StatusCode, Json<AlertOut>), ApiError> {
    if !RAISED_ALERT_TYPES.contains(&input.alert_type.as_str()) {
        return Err(ApiError::invalid(
            "alert_type",
            format!("'{}' is not an alert type a scanner raises ({})", input.alert_type, RAISED_ALERT_TYPES.join(", ")),
        ));
    }
    let severity = Severity::parse(&input.severity).map_err(|e| ApiError::invalid("severity", e.0))?;
    let (title, message) = (text("title", &input.title, 200)?, text("message", &input.message, 2000)?);
    let project_id: ProjectId = path_id(&input.project, "project")?;
    let project =
        state.store().get_project(&caller.account, &project_id).await.map_err(named("project", &input.project))?;
    let id = AlertId::generate();
    let (event_type, data) = alert_triggered(&Alert {
        id: &id,
        alert_type: &input.alert_type,
        severity,
        project: &project.id,
        domain: project.target.as_deref(),
        title: &title,
        message: &message,
        old_value: input.old_value,
        new_value: input.new_value,
        score: None,
        grade: None,
        at: state.now(),
    });
    let scope = scanhook_store::EventScope::project(&project.id);
    let event = IncomingEvent { event_type, data: data.to_string(), idempotency: None, target: None, scope };
    let event = state.engine.accept_event(&caller.account, event).await?.into_event();
    Ok((
        StatusCode::ACCEPTED,
        Json(AlertOut { alert_id: id.to_string(), event_id: event.id.to_string(), deliveries: event.delivery_count }),
    ))
}
