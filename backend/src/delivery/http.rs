//! Sending one webhook over HTTP and reporting what happened, facts only.

use std::collections::{BTreeMap, HashMap};
use std::error::Error as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hookwire_protocol::attempt::{ErrorKind, MAX_BODY_EXCERPT, ResponseRecord, body_excerpt};
use hookwire_protocol::endpoint::Endpoint;
use hookwire_protocol::network::NetworkRules;

use super::destination::{BlockedDestination, GuardedResolver, Rules, find_blocked};

/// The `user-agent` of every webhook.
pub const USER_AGENT: &str = concat!(
    "Hookwire/",
    env!("CARGO_PKG_VERSION"),
    " (+webhooks for NATS)"
);

/// What one request produced.
#[derive(Debug)]
pub struct Sent {
    /// The response, if one arrived.
    pub response: Option<ResponseRecord>,
    /// The raw `Retry-After` header, if any.
    pub retry_after: Option<String>,
    /// The failure, if the request failed before a response.
    pub error: Option<(ErrorKind, String)>,
    /// From sending to the end of the response or the failure.
    pub latency: Duration,
}

/// How webhooks leave: the `[outbound]` settings every request obeys.
#[derive(Debug, Clone, Default)]
pub struct Outbound {
    /// The deployment's network rules.
    pub rules: Arc<NetworkRules>,
    /// Refuse `http://` URLs.
    pub https_only: bool,
    /// Certificates trusted besides the system's roots (PEM).
    pub extra_roots: Vec<reqwest::Certificate>,
    /// The lowest TLS version offered.
    pub min_tls: Option<reqwest::tls::Version>,
}

/// The HTTP clients: pooled keep-alive connections, HTTP/1.1 and h2, no redirects, every
/// connection through the SSRF guard. Endpoints with network rules of their own get a
/// client resolving under those rules (shared by endpoints with equal rules).
#[derive(Clone)]
pub struct Sender {
    outbound: Arc<Outbound>,
    default: reqwest::Client,
    narrowed: Arc<Mutex<HashMap<NetworkRules, reqwest::Client>>>,
}

/// Clients kept for endpoint-specific rules before the cache starts over.
const MAX_NARROWED_CLIENTS: usize = 1024;

impl Sender {
    /// Clients obeying `outbound`.
    pub fn new(outbound: Outbound) -> Result<Self, reqwest::Error> {
        let outbound = Arc::new(outbound);
        let default = build_client(&outbound, NetworkRules::default())?;
        Ok(Self {
            outbound,
            default,
            narrowed: Arc::default(),
        })
    }

    /// Refuses what can be refused before any lookup: an `http://` URL under `https_only`
    /// and an address literal outside the rules. Endpoint changes are checked with it.
    pub fn check_url(&self, url: &str, endpoint: &NetworkRules) -> Result<(), BlockedDestination> {
        let url = url::Url::parse(url).map_err(|e| BlockedDestination {
            message: format!("not a valid URL: {e}"),
        })?;
        if self.outbound.https_only && url.scheme() != "https" {
            return Err(BlockedDestination {
                message: "blocked destination: this deployment is https_only; use an https:// URL"
                    .to_owned(),
            });
        }
        self.rules(endpoint).check_literal(&url)
    }

    fn rules(&self, endpoint: &NetworkRules) -> Rules {
        Rules {
            deployment: Arc::clone(&self.outbound.rules),
            endpoint: endpoint.clone(),
        }
    }

    fn client_for(&self, endpoint: &NetworkRules) -> Result<reqwest::Client, reqwest::Error> {
        if endpoint.is_empty() {
            return Ok(self.default.clone());
        }
        let mut narrowed = self
            .narrowed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(client) = narrowed.get(endpoint) {
            return Ok(client.clone());
        }
        if narrowed.len() >= MAX_NARROWED_CLIENTS {
            narrowed.clear();
        }
        let client = build_client(&self.outbound, endpoint.clone())?;
        narrowed.insert(endpoint.clone(), client.clone());
        Ok(client)
    }

