//! The ingress listener: third parties `POST /in/<token>`; each request goes through the
//! source's gates (active, allowed networks, rate limit, body limit), its verification and
//! transform, and is published onto NATS. The sender gets 2xx only after JetStream has
//! stored the event; a broker outage or overload answers 503 with `Retry-After`, so the
//! provider retries, and its retry is de-duplicated by `Nats-Msg-Id`.
//!
//! `GET /healthz` answers 200 while NATS is connected, 503 otherwise. Every request to a
//! source is recorded on `<prefix>.live.<tenant>.sources.<name>` (kept by the attempts
//! stream) and counted in the source's stats.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_nats::jetstream::context::PublishErrorKind;
use bytes::Bytes;
use hookwire_protocol::headers::{CORRELATION_ID, NATS_MSG_ID, TRACEPARENT};
use hookwire_protocol::inbound;
use hookwire_protocol::source::{RequestOutcome, Source, SourceRequest};
use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use ipnet::IpNet;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::config::IngressConfig;
use crate::delivery::request::Recording;
use crate::engine::Engine;
use crate::sources::{LiveSource, Prepared, PreparedRequest};

/// The header naming the source an event came in through.
pub(crate) const SOURCE_HEADER: &str = "Hookwire-Source";
/// [`CORRELATION_ID`] as an HTTP request header (names arrive lowercase).
const CORRELATION_HEADER: &str = "hookwire-correlation-id";
/// Headers that carry a provider's shared secret itself, never recorded.
const SECRET_HEADERS: &[&str] = &["x-gitlab-token"];
/// CloudEvents webhook validation (the HTTP webhook spec's abuse protection): the sender
/// asks with its origin, the receiver allows it and a rate (requests per minute).
const WEBHOOK_REQUEST_ORIGIN: &str = "webhook-request-origin";
const WEBHOOK_ALLOWED_ORIGIN: &str = "webhook-allowed-origin";
const WEBHOOK_ALLOWED_RATE: &str = "webhook-allowed-rate";

/// What the handler needs.
pub(crate) struct Ingress {
    engine: Arc<Engine>,
    settings: IngressConfig,
    in_flight: Arc<Semaphore>,
    recording: Recording,
}

/// What became of a request, for its answer and its record.
struct Handled {
    outcome: RequestOutcome,
    /// Why, for operators.
    detail: Option<String>,
    /// The request, once its body was read.
    received: Option<Received>,
    /// What it published (or would have), once verified and transformed.
    prepared: Option<Prepared>,
    /// A handshake answered, and what its answer carries.
    handshake: Option<Handshake>,
}

/// A provider's handshake, answered as the provider expects.
enum Handshake {
    /// Slack's `url_verification`: the challenge echoed.
    Challenge(String),
    /// A CloudEvents validation request: the origin allowed (when it named one) at the
    /// source's rate.
    Validation {
        origin: Option<HeaderValue>,
        rate_per_minute: u32,
    },
}

impl Handled {
    fn refused(outcome: RequestOutcome, detail: Option<String>) -> Self {
        Self {
            outcome,
            detail,
            received: None,
            prepared: None,
            handshake: None,
        }
    }
}

/// One request as the handler sees it once read.
struct Received {
    headers: BTreeMap<String, String>,
    query: BTreeMap<String, String>,
    body: Bytes,
}

impl Ingress {
    /// An ingress publishing with `engine`.
    #[must_use]
    pub(crate) fn new(
        engine: Arc<Engine>,
        settings: IngressConfig,
        redact_headers: &[String],
    ) -> Self {
        let mut redacted = redact_headers.to_vec();
        redacted.extend(SECRET_HEADERS.iter().map(|h| (*h).to_owned()));
        Self {
            in_flight: Arc::new(Semaphore::new(
                usize::try_from(settings.max_in_flight).unwrap_or(usize::MAX),
            )),
            recording: Recording::new(&redacted),
            engine,
            settings,
        }
    }

