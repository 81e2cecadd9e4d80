//! The attempt record: one per delivery attempt, published on
//! `<prefix>.live.<tenant>.<endpoint-id>` as it happens, kept by the attempts stream and
//! indexed by every `hookwired` for history queries.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::subject::Tenant;

/// The longest response body excerpt kept per attempt.
pub const MAX_BODY_EXCERPT: usize = 16 * 1024;

/// Why an attempt did not deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The receiver answered a status that is neither 2xx nor 410.
    Status,
    /// The receiver answered 3xx; redirects are not followed.
    Redirect,
    /// The receiver answered 410 Gone: the endpoint is disabled.
    Gone,
    /// No answer within the endpoint's timeout.
    Timeout,
    /// The connection could not be made (refused, reset, unreachable).
    Connect,
    /// The host name did not resolve.
    Dns,
    /// The TLS handshake failed (certificate, protocol).
    Tls,
    /// The request failed some other way; the message says how.
    Request,
    /// The endpoint was disabled before the attempt; nothing was sent.
    EndpointDisabled,
    /// The URL's address is one webhooks may not reach (the SSRF guard); nothing was sent.
    BlockedDestination,
    /// The credentials the receiver needs could not be obtained (the OAuth 2.0 token
    /// endpoint failed or refused); nothing was sent to the receiver.
    Auth,
    /// The endpoint's template failed to render (or is missing); nothing was sent. Not the
    /// receiver's fault and not retried: the delivery goes to dead letters, to be requeued
    /// once the template is fixed.
    Template,
}

impl ErrorKind {
    /// The name on the wire (`timeout`, `endpoint_disabled`, ...).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Status => "status",
            Self::Redirect => "redirect",
            Self::Gone => "gone",
            Self::Timeout => "timeout",
            Self::Connect => "connect",
            Self::Dns => "dns",
            Self::Tls => "tls",
            Self::Request => "request",
            Self::EndpointDisabled => "endpoint_disabled",
            Self::BlockedDestination => "blocked_destination",
            Self::Template => "template",
            Self::Auth => "auth",
        }
    }
}

/// Where a delivery stands after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Delivered (2xx).
    Succeeded,
    /// Failed; another attempt is scheduled at `next_attempt_at`.
    Retrying,
    /// Failed for the last time; the delivery is on the dead-letter stream.
    Dead,
}

impl Outcome {
    /// The outcome's wire name (`retrying`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Retrying => "retrying",
            Self::Dead => "dead",
        }
    }
}

/// The response, when there was one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseRecord {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: BTreeMap<String, String>,
    /// The body's first [`MAX_BODY_EXCERPT`] bytes, as lossy UTF-8.
    pub body: String,
}

/// The failure, when the attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorRecord {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// Details for people.
    pub message: String,
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptRecord {
    /// The tenant.
    pub tenant: Tenant,
    /// The endpoint attempted.
    pub endpoint_id: String,
    /// The event delivered; also the `webhook-id`.
    pub event_id: String,
    /// The event's sequence in the events stream, to read its body back.
    pub event_seq: u64,
    /// The event type.
    pub event_type: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// When the request started.
    pub at: DateTime<Utc>,
    /// From request start to the end of the response (or the failure).
    pub latency_ms: f64,
    /// The URL requested.
    pub url: String,
    /// The request headers sent (signatures included: they are not secrets).
    pub request_headers: BTreeMap<String, String>,
    /// The response, if one arrived.
    pub response: Option<ResponseRecord>,
    /// The failure, if the attempt failed.
    pub error: Option<ErrorRecord>,
    /// Where the delivery stands now.
    pub outcome: Outcome,
    /// When the next attempt is due, with [`Outcome::Retrying`].
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The publisher's correlation id, if it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// A test send (`endpoints.test`), not a delivery of a published event.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub test: bool,
    /// For a batch (`event_id` is then the batch id): the events it carried, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<Vec<BatchMember>>,
    /// For an endpoint with a delivery objective, once the delivery settles: whether it
    /// met it (delivered within its time of the event's publication) or not (late, or
    /// dead). A batch counts once per event it carried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo_met: Option<bool>,
}

/// One event of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchMember {
    /// The event.
    pub event_id: String,
    /// Its sequence in the events stream.
    pub event_seq: u64,
    /// Its type.
    pub event_type: String,
}

impl AttemptRecord {
    /// The delivery this attempt belongs to: one event for one endpoint.
    #[must_use]
    pub fn delivery_key(&self) -> String {
        delivery_key(&self.tenant, &self.endpoint_id, &self.event_id)
    }
}

/// The key of one delivery: `<tenant>/<endpoint-id>/<event-id>`.
#[must_use]
pub fn delivery_key(tenant: &Tenant, endpoint_id: &str, event_id: &str) -> String {
    format!("{tenant}/{endpoint_id}/{event_id}")
}

/// The payload of one message on `<prefix>.live.<tenant>.<endpoint-id>` (and in the
/// attempts stream) carrying `encoded` attempt records of that endpoint, each already
/// JSON: one record is its JSON object; several, stored together, are a JSON array of them
/// in the order given. [`split_records`] and [`records`] read either.
#[must_use]
pub fn grouped_records(encoded: &[Vec<u8>]) -> Vec<u8> {
    if let [one] = encoded {
        return one.clone();
    }
    let length = encoded.iter().map(|record| record.len() + 1).sum::<usize>() + 1;
    let mut payload = Vec::with_capacity(length);
    payload.push(b'[');
    for (i, record) in encoded.iter().enumerate() {
        if i > 0 {
            payload.push(b',');
        }
        payload.extend_from_slice(record);
    }
    payload.push(b']');
    payload
}

