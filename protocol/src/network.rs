//! Where webhooks may go.
//!
//! By default no request leaves for an address in a special-purpose range (loopback,
//! private, CGNAT, link-local with the cloud metadata address, multicast, documentation,
//! IPv6 unique-local and link-local, ...), so an endpoint URL cannot reach into the network
//! `hookwired` runs in. Operators allow networks they need (a private deployment, tests) and
//! deny more; an endpoint's own lists only narrow further.
//!
//! Pure: callers resolve names and pass every address they will connect to.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::admin::AdminError;

/// The most networks one list may hold.
pub const MAX_NETWORKS: usize = 64;

/// Why an address may not be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocked {
    /// A special-purpose range no delivery reaches unless the operator allows it.
    Range(&'static str),
    /// In the operator's `deny_networks`.
    Denied,
    /// In the endpoint's `deny_networks`.
    EndpointDenied,
    /// Outside the endpoint's `allow_networks`.
    OutsideEndpointAllow,
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Range(range) => write!(f, "a {range} address"),
            Self::Denied => f.write_str("in the deployment's deny_networks"),
            Self::EndpointDenied => f.write_str("in the endpoint's deny_networks"),
            Self::OutsideEndpointAllow => f.write_str("outside the endpoint's allow_networks"),
        }
    }
}

/// Allowed and denied networks: the operator's for the deployment, or an endpoint's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkRules {
    /// Networks reachable even inside a special-purpose range (operator), or the only
    /// networks reachable (endpoint; empty means no narrowing).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allow_networks: Vec<IpNet>,
    /// Networks never reached; deny wins over allow.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deny_networks: Vec<IpNet>,
}

impl NetworkRules {
    /// No rules: the defaults alone.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.allow_networks.is_empty() && self.deny_networks.is_empty()
    }
}

/// Whether `ip` may be reached under the deployment's rules and then the endpoint's.
///
/// The address is taken in its canonical form first (an IPv4-mapped IPv6 address is its
/// IPv4 address), so a range cannot be reached through another spelling of it.
pub fn check(
    deployment: &NetworkRules,
    endpoint: &NetworkRules,
    ip: IpAddr,
) -> Result<(), Blocked> {
    let ip = ip.to_canonical();
    if contains(&endpoint.deny_networks, ip) {
        return Err(Blocked::EndpointDenied);
    }
    if !endpoint.allow_networks.is_empty() && !contains(&endpoint.allow_networks, ip) {
        return Err(Blocked::OutsideEndpointAllow);
    }
    check_deployment(deployment, ip)
}

fn check_deployment(rules: &NetworkRules, ip: IpAddr) -> Result<(), Blocked> {
    if contains(&rules.deny_networks, ip) {
        return Err(Blocked::Denied);
    }
    if contains(&rules.allow_networks, ip) {
        return Ok(());
    }
    if let IpAddr::V6(v6) = ip
        && let Some(embedded) = embedded_ipv4(v6)
    {
        // A translation prefix reaches the IPv4 address it carries: judge that one.
        return check_deployment(rules, IpAddr::V4(embedded));
    }
    match special_range(ip) {
        Some(range) => Err(Blocked::Range(range)),
        None => Ok(()),
    }
}

fn contains(networks: &[IpNet], ip: IpAddr) -> bool {
    networks.iter().any(|net| net.contains(&ip))
}

/// The IPv4 address inside a NAT64 (`64:ff9b::/96`) or 6to4 (`2002::/16`) address.
fn embedded_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let octets = ip.octets();
    let segments = ip.segments();
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(Ipv4Addr::new(
            octets[12], octets[13], octets[14], octets[15],
        ));
    }
    if segments[0] == 0x2002 {
        return Some(Ipv4Addr::new(octets[2], octets[3], octets[4], octets[5]));
    }
    None
}

