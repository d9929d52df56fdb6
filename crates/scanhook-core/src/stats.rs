//! An endpoint's health, from its attempt log: attempts, failures and success rate over a
//! window, latency percentiles, and the failures in a row. Pure: the store counts the
//! window's attempts exactly and returns a bounded sample of the newest ones; what they
//! mean is decided here, so every backend gives the same figures.

use chrono::{DateTime, Duration, Utc};

/// How many of an endpoint's newest attempts the latency percentiles and the failures in
/// a row are computed from: a bound on what one stats request reads, whatever the volume.
pub const SAMPLE: u32 = 10_000;

/// The windows the stats report, ending now: the last hour and the last 24 hours.
pub fn windows(now: DateTime<Utc>) -> [DateTime<Utc>; 2] {
    [now - Duration::hours(1), now - Duration::hours(24)]
}

/// One attempt of the sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sampled {
    pub started_at: DateTime<Utc>,
    pub latency_ms: u64,
    pub failed: bool,
}

/// Attempts in a window, and how many of them failed (counted exactly).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub attempts: u64,
    pub failures: u64,
}

/// What one window says.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub since: DateTime<Utc>,
    pub attempts: u64,
    pub failures: u64,
    /// Succeeded attempts over all attempts, 0 to 1 (four decimals); none without attempts.
    pub success_rate: Option<f64>,
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    /// How many attempts the percentiles are computed from: all of the window's, unless
    /// it holds more than [`SAMPLE`] (then its newest [`SAMPLE`]).
    pub sampled: u64,
}

/// The window from `since` on: `counts` as the store counted them, the percentiles from
/// the part of `recent` (newest first, at most [`SAMPLE`]) that falls in the window.
pub fn window(since: DateTime<Utc>, counts: Counts, recent: &[Sampled]) -> Window {
    let mut latencies: Vec<u64> = recent.iter().filter(|a| a.started_at >= since).map(|a| a.latency_ms).collect();
    latencies.sort_unstable();
    let success_rate = (counts.attempts > 0).then(|| {
        let succeeded = counts.attempts.saturating_sub(counts.failures) as f64;
        (succeeded / counts.attempts as f64 * 10_000.0).round() / 10_000.0
    });
    Window {
        since,
        attempts: counts.attempts,
        failures: counts.failures,
        success_rate,
        p50_ms: percentile(&latencies, 50),
        p95_ms: percentile(&latencies, 95),
        sampled: latencies.len() as u64,
    }
}

/// The `p`th percentile of `sorted` (ascending) by nearest rank: the smallest value at
/// least `p` % of the values are at or below. Always one of the values, never interpolated.
pub fn percentile(sorted: &[u64], p: u32) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (u64::from(p.min(100)) * sorted.len() as u64).div_ceil(100).max(1);
    sorted.get(rank as usize - 1).copied()
}

/// Failed attempts in a row, newest back, until the last success (at most the sample's
/// length: `recent` is newest first).
pub fn failures_in_a_row(recent: &[Sampled]) -> u64 {
    recent.iter().take_while(|a| a.failed).count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<u64> = (1..=20).collect();
        assert_eq!(percentile(&values, 50), Some(10));
        assert_eq!(percentile(&values, 95), Some(19));
        assert_eq!(percentile(&values, 100), Some(20));
        assert_eq!(percentile(&[7], 95), Some(7));
        assert_eq!(percentile(&[1, 1000], 50), Some(1));
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn a_window_counts_exactly_and_samples_only_its_own_attempts() {
        let recent = [
            Sampled { started_at: at(0), latency_ms: 300, failed: true },
            Sampled { started_at: at(-10), latency_ms: 100, failed: true },
            Sampled { started_at: at(-20), latency_ms: 200, failed: false },
            Sampled { started_at: at(-7200), latency_ms: 9000, failed: false },
        ];
        let hour = window(at(-3600), Counts { attempts: 3, failures: 2 }, &recent);
        assert_eq!((hour.attempts, hour.failures, hour.sampled), (3, 2, 3));
        assert_eq!(hour.success_rate, Some(0.3333));
        assert_eq!((hour.p50_ms, hour.p95_ms), (Some(200), Some(300)));
        let day = window(at(-86_400), Counts { attempts: 4, failures: 2 }, &recent);
        assert_eq!((day.p50_ms, day.p95_ms, day.success_rate), (Some(200), Some(9000), Some(0.5)));
        let empty = window(at(0), Counts::default(), &[]);
        assert_eq!((empty.success_rate, empty.p50_ms, empty.sampled), (None, None, 0));
        assert_eq!(failures_in_a_row(&recent), 2);
        assert_eq!(failures_in_a_row(&recent[2..]), 0);
    }
}
