//! `scanhook scans …` and `scanhook violations …`: what a scanner or CI job reports, and
//! the violations scanhook keeps from it.

use anyhow::bail;
use clap::{ArgGroup, Args, Subcommand};
use scanhook_client::types::{
    ScanCompleteOut, ScanErrorBody, ScanFailIn, ScanIn, ScanOut, ScanProgressIn, ViolationOut, ViolationResolveIn,
};
use scanhook_client::{Report, ScanFilter, ViolationFilter};

use super::client_args::{ClientArgs, Ctx};
use super::output::{PageArgs, emit, fields, line, list, opt, when};
use super::parse::Source;
use scanhook_core::scan::Analysis;

#[derive(Debug, Args)]
pub struct ScansArgs {
    #[command(flatten)]
    pub conn: ClientArgs,
    #[command(subcommand)]
    pub command: ScansCommand,
}

#[derive(Debug, Subcommand)]
pub enum ScansCommand {
    /// Start a scan of a project (emits scan.started).
    Start {
        /// The project's ID.
        #[arg(long)]
        project: String,
        /// What this scan looks at [default: the project's target]
        #[arg(long)]
        target: Option<String>,
        /// Rule sets checked, comma separated: gdpr,owasp
        #[arg(long, value_delimiter = ',')]
        rules: Option<Vec<String>>,
        /// Seconds before the scan times out [default: the project's limit]
        #[arg(long)]
        time_limit: Option<u64>,
        /// The tool whose findings the scan reports: it resolves only that tool's violations
        /// (a SARIF log names its own tools).
        #[arg(long)]
        tool: Option<String>,
        /// The part of the code base the tool looked at, e.g. backend.
        #[arg(long)]
        category: Option<String>,
        /// Where the scanner ran the project (absolute path or file:// URI): absolute
        /// paths in the report are made relative to it.
        #[arg(long)]
        root: Option<String>,
        /// Print only the scan's ID (for scripts).
        #[arg(long, short)]
        quiet: bool,
    },
    /// Report a running scan's progress (scan.progress at most every 5 s).
    Progress {
        id: String,
        /// 0 to 100.
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
        percent: u8,
        #[arg(long)]
        message: Option<String>,
        #[arg(long)]
        files_scanned: Option<u64>,
    },
    /// Complete a scan with its findings: scanhook's JSON or a SARIF 2.1.0 log.
    Complete(CompleteArgs),
    /// End a running scan as failed (emits scan.failed).
    Fail {
        id: String,
        /// A short machine-readable code, such as scanner_crashed.
        #[arg(long)]
        code: String,
        #[arg(long)]
        message: String,
    },
    /// Show a scan.
    Get { id: String },
    /// List a project's scans, newest first.
    List {
        /// The project's ID.
        #[arg(long)]
        project: String,
        #[arg(long, value_parser = ["running", "completed", "failed", "timed_out"])]
        status: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("report").required(true).args(["findings", "sarif"])))]
pub struct CompleteArgs {
    id: String,
    /// scanhook's JSON report, {"findings": [...]} or just the array: @file, @- or inline.
    #[arg(long, value_parser = Source::parse)]
    findings: Option<Source>,
    /// A SARIF 2.1.0 log: @file or @- (standard input).
    #[arg(long, value_parser = Source::parse)]
    sarif: Option<Source>,
    /// The scan's score, 0 to 100 (with --findings; a SARIF log carries none).
    #[arg(long, conflicts_with = "sarif", value_parser = clap::value_parser!(u32).range(0..=100))]
    score: Option<u32>,
}

#[derive(Debug, Args)]
pub struct ViolationsArgs {
    #[command(flatten)]
    pub conn: ClientArgs,
    #[command(subcommand)]
    pub command: ViolationsCommand,
}

