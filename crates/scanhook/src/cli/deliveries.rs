//! `scanhook deliveries …`: the delivery log, each delivery's attempts, retrying by hand.

use clap::{Args, Subcommand, ValueEnum};
use scanhook_client::DeliveryFilter;
use scanhook_client::types::{DeliveryDetailOut, DeliveryOut};

use super::client_args::{ClientArgs, Ctx};
use super::output::{PageArgs, Table, emit, fields, list, opt, when};
use super::parse::TimeRange;

#[derive(Debug, Args)]
pub struct DeliveriesArgs {
    #[command(flatten)]
    pub conn: ClientArgs,
    #[command(subcommand)]
    pub command: DeliveriesCommand,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Status {
    Pending,
    Succeeded,
    Dead,
    /// Kept while the endpoint is disabled after failures.
    Held,
}

#[derive(Debug, Subcommand)]
pub enum DeliveriesCommand {
    /// List deliveries, newest first.
    List {
        /// Only deliveries to this webhook.
        #[arg(long)]
        webhook: Option<String>,
        #[arg(long, value_enum)]
        status: Option<Status>,
        /// Only deliveries of this event.
        #[arg(long)]
        event: Option<String>,
        /// Only deliveries of events of this type.
        #[arg(long = "type")]
        event_type: Option<String>,
        /// When the deliveries were made.
        #[command(flatten)]
        range: TimeRange,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show a delivery and the table of its attempts.
    Get { id: String },
    /// Attempt a delivery again now, starting a new round of retries (also a dead one).
    Retry { id: String },
}

pub async fn run(ctx: Ctx, command: DeliveriesCommand) -> anyhow::Result<()> {
    let (client, out) = (&ctx.client, ctx.out);
    match command {
        DeliveriesCommand::List { webhook, status, event, event_type, range, page } => {
            let status = status.and_then(|s| s.to_possible_value()).map(|v| v.get_name().to_string());
            let (since, until) = range.query();
            let filter = DeliveryFilter { webhook_id: webhook, event_id: event, status, event_type, since, until };
            let header = ["ID", "EVENT TYPE", "WEBHOOK", "STATUS", "ATTEMPTS", "LAST CODE", "UPDATED"];
            list(out, &page, &header, row, async |p| client.list_deliveries(&filter, &p).await).await?;
        }
        DeliveriesCommand::Get { id } => emit(out, &client.get_delivery(&id).await?, render_delivery),
        DeliveriesCommand::Retry { id } => {
            let reply = client.retry_delivery(&id).await?;
            emit(out, &reply, |d| format!("Queued delivery {} for a new round\n{}", d.id, render(d)));
        }
    }
    Ok(())
}

fn row(d: &DeliveryOut) -> Vec<String> {
    vec![
        d.id.clone(),
        d.event_type.clone(),
        d.webhook_id.clone(),
        d.status.as_str().into(),
        d.attempts.to_string(),
        opt(&d.last_status_code),
        when(&d.updated_at),
    ]
}

fn render(d: &DeliveryOut) -> String {
    fields(&[
        ("id", d.id.clone()),
        ("event", format!("{} ({})", d.event_id, d.event_type)),
        ("webhook", d.webhook_id.clone()),
        ("status", d.status.as_str().into()),
        ("attempts", d.attempts.to_string()),
        ("next attempt", d.next_attempt_at.map(|t| when(&t)).unwrap_or_default()),
        ("last code", opt(&d.last_status_code)),
        ("last error", opt(&d.last_error)),
        ("created", when(&d.created_at)),
        ("updated", when(&d.updated_at)),
    ])
}

/// A delivery, then one line per attempt: time, status code, latency, error.
pub fn render_delivery(detail: &DeliveryDetailOut) -> String {
    let mut attempts = Table::new(&["#", "TIME", "CODE", "LATENCY", "ERROR"]);
    for a in &detail.attempt_log {
        let row = vec![
            a.number.to_string(),
            when(&a.started_at),
            opt(&a.status_code),
            format!("{} ms", a.latency_ms),
            opt(&a.error),
        ];
        attempts.row(row);
    }
    let log = if detail.attempt_log.is_empty() { "(no attempt yet)\n".to_string() } else { attempts.render() };
    format!("{}\n{log}", render(&detail.delivery))
}
