//! Which address a request comes from, when proxies may stand in front.
//!
//! By default the TCP peer is the client and forwarding headers are ignored
//! (a client could write anything there). Only when the peer is a trusted
//! proxy (`TRUSTED_PROXIES`, CIDR list) are `X-Forwarded-For` / `Forwarded`
//! read, from the right: each trusted hop is skipped and the first untrusted
//! address is the client. So a client cannot pick its own rate-limit bucket
//! or audit address by sending a header.

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::IpAddr;

/// An address range, `10.0.0.0/8` or `2001:db8::/32` (a bare address is /32 or /128).
///
/// An [`IpNet`] (the `ipnet` crate) with this app's reading of the text: host
/// bits are kept as written (`10.0.0.1/8` prints as such and contains what
/// `10.0.0.0/8` contains), and an IPv4-mapped IPv6 range of /96 or longer is
/// the IPv4 range it names.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Cidr(IpNet);

impl Cidr {
    pub fn parse(text: &str) -> Option<Self> {
        // The address and prefix are read by std, not by `IpNet::from_str`:
        // ipnet's own address parser accepts leading zeros (`010.0.0.0/8`),
        // which some tools read as octal; std refuses them, so a setting
        // cannot mean one range here and another elsewhere.
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, p.parse::<u8>().ok()?),
            None => {
                let a = text.trim().parse::<IpAddr>().ok()?;
                (a, if a.is_ipv4() { 32 } else { 128 })
            }
        };
        // Refuses a prefix longer than the address.
        let net = IpNet::new(addr, prefix).ok()?;
        // `::ffff:10.0.0.0/104` is written as IPv6 but names IPv4 addresses.
        match net {
            IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
                Some(v4) => Ipv4Net::new(v4, v6.prefix_len() - 96)
                    .ok()
                    .map(|n| Self(IpNet::V4(n))),
                None => Some(Self(net)),
            },
            _ => Some(Self(net)),
        }
    }

    /// Whether `ip` is in this range. An IPv4-mapped IPv6 address
    /// (`::ffff:10.0.0.1`, what a dual-stack socket reports for an IPv4
    /// peer) is its IPv4 address here, so `TRUSTED_PROXIES=10.0.0.0/8`
    /// means the same proxy on either kind of socket. (`IpNet::contains`
    /// masks the host bits of the range; a range never contains an
    /// address of the other family.)
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip.to_canonical())
    }
}

/// As the struct of address and prefix it was before `ipnet`, for logs.
impl std::fmt::Debug for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cidr")
            .field("network", &self.0.addr())
            .field("prefix", &self.0.prefix_len())
            .finish()
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `address/prefix`, host bits as written.
        write!(f, "{}", self.0)
    }
}

fn trusted(ip: IpAddr, proxies: &[Cidr]) -> bool {
    proxies.iter().any(|c| c.contains(ip))
}

/// The `for=` addresses of `Forwarded` values (RFC 7239), in order, left to
/// right. Unparseable entries (`unknown`, obfuscated names, garbage) are
/// `None`: they end the walk in [`resolve`].
pub fn forwarded_for(forwarded: &[&str]) -> Vec<Option<IpAddr>> {
    let mut chain = Vec::new();
    for value in forwarded {
        for element in value.split(',') {
            for pair in element.split(';') {
                if let Some((k, v)) = pair.trim().split_once('=') {
                    if k.trim().eq_ignore_ascii_case("for") {
                        let v = v.trim().trim_matches('"');
                        let v = v
                            .strip_prefix('[')
                            .and_then(|s| s.split(']').next())
                            .unwrap_or(v);
                        let v = if v.matches(':').count() == 1 {
                            v.split(':').next().unwrap_or(v)
                        } else {
                            v
                        };
                        chain.push(v.parse().ok());
                    }
                }
            }
        }
    }
    chain
}

/// The addresses of `X-Forwarded-For` values, in order, left to right.
pub fn x_forwarded_for(values: &[&str]) -> Vec<Option<IpAddr>> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().parse().ok())
        .collect()
}

