//! `scanhook audit-log`: the account's management actions, newest first.

use clap::Args;
use scanhook_client::AuditFilter;
use scanhook_client::types::AuditEntryOut;

use super::client_args::{ClientArgs, Ctx};
use super::output::{PageArgs, list, when};
use super::parse::TimeRange;

#[derive(Debug, Args)]
pub struct AuditLogArgs {
    #[command(flatten)]
    pub conn: ClientArgs,
    #[command(flatten)]
    pub filter: Filter,
    #[command(flatten)]
    pub page: PageArgs,
}

#[derive(Debug, Args)]
pub struct Filter {
    /// Only this action, such as webhook.updated or api_key.revoked.
    #[arg(long)]
    action: Option<String>,
    /// Only entries about this ID (a webhook, API key, account or delivery).
    #[arg(long)]
    target: Option<String>,
    #[command(flatten)]
    range: TimeRange,
}

pub async fn run(ctx: Ctx, filter: Filter, page: PageArgs) -> anyhow::Result<()> {
    let (since, until) = filter.range.query();
    let filter = AuditFilter { action: filter.action, target_id: filter.target, since, until };
    let header = ["TIME", "ACTION", "TARGET", "KEY", "CHANGES"];
    let client = &ctx.client;
    list(ctx.out, &page, &header, row, async |p| client.list_audit_log(&filter, &p).await).await
}

fn row(e: &AuditEntryOut) -> Vec<String> {
    let changed: Vec<&str> = e.changes.as_object().map(|c| c.keys().map(String::as_str).collect()).unwrap_or_default();
    vec![when(&e.at), e.action.clone(), e.target_id.clone(), e.key_id.clone(), changed.join(",")]
}
