//! Who is calling: `Authorization: Bearer <key>` resolved to an account, with a short-lived
//! cache so the hot path (`POST /v1/events`) does not read the key table on every request;
//! or `Authorization: Session <token>`, a dashboard session (signed in with a key, or
//! opened by a portal link), looked up by its token's hash on every request.
//!
//! What a session may do is decided here and in the handlers, never by the dashboard: a
//! read-only session gets 403 on every method but GET and HEAD; an event-limited session
//! may use only the endpoints' routes, the deliveries' and the event catalogue (403 on the
//! rest), and sees only endpoints whose every pattern lies within its limits (others are
//! "not found"), with their deliveries ([`Caller::may_see`], [`Caller::may_subscribe`]).
//!
//! A revoked key stops working at once on the node that revoked it (the cache is cleared)
//! and within [`KEY_CACHE_TTL`] on other nodes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::Method;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use scanhook_core::session::{Token, within};
use scanhook_core::{AccountId, ApiKey, ApiKeyId, EventPattern, EventType};
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
    /// The key presented (or the session's key), for the audit log.
    pub key_id: ApiKeyId,
    /// Whether a dashboard session (not an API key) is calling.
    pub session: bool,
    /// A read-only session: refused on every state-changing route.
    pub read_only: bool,
    /// A session limited to these event types.
    pub event_limits: Option<Vec<EventPattern>>,
}

/// Route prefixes an event-limited session may use.
const LIMITED_ROUTES: &[&str] = &["/v1/webhooks", "/v1/deliveries", "/v1/event-types"];

impl Caller {
    /// Whether this caller may see an endpoint subscribed to `events` (stored patterns).
    pub fn may_see(&self, events: &[String]) -> bool {
        match &self.event_limits {
            None => true,
            Some(limits) => events.iter().all(|e| EventPattern::parse(e).is_ok_and(|p| within(&p, limits))),
        }
    }

    /// Whether this caller may see a delivery of an event of `event_type`.
    pub fn may_see_event(&self, event_type: &EventType) -> bool {
        self.event_limits.as_ref().is_none_or(|limits| limits.iter().any(|p| p.matches(event_type)))
    }

    /// Refuses `events` an event-limited session may not subscribe an endpoint to: a 422
    /// naming the field.
    pub fn may_subscribe(&self, events: &[String]) -> Result<(), ApiError> {
        if self.may_see(events) {
            Ok(())
        } else {
            Err(ApiError::invalid(
                "events",
                "this session may subscribe endpoints only to the event types it is limited to",
            ))
        }
    }

    async fn from_session(parts: &Parts, state: &AppState, raw: &str) -> Result<Self, ApiError> {
        let token = Token::parse(raw.trim()).ok_or(ApiError::Unauthorized("invalid or expired session"))?;
        let session = state
            .store()
            .find_session(&token.hash(), state.now())
            .await?
            .ok_or(ApiError::Unauthorized("invalid or expired session"))?;
        let event_limits =
            session.event_types.map(|list| list.iter().filter_map(|p| EventPattern::parse(p).ok()).collect::<Vec<_>>());
        if session.read_only && !matches!(parts.method, Method::GET | Method::HEAD) {
            return Err(ApiError::Forbidden("this session is read-only"));
        }
        if event_limits.is_some() && !LIMITED_ROUTES.iter().any(|r| parts.uri.path().starts_with(r)) {
            return Err(ApiError::Forbidden(
                "this session is limited to some event types: it may manage only endpoints and their deliveries",
            ));
        }
        Ok(Caller {
            account: session.account_id,
            is_admin: session.is_admin,
            key_id: session.key_id,
            session: true,
            read_only: session.read_only,
            event_limits,
        })
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or(ApiError::Unauthorized("missing 'Authorization: Bearer <API key>' header"))?;
        if let Some(session) = header.to_str().ok().and_then(|h| h.strip_prefix("Session ")) {
            return Self::from_session(parts, state, session).await;
        }
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
        Ok(Caller {
            account: owner.account_id,
            is_admin: owner.is_admin,
            key_id: owner.key_id,
            session: false,
            read_only: false,
            event_limits: None,
        })
    }
}
