//! The query-string contract: a route accepts exactly the query parameters its OpenAPI
//! operation declares, each at most once, in a query string of bounded length. The allowed
//! names are read from the generated document itself, so the spec and the server cannot
//! disagree, and a route (or a parameter) missing from the spec accepts nothing.
//!
//! Handlers then parse the values they need with [`crate::extract::ApiQuery`], as many
//! extractors over the same query string as they like (a filter struct plus `PageQuery`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::error::ApiError;

/// Longest query string accepted, in bytes (percent-encoded, as sent).
pub const MAX_QUERY_BYTES: usize = 2048;

/// The query parameters each route (method and path template) declares.
#[derive(Debug, Default)]
pub struct QueryContract {
    allowed: HashMap<(Method, String), Vec<String>>,
    /// Paths of the document, so a method it does not list reaches axum's 405.
    paths: HashSet<String>,
}

impl QueryContract {
    /// Reads the declared query parameters of every operation of an OpenAPI document.
    pub fn from_doc(doc: &Value) -> Self {
        let (mut allowed, mut paths) = (HashMap::new(), HashSet::new());
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            paths.insert(path.clone());
            for (method, operation) in item.as_object().into_iter().flatten() {
                let Ok(method) = Method::from_bytes(method.to_ascii_uppercase().as_bytes()) else { continue };
                let params = operation["parameters"].as_array().into_iter().flatten();
                let names = params.filter(|p| p["in"] == "query").filter_map(|p| p["name"].as_str());
                allowed.insert((method, path.clone()), names.map(str::to_string).collect());
            }
        }
        Self { allowed, paths }
    }

    /// Checks a request's query string against what its route declares.
    pub fn check(&self, method: &Method, route: &str, query: Option<&str>) -> Result<(), ApiError> {
        let Some(query) = query.filter(|q| !q.is_empty()) else { return Ok(()) };
        if query.len() > MAX_QUERY_BYTES {
            return Err(ApiError::QueryTooLong(format!("the query string is longer than {MAX_QUERY_BYTES} bytes")));
        }
        // HEAD is answered by the GET handler.
        let method = if method == Method::HEAD { &Method::GET } else { method };
        let allowed = match self.allowed.get(&(method.clone(), route.to_string())) {
            Some(allowed) => allowed.as_slice(),
            None if self.paths.contains(route) => return Ok(()),
            None => &[],
        };
        let mut seen = HashSet::new();
        for (name, _) in url::form_urlencoded::parse(query.as_bytes()) {
            if !allowed.iter().any(|a| *a == name) {
                let accepted = if allowed.is_empty() { "none".to_string() } else { allowed.join(", ") };
                return Err(ApiError::invalid(
                    &name,
                    format!("unknown query parameter '{name}' (this route accepts: {accepted})"),
                ));
            }
            if !seen.insert(name.clone()) {
                return Err(ApiError::invalid(&name, format!("query parameter '{name}' is given more than once")));
            }
        }
        Ok(())
    }
}

/// Middleware (a `route_layer`, so the matched route is known) enforcing the contract.
pub async fn enforce(
    State(contract): State<Arc<QueryContract>>,
    route: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let route = route.as_ref().map(MatchedPath::as_str).unwrap_or_default();
    match contract.check(request.method(), route, request.uri().query()) {
        Ok(()) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract() -> QueryContract {
        QueryContract::from_doc(crate::openapi::api_doc())
    }

    #[test]
    fn declared_parameters_pass_and_others_are_named() {
        let c = contract();
        let get = Method::GET;
        assert!(c.check(&get, "/v1/deliveries", Some("webhook_id=wh_1&limit=5&cursor=x&status=dead")).is_ok());
        assert!(c.check(&get, "/v1/deliveries", None).is_ok());
        let field = |r: Result<(), ApiError>| match r {
            Err(ApiError::Invalid { field, .. }) => field,
            other => panic!("expected a 422, got {other:?}"),
        };
        assert_eq!(field(c.check(&get, "/v1/deliveries", Some("webhook=x"))).as_deref(), Some("webhook"));
        assert_eq!(field(c.check(&get, "/v1/deliveries", Some("limit=1&limit=2"))).as_deref(), Some("limit"));
        assert_eq!(field(c.check(&get, "/v1/webhooks/{id}", Some("expand=all"))).as_deref(), Some("expand"));
        assert_eq!(field(c.check(&Method::HEAD, "/v1/events", Some("x=1"))).as_deref(), Some("x"));
        assert_eq!(field(c.check(&get, "/not/in/the/document", Some("x=1"))).as_deref(), Some("x"));
        // A method the route does not have is left to the router's 405.
        assert!(c.check(&Method::TRACE, "/v1/events", Some("x=1")).is_ok());
        let long = format!("cursor={}", "a".repeat(MAX_QUERY_BYTES));
        assert!(matches!(c.check(&get, "/v1/deliveries", Some(&long)), Err(ApiError::QueryTooLong(_))));
    }
}
