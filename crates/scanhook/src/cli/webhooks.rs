//! `scanhook webhooks …`: subscribe endpoints, change them, test them, replay their dead
//! deliveries.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::bail;
use chrono::{DateTime, Utc};
use clap::{ArgAction, Args, Subcommand};
use scanhook_client::types::{
    BodyJson, CloudEvents, CloudEventsMode, DeliveryDetailOut, EnableIn, Encoding, Kind, Ordering, ReplayIn,
    RotateSecretIn, Signature, TestIn, WebhookIn, WebhookOut, WebhookPatch,
};
use scanhook_core::DeliveryStatus;

use super::client_args::{ClientArgs, Ctx};
use super::deliveries::render_delivery;
use super::output::{Format, PageArgs, emit, fields, line, list, opt, when};
use super::parse;
use super::serve_args::duration;

#[derive(Debug, Args)]
pub struct WebhooksArgs {
    #[command(flatten)]
    pub conn: ClientArgs,
    #[command(subcommand)]
    pub command: WebhooksCommand,
}

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Subscribe an endpoint; prints its ID and signing secret (shown only this once), or
    /// for standard-ed25519 its public key.
    Create(CreateArgs),
    /// List endpoints, newest first.
    List(PageArgs),
    /// Show one endpoint.
    Get { id: String },
    /// Change an endpoint; flags left out stay as they are.
    Update(UpdateArgs),
    /// Delete an endpoint and its deliveries.
    Delete { id: String },
    /// Send a test event to an endpoint and show how its delivery went.
    Test(TestArgs),
    /// Re-enable an endpoint scanhook disabled after repeated failures.
    Enable {
        id: String,
        /// Also deliver the events accepted while it was disabled, oldest first (without
        /// it they become dead deliveries that `replay` can still send).
        #[arg(long)]
        replay_missed: bool,
    },
    /// Replace the signing secret; prints the new one (shown only this once), or for
    /// standard-ed25519 its public key. Deliveries are signed with both until the grace
    /// period ends.
    RotateSecret {
        id: String,
        /// The new secret [default: a generated whsec_… secret, or whsk_… key for standard-ed25519]
        #[arg(long)]
        secret: Option<String>,
        /// How long the old secret keeps signing too, e.g. 24h or 0s.
        #[arg(long, value_parser = duration)]
        grace_period: Option<Duration>,
    },
    /// Show an endpoint's health over the last hour and 24 hours: attempts, failures,
    /// success rate, p50/p95 latency, failures in a row, the last error and delivery.
    Stats { id: String },
    /// Queue the endpoint's dead deliveries for a new round.
    Replay {
        id: String,
        /// Only deliveries created since then: RFC 3339, or a span before now such as 24h.
        #[arg(long, value_parser = parse::time)]
        since: Option<DateTime<Utc>>,
    },
}

/// Filters shared by `create` and `update`.
#[derive(Debug, Args)]
pub struct Filters {
    /// Extra request header sent with every delivery, 'Name: value' (repeatable).
    #[arg(long = "header", value_name = "NAME: VALUE", value_parser = parse::header)]
    headers: Vec<(String, String)>,
    /// Extra headers whose values are credentials (never shown, encrypted at rest), comma
    /// separated; names like Authorization, *token*, *key*, *secret* are sensitive anyway.
    #[arg(long, value_delimiter = ',')]
    sensitive_headers: Option<Vec<String>>,
    /// Only events of these project IDs, comma separated.
    #[arg(long, value_delimiter = ',')]
    projects: Option<Vec<String>>,
    /// Only violations and issues at or above this severity (critical, high, medium, low, info).
    #[arg(long)]
    min_severity: Option<String>,
}

