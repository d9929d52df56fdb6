//! `scanhook events …`: report an event or a file of them, list and show the events reported.

use anyhow::Context;
use clap::{Args, Subcommand};
use scanhook_client::EventFilter;
use scanhook_client::types::{
    EventBatchIn, EventBatchItemIn, EventBatchResultOut, EventIn, EventOut, MAX_BATCH_EVENTS,
};
use serde_json::value::RawValue;

use super::client_args::{ClientArgs, Ctx};
use super::output::{Format, PageArgs, Table, emit, fields, list, opt, text, when};
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
    /// Report many events from a file, 100 per request (`POST /v1/events/batch`): a JSON
    /// array of events, `{"events": [...]}`, or one event per line (JSON Lines). Each
    /// event is `{"type": …, "data": {…}, "idempotency_key": …}` (data and key optional).
    /// Fails if any event was refused, after printing every result.
    SendBatch {
        /// The file, or - for standard input.
        file: String,
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
        EventsCommand::SendBatch { file } => {
            let source = if file == "-" { Source::Stdin } else { Source::File(file.into()) };
            let events = batch_events(&source.read()?)?;
            let mut table = Table::new(&["#", "STATUS", "EVENT", "DETAIL"]);
            let mut refused = 0;
            for (chunk_no, chunk) in events.chunks(MAX_BATCH_EVENTS).enumerate() {
                let reply = client.send_event_batch(&EventBatchIn { events: chunk.to_vec() }).await?;
                for (i, result) in reply.value.results.iter().enumerate() {
                    refused += usize::from(result.error.is_some());
                    table.row(batch_row(chunk_no * MAX_BATCH_EVENTS + i, result));
                }
                // Scripts get each answer as the server gave it, one per line.
                if out == Format::Json {
                    emit(out, &reply, |_| String::new());
                }
            }
            if out == Format::Table {
                text(&table.render());
            }
            if refused > 0 {
                anyhow::bail!("{refused} of {} events were refused", events.len());
            }
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

/// The events of a batch file: a JSON array, a request body (`{"events": [...]}`), or JSON
/// Lines; an event that is not one names its place.
fn batch_events(bytes: &[u8]) -> anyhow::Result<Vec<EventBatchItemIn>> {
    let text = std::str::from_utf8(bytes).context("the batch file is not UTF-8")?;
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        return serde_json::from_str(text).context("the batch file is not a JSON array of events");
    }
    if let Ok(body) = serde_json::from_str::<EventBatchIn>(text) {
        return Ok(body.events);
    }
    let events = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| serde_json::from_str(line).with_context(|| format!("line {} is not an event", n + 1)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if events.is_empty() {
        anyhow::bail!("the batch file holds no events");
    }
    Ok(events)
}

/// One event's result: its place in the file, the status, the event or the problem.
fn batch_row(index: usize, result: &EventBatchResultOut) -> Vec<String> {
    let event = result.event.as_ref().map(|e| e.id.clone()).unwrap_or_default();
    let detail = match (&result.event, &result.error) {
        (Some(_), _) if result.replayed => "replayed: accepted before with this idempotency key".to_string(),
        (Some(e), _) => format!("{} deliveries", e.deliveries),
        (None, Some(p)) => match &p.field {
            // The server names the field within its request; the file's place is `index`.
            Some(field) => format!("{}: {}", field.split_once('.').map_or(field.as_str(), |(_, f)| f), p.message),
            None => p.message.clone(),
        },
        (None, None) => String::new(),
    };
    vec![index.to_string(), result.status.to_string(), event, detail]
}
