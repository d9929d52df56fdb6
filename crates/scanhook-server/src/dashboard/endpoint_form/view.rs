//! The endpoint form's markup: URL, events and description; a "Signature" group (the
//! scheme, its HMAC options, the write-only bearer token, on create a secret of one's
//! own); and an "Advanced" `<details>` (body format, CloudEvents, timeout, requests in
//! flight, rate limit and burst, delivery order, header prefix,
//! project and severity filters, extra headers, extra payload, template), open when any
//! of it is set or holds an error. Options that apply to one choice only say so, and
//! app.js hides them while another is chosen (`data-show-when`).

use maud::{Markup, html};
use scanhook_api_types::{Problem, Signature, WebhookOut};

use super::body::form_field;
use super::{BODY_JSON, CLOUDEVENTS_MODES, ENCODINGS, EndpointForm, KINDS, ORDERINGS, SCHEMES, SEVERITIES, scheme_of};
use crate::dashboard::forms::{self, headers_text};
use crate::dashboard::session::Sess;

/// The fields of the advanced part: an error in one opens it.
const ADVANCED: &[&str] = &[
    "kind",
    "body_json",
    "cloudevents_mode",
    "cloudevents_source",
    "timeout",
    "max_in_flight",
    "rate_limit",
    "rate_limit_burst",
    "ordering",
    "header_prefix",
    "projects",
    "min_severity",
    "headers",
    "sensitive_headers",
    "extra_payload",
    "template",
];

/// Every field of the form; an error about anything else is a banner above it.
const OTHERS: &[&str] = &[
    "url",
    "events",
    "description",
    "signature",
    "signature_header",
    "signature_prefix",
    "signature_encoding",
    "bearer_token",
    "secret",
];

/// The scheme's name as the pages show it.
pub fn scheme_label(signature: &Signature) -> &'static str {
    SCHEMES.iter().find(|(v, _)| *v == scheme_of(signature)).map(|(_, l)| *l).unwrap_or("")
}

/// The form's fields, with the problem (its field named as the form names it) beside one.
struct Fields {
    error: Option<(String, String)>,
}

impl Fields {
    fn error(&self, name: &str) -> Option<&str> {
        self.error.as_ref().filter(|(field, _)| field == name).map(|(_, message)| message.as_str())
    }

    fn invalid(&self, name: &str) -> Option<&'static str> {
        self.error(name).map(|_| "true")
    }

    /// One labelled field with its hint and error.
    fn field(&self, label: &str, name: &str, hint: &str, input: Markup) -> Markup {
        forms::field(label, name, hint, self.error(name), input)
    }

    fn text(&self, label: &str, name: &str, value: &str, hint: &str, placeholder: &str) -> Markup {
        self.field(label, name, hint, html! {
            input #(name) type="text" name=(name) value=(value) placeholder=[(!placeholder.is_empty()).then_some(placeholder)]
                aria-invalid=[self.invalid(name)] aria-describedby={ (name) "-hint " (name) "-error" };
        })
    }

    fn textarea(&self, label: &str, name: &str, value: &str, hint: &str, mono: bool) -> Markup {
        self.field(
            label,
            name,
            hint,
            html! {
                textarea #(name).mono[mono] name=(name) rows="4" aria-invalid=[self.invalid(name)]
                    aria-describedby={ (name) "-hint " (name) "-error" } { (value) }
            },
        )
    }

    fn select(&self, label: &str, name: &str, value: &str, options: &[(&str, &str)], hint: &str) -> Markup {
        // A value the form does not offer (none should come) shows as the first option.
        let chosen = options.iter().find(|(v, _)| *v == value).map_or(options[0].0, |(v, _)| *v);
        self.field(label, name, hint, html! {
            select #(name) name=(name) aria-invalid=[self.invalid(name)] aria-describedby={ (name) "-hint " (name) "-error" } {
                @for (v, l) in options { option value=(v) selected[*v == chosen] { (l) } }
            }
        })
    }
}

