//! Portal links: a one-time URL that signs its holder into the dashboard for one account,
//! optionally read-only and limited to some event types. Made with an API key only, so a
//! session cannot lengthen itself by minting the next one.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use scanhook_api_types::{PortalLinkIn, PortalLinkOut, Problem};
use scanhook_core::audit::AuditAction;
use scanhook_core::session::{MAX_EVENT_LIMITS, PORTAL_LINK_DEFAULT, PORTAL_LINK_MAX, Token};
use scanhook_core::{AccountId, EventPattern};
use scanhook_store::PortalLink;
use serde_json::{Map, Value};

use super::audit;

use crate::auth::Caller;
use crate::error::{ApiError, named};
use crate::extract::{OptionalJson, path_id};
use crate::state::AppState;

/// The path a portal link opens on the dashboard, before its token.
pub const PORTAL_PATH: &str = "/portal/";

fn event_types(raw: Option<Vec<String>>) -> Result<Option<Vec<String>>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    if raw.is_empty() || raw.len() > MAX_EVENT_LIMITS {
        return Err(ApiError::invalid("event_types", format!("event_types must list 1 to {MAX_EVENT_LIMITS} types")));
    }
    for pattern in &raw {
        EventPattern::parse(pattern).map_err(|e| ApiError::invalid("event_types", e.0))?;
    }
    Ok(Some(raw))
}

/// Create a one-time link that signs its holder into the dashboard for one account.
///
/// The link is valid once, for `expires_in` seconds (default 600). Its session sees only
/// that account; `read_only` refuses every change; `event_types` limits it to endpoints
/// subscribed within those types and their deliveries. Only an API key may make one.
#[utoipa::path(post, path = "/v1/portal-links", tag = "portal", request_body = Option<PortalLinkIn>,
    responses((status = 201, body = PortalLinkOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    OptionalJson(input): OptionalJson<PortalLinkIn>,
) -> Result<(StatusCode, Json<PortalLinkOut>), ApiError> {
    if caller.session {
        return Err(ApiError::Forbidden("portal links are made with an API key, not from a dashboard session"));
    }
    let account = match &input.account_id {
        None => caller.account.clone(),
        Some(raw) => {
            let id: AccountId =
                path_id(raw, "account").map_err(|_| ApiError::invalid("account_id", "not an account ID"))?;
            if id != caller.account && !caller.is_admin {
                return Err(ApiError::Forbidden("only the admin API key may make portal links for another account"));
            }
            id
        }
    };
    let expires_in = match input.expires_in {
        None => PORTAL_LINK_DEFAULT,
        Some(secs) => {
            let secs = chrono::Duration::seconds(i64::from(secs));
            let min = state.dashboard.portal_link_min;
            if secs < min || secs > PORTAL_LINK_MAX {
                let message =
                    format!("expires_in must be {} to {} seconds", min.num_seconds(), PORTAL_LINK_MAX.num_seconds());
                return Err(ApiError::Invalid { field: Some("expires_in".into()), message });
            }
            secs
        }
    };
    let token = Token::portal();
    let now = state.now();
    let link = PortalLink {
        token_hash: token.hash(),
        account_id: account,
        key_id: caller.key_id.clone(),
        read_only: input.read_only.unwrap_or(false),
        event_types: event_types(input.event_types)?,
        created_at: now,
        expires_at: now + expires_in,
    };
    let expires_at = link.expires_at;
    let target = link.account_id.to_string();
    let changes = Map::from_iter([
        ("read_only".to_string(), Value::Bool(link.read_only)),
        ("event_types".to_string(), serde_json::to_value(&link.event_types).unwrap_or_default()),
        ("expires_at".to_string(), Value::String(expires_at.to_rfc3339())),
    ]);
    let account_id = input.account_id.unwrap_or_default();
    state.store().create_portal_link(link).await.map_err(named("account", &account_id))?;
    audit::record(&state, &caller, AuditAction::PortalLinkCreated, &target, changes).await;
    let base = &state.engine.config().public_url;
    let url = base
        .join(&format!("{}{}", PORTAL_PATH.trim_start_matches('/'), token.expose()))
        .map_err(|e| ApiError::Internal(Box::new(e)))?;
    Ok((StatusCode::CREATED, Json(PortalLinkOut { url: url.to_string(), expires_at })))
}
