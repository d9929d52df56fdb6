//! One HTTP attempt: build the signed request, send it, and capture what came back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use scanhook_core::envelope::canonical_body;
use scanhook_core::format::cloudevents::{self, Attributes, CloudEvents};
use scanhook_core::format::{DeliveryContext, Encoding, Kind, Signature, TemplateCache, render, with_extra_payload};
use scanhook_core::polite::Asked;
use scanhook_core::webhook::redact_sent_headers;
use scanhook_core::{AttemptId, WebhookSecret, error_chain, json_bounds, network, trace_parent};
use scanhook_store::{Attempt, Claimed};
use scanhook_verify::ed25519::{self, SECRET_KEY_PREFIX};
use scanhook_verify::{hmac, standard};
use serde_json::value::RawValue;

use crate::config::DispatchConfig;
use crate::guard::{self, PublicOnly};
use crate::metrics::Failure;
use crate::sandbox::Sandbox;

/// Sends attempts over one pooled, keep-alive HTTP client.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    config: DispatchConfig,
    templates: Arc<TemplateCache>,
    sandbox: Option<Arc<Sandbox>>,
}

/// Why an endpoint's template is not run when the deployment turned templates off.
pub const TEMPLATES_OFF: &str = "templates are turned off on this server (SCANHOOK_TEMPLATES=false)";

/// Longest wait for an answer to the abuse-protection handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// What one attempt sends.
pub struct Request {
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
    pub timeout: Duration,
}

/// An attempt, whether it counts as a success (a 2xx answer), and what the answer asks of
/// the endpoint as a whole (a pause, or its end).
pub struct Sent {
    pub attempt: Attempt,
    pub success: bool,
    pub asked: Asked,
    /// Why it failed, for the metrics (`None` on success).
    pub failure: Option<Failure>,
}

impl Sender {
    pub fn new(config: DispatchConfig) -> Result<Self, reqwest::Error> {
        Self::with_metrics(config, None)
    }

