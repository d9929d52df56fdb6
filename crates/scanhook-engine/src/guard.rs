//! The SSRF guard on the delivery client: names resolve only to public addresses, so a
//! webhook cannot reach the server's own network — also when its DNS name changes to a
//! private address after the endpoint was created (DNS rebinding). IP literals never
//! reach a resolver; `Sender` checks those itself with `network::check_host`.

use std::net::SocketAddr;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use scanhook_core::network::is_public;

/// Resolves with the system resolver, then drops every non-public address.
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let public = public_addrs(name.as_str()).await?;
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// A name that resolves to no public address: typed, so the metrics can tell the guard's
/// refusals from other failures to connect.
#[derive(Debug)]
pub struct PrivateOnly(pub String);

impl std::fmt::Display for PrivateOnly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PrivateOnly {}

/// The public addresses `host` resolves to; an error when there are none.
pub async fn public_addrs(host: &str) -> Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
    let found: Vec<SocketAddr> = tokio::net::lookup_host((host, 0)).await?.collect();
    let public: Vec<SocketAddr> = found.into_iter().filter(|a| is_public(a.ip())).collect();
    if public.is_empty() {
        let message = format!(
            "{host} resolves only to private or loopback addresses, which endpoints may not use \
             (SCANHOOK_ALLOW_PRIVATE_NETWORKS=true allows them)"
        );
        return Err(Box::new(PrivateOnly(message)));
    }
    Ok(public)
}

/// Through a forward proxy no resolver of ours connects (the proxy resolves the name), so
/// the sender checks the name here before each attempt: every address it resolves to
/// must be public. The proxy resolves again, so a name re-pointed in between (DNS
/// rebinding) still gets through: the proxy's own egress rules are the last word.
pub async fn check_proxied(host: &str) -> Result<(), String> {
    let found: Vec<SocketAddr> =
        tokio::net::lookup_host((host, 0)).await.map_err(|e| format!("cannot resolve {host}: {e}"))?.collect();
    if let Some(private) = found.iter().find(|a| !is_public(a.ip())) {
        return Err(format!(
            "{host} resolves to {}, a private or loopback address, which endpoints may not use \
             (SCANHOOK_ALLOW_PRIVATE_NETWORKS=true allows them)",
            private.ip()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[tokio::test]
    async fn a_name_that_resolves_only_to_loopback_is_refused() {
        let name = Name::from_str("localhost").expect("a valid name");
        let refused = PublicOnly.resolve(name).await.err().expect("localhost resolves to loopback only");
        assert!(refused.to_string().contains("resolves only to private or loopback addresses"), "{refused}");
    }

    #[tokio::test]
    async fn a_proxied_name_with_any_private_address_is_refused() {
        let refused = check_proxied("localhost").await.expect_err("localhost resolves to loopback");
        assert!(refused.contains("a private or loopback address"), "{refused}");
    }
}