/// The client address for a request from `peer` carrying these forwarding
/// headers.
///
/// Each header is walked on its own: a proxy appends to the one it writes,
/// and anything in the other one came from the client. Read as one chain,
/// a client could add `X-Forwarded-For: <any address>` beside the
/// `Forwarded` its proxy wrote and pick its own bucket (found by
/// `attacks::v2_anti_automation`). When both headers are present and name
/// different clients, neither is believed and the request counts as the
/// proxy's own (fail closed: a client cannot move itself into a fresh
/// bucket). Keycloak solves the same problem by making the operator choose
/// one header (`proxy-headers=forwarded|xforwarded`); here a proxy that
/// writes either one works without a setting, and a disagreement is never
/// resolved in the client's favour.
pub fn resolve_headers(
    peer: IpAddr,
    x_forwarded_for_values: &[&str],
    forwarded_values: &[&str],
    proxies: &[Cidr],
) -> IpAddr {
    let xff = x_forwarded_for(x_forwarded_for_values);
    let fwd = forwarded_for(forwarded_values);
    match (xff.is_empty(), fwd.is_empty()) {
        (true, true) => resolve(peer, &[], proxies),
        (false, true) => resolve(peer, &xff, proxies),
        (true, false) => resolve(peer, &fwd, proxies),
        (false, false) => {
            let (a, b) = (resolve(peer, &xff, proxies), resolve(peer, &fwd, proxies));
            if a == b {
                a
            } else {
                peer
            }
        }
    }
}

/// The client address for a request from `peer` carrying one header's
/// `chain`: walked from the right, each trusted hop is skipped and the
/// first untrusted address is the client.
pub fn resolve(peer: IpAddr, chain: &[Option<IpAddr>], proxies: &[Cidr]) -> IpAddr {
    if !trusted(peer, proxies) {
        return peer;
    }
    let mut client = peer;
    for hop in chain.iter().rev() {
        match hop {
            Some(ip) if trusted(*ip, proxies) => client = *ip,
            Some(ip) => return *ip,
            None => return client,
        }
    }
    client
}

