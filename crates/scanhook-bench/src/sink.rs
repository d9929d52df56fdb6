//! The receiving end: counts deliveries and records accept-to-arrival latency from the
//! envelope's timestamp (set by the server when it accepted the event).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

#[derive(Default)]
struct Shared {
    count: AtomicU64,
    /// Latency is measured only when asked for, so the throughput phase does not pay for
    /// parsing every body on the machine's shared cores.
    measuring: std::sync::atomic::AtomicBool,
    latencies_ms: Mutex<Vec<f64>>,
}

#[derive(Clone)]
pub struct Sink {
    pub url: String,
    shared: Arc<Shared>,
}

impl Sink {
    pub async fn start() -> anyhow::Result<Sink> {
        let shared = Arc::new(Shared::default());
        let state = shared.clone();
        let app = axum::Router::new().fallback(move |body: Bytes| {
            let state = state.clone();
            async move {
                let now = chrono::Utc::now();
                if state.measuring.load(Ordering::Relaxed)
                    && let Ok(envelope) = serde_json::from_slice::<serde_json::Value>(&body)
                    && let Some(ts) = envelope["timestamp"].as_str()
                    && let Ok(at) = chrono::DateTime::parse_from_rfc3339(ts)
                {
                    let ms = (now - at.with_timezone(&chrono::Utc)).num_microseconds().unwrap_or(0) as f64 / 1000.0;
                    state.latencies_ms.lock().unwrap_or_else(|p| p.into_inner()).push(ms);
                }
                state.count.fetch_add(1, Ordering::Relaxed);
                "ok"
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/sink", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Sink { url, shared })
    }

    pub fn count(&self) -> u64 {
        self.shared.count.load(Ordering::Relaxed)
    }

    /// Starts recording latencies from now on.
    pub fn measure_latency(&self) {
        self.shared.latencies_ms.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.shared.measuring.store(true, Ordering::Relaxed);
    }

    /// p50 and p99 of the recorded latencies, in milliseconds.
    pub fn percentiles(&self) -> (f64, f64) {
        let mut all = self.shared.latencies_ms.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if all.is_empty() {
            return (0.0, 0.0);
        }
        all.sort_by(|a, b| a.total_cmp(b));
        let at = |q: f64| all[((all.len() as f64 - 1.0) * q).round() as usize];
        (at(0.50), at(0.99))
    }
}
