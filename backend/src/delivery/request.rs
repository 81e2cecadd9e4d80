//! The webhook request: the `{"type","timestamp","data"}` body and the signed headers, the
//! same for deliveries, verification challenges and test sends.

use std::collections::BTreeMap;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use hookwire_protocol::EventEnvelope;
use hookwire_protocol::headers::{WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP};
use hookwire_protocol::schemes::{
    GITHUB_HEADER, SignatureScheme, github_signature, stripe_signature,
};
use hookwire_protocol::signing::signature_header;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::value::RawValue;

use crate::registry::LiveEndpoint;

/// The webhook body around `data` (JSON text; anything else is sent as `null`).
#[must_use]
pub fn body(event_type: &str, timestamp: DateTime<Utc>, data: &[u8]) -> Bytes {
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

/// The endpoint's own headers, then Hookwire's: content type, `webhook-id`,
/// `webhook-timestamp` (`at`) and one signature of `body` per live secret.
#[must_use]
pub fn signed_headers(
    endpoint: &LiveEndpoint,
    webhook_id: &str,
    correlation_id: Option<&str>,
    at: DateTime<Utc>,
    body: &[u8],
) -> HeaderMap {
    let timestamp = at.timestamp();
    let mut headers = HeaderMap::with_capacity(6 + endpoint.endpoint.headers.len());
    for (name, value) in &endpoint.endpoint.headers {
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
    set("content-type", "application/json");
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
        SignatureScheme::Github => {
            // One line per live secret: during a rotation, receivers holding either verify.
            for secret in secrets.iter() {
                if let Ok(value) = HeaderValue::try_from(github_signature(secret, body)) {
                    headers.append(HeaderName::from_static(GITHUB_HEADER), value);
                }
            }
        }
    }
    headers
}

/// The request headers as recorded: an endpoint's custom header values often carry
/// credentials, so only their names are kept.
#[must_use]
pub fn recorded_headers(headers: &HeaderMap, endpoint: &LiveEndpoint) -> BTreeMap<String, String> {
    headers
        .iter()
        .map(|(name, value)| {
            let value = if endpoint.endpoint.headers.contains_key(name.as_str()) {
                "<redacted>".to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name.as_str().to_owned(), value)
        })
        .collect()
}
