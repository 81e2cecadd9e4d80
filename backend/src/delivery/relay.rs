//! Webhooks of endpoints with `listen` on: sent as NATS requests to `hookwire listen`
//! instead of HTTP POSTs (see [`hookwire_protocol::listen`]), the reply recorded like an
//! HTTP response.

use std::time::{Duration, Instant};

use async_nats::RequestErrorKind;
use bytes::Bytes;
use hookwire_protocol::Subjects;
use hookwire_protocol::attempt::{ErrorKind, ResponseRecord};
use hookwire_protocol::listen::ListenReply;
use reqwest::header::HeaderMap;

use super::http::Sent;
use crate::registry::LiveEndpoint;

/// The NATS side of `listen`.
#[derive(Clone)]
pub(crate) struct Relay {
    client: async_nats::Client,
    subjects: Subjects,
}

impl Relay {
    /// Relays through `client` on `subjects`' listen subjects.
    pub(crate) fn new(client: async_nats::Client, subjects: Subjects) -> Self {
        Self { client, subjects }
    }

    /// Sends one webhook to the endpoint's listener and waits up to its timeout for the
    /// answer.
    pub(crate) async fn send(
        &self,
        endpoint: &LiveEndpoint,
        headers: HeaderMap,
        body: Bytes,
    ) -> Sent {
        let started = Instant::now();
        let id = &endpoint.endpoint.id;
        let timeout = Duration::from_millis(u64::from(endpoint.endpoint.timeout_ms));
        let result = match self.subjects.listen(&endpoint.endpoint.tenant, id) {
            Ok(subject) => {
                let request = async_nats::Request::new()
                    .headers(nats_headers(&headers))
                    .payload(body)
                    .timeout(Some(timeout));
                self.client
                    .send_request(subject, request)
                    .await
                    .map_err(|e| request_failure(&e, id, timeout))
                    .and_then(|reply| {
                        serde_json::from_slice::<ListenReply>(&reply.payload).map_err(|e| {
                            (
                                ErrorKind::Request,
                                format!("the listener's answer is not a listen reply: {e}"),
                            )
                        })
                    })
            }
            Err(e) => Err((ErrorKind::Request, e.to_string())),
        };
        let (response, error) = match result {
            Ok(ListenReply::Response {
                status,
                headers,
                body,
            }) => (
                Some(ResponseRecord {
                    status,
                    headers,
                    body,
                }),
                None,
            ),
            Ok(ListenReply::Failed { kind, message }) => {
                (None, Some((kind, format!("hookwire listen: {message}"))))
            }
            Err(error) => (None, Some(error)),
        };
        Sent {
            retry_after: response
                .as_ref()
                .and_then(|r| r.headers.get("retry-after").cloned()),
            request_headers: headers,
            response,
            error,
            latency: started.elapsed(),
        }
    }
}

/// The webhook's HTTP headers as NATS headers (values that are not text are left out:
/// Hookwire writes none).
fn nats_headers(headers: &HeaderMap) -> async_nats::HeaderMap {
    let mut nats = async_nats::HeaderMap::new();
    for (name, value) in headers {
        if let Ok(value) = value.to_str() {
            nats.append(name.as_str(), value);
        }
    }
    nats
}

fn request_failure(
    error: &async_nats::RequestError,
    endpoint_id: &str,
    timeout: Duration,
) -> (ErrorKind, String) {
    match error.kind() {
        RequestErrorKind::NoResponders => (
            ErrorKind::Connect,
            format!("no hookwire listen is attached to endpoint {endpoint_id}"),
        ),
        RequestErrorKind::TimedOut => (
            ErrorKind::Timeout,
            format!(
                "hookwire listen did not answer within {} ms",
                timeout.as_millis()
            ),
        ),
        RequestErrorKind::MaxPayloadExceeded => (
            ErrorKind::Request,
            "the webhook is larger than NATS lets one message be; it cannot be relayed".to_owned(),
        ),
        _ => (
            ErrorKind::Request,
            format!("relaying to hookwire listen failed: {error}"),
        ),
    }
}
