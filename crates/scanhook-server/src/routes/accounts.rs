//! Accounts (admin key only) and an account's own API keys.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use scanhook_api_types::{
    AccountIn, AccountOut, AccountPatch, ApiKeyIn, ApiKeyOut, ListOut, MAX_BATCH_EVENTS, Problem,
};
use scanhook_core::audit::AuditAction;
use scanhook_core::{AccountId, ApiKey, ApiKeyId};
use scanhook_store::{Account, ApiKeyRecord, IngestQuota, NewAccount, NewApiKey};
use serde_json::{Map, Value};

use super::audit::{self, snapshot};
use super::{PageQuery, text};
use crate::auth::Caller;
use crate::error::{ApiError, named};
use crate::extract::{ApiJson, ApiQuery, OptionalJson, path_id};
use crate::state::AppState;

fn key_out(record: ApiKeyRecord, key: Option<&ApiKey>) -> ApiKeyOut {
    ApiKeyOut {
        id: record.id.to_string(),
        name: record.name,
        prefix: record.prefix,
        created_at: record.created_at,
        key: key.map(|k| k.expose().to_string()),
    }
}

fn new_key(name: String) -> (ApiKey, NewApiKey) {
    let key = ApiKey::generate();
    let record = NewApiKey { id: ApiKeyId::generate(), name, key_hash: key.hash(), prefix: key.prefix() };
    (key, record)
}

fn account_out(account: Account) -> AccountOut {
    AccountOut {
        id: account.id.to_string(),
        name: account.name,
        is_admin: account.is_admin,
        created_at: account.created_at,
        ingest_rate: account.ingest_limit.map(|l| l.per_second),
        ingest_burst: account.ingest_limit.map(|l| l.burst),
        api_key: None,
    }
}

/// Only the admin key (and its sessions) may see or create accounts.
fn admin_only(caller: &Caller, what: &'static str) -> Result<(), ApiError> {
    if caller.is_admin { Ok(()) } else { Err(ApiError::Forbidden(what)) }
}

