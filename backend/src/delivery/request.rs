//! The webhook request: the body (the `{"type","timestamp","data"}` envelope, or what the
//! endpoint's template renders) and the signed headers, the same for deliveries,
//! verification challenges, test sends and previews.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use hookwire_protocol::EventEnvelope;
use hookwire_protocol::attempt::ResponseRecord;
use hookwire_protocol::endpoint::Endpoint;
use hookwire_protocol::envelope::{BatchedEnvelope, batch_body as batch_body_of};
use hookwire_protocol::headers::{WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP};
use hookwire_protocol::jwt;
use hookwire_protocol::schemes::{
    GITHUB_HEADER, JwtAlgorithm, SignatureScheme, github_signature, stripe_signature,
};
use hookwire_protocol::signing::signature_header;
use hookwire_protocol::v1a;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::value::RawValue;

use crate::delivery::batch::Member;
use crate::registry::LiveEndpoint;
use crate::templates::{Compiled, EventView};

/// What an endpoint is sent for one event: the body, and the template version that
/// rendered it (which decides the content type and adds headers).
#[derive(Debug, Clone)]
pub(crate) struct Payload {
    /// The bytes signed and sent (before any compression).
    pub body: Bytes,
    /// The version that rendered `body`; `None` for the standard envelope.
    pub template: Option<Arc<Compiled>>,
}

impl Payload {
    /// The standard envelope.
    #[must_use]
    pub(crate) fn envelope(event_type: &str, timestamp: DateTime<Utc>, data: &[u8]) -> Self {
        Self {
            body: body(event_type, timestamp, data),
            template: None,
        }
    }

    /// What an endpoint without a template gets: the envelope, or a batch's array of them.
    #[must_use]
    pub(crate) fn standard(event: &EventView<'_>) -> Self {
        match event.batch {
            Some(members) => Self {
                body: batch_body(members),
                template: None,
            },
            None => Self::envelope(event.event_type, event.timestamp, event.data),
        }
    }
}

/// A batch's body: its events' envelopes, with their ids, as a JSON array.
#[must_use]
pub(crate) fn batch_body(members: &[Member]) -> Bytes {
    let envelopes: Vec<BatchedEnvelope<'_>> = members
        .iter()
        .map(|m| BatchedEnvelope {
            id: &m.id,
            event_type: &m.event_type,
            timestamp: m.time(),
            data: &m.data,
        })
        .collect();
    Bytes::from(batch_body_of(&envelopes))
}

/// The webhook body around `data` (JSON text; anything else is sent as `null`).
#[must_use]
pub(crate) fn body(event_type: &str, timestamp: DateTime<Utc>, data: &[u8]) -> Bytes {
    let data = std::str::from_utf8(data)
        .ok()
        .and_then(|text| RawValue::from_string(text.to_owned()).ok())
        .unwrap_or_else(|| RawValue::from_string("null".to_owned()).expect("null is JSON"));
    let envelope = EventEnvelope {
        event_type: event_type.to_owned(),
        timestamp,
        data,
    };
    Bytes::from(envelope.to_body())
}

/// The template's headers, the endpoint's own (which win), then Hookwire's: content type
/// (the template's, else JSON), `webhook-id`, `webhook-timestamp` (`at`) and one signature of
/// the body per live secret.
#[must_use]
pub(crate) fn signed_headers(
    endpoint: &LiveEndpoint,
    webhook_id: &str,
    correlation_id: Option<&str>,
    at: DateTime<Utc>,
    payload: &Payload,
) -> HeaderMap {
    let body = &payload.body[..];
    let timestamp = at.timestamp();
    let template = payload.template.as_deref().map(|t| &t.version);
    let template_headers = template.map(|t| &t.headers).into_iter().flatten();
    let mut headers = HeaderMap::with_capacity(6 + endpoint.endpoint.headers.len());
    for (name, value) in template_headers.chain(&endpoint.endpoint.headers) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            headers.insert(name, value);
        }
    }
    let secrets = endpoint.signing_secrets(at);
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::try_from(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    };
    set(
        "content-type",
        template.map_or("application/json", |t| t.content_type()),
    );
    set(WEBHOOK_ID, webhook_id);
    set(WEBHOOK_TIMESTAMP, &timestamp.to_string());
    if let Some(correlation) = correlation_id {
        set("hookwire-correlation-id", correlation);
    }
    match &endpoint.endpoint.signature {
        SignatureScheme::Standard => {
            set(
                WEBHOOK_SIGNATURE,
                &signature_header(&secrets, webhook_id, timestamp, body),
            );
        }
        SignatureScheme::Stripe { header } => {
            if let (Ok(name), Ok(value)) = (
                HeaderName::try_from(header.as_str()),
                HeaderValue::try_from(stripe_signature(&secrets, timestamp, body)),
            ) {
                headers.insert(name, value);
            }
        }
        SignatureScheme::Ed25519 => {
            let keys: Vec<v1a::SigningKey> = secrets.iter().map(v1a::SigningKey::derive).collect();
            set(
                WEBHOOK_SIGNATURE,
                &v1a::signature_header(&keys, webhook_id, timestamp, body),
            );
        }
        SignatureScheme::Github => {
            // One line per live secret: during a rotation, receivers holding either verify.
            for secret in secrets.iter() {
                if let Ok(value) = HeaderValue::try_from(github_signature(secret, body)) {
                    headers.append(HeaderName::from_static(GITHUB_HEADER), value);
                }
            }
        }
        SignatureScheme::Jwt { issuer, algorithm } => {
            if let Some(secret) = jwt::signing_secret(&secrets) {
                let claims = jwt::Claims::new(
                    issuer.as_deref().unwrap_or(jwt::DEFAULT_ISSUER),
                    &endpoint.endpoint.id,
                    &endpoint.endpoint.url,
                    webhook_id,
                    timestamp,
                    body,
                );
                let token = match algorithm {
                    JwtAlgorithm::Hs256 => jwt::hs256(secret, &claims),
                    JwtAlgorithm::EdDsa => jwt::eddsa(secret, &claims),
                };
                set("authorization", &format!("Bearer {token}"));
            }
        }
    }
    headers
}