/// How deliveries are signed and shaped, shared by `create` and `update`.
#[derive(Debug, Args)]
pub struct DeliveryArgs {
    /// Signature scheme [standard, standard-ed25519, hmac-sha256, bearer, none]; --signature-header implies hmac-sha256.
    #[arg(long, value_parser = ["standard", "standard-ed25519", "hmac-sha256", "bearer", "none"])]
    signature: Option<String>,
    /// hmac-sha256: the header carrying the signature, e.g. X-Hub-Signature-256 [default: <header prefix>-Signature]
    #[arg(long)]
    signature_header: Option<String>,
    /// hmac-sha256: text before the signature, e.g. 'sha256=' [default: none]
    #[arg(long)]
    signature_prefix: Option<String>,
    /// hmac-sha256: how the signature is written [hex, base64; default: hex]
    #[arg(long, value_parser = ["hex", "base64"])]
    signature_encoding: Option<String>,
    /// Send 'Authorization: Bearer TOKEN' with every delivery.
    #[arg(long)]
    bearer_token: Option<String>,
    /// Seconds one attempt may take, 1 to 30.
    #[arg(long)]
    timeout: Option<u32>,
    /// Requests open to the endpoint at once, per server node, 1 to 1000 [default: 10].
    #[arg(long)]
    max_in_flight: Option<u32>,
    /// Deliveries per second at most, 1 to 10000 (excess deliveries wait) [default: unlimited].
    #[arg(long)]
    rate_limit: Option<u32>,
    /// Deliveries that may go at once after a quiet spell [default: the rate limit].
    #[arg(long)]
    rate_limit_burst: Option<u32>,
    /// fifo: one delivery at a time, in the order the events were accepted [fifo, unordered; default: unordered].
    #[arg(long, value_parser = ["fifo", "unordered"])]
    ordering: Option<String>,
    /// Body format [generic, slack, discord, teams, cloudevents].
    #[arg(long, value_parser = ["generic", "slack", "discord", "teams", "cloudevents"])]
    kind: Option<String>,
    /// cloudevents: content mode [structured, binary; default: structured].
    #[arg(long, value_parser = ["structured", "binary"])]
    cloudevents_mode: Option<String>,
    /// cloudevents: the source attribute, a URI-reference [default: the server's public URL].
    #[arg(long)]
    cloudevents_source: Option<String>,
    /// A jq program that produces the body, inline or @file.
    #[arg(long, value_parser = parse::Source::parse)]
    template: Option<parse::Source>,
    /// A JSON object merged into the body, inline or @file.
    #[arg(long, value_parser = parse::Source::parse)]
    extra_payload: Option<parse::Source>,
    /// Prefix of the event, delivery, attempt and signature headers, e.g. X-Juro.
    #[arg(long)]
    header_prefix: Option<String>,
    /// The body's JSON: as rendered, or as JavaScript's JSON.stringify(JSON.parse(body))
    /// makes it, for receivers that sign JSON.stringify(req.body) [verbatim, javascript].
    #[arg(long, value_parser = ["verbatim", "javascript"])]
    body_json: Option<String>,
}

impl DeliveryArgs {
    fn signature(&self) -> anyhow::Result<Option<Signature>> {
        let scheme = match (&self.signature, &self.signature_header) {
            (None, None) => return Ok(None),
            (Some(scheme), _) => scheme.as_str(),
            (None, Some(_)) => "hmac-sha256",
        };
        Ok(Some(match scheme {
            "hmac-sha256" => {
                let header = self.signature_header.clone();
                let encoding = match self.signature_encoding.as_deref() {
                    Some("base64") => Encoding::Base64,
                    _ => Encoding::Hex,
                };
                Signature::HmacSha256 { header, prefix: self.signature_prefix.clone().unwrap_or_default(), encoding }
            }
            "standard-ed25519" => Signature::StandardEd25519,
            "bearer" => Signature::Bearer,
            "none" => Signature::None,
            _ => Signature::Standard,
        }))
    }

    fn ordering(&self) -> Option<Ordering> {
        self.ordering.as_deref().map(|o| if o == "fifo" { Ordering::Fifo } else { Ordering::Unordered })
    }

    fn kind(&self) -> Option<Kind> {
        self.kind.as_deref().map(|k| match k {
            "slack" => Kind::Slack,
            "discord" => Kind::Discord,
            "teams" => Kind::Teams,
            "cloudevents" => Kind::Cloudevents,
            _ => Kind::Generic,
        })
    }

    fn body_json(&self) -> Option<BodyJson> {
        self.body_json.as_deref().map(|b| if b == "javascript" { BodyJson::Javascript } else { BodyJson::Verbatim })
    }

    /// The CloudEvents settings, when a flag sets one (together they replace the stored ones).
    fn cloudevents(&self) -> Option<CloudEvents> {
        if self.cloudevents_mode.is_none() && self.cloudevents_source.is_none() {
            return None;
        }
        let mode = match self.cloudevents_mode.as_deref() {
            Some("binary") => CloudEventsMode::Binary,
            _ => CloudEventsMode::Structured,
        };
        Some(CloudEvents { mode, source: self.cloudevents_source.clone() })
    }

