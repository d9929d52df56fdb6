//! What a call can fail with: the server could not be reached, it answered with a
//! problem (any 4xx/5xx), or it answered something this client cannot read.

use scanhook_api_types::Problem;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server URL is not an http(s) URL.
    #[error("'{0}' is not a server URL such as http://127.0.0.1:8080")]
    BadUrl(String),
    /// No answer at all: connection refused, DNS, TLS, timeout.
    #[error("could not reach the scanhook server at {url}: {cause}")]
    Unreachable { url: String, cause: String },
    /// The server refused the request; `problem` is its problem+json body.
    #[error("HTTP {status}: {}", describe(problem))]
    Api { status: u16, problem: Box<Problem> },
    /// An answer that is neither the expected JSON nor a problem body (a proxy's error
    /// page, a different service on that port).
    #[error("unexpected answer from {url} (HTTP {status}): {detail}")]
    Unexpected { url: String, status: u16, detail: String },
}

impl Error {
    /// The HTTP status of an API error, if the server answered with one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } | Error::Unexpected { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The problem's stable `code`, such as `not_found`, for an API error.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api { problem, .. } => Some(&problem.code),
            _ => None,
        }
    }
}

/// `message (code)`, with the field at fault when the problem names one.
fn describe(p: &Problem) -> String {
    match &p.field {
        Some(field) => format!("{} ({}, field {field})", p.message, p.code),
        None => format!("{} ({})", p.message, p.code),
    }
}

/// The causes of a transport error in one line: reqwest's own message ("error sending
/// request for url …") repeats the URL; the useful part ("Connection refused") is below.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let Some(first) = e.source() else { return e.to_string() };
    let mut parts = vec![first.to_string()];
    let mut next = first.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = cause.source();
    }
    parts.join(": ")
}