    /// Answers one HTTP request from `peer`.
    pub(crate) async fn handle(
        &self,
        request: Request<Incoming>,
        peer: IpAddr,
    ) -> Response<Full<Bytes>> {
        let path = request.uri().path();
        if path == "/healthz" {
            return if self.engine.client.connection_state()
                == async_nats::connection::State::Connected
            {
                reply(StatusCode::OK, r#"{"status":"ok"}"#)
            } else {
                reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    r#"{"status":"nats unavailable"}"#,
                )
            };
        }
        let Some(token) = path.strip_prefix("/in/").filter(|t| !t.contains('/')) else {
            return reply(StatusCode::NOT_FOUND, r#"{"error":"not found"}"#);
        };
        let is_options = request.method() == Method::OPTIONS;
        if request.method() != Method::POST && !is_options {
            let mut response = reply(StatusCode::METHOD_NOT_ALLOWED, r#"{"error":"use POST"}"#);
            response.headers_mut().insert(
                hyper::header::ALLOW,
                HeaderValue::from_static("POST, OPTIONS"),
            );
            return response;
        }
        let Some(source) = self.engine.sources.by_token(token) else {
            return reply(StatusCode::NOT_FOUND, r#"{"error":"not found"}"#);
        };
        let started = Instant::now();
        let client = client_address(peer, request.headers(), &self.settings.trusted_proxies);
        let mut handled = if is_options {
            validation_request(&source, request.headers(), client)
        } else {
            self.receive(&source, request, client).await
        };
        let outcome = handled.outcome;
        let latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.engine
            .sources
            .counters(&source.source.tenant, &source.source.name)
            .record(outcome, latency_us);
        self.engine.metrics.ingress_request(outcome);
        if matches!(
            outcome,
            RequestOutcome::MissingSignature
                | RequestOutcome::BadSignature
                | RequestOutcome::StaleTimestamp
        ) {
            let engine = Arc::clone(&self.engine);
            let source = Arc::clone(&source);
            let detail = format!(
                "from {client}: {}",
                handled.detail.as_deref().unwrap_or_default()
            );
            tokio::spawn(async move {
                crate::audit::security_event(
                    &engine,
                    &source.source.tenant,
                    "source.verification_failed",
                    &source.source.name,
                    detail,
                )
                .await;
            });
        }
        let handshake = handled.handshake.take();
        self.record(&source, client, handled, latency_us);
        match handshake {
            Some(handshake) => handshake.answer(),
            None => answer(outcome),
        }
    }

    /// Runs the gates, verification, transform and publish.
    async fn receive(
        &self,
        source: &LiveSource,
        request: Request<Incoming>,
        client: IpAddr,
    ) -> Handled {
        let config = &source.source;
        if let Some(refused) = closed_to(config, client) {
            return Handled::refused(refused, None);
        }
        if let Err(wait) = source.admit() {
            let detail = format!("next request allowed in {} ms", wait.as_millis());
            return Handled::refused(RequestOutcome::RateLimited, Some(detail));
        }
        let received = match self.read(request, config.max_body_bytes).await {
            Ok(received) => received,
            Err((outcome, detail)) => return Handled::refused(outcome, Some(detail)),
        };
        if let Some(challenge) = inbound::slack_challenge(&config.verification, &received.body) {
            // Slack signs its url_verification request too: echoed only once verified.
            let header = |name: &str| received.headers.get(name).map(String::as_str);
            let now = chrono::Utc::now().timestamp();
            let verified = source.verify(header, &received.body, now);
            return Handled {
                received: Some(received),
                handshake: verified.is_ok().then_some(Handshake::Challenge(challenge)),
                ..match verified {
                    Ok(()) => Handled::refused(RequestOutcome::Handshake, None),
                    Err(rejection) => {
                        Handled::refused(rejection.outcome(), Some(rejection.to_string()))
                    }
                }
            };
        }
        let (outcome, detail, prepared) = self.process(source, &received).await;
        Handled {
            outcome,
            detail,
            received: Some(received),
            prepared,
            handshake: None,
        }
    }

    /// Verifies, transforms and publishes a request that passed the gates.
    async fn process(
        &self,
        source: &LiveSource,
        received: &Received,
    ) -> (RequestOutcome, Option<String>, Option<Prepared>) {
        let header = |name: &str| received.headers.get(name).map(String::as_str);
        let now = chrono::Utc::now().timestamp();
        if let Err(rejection) = source.verify(header, &received.body, now) {
            return (rejection.outcome(), Some(rejection.to_string()), None);
        }
        let request = PreparedRequest {
            headers: &received.headers,
            query: &received.query,
            content_type: header("content-type"),
        };
        let prepared = match source.prepare(header, &received.body, &request) {
            Ok(prepared) => prepared,
            Err(e) => return (RequestOutcome::TransformFailed, Some(e), None),
        };
        if prepared.payload.len() > self.engine.max_event_bytes {
            let detail = format!(
                "the payload is {} bytes; events may have {} (streams.max_event_bytes)",
                prepared.payload.len(),
                self.engine.max_event_bytes
            );
            return (RequestOutcome::TooLarge, Some(detail), Some(prepared));
        }
        let (outcome, detail) = self.publish(source, received, &prepared).await;
        (outcome, detail, Some(prepared))
    }

    /// Reads the body within the size and time limits.
    async fn read(
        &self,
        request: Request<Incoming>,
        max_body_bytes: u32,
    ) -> Result<Received, (RequestOutcome, String)> {
        let limit = usize::try_from(max_body_bytes).unwrap_or(usize::MAX);
        let too_large = || {
            (
                RequestOutcome::TooLarge,
                format!("the body is over the source's {limit} bytes"),
            )
        };
        let declared = request
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        let (parts, body) = request.into_parts();
        let timeout = Duration::from_secs(u64::from(self.settings.body_timeout_secs));
        let body = match tokio::time::timeout(timeout, Limited::new(body, limit).collect()).await {
            Err(_) => {
                return Err((
                    RequestOutcome::BadRequest,
                    format!("the body did not arrive within {} s", timeout.as_secs()),
                ));
            }
            Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
                return Err(too_large());
            }
            Ok(Err(e)) => {
                return Err((RequestOutcome::BadRequest, format!("reading the body: {e}")));
            }
            Ok(Ok(collected)) => collected.to_bytes(),
        };
        let headers = header_map(&parts.headers);
        let query = parts
            .uri
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        Ok(Received {
            headers,
            query,
            body,
        })
    }

    /// Publishes and waits for JetStream's acknowledgement.
    async fn publish(
        &self,
        source: &LiveSource,
        received: &Received,
        prepared: &Prepared,
    ) -> (RequestOutcome, Option<String>) {
        if self.engine.client.connection_state() != async_nats::connection::State::Connected {
            return (
                RequestOutcome::Unavailable,
                Some("not connected to NATS".into()),
            );
        }
        let Ok(_permit) = self.in_flight.try_acquire() else {
            return (
                RequestOutcome::Overloaded,
                Some(format!(
                    "{} requests already publishing (ingress.max_in_flight)",
                    self.settings.max_in_flight
                )),
            );
        };
        let mut headers = async_nats::HeaderMap::new();
        if let Some(id) = &prepared.msg_id {
            headers.insert(NATS_MSG_ID, id.as_str());
        }
        headers.insert(SOURCE_HEADER, source.source.name.as_str());
        if let Some(correlation) = received
            .headers
            .get(CORRELATION_HEADER)
            .or_else(|| received.headers.get(TRACEPARENT))
        {
            headers.insert(CORRELATION_ID, correlation.as_str());
        }
        let timeout = Duration::from_millis(u64::from(self.settings.publish_timeout_ms));
        let published = tokio::time::timeout(timeout, async {
            self.engine
                .js
                .publish_with_headers(prepared.subject.clone(), headers, prepared.payload.clone())
                .await?
                .await
        })
        .await;
        match published {
            Ok(Ok(ack)) if ack.duplicate => (RequestOutcome::Duplicate, None),
            Ok(Ok(_)) => (RequestOutcome::Published, None),
            Ok(Err(e)) if e.kind() == PublishErrorKind::MaxPayloadExceeded => (
                RequestOutcome::TooLarge,
                Some(format!("NATS refused the payload: {e}")),
            ),
            Ok(Err(e)) => (RequestOutcome::Unavailable, Some(format!("publish: {e}"))),
            Err(_) => (
                RequestOutcome::Unavailable,
                Some(format!(
                    "JetStream did not acknowledge within {} ms",
                    timeout.as_millis()
                )),
            ),
        }
    }

    /// Publishes the request record for the live tail and the request log; best effort
    /// (a record that cannot be sent is not worth failing the request for).
    fn record(&self, source: &LiveSource, client: IpAddr, handled: Handled, latency_us: u64) {
        let config = &source.source;
        let keep = usize::try_from(self.settings.log_body_bytes).unwrap_or(usize::MAX);
        let Handled {
            outcome,
            detail,
            received,
            prepared,
            ..
        } = handled;
        let (headers, body_bytes, body_excerpt) = received.map_or_else(
            || (BTreeMap::new(), 0, String::new()),
            |r| {
                let headers = r
                    .headers
                    .into_iter()
                    .map(|(name, value)| {
                        let value = self.recording.redact(&name, value);
                        (name, value)
                    })
                    .collect();
                let excerpt = &r.body[..r.body.len().min(keep)];
                (
                    headers,
                    r.body.len(),
                    String::from_utf8_lossy(excerpt).into_owned(),
                )
            },
        );
        let record = SourceRequest {
            at: chrono::Utc::now(),
            tenant: config.tenant.clone(),
            source: config.name.clone(),
            client: client.to_string(),
            outcome,
            status: outcome.status(),
            detail,
            event_type: prepared.as_ref().map(|p| p.event_type.clone()),
            msg_id: prepared.and_then(|p| p.msg_id),
            headers,
            body_bytes,
            body_excerpt,
            latency_us,
        };
        let Ok(subject) = self
            .engine
            .topology
            .subjects
            .source_live(&config.tenant, &config.name)
        else {
            return;
        };
        let Ok(payload) = serde_json::to_vec(&record) else {
            return;
        };
        let client = self.engine.client.clone();
        tokio::spawn(async move {
            if let Err(e) = client.publish(subject, payload.into()).await {
                tracing::debug!(error = %e, "cannot publish a source request record");
            }
        });
    }
}

/// The answer for `outcome`: a short JSON body that says what to do and nothing about why
/// verification failed.
fn answer(outcome: RequestOutcome) -> Response<Full<Bytes>> {
    let status =
        StatusCode::from_u16(outcome.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = match outcome {
        RequestOutcome::Published | RequestOutcome::Handshake => r#"{"accepted":true}"#,
        RequestOutcome::Duplicate => r#"{"accepted":true,"duplicate":true}"#,
        RequestOutcome::Inactive | RequestOutcome::IpNotAllowed => r#"{"error":"forbidden"}"#,
        RequestOutcome::RateLimited => r#"{"error":"rate limited; retry later"}"#,
        RequestOutcome::TooLarge => r#"{"error":"body too large"}"#,
        RequestOutcome::BadRequest => r#"{"error":"bad request"}"#,
        RequestOutcome::MissingSignature
        | RequestOutcome::BadSignature
        | RequestOutcome::StaleTimestamp => r#"{"error":"unauthorized"}"#,
        RequestOutcome::TransformFailed => r#"{"error":"cannot process this webhook"}"#,
        RequestOutcome::Overloaded | RequestOutcome::Unavailable => {
            r#"{"error":"temporarily unavailable; retry later"}"#
        }
    };
    let mut response = reply(status, body);
    let retry_after = match outcome {
        RequestOutcome::RateLimited | RequestOutcome::Overloaded => Some("1"),
        RequestOutcome::Unavailable => Some("5"),
        _ => None,
    };
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static(seconds));
    }
    response
}

/// Why `config` takes nothing from `client`, if it does not: inactive, or the client
/// outside its allowed networks.
fn closed_to(config: &Source, client: IpAddr) -> Option<RequestOutcome> {
    if !config.active {
        Some(RequestOutcome::Inactive)
    } else if !config.allowed_networks.is_empty()
        && !config.allowed_networks.iter().any(|n| n.contains(&client))
    {
        Some(RequestOutcome::IpNotAllowed)
    } else {
        None
    }
}

/// A CloudEvents webhook validation request (`OPTIONS`, with `WebHook-Request-Origin`):
/// a source open to the client allows the origin at its rate limit. A
/// `WebHook-Request-Callback` is never fetched: the answer is given at once, and the
/// ingress makes no request a client asks it to.
fn validation_request(source: &LiveSource, headers: &hyper::HeaderMap, client: IpAddr) -> Handled {
    let config = &source.source;
    let received = Received {
        headers: header_map(headers),
        query: BTreeMap::new(),
        body: Bytes::new(),
    };
    match closed_to(config, client) {
        Some(refused) => Handled {
            received: Some(received),
            ..Handled::refused(refused, None)
        },
        None => Handled {
            received: Some(received),
            handshake: Some(Handshake::Validation {
                origin: headers.get(WEBHOOK_REQUEST_ORIGIN).cloned(),
                rate_per_minute: config.rate_limit_per_minute,
            }),
            ..Handled::refused(RequestOutcome::Handshake, None)
        },
    }
}

impl Handshake {
    fn answer(self) -> Response<Full<Bytes>> {
        match self {
            Self::Challenge(challenge) => {
                let body = serde_json::json!({ "challenge": challenge }).to_string();
                let mut response = Response::new(Full::new(Bytes::from(body)));
                response
                    .headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                response
            }
            Self::Validation {
                origin,
                rate_per_minute,
            } => {
                let mut response = Response::new(Full::new(Bytes::new()));
                let headers = response.headers_mut();
                headers.insert(
                    hyper::header::ALLOW,
                    HeaderValue::from_static("POST, OPTIONS"),
                );
                if let Some(origin) = origin {
                    headers.insert(WEBHOOK_ALLOWED_ORIGIN, origin);
                    headers.insert(WEBHOOK_ALLOWED_RATE, HeaderValue::from(rate_per_minute));
                }
                response
            }
        }
    }
}

/// Request headers by lowercase name, as text.
fn header_map(headers: &hyper::HeaderMap) -> BTreeMap<String, String> {
    headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_owned(), value)
        })
        .collect()
}

