//! One value on its way from SQLite to PostgreSQL: read as SQLite stored it, written as
//! the PostgreSQL column's type wants it, exactly (times are integer milliseconds on both
//! sides, flags 0/1 become booleans, JSON documents are text as stored). A value that does
//! not fit its column stops the copy, naming it; nothing is coerced, with one exception:
//! PostgreSQL's text cannot hold NUL characters, which become U+FFFD and are counted.

use rusqlite::types::Value;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

/// The PostgreSQL column types the copy knows, by `information_schema.columns.data_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Bool,
    Text,
    Bytes,
    Real,
}

impl Kind {
    /// `None`: a type the copy does not know (a new migration must teach it here).
    pub fn of(data_type: &str) -> Option<(Kind, Type)> {
        Some(match data_type {
            "bigint" => (Kind::Int, Type::INT8),
            "boolean" => (Kind::Bool, Type::BOOL),
            "text" => (Kind::Text, Type::TEXT),
            "bytea" => (Kind::Bytes, Type::BYTEA),
            "double precision" => (Kind::Real, Type::FLOAT8),
            _ => return None,
        })
    }
}

/// A value ready for PostgreSQL's binary COPY.
#[derive(Debug)]
pub enum Cell {
    Int(Option<i64>),
    Bool(Option<bool>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
    Real(Option<f64>),
}

/// `value` as a `kind` column holds it; the error says what did not fit. `nul` counts the
/// NUL characters replaced.
pub fn convert(value: Value, kind: Kind, nul: &mut u64) -> Result<Cell, String> {
    let wrong = |v: &Value| format!("a {} value where PostgreSQL's column wants {kind:?}", type_name(v));
    Ok(match (kind, value) {
        (Kind::Int, Value::Null) => Cell::Int(None),
        (Kind::Int, Value::Integer(i)) => Cell::Int(Some(i)),
        (Kind::Bool, Value::Null) => Cell::Bool(None),
        (Kind::Bool, Value::Integer(i @ (0 | 1))) => Cell::Bool(Some(i == 1)),
        (Kind::Bool, Value::Integer(i)) => return Err(format!("{i} where a flag (0 or 1) belongs")),
        (Kind::Text, Value::Null) => Cell::Text(None),
        (Kind::Text, Value::Text(s)) if s.contains('\0') => {
            *nul += s.matches('\0').count() as u64;
            Cell::Text(Some(s.replace('\0', "\u{FFFD}")))
        }
        (Kind::Text, Value::Text(s)) => Cell::Text(Some(s)),
        (Kind::Bytes, Value::Null) => Cell::Bytes(None),
        (Kind::Bytes, Value::Blob(b)) => Cell::Bytes(Some(b)),
        (Kind::Real, Value::Null) => Cell::Real(None),
        (Kind::Real, Value::Real(f)) => Cell::Real(Some(f)),
        // SQLite keeps a whole number in a REAL column as an integer.
        (Kind::Real, Value::Integer(i)) => Cell::Real(Some(i as f64)),
        (_, other) => return Err(wrong(&other)),
    })
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NULL",
        Value::Integer(_) => "integer",
        Value::Real(_) => "real",
        Value::Text(_) => "text",
        Value::Blob(_) => "blob",
    }
}

impl ToSql for Cell {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Cell::Int(v) => v.to_sql(ty, out),
            Cell::Bool(v) => v.to_sql(ty, out),
            Cell::Text(v) => v.to_sql(ty, out),
            Cell::Bytes(v) => v.to_sql(ty, out),
            Cell::Real(v) => v.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        [Type::INT8, Type::BOOL, Type::TEXT, Type::BYTEA, Type::FLOAT8].contains(ty)
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_convert_exactly_or_are_refused() {
        let mut nul = 0;
        let mut cell = |v, k| convert(v, k, &mut nul);
        assert!(matches!(cell(Value::Integer(i64::MAX), Kind::Int), Ok(Cell::Int(Some(i64::MAX)))));
        assert!(matches!(cell(Value::Integer(1), Kind::Bool), Ok(Cell::Bool(Some(true)))));
        assert!(matches!(cell(Value::Integer(0), Kind::Bool), Ok(Cell::Bool(Some(false)))));
        assert!(cell(Value::Integer(2), Kind::Bool).unwrap_err().contains("flag"));
        assert!(cell(Value::Text("12".into()), Kind::Int).unwrap_err().contains("text value"));
        assert!(matches!(cell(Value::Null, Kind::Text), Ok(Cell::Text(None))));
        let Ok(Cell::Text(Some(t))) = cell(Value::Text("a\0b\0".into()), Kind::Text) else { panic!() };
        assert_eq!(t, "a\u{FFFD}b\u{FFFD}");
        assert_eq!(nul, 2);
    }
}
