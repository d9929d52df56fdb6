//! The one place errors become HTTP: 4xx with a stable code and a message naming the
//! field, 5xx logged with the whole cause chain and answered opaquely.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use scanhook_api_types::Problem;
use scanhook_store::StoreError;

#[derive(Debug)]
pub enum ApiError {
    /// 400: the body is not JSON at all.
    Malformed(String),
    /// 422: well-formed but invalid; names the field.
    Invalid {
        field: Option<String>,
        message: String,
    },
    Unauthorized(&'static str),
    Forbidden(&'static str),
    NotFound(String),
    /// 405: the route exists, the method does not (axum adds `Allow`).
    MethodNotAllowed,
    Conflict {
        code: &'static str,
        message: String,
    },
    PayloadTooLarge(String),
    /// 408: the body did not arrive in time (`extract::body_bytes`).
    RequestTimeout(String),
    /// 414: the query string is longer than the server reads.
    QueryTooLong(String),
    /// 429 with `Retry-After`: the account reported more events than its ingest limit
    /// allows; the same request succeeds after the wait.
    RateLimited {
        message: String,
        retry_after_secs: u64,
    },
    /// 503 with `Retry-After`: the request was fine and may succeed later as it is.
    Unavailable {
        code: &'static str,
        message: String,
        retry_after_secs: u64,
    },
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid { field: Some(field.to_string()), message: message.into() }
    }

    pub fn not_found(what: &str, id: &str) -> Self {
        Self::NotFound(format!("no {what} with ID '{id}' in this account"))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound("not found".into()),
            StoreError::Conflict(conflict) => Self::Conflict { code: conflict.code(), message: conflict.to_string() },
            e @ StoreError::StorageFull => {
                tracing::warn!("refused a write: the database's disk is full");
                Self::Unavailable {
                    code: "storage_full",
                    message: e.to_string(),
                    retry_after_secs: STORAGE_FULL_RETRY_SECS,
                }
            }
            e @ StoreError::Unavailable(_) => {
                tracing::warn!(error = %e, "the database is unavailable");
                Self::Unavailable {
                    code: "database_unavailable",
                    message: "the database cannot be reached right now; nothing was changed".into(),
                    retry_after_secs: DATABASE_RETRY_SECS,
                }
            }
            e @ StoreError::Backend(_) => Self::Internal(Box::new(e)),
        }
    }
}

/// When a client may try a write again after the disk was full: room is usually made by
/// an operator, so minutes rather than seconds.
const STORAGE_FULL_RETRY_SECS: u64 = 60;

/// When a client may try again while the database is away (a restart, a fail-over): the
/// store reconnects by itself within seconds.
const DATABASE_RETRY_SECS: u64 = 2;

/// Maps a store "not found" to one that names what was looked for.
pub fn named<'a>(what: &'static str, id: &'a str) -> impl FnOnce(StoreError) -> ApiError + 'a {
    move |e| match e {
        StoreError::NotFound => ApiError::not_found(what, id),
        other => other.into(),
    }
}

impl ApiError {
    /// The problem body this error answers with, its status and its `Retry-After` (also
    /// the answer for one item of a batch).
    pub fn problem(self) -> (StatusCode, Problem, Option<u64>) {
        let retry_after = match &self {
            Self::Unavailable { retry_after_secs, .. } | Self::RateLimited { retry_after_secs, .. } => {
                Some(*retry_after_secs)
            }
            _ => None,
        };
        let (status, code, message, field) = match self {
            Self::Malformed(m) => (StatusCode::BAD_REQUEST, "malformed_json", m, None),
            Self::Invalid { field, message } => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", message, field),
            Self::Unauthorized(m) => (StatusCode::UNAUTHORIZED, "unauthorized", m.to_string(), None),
            Self::Forbidden(m) => (StatusCode::FORBIDDEN, "forbidden", m.to_string(), None),
            Self::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", m, None),
            Self::MethodNotAllowed => {
                (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "see the Allow header".into(), None)
            }
            Self::Conflict { code, message } => (StatusCode::CONFLICT, code, message, None),
            Self::PayloadTooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", m, None),
            Self::RequestTimeout(m) => (StatusCode::REQUEST_TIMEOUT, "request_timeout", m, None),
            Self::QueryTooLong(m) => (StatusCode::URI_TOO_LONG, "query_too_long", m, None),
            Self::RateLimited { message, .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited", message, None),
            Self::Unavailable { code, message, .. } => (StatusCode::SERVICE_UNAVAILABLE, code, message, None),
            Self::Internal(e) => {
                tracing::error!(error = %scanhook_core::error_chain(e.as_ref()), "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; see the server log".into(), None)
            }
        };
        let problem = Problem {
            problem_type: format!("https://scanhook.dev/problems/{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            code: code.to_string(),
            message,
            field,
        };
        (status, problem, retry_after)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, problem, retry_after) = self.problem();
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, [(header::CONTENT_TYPE, "application/problem+json")], body).into_response();
        if let Some(secs) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, secs.into());
        }
        response
    }
}
