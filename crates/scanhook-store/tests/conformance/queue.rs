//! What the metrics and the readiness check ask of a store: the queue's depth by state
//! and the disabled endpoints, counted across accounts; and a ping of a migrated schema.

use chrono::Duration;
use scanhook_store::*;

use super::{account, backends, event, succeeded, t0, webhook};

#[tokio::test]
async fn the_queue_is_counted_by_state_and_disabled_endpoints_by_whom() {
    for b in backends().await {
        let s = b.store.as_ref();
        assert!(s.ping().await.unwrap(), "{}: a store opened is migrated", b.name);
        assert_eq!(s.queue_depth(t0()).await.unwrap(), QueueDepth::default(), "{}", b.name);
        let (one, two) = (account(s, "a").await, account(s, "b").await);
        let failing = webhook(s, &one, &["*"]).await;
        let off = webhook(s, &two, &["*"]).await;
        s.update_webhook(&two, &off.id, WebhookPatch { active: Some(false), ..Default::default() }, t0())
            .await
            .unwrap();
        for _ in 0..3 {
            s.ingest_event(&one, event("scan.completed", None), t0()).await.unwrap();
        }
        let counted = s.queue_depth(t0()).await.unwrap();
        assert_eq!((counted.due, counted.disabled_by_user), (3, 1), "{}: {counted:?}", b.name);

        // One succeeds, one is retried in a minute, one dies: the endpoint is disabled.
        let c = s.claim_due("w", t0(), t0() + Duration::seconds(60), 10).await.unwrap();
        let retry = Completion { outcome: Outcome::RetryAt(t0() + Duration::minutes(1)), ..succeeded(&c[1]) };
        let dead = Completion { outcome: Outcome::Dead { counts_as_failure: true }, ..succeeded(&c[2]) };
        s.complete("w", vec![succeeded(&c[0]), retry, dead], 1, t0()).await.unwrap();
        // Held from now on, for the endpoint disabled after failures.
        s.ingest_event(&one, event("scan.completed", None), t0()).await.unwrap();

        let expected =
            QueueDepth { due: 0, scheduled: 1, held: 1, dead: 1, disabled_by_failures: 1, disabled_by_user: 1 };
        assert_eq!(s.queue_depth(t0() + Duration::seconds(1)).await.unwrap(), expected, "{}", failing.id);
        let later = s.queue_depth(t0() + Duration::minutes(2)).await.unwrap();
        assert_eq!((later.due, later.scheduled), (1, 0), "{}: the retry is due", b.name);
    }
}
