//! Who is calling: `Authorization: Bearer <key>` resolved to an account, with a short-lived
//! cache so the hot path (`POST /v1/events`) does not read the key table on every request.
//!
//! A revoked key stops working at once on the node that revoked it (the cache is cleared)
//! and within [`KEY_CACHE_TTL`] on other nodes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use scanhook_core::{AccountId, ApiKey, ApiKeyId};
use scanhook_store::KeyOwner;

use crate::error::ApiError;
use crate::state::AppState;

pub const KEY_CACHE_TTL: Duration = Duration::from_secs(10);
const MAX_CACHED_KEYS: usize = 10_000;

#[derive(Default)]
pub struct KeyCache {
    entries: Mutex<HashMap<String, (KeyOwner, Instant)>>,
}

impl KeyCache {
    fn get(&self, hash: &str) -> Option<KeyOwner> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(hash).filter(|(_, at)| at.elapsed() < KEY_CACHE_TTL).map(|(owner, _)| owner.clone())
    }

    fn put(&self, hash: String, owner: KeyOwner) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_CACHED_KEYS {
            entries.clear();
        }
        entries.insert(hash, (owner, Instant::now()));
    }

    /// Forgets every key (after one is revoked).
    pub fn clear(&self) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// The account a request acts for.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account: AccountId,
    pub is_admin: bool,
    /// The key presented, for the audit log.
    pub key_id: ApiKeyId,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or(ApiError::Unauthorized("missing 'Authorization: Bearer <API key>' header"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized("the Authorization header must be 'Bearer <API key>'"))?;
        let key = ApiKey::parse(token.trim()).map_err(|_| ApiError::Unauthorized("invalid API key"))?;
        let hash = key.hash();
        let owner = match state.keys.get(&hash) {
            Some(owner) => owner,
            None => {
                let owner =
                    state.store().find_key_owner(&hash).await?.ok_or(ApiError::Unauthorized("invalid API key"))?;
                state.keys.put(hash, owner.clone());
                owner
            }
        };
        Ok(Caller { account: owner.account_id, is_admin: owner.is_admin, key_id: owner.key_id })
    }
}
