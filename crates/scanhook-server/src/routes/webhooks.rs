//! Webhook endpoints: CRUD, enabling, test events and replay of dead letters.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use scanhook_api_types::{
    EnableIn, ListOut, Problem, ReplayIn, ReplayOut, RotateSecretIn, RotateSecretOut, TestIn, TestOut, WebhookIn,
    WebhookOut, WebhookPatch,
};
use scanhook_core::audit::AuditAction;
use scanhook_core::catalogue;
use scanhook_core::format::{DeliveryFormat, Kind, Signature};
use scanhook_core::network;
use scanhook_core::scan::Severity;
use scanhook_core::subscription::{MAX_EVENT_PATTERNS, MAX_PROJECTS};
use scanhook_core::webhook::REDACTED;
use scanhook_core::{
    EventPattern, EventType, ExtraHeaders, ProjectId, SecretKind, WebhookId, WebhookSecret, WebhookUrl,
};
use scanhook_engine::{IncomingEvent, ValidateError};
use scanhook_store::{DeliveryFilter, Missed, NewWebhook, Page, Webhook};
use serde_json::{Map, Value};

use super::PageQuery;
use super::audit::{self, snapshot};
use crate::auth::Caller;
use crate::error::{ApiError, named};
use crate::extract::{ApiJson, ApiQuery, OptionalJson, path_id};
use crate::state::AppState;

pub fn webhook_out(w: Webhook, show_secret: bool, now: DateTime<Utc>) -> WebhookOut {
    // An Ed25519 endpoint shows its public keys on every read and its secret key never.
    let ed25519 = SecretKind::of(&w.format.signature) == SecretKind::Ed25519;
    let previous = w.previous_secret.as_ref().filter(|(_, until)| *until > now).map(|(old, _)| old);
    let public_key = ed25519.then(|| w.secret.public_key()).flatten();
    let previous_public_key = previous.filter(|_| ed25519).and_then(WebhookSecret::public_key);
    let secret = (show_secret && !ed25519).then(|| w.secret.expose().to_string());
    let (max_in_flight, rate) = (w.format.max_in_flight(), w.format.rate());
    WebhookOut {
        id: w.id.to_string(),
        url: w.url.as_str().to_string(),
        events: w.events,
        active: w.active,
        description: w.description,
        headers: w.headers.redacted(),
        sensitive_headers: w.headers.sensitive_names(),
        projects: w.projects,
        min_severity: w.min_severity,
        signature: w.format.signature,
        bearer_token_set: w.format.bearer_token.is_some(),
        timeout: w.format.timeout_secs,
        kind: w.format.kind,
        template: w.format.template,
        extra_payload: w.format.extra_payload.map(serde_json::Value::Object),
        header_prefix: w.format.header_prefix,
        body_json: w.format.body_json,
        cloudevents: w.format.cloudevents,
        previous_secret_expires_at: w.previous_secret.map(|(_, until)| until).filter(|until| *until > now),
        disabled_reason: w.disabled_reason,
        disabled_at: w.disabled_at,
        consecutive_failures: w.consecutive_failures,
        max_in_flight,
        rate_limit: rate.map(|r| r.per_second),
        rate_limit_burst: rate.map(|r| r.burst),
        ordering: w.format.ordering,
        retry_not_before: w.retry_not_before.filter(|until| *until > now),
        created_at: w.created_at,
        updated_at: w.updated_at,
        secret,
        public_key,
        previous_public_key,
    }
}

fn parse_url(state: &AppState, raw: &str) -> Result<WebhookUrl, ApiError> {
    let url = WebhookUrl::parse(raw).map_err(|e| ApiError::invalid("url", e.0))?;
    if !state.engine.config().allow_private_networks {
        // A name is checked again each time it is resolved; this catches the obvious now.
        let host = url::Url::parse(url.as_str()).ok().and_then(|u| u.host_str().map(str::to_string));
        network::check_host(&host.unwrap_or_default()).map_err(|e| ApiError::invalid("url", e.0))?;
    }
    Ok(url)
}