/// The add form (`current` is `None`) or the edit form of `current`.
pub fn endpoint_form(
    sess: &Sess,
    action: &str,
    submit: &str,
    f: &EndpointForm,
    current: Option<&WebhookOut>,
    problem: Option<&Problem>,
) -> Markup {
    let error = problem.map(|p| (p.field.as_deref().map(form_field).unwrap_or_default(), p.message.clone()));
    let general = problem.filter(|_| {
        error.as_ref().is_none_or(|(field, _)| !ADVANCED.contains(&field.as_str()) && !OTHERS.contains(&field.as_str()))
    });
    let advanced_error = error.as_ref().is_some_and(|(field, _)| ADVANCED.contains(&field.as_str()));
    let x = Fields { error };
    html! {
        form.endpoint method="post" action=(action) novalidate {
            input type="hidden" name="csrf" value=(sess.csrf);
            @if let Some(p) = general { p.banner.error role="alert" { (p.message) } }
            (x.field("Endpoint URL", "url", "Where deliveries are POSTed (https recommended).", html! {
                input #url type="url" name="url" value=(f.url) required placeholder="https://example.com/webhooks"
                    aria-invalid=[x.invalid("url")] aria-describedby="url-hint url-error";
            }))
            (x.text("Events", "events", &f.events,
                "Event types or patterns, separated by commas: scan.completed, scan.*, or * for all.", "*"))
            (x.field("Description", "description", "", html! {
                input #description type="text" name="description" value=(f.description) maxlength="1000"
                    aria-invalid=[x.invalid("description")] aria-describedby="description-error";
            }))
            (signature_group(&x, f, current))
            details.advanced open[advanced_error || f.has_advanced()] {
                summary { "Advanced" span.summary-hint { "body format, timeout, limits, filters, headers, template" } }
                div.field-row {
                    (x.select("Body format", "kind", &f.kind, KINDS, "Generic: {id, type, timestamp, data}. A template, when set, shapes the body instead."))
                    (x.select("Body JSON", "body_json", &f.body_json, BODY_JSON,
                        "Verbatim keeps event data byte for byte; JavaScript's form suits receivers that verify JSON.stringify(req.body)."))
                }
                div.field-row data-show-when="kind=cloudevents" {
                    (x.select("CloudEvents mode", "cloudevents_mode", &f.cloudevents_mode, CLOUDEVENTS_MODES,
                        "CloudEvents only. Structured: the whole event as the body; binary: the data, with ce-* headers."))
                    (x.text("CloudEvents source", "cloudevents_source", &f.cloudevents_source,
                        "The source attribute, a URI-reference. Empty: this server's public URL.", "/scanner"))
                }
                div.field-row {
                    (x.field("Timeout (seconds)", "timeout", "1 to 30 seconds an attempt may take. Empty: the server's.", html! {
                        input #timeout type="number" name="timeout" value=(f.timeout) min="1" max="30" step="1" inputmode="numeric"
                            aria-invalid=[x.invalid("timeout")] aria-describedby="timeout-hint timeout-error";
                    }))
                    (x.text("Header prefix", "header_prefix", &f.header_prefix,
                        "Of the event, delivery, attempt and signature headers. Empty: the server's.", "X-Scanhook"))
                }
                div.field-row {
                    (x.field("Requests in flight", "max_in_flight", "1 to 1000 requests open at once, per server node. Empty: 10.", html! {
                        input #max_in_flight type="number" name="max_in_flight" value=(f.max_in_flight) min="1" max="1000" step="1" inputmode="numeric"
                            aria-invalid=[x.invalid("max_in_flight")] aria-describedby="max_in_flight-hint max_in_flight-error";
                    }))
                    (x.field("Rate limit (per second)", "rate_limit", "1 to 10000 deliveries a second; the rest wait their turn. Empty: no limit.", html! {
                        input #rate_limit type="number" name="rate_limit" value=(f.rate_limit) min="1" max="10000" step="1" inputmode="numeric"
                            aria-invalid=[x.invalid("rate_limit")] aria-describedby="rate_limit-hint rate_limit-error";
                    }))
                    (x.field("Burst", "rate_limit_burst", "With a rate limit: how many may go at once after a quiet spell. Empty: the rate.", html! {
                        input #rate_limit_burst type="number" name="rate_limit_burst" value=(f.rate_limit_burst) min="1" max="10000" step="1" inputmode="numeric"
                            aria-invalid=[x.invalid("rate_limit_burst")] aria-describedby="rate_limit_burst-hint rate_limit_burst-error";
                    }))
                }
                div.field-row {
                    (x.select("Delivery order", "ordering", &f.ordering, ORDERINGS,
                        "In order: one delivery at a time, as the events were accepted; the next waits while one retries, and goes when it succeeds or dies. Requests in flight then do not matter."))
                }
                div.field-row {
                    (x.text("Projects", "projects", &f.projects,
                        "Project IDs, separated by commas: only their events reach the endpoint. Empty: every event.", "proj_…"))
                    (x.select("Minimum severity", "min_severity", &f.min_severity, SEVERITIES,
                        "Violation and issue events below it are not sent."))
                }
                (x.textarea("Extra headers", "headers", &f.headers,
                    "One per line, as Name: value. Credential values are kept secret and shown as [redacted].", false))
                (x.text("Sensitive headers", "sensitive_headers", &f.sensitive_headers,
                    "Names of extra headers whose values are credentials, separated by commas (names with token, key, secret or auth are anyway).", ""))
                (x.textarea("Extra payload", "extra_payload", &f.extra_payload, "A JSON object merged into every delivery's body.", true))
                (x.textarea("Template", "template", &f.template, "A jq program that shapes the body (when the server allows templates).", true))
            }
            div.actions {
                button.primary type="submit" { (submit) }
                a.button href="/endpoints" { "Cancel" }
            }
        }
    }
}

