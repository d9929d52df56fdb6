//! The receiving end: a bare hyper HTTP/1 server (the cheapest receiver, so the machine's
//! cores go to the server under test) that counts deliveries, each delivery ID
//! (`X-Scanhook-Delivery`) once, counts the ones that arrive again as duplicates, and,
//! while measuring, records accept-to-arrival latency from the envelope's timestamp (set
//! when the event was stored).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

#[derive(Default)]
struct Shared {
    count: AtomicU64,
    duplicates: AtomicU64,
    seen: Mutex<HashSet<Box<str>>>,
    measuring: AtomicBool,
    latencies_ms: Mutex<Vec<f64>>,
}

#[derive(Clone)]
pub struct Sink {
    pub url: String,
    shared: Arc<Shared>,
}

impl Shared {
    fn record(&self, delivery: Option<&str>, body: &[u8]) {
        if let Some(id) = delivery
            && !self.seen.lock().unwrap_or_else(|p| p.into_inner()).insert(id.into())
        {
            self.duplicates.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if self.measuring.load(Ordering::Relaxed) {
            let now = chrono::Utc::now();
            if let Ok(envelope) = serde_json::from_slice::<serde_json::Value>(body)
                && let Some(ts) = envelope["timestamp"].as_str()
                && let Ok(at) = chrono::DateTime::parse_from_rfc3339(ts)
            {
                let ms = (now - at.with_timezone(&chrono::Utc)).num_microseconds().unwrap_or(0) as f64 / 1000.0;
                self.latencies_ms.lock().unwrap_or_else(|p| p.into_inner()).push(ms);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

impl Sink {
    pub async fn start() -> anyhow::Result<Sink> {
        let shared = Arc::new(Shared::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/sink", listener.local_addr()?);
        let state = shared.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let state = state.clone();
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let state = state.clone();
                    async move {
                        let delivery = req.headers().get("x-scanhook-delivery").cloned();
                        // Elsewhere than /sink (an OTLP export, `--otlp`) an empty answer: an
                        // empty export response in protobuf.
                        let answer: &'static [u8] = if req.uri().path() == "/sink" { b"ok" } else { b"" };
                        let body = req.into_body().collect().await?.to_bytes();
                        state.record(delivery.as_ref().and_then(|v| v.to_str().ok()), &body);
                        Ok::<_, hyper::Error>(Response::new(Full::new(Bytes::from_static(answer))))
                    }
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        Ok(Sink { url, shared })
    }

    pub fn count(&self) -> u64 {
        self.shared.count.load(Ordering::Relaxed)
    }

    /// Deliveries that arrived again (an ID already counted).
    pub fn duplicates(&self) -> u64 {
        self.shared.duplicates.load(Ordering::Relaxed)
    }

    /// Starts recording latencies from now on, forgetting the ones recorded so far.
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
