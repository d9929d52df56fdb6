//! A typed client of scanhook's REST API. Requests and answers are the wire types of
//! `scanhook-api-types`; every answer also keeps the server's raw JSON, so a caller can
//! print exactly what the API said. Errors carry the HTTP status and the problem body.
//!
//! This crate knows HTTP and the wire shapes only: nothing of the server, store or engine.

mod error;
mod resources;

pub use error::Error;
pub use resources::{AuditFilter, DeliveryFilter, EventFilter, Page, Report, ScanFilter, ViolationFilter};
pub use scanhook_api_types as types;

use reqwest::{Method, RequestBuilder};
use serde::de::DeserializeOwned;

/// One answer: the typed value and the body as the server sent it.
#[derive(Debug, Clone)]
pub struct Reply<T> {
    pub value: T,
    pub raw: String,
}

#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: url::Url,
    api_key: Option<String>,
}

impl Client {
    /// A client of the server at `base` (such as `http://127.0.0.1:8080`), authenticating
    /// with `api_key` when one is given.
    pub fn new(base: &str, api_key: Option<String>) -> Result<Client, Error> {
        let bad = || Error::BadUrl(base.to_string());
        let base = url::Url::parse(base).map_err(|_| bad())?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(bad());
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("scanhook-cli/", env!("CARGO_PKG_VERSION")))
            // A CLI call should fail in seconds, not hang a CI job on a dead host.
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| Error::Unreachable { url: base.to_string(), cause: error::chain(&e) })?;
        Ok(Client { http, base, api_key })
    }

    /// The server's base URL, as given.
    pub fn base(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    /// A request to `segments` under the base URL. Segments are percent-encoded one by
    /// one, so an ID typed by a user can never reach another path.
    fn request(&self, method: Method, segments: &[&str]) -> RequestBuilder {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        let req = self.http.request(method, url);
        match &self.api_key {
            Some(key) => req.bearer_auth(key),
            None => req,
        }
    }

    /// Sends `req` and reads a JSON answer of type `T`.
    async fn send<T: DeserializeOwned>(&self, req: RequestBuilder) -> Result<Reply<T>, Error> {
        let (url, status, raw) = self.exchange(req).await?;
        match serde_json::from_str(&raw) {
            Ok(value) => Ok(Reply { value, raw }),
            Err(e) => Err(Error::Unexpected { url, status, detail: format!("{e}: {}", snippet(&raw)) }),
        }
    }

    /// Sends `req` for an answer without a body (204).
    async fn send_empty(&self, req: RequestBuilder) -> Result<(), Error> {
        self.exchange(req).await.map(|_| ())
    }

    /// Sends `req`; a success gives the URL, status and body, anything else an [`Error`].
    async fn exchange(&self, req: RequestBuilder) -> Result<(String, u16, String), Error> {
        let unreachable =
            |e: reqwest::Error| Error::Unreachable { url: self.base().to_string(), cause: error::chain(&e) };
        let resp = req.send().await.map_err(unreachable)?;
        let status = resp.status();
        let url = resp.url().to_string();
        let raw = resp.text().await.map_err(unreachable)?;
        if status.is_success() {
            return Ok((url, status.as_u16(), raw));
        }
        match serde_json::from_str::<types::Problem>(&raw) {
            Ok(problem) => Err(Error::Api { status: status.as_u16(), problem: Box::new(problem) }),
            Err(_) => Err(Error::Unexpected { url, status: status.as_u16(), detail: snippet(&raw) }),
        }
    }
}

/// The start of a body, for an error message.
fn snippet(raw: &str) -> String {
    let text: String = raw.trim().chars().take(200).collect();
    if text.is_empty() { "(empty body)".into() } else { text }
}
