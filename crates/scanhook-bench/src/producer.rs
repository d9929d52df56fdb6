//! The load generator: each producer holds one keep-alive HTTP/1 connection to the server
//! and sends a pre-serialised event (or batch of events, `--batch`) over it, so producing
//! costs the machine as little as possible (the figures are the server's, not the
//! generator's). The ceiling phase (`ceiling.rs`) posts to the sink with the same producers.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;

pub struct Producer {
    sender: SendRequest<Full<Bytes>>,
    host: String,
    auth: String,
    body: Bytes,
}

impl Producer {
    /// Connects to `addr` (`host:port`); every event it sends has this body.
    pub async fn connect(addr: &str, key: &str, body: Bytes) -> anyhow::Result<Producer> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(Producer { sender, host: addr.to_string(), auth: format!("Bearer {key}"), body })
    }

    /// Sends one event; true if the server answered 202.
    pub async fn send(&mut self) -> bool {
        let body = self.body.clone();
        self.send_to("/v1/events", body, None).await
    }

    /// Sends `body`, a batch of `events` events, to `POST /v1/events/batch`; true if every
    /// one was accepted.
    pub async fn send_batch(&mut self, body: Bytes, events: usize) -> bool {
        self.send_to("/v1/events/batch", body, Some(events)).await
    }

    /// POSTs `body` to `uri`: a single event must get 202; a batch 200 with `batch` results
    /// of 202 (counted in the answer's bytes, so checking costs the generator little).
    async fn send_to(&mut self, uri: &str, body: Bytes, batch: Option<usize>) -> bool {
        match (self.post(uri, body, None).await, batch) {
            (Some((status, _)), None) => status == 202,
            (Some((status, answer)), Some(events)) => status == 200 && accepted_in(&answer) == events,
            (None, _) => false,
        }
    }

    /// POSTs `body` to `uri` with one more header, if given; the answer's status and body
    /// (`None` if the connection failed).
    pub async fn post(&mut self, uri: &str, body: Bytes, header: Option<(&str, &str)>) -> Option<(u16, Bytes)> {
        self.sender.ready().await.ok()?;
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(HOST, &self.host)
            .header(AUTHORIZATION, &self.auth)
            .header(CONTENT_TYPE, "application/json");
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        let response = self.sender.send_request(request.body(Full::new(body)).ok()?).await.ok()?;
        let status = response.status().as_u16();
        let answer = response.into_body().collect().await.ok()?.to_bytes();
        Some((status, answer))
    }
}

/// How many results of a batch's answer say 202.
pub fn accepted_in(answer: &[u8]) -> usize {
    let needle = b"\"status\":202";
    answer.windows(needle.len()).filter(|w| w == needle).count()
}
