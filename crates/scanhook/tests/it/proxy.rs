//! Outbound traffic is ours alone: proxy variables of the environment are ignored (a proxy
//! resolves names itself, past the SSRF guard); SCANHOOK_PROXY_URL is the one way through
//! a forward proxy, and then scanhook checks an endpoint's addresses before each attempt.

use std::net::ToSocketAddrs;
use std::sync::{Arc, Mutex};

use crate::common::{Receiver, Server};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A forward proxy on an ephemeral port: records the first request line of every
/// connection (`CONNECT host:port` or an absolute-form request), then relays it.
#[derive(Clone)]
struct Proxy {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    async fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Proxy { url: format!("http://{}", listener.local_addr().unwrap()), seen: Arc::default() };
        let seen = proxy.seen.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                tokio::spawn(relay(conn, seen.clone()));
            }
        });
        proxy
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

async fn relay(mut client: TcpStream, seen: Arc<Mutex<Vec<String>>>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        match client.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let line = text.lines().next().unwrap_or_default().to_string();
    seen.lock().unwrap().push(line.clone());
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let authority = if method == "CONNECT" {
        target.to_string()
    } else {
        let rest = target.strip_prefix("http://").unwrap_or(target);
        rest.split('/').next().unwrap_or_default().to_string()
    };
    let Ok(mut upstream) = TcpStream::connect(authority).await else { return };
    if method == "CONNECT" {
        let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await;
    } else if upstream.write_all(&head).await.is_err() {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

fn delivered(list: &serde_json::Value) -> bool {
    list["data"].as_array().is_some_and(|d| !d.is_empty() && d.iter().all(|d| d["status"] == "succeeded"))
}

#[tokio::test]
async fn proxy_variables_of_the_environment_are_ignored() {
    let proxy = Proxy::start().await;
    let vars = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"];
    let env: Vec<(&str, &str)> = vars.iter().map(|v| (*v, proxy.url.as_str())).collect();
    let server = Server::start(&env).await;
    let receiver = Receiver::start().await;
    let webhook = server.create_webhook(json!({"url": receiver.url, "events": ["*"]})).await;
    server.send_event("scan.completed", json!({})).await;
    receiver.wait_for(1, 10).await;
    let path = format!("/v1/deliveries?webhook_id={}", webhook["id"].as_str().unwrap());
    server.wait_until(&path, 10, delivered).await;
    assert_eq!(proxy.seen(), Vec::<String>::new(), "a delivery went through the environment's proxy");
}

#[tokio::test]
async fn scanhook_proxy_url_routes_every_delivery_through_the_proxy() {
    let proxy = Proxy::start().await;
    let server = Server::start(&[("SCANHOOK_PROXY_URL", proxy.url.as_str())]).await;
    let receiver = Receiver::start().await;
    let webhook = server.create_webhook(json!({"url": receiver.url, "events": ["*"]})).await;
    server.send_event("scan.completed", json!({})).await;
    let got = receiver.wait_for(1, 10).await;
    assert!(got[0].header("webhook-signature").starts_with("v1,"));
    let path = format!("/v1/deliveries?webhook_id={}", webhook["id"].as_str().unwrap());
    server.wait_until(&path, 10, delivered).await;
    assert_eq!(proxy.seen(), [format!("POST {} HTTP/1.1", receiver.url)]);
}

/// A name other than `localhost` that resolves to loopback here (this machine's own
/// name), to reach the guard's name check rather than its literal one.
fn loopback_name() -> Option<String> {
    let out = std::process::Command::new("hostname").output().ok()?;
    let name = String::from_utf8(out.stdout).ok()?.trim().to_string();
    let addrs: Vec<_> = (name.as_str(), 80).to_socket_addrs().ok()?.collect();
    (!name.is_empty() && name != "localhost" && !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()))
        .then_some(name)
}

#[tokio::test]
async fn through_a_proxy_a_name_of_a_private_address_is_still_refused() {
    let Some(name) = loopback_name() else {
        eprintln!("skipped: this machine's name does not resolve to loopback only");
        return;
    };
    let proxy = Proxy::start().await;
    let receiver = Receiver::start().await;
    let server = Server::start(&[
        ("SCANHOOK_PROXY_URL", proxy.url.as_str()),
        ("SCANHOOK_ALLOW_PRIVATE_NETWORKS", "false"),
        ("SCANHOOK_RETRY_SCHEDULE", "0s"),
    ])
    .await;
    let url = receiver.url.replace("127.0.0.1", &name);
    let webhook = server.create_webhook(json!({"url": url, "events": ["*"]})).await;
    server.send_event("scan.completed", json!({})).await;
    let path = format!("/v1/deliveries?webhook_id={}", webhook["id"].as_str().unwrap());
    let list = server.wait_until(&path, 10, |l| l["data"][0]["status"] == "dead").await;
    let error = list["data"][0]["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("a private or loopback address"), "{list}");
    assert!(proxy.seen().is_empty() && receiver.received().is_empty());
}

/// `validate: true` asks the endpoint with the delivery client: through the proxy, and
/// past the guard's name check first.
#[tokio::test]
async fn the_handshake_of_validate_follows_the_proxy_and_the_guard() {
    let proxy = Proxy::start().await;
    let receiver = Receiver::start().await;
    let server = Server::start(&[("SCANHOOK_PROXY_URL", proxy.url.as_str())]).await;
    let (code, problem) =
        server.post("/v1/webhooks", json!({"url": receiver.url, "events": ["*"], "validate": true})).await;
    assert_eq!(code, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "the receiver does not consent: {problem}");
    assert_eq!(proxy.seen(), [format!("OPTIONS {} HTTP/1.1", receiver.url)]);

    let Some(name) = loopback_name() else {
        eprintln!("skipped the guard half: this machine's name does not resolve to loopback only");
        return;
    };
    let proxy = Proxy::start().await;
    let guarded =
        Server::start(&[("SCANHOOK_PROXY_URL", proxy.url.as_str()), ("SCANHOOK_ALLOW_PRIVATE_NETWORKS", "false")])
            .await;
    let url = receiver.url.replace("127.0.0.1", &name);
    let (code, problem) = guarded.post("/v1/webhooks", json!({"url": url, "events": ["*"], "validate": true})).await;
    assert_eq!((code, problem["field"].as_str()), (reqwest::StatusCode::UNPROCESSABLE_ENTITY, Some("url")));
    assert!(problem["message"].as_str().unwrap().contains("a private or loopback address"), "{problem}");
    assert!(proxy.seen().is_empty());
}
