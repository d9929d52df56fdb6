//! JavaScript-stable bodies: the bytes Node's `JSON.stringify(JSON.parse(body))` makes of
//! a body. A receiver that parses with `express.json()` and signs `JSON.stringify(req.body)`
//! (Juro's documented one) recomputes exactly these bytes, so the signature over them holds
//! whatever the event data holds (`1.0` becomes `1`, `1e2` becomes `100`, ...).
//!
//! What JavaScript does, and so what this does:
//! - numbers become the nearest double (`str::parse::<f64>`, correctly rounded) printed by
//!   ECMAScript's `Number::toString` (`ryu-js`); `-0` prints `0`, a number too large for a
//!   double (`1e400`) prints `null`, and an integer beyond 2^53 loses its last digits
//!   (`12345678901234567890` → `12345678901234567000`): IDs that large must be strings;
//! - strings are decoded and escaped again: `"` `\` and the control characters only
//!   (`\b \f \n \r \t`, the others `\u00xx`), a lone surrogate as `\udxxx`, everything else
//!   literal (non-ASCII, U+2028, astral characters);
//! - an object's keys that are array indices (`"0"` to `"4294967294"`, no leading zero)
//!   come first in ascending order, then the others in the order they first appeared; of a
//!   repeated key the last value wins, in the first one's place;
//! - no whitespace.
//!
//! Hand-written because no crate reads JSON the way `JSON.parse` does: serde_json rounds
//! floats inexactly without its `float_roundtrip` feature, `Value` cannot hold lone
//! surrogates (the API refuses them in event data now, but rows stored by older versions
//! may hold them, and JavaScript keeps them), and `JSON.stringify` orders keys by its own rules. Strings are kept as UTF-16 code units, as JavaScript keeps them. The parser
//! recurses, at most [`MAX_DEPTH`] levels, so no body can overflow the stack.

use indexmap::IndexMap;

/// How deep a body may nest: twice the API's bound on JSON from outside, room for a
/// template that wraps event data in a few more levels.
pub const MAX_DEPTH: usize = 2 * crate::json_bounds::MAX_DEPTH;

/// Whether an endpoint's body goes out as rendered or as JavaScript would re-serialise it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BodyJson {
    /// The body as rendered: event data keeps its exact bytes.
    #[default]
    Verbatim,
    /// `JSON.stringify(JSON.parse(body))` as Node computes it, for receivers that sign
    /// `JSON.stringify(req.body)`.
    Javascript,
}

impl BodyJson {
    pub fn is_verbatim(&self) -> bool {
        *self == Self::Verbatim
    }

    /// `body` in this form. The error says why a body is not JSON JavaScript would read.
    pub fn apply(self, body: Vec<u8>) -> Result<Vec<u8>, String> {
        match self {
            Self::Verbatim => Ok(body),
            Self::Javascript => {
                restringify(&body).map_err(|e| format!("the body cannot be made JavaScript-stable: {e}"))
            }
        }
    }
}

/// Exactly Node's `JSON.stringify(JSON.parse(body))`; an error where `JSON.parse` throws.
pub fn restringify(body: &[u8]) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("the body is not UTF-8: {e}"))?;
    let mut parser = Parser { text: text.as_bytes(), at: 0 };
    parser.skip_space();
    let value = parser.value(0)?;
    parser.skip_space();
    if parser.at < parser.text.len() {
        return Err(parser.error("unexpected text after the JSON value"));
    }
    let mut out = Vec::with_capacity(body.len());
    write_value(&value, &mut out);
    Ok(out)
}

/// A JSON value as JavaScript holds it.
enum Value {
    Null,
    Bool(bool),
    Number(f64),
    String(Vec<u16>),
    Array(Vec<Value>),
    Object(IndexMap<Vec<u16>, Value>),
}

