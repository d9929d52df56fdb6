//! The dispatcher driven step by step with a pinned clock: retries land on the schedule,
//! nothing is attempted before it is due, and outcomes reach the store.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use scanhook_core::{EventType, ExtraHeaders, RetrySchedule, WebhookId, WebhookSecret, WebhookUrl};
use scanhook_engine::{Clock, DispatchConfig, Engine, IncomingEvent};
use scanhook_store::sqlite::SqliteStore;
use scanhook_store::{DeliveryFilter, NewWebhook, Page, Store};

struct PinnedClock(Mutex<DateTime<Utc>>);

impl PinnedClock {
    fn advance(&self, by: chrono::Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for PinnedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// A receiver that answers the statuses in `script`, then 200.
async fn receiver(script: Vec<u16>) -> String {
    let script = Arc::new(Mutex::new(script.into_iter()));
    let app = axum::Router::new().fallback(move || {
        let next = script.lock().unwrap().next().unwrap_or(200);
        async move { axum::http::StatusCode::from_u16(next).unwrap() }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn a_failed_attempt_waits_for_its_schedule_then_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("step.db"), scanhook_store::SecretBox::random()).unwrap());
    let start = DateTime::from_timestamp(1_900_000_000, 0).unwrap();
    let clock = Arc::new(PinnedClock(Mutex::new(start)));
    let config = DispatchConfig {
        retry: RetrySchedule::parse("0s,1m").unwrap(),
        timeout: Duration::from_secs(5),
        // The receiver is on loopback.
        allow_private_networks: true,
        ..DispatchConfig::default()
    };
    let engine = Engine::new(store.clone(), config, clock.clone());
    let dispatcher = engine.dispatcher("test-node".into()).unwrap();

    let (account, _) = store.ensure_default_account(start).await.unwrap();
    let webhook = NewWebhook {
        id: WebhookId::generate(),
        url: WebhookUrl::parse(&receiver(vec![503]).await).unwrap(),
        description: None,
        events: vec!["scan.*".into()],
        secret: WebhookSecret::generate(),
        headers: ExtraHeaders::default(),
        active: true,
        projects: Vec::new(),
        min_severity: None,
        format: Default::default(),
    };
    store.create_webhook(&account.id, webhook, 10, start).await.unwrap();
    let event = IncomingEvent {
        event_type: EventType::parse("scan.completed").unwrap(),
        data: "{}".into(),
        idempotency: None,
        target: None,
        scope: Default::default(),
    };
    engine.accept_event(&account.id, event).await.unwrap();
    let delivery = || async {
        let page = Page { limit: 1, cursor: None };
        store.list_deliveries(&account.id, DeliveryFilter::default(), page).await.unwrap().items.remove(0)
    };

    assert_eq!(dispatcher.step().await.unwrap(), 1, "due at once");
    let d = delivery().await;
    assert_eq!((d.status.as_str(), d.attempt_count, d.last_status_code), ("pending", 1, Some(503)));
    let next = d.next_attempt_at.unwrap();
    let (earliest, latest) = (start + chrono::Duration::seconds(54), start + chrono::Duration::seconds(66));
    assert!(next >= earliest && next <= latest, "the 1m retry with ±10 % jitter, got {next}");

    clock.advance(chrono::Duration::seconds(50));
    assert_eq!(dispatcher.step().await.unwrap(), 0, "nothing is attempted before it is due");
    clock.advance(chrono::Duration::seconds(20));
    assert_eq!(dispatcher.step().await.unwrap(), 1);
    let d = delivery().await;
    assert_eq!((d.status.as_str(), d.attempt_count, d.last_status_code), ("succeeded", 2, Some(200)));
}