    fn template(&self) -> anyhow::Result<Option<String>> {
        self.template.as_ref().map(|t| Ok(String::from_utf8(t.read()?)?)).transpose()
    }

    fn extra_payload(&self) -> anyhow::Result<Option<serde_json::Value>> {
        self.extra_payload.as_ref().map(|p| p.json()).transpose()
    }
}

impl Filters {
    fn headers(&self) -> Option<BTreeMap<String, String>> {
        (!self.headers.is_empty()).then(|| self.headers.iter().cloned().collect())
    }
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Where deliveries are POSTed.
    #[arg(long)]
    url: String,
    /// Event types or patterns, comma separated: scan.completed,violation.*
    #[arg(long, value_delimiter = ',', required = true)]
    events: Vec<String>,
    #[command(flatten)]
    filters: Filters,
    #[command(flatten)]
    delivery: DeliveryArgs,
    /// Signing secret, 16 to 128 characters, or a whsk_… key for standard-ed25519 [default: generated]
    #[arg(long)]
    secret: Option<String>,
    /// A note for people.
    #[arg(long)]
    description: Option<String>,
    /// Create it inactive: it receives nothing until enabled.
    #[arg(long)]
    disabled: bool,
    /// Ask the endpoint for consent first (the CloudEvents webhook handshake: OPTIONS with
    /// WebHook-Request-Origin); nothing is created unless it answers WebHook-Allowed-Origin.
    #[arg(long)]
    validate: bool,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    id: String,
    /// Where deliveries are POSTed.
    #[arg(long)]
    url: Option<String>,
    /// Event types or patterns, comma separated (replaces the list).
    #[arg(long, value_delimiter = ',')]
    events: Option<Vec<String>>,
    #[command(flatten)]
    filters: Filters,
    #[command(flatten)]
    delivery: DeliveryArgs,
    /// `true` also re-enables an endpoint scanhook disabled.
    #[arg(long, action = ArgAction::Set)]
    active: Option<bool>,
    /// A note for people.
    #[arg(long, conflicts_with = "clear_description")]
    description: Option<String>,
    /// Remove the description.
    #[arg(long)]
    clear_description: bool,
    /// Remove the project filter: events of every project.
    #[arg(long, conflicts_with = "projects")]
    all_projects: bool,
    /// Remove the severity filter.
    #[arg(long, conflicts_with = "min_severity")]
    any_severity: bool,
    /// Remove every extra header (`--header` replaces them all).
    #[arg(long, conflicts_with = "headers")]
    clear_headers: bool,
    /// Remove the rate limit and its burst.
    #[arg(long, conflicts_with_all = ["rate_limit", "rate_limit_burst"])]
    no_rate_limit: bool,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    id: String,
    /// An event type of the catalogue to send its example of [default: webhook.test]
    #[arg(long = "type")]
    event_type: Option<String>,
    /// How long to wait for the first attempt's outcome.
    #[arg(long, default_value = "15s", value_parser = duration)]
    wait: Duration,
}

