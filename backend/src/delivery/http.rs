//! Sending one webhook over HTTP and reporting what happened, facts only.

use std::collections::BTreeMap;
use std::error::Error as _;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hookwire_protocol::attempt::{ErrorKind, MAX_BODY_EXCERPT, ResponseRecord, body_excerpt};

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

/// The HTTP client: pooled keep-alive connections, HTTP/1.1 and h2, no redirects.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
}

impl Sender {
    /// A client with Hookwire's settings.
    pub fn new() -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(256)
            .connect_timeout(Duration::from_secs(10))
            .tcp_nodelay(true)
            .build()?;
        Ok(Self { client })
    }

    /// POSTs `body` to `url` with `headers`, giving up after `timeout`.
    pub async fn post(
        &self,
        url: &str,
        headers: reqwest::header::HeaderMap,
        body: Bytes,
        timeout: Duration,
    ) -> Sent {
        let started = Instant::now();
        let result = tokio::time::timeout(timeout, async {
            let response = self
                .client
                .post(url)
                .headers(headers)
                .body(body)
                .send()
                .await?;
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
    let lower = chain.to_ascii_lowercase();
    let kind = if error.is_timeout() {
        ErrorKind::Timeout
    } else if lower.contains("dns error") || lower.contains("failed to lookup address") {
        ErrorKind::Dns
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
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
