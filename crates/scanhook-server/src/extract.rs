//! Request extractors that answer with our problem+json errors: JSON bodies whose errors
//! name the field, query strings and path IDs.

use axum::RequestExt;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_LENGTH;
use axum::http::request::Parts;
use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError};
use scanhook_core::json_bounds;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body. Syntax errors are 400; a wrong, missing or unknown field is 422 naming it.
pub struct ApiJson<T>(pub T);

/// Like [`ApiJson`], but an empty body means `T::default()`.
pub struct OptionalJson<T>(pub T);

/// Most of a body's declared length reserved up front. Reserved pages cost memory only as
/// they are written, and the body limit stops the writing.
const MAX_RESERVED: usize = 64 * 1024 * 1024;

/// Longest pause while a body arrives, and longest time for all of it: a client that
/// trickles its body would otherwise hold its connection, and a large report its slot
/// (`routes::scans::ReportSlot`), for as long as it likes.
const BODY_IDLE: std::time::Duration = std::time::Duration::from_secs(30);
const BODY_TOTAL: std::time::Duration = std::time::Duration::from_secs(300);

/// The body in one buffer sized by its `Content-Length`: axum's own collection holds the
/// chunks and a contiguous copy at once, twice a large report at its peak.
async fn body_bytes<S: Send + Sync>(req: Request, _: &S) -> Result<Bytes, ApiError> {
    let declared = req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    let mut body = req.into_limited_body();
    let mut buf = Vec::with_capacity(declared.unwrap_or(0).min(MAX_RESERVED));
    let deadline = tokio::time::Instant::now() + BODY_TOTAL;
    loop {
        let wait = deadline.min(tokio::time::Instant::now() + BODY_IDLE);
        let Ok(frame) = tokio::time::timeout_at(wait, body.frame()).await else {
            return Err(ApiError::RequestTimeout("the request body did not arrive in time".into()));
        };
        let Some(frame) = frame else { break };
        if let Ok(data) = frame.map_err(body_error)?.into_data() {
            buf.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(buf))
}

fn body_error(e: axum::Error) -> ApiError {
    let mut causes = std::iter::successors(Some(&e as &(dyn std::error::Error + 'static)), |e| e.source());
    if causes.any(|cause| cause.is::<LengthLimitError>()) {
        ApiError::PayloadTooLarge("the request body is larger than the server accepts".into())
    } else {
        ApiError::Malformed(format!("the request body could not be read: {e}"))
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    check_depth(bytes)?;
    // serde reads a struct from an array too (`[null, null]`); every body is an object.
    if bytes.trim_ascii_start().starts_with(b"[") {
        return Err(ApiError::Invalid { field: None, message: "the request body must be a JSON object".into() });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                ApiError::Invalid { field: field_of(&path, &inner.to_string()), message: inner.to_string() }
            }
            _ => ApiError::Malformed(format!("the request body is not valid JSON: {inner}")),
        }
    })?;
    de.end().map_err(|e| ApiError::Malformed(format!("the request body has data after the JSON value: {e}")))?;
    Ok(value)
}

/// Refuses JSON nested deeper than [`json_bounds::MAX_DEPTH`], naming where, before any
/// parser sees it: raw values (event data) are otherwise skipped without a depth limit
/// and recursed on later.
pub fn check_depth(bytes: &[u8]) -> Result<(), ApiError> {
    json_bounds::check_depth(bytes, json_bounds::MAX_DEPTH)
        .map_err(|e| ApiError::Invalid { field: Some(e.path.clone()), message: e.to_string() })
}

/// The field an error is about: serde's path, plus the name in "missing field `x`",
/// "unknown field `x`" or "duplicate field `x`" when serde reports it at the parent's path
/// (always for a missing or repeated field; for an unknown one inside a tagged enum, whose
/// content serde buffers).
fn field_of(path: &str, message: &str) -> Option<String> {
    let missing = ["missing field `", "unknown field `", "duplicate field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next());
    match (path, missing) {
        (".", Some(name)) => Some(name.to_string()),
        (".", None) => None,
        (path, Some(name)) if path == name || path.ends_with(&format!(".{name}")) => Some(path.to_string()),
        (parent, Some(name)) => Some(format!("{parent}.{name}")),
        (path, None) => Some(path.to_string()),
    }
}

/// The body as bytes, for endpoints that accept more than one format.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        body_bytes(req, state).await.map(RawBody)
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = body_bytes(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = body_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        parse_json(&bytes).map(OptionalJson)
    }
}

/// Query parameters; a bad value is 422 naming the parameter. Which names a route accepts
/// is checked once for the whole query string by [`crate::query`], so a handler may take
/// several of these (a filter struct plus `PageQuery`); each must be in its `params(...)`.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        read_query(parts.uri.query().unwrap_or_default()).map(ApiQuery)
    }
}

/// A query string read into `T`; an error names the parameter (serde's path, or the name
/// in "missing field `x`" and "duplicate field `x`"). The dashboard's pages read theirs
/// with it too.
pub fn read_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let inner = e.inner().to_string();
        let field = field_of(&e.path().to_string(), &inner);
        let message = match &field {
            Some(field) => format!("query parameter '{field}': {inner}"),
            None => format!("the query string: {inner}"),
        };
        ApiError::Invalid { field, message }
    })
}

/// Parses an ID from the path; one that cannot exist is simply not found.
pub fn path_id<T: std::str::FromStr>(raw: &str, what: &str) -> Result<T, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found(what, raw))
}
