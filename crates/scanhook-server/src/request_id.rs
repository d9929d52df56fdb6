//! Every request's id and span: a well-formed `X-Request-Id` from the caller is kept, any
//! other is replaced by a new one; it is answered in the same header and carried by the
//! `request` span, so every log line written while serving the request names it. The span
//! is also the request's trace span (its parent is the caller's `traceparent`, if any).
//! Nothing here reads or logs other headers, the query string or the body.

use std::time::Instant;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use scanhook_core::trace_parent::{HEADER as HEADER_TRACE, TraceParent};
use scanhook_engine::trace;
use tracing::Instrument;

pub const HEADER: &str = "x-request-id";
/// Longer incoming ids are replaced: the id goes into every log line of the request.
pub const MAX_LEN: usize = 100;

/// The caller's id if it is 1 to [`MAX_LEN`] letters, digits, `-`, `_`, `.` or `:` (a UUID,
/// a ULID, a load balancer's id), else `None`.
pub fn well_formed(raw: &[u8]) -> Option<&str> {
    let ok = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':');
    if raw.is_empty() || raw.len() > MAX_LEN || !raw.iter().all(ok) {
        return None;
    }
    std::str::from_utf8(raw).ok()
}

/// The path as logged: a portal link's path is its one-time token, so it is not.
fn loggable_path(path: &str) -> &str {
    if path.starts_with("/portal/") { "/portal/{token}" } else { path }
}

/// The middleware: see the module's docs.
pub async fn layer(mut request: Request, next: Next) -> Response {
    let id = match request.headers().get(HEADER).and_then(|v| well_formed(v.as_bytes())) {
        Some(id) => id.to_string(),
        None => format!("req_{}", ulid::Ulid::new()),
    };
    let value = HeaderValue::from_str(&id).unwrap_or(HeaderValue::from_static("invalid"));
    // Handlers and the dashboard's in-process API calls see the id the answer names.
    request.headers_mut().insert(HEADER, value.clone());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = loggable_path(request.uri().path()),
        otel.kind = "server",
    );
    // The producer's trace (W3C `traceparent`): the request's span continues it, and events
    // it ingests keep it for their deliveries, with or without a tracer.
    let incoming = request.headers().get(HEADER_TRACE).and_then(|v| v.to_str().ok()).and_then(TraceParent::parse);
    if let Some(parent) = incoming {
        trace::adopt(&span, parent);
    }
    let started = Instant::now();
    let mut response = trace::with_incoming(incoming, next.run(request)).instrument(span.clone()).await;
    let status = response.status().as_u16();
    span.in_scope(|| tracing::debug!(status, latency_ms = started.elapsed().as_millis() as u64, "request served"));
    response.headers_mut().insert(HEADER, value);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_ids_are_kept() {
        assert_eq!(well_formed(b"0f8e2c1a-9b7d-4c5e-8f00-1234567890ab"), Some("0f8e2c1a-9b7d-4c5e-8f00-1234567890ab"));
        assert_eq!(well_formed(b"lb:1.2_x"), Some("lb:1.2_x"));
        for bad in [&b""[..], b"a b", b"a\"b", b"{\"x\":1}", b"\xc3\xa9", &[b'a'; MAX_LEN + 1]] {
            assert_eq!(well_formed(bad), None, "{bad:?}");
        }
        assert_eq!(loggable_path("/portal/plk_secret"), "/portal/{token}");
        assert_eq!(loggable_path("/v1/events"), "/v1/events");
    }
}
