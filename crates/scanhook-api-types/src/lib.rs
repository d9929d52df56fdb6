//! The wire types of the REST API: `FooIn` is a request body, `FooOut` a response,
//! `FooPatch` a partial update. Only the API crates know these shapes; the store and the
//! engine never see them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
pub use scanhook_core::format::cloudevents::Mode as CloudEventsMode;
pub use scanhook_core::format::{BodyJson, CloudEvents, Encoding, Kind, Ordering, Signature};
use scanhook_core::{DeliveryStatus, whole};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Every error answer (RFC 7807 `application/problem+json`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// A stable, machine-readable code such as `validation_failed` or `not_found`.
    pub code: String,
    /// What is wrong, for a person.
    pub message: String,
    /// The request field at fault, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// A page of results, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListOut<T> {
    pub data: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountIn {
    #[schema(min_length = 1, max_length = 200, pattern = r#"\S"#)]
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccountOut {
    pub id: String,
    pub name: String,
    /// The default account, whose keys may manage accounts.
    #[serde(default)]
    pub is_admin: bool,
    pub created_at: DateTime<Utc>,
    /// The account's own limit on the events it reports, per second on each node; `null`:
    /// the deployment's (`SCANHOOK_INGEST_RATE`, off by default).
    #[serde(default)]
    pub ingest_rate: Option<u32>,
    /// How many events it may report at once under its own limit; `null` with `ingest_rate`.
    #[serde(default)]
    pub ingest_burst: Option<u32>,
    /// The account's first API key, shown only in the create response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<ApiKeyOut>,
}

/// Changes to an account (the admin key only).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountPatch {
    /// Events per second the account may report, on each node, in place of the
    /// deployment's limit; `null` returns it to the deployment's.
    #[serde(default, with = "whole_patch", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 100000)]
    pub ingest_rate: Option<Option<u32>>,
    /// How many at once (at least 1, at most 1,000,000); only with `ingest_rate`. Default:
    /// the rate, and at least 100 (a full batch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 1000000)]
    pub ingest_burst: Option<u32>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyIn {
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200, pattern = r#"\S"#)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiKeyOut {
    pub id: String,
    pub name: String,
    /// The first characters of the key, to tell keys apart.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    /// The key itself, shown only when it is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookIn {
    /// Where deliveries are POSTed (http or https). Private, loopback and link-local
    /// addresses are refused (422) unless the server allows private networks.
    #[schema(pattern = r#"^[Hh][Tt][Tt][Pp][Ss]?://"#)]
    pub url: String,
    /// Event types (`scan.completed`), prefix wildcards (`scan.*`) or `*`; at most 100.
    #[schema(min_items = 1, max_items = 100)]
    pub events: Vec<String>,
    /// Signing secret; generated when absent (`whsec_…`, or a `whsk_…` Ed25519 key pair for
    /// `standard-ed25519`). 16 to 128 printable characters; with `standard-ed25519` it must
    /// be a `whsk_` key (one from another Standard Webhooks sender), and with the other
    /// schemes it may not be one.
    #[serde(default)]
    #[schema(min_length = 16, max_length = 128, pattern = r#"^[^\s\x00-\x1f\x7f-\x9f]+$"#)]
    pub secret: Option<String>,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    /// Extra request headers sent with every delivery (at most 20).
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    /// Names of extra headers whose values are credentials. Headers named `Authorization`,
    /// `Cookie` or containing `token`, `secret`, `key`, `password`, `auth`, `signature`,
    /// `credential` or `session` are sensitive without being listed. Sensitive values are
    /// encrypted at rest and never returned (reads show `[redacted]`).
    #[serde(default)]
    pub sensitive_headers: Option<Vec<String>>,
    /// Only events of these projects (IDs); absent or empty: every event. Events that
    /// concern no project (most sent to `POST /v1/events`) do not reach a webhook limited
    /// to projects. At most 100.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub projects: Option<Vec<String>>,
    /// Only violation and issue events at or above this severity.
    #[serde(default)]
    #[schema(value_type = Option<scanhook_core::scan::Severity>)]
    pub min_severity: Option<String>,
    /// How deliveries are signed; default `{"scheme": "standard"}`.
    #[serde(default)]
    pub signature: Option<Signature>,
    /// Sent as `Authorization: Bearer <token>` (with any scheme; required by `bearer`).
    /// Never returned.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 512, pattern = r#"^[!-~]+$"#)]
    pub bearer_token: Option<String>,
    /// Seconds an attempt may take, 1 to 30 (default: the server's delivery timeout).
    #[serde(default, deserialize_with = "whole::opt")]
    #[schema(minimum = 1, maximum = 30)]
    pub timeout: Option<u32>,
    /// `generic` (the canonical envelope), a chat format (`slack`, `discord`, `teams`), or
    /// `cloudevents` (CloudEvents 1.0 over HTTP, its data the event's data).
    #[serde(default)]
    pub kind: Option<Kind>,
    /// A jq program over the envelope (`.`) and `$ctx` (`delivery_id`, `attempt`,
    /// `endpoint`, `webhook_id`) that produces the body; overrides `kind`.
    #[serde(default)]
    pub template: Option<String>,
    /// A JSON object merged into the body.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub extra_payload: Option<serde_json::Value>,
    /// Prefix of the event, delivery, attempt and signature headers (default: the
    /// server's, `X-Scanhook`).
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 40,
        pattern = r#"^(?![Ww][Ee][Bb][Hh][Oo][Oo][Kk])[A-Za-z0-9!#$%&'*+.^_`|~-]+$"#
    )]
    pub header_prefix: Option<String>,
    /// `verbatim` (default): the body as rendered, event data byte for byte. `javascript`:
    /// the body as Node's `JSON.stringify(JSON.parse(body))` makes it (`1.0` → `1`, keys
    /// like `"1"` first, integers beyond 2^53 rounded), for receivers that sign
    /// `JSON.stringify(req.body)`.
    #[serde(default)]
    pub body_json: Option<BodyJson>,
    /// `kind: cloudevents` only: the content mode and the `source` attribute.
    #[serde(default)]
    pub cloudevents: Option<CloudEvents>,
    /// Requests open to the endpoint at once, per server node, 1 to 1000 (default 10). A
    /// slow or hanging endpoint holds this many of the node's slots and no more.
    #[serde(default, deserialize_with = "whole::opt")]
    #[schema(minimum = 1, maximum = 1000)]
    pub max_in_flight: Option<u32>,
    /// Deliveries per second at most, across all nodes, 1 to 10000 (default: unlimited).
    /// Excess deliveries wait their turn; waiting costs no attempt.
    #[serde(default, deserialize_with = "whole::opt")]
    #[schema(minimum = 1, maximum = 10000)]
    pub rate_limit: Option<u32>,
    /// Deliveries that may go at once after a quiet spell, 1 to 10000 (default:
    /// `rate_limit`); needs a `rate_limit`.
    #[serde(default, deserialize_with = "whole::opt")]
    #[schema(minimum = 1, maximum = 10000)]
    pub rate_limit_burst: Option<u32>,
    /// `unordered` (default): deliveries go as many at once as `max_in_flight` allows,
    /// each on its own retry schedule. `fifo`: one at a time, in the order the events were
    /// accepted; the next waits while the one before it retries, and goes when it succeeds
    /// or dies (`max_in_flight` then does not matter).
    #[serde(default)]
    pub ordering: Option<Ordering>,
    /// Ask the endpoint for consent first (the CloudEvents HTTP Web Hooks abuse-protection
    /// handshake: `OPTIONS` with `WebHook-Request-Origin`); unless it answers 2xx with a
    /// matching `WebHook-Allowed-Origin`, nothing is created (422 on `url`). Not stored.
    #[serde(default)]
    pub validate: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    #[serde(default)]
    #[schema(pattern = r#"^[Hh][Tt][Tt][Pp][Ss]?://"#)]
    pub url: Option<String>,
    #[serde(default)]
    #[schema(min_items = 1, max_items = 100)]
    pub events: Option<Vec<String>>,
    /// `true` also re-enables an endpoint scanhook disabled.
    #[serde(default)]
    pub active: Option<bool>,
    /// `null` clears the description.
    #[serde(default, with = "double_option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub description: Option<Option<String>>,
    /// Replaces all extra headers. A sensitive header given as `[redacted]` (as reads show
    /// it) keeps its current value.
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    /// Replaces the list of headers marked sensitive (see `WebhookIn`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitive_headers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_items = 100)]
    pub projects: Option<Vec<String>>,
    /// `null` removes the severity filter.
    #[serde(default, with = "double_option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<scanhook_core::scan::Severity>)]
    pub min_severity: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature>,
    /// `null` removes the token.
    #[serde(default, with = "double_option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 512, pattern = r#"^[!-~]+$"#)]
    pub bearer_token: Option<Option<String>>,
    /// `null` returns to the server's timeout.
    #[serde(default, with = "whole_patch", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 30)]
    pub timeout: Option<Option<u32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    /// `null` removes the template.
    #[serde(default, with = "double_option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub template: Option<Option<String>>,
    /// `null` removes the extra payload.
    #[serde(default, with = "double_option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub extra_payload: Option<Option<serde_json::Value>>,
    /// `null` returns to the server's prefix.
    #[serde(default, with = "double_option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 40, pattern = r#"^(?![Ww][Ee][Bb][Hh][Oo][Oo][Kk])[A-Za-z0-9!#$%&'*+.^_`|~-]+$"#)]
    pub header_prefix: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_json: Option<BodyJson>,
    /// Replaces the CloudEvents settings; `null` returns to the defaults. A new `kind`
    /// other than `cloudevents` drops them.
    #[serde(default, with = "double_option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<CloudEvents>)]
    pub cloudevents: Option<Option<CloudEvents>>,
    /// `null` returns to the default (10).
    #[serde(default, with = "whole_patch", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub max_in_flight: Option<Option<u32>>,
    /// `null` removes the rate limit (and its burst).
    #[serde(default, with = "whole_patch", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 10000)]
    pub rate_limit: Option<Option<u32>>,
    /// `null` returns to the default (`rate_limit`).
    #[serde(default, with = "whole_patch", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 10000)]
    pub rate_limit_burst: Option<Option<u32>>,
    /// `null` returns to the default (`unordered`). Made `fifo`, the endpoint's pending
    /// deliveries queue in the order they were made; made `unordered`, all are due at once.
    #[serde(default, with = "double_option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Ordering>)]
    pub ordering: Option<Option<Ordering>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookOut {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Extra request headers; sensitive values show as `[redacted]`.
    pub headers: BTreeMap<String, String>,
    /// The extra headers whose values are credentials: marked so, or named like one.
    pub sensitive_headers: Vec<String>,
    /// Only events of these projects; empty: every event.
    pub projects: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_severity: Option<scanhook_core::scan::Severity>,
    pub signature: Signature,
    /// Whether deliveries carry `Authorization: Bearer` (the token is never shown).
    pub bearer_token_set: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    pub kind: Kind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub extra_payload: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_prefix: Option<String>,
    #[serde(default)]
    pub body_json: BodyJson,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloudevents: Option<CloudEvents>,
    /// Until when deliveries are also signed with the secret the last rotation replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// Why scanhook disabled the endpoint, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<DateTime<Utc>>,
    /// Deliveries in a row that ended dead.
    pub consecutive_failures: u32,
    /// Requests open to the endpoint at once, per server node.
    pub max_in_flight: u32,
    /// Deliveries per second at most, across all nodes; absent: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<u32>,
    /// Deliveries that may go at once after a quiet spell (with a `rate_limit` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_burst: Option<u32>,
    /// `fifo`: one delivery at a time, in the order the events were accepted.
    #[serde(default)]
    pub ordering: Ordering,
    /// Nothing is sent to the endpoint before this time: its receiver answered `429` or
    /// `503` with `Retry-After` (never longer than the retry schedule's longest step). Shown
    /// only while it lasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_not_before: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The signing secret, shown only by the answer that made it: the create response, or
    /// a change of `signature` that needed a new shared secret. Never for
    /// `standard-ed25519`, whose secret key stays on the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// `standard-ed25519`: the public key receivers verify with (`whpk_…`), on every read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// `standard-ed25519`: the public key of the key the last rotation replaced, while it
    /// still signs too (until `previous_secret_expires_at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_public_key: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecretIn {
    /// The new secret; generated when absent (of the kind the endpoint's scheme signs
    /// with: `whsec_…`, or a `whsk_…` key pair for `standard-ed25519`).
    #[serde(default)]
    #[schema(min_length = 16, max_length = 128, pattern = r#"^[^\s\x00-\x1f\x7f-\x9f]+$"#)]
    pub secret: Option<String>,
    /// Seconds during which deliveries are signed with both the old and the new secret
    /// (default 86400, at most 604800; 0 drops the old secret at once).
    #[serde(default, deserialize_with = "whole::opt")]
    #[schema(maximum = 604800)]
    pub grace_period: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RotateSecretOut {
    /// The new secret, shown only here; absent for `standard-ed25519`, whose secret key
    /// stays on the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// `standard-ed25519`: the new public key (`whpk_…`) receivers verify with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// Until when the old secret also signs.
    pub previous_secret_expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventIn {
    /// Dot-separated lowercase segments, such as `scan.completed`.
    #[serde(rename = "type")]
    #[schema(max_length = 128, pattern = r#"^[a-z0-9_]+(\.[a-z0-9_]+)+$"#)]
    pub event_type: String,
    /// The event's payload: a JSON object, delivered byte for byte. Absent or `null`: `{}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub data: Option<Box<serde_json::value::RawValue>>,
}

/// Most events in one `POST /v1/events/batch`.
pub const MAX_BATCH_EVENTS: usize = 100;

/// Several events reported at once (`POST /v1/events/batch`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBatchIn {
    /// 1 to 100 events, each answered on its own, in this order.
    #[schema(min_items = 1, max_items = 100)]
    pub events: Vec<EventBatchItemIn>,
}

/// One event of a batch: what `POST /v1/events` takes, with its own idempotency key.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBatchItemIn {
    /// Dot-separated lowercase segments, such as `scan.completed`.
    #[serde(rename = "type")]
    #[schema(max_length = 128, pattern = r#"^[a-z0-9_]+(\.[a-z0-9_]+)+$"#)]
    pub event_type: String,
    /// The event's payload: a JSON object, delivered byte for byte. Absent or `null`: `{}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub data: Option<Box<serde_json::value::RawValue>>,
    /// As the `Idempotency-Key` header of `POST /v1/events`, whose keys it shares: a repeat
    /// of this event with this key (later in the batch, in another batch or alone) returns
    /// the first answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 255, pattern = "^[!-~]([ -~]*[!-~])?$")]
    pub idempotency_key: Option<String>,
}

/// The answer to a batch: one result per event, in the order sent.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventBatchOut {
    pub results: Vec<EventBatchResultOut>,
}

