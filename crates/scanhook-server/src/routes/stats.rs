//! An endpoint's health (`GET /v1/webhooks/{id}/stats`): the store reads the endpoint's
//! attempt log (exact counts per window, a bounded sample of the newest attempts), and
//! `scanhook_core::stats` says what it means.

use axum::Json;
use axum::extract::{Path, State};
use scanhook_api_types::{Problem, StatsErrorOut, StatsWindowOut, WebhookStatsOut};
use scanhook_core::WebhookId;
use scanhook_core::stats::{self, SAMPLE};

use super::deliveries::delivery_out;
use crate::auth::Caller;
use crate::error::{ApiError, named};
use crate::extract::path_id;
use crate::state::AppState;

fn window_out(w: stats::Window) -> StatsWindowOut {
    StatsWindowOut {
        since: w.since,
        attempts: w.attempts,
        failures: w.failures,
        success_rate: w.success_rate,
        p50_latency_ms: w.p50_ms,
        p95_latency_ms: w.p95_ms,
        latency_sample: w.sampled,
    }
}

/// An endpoint's health over the last hour and the last 24 hours: attempts, failures,
/// success rate and p50/p95 latency, the failed attempts in a row, the last error and the
/// last delivery. Attempts and failures are counted exactly; latencies and failures in a
/// row come from the endpoint's newest `sample_size` (10,000) attempts, so a window with
/// more attempts than that has its percentiles from its newest ones (`latency_sample`).
#[utoipa::path(get, path = "/v1/webhooks/{id}/stats", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = WebhookStatsOut), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<WebhookStatsOut>, ApiError> {
    let webhook_id: WebhookId = path_id(&id, "webhook")?;
    if caller.event_limits.is_some() {
        // An event-limited session sees the health of the endpoints it may see only.
        super::webhooks::find(&state, &caller, &id).await?;
    }
    let now = state.now();
    let [hour, day] = stats::windows(now);
    let activity = state
        .store()
        .webhook_activity(&caller.account, &webhook_id, vec![hour, day], now, SAMPLE)
        .await
        .map_err(named("webhook", &id))?;
    let counts = |i: usize| activity.counts.get(i).copied().unwrap_or_default();
    Ok(Json(WebhookStatsOut {
        webhook_id: webhook_id.to_string(),
        at: now,
        last_hour: window_out(stats::window(hour, counts(0), &activity.recent)),
        last_day: window_out(stats::window(day, counts(1), &activity.recent)),
        consecutive_failures: stats::failures_in_a_row(&activity.recent),
        last_error: activity.last_failure.map(|f| StatsErrorOut {
            at: f.started_at,
            delivery_id: f.delivery_id.to_string(),
            status_code: f.status_code,
            error: f.error,
        }),
        last_delivery: activity.last_delivery.map(delivery_out),
        sample_size: SAMPLE,
    }))
}
