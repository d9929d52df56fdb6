//! `scanhook projects …`: what scans belong to.

use clap::{Args, Subcommand};
use scanhook_client::types::{ProjectIn, ProjectOut};

use super::client_args::{ClientArgs, Ctx};
use super::output::{Format, PageArgs, emit, fields, line, list, opt, when};

#[derive(Debug, Args)]
pub struct ProjectsArgs {
    #[command(flatten)]
    pub conn: ClientArgs,
    #[command(subcommand)]
    pub command: ProjectsCommand,
}

#[derive(Debug, Subcommand)]
pub enum ProjectsCommand {
    /// Create a project.
    Create {
        #[arg(long)]
        name: String,
        /// What is scanned: a repository URL, a domain, a service name.
        #[arg(long)]
        target: Option<String>,
        /// Score points a completed scan must drop by to raise alert.triggered (1 to 100) [default: 10]
        #[arg(long)]
        score_drop_threshold: Option<u32>,
        /// Seconds a scan may run before it times out (60 to 604800) [default: 3600]
        #[arg(long)]
        scan_time_limit: Option<u64>,
        /// Print only the new project's ID (for scripts).
        #[arg(long, short)]
        quiet: bool,
    },
    /// List projects, newest first.
    List(PageArgs),
    /// Show a project.
    Get { id: String },
    /// Delete a project with its scans and violations.
    Delete { id: String },
}

pub async fn run(ctx: Ctx, command: ProjectsCommand) -> anyhow::Result<()> {
    let (client, out) = (&ctx.client, ctx.out);
    match command {
        ProjectsCommand::Create { name, target, score_drop_threshold, scan_time_limit, quiet } => {
            let input = ProjectIn { name, target, score_drop_threshold, scan_time_limit_secs: scan_time_limit };
            let reply = client.create_project(&input).await?;
            if quiet {
                line(reply.value.id);
            } else {
                emit(out, &reply, render);
            }
        }
        ProjectsCommand::List(page) => {
            let header = ["ID", "NAME", "TARGET", "CREATED"];
            let row = |p: &ProjectOut| vec![p.id.clone(), p.name.clone(), opt(&p.target), when(&p.created_at)];
            list(out, &page, &header, row, async |p| client.list_projects(&p).await).await?;
        }
        ProjectsCommand::Get { id } => emit(out, &client.get_project(&id).await?, render),
        ProjectsCommand::Delete { id } => {
            client.delete_project(&id).await?;
            if out == Format::Table {
                line(format_args!("Deleted project {id}"));
            }
        }
    }
    Ok(())
}

fn render(p: &ProjectOut) -> String {
    let mut rows = vec![
        ("id", p.id.clone()),
        ("name", p.name.clone()),
        ("target", opt(&p.target)),
        ("score drop alert", p.score_drop_threshold.to_string()),
        ("scan time limit", format!("{} s", p.scan_time_limit_secs)),
        ("created", when(&p.created_at)),
        ("updated", when(&p.updated_at)),
    ];
    if let Some(v) = &p.violations {
        let o = &v.open;
        let open = format!(
            "{} (critical {}, high {}, medium {}, low {}, info {})",
            o.total(),
            o.critical,
            o.high,
            o.medium,
            o.low,
            o.info
        );
        rows.push(("open violations", open));
        rows.push(("resolved violations", v.resolved.to_string()));
    }
    fields(&rows)
}