/// The address a per-IP rate limit counts a client under: an IPv4 address
/// is itself; an IPv6 address is its network of the first `v6_prefix` bits
/// (`RATE_LIMIT_IPV6_PREFIX`, default 64). One subscriber or host holds a
/// whole /64 (RFC 6177; SLAAC privacy addresses, RFC 8981, change within
/// it at will), so keyed per address a single client would have 2^64
/// buckets. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is that IPv4
/// client.
pub fn bucket(ip: IpAddr, v6_prefix: u8) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Net::new_assert(v6, v6_prefix.min(128)).network()),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies() -> Vec<Cidr> {
        vec![
            Cidr::parse("10.0.0.0/8").unwrap(),
            Cidr::parse("::1").unwrap(),
        ]
    }

    #[test]
    fn cidrs_parse_and_match() {
        let c = Cidr::parse("192.168.1.0/24").unwrap();
        assert!(c.contains(ip("192.168.1.77")));
        assert!(!c.contains(ip("192.168.2.1")));
        assert!(!c.contains(ip("::1")));
        assert!(Cidr::parse("10.0.0.1").unwrap().contains(ip("10.0.0.1")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        for bad in ["", "10.0.0.0/33", "nonsense", "10.0.0/8"] {
            assert!(Cidr::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let chain = x_forwarded_for(&["1.2.3.4"]);
        assert_eq!(
            resolve(ip("198.51.100.7"), &chain, &proxies()),
            ip("198.51.100.7")
        );
        assert_eq!(resolve(ip("198.51.100.7"), &chain, &[]), ip("198.51.100.7"));
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_address_wins() {
        // client spoofs 1.1.1.1; the real client is 203.0.113.5; 10.0.0.2 is our proxy chain.
        let chain = x_forwarded_for(&["1.1.1.1, 203.0.113.5", "10.0.0.2"]);
        assert_eq!(
            resolve(ip("10.0.0.1"), &chain, &proxies()),
            ip("203.0.113.5")
        );
        let chain = forwarded_for(&["for=203.0.113.9;proto=https", "for=\"[2001:db8::1]:4711\""]);
        assert_eq!(resolve(ip("::1"), &chain, &proxies()), ip("2001:db8::1"));
        let chain = forwarded_for(&["for=198.51.100.4:8080"]);
        assert_eq!(
            resolve(ip("10.1.1.1"), &chain, &proxies()),
            ip("198.51.100.4")
        );
    }

    #[test]
    fn ipv6_clients_are_bucketed_by_their_network() {
        let b = |s: &str, p: u8| bucket(ip(s), p);
        assert_eq!(b("2001:db8:1:2::1", 64), ip("2001:db8:1:2::"));
        assert_eq!(
            b("2001:db8:1:2:ffff:ffff:ffff:ffff", 64),
            b("2001:db8:1:2::7", 64)
        );
        assert_ne!(b("2001:db8:1:2::1", 64), b("2001:db8:1:3::1", 64));
        assert_eq!(b("2001:db8:1:2ff::1", 56), ip("2001:db8:1:200::"));
        assert_eq!(b("2001:db8::1", 128), ip("2001:db8::1"));
        assert_eq!(b("2001:db8::1", 0), ip("::"));
        assert_eq!(b("2001:db8::1", 200), ip("2001:db8::1"), "capped at 128");
        // IPv4 is never grouped, mapped or not.
        assert_eq!(b("203.0.113.7", 64), ip("203.0.113.7"));
        assert_eq!(b("::ffff:203.0.113.7", 64), ip("203.0.113.7"));
        assert_ne!(b("203.0.113.7", 1), b("203.0.113.8", 1));
    }

    #[test]
    fn garbage_in_the_chain_stops_the_walk() {
        let chain = x_forwarded_for(&["203.0.113.5, not-an-ip"]);
        assert_eq!(resolve(ip("10.0.0.1"), &chain, &proxies()), ip("10.0.0.1"));
        // Only trusted hops: the leftmost of them.
        let chain = x_forwarded_for(&["10.0.0.9"]);
        assert_eq!(resolve(ip("10.0.0.1"), &chain, &proxies()), ip("10.0.0.9"));
    }

    #[test]
    fn each_header_is_walked_on_its_own_and_a_disagreement_is_the_proxy() {
        let p = proxies();
        let proxy = ip("10.0.0.1");
        // The proxy writes one header; the other one came from the client.
        assert_eq!(
            resolve_headers(proxy, &[], &["for=203.0.113.5"], &p),
            ip("203.0.113.5")
        );
        assert_eq!(
            resolve_headers(proxy, &["203.0.113.5"], &[], &p),
            ip("203.0.113.5")
        );
        // A client-written X-Forwarded-For beside the proxy's Forwarded (and
        // the other way round) does not name the client: the proxy does.
        assert_eq!(
            resolve_headers(proxy, &["198.51.100.99"], &["for=203.0.113.5"], &p),
            proxy
        );
        assert_eq!(
            resolve_headers(proxy, &["203.0.113.5"], &["for=198.51.100.99"], &p),
            proxy
        );
        // Both headers written by proxies that agree: that client.
        assert_eq!(
            resolve_headers(proxy, &["203.0.113.5"], &["for=203.0.113.5"], &p),
            ip("203.0.113.5")
        );
        // From an untrusted peer, neither header counts.
        let peer = ip("198.51.100.7");
        assert_eq!(
            resolve_headers(peer, &["1.2.3.4"], &["for=5.6.7.8"], &p),
            peer
        );
    }

    /// The hand-written range this module had before `ipnet`, kept to check
    /// that parsing, printing, matching and bucketing are unchanged.
    mod before_ipnet {
        use std::net::IpAddr;

        #[derive(Debug)]
        pub struct Cidr {
            pub network: IpAddr,
            pub prefix: u8,
        }

        pub fn parse(text: &str) -> Option<Cidr> {
            let (addr, prefix) = match text.trim().split_once('/') {
                Some((a, p)) => (a.parse::<IpAddr>().ok()?, p.parse::<u8>().ok()?),
                None => {
                    let a = text.trim().parse::<IpAddr>().ok()?;
                    (a, if a.is_ipv4() { 32 } else { 128 })
                }
            };
            let max = if addr.is_ipv4() { 32 } else { 128 };
            if prefix > max {
                return None;
            }
            match (addr, addr.to_canonical()) {
                (IpAddr::V6(_), v4 @ IpAddr::V4(_)) if prefix >= 96 => Some(Cidr {
                    network: v4,
                    prefix: prefix - 96,
                }),
                _ => Some(Cidr {
                    network: addr,
                    prefix,
                }),
            }
        }

        pub fn contains(c: &Cidr, ip: IpAddr) -> bool {
            match (c.network, ip.to_canonical()) {
                (IpAddr::V4(n), IpAddr::V4(a)) => {
                    let mask = u32::MAX.checked_shl(32 - u32::from(c.prefix)).unwrap_or(0);
                    u32::from(n) & mask == u32::from(a) & mask
                }
                (IpAddr::V6(n), IpAddr::V6(a)) => {
                    let mask = u128::MAX
                        .checked_shl(128 - u32::from(c.prefix))
                        .unwrap_or(0);
                    u128::from(n) & mask == u128::from(a) & mask
                }
                _ => false,
            }
        }

        pub fn bucket(ip: IpAddr, v6_prefix: u8) -> IpAddr {
            match ip.to_canonical() {
                IpAddr::V6(v6) => {
                    let bits = u32::from(v6_prefix.min(128));
                    let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                    IpAddr::V6((u128::from(v6) & mask).into())
                }
                v4 => v4,
            }
        }
    }

    #[test]
    fn ipnet_reads_matches_and_buckets_as_the_hand_written_code_did() {
        let texts = [
            "",
            " ",
            "/",
            "10.0.0.0/8",
            " 10.0.0.0/8 ",
            "10.0.0.1/8",
            "10.0.0.0/0",
            "10.0.0.0/32",
            "10.0.0.0/33",
            "10.0.0.0/255",
            "10.0.0.0/256",
            "10.0.0.0/-1",
            "10.0.0.0/+8",
            "10.0.0.0/08",
            "10.0.0.0/008",
            "010.0.0.0/8",
            "10.0.0.0/ 8",
            "10.0.0.0 /8",
            "10.0.0.0/8/8",
            "10.0.0/8",
            "10.0.0.1",
            "1.2.3.4/31",
            "255.255.255.255/1",
            "0.0.0.0/0",
            "::",
            "::/0",
            "::1",
            "::1/128",
            "::1/129",
            "2001:db8::/32",
            "2001:db8::1/32",
            "2001:db8::/0",
            "[::1]/128",
            "fe80::1%1/64",
            "::ffff:10.0.0.0/104",
            "::ffff:10.0.0.1/96",
            "::ffff:10.0.0.1/95",
            "::ffff:10.0.0.1/128",
            "::ffff:10.0.0.1",
            "::ffff:0:0/96",
            "::10.0.0.1/104",
            "64:ff9b::10.0.0.1/120",
            "nonsense",
            "10.0.0.0/8,",
            "1.2.3.4/24 ",
        ];
        let addrs: Vec<IpAddr> = [
            "0.0.0.0",
            "10.0.0.0",
            "10.0.0.1",
            "10.255.255.255",
            "11.0.0.0",
            "1.2.3.4",
            "1.2.3.5",
            "1.2.4.4",
            "127.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::2",
            "2001:db8::1",
            "2001:db8:ffff::1",
            "2001:db9::1",
            "::ffff:10.0.0.1",
            "::ffff:11.0.0.1",
            "::10.0.0.1",
            "64:ff9b::10.0.0.1",
            "fe80::1",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "::ffff:0.0.0.0",
        ]
        .iter()
        .map(|s| ip(s))
        .collect();
        for text in texts {
            let (old, new) = (before_ipnet::parse(text), Cidr::parse(text));
            assert_eq!(old.is_some(), new.is_some(), "{text:?}");
            let (Some(old), Some(new)) = (old, new) else {
                continue;
            };
            assert_eq!(format!("{}/{}", old.network, old.prefix), new.to_string());
            assert_eq!(format!("{old:?}"), format!("{new:?}"));
            for a in &addrs {
                assert_eq!(
                    before_ipnet::contains(&old, *a),
                    new.contains(*a),
                    "{text} {a}"
                );
            }
        }
        for a in &addrs {
            for p in [0, 1, 7, 8, 48, 56, 63, 64, 65, 96, 127, 128, 129, 200, 255] {
                assert_eq!(before_ipnet::bucket(*a, p), bucket(*a, p), "{a} {p}");
            }
        }
    }

    #[test]
    fn host_bits_in_a_range_are_kept_and_ignored_for_matching() {
        let c = Cidr::parse("10.1.2.3/8").unwrap();
        assert_eq!(c.to_string(), "10.1.2.3/8");
        assert_ne!(c, Cidr::parse("10.0.0.0/8").unwrap());
        assert!(c.contains(ip("10.200.0.1")));
        assert!(!c.contains(ip("11.0.0.1")));
        let c = Cidr::parse("2001:db8::1/32").unwrap();
        assert_eq!(c.to_string(), "2001:db8::1/32");
        assert!(c.contains(ip("2001:db8:ffff::9")));
    }

    #[test]
    fn a_trusted_proxy_is_trusted_on_a_dual_stack_socket_too() {
        let c = Cidr::parse("127.0.0.1/32").unwrap();
        assert!(c.contains(ip("::ffff:127.0.0.1")));
        assert!(!c.contains(ip("::ffff:127.0.0.2")));
        let mapped = Cidr::parse("::ffff:10.0.0.0/104").unwrap();
        assert_eq!(mapped, Cidr::parse("10.0.0.0/8").unwrap());
        assert!(mapped.contains(ip("10.9.9.9")));
        assert!(!Cidr::parse("::/0").unwrap().contains(ip("10.0.0.1")));
        assert_eq!(
            resolve_headers(ip("::ffff:127.0.0.1"), &["203.0.113.5"], &[], &[c]),
            ip("203.0.113.5")
        );
    }
}
