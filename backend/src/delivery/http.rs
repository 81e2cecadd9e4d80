//! Sending one webhook over HTTP and reporting what happened, facts only.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hookwire_protocol::attempt::{ErrorKind, MAX_BODY_EXCERPT, ResponseRecord, body_excerpt};
use hookwire_protocol::auth::{Auth, ClientCertificate};
use hookwire_protocol::network::NetworkRules;
use reqwest::header::{AUTHORIZATION, CONTENT_ENCODING, HeaderMap, HeaderValue};

use super::causes;
use super::destination::{BlockedDestination, GuardedResolver, Rules, find_blocked};
use super::oauth::{ClientCredentials, Tokens};
use super::relay::Relay;
use crate::registry::LiveEndpoint;

/// The `user-agent` of every webhook.
pub(crate) const USER_AGENT: &str = concat!(
    "Hookwire/",
    env!("CARGO_PKG_VERSION"),
    " (+webhooks for NATS)"
);

/// What one request produced.
#[derive(Debug)]
pub(crate) struct Sent {
    /// The headers sent (with the authentication, if any).
    pub request_headers: HeaderMap,
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
/// connection through the SSRF guard. Endpoints with network rules or a client certificate
/// of their own get a client of their own (shared by endpoints with equal ones).
#[derive(Clone)]
pub(crate) struct Sender {
    outbound: Arc<Outbound>,
    default: reqwest::Client,
    special: Arc<Mutex<HashMap<ClientKey, reqwest::Client>>>,
    tokens: Arc<Tokens>,
    relay: Option<Relay>,
}

/// What makes an endpoint's client differ from the default one.
#[derive(PartialEq, Eq, Hash)]
struct ClientKey {
    network: NetworkRules,
    certificate: Option<ClientCertificate>,
}

/// Clients kept for endpoint-specific settings before the cache starts over.
const MAX_SPECIAL_CLIENTS: usize = 1024;

/// Checks that a client certificate chain and its key load and belong together.
pub(crate) fn check_identity(certificate: &ClientCertificate) -> Result<(), String> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_slice_iter(certificate.certificate.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the certificate is not valid PEM: {e}"))?;
    let key = PrivateKeyDer::from_pem_slice(certificate.private_key.as_bytes())
        .map_err(|e| format!("the private key is not valid PEM: {e}"))?;
    let provider = rustls::crypto::ring::default_provider();
    rustls::sign::CertifiedKey::from_der(chain, key, &provider)
        .map_err(|e| format!("the key does not load or does not match the certificate: {e}"))?;
    identity(certificate).map_err(|e| e.to_string())?;
    Ok(())
}

/// Loads a client certificate and its key for mutual TLS.
fn identity(certificate: &ClientCertificate) -> Result<reqwest::Identity, reqwest::Error> {
    let pem = format!(
        "{}\n{}",
        certificate.certificate.trim_end(),
        certificate.private_key
    );
    reqwest::Identity::from_pem(pem.as_bytes())
}

impl Sender {
    /// Clients obeying `outbound`.
    pub(crate) fn new(outbound: Outbound) -> Result<Self, reqwest::Error> {
        let outbound = Arc::new(outbound);
        let default = build_client(&outbound, NetworkRules::default(), None)?;
        Ok(Self {
            outbound,
            default,
            special: Arc::default(),
            tokens: Arc::default(),
            relay: None,
        })
    }

    /// The same clients, with the webhooks of endpoints with `listen` on going through
    /// `relay`.
    pub(crate) fn relaying(self, relay: Relay) -> Self {
        Self {
            relay: Some(relay),
            ..self
        }
    }

    /// Refuses what can be refused before any lookup: an `http://` URL under `https_only`
    /// and an address literal outside the rules. Endpoint changes are checked with it.
    pub(crate) fn check_url(
        &self,
        url: &str,
        endpoint: &NetworkRules,
    ) -> Result<(), BlockedDestination> {
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

    fn client_for(&self, endpoint: &LiveEndpoint) -> Result<reqwest::Client, reqwest::Error> {
        let network = &endpoint.endpoint.network;
        let certificate = endpoint.credentials.client_certificate.as_ref();
        if network.is_empty() && certificate.is_none() {
            return Ok(self.default.clone());
        }
        let key = ClientKey {
            network: network.clone(),
            certificate: certificate.cloned(),
        };
        let mut special = self
            .special
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(client) = special.get(&key) {
            return Ok(client.clone());
        }
        if special.len() >= MAX_SPECIAL_CLIENTS {
            special.clear();
        }
        let client = build_client(&self.outbound, network.clone(), certificate)?;
        special.insert(key, client.clone());
        Ok(client)
    }

    /// The `Authorization` value the endpoint's credentials call for, if any.
    async fn authorization(
        &self,
        client: &reqwest::Client,
        endpoint: &LiveEndpoint,
        timeout: Duration,
    ) -> Result<Option<HeaderValue>, (ErrorKind, String)> {
        let text = match &endpoint.credentials.auth {
            None => return Ok(None),
            Some(Auth::Bearer { token }) => format!("Bearer {token}"),
            Some(Auth::Basic { username, password }) => {
                use base64::Engine as _;
                let pair = format!("{username}:{password}");
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                )
            }
            Some(
                auth @ Auth::Oauth2 {
                    token_url,
                    client_id,
                    client_secret,
                    scope,
                    audience,
                },
            ) => {
                let credentials = ClientCredentials {
                    token_url,
                    client_id,
                    client_secret,
                    scope: scope.as_deref(),
                    audience: audience.as_deref(),
                };
                let token = self
                    .tokens
                    .access_token(client, auth, &credentials, timeout, || {
                        self.check_url(token_url, &endpoint.endpoint.network)
                            .map_err(|blocked| (ErrorKind::BlockedDestination, blocked.message))
                    })
                    .await?;
                format!("Bearer {token}")
            }
        };
        let mut value = HeaderValue::try_from(text).map_err(|_| {
            (
                ErrorKind::Auth,
                "the credentials are not valid header text".to_owned(),
            )
        })?;
        value.set_sensitive(true);
        Ok(Some(value))
    }