/// Headers whose values are never recorded: credentials and sessions.
const ALWAYS_REDACTED: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
];

/// What replaces a redacted header value.
pub(crate) const REDACTED: &str = "<redacted>";

/// What attempt records keep of a request and its response: header values that carry
/// credentials are replaced by [`REDACTED`] (the built-in names, the deployment's
/// `[privacy] redact_headers` and the endpoint's own custom headers), and the response body
/// is cut to the endpoint's `response_body_bytes`.
#[derive(Debug, Clone)]
pub(crate) struct Recording {
    redacted: Vec<String>,
}

impl Recording {
    /// Redacting the built-in names and `extra` (any case).
    #[must_use]
    pub(crate) fn new(extra: &[String]) -> Self {
        let mut redacted: Vec<String> = ALWAYS_REDACTED.iter().map(|n| (*n).to_owned()).collect();
        redacted.extend(extra.iter().map(|n| n.to_ascii_lowercase()));
        redacted.sort();
        redacted.dedup();
        Self { redacted }
    }

    fn hides(&self, name: &str) -> bool {
        self.redacted.iter().any(|n| n == name)
    }

    /// A header value as recorded: `value`, or [`REDACTED`] for a name that carries
    /// credentials (`name` lowercase).
    #[must_use]
    pub(crate) fn redact(&self, name: &str, value: String) -> String {
        if self.hides(name) {
            REDACTED.to_owned()
        } else {
            value
        }
    }

    /// The request headers as recorded.
    #[must_use]
    pub(crate) fn request_headers(
        &self,
        headers: &HeaderMap,
        endpoint: &Endpoint,
    ) -> BTreeMap<String, String> {
        headers
            .iter()
            .map(|(name, value)| {
                let name = name.as_str();
                let value = if self.hides(name) || endpoint.headers.contains_key(name) {
                    REDACTED.to_owned()
                } else {
                    String::from_utf8_lossy(value.as_bytes()).into_owned()
                };
                (name.to_owned(), value)
            })
            .collect()
    }

    /// The response as recorded.
    #[must_use]
    pub(crate) fn response(
        &self,
        response: Option<ResponseRecord>,
        endpoint: &Endpoint,
    ) -> Option<ResponseRecord> {
        let mut response = response?;
        for (name, value) in &mut response.headers {
            if self.hides(name) {
                REDACTED.clone_into(value);
            }
        }
        let keep = endpoint
            .response_body_bytes
            .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
        if response.body.len() > keep {
            response.body = body_excerpt_of(&response.body, keep);
        }
        Some(response)
    }
}

/// The first `limit` bytes of `text`, cut on a character boundary.
fn body_excerpt_of(text: &str, limit: usize) -> String {
    let mut end = limit.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookwire_protocol::Tenant;
    use hookwire_protocol::endpoint::CreateEndpoint;

    fn endpoint(body_bytes: Option<u32>) -> Endpoint {
        let (mut endpoint, _, _) = CreateEndpoint {
            url: "https://example.com/".into(),
            headers: Some(BTreeMap::from([("X-Api-Key".into(), "k3y".into())])),
            ..CreateEndpoint::default()
        }
        .into_endpoint(
            Tenant::default(),
            "ep".into(),
            hookwire_protocol::Secret::generate(),
            Utc::now(),
        )
        .expect("valid");
        endpoint.response_body_bytes = body_bytes;
        endpoint
    }

    #[test]
    fn credentials_custom_and_configured_headers_are_redacted() {
        let recording = Recording::new(&["X-Session".into()]);
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("authorization", "Bearer t"),
            ("cookie", "a=b"),
            ("x-api-key", "k3y"),
            ("x-session", "s"),
            ("webhook-id", "evt"),
        ] {
            headers.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        let recorded = recording.request_headers(&headers, &endpoint(None));
        for name in ["authorization", "cookie", "x-api-key", "x-session"] {
            assert_eq!(recorded[name], REDACTED, "{name}");
        }
        assert_eq!(recorded["webhook-id"], "evt");
    }

    #[test]
    fn responses_lose_session_headers_and_keep_the_endpoints_share_of_the_body() {
        let recording = Recording::new(&[]);
        let response = || ResponseRecord {
            status: 200,
            headers: BTreeMap::from([
                ("set-cookie".to_owned(), "sid=1".to_owned()),
                ("content-type".to_owned(), "text/plain".to_owned()),
            ]),
            body: "héllo world".to_owned(),
        };
        let kept = recording
            .response(Some(response()), &endpoint(None))
            .expect("a response");
        assert_eq!(kept.headers["set-cookie"], REDACTED);
        assert_eq!(kept.headers["content-type"], "text/plain");
        assert_eq!(kept.body, "héllo world");
        let cut = recording
            .response(Some(response()), &endpoint(Some(2)))
            .expect("a response");
        assert_eq!(cut.body, "h", "cut on a character boundary");
        let none = recording
            .response(Some(response()), &endpoint(Some(0)))
            .expect("a response");
        assert_eq!((none.status, none.body.as_str()), (200, ""));
        assert!(recording.response(None, &endpoint(None)).is_none());
    }
}
