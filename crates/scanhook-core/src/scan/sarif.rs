//! Import of SARIF 2.1.0 logs (what Semgrep, CodeQL and most scanners write) as
//! [`Finding`]s. Only the fields scanhook uses are read; everything else is ignored.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::finding::{self, Finding, Severity};
use crate::Invalid;
use crate::secret::sha256_hex;

const VERSION: &str = "2.1.0";

/// The findings of every run in a SARIF 2.1.0 log, in order. Results that are not
/// failures (`kind` other than `fail`), whose suppression was accepted, or that a baseline
/// comparison marks `absent` are left out.
pub fn findings_from_sarif(log: &[u8]) -> Result<Vec<Finding>, Invalid> {
    // Results are kept as borrowed raw JSON until each is decoded on its own: a log of
    // many MiB is never held as a `Value` tree (several times its size), and an error can
    // say which result is at fault.
    let top: &RawValue =
        serde_json::from_slice(log).map_err(|e| Invalid::new(format!("SARIF log is not valid JSON: {e}")))?;
    let log: Log = serde_json::from_str(top.get())
        .map_err(|_| Invalid::new(format!("SARIF log must be a JSON object, not {}", kind_of(&parse_small(top)))))?;
    match log.version.map(parse_small) {
        Some(Value::String(v)) if v == VERSION => {}
        Some(Value::String(v)) => {
            return Err(Invalid::new(format!("SARIF version '{v}' is not supported: only {VERSION} is")));
        }
        Some(other) => return Err(Invalid::new(format!("SARIF version must be a string, not {}", kind_of(&other)))),
        None => return Err(Invalid::new(format!("SARIF log has no version (expected '{VERSION}')"))),
    }
    let Some(runs) = log.runs else { return Err(Invalid::new("SARIF log has no runs")) };
    let runs: Vec<&RawValue> = serde_json::from_str(runs.get())
        .map_err(|_| Invalid::new(format!("SARIF runs must be an array, not {}", kind_of(&parse_small(runs)))))?;

    let mut findings = Vec::new();
    for (i, run) in runs.into_iter().enumerate() {
        let mut run: Run = serde_json::from_str(run.get()).map_err(|e| Invalid::new(format!("runs[{i}]: {e}")))?;
        for (j, result) in run.results.take().unwrap_or_default().into_iter().enumerate() {
            let at = format!("runs[{i}].results[{j}]");
            let result: SarifResult =
                serde_json::from_str(result.get()).map_err(|e| Invalid::new(format!("{at}: {e}")))?;
            if let Some(finding) = run.finding(&result, &at)? {
                findings.push(finding);
            }
        }
    }
    Ok(findings)
}

