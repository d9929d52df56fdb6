//! Which addresses a delivery may reach. Webhook URLs come from API users; without a
//! guard, one could point an endpoint at the server's own network (a database, a cloud
//! metadata service at 169.254.169.254) and read the answers in the delivery log.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::Invalid;

/// Whether `ip` is an address on the public internet: not loopback, private, link-local,
/// shared (CGNAT), multicast, documentation, benchmarking or otherwise reserved. IPv6
/// addresses that embed an IPv4 one (mapped, compatible, NAT64) are judged by it.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0                                // "this network"
        || (a == 100 && (64..128).contains(&b))  // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0)        // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19))    // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    // IPv4-compatible (::a.b.c.d, deprecated) and NAT64 (64:ff9b::a.b.c.d).
    let embedded =
        Ipv4Addr::new((segments[6] >> 8) as u8, segments[6] as u8, (segments[7] >> 8) as u8, segments[7] as u8);
    if segments[..6] == [0; 6] && !ip.is_unspecified() && !ip.is_loopback() {
        return is_public_v4(embedded);
    }
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(embedded);
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (segments[0] & 0xfe00) == 0xfc00  // unique local
        || (segments[0] & 0xffc0) == 0xfe80  // link-local
        || (segments[0] & 0xffc0) == 0xfec0  // site-local (deprecated)
        || (segments[0] == 0x2001 && segments[1] == 0x0db8)) // documentation
}

/// Refuses a URL host that names a non-public address outright (an IP literal or
/// `localhost`). Names are checked again when they are resolved, for every attempt.
pub fn check_host(host: &str) -> Result<(), Invalid> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let local_name = {
        let name = bare.trim_end_matches('.').to_ascii_lowercase();
        name == "localhost" || name.ends_with(".localhost")
    };
    let private_ip = bare.parse::<IpAddr>().is_ok_and(|ip| !is_public(ip));
    if local_name || private_ip {
        return Err(Invalid::new(format!(
            "'{host}' is a private or loopback address; endpoints must be on the public internet \
             (SCANHOOK_ALLOW_PRIVATE_NETWORKS=true allows them)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "198.18.0.1",
            "192.0.0.8",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "::127.0.0.1",
            "2001:db8::1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn hosts_naming_local_addresses_are_refused() {
        for host in ["localhost", "LOCALHOST.", "api.localhost", "127.0.0.1", "[::1]", "169.254.169.254"] {
            assert!(check_host(host).is_err(), "{host}");
        }
        for host in ["example.com", "8.8.8.8", "[2606:4700::1111]", "localhost.example.com"] {
            assert!(check_host(host).is_ok(), "{host}");
        }
    }
}
