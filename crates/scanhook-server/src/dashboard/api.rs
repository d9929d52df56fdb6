//! The dashboard's API client: requests to the in-process API router, made with the
//! session's credential (`Authorization: Session …`). Answers are read with a bound; an
//! error is the API's problem body, shown beside the field it names.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, header};
use scanhook_api_types::Problem;
use serde::de::DeserializeOwned;
use tower::ServiceExt;

use super::session::Sess;

/// The largest API answer a page reads (a delivery with its attempts' bodies).
const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;

fn problem(status: u16, message: impl Into<String>) -> Problem {
    Problem {
        problem_type: String::new(),
        title: String::new(),
        status,
        code: "dashboard".into(),
        message: message.into(),
        field: None,
    }
}

/// Calls the API as `sess`; `Ok(None)` for an answer without a body (204).
pub async fn call<T: DeserializeOwned>(
    api: &Router,
    sess: &Sess,
    method: Method,
    uri: &str,
    body: Option<serde_json::Value>,
) -> Result<Option<T>, Problem> {
    let mut request = Request::builder().method(method).uri(uri).header(header::AUTHORIZATION, sess.authorization());
    let body = match body {
        Some(json) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(json.to_string())
        }
        None => Body::empty(),
    };
    let request = request.body(body).map_err(|e| problem(500, e.to_string()))?;
    let response = api.clone().oneshot(request).await.map_err(|e| problem(500, e.to_string()))?;
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), MAX_ANSWER_BYTES)
        .await
        .map_err(|e| problem(502, format!("the API's answer could not be read: {e}")))?;
    if !status.is_success() {
        return Err(serde_json::from_slice(&bytes).unwrap_or_else(|_| problem(status.as_u16(), "the request failed")));
    }
    if bytes.is_empty() {
        return Ok(None);
    }
    serde_json::from_slice(&bytes).map(Some).map_err(|e| problem(502, format!("unexpected answer from the API: {e}")))
}

/// [`call`] for an answer that must have a body.
pub async fn get<T: DeserializeOwned>(api: &Router, sess: &Sess, uri: &str) -> Result<T, Problem> {
    call(api, sess, Method::GET, uri, None).await?.ok_or_else(|| problem(502, "the API answered with no body"))
}

/// [`call`] with a JSON body, for an answer that must have a body.
pub async fn send<T: DeserializeOwned>(
    api: &Router,
    sess: &Sess,
    method: Method,
    uri: &str,
    body: serde_json::Value,
) -> Result<T, Problem> {
    call(api, sess, method, uri, Some(body)).await?.ok_or_else(|| problem(502, "the API answered with no body"))
}