fn signature_group(x: &Fields, f: &EndpointForm, current: Option<&WebhookOut>) -> Markup {
    let token_set = current.is_some_and(|w| w.bearer_token_set);
    let token_hint = if token_set {
        "A token is set and never shown. Leave empty to keep it; type a new one to replace it."
    } else {
        "Sent as Authorization: Bearer <token> with any scheme; the Bearer token only scheme needs one."
    };
    html! {
        fieldset.group {
            legend { "Signature" }
            (x.select("Signature scheme", "signature", &f.signature, SCHEMES, "How receivers check that a delivery came from here."))
            div.field-row data-show-when="signature=hmac-sha256" {
                (x.text("Signature header", "signature_header", &f.signature_header,
                    "HMAC-SHA256 only. Empty: <header prefix>-Signature.", "X-Signature"))
                (x.text("Value prefix", "signature_prefix", &f.signature_prefix, "Written before the digest.", "sha256="))
                (x.select("Encoding", "signature_encoding", &f.signature_encoding, ENCODINGS, "Of the digest."))
            }
            (x.field("Bearer token", "bearer_token", token_hint, html! {
                input #bearer_token.mono type="password" name="bearer_token" value=(f.bearer_token) autocomplete="new-password"
                    placeholder=[token_set.then_some("•••••••• (set)")]
                    aria-invalid=[x.invalid("bearer_token")] aria-describedby="bearer_token-hint bearer_token-error";
            }))
            @if token_set {
                label.check { input type="checkbox" name="remove_bearer_token" value="true" checked[f.remove_bearer_token.is_some()]; " Remove the bearer token" }
            }
            @if current.is_none() {
                (x.field("Signing secret", "secret", "Optional: a secret of your own (16 to 128 characters; a whsk_ key for Ed25519), to keep receivers that already verify with it. Empty: a new one is made.", html! {
                    input #secret.mono type="password" name="secret" value=(f.secret) autocomplete="new-password"
                        aria-invalid=[x.invalid("secret")] aria-describedby="secret-hint secret-error";
                }))
            }
        }
    }
}

/// An endpoint's settings as facts, for a session that may not change them.
pub fn settings_facts(w: &WebhookOut) -> Markup {
    let kind = KINDS.iter().find(|(v, _)| *v == super::wire(&w.kind)).map(|(_, l)| *l).unwrap_or("");
    html! {
        dl.facts {
            dt { "Events" } dd { (w.events.join(", ")) }
            dt { "Description" } dd { (w.description.clone().unwrap_or_default()) }
            dt { "Signature" } dd { (scheme_label(&w.signature)) }
            dt { "Bearer token" } dd { @if w.bearer_token_set { "Set (never shown)" } @else { "None" } }
            dt { "Body format" } dd { (kind) }
            dt { "Timeout" } dd { @if let Some(t) = w.timeout { (t) " s" } @else { "The server's" } }
            dt { "Requests in flight" } dd { (w.max_in_flight) }
            dt { "Rate limit" } dd {
                @if let Some(r) = w.rate_limit { (r) " a second, burst " (w.rate_limit_burst.unwrap_or(r)) } @else { "None" }
            }
            dt { "Delivery order" } dd {
                @if w.ordering.is_fifo() { "In order, one at a time (FIFO)" } @else { "Unordered" }
            }
            @if let Some(prefix) = &w.header_prefix { dt { "Header prefix" } dd.mono { (prefix) } }
            @if !w.projects.is_empty() { dt { "Projects" } dd.mono.wrap { (w.projects.join(", ")) } }
            @if let Some(s) = w.min_severity { dt { "Minimum severity" } dd { (s.as_str()) } }
            dt { "Extra headers" } dd.mono.pre { (headers_text(&w.headers)) }
        }
    }
}
