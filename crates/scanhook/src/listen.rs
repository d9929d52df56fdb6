//! `scanhook listen`: a receiver on 127.0.0.1 for developing against webhooks without a
//! tunnel. Each request is printed (time, event, delivery, whether its signature verified,
//! the body); with `--forward-to` it is relayed unchanged to the receiver being developed,
//! whose answer goes back to the sender, so retries behave as they would against it.

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderName, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{SecondsFormat, Utc};
use scanhook_core::error_chain;
use scanhook_verify::ed25519;
use scanhook_verify::hmac::{self, Encoding};
use scanhook_verify::standard::Verifier;

use crate::cli::ListenArgs;

/// Bodies beyond this are refused (413); deliveries are far smaller.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus those
/// the next hop computes itself.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
];

struct Listener {
    check: Option<Check>,
    token: Option<String>,
    forward: Option<(reqwest::Client, reqwest::Url)>,
}

/// What `--secret` checks signatures with.
enum Check {
    /// A shared secret: the Standard Webhooks `v1` signature and raw-body HMAC headers.
    Shared { secret: String, verifier: Verifier },
    /// A `standard-ed25519` endpoint's public key (`whpk_…`): its `v1a` signatures.
    PublicKey(ed25519::Verifier),
}

impl Check {
    fn new(secret: String, tolerance: std::time::Duration) -> anyhow::Result<Self> {
        if secret.starts_with(ed25519::PUBLIC_KEY_PREFIX) {
            let key = ed25519::PublicKey::parse(&secret).context("--secret is not a usable whpk_ public key")?;
            return Ok(Self::PublicKey(ed25519::Verifier::new(key).with_tolerance(tolerance)));
        }
        Ok(Self::Shared { verifier: Verifier::new(&secret).with_tolerance(tolerance), secret })
    }
}

pub async fn run(args: ListenArgs) -> anyhow::Result<()> {
    let forward = match args.forward_to {
        Some(url) => {
            let client = reqwest::Client::builder()
                .timeout(args.forward_timeout)
                // Relay what the receiver answers, redirects included, as the sender would see it.
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .context("could not build the HTTP client for --forward-to")?;
            Some((client, url))
        }
        None => None,
    };
    let check = args.secret.map(|s| Check::new(s, args.tolerance)).transpose()?;
    let forward_note = forward.as_ref().map(|(_, url)| format!(", forwarding to {url}"));
    let state = Arc::new(Listener { check, token: args.token, forward });

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .with_context(|| format!("could not listen on 127.0.0.1:{}", args.port))?;
    let addr = listener.local_addr().context("the bound address")?;
    // Tests and scripts read this first line to learn the port chosen by --port 0.
    println!("scanhook listen: listening on http://{addr}{}", forward_note.unwrap_or_default());
    if state.check.is_none() {
        println!("scanhook listen: no --secret, so signatures are not checked");
    }

    let app = axum::Router::new().fallback(receive).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)).with_state(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            // Without a signal handler the process still stops on Ctrl-C, just less politely.
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("the listener stopped")
}

async fn receive(
    State(listener): State<Arc<Listener>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut report = Report::new(&method, &uri, &headers, &body);
    report.line("signature", &signature_check(&listener, &headers, &body));
    if let Some(token) = &listener.token {
        let authorization = header(&headers, "authorization").unwrap_or_default();
        let verdict = match scanhook_verify::bearer::verify(token, authorization) {
            Ok(()) => "verified".to_string(),
            Err(e) => format!("NOT verified: {e}"),
        };
        report.line("bearer", &verdict);
    }
    let answer = match &listener.forward {
        Some((client, target)) => {
            let (answer, note) = forward(client, target, method, &headers, body.clone()).await;
            report.line("forwarded", &note);
            answer
        }
        None => StatusCode::NO_CONTENT.into_response(),
    };
    report.body(&body);
    report.print();
    answer
}

/// One request's printout, assembled first and written at once so concurrent requests
/// do not interleave.
struct Report(String);

impl Report {
    fn new(method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Self {
        let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
        let event = header_like(headers, "-event")
            .or_else(|| json.as_ref().and_then(|j| j.get("type")?.as_str().map(str::to_string)))
            .unwrap_or_else(|| "-".into());
        let delivery = header_like(headers, "-delivery")
            .or_else(|| header(headers, "webhook-id").map(str::to_string))
            .unwrap_or_else(|| "-".into());
        let mut report =
            Report(format!("{}  {method} {uri}\n", Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)));
        report.line("event", &event);
        report.line("delivery", &delivery);
        report
    }

    fn line(&mut self, label: &str, value: &str) {
        self.0.push_str(&format!("  {:<10} {value}\n", format!("{label}:")));
    }

    fn body(&mut self, body: &[u8]) {
        let shown = match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(json) => serde_json::to_string_pretty(&json).unwrap_or_default(),
            Err(_) if body.is_empty() => "(empty body)".into(),
            Err(_) => String::from_utf8_lossy(body).into_owned(),
        };
        for line in shown.lines() {
            self.0.push_str("  ");
            self.0.push_str(line);
            self.0.push('\n');
        }
    }

    fn print(mut self) {
        self.0.push('\n');
        let mut out = std::io::stdout().lock();
        // A closed stdout (the terminal went away) must not stop the answers to the sender.
        let _ = out.write_all(self.0.as_bytes()).and_then(|()| out.flush());
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).filter(|v| !v.is_empty())
}