fn reply(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The client's address: the peer's, unless the peer is a trusted proxy, then the last
/// `X-Forwarded-For` entry not itself a trusted proxy.
#[must_use]
pub(crate) fn client_address(
    peer: IpAddr,
    headers: &hyper::HeaderMap,
    trusted: &[IpNet],
) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|part| part.trim().parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .unwrap_or(peer)
}

/// Serves the ingress on `listener` until the task is dropped.
pub(crate) async fn serve(
    ingress: Arc<Ingress>,
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    let connections = Arc::new(Semaphore::new(
        usize::try_from(ingress.settings.max_connections).unwrap_or(usize::MAX),
    ));
    let header_timeout = Duration::from_secs(u64::from(ingress.settings.header_timeout_secs));
    loop {
        let Ok(permit) = Arc::clone(&connections).acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "ingress cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let ingress = Arc::clone(&ingress);
        let tls = tls.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let ingress = Arc::clone(&ingress);
                async move { Ok::<_, Infallible>(ingress.handle(request, peer.ip()).await) }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            let served = match tls {
                None => {
                    builder
                        .serve_connection(TokioIo::new(stream), service)
                        .await
                }
                Some(acceptor) => {
                    match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            builder
                                .serve_connection(TokioIo::new(stream), service)
                                .await
                        }
                        _ => return,
                    }
                }
            };
            if let Err(e) = served {
                tracing::debug!(%peer, error = %e, "ingress connection ended with an error");
            }
            drop(permit);
        });
    }
}

