//! Import of SARIF 2.1.0 logs (what Semgrep, CodeQL and most scanners write) as
//! [`Finding`]s. Only the fields scanhook uses are read; everything else is skipped
//! without being built or copied (serde's `IgnoredAny`), strings are borrowed from the log
//! where they have no escapes, and lists are bounded or skimmed ([`super::skim`]), so a
//! log's peak memory follows its findings, not its bytes.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::MAX_FINDINGS;
use super::finding::{self, Analysis, Finding, Severity};
use super::path;
use super::skim::{Any, AtMost, First, FirstNonEmpty, Test};
use crate::Invalid;
use crate::secret::sha256_hex;

const VERSION: &str = "2.1.0";

/// Most runs in a log, and most rules, extensions or artifacts in a run.
const MAX_RUNS: usize = 1_000;
const MAX_RULES: usize = 100_000;
const MAX_EXTENSIONS: usize = 1_000;
const MAX_ARTIFACTS: usize = 1_000_000;
/// Longest `uriBaseId` chain followed.
const MAX_BASE_CHAIN: usize = 8;
/// Most message arguments of a result.
const MAX_ARGUMENTS: usize = 1_000;

/// What a SARIF log reports: its findings, and the analyses its runs cover.
#[derive(Debug, Default)]
pub struct SarifReport {
    pub findings: Vec<Finding>,
    /// One per tool and category whose run has results (an empty list included): the
    /// open violations a completed scan may resolve. A run without `results` (its tool
    /// failed before producing any) covers nothing.
    pub analyses: Vec<Analysis>,
}

/// The findings of every run in a SARIF 2.1.0 log, in order, each with its run's analysis
/// (tool and category). Results that are not failures (`kind` other than `fail`), whose
/// suppression was accepted, or that a baseline comparison marks `absent` are left out.
///
/// Files come out relative to the project's root (`scan::path`): relative URIs as they are
/// (resolved through `originalUriBaseIds`), absolute ones made relative to `root` (given
/// when the scan started), else to the run's `%SRCROOT%` when SARIF says where it is, else
/// to the deepest directory all of the log's absolute paths share. A finding keeps the
/// URI as written in `uri` when it differs.
pub fn findings_from_sarif(log: &[u8], root: Option<&str>) -> Result<SarifReport, Invalid> {
    // Runs and results are kept as borrowed raw JSON until each is decoded on its own: a
    // log is never held as a tree, and an error can say which result is at fault.
    let top: &RawValue =
        serde_json::from_slice(log).map_err(|e| Invalid::new(format!("SARIF log is not valid JSON: {e}")))?;
    let log: Log = serde_json::from_str(top.get())
        .map_err(|_| Invalid::new(format!("SARIF log must be a JSON object, not {}", kind_of(top))))?;
    match log.version {
        Some(v) if v.get() == "\"2.1.0\"" => {}
        Some(v) if kind_of(v) == "a string" => {
            let shown: String = v.get().trim_matches('"').chars().take(100).collect();
            return Err(Invalid::new(format!("SARIF version '{shown}' is not supported: only {VERSION} is")));
        }
        Some(other) => return Err(Invalid::new(format!("SARIF version must be a string, not {}", kind_of(other)))),
        None => return Err(Invalid::new(format!("SARIF log has no version (expected '{VERSION}')"))),
    }
    let Some(runs) = log.runs else { return Err(Invalid::new("SARIF log has no runs")) };
    if kind_of(runs) != "an array" {
        return Err(Invalid::new(format!("SARIF runs must be an array, not {}", kind_of(runs))));
    }
    let runs: AtMost<&RawValue, MAX_RUNS> =
        serde_json::from_str(runs.get()).map_err(|e| Invalid::new(format!("runs: {e}")))?;

    let mut report = SarifReport::default();
    // The scanner's own fingerprint of each finding, until its file is final.
    let mut prints: Vec<Option<String>> = Vec::new();
    for (i, run) in runs.0.into_iter().enumerate() {
        let mut run: Run = serde_json::from_str(run.get()).map_err(|e| Invalid::new(format!("runs[{i}]: {e}")))?;
        let analysis = run.analysis(&format!("runs[{i}]"))?;
        let run_root = root.map(str::to_string).or_else(|| run.source_root());
        let Some(results) = run.results.take() else { continue };
        if !report.analyses.contains(&analysis) {
            report.analyses.push(analysis.clone());
        }
        for (j, result) in results.0.into_iter().enumerate() {
            let at = format!("runs[{i}].results[{j}]");
            let result: SarifResult =
                serde_json::from_str(result.get()).map_err(|e| Invalid::new(format!("{at}: {e}")))?;
            if let Some((finding, print)) = run.finding(&result, &at)? {
                if report.findings.len() == MAX_FINDINGS {
                    return Err(Invalid::new(format!("SARIF log has more than {MAX_FINDINGS} findings")));
                }
                let mut finding = Finding { analysis: analysis.clone(), ..finding };
                if let Some(run_root) = &run_root {
                    finding.file = path::relative_to(&finding.file, run_root);
                }
                report.findings.push(finding);
                prints.push(print);
            }
        }
    }
    if root.is_none() {
        let absolute = report.findings.iter().map(|f| f.file.as_str()).filter(|f| path::is_absolute(f));
        if let Some(common) = path::common_root(absolute) {
            report.findings.iter_mut().for_each(|f| f.file = path::relative_to(&f.file, &common));
        }
    }
    for (finding, print) in report.findings.iter_mut().zip(prints) {
        // The scanner's own fingerprint survives edits around the finding better than ours.
        // It is combined with rule and file because some (CodeQL's line hashes) only
        // describe the line's text, which can repeat in another file.
        let (rule, file) = (&finding.rule, &finding.file);
        finding.fingerprint = match print {
            Some(print) => sha256_hex(format!("{rule}\n{file}\n{print}").as_bytes()),
            None => finding::fingerprint(rule, file, &finding.message),
        };
        if finding.uri.as_deref() == Some(file.as_str()) {
            finding.uri = None;
        }
    }
    Ok(report)
}