/// Each record of one message (see [`grouped_records`]) as the JSON it was encoded as.
///
/// # Errors
/// The payload is neither a JSON object nor an array of them.
pub fn split_records(
    payload: &[u8],
) -> Result<Vec<&serde_json::value::RawValue>, serde_json::Error> {
    let records: Vec<&serde_json::value::RawValue> =
        if payload.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
            serde_json::from_slice(payload)?
        } else {
            vec![serde_json::from_slice(payload)?]
        };
    if let Some(other) = records.iter().find(|r| !r.get().starts_with('{')) {
        return Err(serde::de::Error::custom(format!(
            "an attempt record must be a JSON object, not {}",
            other.get().chars().take(20).collect::<String>()
        )));
    }
    Ok(records)
}

/// The records one message carries (see [`grouped_records`]), in order.
///
/// # Errors
/// The payload is not one record or an array of records.
pub fn records(payload: &[u8]) -> Result<Vec<AttemptRecord>, serde_json::Error> {
    split_records(payload)?
        .into_iter()
        .map(|raw| serde_json::from_str(raw.get()))
        .collect()
}

/// Cuts a body to at most [`MAX_BODY_EXCERPT`] bytes on a character boundary.
#[must_use]
pub fn body_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(MAX_BODY_EXCERPT)]);
    let mut end = text.len().min(MAX_BODY_EXCERPT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_bounded_and_valid_utf8() {
        assert_eq!(body_excerpt(b"ok"), "ok");
        let long = vec![b'a'; MAX_BODY_EXCERPT + 10];
        assert_eq!(body_excerpt(&long).len(), MAX_BODY_EXCERPT);
        // A multi-byte character straddling the limit is dropped, not split.
        let mut straddling = vec![b'a'; MAX_BODY_EXCERPT - 1];
        straddling.extend_from_slice("é".as_bytes());
        let excerpt = body_excerpt(&straddling);
        assert!(excerpt.len() <= MAX_BODY_EXCERPT);
        assert!(excerpt.chars().all(|c| c == 'a' || c == '\u{fffd}'));
        assert_eq!(body_excerpt(&[0xff, 0xfe]), "\u{fffd}\u{fffd}");
    }

    #[test]
    fn error_kind_names_are_the_wire_names() {
        for kind in [
            ErrorKind::Status,
            ErrorKind::Redirect,
            ErrorKind::Gone,
            ErrorKind::Timeout,
            ErrorKind::Connect,
            ErrorKind::Dns,
            ErrorKind::Tls,
            ErrorKind::Request,
            ErrorKind::EndpointDisabled,
            ErrorKind::BlockedDestination,
            ErrorKind::Auth,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }

    fn attempt(event_id: &str, attempt: u32) -> AttemptRecord {
        AttemptRecord {
            tenant: Tenant::default(),
            endpoint_id: "ep_1".into(),
            event_id: event_id.into(),
            event_seq: 7,
            event_type: "order.paid".into(),
            attempt,
            at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            latency_ms: 1.5,
            url: "https://example.com/hooks".into(),
            request_headers: BTreeMap::from([("webhook-id".into(), event_id.into())]),
            response: None,
            error: None,
            outcome: Outcome::Succeeded,
            next_attempt_at: None,
            correlation_id: None,
            test: false,
            batch: None,
            slo_met: None,
        }
    }

    #[test]
    fn one_record_goes_as_itself_and_several_as_an_array_read_back_in_order() {
        let all = [
            attempt("evt_1", 1),
            attempt("evt_2", 3),
            attempt("evt_3", 1),
        ];
        let encoded: Vec<Vec<u8>> = all.iter().map(|r| serde_json::to_vec(r).unwrap()).collect();
        // One record: exactly what a single record always was on the wire.
        let one = grouped_records(&encoded[..1]);
        assert_eq!(one, encoded[0]);
        assert_eq!(records(&one).unwrap(), all[..1]);
        // Several: an array, each element the record's own encoding, order kept.
        let many = grouped_records(&encoded);
        assert!(many.starts_with(b"[{") && many.ends_with(b"}]"));
        let split = split_records(&many).unwrap();
        assert_eq!(split.len(), 3);
        for (raw, encoded) in split.iter().zip(&encoded) {
            assert_eq!(raw.get().as_bytes(), encoded.as_slice());
        }
        assert_eq!(records(&many).unwrap(), all);
        assert_eq!(grouped_records(&[]), b"[]");
        assert!(records(b"[]").unwrap().is_empty());
        assert_eq!(records(b" \n[ ] ").unwrap(), []);
    }

    #[test]
    fn what_is_not_records_is_refused_not_misread() {
        for payload in [
            &b""[..],
            b"[",
            b"{",
            b"[1]",
            b"[{}, 2]",
            b"[\"x\"]",
            b"42",
            b"null",
            b"{\"tenant\": \"default\"}",
        ] {
            assert!(
                records(payload).is_err(),
                "{:?} must not read as records",
                String::from_utf8_lossy(payload)
            );
        }
        // Splitting alone checks the shape, not the fields.
        assert_eq!(split_records(b"[{}, {}]").unwrap().len(), 2);
        assert_eq!(split_records(b" {} ").unwrap().len(), 1);
        for not_objects in [&b"[{}, []]"[..], b"42", b"\"x\"", b"null", b"[null]"] {
            assert!(split_records(not_objects).is_err());
        }
    }

    #[test]
    fn delivery_keys_join_tenant_endpoint_and_event() {
        assert_eq!(
            delivery_key(&Tenant::default(), "ep_1", "evt_9"),
            "default/ep_1/evt_9"
        );
    }
}
