//! One scan finding (rule, severity, place, message), its severity scale, and the
//! fingerprint that recognises the same finding in a later scan.

use std::fmt;

use super::path;
use crate::Invalid;
use crate::secret::sha256_hex;

/// How bad a finding is. Declared from least to most severe so the derived `Ord` reads
/// naturally: `severity >= min_severity`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        match raw {
            "critical" => Ok(Self::Critical),
            "high" => Ok(Self::High),
            "medium" => Ok(Self::Medium),
            "low" => Ok(Self::Low),
            "info" => Ok(Self::Info),
            other => Err(Invalid::new(format!("'{other}' is not a severity (critical, high, medium, low or info)"))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::High => "high",
            Self::Medium => "medium",
            Self::Low => "low",
            Self::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A checked finding. `fingerprint` is what a later scan's findings are matched on, so it
/// must not change when only the line does.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    /// Relative to the project's root, `/`-separated (`scan::path`).
    pub file: String,
    /// The file as the scanner named it, when that differs from `file` (an absolute
    /// `file://` URI of the machine that ran it, say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    pub line: u32,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
    pub fingerprint: String,
    /// Hash of the flagged line's text ([`line_hash`]), when the scanner gave the text:
    /// tells look-alike findings apart (`scan::matching`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_hash: Option<String>,
    /// The tool that found it, and the part of the code base it looked at: a scan
    /// resolves only open violations of the analyses it covers.
    #[serde(flatten)]
    pub analysis: Analysis,
}

/// What one scan covers, as GitHub code scanning calls it: a tool (SARIF
/// `runs[].tool.driver.name`, or `tool` given when the scan starts) and an optional
/// category (SARIF `runs[].automationDetails.id` up to its last `/`, or `category` given
/// when the scan starts). Empty strings mean none was named: what scans reported before
/// tools were told apart, which therefore still resolve each other.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub struct Analysis {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tool: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub category: String,
}

impl Analysis {
    /// Longest tool or category name, in characters.
    pub const MAX_NAME: usize = 200;

    /// An analysis named by a user: each name 1 to [`Self::MAX_NAME`] characters, trimmed.
    pub fn parse(tool: Option<String>, category: Option<String>) -> Result<Self, (&'static str, Invalid)> {
        let check =
            |field: &'static str, value: Option<String>| match value.as_deref().map(|v| v.trim_matches(is_js_space)) {
                None => Ok(String::new()),
                Some(v) if v.is_empty() || v.chars().count() > Self::MAX_NAME => {
                    Err((field, Invalid::new(format!("{field} must be 1 to {} characters", Self::MAX_NAME))))
                }
                Some(v) => Ok(v.to_string()),
            };
        Ok(Self { tool: check("tool", tool)?, category: check("category", category)? })
    }
}

/// Whitespace as JSON Schema patterns (ECMAScript's `\s`) see it, so that a name the
/// OpenAPI document's `\S` pattern accepts is never refused here, nor the reverse.
fn is_js_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}')
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}' | '\u{feff}')
}

/// A finding as a scanner posts it. Required fields are plain, so serde reports a missing
/// one itself; [`FindingIn::parse`] does the checks serde cannot.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingIn {
    /// The scanner's rule ID, such as `python.sql-injection`.
    pub rule: String,
    /// `critical`, `high`, `medium`, `low` or `info`.
    pub severity: String,
    /// Path of the file, as the scanner names it.
    pub file: String,
    #[serde(deserialize_with = "crate::whole::req")]
    pub line: u32,
    pub message: String,
    #[serde(default)]
    pub suggestion: Option<String>,
    /// The scanner's own stable ID for the finding; derived from rule, file and message
    /// when absent.
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// The flagged source line (or snippet), as text. Optional: when given, findings that
    /// otherwise look alike (same rule, file and message) are told apart by it.
    #[serde(default)]
    pub snippet: Option<String>,
}

impl FindingIn {
    pub fn parse(self) -> Result<Finding, Invalid> {
        self.check(None).map_err(|(field, message)| Invalid::new(format!("{field}: {message}")))
    }