/// What became of one event of a batch.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventBatchResultOut {
    /// What `POST /v1/events` would have answered for this event alone: 202 accepted (or
    /// replayed), 409 (its idempotency key was used with another request) or 422.
    pub status: u16,
    /// The event, when accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<EventAcceptedOut>,
    /// Accepted earlier under the same idempotency key (in this batch or before): `event`
    /// is that first answer, and nothing new was stored.
    #[serde(default)]
    pub replayed: bool,
    /// Why the event was refused; `field` names it as `events[i].…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Problem>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventAcceptedOut {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub timestamp: DateTime<Utc>,
    /// Deliveries created, one per matching active endpoint.
    pub deliveries: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventOut {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub timestamp: DateTime<Utc>,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub deliveries: u32,
    /// Set when the event went to one endpoint only (a test event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeliveryOut {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    pub webhook_id: String,
    pub status: DeliveryStatus,
    /// Attempts made so far, over all rounds.
    pub attempts: u32,
    /// When a pending delivery is attempted next; while an attempt is under way, when it is
    /// tried again should that attempt never report back (its lease's end). Absent while it
    /// waits its turn behind the delivery before it (an endpoint with `ordering: fifo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status_code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeliveryDetailOut {
    #[serde(flatten)]
    pub delivery: DeliveryOut,
    pub attempt_log: Vec<AttemptOut>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AttemptOut {
    pub id: String,
    /// 1-based over all rounds; the `X-Scanhook-Attempt` header that was sent.
    pub number: u32,
    pub started_at: DateTime<Utc>,
    pub latency_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    /// Why the attempt failed (absent on success). For a `429`/`503` with `Retry-After` it
    /// says what the receiver asked and how long the endpoint waits (at most the retry
    /// schedule's longest step); for `410 Gone`, that the endpoint was disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub request: HttpMessageOut,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<HttpMessageOut>,
}

/// `GET /v1/webhooks/{id}/stats`: an endpoint's health, from its attempt log.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookStatsOut {
    pub webhook_id: String,
    /// When the windows end (the time of the request).
    pub at: DateTime<Utc>,
    pub last_hour: StatsWindowOut,
    pub last_day: StatsWindowOut,
    /// Failed attempts in a row, from the newest back to the last success; counted over the
    /// newest `sample_size` attempts, so at most that. (`consecutive_failures` on the
    /// endpoint itself counts deliveries that died, which is what disables it.)
    pub consecutive_failures: u64,
    /// The newest failed attempt, however old.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<StatsErrorOut>,
    /// The newest delivery made for the endpoint, whatever its status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_delivery: Option<DeliveryOut>,
    /// The most attempts (the newest) that latency percentiles and `consecutive_failures`
    /// are computed from, which bounds what one request reads.
    pub sample_size: u32,
}