    /// POSTs `body` with `headers` to the endpoint's URL under its network rules, giving up
    /// after its timeout.
    pub async fn post(
        &self,
        endpoint: &Endpoint,
        headers: reqwest::header::HeaderMap,
        body: Bytes,
    ) -> Sent {
        let started = Instant::now();
        let (url, network) = (endpoint.url.as_str(), &endpoint.network);
        let timeout = Duration::from_millis(u64::from(endpoint.timeout_ms));
        let client = match self
            .check_url(url, network)
            .map_err(|blocked| (ErrorKind::BlockedDestination, blocked.message))
            .and_then(|()| self.client_for(network).map_err(|e| classify(&e)))
        {
            Ok(client) => client,
            Err(error) => {
                return Sent {
                    response: None,
                    retry_after: None,
                    error: Some(error),
                    latency: started.elapsed(),
                };
            }
        };
        let result = tokio::time::timeout(timeout, async {
            let response = client.post(url).headers(headers).body(body).send().await?;
            let status = response.status().as_u16();
            let response_headers: BTreeMap<String, String> = response
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let body = read_excerpt(response).await;
            Ok::<_, reqwest::Error>((status, response_headers, body))
        })
        .await;
        let latency = started.elapsed();
        match result {
            Ok(Ok((status, headers, body))) => Sent {
                retry_after: headers.get("retry-after").cloned(),
                response: Some(ResponseRecord {
                    status,
                    headers,
                    body,
                }),
                error: None,
                latency,
            },
            Ok(Err(e)) => Sent {
                response: None,
                retry_after: None,
                error: Some(classify(&e)),
                latency,
            },
            Err(_) => Sent {
                response: None,
                retry_after: None,
                error: Some((
                    ErrorKind::Timeout,
                    format!("no response within {} ms", timeout.as_millis()),
                )),
                latency,
            },
        }
    }
}

fn build_client(
    outbound: &Outbound,
    endpoint: NetworkRules,
) -> Result<reqwest::Client, reqwest::Error> {
    let resolver = GuardedResolver::new(Rules {
        deployment: Arc::clone(&outbound.rules),
        endpoint,
    });
    let mut builder = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(resolver)
        .https_only(outbound.https_only)
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(256)
        .connect_timeout(Duration::from_secs(10))
        .tcp_nodelay(true);
    if !outbound.extra_roots.is_empty() {
        builder = builder.tls_certs_merge(outbound.extra_roots.iter().cloned());
    }
    if let Some(version) = outbound.min_tls {
        builder = builder.tls_version_min(version);
    }
    builder.build()
}

/// The body's first [`MAX_BODY_EXCERPT`] bytes; the rest is not read.
async fn read_excerpt(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < MAX_BODY_EXCERPT {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    body_excerpt(&body)
}

/// Names a request failure from the error and its causes.
fn classify(error: &reqwest::Error) -> (ErrorKind, String) {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    if let Some(blocked) = find_blocked(error) {
        return (ErrorKind::BlockedDestination, blocked.message.clone());
    }
    let lower = chain.to_ascii_lowercase();
    let kind = if error.is_timeout() {
        ErrorKind::Timeout
    } else if lower.contains("dns error") || lower.contains("failed to lookup address") {
        ErrorKind::Dns
    } else if ["certificate", "tls", "handshake", "fatal alert"]
        .iter()
        .any(|word| lower.contains(word))
    {
        ErrorKind::Tls
    } else if error.is_connect()
        || lower.contains("connection reset")
        || lower.contains("connection closed")
    {
        ErrorKind::Connect
    } else {
        ErrorKind::Request
    };
    (kind, chain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_only_refuses_plain_http_before_any_lookup() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let sender = Sender::new(Outbound {
            https_only: true,
            ..Outbound::default()
        })
        .expect("a client builds");
        let none = NetworkRules::default();
        let refused = sender
            .check_url("http://example.com/hook", &none)
            .expect_err("http refused");
        assert!(refused.message.contains("https_only"), "{refused}");
        assert!(sender.check_url("https://example.com/hook", &none).is_ok());
        assert!(sender.check_url("https://127.0.0.1/hook", &none).is_err());
    }
}
