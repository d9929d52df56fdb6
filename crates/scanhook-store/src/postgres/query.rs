//! Lists' SQL, built from the filters actually given (as `sqlite/query.rs`), with
//! PostgreSQL's numbered parameters: each condition is fixed text with one `?`, numbered
//! here; values are always bound, never written into the SQL.

use tokio_postgres::types::ToSql;

use super::Tx;
use crate::StoreResult;
use crate::model::Page;

pub type Value = Box<dyn ToSql + Sync + Send>;

pub struct Query {
    sql: String,
    values: Vec<Value>,
}

impl Query {
    /// `select` is everything before `WHERE` (fixed text); `first` the condition every
    /// variant has (the account, the project).
    pub fn new(select: &str, first: &'static str, value: impl ToSql + Sync + Send + 'static) -> Self {
        Self { sql: format!("{select} WHERE"), values: Vec::new() }.push(" ", first, Box::new(value))
    }

    fn push(mut self, joiner: &str, condition: &'static str, value: Value) -> Self {
        debug_assert_eq!(condition.matches('?').count(), 1, "{condition}");
        self.values.push(value);
        self.sql.push_str(joiner);
        self.sql.push_str(&condition.replace('?', &format!("${}", self.values.len())));
        self
    }

    /// Adds `AND condition`, whose one `?` takes `value`.
    pub fn and(self, condition: &'static str, value: impl ToSql + Sync + Send + 'static) -> Self {
        self.push(" AND ", condition, Box::new(value))
    }

    /// Adds the condition only when a value is given.
    pub fn and_some<T: ToSql + Sync + Send + 'static>(self, condition: &'static str, value: Option<T>) -> Self {
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
        query.values.push(Box::new(i64::from(page.limit) + 1));
        query.sql.push_str(&format!(" ORDER BY {id} DESC LIMIT ${}", query.values.len()));
        query
    }

    pub async fn rows<T>(
        &self,
        c: &Tx<'_>,
        map: impl Fn(&tokio_postgres::Row) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let params: Vec<&(dyn ToSql + Sync)> = self.values.iter().map(|v| v.as_ref() as &(dyn ToSql + Sync)).collect();
        super::rows_of(c, &self.sql, &params).await?.iter().map(map).collect()
    }
}
