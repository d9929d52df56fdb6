//! A claim's fair share, the same for every backend: the due deliveries a backend read,
//! in order, filtered by [`scanhook_core::fair::Share`] (the rule lives in core).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use scanhook_core::fair::{Bucket, Share};
use scanhook_core::{DeliveryId, WebhookId};

use crate::model::Claimed;

/// The deliveries to lease of those `due` (each with its endpoint's rate bucket as read),
/// at most `limit`, and the buckets met: to write back those drawn from, guarded by the
/// value read.
pub fn choose(
    due: Vec<(Claimed, Option<i64>)>,
    busy: HashMap<WebhookId, u32>,
    now: DateTime<Utc>,
    limit: u32,
) -> (Vec<Claimed>, HashMap<WebhookId, Bucket>) {
    let mut share = Share::new(busy, now.timestamp_micros());
    let items = due
        .into_iter()
        .filter(|(item, tat)| {
            let format = &item.webhook.format;
            share.take(&item.webhook.id, format.max_in_flight(), format.rate(), *tat)
        })
        .map(|(item, _)| item)
        .take(limit as usize)
        .collect();
    (items, share.into_buckets())
}

/// Of the deliveries an ingest made (each with its endpoint), the IDs a claim of them reads,
/// and how many it passes over unread for an endpoint in `skip`.
pub fn offered(made: Vec<(DeliveryId, WebhookId)>, skip: &[WebhookId]) -> (Vec<DeliveryId>, u32) {
    let mut passed_over = 0;
    let ids = made
        .into_iter()
        .filter_map(|(id, webhook)| {
            let skipped = skip.contains(&webhook);
            passed_over += u32::from(skipped);
            (!skipped).then_some(id)
        })
        .collect();
    (ids, passed_over)
}

/// A bucket's time (µs since the epoch) as a time.
pub fn time(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}