/// The value of the first `X-…{suffix}` header, whatever the deployment's prefix
/// (`X-Scanhook-Event`, `X-Juro-Event`).
fn header_like(headers: &HeaderMap, suffix: &str) -> Option<String> {
    headers
        .iter()
        .find(|(name, _)| name.as_str().starts_with("x-") && name.as_str().ends_with(suffix))
        .and_then(|(_, value)| value.to_str().ok())
        .map(str::to_string)
}

/// Checks every signature header present with `--secret`: the Standard Webhooks one, and
/// raw-body HMACs in `X-…-Signature` headers (hex or base64, `sha256=` or no prefix). A
/// public key checks only the first (HMACs need the shared secret).
fn signature_check(listener: &Listener, headers: &HeaderMap, body: &[u8]) -> String {
    let Some(check) = &listener.check else {
        return "not checked (no --secret)".into();
    };
    let mut passed = Vec::new();
    let mut failed = Vec::new();
    if let Some(signature) = header(headers, "webhook-signature") {
        let value = |name| header(headers, name).unwrap_or_default();
        let (id, timestamp) = (value("webhook-id"), value("webhook-timestamp"));
        let verified = match check {
            Check::Shared { verifier, .. } => verifier.verify_now(id, timestamp, signature, body),
            Check::PublicKey(verifier) => verifier.verify_now(id, timestamp, signature, body),
        };
        match verified {
            Ok(()) => passed.push("webhook-signature".to_string()),
            Err(e) => failed.push(format!("webhook-signature: {e}")),
        }
    }
    if let Check::Shared { secret, .. } = check {
        for (name, value) in headers.iter().filter(|(name, _)| is_hmac_signature_header(name)) {
            let value = value.to_str().unwrap_or_default();
            match verify_hmac_any_format(secret, value, body) {
                Ok(()) => passed.push(name.to_string()),
                Err(e) => failed.push(format!("{name}: {e}")),
            }
        }
    }
    match (passed.is_empty(), failed.is_empty()) {
        (true, true) => "NOT verified: no webhook-signature or X-…-Signature header".into(),
        (_, true) => format!("verified ({})", passed.join(", ")),
        (true, false) => format!("NOT verified: {}", failed.join("; ")),
        (false, false) => format!("NOT verified: {} ({} verified)", failed.join("; "), passed.join(", ")),
    }
}

fn is_hmac_signature_header(name: &HeaderName) -> bool {
    name.as_str().starts_with("x-") && name.as_str().ends_with("-signature")
}

/// The `hmac-sha256` scheme leaves prefix and encoding to the endpoint; read them off the
/// value (one of a rotation's list is enough).
fn verify_hmac_any_format(secret: &str, value: &str, body: &[u8]) -> Result<(), scanhook_verify::VerifyError> {
    let first = value.split(',').next().unwrap_or_default().trim();
    let prefix = if first.starts_with("sha256=") { "sha256=" } else { "" };
    let tag = &first[prefix.len()..];
    let encoding =
        if tag.len() == 64 && tag.bytes().all(|b| b.is_ascii_hexdigit()) { Encoding::Hex } else { Encoding::Base64 };
    hmac::verify(secret, prefix, encoding, value, body)
}

/// Relays the request to `target` and returns the answer for the sender with a note of
/// what happened; a failed relay answers 502, which the sender retries.
async fn forward(
    client: &reqwest::Client,
    target: &reqwest::Url,
    method: Method,
    headers: &HeaderMap,
    body: Bytes,
) -> (Response, String) {
    let mut request = client.request(method, target.clone());
    let listed_in_connection = connection_listed(headers);
    for (name, value) in headers {
        let name_text = name.as_str();
        if !HOP_BY_HOP.contains(&name_text) && !listed_in_connection.iter().any(|l| l == name_text) {
            request = request.header(name, value);
        }
    }
    let response = match request.body(body).send().await {
        Ok(response) => response,
        Err(e) => {
            let error = error_chain(&e);
            return (
                (StatusCode::BAD_GATEWAY, format!("scanhook listen: forwarding failed: {error}")).into_response(),
                format!("failed: {error}"),
            );
        }
    };
    let status = response.status();
    let mut answer_headers = HeaderMap::new();
    for (name, value) in response.headers() {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            answer_headers.append(name, value.clone());
        }
    }
    match response.bytes().await {
        Ok(bytes) => ((status, answer_headers, bytes).into_response(), format!("{status} from {target}")),
        Err(e) => {
            let error = error_chain(&e);
            (
                (StatusCode::BAD_GATEWAY, format!("scanhook listen: reading the answer failed: {error}"))
                    .into_response(),
                format!("{status} from {target}, but reading its body failed: {error}"),
            )
        }
    }
}

/// Header names a `Connection` header marks as hop-by-hop.
fn connection_listed(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("connection")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .collect()
}
