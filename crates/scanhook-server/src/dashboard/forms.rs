//! Reading posted forms (`application/x-www-form-urlencoded`, already bounded by the
//! dashboard's body limit) and turning their text fields into API request JSON; and
//! reading a page's query string ([`UrlQuery`]).

use std::collections::BTreeMap;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::de::DeserializeOwned;

use super::Dash;
use super::layout::Page;
use super::session::Sess;
use crate::error::ApiError;
use crate::extract::read_query;

/// The longest query string a page reads.
const MAX_QUERY_BYTES: usize = 4096;

/// A page's query string read into `T` (filters, a cursor). Every page reads its query
/// with this, never with axum's `Query`: input it cannot read (a repeated or mistyped
/// parameter, an overlong query) is answered with a page in the dashboard's shell that
/// names the parameter (400), not with a plain-text rejection.
pub struct UrlQuery<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<Dash> for UrlQuery<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, dash: &Dash) -> Result<Self, Response> {
        let raw = parts.uri.query().unwrap_or_default();
        let read: Result<T, String> = if raw.len() > MAX_QUERY_BYTES {
            Err(format!("The address's query is longer than {MAX_QUERY_BYTES} bytes."))
        } else {
            read_query(raw).map_err(|e| match e {
                ApiError::Invalid { message, .. } => format!("{message}."),
                _ => "The query string is not valid.".to_string(),
            })
        };
        let message = match read {
            Ok(value) => return Ok(Self(value)),
            Err(message) => message,
        };
        // The shell shows the navigation to a signed-in visitor; anyone else is sent to
        // sign in, as by the page itself.
        let sess = Sess::from_request_parts(parts, dash).await?;
        Err(bad_query(dash, &sess, parts.uri.path(), &message))
    }
}

/// The page for an address whose query could not be read: what was wrong, and the page
/// without its query.
fn bad_query(dash: &Dash, sess: &Sess, path: &str, message: &str) -> Response {
    let body = html! {
        section.card.narrow {
            h1 { "This address could not be read" }
            p role="alert" { (message) }
            p { a.button href=(path) { "Open the page without it" } }
        }
    };
    (StatusCode::BAD_REQUEST, Page::new(&dash.app, "Bad address").render(Some(sess), body)).into_response()
}

/// Parses a form body; the error says what was wrong, for a 400 page.
pub fn parse_form<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_urlencoded::from_bytes(body).map_err(|e| format!("the form could not be read: {e}"))
}

/// Event patterns typed as a list separated by commas, spaces or new lines.
pub fn list(raw: &str) -> Vec<String> {
    raw.split(|c: char| c == ',' || c.is_whitespace()).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// Extra headers typed one per line as `Name: value`; a line without a colon is an
/// error naming its number.
pub fn headers(raw: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for (n, line) in raw.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (name, value) =
            line.split_once(':').ok_or_else(|| format!("line {}: write each header as 'Name: value'", n + 1))?;
        out.insert(name.trim().to_string(), value.trim().to_string());
    }
    Ok(out)
}

/// The headers as the form shows them.
pub fn headers_text(headers: &BTreeMap<String, String>) -> String {
    headers.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("\n")
}

/// One labelled field with its hint and, when there is one, its error beside it (the
/// ids tie both to the input for screen readers).
pub fn field(label: &str, name: &str, hint: &str, error: Option<&str>, input: Markup) -> Markup {
    html! {
        div.field.invalid[error.is_some()] {
            label for=(name) { (label) }
            (input)
            @if !hint.is_empty() { p.hint #{ (name) "-hint" } { (hint) } }
            @if let Some(error) = error { p.field-error #{ (name) "-error" } role="alert" { (error) } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_headers_are_read_as_typed() {
        assert_eq!(list("scan.*, alert.raised\nx.y"), ["scan.*", "alert.raised", "x.y"]);
        let h = headers("X-Team: sec\n\n Y: a:b ").unwrap();
        assert_eq!(h.get("Y").map(String::as_str), Some("a:b"));
        assert_eq!(headers_text(&h), "X-Team: sec\nY: a:b");
        assert!(headers("no colon").unwrap_err().contains("line 1"));
    }
}