    /// The finding, or the field at fault and what is wrong with it. Its file is made
    /// relative to `root` (the scan's) when it lies inside it.
    fn check(self, root: Option<&str>) -> Result<Finding, (&'static str, String)> {
        let required = |field: &'static str, value: &str| {
            if value.trim().is_empty() { Err((field, "must not be empty".to_string())) } else { Ok(()) }
        };
        required("rule", &self.rule)?;
        required("file", &self.file)?;
        required("message", &self.message)?;
        let severity = Severity::parse(&self.severity).map_err(|e| ("severity", e.0))?;
        let file = path::clean(&self.file);
        let file = match root {
            Some(root) => path::relative_to(&file, root),
            None => file,
        };
        let uri = (file != self.file).then_some(self.file);
        let fingerprint = match self.fingerprint {
            Some(given) if given.trim().is_empty() => {
                return Err(("fingerprint", "must not be empty (leave it out to have one derived)".to_string()));
            }
            Some(given) => given,
            None => fingerprint(&self.rule, &file, &self.message),
        };
        let suggestion = self.suggestion.filter(|s| !s.trim().is_empty());
        let line_hash = self.snippet.as_deref().and_then(line_hash);
        Ok(Finding {
            rule: self.rule,
            severity,
            file,
            uri,
            line: self.line,
            message: self.message,
            suggestion,
            fingerprint,
            line_hash,
            analysis: Analysis::default(),
        })
    }
}

/// A finding in a posted list that failed its checks: `findings[3].severity: …`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("findings[{index}].{field}: {message}")]
pub struct FindingError {
    pub index: usize,
    pub field: &'static str,
    pub message: String,
}

/// Checks every finding of a posted list, making files relative to `root` (the scan's);
/// the error names the first one at fault.
pub fn parse_findings(findings: Vec<FindingIn>, root: Option<&str>) -> Result<Vec<Finding>, FindingError> {
    findings
        .into_iter()
        .enumerate()
        .map(|(index, finding)| finding.check(root).map_err(|(field, message)| FindingError { index, field, message }))
        .collect()
}

/// Lowercase hex SHA-256 of rule, file and normalised message. The line is left out and
/// digits in the message are masked, so a finding that only moved (or whose message quotes
/// a line number or a count) keeps its fingerprint.
pub fn fingerprint(rule: &str, file: &str, message: &str) -> String {
    sha256_hex(format!("{rule}\n{file}\n{}", normalise(message)).as_bytes())
}

/// Hex SHA-256 of a flagged line's text with its whitespace runs as one space and trimmed,
/// so that re-indenting the line keeps it; `None` for a blank text.
pub fn line_hash(text: &str) -> Option<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    (!words.is_empty()).then(|| sha256_hex(words.join(" ").as_bytes()))
}

