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
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found.into_iter().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                let message = format!(
                    "{host} resolves only to private or loopback addresses, which endpoints may not use \
                     (SCANHOOK_ALLOW_PRIVATE_NETWORKS=true allows them)"
                );
                return Err(message.into());
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
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
}
