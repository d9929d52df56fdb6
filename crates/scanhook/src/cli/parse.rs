//! Parsers of flag values shared by the client commands. A value that does not parse is
//! a usage error (exit 2) with clap's message.

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use chrono::{DateTime, Utc};

/// `--since` and `--until` of a list.
#[derive(Debug, Clone, clap::Args)]
pub struct TimeRange {
    /// Only since then (inclusive): RFC 3339, or a span before now such as 24h.
    #[arg(long, value_parser = time)]
    pub since: Option<DateTime<Utc>>,
    /// Only before then: RFC 3339, or a span before now.
    #[arg(long, value_parser = time)]
    pub until: Option<DateTime<Utc>>,
}

impl TimeRange {
    /// `(since, until)` as the API's query parameters take them (RFC 3339).
    pub fn query(&self) -> (Option<String>, Option<String>) {
        (self.since.map(|t| t.to_rfc3339()), self.until.map(|t| t.to_rfc3339()))
    }
}

/// `--header 'Name: value'`.
pub fn header(raw: &str) -> Result<(String, String), String> {
    match raw.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => Ok((name.trim().to_string(), value.trim().to_string())),
        _ => Err(format!("'{raw}' is not a header such as 'X-Team: security'")),
    }
}

/// A point in time: RFC 3339 (`2026-01-31T12:00:00Z`) or a span before now (`2h`, `3d`).
pub fn time(raw: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(t.with_timezone(&Utc));
    }
    humantime::parse_duration(raw)
        .ok()
        .and_then(|ago| chrono::Duration::from_std(ago).ok())
        .and_then(|ago| Utc::now().checked_sub_signed(ago))
        .ok_or_else(|| {
            format!("'{raw}' is neither an RFC 3339 time such as 2026-01-31T12:00:00Z nor a span such as 2h")
        })
}

/// A flag value given inline, as `@path` (a file) or as `@-` (standard input), as curl
/// takes it.
#[derive(Debug, Clone)]
pub enum Source {
    Inline(String),
    File(PathBuf),
    Stdin,
}

impl Source {
    pub fn parse(raw: &str) -> Result<Source, String> {
        Ok(match raw.strip_prefix('@') {
            Some("-") => Source::Stdin,
            Some("") => return Err("'@' needs a file name: @report.json, or @- for standard input".into()),
            Some(path) => Source::File(PathBuf::from(path)),
            None => Source::Inline(raw.to_string()),
        })
    }

    pub fn read(&self) -> anyhow::Result<Vec<u8>> {
        match self {
            Source::Inline(text) => Ok(text.clone().into_bytes()),
            Source::File(path) => std::fs::read(path).with_context(|| format!("reading {}", path.display())),
            Source::Stdin => {
                let mut buf = Vec::new();
                std::io::stdin().read_to_end(&mut buf).context("reading standard input")?;
                Ok(buf)
            }
        }
    }

    /// The value as JSON, or an error naming where it came from.
    pub fn json(&self) -> anyhow::Result<serde_json::Value> {
        let bytes = self.read()?;
        serde_json::from_slice(&bytes).with_context(|| format!("{} is not valid JSON", self.name()))
    }

    fn name(&self) -> String {
        match self {
            Source::Inline(_) => "the value".into(),
            Source::File(path) => path.display().to_string(),
            Source::Stdin => "standard input".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn headers_split_at_the_first_colon() {
        assert_eq!(header("X-Url: http://a").unwrap(), ("X-Url".into(), "http://a".into()));
        assert!(header("no-colon").is_err());
        assert!(header(": empty name").is_err());
    }

    #[test]
    fn times_are_absolute_or_relative() {
        assert_eq!(time("2026-01-31T12:00:00Z").unwrap().to_rfc3339(), "2026-01-31T12:00:00+00:00");
        let two_hours_ago = time("2h").unwrap();
        assert!((Utc::now() - two_hours_ago - chrono::Duration::hours(2)).num_seconds().abs() < 5);
        assert!(time("yesterday").is_err());
    }

    #[test]
    fn at_means_a_file_or_stdin() {
        assert!(matches!(Source::parse("@-").unwrap(), Source::Stdin));
        assert!(matches!(Source::parse("@r.json").unwrap(), Source::File(p) if p == Path::new("r.json")));
        assert!(matches!(Source::parse("{}").unwrap(), Source::Inline(_)));
        assert!(Source::parse("@").is_err());
    }
}