/// List every account, newest first (the admin key only).
#[utoipa::path(get, path = "/v1/accounts", tag = "accounts", params(PageQuery),
    responses((status = 200, body = ListOut<AccountOut>), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_accounts(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<ListOut<AccountOut>>, ApiError> {
    admin_only(&caller, "only the admin API key may list accounts")?;
    let paged = state.store().list_accounts(query.page()?).await?;
    Ok(Json(ListOut { data: paged.items.into_iter().map(account_out).collect(), next_cursor: paged.next_cursor }))
}

/// Get one account (the admin key only).
#[utoipa::path(get, path = "/v1/accounts/{id}", tag = "accounts", params(("id" = String, Path, description = "Account ID")),
    responses((status = 200, body = AccountOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<AccountOut>, ApiError> {
    admin_only(&caller, "only the admin API key may read accounts")?;
    let account_id: AccountId = path_id(&id, "account")?;
    let account = state.store().get_account(&account_id).await.map_err(named("account", &id))?;
    Ok(Json(account_out(account)))
}

/// Most events per second an account's own ingest limit may allow, and most at once.
const MAX_INGEST_RATE: u32 = 100_000;
const MAX_INGEST_BURST: u32 = 1_000_000;

/// The account's own ingest limit a patch asks for: `Some(None)` returns it to the
/// deployment's, `None` leaves it as it is.
fn ingest_limit(patch: &AccountPatch) -> Result<Option<Option<IngestQuota>>, ApiError> {
    let rate = match patch.ingest_rate {
        None if patch.ingest_burst.is_some() => {
            return Err(ApiError::invalid("ingest_burst", "give ingest_rate with it"));
        }
        None => return Ok(None),
        Some(None) if patch.ingest_burst.is_some() => {
            return Err(ApiError::invalid(
                "ingest_burst",
                "an account on the deployment's limit has no burst of its own",
            ));
        }
        Some(None) => return Ok(Some(None)),
        Some(Some(rate)) if !(1..=MAX_INGEST_RATE).contains(&rate) => {
            return Err(ApiError::invalid("ingest_rate", format!("must be 1 to {MAX_INGEST_RATE} events per second")));
        }
        Some(Some(rate)) => rate,
    };
    let burst = patch.ingest_burst.unwrap_or(rate.max(MAX_BATCH_EVENTS as u32));
    if !(1..=MAX_INGEST_BURST).contains(&burst) {
        return Err(ApiError::invalid("ingest_burst", format!("must be 1 to {MAX_INGEST_BURST} events")));
    }
    Ok(Some(Some(IngestQuota { per_second: rate, burst })))
}

/// Change an account (the admin key only): its own ingest limit. It applies at once on
/// the node that answers and within 10 s on the others.
#[utoipa::path(patch, path = "/v1/accounts/{id}", tag = "accounts", request_body = AccountPatch,
    params(("id" = String, Path, description = "Account ID")),
    responses((status = 200, body = AccountOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn update_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<AccountPatch>,
) -> Result<Json<AccountOut>, ApiError> {
    admin_only(&caller, "only the admin API key may change accounts")?;
    let account_id: AccountId = path_id(&id, "account")?;
    let store = state.store();
    let before = store.get_account(&account_id).await.map_err(named("account", &id))?;
    let Some(limit) = ingest_limit(&patch)? else { return Ok(Json(account_out(before))) };
    if limit == before.ingest_limit {
        return Ok(Json(account_out(before)));
    }
    let after = store.set_account_ingest_limit(&account_id, limit).await.map_err(named("account", &id))?;
    state.ingest.forget(&account_id);
    let (before, after) = (account_out(before), account_out(after));
    let changes =
        scanhook_core::audit::changes(&Value::Object(snapshot(&before)), &Value::Object(snapshot(&after)), &[]);
    audit::record(&state, &caller, AuditAction::AccountUpdated, account_id.as_str(), changes).await;
    Ok(Json(after))
}

/// Create an account and its first API key (the admin key only).
#[utoipa::path(post, path = "/v1/accounts", tag = "accounts", request_body = AccountIn,
    responses((status = 201, body = AccountOut), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_account(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<AccountIn>,
) -> Result<(StatusCode, Json<AccountOut>), ApiError> {
    admin_only(&caller, "only the admin API key may create accounts")?;
    let name = text("name", &input.name, 200)?;
    let (key, record) = new_key("default".into());
    let now = state.now();
    let account =
        state.store().create_account(NewAccount { id: AccountId::generate(), name }, record.clone(), now).await?;
    let key_record = ApiKeyRecord {
        id: record.id,
        account_id: account.id.clone(),
        name: record.name,
        prefix: record.prefix,
        created_at: now,
    };
    let changes = Map::from_iter([
        ("name".to_string(), Value::String(account.name.clone())),
        ("api_key_id".to_string(), Value::String(key_record.id.to_string())),
    ]);
    audit::record(&state, &caller, AuditAction::AccountCreated, account.id.as_str(), changes).await;
    Ok((
        StatusCode::CREATED,
        Json(AccountOut {
            id: account.id.to_string(),
            api_key: Some(key_out(key_record, Some(&key))),
            ..account_out(account)
        }),
    ))
}

/// Create an API key for the caller's account; the key is shown only in this answer.
#[utoipa::path(post, path = "/v1/api-keys", tag = "api-keys", request_body = Option<ApiKeyIn>,
    responses((status = 201, body = ApiKeyOut), (status = 422, body = Problem)))]
pub async fn create_api_key(
    State(state): State<AppState>,
    caller: Caller,
    OptionalJson(input): OptionalJson<ApiKeyIn>,
) -> Result<(StatusCode, Json<ApiKeyOut>), ApiError> {
    let name = match input.name {
        Some(name) => text("name", &name, 200)?,
        None => "unnamed".into(),
    };
    let (key, record) = new_key(name);
    let stored = state.store().create_api_key(&caller.account, record, false, state.now()).await?;
    let view = snapshot(&key_out(stored.clone(), None));
    audit::record(&state, &caller, AuditAction::ApiKeyCreated, stored.id.as_str(), view).await;
    Ok((StatusCode::CREATED, Json(key_out(stored, Some(&key)))))
}

/// List the caller's API keys (without the keys themselves).
#[utoipa::path(get, path = "/v1/api-keys", tag = "api-keys",
    responses((status = 200, body = ListOut<ApiKeyOut>)))]
pub async fn list_api_keys(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ListOut<ApiKeyOut>>, ApiError> {
    let keys = state.store().list_api_keys(&caller.account).await?;
    Ok(Json(ListOut { data: keys.into_iter().map(|k| key_out(k, None)).collect(), next_cursor: None }))
}

/// Revoke one of the caller's API keys.
#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "api-keys",
    params(("id" = String, Path, description = "API key ID")),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_api_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let key_id: ApiKeyId = path_id(&id, "API key")?;
    state.store().delete_api_key(&caller.account, &key_id).await.map_err(named("API key", &id))?;
    state.keys.clear();
    audit::record(&state, &caller, AuditAction::ApiKeyRevoked, &id, Map::new()).await;
    Ok(StatusCode::NO_CONTENT)
}