fn parse_events(raw: Vec<String>) -> Result<Vec<String>, ApiError> {
    if raw.is_empty() {
        return Err(ApiError::invalid("events", "events must list at least one event type, 'prefix.*' or '*'"));
    }
    if raw.len() > MAX_EVENT_PATTERNS {
        return Err(ApiError::invalid(
            "events",
            format!("events lists {} patterns; at most {MAX_EVENT_PATTERNS} are allowed", raw.len()),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for (i, pattern) in raw.into_iter().enumerate() {
        EventPattern::parse(&pattern).map_err(|e| ApiError::invalid(&format!("events[{i}]"), e.0))?;
        if !out.contains(&pattern) {
            out.push(pattern);
        }
    }
    Ok(out)
}

/// Project IDs of the caller's own projects: a filter naming a project that does not
/// exist would silently match nothing.
async fn parse_projects(state: &AppState, caller: &Caller, raw: Vec<String>) -> Result<Vec<String>, ApiError> {
    if raw.len() > MAX_PROJECTS {
        return Err(ApiError::invalid(
            "projects",
            format!("projects lists {} IDs; at most {MAX_PROJECTS} are allowed", raw.len()),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for (i, id) in raw.into_iter().enumerate() {
        if out.contains(&id) {
            continue;
        }
        let field = format!("projects[{i}]");
        let project = id.parse::<ProjectId>().map_err(|e| ApiError::invalid(&field, e.0))?;
        match state.store().get_project(&caller.account, &project).await {
            Ok(_) => {}
            Err(scanhook_store::StoreError::NotFound) => {
                return Err(ApiError::invalid(&field, format!("there is no project {id}")));
            }
            Err(e) => return Err(e.into()),
        }
        out.push(id);
    }
    Ok(out)
}

fn parse_severity(raw: String) -> Result<Severity, ApiError> {
    Severity::parse(&raw).map_err(|e| ApiError::invalid("min_severity", e.0))
}

fn parse_headers(raw: BTreeMap<String, String>, sensitive: Vec<String>) -> Result<ExtraHeaders, ApiError> {
    let field = if sensitive.iter().any(|name| !raw.keys().any(|h| h.eq_ignore_ascii_case(name))) {
        "sensitive_headers"
    } else {
        "headers"
    };
    ExtraHeaders::parse(raw, sensitive).map_err(|e| ApiError::invalid(field, e.0))
}

/// The headers of a patch: a sensitive value sent back as `[redacted]` (as reads show it)
/// keeps the current value; marks not given stay on the headers that remain.
fn patched_headers(
    current: &ExtraHeaders,
    headers: Option<BTreeMap<String, String>>,
    sensitive: Option<Vec<String>>,
) -> Result<ExtraHeaders, ApiError> {
    let mut headers = headers.unwrap_or_else(|| current.0.clone());
    for (name, value) in headers.iter_mut() {
        if value == REDACTED
            && let Some((_, kept)) = current.0.iter().find(|(h, _)| h.eq_ignore_ascii_case(name))
        {
            value.clone_from(kept);
        }
    }
    let sensitive = sensitive.unwrap_or_else(|| {
        current.1.iter().filter(|m| headers.keys().any(|h| h.eq_ignore_ascii_case(m))).cloned().collect()
    });
    parse_headers(headers, sensitive)
}

fn parse_extra_payload(raw: serde_json::Value) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    match raw {
        serde_json::Value::Object(map) => Ok(map),
        other => Err(ApiError::invalid("extra_payload", format!("extra_payload must be a JSON object, not {other}"))),
    }
}

/// Checks the format, and that no extra header would override one the deliveries set
/// themselves (the signature, the content type, ...).
fn checked(state: &AppState, format: DeliveryFormat, headers: &ExtraHeaders) -> Result<DeliveryFormat, ApiError> {
    if format.template.is_some() && !state.engine.config().allow_templates {
        return Err(ApiError::invalid("template", scanhook_engine::TEMPLATES_OFF));
    }
    format.validate().map_err(|(field, e)| ApiError::invalid(field, e.0))?;
    let own = format.own_headers(&state.engine.config().header_prefix);
    if let Some(name) = headers.0.keys().find(|name| own.contains(&name.to_ascii_lowercase())) {
        return Err(ApiError::invalid(
            "headers",
            format!("header '{name}' is set by scanhook for this endpoint and cannot be overridden"),
        ));
    }
    Ok(format)
}

fn parse_description(raw: Option<String>) -> Result<Option<String>, ApiError> {
    match raw {
        Some(d) if d.chars().count() > 1000 => {
            Err(ApiError::invalid("description", "description is longer than 1000 characters"))
        }
        other => Ok(other),
    }
}

/// The user's secret for `signature`, checked to be of the kind it signs with, or a new one.
fn secret_for(signature: &Signature, given: Option<String>) -> Result<WebhookSecret, ApiError> {
    let kind = SecretKind::of(signature);
    match given {
        Some(s) => WebhookSecret::parse_for(&s, kind).map_err(|e| ApiError::invalid("secret", e.0)),
        None => Ok(WebhookSecret::generate_for(kind)),
    }
}

/// The caller's endpoint `id`, if the caller may see it: NotFound otherwise.
pub(super) async fn find(state: &AppState, caller: &Caller, id: &str) -> Result<Webhook, ApiError> {
    let webhook_id: WebhookId = path_id(id, "webhook")?;
    let webhook = state.store().get_webhook(&caller.account, &webhook_id).await.map_err(named("webhook", id))?;
    // An event-limited session sees only endpoints within its limits (auth.rs).
    if !caller.may_see(&webhook.events) {
        return Err(ApiError::not_found("webhook", id));
    }
    Ok(webhook)
}

/// Create a webhook endpoint. The secret is shown only in this answer.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = WebhookIn,
    responses((status = 201, body = WebhookOut), (status = 400, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<WebhookIn>,
) -> Result<(StatusCode, Json<WebhookOut>), ApiError> {
    let headers = parse_headers(input.headers.unwrap_or_default(), input.sensitive_headers.unwrap_or_default())?;
    let format = DeliveryFormat {
        signature: input.signature.unwrap_or_default(),
        bearer_token: input.bearer_token,
        timeout_secs: input.timeout,
        kind: input.kind.unwrap_or_default(),
        template: input.template,
        extra_payload: input.extra_payload.map(parse_extra_payload).transpose()?,
        header_prefix: input.header_prefix,
        body_json: input.body_json.unwrap_or_default(),
        cloudevents: input.cloudevents,
        max_in_flight: input.max_in_flight,
        rate_limit: input.rate_limit,
        rate_limit_burst: input.rate_limit_burst,
        ordering: input.ordering.unwrap_or_default(),
    };
    let format = checked(&state, format, &headers)?;
    caller.may_subscribe(&input.events)?;
    let new = NewWebhook {
        id: WebhookId::generate(),
        url: parse_url(&state, &input.url)?,
        events: parse_events(input.events)?,
        secret: secret_for(&format.signature, input.secret)?,
        description: parse_description(input.description)?,
        headers,
        active: input.active.unwrap_or(true),
        projects: parse_projects(&state, &caller, input.projects.unwrap_or_default()).await?,
        min_severity: input.min_severity.map(parse_severity).transpose()?,
        format,
    };
    // Last, once everything else is known to be valid: it makes a request.
    if input.validate == Some(true) {
        state.engine.validate_endpoint(new.url.as_str()).await.map_err(|e| match e {
            ValidateError::Off => ApiError::invalid("validate", e.to_string()),
            ValidateError::Refused(why) => ApiError::invalid("url", why),
        })?;
    }
    let webhook = state.store().create_webhook(&caller.account, new, state.limits.max_webhooks, state.now()).await?;
    let view = snapshot(&webhook_out(webhook.clone(), false, state.now()));
    audit::record(&state, &caller, AuditAction::WebhookCreated, webhook.id.as_str(), view).await;
    Ok((StatusCode::CREATED, Json(webhook_out(webhook, true, state.now()))))
}

/// List the account's webhook endpoints.
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks", params(PageQuery),
    responses((status = 200, body = ListOut<WebhookOut>)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<ListOut<WebhookOut>>, ApiError> {
    let page: Page = query.page()?;
    let paged = state.store().list_webhooks(&caller.account, page).await?;
    Ok(Json(ListOut {
        // An event-limited session's pages may be short: others' endpoints are left out.
        data: paged
            .items
            .into_iter()
            .filter(|w| caller.may_see(&w.events))
            .map(|w| webhook_out(w, false, state.now()))
            .collect(),
        next_cursor: paged.next_cursor,
    }))
}

/// Get one webhook endpoint.
#[utoipa::path(get, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = WebhookOut), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<WebhookOut>, ApiError> {
    Ok(Json(webhook_out(find(&state, &caller, &id).await?, false, state.now())))
}

/// Change some fields of a webhook endpoint.
///
/// A change of `signature` between `standard-ed25519` and a scheme with a shared secret
/// replaces the secret with a new one of the right kind at once (a shared one is in this
/// answer only) and ends a rotation's grace period: the old secret cannot sign under the
/// new scheme.
#[utoipa::path(patch, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)), request_body = WebhookPatch,
    responses((status = 200, body = WebhookOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<WebhookPatch>,
) -> Result<Json<WebhookOut>, ApiError> {
    // The format is one document in the store: merge the changed fields into the current one.
    let touches_format = input.signature.is_some()
        || input.bearer_token.is_some()
        || input.timeout.is_some()
        || input.kind.is_some()
        || input.template.is_some()
        || input.extra_payload.is_some()
        || input.header_prefix.is_some()
        || input.body_json.is_some()
        || input.cloudevents.is_some()
        || input.max_in_flight.is_some()
        || input.rate_limit.is_some()
        || input.rate_limit_burst.is_some()
        || input.ordering.is_some()
        || input.headers.is_some()
        || input.sensitive_headers.is_some();
    if caller.event_limits.is_some() && !touches_format {
        find(&state, &caller, &id).await?;
    }
    let current = if touches_format { Some(find(&state, &caller, &id).await?) } else { None };
    if let Some(events) = &input.events {
        caller.may_subscribe(events)?;
    }
    let headers = match &current {
        Some(current) if input.headers.is_some() || input.sensitive_headers.is_some() => {
            Some(patched_headers(&current.headers, input.headers, input.sensitive_headers)?)
        }
        _ => None,
    };
    // A change between a shared secret's scheme and Ed25519 needs a secret of the new kind.
    let mut secret = None;
    let format = if let Some(current) = current {
        let mut format = current.format;
        if let Some(signature) = input.signature {
            if SecretKind::of(&signature) != current.secret.kind() {
                secret = Some(WebhookSecret::generate_for(SecretKind::of(&signature)));
            }
            format.signature = signature;
        }
        if let Some(token) = input.bearer_token {
            format.bearer_token = token;
        }
        if let Some(timeout) = input.timeout {
            format.timeout_secs = timeout;
        }
        if let Some(kind) = input.kind {
            // Settings of one kind do not carry over to another.
            if kind != format.kind && kind != Kind::Cloudevents {
                format.cloudevents = None;
            }
            format.kind = kind;
        }
        if let Some(settings) = input.cloudevents {
            format.cloudevents = settings;
        }
        if let Some(template) = input.template {
            format.template = template;
        }
        if let Some(extra) = input.extra_payload {
            format.extra_payload = extra.map(parse_extra_payload).transpose()?;
        }
        if let Some(prefix) = input.header_prefix {
            format.header_prefix = prefix;
        }
        if let Some(body_json) = input.body_json {
            format.body_json = body_json;
        }
        if let Some(max) = input.max_in_flight {
            format.max_in_flight = max;
        }
        if let Some(rate) = input.rate_limit {
            // Without a rate, a burst means nothing: removing one removes both.
            if rate.is_none() {
                format.rate_limit_burst = None;
            }
            format.rate_limit = rate;
        }
        if let Some(burst) = input.rate_limit_burst {
            format.rate_limit_burst = burst;
        }
        if let Some(ordering) = input.ordering {
            format.ordering = ordering.unwrap_or_default();
        }
        Some(checked(&state, format, headers.as_ref().unwrap_or(&current.headers))?)
    } else {
        None
    };
    let patch = scanhook_store::WebhookPatch {
        url: input.url.as_deref().map(|u| parse_url(&state, u)).transpose()?,
        events: input.events.map(parse_events).transpose()?,
        description: input.description.map(parse_description).transpose()?,
        headers,
        active: input.active,
        projects: match input.projects {
            Some(p) => Some(parse_projects(&state, &caller, p).await?),
            None => None,
        },
        min_severity: input.min_severity.map(|m| m.map(parse_severity).transpose()).transpose()?,
        format,
        secret,
    };
    apply(&state, &caller, &id, patch).await
}

/// Applies `patch`; its answer shows a new shared secret once (an Ed25519 one shows only
/// its public key, as every read does).
async fn apply(
    state: &AppState,
    caller: &Caller,
    id: &str,
    patch: scanhook_store::WebhookPatch,
) -> Result<Json<WebhookOut>, ApiError> {
    let show_secret = patch.secret.is_some();
    let webhook_id: WebhookId = path_id(id, "webhook")?;
    let before = find(state, caller, id).await?;
    let webhook = state
        .store()
        .update_webhook(&caller.account, &webhook_id, patch, state.now())
        .await
        .map_err(named("webhook", id))?;
    let action = match (before.active, webhook.active) {
        (false, true) => AuditAction::WebhookEnabled,
        (true, false) => AuditAction::WebhookDisabled,
        _ => AuditAction::WebhookUpdated,
    };
    audit::record(state, caller, action, id, webhook_changes(&before, &webhook, state.now())).await;
    Ok(Json(webhook_out(webhook, show_secret, state.now())))
}

/// What an update changed, for the audit log: the fields that differ as the API shows
/// them, plus every secret that changed unseen there (the bearer token, the signing
/// secret, sensitive header values), shown only as changed.
fn webhook_changes(before: &Webhook, after: &Webhook, now: DateTime<Utc>) -> Map<String, Value> {
    // A pause is the receiver's doing, not the caller's: it may begin between the two reads.
    let view = |w: &Webhook| serde_json::to_value(webhook_out(w.clone(), false, now)).unwrap_or_default();
    let mut changes = scanhook_core::audit::changes(&view(before), &view(after), &["updated_at", "retry_not_before"]);
    let mut hidden = |field: String, changed: bool| {
        if changed {
            changes.insert(field, Value::String(REDACTED.into()));
        }
    };
    hidden("bearer_token".into(), before.format.bearer_token != after.format.bearer_token);
    hidden("secret".into(), before.secret != after.secret);
    for (name, value) in &after.headers.0 {
        if after.headers.is_sensitive(name) {
            hidden(format!("headers.{name}"), before.headers.0.get(name).is_some_and(|old| old != value));
        }
    }
    changes
}

/// Delete a webhook endpoint and its delivery log.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let webhook = find(&state, &caller, &id).await?;
    state.store().delete_webhook(&caller.account, &webhook.id).await.map_err(named("webhook", &id))?;
    let url = Map::from_iter([("url".to_string(), Value::String(webhook.url.as_str().into()))]);
    audit::record(&state, &caller, AuditAction::WebhookDeleted, &id, url).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Re-enable an endpoint (clears an automatic disable and its failure count). Events
/// accepted while scanhook had disabled it are delivered, oldest first, with
/// `replay_missed: true`; otherwise they become dead deliveries that `/replay` can send.
#[utoipa::path(post, path = "/v1/webhooks/{id}/enable", tag = "webhooks", params(("id" = String, Path)), request_body = EnableIn,
    responses((status = 200, body = WebhookOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn enable(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalJson(input): OptionalJson<EnableIn>,
) -> Result<Json<WebhookOut>, ApiError> {
    let webhook_id: WebhookId = path_id(&id, "webhook")?;
    let before = find(&state, &caller, &id).await?;
    let missed = if input.replay_missed {
        Missed::Replay
    } else {
        Missed::GiveUp(scanhook_store::NOT_SENT_WHILE_DISABLED.into())
    };
    let webhook =
        state.engine.enable_webhook(&caller.account, &webhook_id, missed).await.map_err(named("webhook", &id))?;
    let mut changes = webhook_changes(&before, &webhook, state.now());
    changes.insert("replay_missed".into(), Value::Bool(input.replay_missed));
    audit::record(&state, &caller, AuditAction::WebhookEnabled, &id, changes).await;
    Ok(Json(webhook_out(webhook, false, state.now())))
}

/// Send a test event to this endpoint only, even when it is disabled (so a fix can be
/// checked before re-enabling): `webhook.test`, or with `type` that type's catalogue
/// example, each with `"test": true` in its data.
#[utoipa::path(post, path = "/v1/webhooks/{id}/test", tag = "webhooks", params(("id" = String, Path)), request_body = Option<TestIn>,
    responses((status = 202, body = TestOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn test(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalJson(input): OptionalJson<TestIn>,
) -> Result<(StatusCode, Json<TestOut>), ApiError> {
    let webhook = find(&state, &caller, &id).await?;
    let wanted = input.event_type.unwrap_or_else(|| catalogue::WEBHOOK_TEST.to_string());
    let Some(entry) = catalogue::catalogue().into_iter().find(|e| e.event_type == wanted) else {
        return Err(ApiError::invalid(
            "type",
            format!("'{wanted}' is not an event type of the catalogue (GET /v1/event-types)"),
        ));
    };
    let mut data = entry.example;
    data["test"] = serde_json::Value::Bool(true);
    if entry.event_type == catalogue::WEBHOOK_TEST {
        data["webhook_id"] = serde_json::Value::String(webhook.id.to_string());
    }
    let event = IncomingEvent {
        event_type: EventType::from_trusted(entry.event_type.to_string()),
        data: data.to_string(),
        idempotency: None,
        target: Some(webhook.id.clone()),
        scope: scanhook_store::EventScope::default(),
    };
    let event = state.engine.accept_event(&caller.account, event).await.map_err(named("webhook", &id))?.into_event();
    let filter = DeliveryFilter { event_id: Some(event.id.clone()), ..Default::default() };
    let deliveries = state.store().list_deliveries(&caller.account, filter, Page { limit: 1, cursor: None }).await?;
    let delivery = deliveries
        .items
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::Internal("the test delivery was not created".into()))?;
    Ok((StatusCode::ACCEPTED, Json(TestOut { event_id: event.id.to_string(), delivery_id: delivery.id.to_string() })))
}

/// Queue this endpoint's dead deliveries for a new round of attempts.
#[utoipa::path(post, path = "/v1/webhooks/{id}/replay", tag = "webhooks", params(("id" = String, Path)), request_body = Option<ReplayIn>,
    responses((status = 202, body = ReplayOut), (status = 404, body = Problem)))]
pub async fn replay(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalJson(input): OptionalJson<ReplayIn>,
) -> Result<(StatusCode, Json<ReplayOut>), ApiError> {
    let webhook_id: WebhookId = path_id(&id, "webhook")?;
    if caller.event_limits.is_some() {
        find(&state, &caller, &id).await?;
    }
    let requeued =
        state.engine.replay_dead(&caller.account, &webhook_id, input.since).await.map_err(named("webhook", &id))?;
    let changes = Map::from_iter([
        ("requeued".to_string(), Value::from(requeued)),
        ("since".to_string(), serde_json::to_value(input.since).unwrap_or_default()),
    ]);
    audit::record(&state, &caller, AuditAction::WebhookReplayed, &id, changes).await;
    Ok((StatusCode::ACCEPTED, Json(ReplayOut { requeued })))
}

/// Longest grace period of a rotation: a week.
const MAX_GRACE_SECS: u64 = 7 * 24 * 3600;

/// Replace the signing secret. The new one is shown only in this answer (for
/// `standard-ed25519` its public key instead); for the grace period (default 24 h)
/// deliveries are signed with both, so receivers can switch at any time within it.
#[utoipa::path(post, path = "/v1/webhooks/{id}/rotate-secret", tag = "webhooks", params(("id" = String, Path)),
    request_body = Option<RotateSecretIn>,
    responses((status = 200, body = RotateSecretOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalJson(input): OptionalJson<RotateSecretIn>,
) -> Result<Json<RotateSecretOut>, ApiError> {
    let webhook_id: WebhookId = path_id(&id, "webhook")?;
    let secret = secret_for(&find(&state, &caller, &id).await?.format.signature, input.secret)?;
    let grace = input.grace_period.unwrap_or(24 * 3600);
    if grace > MAX_GRACE_SECS {
        return Err(ApiError::invalid("grace_period", format!("grace_period is at most {MAX_GRACE_SECS} seconds")));
    }
    let now = state.now();
    // Whole milliseconds, as the store keeps time.
    let until = now + chrono::Duration::seconds(grace as i64);
    let until = DateTime::from_timestamp_millis(until.timestamp_millis()).unwrap_or(until);
    let webhook = state
        .store()
        .rotate_webhook_secret(&caller.account, &webhook_id, secret, until, now)
        .await
        .map_err(named("webhook", &id))?;
    let changes = Map::from_iter([
        ("secret".to_string(), Value::String(REDACTED.into())),
        ("previous_secret_expires_at".to_string(), serde_json::to_value(until).unwrap_or_default()),
    ]);
    audit::record(&state, &caller, AuditAction::WebhookSecretRotated, &id, changes).await;
    let out = webhook_out(webhook, true, now);
    Ok(Json(RotateSecretOut { secret: out.secret, public_key: out.public_key, previous_secret_expires_at: until }))
}
