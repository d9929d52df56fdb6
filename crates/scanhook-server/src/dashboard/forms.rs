//! Reading posted forms (`application/x-www-form-urlencoded`, already bounded by the
//! dashboard's body limit) and turning their text fields into API request JSON.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;

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