    /// [`Sender::new`], its template sandbox recording its waits in `metrics`.
    pub fn with_metrics(config: DispatchConfig, metrics: Option<Arc<crate::Metrics>>) -> Result<Self, reqwest::Error> {
        // Proxy variables of the environment (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY) are
        // ignored: a proxy resolves names itself, out of the SSRF guard's sight. Only
        // SCANHOOK_PROXY_URL routes through one, and then `Sender::target` checks the
        // endpoint's addresses before each attempt.
        let mut client = reqwest::Client::builder().no_proxy();
        match &config.proxy {
            Some(proxy) => client = client.proxy(reqwest::Proxy::all(proxy.as_str())?),
            // Without a proxy this resolver is what connects: it drops non-public
            // addresses on every lookup. (With one, it would only resolve the proxy.)
            None if !config.allow_private_networks => client = client.dns_resolver(Arc::new(PublicOnly)),
            None => {}
        }
        let client = client
            .user_agent(config.user_agent.clone())
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(std::time::Duration::from_secs(10)))
            // A webhook answers where it was sent; following redirects would let an
            // endpoint bounce signed payloads elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .tcp_nodelay(true)
            .build()?;
        let sandbox = config.template_worker.clone().map(|(program, args)| {
            let wait = config.sandbox_wait.min(config.lease / 4);
            // Renders hold in-flight permits while they wait: at most half of them.
            let queued = config.max_in_flight / 2;
            Arc::new(Sandbox::new(program, args, config.template_time_limit, wait, queued).with_metrics(metrics))
        });
        Ok(Self { client, config, templates: Arc::default(), sandbox })
    }

    /// The endpoint's URL, parsed once for both the guard and the request. The guard here
    /// covers hosts no resolver sees (IP literals, `localhost`); names are checked when
    /// resolved (`guard::PublicOnly`), or here when a proxy resolves them.
    async fn target(&self, url: &str) -> Result<reqwest::Url, String> {
        let url = reqwest::Url::parse(url).map_err(|e| e.to_string())?;
        if !self.config.allow_private_networks {
            network::check_host(url.host_str().unwrap_or_default()).map_err(|e| e.0)?;
            if self.config.proxy.is_some()
                && let Some(name) = url.domain()
            {
                guard::check_proxied(name).await?;
            }
        }
        Ok(url)
    }

    /// How this deployment names itself to receivers (`WebHook-Request-Origin`): the host
    /// of its public URL.
    pub fn origin(&self) -> &str {
        self.config.public_url.host_str().unwrap_or_default()
    }

    /// The HTTP Web Hooks abuse-protection handshake: `OPTIONS url` with our origin. The
    /// endpoint agrees with a 2xx answer whose `WebHook-Allowed-Origin` is that origin or
    /// `*` (the status alone is no consent: any server may answer OPTIONS). The error says
    /// what came back instead. Goes through the guard and proxy rules of deliveries.
    pub async fn handshake(&self, url: &str) -> Result<(), String> {
        let target = self.target(url).await?;
        let origin = self.origin();
        let timeout = self.config.timeout.min(HANDSHAKE_TIMEOUT);
        let response = self
            .client
            .request(reqwest::Method::OPTIONS, target)
            .header(cloudevents::ORIGIN_HEADER, origin)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| format!("the validation request (OPTIONS) got no answer: {}", describe(&e, timeout)))?;
        let status = response.status().as_u16();
        let allowed = response.headers().get("WebHook-Allowed-Origin").map(|v| String::from_utf8_lossy(v.as_bytes()));
        let allowed = allowed.as_deref().map(str::trim);
        match allowed {
            Some(a) if response.status().is_success() && (a == origin || a == "*") => Ok(()),
            _ if !response.status().is_success() => {
                Err(format!("the endpoint answered the validation request (OPTIONS) with HTTP {status}"))
            }
            None => Err(format!(
                "the endpoint answered the validation request (OPTIONS) with HTTP {status} but no WebHook-Allowed-Origin header"
            )),
            Some(a) => {
                let shown: String = a.chars().take(200).collect();
                Err(format!("the endpoint allows the origin '{shown}', not '{origin}' (WebHook-Allowed-Origin)"))
            }
        }
    }

    /// The body of attempt `number` of `item`: the canonical envelope as the endpoint
    /// wants it shaped. An error (its template failed) says why there is nothing to send.
    pub async fn body(&self, item: &Claimed, number: u32) -> Result<Vec<u8>, String> {
        let (event, webhook) = (&item.event, &item.webhook);
        let format = &webhook.format;
        // Stored data is the JSON object the API validated; fall back to null rather
        // than fail if a row was edited by hand.
        let data = RawValue::from_string(event.data.clone())
            .unwrap_or_else(|_| RawValue::from_string("null".into()).expect("null is JSON"));
        // jaq's reader recurses on its input, and rows stored before the API bounded depth
        // may nest deeper than any stack: such data fails this attempt, not the process.
        if format.program().is_some() {
            json_bounds::check_depth(event.data.as_bytes(), json_bounds::MAX_DEPTH - 1)
                .map_err(|e| format!("the event cannot be rendered: {}", e.within("data")))?;
        }
        let envelope = canonical_body(&event.id, &event.event_type, event.timestamp, &data);
        // A CloudEvent's data is the event's data, or what a template makes of the envelope.
        let input = match format.kind {
            Kind::Cloudevents if format.template.is_none() => data.get().as_bytes().to_vec(),
            _ => envelope,
        };
        let context = DeliveryContext {
            delivery_id: item.delivery_id.as_str(),
            attempt: number,
            endpoint: webhook.url.as_str(),
            webhook_id: webhook.id.as_str(),
        };
        let shaped = match (&format.template, &self.sandbox) {
            (Some(_), _) if !self.config.allow_templates => Err(TEMPLATES_OFF.to_string()),
            // A user's template runs isolated; built-in formats are ours and run here.
            (Some(source), Some(sandbox)) => {
                let context = serde_json::to_vec(&context).map_err(|e| e.to_string())?;
                let shaped = sandbox.render(webhook.account_id.as_str(), source, &input, &context).await?;
                with_extra_payload(format, shaped)
            }
            _ => render(format, input, &context, &self.templates),
        }?;
        let body = match self.cloudevent(item) {
            Some((settings, attributes)) => cloudevents::body(settings, &attributes, shaped),
            None => Ok(shaped),
        }?;
        // Last, so the bytes a JavaScript receiver re-serialises are the bytes signed.
        format.body_json.apply(body)
    }

    /// The CloudEvents settings and attributes of `item`'s deliveries, if its endpoint
    /// wants CloudEvents.
    fn cloudevent<'a>(&'a self, item: &'a Claimed) -> Option<(&'a CloudEvents, Attributes<'a>)> {
        const DEFAULTS: CloudEvents = CloudEvents { mode: cloudevents::Mode::Structured, source: None };
        let (event, format) = (&item.event, &item.webhook.format);
        if format.kind != Kind::Cloudevents {
            return None;
        }
        let settings = format.cloudevents.as_ref().unwrap_or(&DEFAULTS);
        let source = settings.source.as_deref().unwrap_or(self.config.public_url.as_str());
        let attributes =
            Attributes::new(event.id.as_str(), event.event_type.as_str(), event.timestamp, source, &event.data);
        Some((settings, attributes))
    }

    /// The headers of attempt `number` of `item` carrying `body`, signed at `at`. An error
    /// (no secret of its scheme's kind) says why nothing can be sent.
    pub fn request(&self, item: &Claimed, number: u32, at: DateTime<Utc>, body: Vec<u8>) -> Result<Request, String> {
        let (event, webhook) = (&item.event, &item.webhook);
        let format = &webhook.format;

        // The new secret first; the one a rotation replaced while its grace period lasts.
        let previous = webhook.previous_secret.as_ref().filter(|(_, until)| *until > at).map(|(old, _)| old);
        let live: Vec<&WebhookSecret> = std::iter::once(&webhook.secret).chain(previous).collect();
        // An Ed25519 key never keys an HMAC: receivers of those schemes hold their secret.
        let secrets: Vec<&str> =
            live.iter().map(|s| s.expose()).filter(|s| !s.starts_with(SECRET_KEY_PREFIX)).collect();
        if secrets.is_empty() && matches!(format.signature, Signature::Standard | Signature::HmacSha256 { .. }) {
            return Err("the endpoint's secret is an Ed25519 key, which signs only with standard-ed25519".into());
        }
        let timestamp = at.timestamp();
        let header_prefix = format.header_prefix(&self.config.header_prefix);
        let mut headers = match self.cloudevent(item) {
            Some((settings, attributes)) => {
                let mut headers = cloudevents::headers(settings, &attributes);
                headers.push((cloudevents::ORIGIN_HEADER.to_string(), self.origin().to_string()));
                headers
            }
            None => vec![("Content-Type".to_string(), "application/json".to_string())],
        };
        headers.extend([
            ("User-Agent".to_string(), self.config.user_agent.clone()),
            (format!("{header_prefix}-Event"), event.event_type.to_string()),
            (format!("{header_prefix}-Delivery"), item.delivery_id.to_string()),
            (format!("{header_prefix}-Attempt"), number.to_string()),
            // Every scheme gets the id (receivers deduplicate on it) and the time.
            ("webhook-id".to_string(), event.id.to_string()),
            ("webhook-timestamp".to_string(), timestamp.to_string()),
        ]);
        match &format.signature {
            Signature::Standard => {
                let standard = standard::sign_all(&secrets, event.id.as_str(), timestamp, &body);
                headers.push(("webhook-signature".to_string(), standard));
                headers.push((
                    format!("{header_prefix}-Signature"),
                    hmac::sign_all(&secrets, "sha256=", hmac::Encoding::Hex, &body),
                ));
            }
            Signature::HmacSha256 { header, prefix, encoding } => {
                let encoding = match encoding {
                    Encoding::Hex => hmac::Encoding::Hex,
                    Encoding::Base64 => hmac::Encoding::Base64,
                };
                let header = header.clone().unwrap_or_else(|| format!("{header_prefix}-Signature"));
                headers.push((header, hmac::sign_all(&secrets, prefix, encoding, &body)));
            }
            Signature::StandardEd25519 => {
                let keys: Vec<_> = live.iter().filter_map(|s| s.signing_key()).collect();
                if keys.is_empty() {
                    return Err("the endpoint's secret is not an Ed25519 key (rotate its secret)".into());
                }
                headers.push((
                    "webhook-signature".to_string(),
                    ed25519::sign_all(&keys, event.id.as_str(), timestamp, &body),
                ));
            }
            Signature::Bearer | Signature::None => {}
        }
        if let Some(token) = &format.bearer_token {
            headers.push(("Authorization".to_string(), format!("Bearer {token}")));
        }
        // `traceparent` is scanhook's (W3C Trace Context, the event's trace): an extra header
        // of that name, possible only in rows from before it was reserved, is not sent.
        let ours = |name: &str| name.eq_ignore_ascii_case(trace_parent::HEADER);
        headers.extend(webhook.headers.0.iter().filter(|(k, _)| !ours(k)).map(|(k, v)| (k.clone(), v.clone())));
        headers.push((trace_parent::HEADER.to_string(), crate::trace::outgoing(item).to_string()));
        let timeout = format.timeout_secs.map_or(self.config.timeout, |s| Duration::from_secs(s.into()));
        // A request never outlives its lease, or another worker could send it meanwhile.
        let timeout = timeout.min(self.config.lease.saturating_sub(Duration::from_secs(1)).max(Duration::from_secs(1)));
        Ok(Request { body, headers, timeout })
    }

    /// Makes attempt `number` of `item` and records it.
    pub async fn send(&self, item: &Claimed, number: u32, started_at: DateTime<Utc>) -> Sent {
        let clock = Instant::now();
        let id = AttemptId::generate();
        tracing::Span::current().record("attempt_id", tracing::field::display(&id));
        let attempt = |status_code, error, request_headers, request_body, response_headers, response_body| Attempt {
            id: id.clone(),
            delivery_id: item.delivery_id.clone(),
            number,
            started_at,
            latency_ms: clock.elapsed().as_millis() as u64,
            status_code,
            error,
            request_headers,
            request_body,
            response_headers,
            response_body,
        };
        let prepared = match self.target(item.webhook.url.as_str()).await {
            Ok(url) => self.body(item, number).await.map(|body| (url, body)).map_err(|e| {
                let failure = if e == crate::sandbox::BUSY { Failure::SandboxBusy } else { Failure::Template };
                (failure, e)
            }),
            Err(e) => Err((Failure::Guard, e)),
        };
        // Signed when sent, not when started: rendering (and waiting for a template worker)
        // must not age the signature's timestamp.
        let signed_at = started_at + chrono::Duration::from_std(clock.elapsed()).unwrap_or_default();
        let prepared = prepared.and_then(|(url, body)| {
            self.request(item, number, signed_at, body).map(|request| (url, request)).map_err(|e| (Failure::Signing, e))
        });
        let (url, Request { body, headers, timeout }) = match prepared {
            Ok(prepared) => prepared,
            Err((failure, e)) => {
                let error = Some(format!("no request was sent: {e}"));
                let nothing = Some(String::new());
                let attempt = attempt(None, error, Vec::new(), nothing, Vec::new(), None);
                return Sent { success: false, attempt, asked: Asked::Nothing, failure: Some(failure) };
            }
        };
        // The log rebuilds the canonical body from the event; a body shaped otherwise is kept.
        let format = &item.webhook.format;
        let reshaped = format.program().is_some()
            || format.extra_payload.is_some()
            || format.kind == Kind::Cloudevents
            || !format.body_json.is_verbatim();
        let logged_body = reshaped.then(|| lossy(body[..body.len().min(self.config.max_logged_body)].to_vec()));
        // What rendering took comes off the request's share of the lease.
        let left = self.config.lease.saturating_sub(Duration::from_secs(1) + clock.elapsed());
        let timeout = timeout.min(left).max(Duration::from_millis(1));
        let mut request = self.client.post(url).timeout(timeout);
        for (name, value) in &headers {
            request = request.header(name, value);
        }
        let result = request.body(body).send().await;
        let transport = result.as_ref().err().map(Failure::of_transport);
        let (status_code, response_headers, response_body, error, asked) = match result {
            Ok(response) => {
                let status = response.status();
                // What the receiver asks of its endpoint (never trusted: `polite` bounds it).
                let answered_at = signed_at + chrono::Duration::from_std(clock.elapsed()).unwrap_or_default();
                let retry_after = response.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok());
                let asked = Asked::read(status.as_u16(), retry_after, answered_at, &self.config.retry);
                let response_headers = response
                    .headers()
                    .iter()
                    .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                    .collect();
                let (body, read_error) = read_capped(response, self.config.max_logged_body).await;
                let error = match read_error {
                    Some(e) if asked == Asked::Nothing => Some(e),
                    Some(e) => Some(format!("{}; {e}", asked.describe(status.as_u16()))),
                    None if !status.is_success() => Some(asked.describe(status.as_u16())),
                    None => None,
                };
                (Some(status.as_u16()), response_headers, Some(body), error, asked)
            }
            Err(e) => (None, Vec::new(), None, Some(describe(&e, timeout)), Asked::Nothing),
        };
        let success = status_code.is_some_and(|s| (200..300).contains(&s)) && error.is_none();
        let failure = match status_code {
            _ if success => None,
            Some(status) => Some(Failure::of_status(status)),
            None => transport,
        };
        // The log never holds a credential: the bearer token and sensitive extra headers
        // are redacted before the attempt reaches the store.
        let headers = redact_sent_headers(headers, &item.webhook.headers);
        let attempt = attempt(status_code, error, headers, logged_body, response_headers, response_body);
        Sent { success, attempt, asked, failure }
    }
}