    /// POSTs `body` with `headers` and the endpoint's authentication to its URL under its
    /// network rules, giving up after its timeout; with `listen` on, relays them to
    /// `hookwire listen` instead, without the authentication (its credentials are the
    /// URL's receiver's, not the developer's).
    pub(crate) async fn post(
        &self,
        endpoint: &LiveEndpoint,
        headers: HeaderMap,
        body: Bytes,
    ) -> Sent {
        match (&self.relay, endpoint.endpoint.listen) {
            (_, false) => self.post_to_url(endpoint, headers, body).await,
            (Some(relay), true) => {
                let mut headers = headers;
                let body = compress(endpoint, &mut headers, body);
                relay.send(endpoint, headers, body).await
            }
            (None, true) => Sent {
                request_headers: headers,
                response: None,
                retry_after: None,
                error: Some((ErrorKind::Request, "this sender relays nothing".to_owned())),
                latency: Duration::ZERO,
            },
        }
    }

    async fn post_to_url(
        &self,
        endpoint: &LiveEndpoint,
        mut headers: HeaderMap,
        body: Bytes,
    ) -> Sent {
        let started = Instant::now();
        let (url, network) = (endpoint.endpoint.url.as_str(), &endpoint.endpoint.network);
        let timeout = Duration::from_millis(u64::from(endpoint.endpoint.timeout_ms));
        let prepared = match self
            .check_url(url, network)
            .map_err(|blocked| (ErrorKind::BlockedDestination, blocked.message))
            .and_then(|()| self.client_for(endpoint).map_err(|e| classify(&e)))
        {
            Ok(client) => self
                .authorization(&client, endpoint, timeout)
                .await
                .map(|auth| (client, auth)),
            Err(error) => Err(error),
        };
        let client = match prepared {
            Ok((client, auth)) => {
                if let Some(value) = auth {
                    headers.insert(AUTHORIZATION, value);
                }
                client
            }
            Err(error) => {
                return Sent {
                    request_headers: headers,
                    response: None,
                    retry_after: None,
                    error: Some(error),
                    latency: started.elapsed(),
                };
            }
        };
        let body = compress(endpoint, &mut headers, body);
        let request_headers = headers.clone();
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
        if let (Ok(Ok((401, _, _))), Some(auth @ Auth::Oauth2 { .. })) =
            (&result, &endpoint.credentials.auth)
        {
            self.tokens.forget(auth);
        }
        match result {
            Ok(Ok((status, headers, body))) => Sent {
                request_headers,
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
                request_headers,
                response: None,
                retry_after: None,
                error: Some(classify(&e)),
                latency,
            },
            Err(_) => Sent {
                request_headers,
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
    certificate: Option<&ClientCertificate>,
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
    if let Some(certificate) = certificate {
        builder = builder.identity(identity(certificate)?);
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

/// The body as it goes: gzip-compressed when the endpoint compresses bodies of its size.
/// After signing: the signature covers the body as the receiver's framework hands it on,
/// decompressed.
fn compress(endpoint: &LiveEndpoint, headers: &mut HeaderMap, body: Bytes) -> Bytes {
    match endpoint.endpoint.compression {
        Some(compression) if compression.applies(body.len()) => match gzip(&body) {
            Ok(compressed) => {
                headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                compressed
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot compress a body; it goes as it is");
                body
            }
        },
        _ => body,
    }
}

/// `body` gzip-compressed (the fast level: bodies are small and the CPU is the delivery's).
fn gzip(body: &[u8]) -> std::io::Result<Bytes> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 2),
        flate2::Compression::fast(),
    );
    encoder.write_all(body)?;
    encoder.finish().map(Bytes::from)
}

/// Names a request failure from the error and its causes.
fn classify(error: &reqwest::Error) -> (ErrorKind, String) {
    let chain = causes::chain(error);
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