/// The kind of a JSON value, told by its first character without parsing it.
fn kind_of(raw: &RawValue) -> &'static str {
    match raw.get().trim_start().as_bytes().first() {
        Some(b'n') => "null",
        Some(b't' | b'f') => "a boolean",
        Some(b'"') => "a string",
        Some(b'[') => "an array",
        Some(b'{') => "an object",
        _ => "a number",
    }
}

// The subset of the SARIF 2.1.0 object model that is read. Unknown fields are skipped.

type Str<'a> = Cow<'a, str>;

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
    #[serde(borrow)]
    tool: Tool<'a>,
    #[serde(default, borrow)]
    artifacts: AtMost<Artifact<'a>, MAX_ARTIFACTS>,
    #[serde(borrow)]
    automation_details: Option<AutomationDetails<'a>>,
    /// Bases that artifact locations' `uriBaseId` name; few in any real log.
    #[serde(default, borrow)]
    original_uri_base_ids: BTreeMap<Str<'a>, ArtifactLocation<'a>>,
    // Absent when the tool failed before producing results: nothing to import.
    #[serde(borrow)]
    results: Option<AtMost<&'a RawValue, MAX_FINDINGS>>,
}

#[derive(Deserialize)]
struct AutomationDetails<'a> {
    #[serde(borrow)]
    id: Option<Str<'a>>,
}

#[derive(Deserialize)]
struct Tool<'a> {
    #[serde(borrow)]
    driver: Component<'a>,
    #[serde(default, borrow)]
    extensions: AtMost<Component<'a>, MAX_EXTENSIONS>,
}

#[derive(Deserialize)]
struct Component<'a> {
    #[serde(borrow)]
    name: Option<Str<'a>>,
    #[serde(default, borrow)]
    rules: AtMost<Rule<'a>, MAX_RULES>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rule<'a> {
    #[serde(borrow)]
    id: Str<'a>,
    #[serde(borrow)]
    short_description: Option<Text<'a>>,
    #[serde(borrow)]
    help: Option<Text<'a>>,
    #[serde(borrow)]
    default_configuration: Option<Configuration<'a>>,
    #[serde(default, borrow)]
    message_strings: BTreeMap<Str<'a>, Text<'a>>,
    #[serde(borrow)]
    properties: Option<Properties<'a>>,
}

