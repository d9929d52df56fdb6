//! `scanhook webhooks stats ID`: an endpoint's health, as a table of its two windows and
//! the last error and delivery.

use scanhook_client::types::{StatsWindowOut, WebhookStatsOut};

use super::output::{Table, fields, opt, when};

/// A success rate as a percentage, two decimals; blank without attempts.
fn percent(rate: Option<f64>) -> String {
    rate.map(|r| format!("{:.2} %", r * 100.0)).unwrap_or_default()
}

fn ms(value: Option<u64>) -> String {
    value.map(|v| format!("{v} ms")).unwrap_or_default()
}

pub fn render(s: &WebhookStatsOut) -> String {
    let mut windows = Table::new(&["", "LAST HOUR", "LAST 24 H"]);
    let row =
        |name: &str, cell: fn(&StatsWindowOut) -> String| vec![name.to_string(), cell(&s.last_hour), cell(&s.last_day)];
    windows.row(row("attempts", |w| w.attempts.to_string()));
    windows.row(row("failures", |w| w.failures.to_string()));
    windows.row(row("success rate", |w| percent(w.success_rate)));
    windows.row(row("p50 latency", |w| ms(w.p50_latency_ms)));
    windows.row(row("p95 latency", |w| ms(w.p95_latency_ms)));
    windows.row(row("latency sample", |w| w.latency_sample.to_string()));
    let last_error = s.last_error.as_ref().map(|e| {
        let what = match (&e.status_code, &e.error) {
            (Some(code), _) => format!("HTTP {code}"),
            (None, error) => opt(error),
        };
        format!("{} {what} (delivery {})", when(&e.at), e.delivery_id)
    });
    let last_delivery =
        s.last_delivery.as_ref().map(|d| format!("{} {} ({})", d.id, d.status.as_str(), when(&d.created_at)));
    let summary = fields(&[
        ("webhook", s.webhook_id.clone()),
        ("at", when(&s.at)),
        ("failures in a row", s.consecutive_failures.to_string()),
        ("last error", last_error.unwrap_or_else(|| "none".into())),
        ("last delivery", last_delivery.unwrap_or_else(|| "none".into())),
    ]);
    format!("{}\n{summary}", windows.render())
}
