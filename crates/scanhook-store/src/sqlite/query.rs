//! Lists' SQL, built from the filters actually given: a filter that is absent leaves no
//! `(? IS NULL OR col = ?)` behind, which SQLite cannot serve with an index (it walks the
//! account's whole history instead). Conditions are fixed text with one `?` each; values
//! are always bound, never written into the SQL. Each combination of filters is its own
//! statement, so the planner picks the index that fits it (`plans.rs` checks that one does).

use rusqlite::types::Value;
use rusqlite::{Connection, Row};

use crate::StoreResult;
use crate::model::Page;

pub struct Query {
    sql: String,
    values: Vec<Value>,
}

impl Query {
    /// `select` is everything before `WHERE` (fixed text); `first` the condition every
    /// variant has (the account, the project).
    pub fn new(select: &str, first: &'static str, value: impl Into<Value>) -> Self {
        Self { sql: format!("{select} WHERE {first}"), values: vec![value.into()] }
    }

    /// Adds `AND condition`, whose one `?` takes `value`.
    pub fn and(mut self, condition: &'static str, value: impl Into<Value>) -> Self {
        debug_assert_eq!(condition.matches('?').count(), 1, "{condition}");
        self.sql.push_str(" AND ");
        self.sql.push_str(condition);
        self.values.push(value.into());
        self
    }

    /// Adds the condition only when a value is given.
    pub fn and_some<T: Into<Value>>(self, condition: &'static str, value: Option<T>) -> Self {
        match value {
            Some(value) => self.and(condition, value),
            None => self,
        }
    }

    /// Newest first by `id` (a column name, fixed text), from after the page's cursor, one
    /// more row than the page holds (`rows::paged` turns it into the next cursor).
    pub fn page(self, id: &'static str, page: &Page) -> Self {
        let cursor = match id {
            "id" => "id < ?",
            "e.id" => "e.id < ?",
            "d.id" => "d.id < ?",
            "w.id" => "w.id < ?",
            other => unreachable!("no cursor condition for {other}"),
        };
        let mut query = self.and_some(cursor, page.cursor.clone());
        query.sql.push_str(&format!(" ORDER BY {id} DESC LIMIT ?"));
        query.values.push(Value::from(page.limit + 1));
        query
    }

    #[cfg(test)]
    pub fn sql(&self) -> &str {
        &self.sql
    }

    #[cfg(test)]
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    pub fn rows<T>(&self, c: &Connection, map: impl FnMut(&Row) -> rusqlite::Result<T>) -> StoreResult<Vec<T>> {
        let mut stmt = c.prepare_cached(&self.sql)?;
        let items = stmt.query_map(rusqlite::params_from_iter(self.values.iter()), map)?.collect::<Result<_, _>>()?;
        Ok(items)
    }
}
