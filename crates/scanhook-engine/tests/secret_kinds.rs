//! A secret never signs under a scheme of the other kind, even when a row holds one (the
//! API refuses to store that; rows are written by other hands too): an Ed25519 key never
//! keys an HMAC, a shared secret never signs `v1a`. The attempt fails unsent, and says why.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use scanhook_core::format::{DeliveryFormat, Signature};
use scanhook_core::{EventType, ExtraHeaders, SecretKind, WebhookId, WebhookSecret, WebhookUrl};
use scanhook_engine::{Clock, DispatchConfig, Engine, IncomingEvent};
use scanhook_store::sqlite::SqliteStore;
use scanhook_store::{DeliveryFilter, NewWebhook, Page, Store};

struct PinnedClock(Mutex<DateTime<Utc>>);

impl Clock for PinnedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

#[tokio::test]
async fn a_secret_of_the_other_kind_never_signs() {
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    let app = axum::Router::new().fallback(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        async { axum::http::StatusCode::NO_CONTENT }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("kinds.db"), scanhook_store::SecretBox::random()).unwrap());
    let now = DateTime::from_timestamp(1_900_000_000, 0).unwrap();
    let config =
        DispatchConfig { allow_private_networks: true, timeout: Duration::from_secs(5), ..DispatchConfig::default() };
    let engine = Engine::new(store.clone(), config, Arc::new(PinnedClock(Mutex::new(now))));
    let dispatcher = engine.dispatcher("test-node".into()).unwrap();
    let (account, _) = store.ensure_default_account(now).await.unwrap();

    let key = WebhookSecret::generate_for(SecretKind::Ed25519);
    let shared = WebhookSecret::generate_for(SecretKind::Shared);
    let hmac =
        Signature::HmacSha256 { header: Some("X-Sig".into()), prefix: String::new(), encoding: Default::default() };
    for (signature, secret) in [
        (Signature::Standard, key.clone()),
        (hmac, key),
        (Signature::StandardEd25519, shared),
        (Signature::StandardEd25519, WebhookSecret::from_trusted("whsk_not-a-key".into())),
    ] {
        let webhook = NewWebhook {
            id: WebhookId::generate(),
            url: WebhookUrl::parse(&url).unwrap(),
            description: None,
            events: vec!["*".into()],
            secret,
            headers: ExtraHeaders::default(),
            active: true,
            projects: Vec::new(),
            min_severity: None,
            format: DeliveryFormat { signature, ..Default::default() },
        };
        store.create_webhook(&account.id, webhook, 10, now).await.unwrap();
    }
    let event = IncomingEvent {
        event_type: EventType::parse("scan.completed").unwrap(),
        data: "{}".into(),
        idempotency: None,
        target: None,
        scope: Default::default(),
    };
    engine.accept_event(&account.id, event).await.unwrap();

    assert_eq!(dispatcher.step().await.unwrap(), 4);
    let page = Page { limit: 10, cursor: None };
    let deliveries = store.list_deliveries(&account.id, DeliveryFilter::default(), page).await.unwrap().items;
    assert_eq!(deliveries.len(), 4);
    for d in &deliveries {
        let error = d.last_error.as_deref().unwrap_or_default();
        assert!(error.starts_with("no request was sent: the endpoint's secret"), "{error}");
        assert_eq!(d.last_status_code, None);
    }
    assert_eq!(received.load(Ordering::SeqCst), 0, "nothing was sent");
}
