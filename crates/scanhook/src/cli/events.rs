//! `scanhook events …`: report an event, list and show the events reported.

use anyhow::Context;
use clap::{Args, Subcommand};
use scanhook_client::EventFilter;
use scanhook_client::types::{EventIn, EventOut};
use serde_json::value::RawValue;

use super::client_args::{ClientArgs, Ctx};
use super::output::{PageArgs, emit, fields, list, opt, when};
use super::parse::{Source, TimeRange};

#[derive(Debug, Args)]
pub struct EventsArgs {
    #[command(flatten)]
    pub conn: ClientArgs,
    #[command(subcommand)]
    pub command: EventsCommand,
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Report an event; it is fanned out to every subscribed endpoint.
    Send {
        /// The event type, such as scan.completed.
        #[arg(long = "type")]
        event_type: String,
        /// The payload, a JSON object: inline, @file or @- for standard input [default: {}]
        #[arg(long, value_parser = Source::parse)]
        data: Option<Source>,
        /// The same key twice is accepted once (safe retries).
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// List events, newest first.
    List {
        /// Only events of this type.
        #[arg(long = "type")]
        event_type: Option<String>,
        /// Only events about this project (its scans, violations and alerts).
        #[arg(long)]
        project: Option<String>,
        #[command(flatten)]
        range: TimeRange,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show an event and its payload.
    Get { id: String },
}

pub async fn run(ctx: Ctx, command: EventsCommand) -> anyhow::Result<()> {
    let (client, out) = (&ctx.client, ctx.out);
    match command {
        EventsCommand::Send { event_type, data, idempotency_key } => {
            let data = match data {
                // Checked here so a typo gets a local message, not a round trip; sent
                // byte for byte, since the API delivers it so.
                Some(source) => {
                    let text = String::from_utf8(source.read()?).context("the event data is not UTF-8")?;
                    Some(RawValue::from_string(text).context("the event data is not valid JSON")?)
                }
                None => None,
            };
            let reply = client.send_event(&EventIn { event_type, data }, idempotency_key.as_deref()).await?;
            emit(out, &reply, |e| format!("Accepted event {} ({}): {} deliveries\n", e.id, e.event_type, e.deliveries));
        }
        EventsCommand::List { event_type, project, range, page } => {
            let (since, until) = range.query();
            let filter = EventFilter { event_type, project_id: project, since, until };
            let header = ["ID", "TYPE", "TIMESTAMP", "DELIVERIES"];
            let row =
                |e: &EventOut| vec![e.id.clone(), e.event_type.clone(), when(&e.timestamp), e.deliveries.to_string()];
            list(out, &page, &header, row, async |p| client.list_events(&filter, &p).await).await?;
        }
        EventsCommand::Get { id } => emit(out, &client.get_event(&id).await?, render),
    }
    Ok(())
}

fn render(e: &EventOut) -> String {
    let data = serde_json::to_string_pretty(&e.data).unwrap_or_default();
    let head = fields(&[
        ("id", e.id.clone()),
        ("type", e.event_type.clone()),
        ("timestamp", when(&e.timestamp)),
        ("deliveries", e.deliveries.to_string()),
        ("test webhook", opt(&e.webhook_id)),
    ]);
    format!("{head}\n{data}\n")
}