pub async fn run(ctx: Ctx, command: WebhooksCommand) -> anyhow::Result<()> {
    let (client, out) = (&ctx.client, ctx.out);
    match command {
        WebhooksCommand::Create(args) => {
            let input = WebhookIn {
                url: args.url,
                events: args.events,
                secret: args.secret,
                active: args.disabled.then_some(false),
                description: args.description,
                headers: args.filters.headers(),
                sensitive_headers: args.filters.sensitive_headers,
                projects: args.filters.projects,
                min_severity: args.filters.min_severity,
                signature: args.delivery.signature()?,
                bearer_token: args.delivery.bearer_token.clone(),
                timeout: args.delivery.timeout,
                kind: args.delivery.kind(),
                template: args.delivery.template()?,
                extra_payload: args.delivery.extra_payload()?,
                header_prefix: args.delivery.header_prefix.clone(),
                body_json: args.delivery.body_json(),
                cloudevents: args.delivery.cloudevents(),
                max_in_flight: args.delivery.max_in_flight,
                rate_limit: args.delivery.rate_limit,
                rate_limit_burst: args.delivery.rate_limit_burst,
                ordering: args.delivery.ordering(),
                validate: args.validate.then_some(true),
            };
            let reply = client.create_webhook(&input).await?;
            emit(out, &reply, |w| format!("{}\n{}\n", render(w), secret_note(w)));
        }
        WebhooksCommand::List(page) => {
            let header = ["ID", "URL", "EVENTS", "ACTIVE", "FAILURES", "CREATED"];
            let row = |w: &WebhookOut| {
                let active = if w.active { "yes" } else { "no" };
                vec![
                    w.id.clone(),
                    w.url.clone(),
                    w.events.join(","),
                    active.into(),
                    w.consecutive_failures.to_string(),
                    when(&w.created_at),
                ]
            };
            list(out, &page, &header, row, async |p| client.list_webhooks(&p).await).await?;
        }
        WebhooksCommand::Get { id } => emit(out, &client.get_webhook(&id).await?, render),
        WebhooksCommand::Update(args) => {
            let headers = if args.clear_headers { Some(BTreeMap::new()) } else { args.filters.headers() };
            let patch = WebhookPatch {
                url: args.url,
                events: args.events,
                active: args.active,
                description: if args.clear_description { Some(None) } else { args.description.map(Some) },
                headers,
                sensitive_headers: args.filters.sensitive_headers,
                projects: if args.all_projects { Some(Vec::new()) } else { args.filters.projects },
                min_severity: if args.any_severity { Some(None) } else { args.filters.min_severity.map(Some) },
                signature: args.delivery.signature()?,
                bearer_token: args.delivery.bearer_token.clone().map(Some),
                timeout: args.delivery.timeout.map(Some),
                kind: args.delivery.kind(),
                template: args.delivery.template()?.map(Some),
                extra_payload: args.delivery.extra_payload()?.map(Some),
                header_prefix: args.delivery.header_prefix.clone().map(Some),
                body_json: args.delivery.body_json(),
                cloudevents: args.delivery.cloudevents().map(Some),
                max_in_flight: args.delivery.max_in_flight.map(Some),
                rate_limit: if args.no_rate_limit { Some(None) } else { args.delivery.rate_limit.map(Some) },
                rate_limit_burst: args.delivery.rate_limit_burst.map(Some),
                ordering: args.delivery.ordering().map(Some),
            };
            emit(out, &client.update_webhook(&args.id, &patch).await?, |w| match w.secret {
                Some(_) => format!("{}\n{}\n", render(w), secret_note(w)),
                None => render(w),
            });
        }
        WebhooksCommand::Delete { id } => {
            client.delete_webhook(&id).await?;
            if out == Format::Table {
                line(format_args!("Deleted webhook {id}"));
            }
        }
        WebhooksCommand::Test(args) => test(&ctx, args).await?,
        WebhooksCommand::Enable { id, replay_missed } => {
            emit(out, &client.enable_webhook(&id, &EnableIn { replay_missed }).await?, render)
        }
        WebhooksCommand::RotateSecret { id, secret, grace_period } => {
            let input = RotateSecretIn { secret, grace_period: grace_period.map(|g| g.as_secs()) };
            let reply = client.rotate_webhook_secret(&id, &input).await?;
            emit(out, &reply, |r| {
                let until = when(&r.previous_secret_expires_at);
                match (&r.secret, &r.public_key) {
                    (_, Some(public_key)) => format!(
                        "public key  {public_key}\nThe old key also signs until {until}; receivers verify with the new public key.\n"
                    ),
                    (secret, None) => format!(
                        "secret  {}\nThe old secret also signs until {until}. The new one is shown only this once: keep it now.\n",
                        opt(secret)
                    ),
                }
            });
        }
        WebhooksCommand::Stats { id } => emit(out, &client.webhook_stats(&id).await?, super::stats::render),
        WebhooksCommand::Replay { id, since } => {
            let reply = client.replay_webhook(&id, &ReplayIn { since }).await?;
            emit(out, &reply, |r| format!("Queued {} dead deliveries of {id} for a new round\n", r.requeued));
        }
    }
    Ok(())
}