struct Parser<'a> {
    text: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> String {
        format!("{what} at byte {}", self.at)
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    /// JSON's whitespace only: JavaScript's other spaces are errors in `JSON.parse`.
    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, String> {
        if self.text[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(value)
        } else {
            Err(self.error("unexpected character"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        match self.peek() {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(_) => Err(self.error("unexpected character")),
            None => Err(self.error("unexpected end of JSON")),
        }
    }

    fn enter(&self, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(self.error(&format!("nested deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn array(&mut self, depth: usize) -> Result<Value, String> {
        self.enter(depth)?;
        self.at += 1;
        let mut items = Vec::new();
        self.skip_space();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_space();
            items.push(self.value(depth)?);
            self.skip_space();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.error("expected ',' or ']'")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, String> {
        self.enter(depth)?;
        self.at += 1;
        let mut entries = IndexMap::new();
        self.skip_space();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(Value::Object(entries));
        }
        loop {
            self.skip_space();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a string key"));
            }
            let key = self.string()?;
            self.skip_space();
            if self.peek() != Some(b':') {
                return Err(self.error("expected ':'"));
            }
            self.at += 1;
            self.skip_space();
            let value = self.value(depth)?;
            // A repeated key keeps its first place and takes the last value, as in JS.
            entries.insert(key, value);
            self.skip_space();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(Value::Object(entries));
                }
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }

    /// JSON's number grammar, then the nearest double, as `JSON.parse` rounds.
    fn number(&mut self) -> Result<Value, String> {
        let start = self.at;
        let digits = |p: &mut Self| {
            let from = p.at;
            while matches!(p.peek(), Some(b'0'..=b'9')) {
                p.at += 1;
            }
            p.at - from
        };
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek() {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return Err(self.error("no digits in a number")),
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if digits(self) == 0 {
                return Err(self.error("no digits after the decimal point"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if digits(self) == 0 {
                return Err(self.error("no digits in the exponent"));
            }
        }
        // The token is ASCII by construction; Rust's float parsing is correctly rounded
        // for any length, and overflows to an infinity as JavaScript does.
        let token = std::str::from_utf8(&self.text[start..self.at]).map_err(|e| e.to_string())?;
        token.parse::<f64>().map(Value::Number).map_err(|e| self.error(&e.to_string()))
    }

    /// A string's contents as UTF-16 code units, escapes decoded (lone surrogates kept).
    fn string(&mut self) -> Result<Vec<u16>, String> {
        self.at += 1;
        let mut units = Vec::new();
        loop {
            let run = self.at;
            while let Some(b) = self.peek()
                && b != b'"'
                && b != b'\\'
                && b >= 0x20
            {
                self.at += 1;
            }
            // Cut at ASCII bytes only, so the run is whole characters of valid UTF-8.
            let plain = std::str::from_utf8(&self.text[run..self.at]).map_err(|e| e.to_string())?;
            units.extend(plain.encode_utf16());
            match self.peek() {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(units);
                }
                Some(b'\\') => {
                    self.at += 1;
                    let unit = match self.peek() {
                        Some(b'"') => 0x22,
                        Some(b'\\') => 0x5c,
                        Some(b'/') => 0x2f,
                        Some(b'b') => 0x08,
                        Some(b'f') => 0x0c,
                        Some(b'n') => 0x0a,
                        Some(b'r') => 0x0d,
                        Some(b't') => 0x09,
                        Some(b'u') => {
                            let hex = self.text.get(self.at + 1..self.at + 5).unwrap_or_default();
                            let hex = std::str::from_utf8(hex).unwrap_or_default();
                            if hex.len() != 4 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                                return Err(self.error("bad \\u escape"));
                            }
                            self.at += 4;
                            u16::from_str_radix(hex, 16).map_err(|e| e.to_string())?
                        }
                        _ => return Err(self.error("bad escape")),
                    };
                    self.at += 1;
                    units.push(unit);
                }
                Some(_) => return Err(self.error("control character in a string")),
                None => return Err(self.error("unterminated string")),
            }
        }
    }
}

fn write_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(*n, out),
        Value::String(units) => write_string(units, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out);
            }
            out.push(b']');
        }
        Value::Object(entries) => {
            // Integer-like keys first, ascending (ECMAScript's OrdinaryOwnPropertyKeys).
            let mut indexed: Vec<(u32, &Vec<u16>, &Value)> =
                entries.iter().filter_map(|(k, v)| array_index(k).map(|i| (i, k, v))).collect();
            indexed.sort_by_key(|(i, _, _)| *i);
            let named = entries.iter().filter(|(k, _)| array_index(k).is_none());
            out.push(b'{');
            for (n, (key, value)) in indexed.into_iter().map(|(_, k, v)| (k, v)).chain(named).enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                write_value(value, out);
            }
            out.push(b'}');
        }
    }
}

/// `Number::toString`; what is not finite (only an overflow can be) is `null`, and -0 is `0`.
fn write_number(n: f64, out: &mut Vec<u8>) {
    if !n.is_finite() {
        out.extend_from_slice(b"null");
    } else if n == 0.0 {
        out.push(b'0');
    } else {
        out.extend_from_slice(ryu_js::Buffer::new().format_finite(n).as_bytes());
    }
}

/// `JSON.stringify`'s QuoteJSONString, well-formed (lone surrogates escaped).
fn write_string(units: &[u16], out: &mut Vec<u8>) {
    out.push(b'"');
    for decoded in char::decode_utf16(units.iter().copied()) {
        match decoded {
            Ok('"') => out.extend_from_slice(b"\\\""),
            Ok('\\') => out.extend_from_slice(b"\\\\"),
            Ok('\u{8}') => out.extend_from_slice(b"\\b"),
            Ok('\u{c}') => out.extend_from_slice(b"\\f"),
            Ok('\n') => out.extend_from_slice(b"\\n"),
            Ok('\r') => out.extend_from_slice(b"\\r"),
            Ok('\t') => out.extend_from_slice(b"\\t"),
            Ok(c) if (c as u32) < 0x20 => out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes()),
            Ok(c) => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
            Err(lone) => out.extend_from_slice(format!("\\u{:04x}", lone.unpaired_surrogate()).as_bytes()),
        }
    }
    out.push(b'"');
}

/// The key's value if it is an array index: a canonical decimal below 2^32 - 1.
fn array_index(key: &[u16]) -> Option<u32> {
    let digit = |u: &u16| (u16::from(b'0')..=u16::from(b'9')).contains(u);
    let leading_zero = key.len() > 1 && key[0] == u16::from(b'0');
    if key.is_empty() || key.len() > 10 || leading_zero || !key.iter().all(digit) {
        return None;
    }
    let n = key.iter().fold(0u64, |n, &u| n * 10 + u64::from(u - u16::from(b'0')));
    u32::try_from(n).ok().filter(|&n| n != u32::MAX)
}

#[cfg(test)]
#[path = "javascript_tests.rs"]
mod tests;
