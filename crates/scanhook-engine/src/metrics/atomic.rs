//! Metrics the engine records without locks: a histogram of atomics, and counters the
//! store keeps itself (it has no metrics dependency), read when scraped.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};
use scanhook_store::GroupCommits;

/// A counter the store keeps itself (it knows no metrics), read when scraped.
#[derive(Debug)]
pub(super) struct StoreCounter {
    pub(super) commits: Arc<GroupCommits>,
    pub(super) read: fn(&GroupCommits) -> u64,
}

impl EncodeMetric for StoreCounter {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_counter::<NoLabelSet, _, u64>(&(self.read)(&self.commits), None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Counter
    }
}

/// A maker of histograms with these buckets.
pub(super) fn histogram(bounds: &'static [f64]) -> impl Fn() -> AtomicHistogram {
    move || AtomicHistogram::new(bounds)
}

/// A histogram of fixed buckets recorded with atomics only: `observe` is two atomic adds
/// and a compare-and-swap of the sum. Clones share the counts.
#[derive(Clone, Debug)]
pub struct AtomicHistogram(Arc<HistogramInner>);

#[derive(Debug)]
struct HistogramInner {
    bounds: &'static [f64],
    /// One per bound, then `+Inf`: observations in each bucket alone (not cumulative).
    counts: Box<[AtomicU64]>,
    /// The sum's `f64` bits.
    sum: AtomicU64,
}

impl AtomicHistogram {
    pub fn new(bounds: &'static [f64]) -> Self {
        let counts = (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect();
        Self(Arc::new(HistogramInner { bounds, counts, sum: AtomicU64::new(0f64.to_bits()) }))
    }

    pub fn observe(&self, v: f64) {
        let inner = &self.0;
        // The first bucket whose bound is at least `v` (`le`), else `+Inf`.
        let bucket = inner.bounds.partition_point(|b| *b < v);
        inner.counts[bucket].fetch_add(1, Ordering::Relaxed);
        let _ = inner
            .sum
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| Some((f64::from_bits(bits) + v).to_bits()));
    }
}

impl TypedMetric for AtomicHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for AtomicHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let inner = &self.0;
        let counts: Vec<u64> = inner.counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
        let bounds = inner.bounds.iter().copied().chain(std::iter::once(f64::MAX));
        let buckets: Vec<(f64, u64)> = bounds.zip(counts.iter().copied()).collect();
        let sum = f64::from_bits(inner.sum.load(Ordering::Relaxed));
        encoder.encode_histogram::<NoLabelSet>(sum, counts.iter().sum(), &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::registry::Registry;

    use super::*;

    #[test]
    fn the_histogram_counts_each_bucket_and_the_sum() {
        let h = AtomicHistogram::new(&[0.1, 1.0]);
        for v in [0.05, 0.1, 0.5, 2.0] {
            h.observe(v);
        }
        let mut registry = Registry::default();
        registry.register("t", "test", h);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(text.contains("t_bucket{le=\"0.1\"} 2\n"), "{text}");
        assert!(text.contains("t_bucket{le=\"1.0\"} 3\n"), "{text}");
        assert!(text.contains("t_bucket{le=\"+Inf\"} 4\n"), "{text}");
        assert!(text.contains("t_count 4\n") && text.contains("t_sum 2.65\n"), "{text}");
    }
}