/// Decodes a value that is small (the version) or only about to be reported as the wrong kind.
fn parse_small(raw: &RawValue) -> Value {
    serde_json::from_str(raw.get()).unwrap_or(Value::Null)
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

// The subset of the SARIF 2.1.0 object model that is read. Unknown fields are ignored.

#[derive(Deserialize)]
struct Log<'a> {
    #[serde(borrow)]
    version: Option<&'a RawValue>,
    #[serde(borrow)]
    runs: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool,
    #[serde(default)]
    artifacts: Vec<Artifact>,
    // Absent when the tool failed before producing results: nothing to import.
    #[serde(borrow)]
    results: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
struct Tool {
    driver: Component,
    #[serde(default)]
    extensions: Vec<Component>,
}

#[derive(Deserialize)]
struct Component {
    name: Option<String>,
    #[serde(default)]
    rules: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: String,
    short_description: Option<Text>,
    help: Option<Text>,
    default_configuration: Option<Configuration>,
    #[serde(default)]
    message_strings: BTreeMap<String, Text>,
    #[serde(default)]
    properties: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
struct Text {
    text: Option<String>,
}

#[derive(Deserialize)]
struct Configuration {
    level: Option<String>,
}

#[derive(Deserialize)]
struct Artifact {
    location: Option<ArtifactLocation>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: Option<String>,
    rule_index: Option<i64>,
    rule: Option<RuleReference>,
    kind: Option<String>,
    level: Option<String>,
    message: Message,
    #[serde(default)]
    locations: Vec<Location>,
    #[serde(default)]
    partial_fingerprints: BTreeMap<String, String>,
    #[serde(default)]
    fingerprints: BTreeMap<String, String>,
    #[serde(default)]
    fixes: Vec<Fix>,
    #[serde(default)]
    suppressions: Vec<Suppression>,
    baseline_state: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RuleReference {
    id: Option<String>,
    index: Option<i64>,
    tool_component: Option<ComponentReference>,
}

#[derive(Deserialize)]
struct ComponentReference {
    name: Option<String>,
    index: Option<i64>,
}

#[derive(Deserialize)]
struct Message {
    text: Option<String>,
    id: Option<String>,
    #[serde(default)]
    arguments: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: Option<PhysicalLocation>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: Option<ArtifactLocation>,
    region: Option<Region>,
}

#[derive(Deserialize)]
struct ArtifactLocation {
    uri: Option<String>,
    index: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: Option<u32>,
}

#[derive(Deserialize)]
struct Fix {
    description: Option<Text>,
}

#[derive(Deserialize)]
struct Suppression {
    status: Option<String>,
}

impl Run<'_> {
    /// The finding `result` reports, or `None` when it is not an open failure.
    fn finding(&self, result: &SarifResult, at: &str) -> Result<Option<Finding>, Invalid> {
        if result.kind.as_deref().is_some_and(|kind| kind != "fail") || is_suppressed(result) {
            return Ok(None);
        }
        // A baseline comparison reports findings that went away as `absent`.
        if result.baseline_state.as_deref() == Some("absent") {
            return Ok(None);
        }
        let given_id = result
            .rule_id
            .as_deref()
            .or(result.rule.as_ref().and_then(|r| r.id.as_deref()))
            .filter(|id| !id.trim().is_empty());
        let rule = self.rule_for(result, given_id);
        let rule_id = given_id
            .or(rule.map(|r| r.id.as_str()))
            .filter(|id| !id.trim().is_empty())
            .ok_or_else(|| Invalid::new(format!("{at} has no rule (ruleId, rule.id or ruleIndex)")))?;
        let severity = severity(result, rule, at)?;
        let (file, line) = self.place(result, at)?;
        let message = message(&result.message, rule)
            .filter(|m| !m.trim().is_empty())
            .ok_or_else(|| Invalid::new(format!("{at} has no message text")))?;
        let suggestion = result
            .fixes
            .first()
            .and_then(|fix| fix.description.as_ref()?.text.as_deref())
            .or_else(|| rule?.help.as_ref()?.text.as_deref())
            .filter(|s| !s.trim().is_empty())
            .map(capped);
        // Names a result can share by reference (a rule, an artifact) are copied into each
        // finding: bounded, so that sharing cannot multiply memory.
        for (what, name) in [("rule ID", rule_id), ("file", file.as_str())] {
            if name.len() > MAX_NAME {
                return Err(Invalid::new(format!("{at}: the {what} is longer than {MAX_NAME} bytes")));
            }
        }
        // The scanner's own fingerprint survives edits around the finding better than ours.
        // It is combined with rule and file because some (CodeQL's line hashes) only
        // describe the line's text, which can repeat in another file.
        let scanner_fingerprint = [&result.partial_fingerprints, &result.fingerprints]
            .into_iter()
            .find_map(|prints| prints.values().find(|v| !v.is_empty()));
        let fingerprint = match scanner_fingerprint {
            Some(print) => sha256_hex(format!("{rule_id}\n{file}\n{print}").as_bytes()),
            None => finding::fingerprint(rule_id, &file, &message),
        };
        Ok(Some(Finding { rule: rule_id.to_string(), severity, file, line, message, suggestion, fingerprint }))
    }

    /// The rule descriptor a result points at: by index in the driver or the extension its
    /// `toolComponent` names, else by id in any component.
    fn rule_for(&self, result: &SarifResult, id: Option<&str>) -> Option<&Rule> {
        let reference = result.rule.as_ref();
        let rules = match reference.and_then(|r| r.tool_component.as_ref()) {
            Some(component) => component
                .index
                .and_then(to_index)
                .and_then(|k| self.tool.extensions.get(k))
                .or_else(|| self.tool.extensions.iter().find(|e| e.name.is_some() && e.name == component.name))
                .map_or(&self.tool.driver.rules, |extension| &extension.rules),
            None => &self.tool.driver.rules,
        };
        let index = reference.and_then(|r| r.index).or(result.rule_index).and_then(to_index);
        // An index that disagrees with the id is a broken log; the id is the more telling.
        if let Some(rule) = index.and_then(|k| rules.get(k)).filter(|r| id.is_none_or(|id| r.id == id)) {
            return Some(rule);
        }
        let id = id?;
        let mut all = std::iter::once(&self.tool.driver).chain(&self.tool.extensions).flat_map(|c| &c.rules);
        all.find(|r| r.id == id)
    }

    /// File and line of the result's first location.
    fn place(&self, result: &SarifResult, at: &str) -> Result<(String, u32), Invalid> {
        let location = result.locations.first().ok_or_else(|| Invalid::new(format!("{at} has no location")))?;
        let physical = location
            .physical_location
            .as_ref()
            .ok_or_else(|| Invalid::new(format!("{at}.locations[0] has no physicalLocation")))?;
        let uri = physical
            .artifact_location
            .as_ref()
            .and_then(|a| a.uri.as_deref().or_else(|| self.artifact_uri(a.index?)))
            .filter(|uri| !uri.is_empty())
            .ok_or_else(|| Invalid::new(format!("{at}.locations[0].physicalLocation has no artifactLocation.uri")))?;
        let file = uri.strip_prefix("file://").unwrap_or(uri).to_string();
        let line = physical.region.as_ref().and_then(|r| r.start_line).unwrap_or(1);
        Ok((file, line))
    }

    /// A location may name its file only by index into `run.artifacts`.
    fn artifact_uri(&self, index: i64) -> Option<&str> {
        self.artifacts.get(to_index(index)?)?.location.as_ref()?.uri.as_deref()
    }
}

/// SARIF uses -1 for "no index".
fn to_index(raw: i64) -> Option<usize> {
    usize::try_from(raw).ok()
}

/// Suppressed unless every suppression is still under review or was rejected; one without
/// a status (Semgrep's `nosemgrep`) counts as accepted.
fn is_suppressed(result: &SarifResult) -> bool {
    result.suppressions.iter().any(|s| s.status.as_deref().is_none_or(|status| status == "accepted"))
}

/// A rule's CVSS score (`security-severity`, as CodeQL writes it) wins over the level,
/// which says how sure the tool is rather than how bad the problem is.
fn severity(result: &SarifResult, rule: Option<&Rule>, at: &str) -> Result<Severity, Invalid> {
    if let Some(score) = rule.and_then(security_severity) {
        return Ok(match score {
            s if s >= 9.0 => Severity::Critical,
            s if s >= 7.0 => Severity::High,
            s if s >= 4.0 => Severity::Medium,
            s if s > 0.0 => Severity::Low,
            _ => Severity::Info,
        });
    }
    let level =
        result.level.as_deref().or_else(|| rule?.default_configuration.as_ref()?.level.as_deref()).unwrap_or("warning");
    match level {
        "error" => Ok(Severity::High),
        "warning" => Ok(Severity::Medium),
        "note" => Ok(Severity::Low),
        "none" => Ok(Severity::Info),
        other => {
            Err(Invalid::new(format!("{at}: level '{other}' is not a SARIF level (error, warning, note or none)")))
        }
    }
}

/// `security-severity` as a string (CodeQL) or a number; anything else is ignored.
fn security_severity(rule: &Rule) -> Option<f64> {
    let score = match rule.properties.get("security-severity")? {
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        Value::Number(n) => n.as_f64()?,
        _ => return None,
    };
    score.is_finite().then_some(score)
}

/// The message text, or the rule's template it names by `id`, with `{0}`… filled in.
fn message(message: &Message, rule: Option<&Rule>) -> Option<String> {
    let text = match &message.text {
        Some(text) => text.as_str(),
        None => {
            let (id, rule) = (message.id.as_ref()?, rule?);
            let template = rule.message_strings.get(id).and_then(|s| s.text.as_deref());
            template.or_else(|| rule.short_description.as_ref()?.text.as_deref())?
        }
    };
    Some(fill_placeholders(text, &message.arguments))
}

/// The longest message kept, in bytes. Filling `{0}` placeholders multiplies a message's
/// size, and one rule's template is copied into every result that names it, so a small
/// log could otherwise build gigabytes of messages: the cap holds while they are built.
pub const MAX_MESSAGE: usize = 16 * 1024;
/// The longest rule ID or file name accepted, in bytes.
pub const MAX_NAME: usize = 4 * 1024;

/// Replaces `{n}` with the n-th argument. Without arguments the text is kept as is, since
/// many tools do not escape the braces of quoted code. Capped at [`MAX_MESSAGE`].
fn fill_placeholders(text: &str, arguments: &[String]) -> String {
    if arguments.is_empty() {
        return capped(text);
    }
    let mut out = String::with_capacity(text.len().min(MAX_MESSAGE));
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        if !push_capped(&mut out, &rest[..open]) {
            return out;
        }
        let after = &rest[open + 1..];
        let argument = after.find('}').and_then(|close| Some((after[..close].parse::<usize>().ok()?, close)));
        let pushed = match argument.and_then(|(n, close)| Some((arguments.get(n)?, close))) {
            Some((value, close)) => {
                rest = &after[close + 1..];
                push_capped(&mut out, value)
            }
            None => {
                rest = after;
                push_capped(&mut out, "{")
            }
        };
        if !pushed {
            return out;
        }
    }
    push_capped(&mut out, rest);
    out
}

/// `text`, capped at [`MAX_MESSAGE`].
fn capped(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_MESSAGE));
    push_capped(&mut out, text);
    out
}

/// Appends `s` as far as [`MAX_MESSAGE`] allows (then an ellipsis); false once it is full.
fn push_capped(out: &mut String, s: &str) -> bool {
    let room = MAX_MESSAGE.saturating_sub(out.len());
    if s.len() <= room {
        out.push_str(s);
        return true;
    }
    let mut end = room;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    out.push_str(&s[..end]);
    out.push('…');
    false
}

#[cfg(test)]
#[path = "sarif_tests.rs"]
mod tests;