/// Lowercase, whitespace runs as one space, trimmed, digit runs as `0`.
fn normalise(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let (mut in_space, mut in_digits) = (false, false);
    for c in message.trim().chars().flat_map(char::to_lowercase) {
        if c.is_whitespace() {
            if !in_space {
                out.push(' ');
            }
        } else if c.is_ascii_digit() {
            if !in_digits {
                out.push('0');
            }
        } else {
            out.push(c);
        }
        in_space = c.is_whitespace();
        in_digits = c.is_ascii_digit();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding_in(rule: &str, severity: &str, message: &str) -> FindingIn {
        FindingIn {
            rule: rule.to_string(),
            severity: severity.to_string(),
            file: "app/db.py".to_string(),
            line: 42,
            message: message.to_string(),
            suggestion: None,
            fingerprint: None,
            snippet: None,
        }
    }

    #[test]
    fn severities_parse_and_order() {
        for s in [Severity::Critical, Severity::High, Severity::Medium, Severity::Low, Severity::Info] {
            assert_eq!(Severity::parse(s.as_str()), Ok(s));
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        let err = Severity::parse("urgent").unwrap_err().0;
        assert!(err.contains("'urgent'") && err.contains("critical, high, medium, low or info"), "{err}");
        assert!(Severity::parse("High").is_err());
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::High > Severity::Medium);
        assert!(Severity::Medium > Severity::Low);
        assert!(Severity::Low > Severity::Info);
        assert!(Severity::High >= Severity::Medium && Severity::Medium >= Severity::Medium);
    }

    #[test]
    fn fingerprint_ignores_line_whitespace_case_and_digits() {
        let a = fingerprint("sql-injection", "app/db.py", "Query built from user input on line 42");
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_eq!(a, fingerprint("sql-injection", "app/db.py", "  query BUILT from\tuser input\non line 1071 "));
        assert_ne!(a, fingerprint("sql-injection-v2", "app/db.py", "Query built from user input on line 42"));
        assert_ne!(a, fingerprint("sql-injection", "app/other.py", "Query built from user input on line 42"));
        assert_ne!(a, fingerprint("sql-injection", "app/db.py", "Query built from a constant on line 42"));
        assert_eq!(normalise("  A1b22 \t c333d  "), "a0b0 c0d");
    }

    #[test]
    fn moved_finding_keeps_its_derived_fingerprint() {
        let first = finding_in("sql-injection", "high", "Query built from user input").parse().unwrap();
        let moved = FindingIn { line: 97, ..finding_in("sql-injection", "high", "Query built from user input") };
        assert_eq!(moved.parse().unwrap().fingerprint, first.fingerprint);
        assert_eq!(first.severity, Severity::High);
        assert_eq!(first.line, 42);
    }

    #[test]
    fn files_are_made_relative_to_the_scans_root_and_match_relative_reports() {
        let absolute = FindingIn { file: "C:\\ci\\work\\app\\db.py".into(), ..finding_in("r", "low", "m") };
        let relative = FindingIn { file: "./app/db.py".into(), ..finding_in("r", "low", "m") };
        let found = parse_findings(vec![absolute, relative], Some("C:/ci/work/")).unwrap();
        assert_eq!((found[0].file.as_str(), found[0].uri.as_deref()), ("app/db.py", Some("C:\\ci\\work\\app\\db.py")));
        assert_eq!((found[1].file.as_str(), found[1].uri.as_deref()), ("app/db.py", Some("./app/db.py")));
        assert_eq!(found[0].fingerprint, found[1].fingerprint);
        let plain = finding_in("r", "low", "m").parse().unwrap();
        assert_eq!((plain.file.as_str(), plain.uri), ("app/db.py", None), "nothing kept when nothing changed");
    }

    #[test]
    fn analysis_names_are_blank_exactly_when_a_json_schema_pattern_says_so() {
        assert!(Analysis::parse(Some("\u{3000}\u{feff} ".into()), None).is_err());
        let nel = Analysis::parse(Some("\u{85}".into()), None).unwrap();
        assert_eq!(nel.tool, "\u{85}", "not whitespace to ECMAScript");
        assert_eq!(Analysis::parse(Some(" bandit\t".into()), Some("ci".into())).unwrap().tool, "bandit");
    }

    #[test]
    fn a_snippet_is_kept_as_the_hash_of_its_words() {
        let with = |snippet: &str| FindingIn { snippet: Some(snippet.into()), ..finding_in("r", "low", "m") };
        let hash = with("    assert basket is not None\n").parse().unwrap().line_hash;
        assert_eq!(hash.as_deref().map(str::len), Some(64));
        assert_eq!(with("assert  basket is not None").parse().unwrap().line_hash, hash, "re-indented");
        assert_ne!(with("assert basket").parse().unwrap().line_hash, hash);
        assert_eq!(with(" \n").parse().unwrap().line_hash, None);
        assert_eq!(finding_in("r", "low", "m").parse().unwrap().line_hash, None);
    }

    #[test]
    fn given_fingerprint_is_kept() {
        let given = FindingIn { fingerprint: Some("scanner-id-1".to_string()), ..finding_in("r", "low", "m") };
        assert_eq!(given.parse().unwrap().fingerprint, "scanner-id-1");
        let blank = FindingIn { fingerprint: Some(" ".to_string()), ..finding_in("r", "low", "m") };
        assert!(blank.parse().unwrap_err().0.starts_with("fingerprint: "));
    }

    #[test]
    fn parse_findings_names_index_and_field() {
        let ok = parse_findings(vec![finding_in("a", "low", "m"), finding_in("b", "info", "n")], None).unwrap();
        assert_eq!(ok.len(), 2);

        let err = parse_findings(vec![finding_in("a", "low", "m"), finding_in("b", "urgent", "n")], None).unwrap_err();
        assert_eq!((err.index, err.field), (1, "severity"));
        assert!(err.to_string().starts_with("findings[1].severity: 'urgent' is not a severity"), "{err}");

        let err = parse_findings(
            vec![finding_in("a", "low", "m"), finding_in("b", "low", "n"), finding_in(" ", "low", "o")],
            None,
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "findings[2].rule: must not be empty");

        let no_file = FindingIn { file: String::new(), ..finding_in("a", "low", "m") };
        assert_eq!(parse_findings(vec![no_file], None).unwrap_err().field, "file");
        assert_eq!(parse_findings(vec![finding_in("a", "low", "")], None).unwrap_err().field, "message");
    }

    #[test]
    fn serde_reports_missing_and_unknown_fields() {
        let missing = serde_json::from_str::<FindingIn>(r#"{"rule":"r","severity":"low","file":"f","message":"m"}"#);
        assert!(missing.unwrap_err().to_string().contains("missing field `line`"));
        let unknown = serde_json::from_str::<FindingIn>(
            r#"{"rule":"r","severity":"low","file":"f","line":1,"message":"m","column":3}"#,
        );
        assert!(unknown.unwrap_err().to_string().contains("unknown field `column`"));
        let full = serde_json::from_str::<FindingIn>(
            r#"{"rule":"r","severity":"low","file":"f","line":1,"message":"m","suggestion":"s","fingerprint":"x"}"#,
        );
        assert_eq!(full.unwrap().parse().unwrap().suggestion.as_deref(), Some("s"));
    }
}
