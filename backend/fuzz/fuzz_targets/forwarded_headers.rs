//! `X-Forwarded-For` / `Forwarded` parsing and the rightmost-untrusted rule
//! (`security::client_ip`). Lines starting with `F:` are `Forwarded` values,
//! the others `X-Forwarded-For` values. Whatever the headers say, the client
//! is the peer or an address the headers named; an untrusted peer is always
//! itself, whichever header it writes; and a CIDR that parses prints as
//! text that parses to the same.
#![no_main]

use backend::security::client_ip::{forwarded_for, resolve_headers, x_forwarded_for, Cidr};
use libfuzzer_sys::fuzz_target;
use std::net::IpAddr;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (mut xff, mut fwd) = (Vec::new(), Vec::new());
    for line in text.lines() {
        match line.strip_prefix("F:") {
            Some(f) => fwd.push(f),
            None => xff.push(line),
        }
    }
    let named: Vec<_> = x_forwarded_for(&xff)
        .into_iter()
        .chain(forwarded_for(&fwd))
        .collect();
    let proxies = [
        Cidr::parse("10.0.0.0/8").expect("cidr"),
        Cidr::parse("fd00::/8").expect("cidr"),
    ];
    let trusted_peer: IpAddr = "10.1.2.3".parse().expect("ip");
    let client = resolve_headers(trusted_peer, &xff, &fwd, &proxies);
    assert!(client == trusted_peer || named.contains(&Some(client)));

    let stranger: IpAddr = "203.0.113.9".parse().expect("ip");
    assert_eq!(resolve_headers(stranger, &xff, &fwd, &proxies), stranger);

    for line in text.lines() {
        if let Some(cidr) = Cidr::parse(line) {
            assert_eq!(
                Cidr::parse(&cidr.to_string()).map(|c| c.to_string()),
                Some(cidr.to_string())
            );
        }
    }
});