/// Of a rule's property bag, only the score; the rest is skipped.
#[derive(Deserialize)]
struct Properties<'a> {
    #[serde(rename = "security-severity", borrow)]
    security_severity: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Text<'a> {
    #[serde(borrow)]
    text: Option<Str<'a>>,
}

#[derive(Deserialize)]
struct Configuration<'a> {
    #[serde(borrow)]
    level: Option<Str<'a>>,
}

#[derive(Deserialize)]
struct Artifact<'a> {
    #[serde(borrow)]
    location: Option<ArtifactLocation<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    #[serde(borrow)]
    rule_id: Option<Str<'a>>,
    rule_index: Option<i64>,
    #[serde(borrow)]
    rule: Option<RuleReference<'a>>,
    #[serde(borrow)]
    kind: Option<Str<'a>>,
    #[serde(borrow)]
    level: Option<Str<'a>>,
    #[serde(borrow)]
    message: Message<'a>,
    // Only the first location and fix are read.
    #[serde(default, borrow)]
    locations: First<Location<'a>>,
    #[serde(default, borrow)]
    partial_fingerprints: FirstNonEmpty<Str<'a>>,
    #[serde(default, borrow)]
    fingerprints: FirstNonEmpty<Str<'a>>,
    #[serde(default, borrow)]
    fixes: First<Fix<'a>>,
    #[serde(default)]
    suppressions: Any<Suppression>,
    #[serde(borrow)]
    baseline_state: Option<Str<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RuleReference<'a> {
    #[serde(borrow)]
    id: Option<Str<'a>>,
    index: Option<i64>,
    #[serde(borrow)]
    tool_component: Option<ComponentReference<'a>>,
}

#[derive(Deserialize)]
struct ComponentReference<'a> {
    #[serde(borrow)]
    name: Option<Str<'a>>,
    index: Option<i64>,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow)]
    text: Option<Str<'a>>,
    #[serde(borrow)]
    id: Option<Str<'a>>,
    #[serde(default, borrow)]
    arguments: AtMost<Str<'a>, MAX_ARGUMENTS>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    #[serde(borrow)]
    physical_location: Option<PhysicalLocation<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation<'a> {
    #[serde(borrow)]
    artifact_location: Option<ArtifactLocation<'a>>,
    #[serde(borrow)]
    region: Option<Region<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation<'a> {
    #[serde(borrow)]
    uri: Option<Str<'a>>,
    #[serde(borrow)]
    uri_base_id: Option<Str<'a>>,
    index: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Region<'a> {
    start_line: Option<u32>,
    /// The flagged text (Bandit gives the line): tells look-alikes apart.
    #[serde(borrow)]
    snippet: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct Fix<'a> {
    #[serde(borrow)]
    description: Option<Text<'a>>,
}

/// Suppressed unless still under review or rejected; one without a status (Semgrep's
/// `nosemgrep`) counts as accepted.
#[derive(Deserialize)]
struct Suppression {
    status: Option<String>,
}

impl Test for Suppression {
    fn test(&self) -> bool {
        self.status.as_deref().is_none_or(|status| status == "accepted")
    }
}

impl<'a> Run<'a> {
    /// The run's tool (its driver's name) and category: as GitHub code scanning reads
    /// `automationDetails.id`, the part before its last `/` (`"ci/bandit/2026-11-28"` is
    /// category `ci/bandit`); an id without `/` names a run, not a category.
    fn analysis(&self, at: &str) -> Result<Analysis, Invalid> {
        let tool = self.tool.driver.name.as_deref().unwrap_or("").trim();
        let id = self.automation_details.as_ref().and_then(|d| d.id.as_deref()).unwrap_or("");
        let category = id.rsplit_once('/').map_or("", |(category, _)| category).trim();
        for (what, name) in [("tool.driver.name", tool), ("automationDetails.id", category)] {
            if name.chars().count() > Analysis::MAX_NAME {
                return Err(Invalid::new(format!("{at}.{what} is longer than {} characters", Analysis::MAX_NAME)));
            }
        }
        Ok(Analysis { tool: tool.to_string(), category: category.to_string() })
    }

