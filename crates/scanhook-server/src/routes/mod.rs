//! Handlers, one module per resource. Each turns wire types into domain values (or a 422
//! naming the field), calls the store or the engine, and turns the result back.

pub mod accounts;
pub mod alerts;
pub mod audit;
pub mod deliveries;
pub mod event_batch;
pub mod event_types;
pub mod events;
pub mod portal_links;
pub mod projects;
pub mod scans;
pub mod stats;
pub mod violations;
pub mod webhooks;

use scanhook_store::Page;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 250;

/// A required text field, trimmed: 1 to `max` characters, or a 422 naming `field`.
pub fn text(field: &str, value: &str, max: usize) -> Result<String, ApiError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max {
        return Err(ApiError::invalid(field, format!("{field} must be 1 to {max} characters")));
    }
    Ok(value.to_string())
}

/// A name that may be empty (a violation's tool, say), as an optional field.
pub fn non_empty(name: String) -> Option<String> {
    (!name.is_empty()).then_some(name)
}

/// Paging parameters shared by every list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 250 (default 50).
    #[param(minimum = 1, maximum = 250)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_]{0,64}$")]
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn page(&self) -> Result<Page, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::invalid("limit", format!("limit must be between 1 and {MAX_LIMIT}")));
        }
        // Cursors are IDs: anything else was never handed out, and would page from nowhere.
        // An empty one is the first page (a client with no cursor yet may send `cursor=`).
        let cursor = self.cursor.clone().filter(|c| !c.is_empty());
        if let Some(cursor) = &cursor
            && (cursor.len() > 64 || !cursor.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        {
            return Err(ApiError::invalid("cursor", "cursor must be the next_cursor of a previous page"));
        }
        Ok(Page { limit, cursor })
    }
}
