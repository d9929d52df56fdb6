//! A real HTTP receiver on an ephemeral port: records every request and answers from a
//! script (status codes, delays and `Retry-After`), then with 200.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use tokio::sync::Notify;

#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
    /// When it arrived.
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Reply {
    pub status: u16,
    pub delay: Duration,
    pub retry_after: Option<RetryAfter>,
}

/// A `Retry-After` header of an answer.
#[derive(Clone, Copy, Debug)]
pub enum RetryAfter {
    /// This value, as it is.
    Value(&'static str),
    /// An HTTP date (IMF-fixdate) this long after the answer.
    DateIn(Duration),
}

impl RetryAfter {
    fn value(self) -> String {
        match self {
            Self::Value(v) => v.to_string(),
            Self::DateIn(wait) => (chrono::Utc::now() + wait).format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        }
    }
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    script: Mutex<VecDeque<Reply>>,
    fallback: Mutex<Option<Reply>>,
    arrived: Notify,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    shared: Arc<Shared>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let shared = Arc::new(Shared::default());
        let state = shared.clone();
        let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
            let state = state.clone();
            async move {
                let reply = state.script.lock().unwrap().pop_front();
                let reply = reply.or(*state.fallback.lock().unwrap()).unwrap_or(status(200));
                // Recorded on arrival: a request the sender gives up on still counts.
                state.received.lock().unwrap().push(Received { headers, body, at: Instant::now() });
                state.arrived.notify_waiters();
                if !reply.delay.is_zero() {
                    tokio::time::sleep(reply.delay).await;
                }
                let mut answer = HeaderMap::new();
                if let Some(after) = reply.retry_after {
                    answer.insert("retry-after", after.value().parse().unwrap());
                }
                (StatusCode::from_u16(reply.status).unwrap(), answer, "received")
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind receiver");
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, shared }
    }

    /// The next requests get these answers, in order.
    pub fn script(&self, replies: &[Reply]) {
        self.shared.script.lock().unwrap().extend(replies.iter().copied());
    }

    /// Every request after the script gets this answer.
    pub fn always(&self, reply: Reply) {
        *self.shared.fallback.lock().unwrap() = Some(reply);
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests arrived, or panics after `secs` seconds.
    pub async fn wait_for(&self, n: usize, secs: u64) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let notified = self.shared.arrived.notified();
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("expected {n} requests at the receiver, got {}", self.received().len());
            }
        }
    }
}

/// An answer with `code` and a `Retry-After` header.
pub fn retry_after(code: u16, after: RetryAfter) -> Reply {
    Reply { retry_after: Some(after), ..status(code) }
}

pub fn status(code: u16) -> Reply {
    Reply { status: code, delay: Duration::ZERO, retry_after: None }
}