/// Binds the ingress listener (and loads its TLS certificate) as configured.
pub(crate) async fn bind(
    settings: &IngressConfig,
    listen: SocketAddr,
) -> anyhow::Result<(TcpListener, Option<tokio_rustls::TlsAcceptor>)> {
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen for incoming webhooks on {listen}"))?;
    let tls = match (&settings.tls_cert_file, &settings.tls_key_file) {
        (Some(cert), Some(key)) => Some(tls_acceptor(cert, key)?),
        _ => None,
    };
    Ok((listener, tls))
}

fn tls_acceptor(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .with_context(|| format!("ingress.tls_cert_file {}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("ingress.tls_key_file {}", key.display()))?;
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the ingress certificate and key do not go together")?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> hyper::HeaderMap {
        let mut map = hyper::HeaderMap::new();
        for value in xff {
            map.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn forwarded_for_counts_only_behind_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let spoofed = headers(&["1.2.3.4"]);
        assert_eq!(
            client_address(ip("203.0.113.9"), &spoofed, &trusted),
            ip("203.0.113.9")
        );
        let via_proxy = headers(&["6.6.6.6, 198.51.100.7", "10.0.0.2"]);
        assert_eq!(
            client_address(ip("10.0.0.1"), &via_proxy, &trusted),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_address(ip("10.0.0.1"), &headers(&[]), &trusted),
            ip("10.0.0.1")
        );
        assert_eq!(
            client_address(ip("10.0.0.1"), &headers(&["junk"]), &[]),
            ip("10.0.0.1")
        );
    }

    proptest::proptest! {
        /// Fuzz target (`scripts/fuzz` runs it longer): any `X-Forwarded-For` values, any
        /// peer and trusted networks give an address that is the peer or one the headers
        /// name, and never a trusted proxy's unless the peer itself is the client.
        #[test]
        fn the_client_address_is_the_peer_or_a_forwarded_untrusted_one(
            peer in proptest::array::uniform4(proptest::num::u8::ANY),
            values in proptest::collection::vec("[0-9a-f.:, ]{0,40}|[ -~]{0,40}", 0..4),
            trusted in proptest::collection::vec((proptest::array::uniform4(proptest::num::u8::ANY), 0_u8..=32), 0..3),
        ) {
            let peer = IpAddr::from(peer);
            let trusted: Vec<IpNet> = trusted
                .into_iter()
                .filter_map(|(ip, len)| ipnet::Ipv4Net::new(ip.into(), len).ok().map(IpNet::V4))
                .collect();
            let mut map = hyper::HeaderMap::new();
            for value in &values {
                if let Ok(value) = HeaderValue::from_str(value) {
                    map.append("x-forwarded-for", value);
                }
            }
            let client = client_address(peer, &map, &trusted);
            let named = values.iter().any(|v| v.split(',').any(|p| p.trim().parse() == Ok(client)));
            proptest::prop_assert!(client == peer || named);
            if client != peer {
                proptest::prop_assert!(!trusted.iter().any(|net| net.contains(&client)));
            }
        }
    }

    #[test]
    fn answers_say_nothing_about_why_verification_failed() {
        for outcome in [
            RequestOutcome::MissingSignature,
            RequestOutcome::BadSignature,
            RequestOutcome::StaleTimestamp,
        ] {
            let response = answer(outcome);
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        }
        assert_eq!(
            answer(RequestOutcome::Unavailable).headers()[RETRY_AFTER],
            "5"
        );
        assert_eq!(
            answer(RequestOutcome::RateLimited).headers()[RETRY_AFTER],
            "1"
        );
        assert!(
            answer(RequestOutcome::Published)
                .headers()
                .get(RETRY_AFTER)
                .is_none()
        );
    }
}