/// One window of an endpoint's stats, from `since` to the stats' `at`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StatsWindowOut {
    pub since: DateTime<Utc>,
    /// Attempts started in the window (counted exactly).
    pub attempts: u64,
    /// Of those, the attempts that failed: an answer other than 2xx, no answer, or nothing sent.
    pub failures: u64,
    /// Succeeded attempts over all attempts, 0 to 1, four decimals; absent without attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_rate: Option<f64>,
    /// Median latency in milliseconds (nearest rank), over `latency_sample` attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50_latency_ms: Option<u64>,
    /// 95th percentile latency in milliseconds (nearest rank), over `latency_sample` attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p95_latency_ms: Option<u64>,
    /// How many attempts the percentiles are computed from: all the window's, or its newest
    /// `sample_size` when it holds more.
    pub latency_sample: u64,
}

/// An endpoint's last failed attempt.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StatsErrorOut {
    pub at: DateTime<Utc>,
    pub delivery_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Headers and body of a request or response (bodies cut at 64 KiB).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HttpMessageOut {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectIn {
    #[schema(min_length = 1, max_length = 200, pattern = r#"\S"#)]
    pub name: String,
    /// What is scanned: a repository URL, a domain, a service name.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub target: Option<String>,
    /// Points the score must fall by between two completed scans to raise `alert.triggered`
    /// (1 to 100, default 10).
    #[serde(default, deserialize_with = "whole::opt")]
    #[schema(minimum = 1, maximum = 100)]
    pub score_drop_threshold: Option<u32>,
    /// Seconds a scan may run before it times out (60 to 604800, default 3600).
    #[serde(default, deserialize_with = "whole::opt")]
    #[schema(minimum = 60, maximum = 604800)]
    pub scan_time_limit_secs: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 200, pattern = r#"\S"#)]
    pub name: Option<String>,
    /// `null` clears the target.
    #[serde(default, with = "double_option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub target: Option<Option<String>>,
    #[serde(default, deserialize_with = "whole::opt", skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 100)]
    pub score_drop_threshold: Option<u32>,
    #[serde(default, deserialize_with = "whole::opt", skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 60, maximum = 604800)]
    pub scan_time_limit_secs: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProjectOut {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub score_drop_threshold: u32,
    pub scan_time_limit_secs: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Its violations counted exactly; in the answer of `GET /v1/projects/{id}` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub violations: Option<ViolationCountsOut>,
}

/// A project's violations counted exactly.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ViolationCountsOut {
    /// Open violations by severity.
    pub open: SeverityCountsOut,
    /// Violations resolved (by a scan that no longer found them, or by hand).
    pub resolved: u64,
}

/// A count per severity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SeverityCountsOut {
    pub critical: u64,
    pub high: u64,
    pub medium: u64,
    pub low: u64,
    pub info: u64,
}