fn render(w: &WebhookOut) -> String {
    let headers: Vec<String> = w.headers.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    let disabled = w.disabled_reason.as_ref().map(|r| format!("{r} (at {})", opt(&w.disabled_at))).unwrap_or_default();
    fields(&[
        ("id", w.id.clone()),
        ("url", w.url.clone()),
        ("events", w.events.join(",")),
        ("active", w.active.to_string()),
        ("description", opt(&w.description)),
        ("headers", headers.join(", ")),
        ("projects", w.projects.join(",")),
        ("min severity", opt(&w.min_severity)),
        ("signature", signature(&w.signature)),
        ("bearer token", if w.bearer_token_set { "set".into() } else { String::new() }),
        ("timeout", w.timeout.map(|t| format!("{t}s")).unwrap_or_default()),
        ("max in flight", w.max_in_flight.to_string()),
        (
            "rate limit",
            w.rate_limit.map(|r| format!("{r}/s, burst {}", w.rate_limit_burst.unwrap_or(r))).unwrap_or_default(),
        ),
        ("ordering", w.ordering.as_str().into()),
        ("kind", format!("{:?}", w.kind).to_lowercase()),
        ("template", opt(&w.template)),
        ("extra payload", w.extra_payload.as_ref().map(|p| p.to_string()).unwrap_or_default()),
        ("header prefix", opt(&w.header_prefix)),
        ("body json", format!("{:?}", w.body_json).to_lowercase()),
        ("cloudevents", w.cloudevents.as_ref().map(cloudevents).unwrap_or_default()),
        ("old secret until", opt(&w.previous_secret_expires_at)),
        ("disabled", disabled),
        ("paused until", opt(&w.retry_not_before)),
        ("failures", w.consecutive_failures.to_string()),
        ("created", when(&w.created_at)),
        ("updated", when(&w.updated_at)),
        ("public key", opt(&w.public_key)),
        ("old public key", opt(&w.previous_public_key)),
        ("secret", opt(&w.secret)),
    ])
}

fn cloudevents(c: &CloudEvents) -> String {
    let mode = if c.mode == CloudEventsMode::Binary { "binary" } else { "structured" };
    match &c.source {
        Some(source) => format!("{mode}, source {source}"),
        None => mode.into(),
    }
}

/// What to keep of an answer that made a secret.
fn secret_note(w: &WebhookOut) -> &'static str {
    if w.public_key.is_some() {
        "Receivers verify with the public key, shown on every read; the secret key stays on the server."
    } else {
        "The secret is shown only this once: keep it now."
    }
}

fn signature(s: &Signature) -> String {
    match s {
        Signature::Standard => "standard".into(),
        Signature::StandardEd25519 => "standard-ed25519".into(),
        Signature::HmacSha256 { header, prefix, encoding } => {
            let encoding = if *encoding == Encoding::Base64 { "base64" } else { "hex" };
            let header = header.as_deref().unwrap_or("<prefix>-Signature");
            format!("hmac-sha256 in {header}: {prefix}<{encoding}>")
        }
        Signature::Bearer => "bearer".into(),
        Signature::None => "none".into(),
    }
}

/// Sends the test, then polls its delivery until the first attempt has an outcome: a
/// failed first attempt stays `pending` for its retries, and the question a test answers
/// is whether the endpoint takes a delivery now, not after the whole retry schedule.
async fn test(ctx: &Ctx, args: TestArgs) -> anyhow::Result<()> {
    let sent = ctx.client.test_webhook(&args.id, &TestIn { event_type: args.event_type }).await?;
    let delivery_id = sent.value.delivery_id;
    let deadline = tokio::time::Instant::now() + args.wait;
    let reply = loop {
        let reply = ctx.client.get_delivery(&delivery_id).await?;
        let d = &reply.value.delivery;
        if d.status != DeliveryStatus::Pending || d.attempts > 0 || tokio::time::Instant::now() >= deadline {
            break reply;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    emit(ctx.out, &reply, render_delivery);
    let DeliveryDetailOut { delivery, .. } = reply.value;
    match (delivery.status, delivery.attempts) {
        (DeliveryStatus::Succeeded, _) => {
            if ctx.out == Format::Table {
                line(format_args!("Test delivery {delivery_id} succeeded"));
            }
            Ok(())
        }
        (_, 0) => bail!(
            "no attempt of test delivery {delivery_id} within {}; see `scanhook deliveries get {delivery_id}`",
            humantime::format_duration(args.wait)
        ),
        _ => bail!("test delivery {delivery_id} failed: {}", failure(delivery.last_status_code, delivery.last_error)),
    }
}

fn failure(status: Option<u16>, error: Option<String>) -> String {
    match (status, error) {
        (Some(code), _) => format!("the endpoint answered HTTP {code}"),
        (None, Some(error)) => error,
        (None, None) => "no answer".into(),
    }
}