/// The special-purpose range `ip` falls in, named for operators; `None` for a global address.
#[must_use]
pub fn special_range(ip: IpAddr) -> Option<&'static str> {
    match ip.to_canonical() {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        (0, ..) => "unspecified (0.0.0.0/8)",
        (10, ..) => "private (10.0.0.0/8)",
        (100, 64..=127, _) => "shared CGNAT (100.64.0.0/10)",
        (127, ..) => "loopback (127.0.0.0/8)",
        (169, 254, _) => "link-local (169.254.0.0/16, cloud metadata)",
        (172, 16..=31, _) => "private (172.16.0.0/12)",
        (192, 0, 0) => "IETF protocol assignment (192.0.0.0/24)",
        (192, 0, 2) => "documentation (192.0.2.0/24)",
        (192, 88, 99) => "6to4 relay (192.88.99.0/24)",
        (192, 168, _) => "private (192.168.0.0/16)",
        (198, 18..=19, _) => "benchmarking (198.18.0.0/15)",
        (198, 51, 100) => "documentation (198.51.100.0/24)",
        (203, 0, 113) => "documentation (203.0.113.0/24)",
        (224..=239, ..) => "multicast (224.0.0.0/4)",
        (240..=255, ..) => "reserved or broadcast (240.0.0.0/4)",
        _ => return None,
    })
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    Some(match s {
        [0, 0, 0, 0, 0, 0, 0, 0] => "unspecified (::)",
        [0, 0, 0, 0, 0, 0, 0, 1] => "loopback (::1)",
        [0, 0, 0, 0, 0, 0, ..] => "IPv4-compatible (::/96)",
        [0, 0, 0, 0, 0, 0xffff, ..] => "IPv4-mapped (::ffff:0:0/96)",
        [0x64, 0xff9b, 1, ..] => "local NAT64 (64:ff9b:1::/48)",
        [0x100, 0, 0, 0, ..] => "discard-only (100::/64)",
        [0x2001, 0, ..] => "Teredo (2001::/32)",
        [0x2001, 0xdb8, ..] => "documentation (2001:db8::/32)",
        [0x2001, 0x10..=0x2f, ..] => "ORCHID (2001:10::/28, 2001:20::/28)",
        [0x3fff, 0..=0x0fff, ..] => "documentation (3fff::/20)",
        [x, ..] if x & 0xfe00 == 0xfc00 => "unique local (fc00::/7)",
        [x, ..] if x & 0xffc0 == 0xfe80 => "link-local (fe80::/10)",
        [x, ..] if x & 0xffc0 == 0xfec0 => "site-local (fec0::/10)",
        [x, ..] if x & 0xff00 == 0xff00 => "multicast (ff00::/8)",
        _ => return None,
    })
}

/// Reads a list of networks (`10.0.0.0/8`, `fd00::/8`, or a single address) for `field`.
pub fn parse_networks(field: &str, texts: &[String]) -> Result<Vec<IpNet>, AdminError> {
    if texts.len() > MAX_NETWORKS {
        return Err(AdminError::invalid(
            field,
            format!("at most {MAX_NETWORKS} networks"),
        ));
    }
    let mut networks = texts
        .iter()
        .map(|text| parse_network(text).map_err(|message| AdminError::invalid(field, message)))
        .collect::<Result<Vec<_>, _>>()?;
    networks.sort_unstable();
    networks.dedup();
    Ok(networks)
}