#[derive(Debug, Subcommand)]
pub enum ViolationsCommand {
    /// List a project's violations, newest first.
    List {
        /// The project's ID.
        #[arg(long)]
        project: String,
        #[arg(long, value_parser = ["open", "resolved"])]
        status: Option<String>,
        #[arg(long, value_parser = ["critical", "high", "medium", "low", "info"])]
        severity: Option<String>,
        /// Only violations found by this tool.
        #[arg(long)]
        tool: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show one violation and its history (detected, resolved, reopened).
    Show { id: String },
    /// Resolve an open violation by hand (emits violation.resolved).
    Resolve {
        id: String,
        /// Who resolved it [default: $USER]
        #[arg(long)]
        by: Option<String>,
    },
}

pub async fn run(ctx: Ctx, command: ScansCommand) -> anyhow::Result<()> {
    let (client, out) = (&ctx.client, ctx.out);
    match command {
        ScansCommand::Start { project, target, rules, time_limit, tool, category, root, quiet } => {
            let input = ScanIn { project, target, rules, time_limit_secs: time_limit, tool, category, root };
            let reply = client.start_scan(&input).await?;
            if quiet {
                line(reply.value.id);
            } else {
                emit(out, &reply, render);
            }
        }
        ScansCommand::Progress { id, percent, message, files_scanned } => {
            let reply = client.scan_progress(&id, &ScanProgressIn { percent, files_scanned, message }).await?;
            emit(out, &reply, |p| {
                let sent = if p.sent { "scan.progress sent" } else { "stored; scan.progress sent at most every 5 s" };
                format!("Scan {} at {}% ({sent})\n", p.scan.id, p.percent)
            });
        }
        ScansCommand::Complete(args) => {
            let report = report(&args)?;
            emit(out, &client.complete_scan(&args.id, report).await?, render_complete);
        }
        ScansCommand::Fail { id, code, message } => {
            let reply = client.fail_scan(&id, &ScanFailIn { error: ScanErrorBody { code, message } }).await?;
            emit(out, &reply, render);
        }
        ScansCommand::Get { id } => emit(out, &client.get_scan(&id).await?, render),
        ScansCommand::List { project, status, page } => {
            let filter = ScanFilter { status };
            let header = ["ID", "STATUS", "TOOL", "STARTED", "ENDED", "SCORE", "FILES"];
            let row = |s: &ScanOut| {
                vec![
                    s.id.clone(),
                    s.status.clone(),
                    opt(&s.tool),
                    when(&s.started_at),
                    s.ended_at.map(|t| when(&t)).unwrap_or_default(),
                    opt(&s.score),
                    opt(&s.files_scanned),
                ]
            };
            list(out, &page, &header, row, async |p| client.list_scans(&project, &filter, &p).await).await?;
        }
    }
    Ok(())
}

/// The report to send: a SARIF log byte for byte, or the JSON findings with `--score`.
fn report(args: &CompleteArgs) -> anyhow::Result<Report> {
    if let Some(sarif) = &args.sarif {
        return Ok(Report::Sarif(sarif.read()?));
    }
    let Some(findings) = &args.findings else { bail!("give --findings or --sarif") };
    let mut body = match findings.json()? {
        array @ serde_json::Value::Array(_) => serde_json::json!({ "findings": array }),
        object @ serde_json::Value::Object(_) => object,
        _ => bail!("--findings must be a JSON object {{\"findings\": [...]}} or an array of findings"),
    };
    if let (Some(score), Some(object)) = (args.score, body.as_object_mut()) {
        object.insert("score".into(), score.into());
    }
    Ok(Report::Json(body))
}

pub async fn run_violations(ctx: Ctx, command: ViolationsCommand) -> anyhow::Result<()> {
    let (client, out) = (&ctx.client, ctx.out);
    match command {
        ViolationsCommand::List { project, status, severity, tool, page } => {
            let filter = ViolationFilter { status, severity, tool };
            let header = ["ID", "SEVERITY", "TOOL", "RULE", "LOCATION", "STATUS", "MESSAGE"];
            let row = |v: &ViolationOut| {
                let location = format!("{}:{}", v.file, v.line);
                vec![
                    v.id.clone(),
                    v.severity.to_string(),
                    opt(&v.tool),
                    v.rule.clone(),
                    location,
                    v.status.clone(),
                    v.message.clone(),
                ]
            };
            list(out, &page, &header, row, async |p| client.list_violations(&project, &filter, &p).await).await?;
        }
        ViolationsCommand::Show { id } => {
            let reply = client.get_violation(&id).await?;
            emit(out, &reply, render_violation);
        }
        ViolationsCommand::Resolve { id, by } => {
            let resolved_by = by.or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "cli".into());
            let reply = client.resolve_violation(&id, &ViolationResolveIn { resolved_by }).await?;
            emit(out, &reply, |v| format!("Resolved violation {} ({} in {}:{})\n", v.id, v.rule, v.file, v.line));
        }
    }
    Ok(())
}

fn render(s: &ScanOut) -> String {
    let error = s.error.as_ref().map(|e| format!("{}: {}", e.code, e.message)).unwrap_or_default();
    fields(&[
        ("id", s.id.clone()),
        ("project", s.project_id.clone()),
        ("status", s.status.clone()),
        ("target", opt(&s.target)),
        ("rules", s.rules.join(",")),
        ("started", when(&s.started_at)),
        ("deadline", when(&s.deadline_at)),
        ("ended", s.ended_at.map(|t| when(&t)).unwrap_or_default()),
        ("error", error),
        ("files scanned", opt(&s.files_scanned)),
        ("score", opt(&s.score)),
        ("grade", opt(&s.grade)),
        ("tool", opt(&s.tool)),
        ("category", opt(&s.category)),
        ("root", opt(&s.root)),
        ("covered", s.covered.iter().map(covered).collect::<Vec<_>>().join(", ")),
    ])
}

/// `tool` or `tool (category)`; `-` for an analysis that names nothing.
fn covered(a: &Analysis) -> String {
    match (a.tool.as_str(), a.category.as_str()) {
        ("", "") => "-".into(),
        (tool, "") => tool.into(),
        (tool, category) => format!("{tool} ({category})"),
    }
}

fn render_complete(c: &ScanCompleteOut) -> String {
    format!(
        "{}\n{} new violations ({} of them reopened), {} resolved, {} open on the project\n",
        render(&c.scan),
        c.detected,
        c.reopened,
        c.resolved,
        c.open
    )
}

fn render_violation(v: &ViolationOut) -> String {
    let mut out = fields(&[
        ("id", v.id.clone()),
        ("project", v.project_id.clone()),
        ("status", v.status.clone()),
        ("severity", v.severity.to_string()),
        ("tool", opt(&v.tool)),
        ("category", opt(&v.category)),
        ("rule", v.rule.clone()),
        ("location", format!("{}:{}", v.file, v.line)),
        ("uri", opt(&v.uri)),
        ("message", v.message.clone()),
        ("fingerprint", v.fingerprint.clone()),
    ]);
    out.push_str("history:\n");
    for change in v.history.iter().flatten() {
        let by = change.by.as_deref().map(|by| format!(" by {by}")).unwrap_or_default();
        let scan = change.scan_id.as_deref().map(|s| format!(" in {s}")).unwrap_or_default();
        out.push_str(&format!("  {}  {}{scan}{by}\n", when(&change.at), change.action));
    }
    out
}