impl SeverityCountsOut {
    /// The count of one severity.
    pub fn get(&self, severity: scanhook_core::scan::Severity) -> u64 {
        use scanhook_core::scan::Severity;
        match severity {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Info => self.info,
        }
    }

    pub fn total(&self) -> u64 {
        self.critical + self.high + self.medium + self.low + self.info
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanIn {
    /// The project's ID.
    pub project: String,
    /// What this scan looks at; defaults to the project's target.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 2000, pattern = r#"\S"#)]
    pub target: Option<String>,
    /// Rule sets checked, such as `gdpr`, `soc2`, `owasp` (each 1 to 100 characters).
    #[serde(default)]
    #[schema(max_items = 100)]
    pub rules: Option<Vec<String>>,
    /// Seconds before a scan still running times out; defaults to the project's limit.
    #[serde(default, deserialize_with = "whole::opt")]
    #[schema(minimum = 1, maximum = 604800)]
    pub time_limit_secs: Option<u64>,
    /// The tool whose findings this scan reports (`bandit`, `trivy`, …). A completed scan
    /// resolves only open violations of its own tool and category; a SARIF log names its
    /// tools itself (each run's `tool.driver.name`).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200, pattern = r#"\S"#)]
    pub tool: Option<String>,
    /// A part of the code base or a configuration the tool looked at (`backend`, `images`),
    /// as GitHub code scanning's category; for SARIF runs without `automationDetails.id`.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200, pattern = r#"\S"#)]
    pub category: Option<String>,
    /// Where the scanner ran the project (`/home/ci/work/app` or `file:///…`): absolute
    /// paths of findings are made relative to it, so a finding matches its violation
    /// whatever runner found it. Without it, a SARIF log's `%SRCROOT%` or the directory
    /// its absolute paths share is used.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 1000, pattern = r#"^\s*(/|[A-Za-z]:[/\\]|file:/)"#)]
    pub root: Option<String>,
}

/// What a scanner reports when a scan completes (as JSON; a SARIF 2.1.0 log is accepted
/// too, with `Content-Type: application/sarif+json`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanCompleteIn {
    #[serde(default)]
    pub findings: Vec<scanhook_core::scan::FindingIn>,
    /// A 0–100 score, if the scanner grades.
    #[serde(default, deserialize_with = "whole::opt")]
    #[schema(maximum = 100)]
    pub score: Option<u32>,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 10, pattern = r#"\S"#)]
    pub grade: Option<String>,
    #[serde(default, deserialize_with = "whole::opt")]
    #[schema(maximum = 9223372036854775807_u64)]
    pub files_scanned: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ScanCompleteOut {
    #[serde(flatten)]
    pub scan: ScanOut,
    /// Violations this scan opened: new ones, and resolved ones found again.
    pub detected: u64,
    /// Of `detected`, the violations resolved earlier that this scan reopened.
    pub reopened: u64,
    /// Open violations it no longer found, now resolved.
    pub resolved: u64,
    /// Violations open on the project after this scan.
    pub open: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ViolationOut {
    pub id: String,
    pub project_id: String,
    /// `open` or `resolved`.
    pub status: String,
    pub rule: String,
    pub severity: scanhook_core::scan::Severity,
    /// Relative to the project's root.
    pub file: String,
    /// The file as the scanner named it, when that differs from `file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    pub line: u32,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
    pub fingerprint: String,
    /// The tool that found it, and its category (absent when the scan named none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    pub first_scan_id: String,
    pub last_scan_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// What happened to it, oldest first: only in `GET /v1/violations/{id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<ViolationChangeOut>>,
}

/// One thing that happened to a violation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ViolationChangeOut {
    /// `detected`, `resolved` or `reopened`.
    pub action: String,
    pub at: DateTime<Utc>,
    /// The scan that did it (absent for a resolution by hand).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_id: Option<String>,
    /// Who resolved it: `scan`, or the name given by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ViolationResolveIn {
    /// Who resolved it, such as a user ID; sent as `resolvedBy`.
    #[schema(min_length = 1, max_length = 200, pattern = r#"\S"#)]
    pub resolved_by: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanProgressIn {
    /// 0 to 100.
    #[schema(maximum = 100)]
    #[serde(deserialize_with = "whole::req")]
    pub percent: u8,
    #[serde(default, deserialize_with = "whole::opt")]
    #[schema(maximum = 9223372036854775807_u64)]
    pub files_scanned: Option<u64>,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 2000, pattern = r#"\S"#)]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ScanProgressOut {
    #[serde(flatten)]
    pub scan: ScanOut,
    pub percent: u8,
    /// Whether `scan.progress` went out (at most one per scan every 5 s; the rest are
    /// stored only).
    pub sent: bool,
}

/// An alert a scanner raises itself: `cert_expired`, `cert_expiring_soon` or `config_change`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertIn {
    /// The project's ID.
    pub project: String,
    #[schema(pattern = "^(cert_expired|cert_expiring_soon|config_change)$")]
    pub alert_type: String,
    /// `critical`, `high`, `medium`, `low` or `info`.
    #[schema(value_type = scanhook_core::scan::Severity)]
    pub severity: String,
    #[schema(min_length = 1, max_length = 200, pattern = r#"\S"#)]
    pub title: String,
    #[schema(min_length = 1, max_length = 2000, pattern = r#"\S"#)]
    pub message: String,
    #[serde(default)]
    pub old_value: Option<String>,
    #[serde(default)]
    pub new_value: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AlertOut {
    pub alert_id: String,
    pub event_id: String,
    /// Deliveries created for the `alert.triggered` event.
    pub deliveries: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanErrorBody {
    #[schema(min_length = 1, max_length = 100, pattern = r#"\S"#)]
    pub code: String,
    #[schema(min_length = 1, max_length = 2000, pattern = r#"\S"#)]
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanFailIn {
    pub error: ScanErrorBody,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ScanOut {
    pub id: String,
    pub project_id: String,
    /// `running`, `completed`, `failed` or `timed_out`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub rules: Vec<String>,
    pub started_at: DateTime<Utc>,
    pub deadline_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ScanErrorBody>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files_scanned: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<String>,
    /// The tool and category named when the scan started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// What the completed scan covered: only open violations of these tools and categories
    /// could be resolved by it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub covered: Vec<scanhook_core::scan::Analysis>,
    /// The directory its absolute paths were made relative to, as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayIn {
    /// Only deliveries created at or after this time.
    #[serde(default)]
    pub since: Option<DateTime<Utc>>,
}

/// `POST /v1/webhooks/{id}/enable`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnableIn {
    /// Also deliver the events accepted while scanhook had disabled the endpoint after
    /// failures (its `held` deliveries), oldest first. Without it they become dead with
    /// "not sent: the endpoint was disabled", and `/replay` can still send them.
    #[serde(default)]
    pub replay_missed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReplayOut {
    /// Dead deliveries queued for a new round.
    pub requeued: u64,
}

/// One entry of the event catalogue.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventTypeOut {
    #[serde(rename = "type")]
    pub event_type: String,
    pub description: String,
    /// JSON Schema (2020-12) of the event's `data`.
    #[schema(value_type = Object)]
    pub schema: serde_json::Value,
    /// An example `data`, as `POST /v1/webhooks/{id}/test` sends it with `"test": true`.
    #[schema(value_type = Object)]
    pub example: serde_json::Value,
}

/// Optionally, which event type's example a test sends.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestIn {
    /// An event type of the catalogue; default `webhook.test`.
    #[serde(default, rename = "type")]
    pub event_type: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TestOut {
    pub event_id: String,
    pub delivery_id: String,
}

/// Distinguishes a missing field from an explicit `null` in a patch.
/// A whole-number patch field: absent, `null`, or a number (read as `whole` reads them).
mod whole_patch {
    pub use super::double_option::serialize;
    pub use scanhook_core::whole::opt_opt as deserialize;
}

mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }

    pub fn serialize<S: Serializer, T: Serialize>(v: &Option<Option<T>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }
}

/// One management action in the account's audit log.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditEntryOut {
    pub id: String,
    /// When the action was taken.
    pub at: DateTime<Utc>,
    /// The ID of the API key that acted.
    pub key_id: String,
    /// `account.created`, `account.updated`, `api_key.created`, `api_key.revoked`, `webhook.created`,
    /// `webhook.updated`, `webhook.enabled`, `webhook.disabled`, `webhook.deleted`,
    /// `webhook.secret_rotated`, `webhook.replayed`, `delivery.retried` or
    /// `portal_link.created`.
    pub action: String,
    /// The ID of what the action concerns.
    pub target_id: String,
    /// What changed: `{field: {"from": …, "to": …}}` for updates, the settings for
    /// creations, counts for replays. Secrets, tokens and sensitive header values never
    /// appear; a changed one shows as `[redacted]`.
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
}

/// A one-time link into the dashboard for one account (`POST /v1/portal-links`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalLinkIn {
    /// The account the link signs into; only the admin key may name another account than
    /// its own (default: the caller's).
    #[serde(default)]
    #[schema(pattern = "^acc_[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$")]
    pub account_id: Option<String>,
    /// The session may look but change nothing.
    #[serde(default)]
    pub read_only: Option<bool>,
    /// Limit the session to these event types (types or `prefix.*` patterns): it sees and
    /// manages only endpoints subscribed within them, and their deliveries.
    #[serde(default)]
    #[schema(min_items = 1, max_items = 50)]
    pub event_types: Option<Vec<String>>,
    /// Seconds the link stays valid, 60 to 86400 (default 600); a deployment may lower
    /// the minimum to 1 (`SCANHOOK_PORTAL_LINK_MIN_EXPIRY`). The session it opens lasts as
    /// any dashboard session does.
    #[serde(default, deserialize_with = "whole::opt")]
    #[schema(minimum = 1, maximum = 86400)]
    pub expires_in: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PortalLinkOut {
    /// Open this (once) to be signed into the dashboard.
    pub url: String,
    pub expires_at: DateTime<Utc>,
}