    /// The finding `result` reports (its fingerprint left to the caller, with the
    /// scanner's own beside it), or `None` when it is not an open failure.
    fn finding(&self, result: &SarifResult<'_>, at: &str) -> Result<Option<(Finding, Option<String>)>, Invalid> {
        if result.kind.as_deref().is_some_and(|kind| kind != "fail") || result.suppressions.0 {
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
            .or(rule.map(|r| r.id.as_ref()))
            .filter(|id| !id.trim().is_empty())
            .ok_or_else(|| Invalid::new(format!("{at} has no rule (ruleId, rule.id or ruleIndex)")))?;
        let severity = severity(result, rule, at)?;
        let (uri, file, line, line_hash) = self.place(result, at)?;
        let message = message(&result.message, rule)
            .filter(|m| !m.trim().is_empty())
            .ok_or_else(|| Invalid::new(format!("{at} has no message text")))?;
        let suggestion = result
            .fixes
            .0
            .as_ref()
            .and_then(|fix| fix.description.as_ref()?.text.as_deref())
            .or_else(|| rule?.help.as_ref()?.text.as_deref())
            .filter(|s| !s.trim().is_empty())
            .map(capped);
        // Names a result can share by reference (a rule, an artifact) are copied into each
        // finding: bounded, so that sharing cannot multiply memory.
        for (what, name) in [("rule ID", rule_id), ("file", file.as_str()), ("file", uri.as_str())] {
            if name.len() > MAX_NAME {
                return Err(Invalid::new(format!("{at}: the {what} is longer than {MAX_NAME} bytes")));
            }
        }
        let print = result.partial_fingerprints.0.as_ref().or(result.fingerprints.0.as_ref()).map(|p| p.to_string());
        let finding = Finding {
            rule: rule_id.to_string(),
            severity,
            file,
            uri: Some(uri),
            line,
            message: capped(&message),
            suggestion,
            fingerprint: String::new(),
            line_hash,
            analysis: Analysis::default(),
        };
        Ok(Some((finding, print)))
    }

    /// The rule descriptor a result points at: by index in the driver or the extension its
    /// `toolComponent` names, else by id in any component.
    fn rule_for(&self, result: &SarifResult<'_>, id: Option<&str>) -> Option<&Rule<'a>> {
        let reference = result.rule.as_ref();
        let rules = match reference.and_then(|r| r.tool_component.as_ref()) {
            Some(component) => component
                .index
                .and_then(to_index)
                .and_then(|k| self.tool.extensions.0.get(k))
                .or_else(|| self.tool.extensions.0.iter().find(|e| e.name.is_some() && e.name == component.name))
                .map_or(&self.tool.driver.rules.0, |extension| &extension.rules.0),
            None => &self.tool.driver.rules.0,
        };
        let index = reference.and_then(|r| r.index).or(result.rule_index).and_then(to_index);
        // An index that disagrees with the id is a broken log; the id is the more telling.
        if let Some(rule) = index.and_then(|k| rules.get(k)).filter(|r| id.is_none_or(|id| r.id == id)) {
            return Some(rule);
        }
        let id = id?;
        let mut all = std::iter::once(&self.tool.driver).chain(&self.tool.extensions.0).flat_map(|c| &c.rules.0);
        all.find(|r| r.id == id)
    }

    /// The file a result is in (as written, and resolved), its line, and the hash of the
    /// flagged text when the log carries it.
    fn place(&self, result: &SarifResult<'_>, at: &str) -> Result<(String, String, u32, Option<String>), Invalid> {
        let location = result.locations.0.as_ref().ok_or_else(|| Invalid::new(format!("{at} has no location")))?;
        let physical = location
            .physical_location
            .as_ref()
            .ok_or_else(|| Invalid::new(format!("{at}.locations[0] has no physicalLocation")))?;
        let location = physical
            .artifact_location
            .as_ref()
            .and_then(|a| if a.uri.is_some() { Some(a) } else { self.artifact(a.index?) })
            .filter(|a| a.uri.as_deref().is_some_and(|uri| !uri.is_empty()))
            .ok_or_else(|| Invalid::new(format!("{at}.locations[0].physicalLocation has no artifactLocation.uri")))?;
        let uri = location.uri.as_deref().unwrap_or_default().to_string();
        let file = self.resolve(location);
        let region = physical.region.as_ref();
        let line = region.and_then(|r| r.start_line).unwrap_or(1);
        let line_hash = region.and_then(|r| r.snippet.as_ref()?.text.as_deref()).and_then(finding::line_hash);
        Ok((uri, file, line, line_hash))
    }

    /// A location may name its file only by index into `run.artifacts`.
    fn artifact(&self, index: i64) -> Option<&ArtifactLocation<'a>> {
        self.artifacts.0.get(to_index(index)?)?.location.as_ref()
    }

    /// The file `location` names, cleaned (`scan::path::clean`) and joined to the relative
    /// bases its `uriBaseId` chain describes. The chain ends at a base SARIF leaves
    /// undescribed (`%SRCROOT%`: the project's root) or describes with an absolute URI;
    /// either is the root the path is relative to. Bounded: a cycle stops it.
    fn resolve(&self, location: &ArtifactLocation<'_>) -> String {
        let mut file = path::clean(location.uri.as_deref().unwrap_or_default());
        let mut base = location.uri_base_id.as_deref();
        for _ in 0..MAX_BASE_CHAIN {
            let Some(described) = base.and_then(|id| self.original_uri_base_ids.get(id)) else { break };
            let prefix = path::clean(described.uri.as_deref().unwrap_or_default());
            if path::is_absolute(&file) || path::is_absolute(&prefix) {
                break;
            }
            if !prefix.is_empty() {
                file = format!("{}/{file}", prefix.trim_end_matches('/'));
            }
            base = described.uri_base_id.as_deref();
        }
        file
    }

    /// Where SARIF says the project's root is: `%SRCROOT%` (or `SRCROOT`) described with an
    /// absolute `file://` URI.
    fn source_root(&self) -> Option<String> {
        let base = ["%SRCROOT%", "SRCROOT"].iter().find_map(|id| self.original_uri_base_ids.get(*id))?;
        path::parse_root(base.uri.as_deref()?).ok()
    }
}

/// SARIF uses -1 for "no index".
fn to_index(raw: i64) -> Option<usize> {
    usize::try_from(raw).ok()
}

/// A rule's CVSS score (`security-severity`, as CodeQL writes it) wins over the level,
/// which says how sure the tool is rather than how bad the problem is.
fn severity(result: &SarifResult<'_>, rule: Option<&Rule<'_>>, at: &str) -> Result<Severity, Invalid> {
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
fn security_severity(rule: &Rule<'_>) -> Option<f64> {
    let raw = rule.properties.as_ref()?.security_severity?;
    let score = match kind_of(raw) {
        "a string" => serde_json::from_str::<Str>(raw.get()).ok()?.trim().parse::<f64>().ok()?,
        "a number" => serde_json::from_str::<f64>(raw.get()).ok()?,
        _ => return None,
    };
    score.is_finite().then_some(score)
}

/// The message text, or the rule's template it names by `id`, with `{0}`… filled in.
fn message(message: &Message<'_>, rule: Option<&Rule<'_>>) -> Option<String> {
    let text = match &message.text {
        Some(text) => &**text,
        None => {
            let (id, rule) = (message.id.as_ref()?, rule?);
            let template = rule.message_strings.get(&**id).and_then(|s| s.text.as_deref());
            template.or_else(|| rule.short_description.as_ref()?.text.as_deref())?
        }
    };
    Some(fill_placeholders(text, &message.arguments.0))
}

/// The longest message kept, in bytes. Filling `{0}` placeholders multiplies a message's
/// size, and one rule's template is copied into every result that names it, so a small
/// log could otherwise build gigabytes of messages: the cap holds while they are built.
pub const MAX_MESSAGE: usize = 16 * 1024;
/// The longest rule ID or file name accepted, in bytes.
pub const MAX_NAME: usize = 4 * 1024;

/// Replaces `{n}` with the n-th argument. Without arguments the text is kept as is, since
/// many tools do not escape the braces of quoted code. Capped at [`MAX_MESSAGE`].
fn fill_placeholders(text: &str, arguments: &[Str<'_>]) -> String {
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