/// One network in CIDR form, or an address taken as a one-address network.
pub fn parse_network(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    text.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("{text:?} is not a network (10.0.0.0/8, fd00::/8) or an address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("test addresses parse")
    }

    fn rules(allow: &[&str], deny: &[&str]) -> NetworkRules {
        let list = |texts: &[&str]| {
            texts
                .iter()
                .map(|t| parse_network(t).expect("test networks parse"))
                .collect()
        };
        NetworkRules {
            allow_networks: list(allow),
            deny_networks: list(deny),
        }
    }

    fn default_check(text: &str) -> Result<(), Blocked> {
        check(&NetworkRules::default(), &NetworkRules::default(), ip(text))
    }

    /// One address from inside every range blocked by default, v4 and v6, and the v6
    /// spellings that carry a v4 address.
    const BLOCKED: &[&str] = &[
        "0.0.0.0",
        "0.1.2.3",
        "10.0.0.1",
        "10.255.255.255",
        "100.64.0.1",
        "100.127.255.254",
        "127.0.0.1",
        "127.255.255.254",
        "169.254.169.254",
        "169.254.0.1",
        "172.16.0.1",
        "172.31.255.255",
        "192.0.0.8",
        "192.0.2.1",
        "192.88.99.1",
        "192.168.1.1",
        "198.18.0.1",
        "198.19.255.255",
        "198.51.100.7",
        "203.0.113.9",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "::",
        "::1",
        "::127.0.0.1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "::ffff:10.1.2.3",
        "64:ff9b::7f00:1",
        "64:ff9b::a9fe:a9fe",
        "64:ff9b:1::1",
        "2002:7f00:1::1",
        "2002:c0a8:101::1",
        "100::1",
        "2001::1",
        "2001:db8::1",
        "2001:10::1",
        "3fff::1",
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
        "febf::1",
        "fec0::1",
        "ff02::1",
        "ff05::1:3",
    ];

    const GLOBAL: &[&str] = &[
        "1.1.1.1",
        "8.8.8.8",
        "9.255.255.255",
        "11.0.0.0",
        "100.63.255.255",
        "100.128.0.0",
        "126.255.255.255",
        "128.0.0.1",
        "169.253.255.255",
        "172.15.255.255",
        "172.32.0.0",
        "192.0.1.1",
        "192.167.255.255",
        "198.17.255.255",
        "198.20.0.0",
        "223.255.255.255",
        "2606:4700:4700::1111",
        "2a00:1450::1",
        "64:ff9b::808:808",
        "2002:808:808::1",
        "::ffff:8.8.8.8",
    ];

    #[test]
    fn every_special_range_is_blocked_by_default() {
        for text in BLOCKED {
            assert!(
                matches!(default_check(text), Err(Blocked::Range(_))),
                "{text} should be blocked"
            );
        }
    }

    #[test]
    fn global_addresses_pass_by_default() {
        for text in GLOBAL {
            assert_eq!(default_check(text), Ok(()), "{text} should pass");
        }
    }

    #[test]
    fn the_metadata_address_is_named() {
        let Err(Blocked::Range(name)) = default_check("169.254.169.254") else {
            panic!("metadata address not blocked");
        };
        assert!(name.contains("metadata"), "{name}");
    }

    #[test]
    fn an_allowed_network_opens_a_range_in_every_spelling() {
        let deployment = rules(&["127.0.0.0/8"], &[]);
        let none = NetworkRules::default();
        for text in [
            "127.0.0.1",
            "::ffff:127.0.0.1",
            "64:ff9b::7f00:1",
            "2002:7f00:1::",
        ] {
            assert_eq!(check(&deployment, &none, ip(text)), Ok(()), "{text}");
        }
        assert!(check(&deployment, &none, ip("::1")).is_err());
        assert!(check(&deployment, &none, ip("10.0.0.1")).is_err());
    }

    #[test]
    fn deny_wins_over_allow_and_covers_global_addresses() {
        let deployment = rules(&["10.0.0.0/8"], &["10.9.0.0/16", "8.8.8.0/24"]);
        let none = NetworkRules::default();
        assert_eq!(check(&deployment, &none, ip("10.1.0.1")), Ok(()));
        assert_eq!(
            check(&deployment, &none, ip("10.9.0.1")),
            Err(Blocked::Denied)
        );
        assert_eq!(
            check(&deployment, &none, ip("8.8.8.8")),
            Err(Blocked::Denied)
        );
        assert_eq!(
            check(&deployment, &none, ip("::ffff:8.8.8.8")),
            Err(Blocked::Denied)
        );
    }

    #[test]
    fn endpoint_rules_narrow_but_never_widen() {
        let deployment = NetworkRules::default();
        let endpoint = rules(&["8.8.8.0/24", "127.0.0.0/8"], &["8.8.8.4"]);
        assert_eq!(check(&deployment, &endpoint, ip("8.8.8.8")), Ok(()));
        assert_eq!(
            check(&deployment, &endpoint, ip("8.8.8.4")),
            Err(Blocked::EndpointDenied)
        );
        assert_eq!(
            check(&deployment, &endpoint, ip("1.1.1.1")),
            Err(Blocked::OutsideEndpointAllow)
        );
        assert!(matches!(
            check(&deployment, &endpoint, ip("127.0.0.1")),
            Err(Blocked::Range(_))
        ));
    }

    #[test]
    fn networks_parse_normalized_and_bad_ones_name_the_field() {
        let parsed = parse_networks(
            "allow_networks",
            &[
                "10.1.2.3/8".into(),
                "192.0.2.1".into(),
                "10.0.0.0/8".into(),
                "fd00::/8".into(),
            ],
        )
        .expect("valid networks");
        let texts: Vec<String> = parsed.iter().map(ToString::to_string).collect();
        assert_eq!(texts, ["10.0.0.0/8", "192.0.2.1/32", "fd00::/8"]);
        let error =
            parse_networks("deny_networks", &["10.0.0.0/33".into()]).expect_err("prefix too long");
        assert_eq!(error.field.as_deref(), Some("deny_networks"));
        let many = vec!["10.0.0.0/8".to_owned(); MAX_NETWORKS + 1];
        assert!(parse_networks("allow_networks", &many).is_err());
        assert!(parse_network("example.com").is_err());
    }
}