/// Reads at most `limit` bytes of the body (cut on a character boundary); the rest is
/// dropped unread. A read that fails or times out is reported as the attempt's error.
async fn read_capped(mut response: reqwest::Response, limit: usize) -> (String, Option<String>) {
    let mut buf = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = limit.saturating_sub(buf.len());
                buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if buf.len() >= limit {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => return (lossy(buf), Some(format!("reading the response failed: {}", error_chain(&e)))),
        }
    }
    (lossy(buf), None)
}

/// The body as logged text: invalid UTF-8 and NUL (which no database keeps in text;
/// PostgreSQL refuses the whole row) become U+FFFD.
fn lossy(buf: Vec<u8>) -> String {
    let text = String::from_utf8(buf).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    if text.contains('\0') { text.replace('\0', "\u{FFFD}") } else { text }
}

fn describe(e: &reqwest::Error, timeout: std::time::Duration) -> String {
    if e.is_timeout() {
        format!("timed out after {}", humanize(timeout))
    } else if e.is_connect() {
        format!("connection failed: {}", error_chain(e))
    } else {
        format!("request failed: {}", error_chain(e))
    }
}

fn humanize(d: std::time::Duration) -> String {
    if d.subsec_millis() == 0 { format!("{}s", d.as_secs()) } else { format!("{}ms", d.as_millis()) }
}
