//! The load generator: each producer holds one keep-alive HTTP/1 connection to the server
//! and sends a pre-serialised event over it, so producing costs the machine as little as
//! possible (the figures are the server's, not the generator's).

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
        if self.sender.ready().await.is_err() {
            return false;
        }
        let request = Request::builder()
            .method(Method::POST)
            .uri("/v1/events")
            .header(HOST, &self.host)
            .header(AUTHORIZATION, &self.auth)
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(self.body.clone()));
        let Ok(request) = request else { return false };
        match self.sender.send_request(request).await {
            Ok(response) => {
                let accepted = response.status().as_u16() == 202;
                accepted && response.into_body().collect().await.is_ok()
            }
            Err(_) => false,
        }
    }
}
