//! The SSRF guard on the way out: every address a webhook connects to is checked against
//! the deployment's and the endpoint's network rules, after name resolution and by the
//! resolver the HTTP client connects with, so a name cannot resolve to one address for the
//! check and another for the connection.

use std::error::Error as StdError;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use hookwire_protocol::network::{self, Blocked, NetworkRules};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// A request refused because of where it would go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BlockedDestination {
    /// What was refused, for operators.
    pub message: String,
}

impl fmt::Display for BlockedDestination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for BlockedDestination {}

impl BlockedDestination {
    fn address(host: &str, ip: IpAddr, why: Blocked) -> Self {
        let hint = match why {
            Blocked::Range(_) => " (operators can open it with [outbound] allow_networks)",
            Blocked::Denied | Blocked::EndpointDenied | Blocked::OutsideEndpointAllow => "",
        };
        let message = if host == ip.to_string() {
            format!("blocked destination: {ip} is {why}{hint}")
        } else {
            format!("blocked destination: {host} resolves to {ip}, {why}{hint}")
        };
        Self { message }
    }
}

/// The deployment's rules with one endpoint's on top.
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    /// `[outbound]` rules, shared.
    pub deployment: Arc<NetworkRules>,
    /// The endpoint's narrowing.
    pub endpoint: NetworkRules,
}

impl Rules {
    /// Whether `ip`, reached as `host`, may be connected to.
    pub(crate) fn check(&self, host: &str, ip: IpAddr) -> Result<(), BlockedDestination> {
        network::check(&self.deployment, &self.endpoint, ip)
            .map_err(|why| BlockedDestination::address(host, ip, why))
    }

    /// Checks a URL's host when it is an address literal, which no resolver sees. A host
    /// name passes here and is checked when it resolves.
    pub(crate) fn check_literal(&self, url: &url::Url) -> Result<(), BlockedDestination> {
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
            _ => return Ok(()),
        };
        self.check(&ip.to_string(), ip)
    }
}

/// The resolver the HTTP client connects through: the system's, with every answer checked
/// and the blocked addresses removed. A name with no address left fails the request with
/// [`BlockedDestination`].
#[derive(Debug, Clone)]
pub(crate) struct GuardedResolver {
    rules: Rules,
}

impl GuardedResolver {
    /// A resolver that applies `rules`.
    #[must_use]
    pub(crate) fn new(rules: Rules) -> Self {
        Self { rules }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let rules = self.rules.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut first_refusal = None;
            let allowed: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|addr| match rules.check(&host, addr.ip()) {
                    Ok(()) => true,
                    Err(blocked) => {
                        first_refusal.get_or_insert(blocked);
                        false
                    }
                })
                .collect();
            match (allowed.is_empty(), first_refusal) {
                (true, Some(blocked)) => Err(Box::new(blocked) as Box<dyn StdError + Send + Sync>),
                _ => Ok(Box::new(allowed.into_iter()) as Addrs),
            }
        })
    }
}

/// The [`BlockedDestination`] somewhere in `error`'s chain of causes, if any.
#[must_use]
pub(crate) fn find_blocked<'a>(
    error: &'a (dyn StdError + 'static),
) -> Option<&'a BlockedDestination> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(blocked) = e.downcast_ref::<BlockedDestination>() {
            return Some(blocked);
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(allow: &[&str]) -> Rules {
        Rules {
            deployment: Arc::new(NetworkRules {
                allow_networks: allow
                    .iter()
                    .map(|t| network::parse_network(t).expect("test network"))
                    .collect(),
                deny_networks: Vec::new(),
            }),
            endpoint: NetworkRules::default(),
        }
    }

    fn name(text: &str) -> Name {
        text.parse().expect("a host name")
    }

    #[tokio::test]
    async fn localhost_resolves_to_nothing_by_default() {
        let resolver = GuardedResolver::new(rules(&[]));
        let error = resolver
            .resolve(name("localhost"))
            .await
            .err()
            .expect("localhost is blocked");
        let blocked = find_blocked(error.as_ref()).expect("a BlockedDestination");
        assert!(
            blocked.message.contains("localhost resolves to"),
            "{}",
            blocked.message
        );
        assert!(blocked.message.contains("loopback"), "{}", blocked.message);
    }

    #[tokio::test]
    async fn allowed_loopback_resolves() {
        let resolver = GuardedResolver::new(rules(&["127.0.0.0/8", "::1"]));
        let addrs: Vec<SocketAddr> = resolver
            .resolve(name("localhost"))
            .await
            .expect("allowed")
            .collect();
        assert!(!addrs.is_empty());
        assert!(addrs.iter().all(|a| a.ip().is_loopback()));
    }

    #[test]
    fn literal_hosts_are_checked_and_names_are_left_to_the_resolver() {
        let rules = rules(&[]);
        let url = |text: &str| url::Url::parse(text).expect("a URL");
        for blocked in [
            "http://127.0.0.1:8080/",
            "http://[::1]/",
            "http://[::ffff:169.254.169.254]/",
            "https://10.0.0.1/x",
        ] {
            let error = rules.check_literal(&url(blocked)).expect_err(blocked);
            assert!(error.message.starts_with("blocked destination"), "{error}");
        }
        assert!(rules.check_literal(&url("https://8.8.8.8/")).is_ok());
        assert!(rules.check_literal(&url("https://localhost/")).is_ok());
    }
}
