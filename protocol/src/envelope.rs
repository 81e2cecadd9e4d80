//! The JSON body a receiver gets: `{"type", "timestamp", "data"}`, as Standard Webhooks
//! recommends; a batch is an array of them, each with its event's `id`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The default webhook body.
///
/// `data` is kept as the publisher's raw JSON text, so the bytes a service published are
/// the bytes a receiver gets: no re-encoding, no reordered keys, no float rounding.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventEnvelope {
    /// The event type, e.g. `memory.created`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// When the event was published.
    #[serde(with = "rfc3339_millis")]
    pub timestamp: DateTime<Utc>,
    /// The event's payload as published.
    pub data: Box<RawValue>,
}

impl EventEnvelope {
    /// The envelope as the JSON bytes of a webhook body.
    #[must_use]
    pub fn to_body(&self) -> Vec<u8> {
        serde_json::to_vec(self)
            .expect("an envelope of a string, a time and raw JSON always encodes")
    }
}

/// One event of a batch body, `[{"id", "type", "timestamp", "data"}, ...]`: the envelope
/// with the event's id (the batch's own id is the `webhook-id`).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct BatchedEnvelope<'a> {
    /// The event id: what a receiver de-duplicates on.
    pub id: &'a str,
    /// The event type.
    #[serde(rename = "type")]
    pub event_type: &'a str,
    /// When the event was published.
    #[serde(with = "rfc3339_millis")]
    pub timestamp: DateTime<Utc>,
    /// The event's payload as published.
    pub data: &'a RawValue,
}

/// The body of a batch: its events' envelopes as a JSON array, in order.
#[must_use]
pub fn batch_body(events: &[BatchedEnvelope<'_>]) -> Vec<u8> {
    serde_json::to_vec(events).expect("envelopes of strings, times and raw JSON always encode")
}

/// RFC 3339 in UTC with millisecond precision (`2026-01-02T03:04:05.678Z`), the form most
/// receivers' date parsers accept.
mod rfc3339_millis {
    use super::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn body_has_the_standard_shape_and_keeps_data_bytes() {
        let envelope = EventEnvelope {
            event_type: "memory.created".into(),
            timestamp: Utc.timestamp_millis_opt(1_700_000_000_123).unwrap(),
            data: RawValue::from_string(r#"{"b":1,"a":1.10}"#.into()).unwrap(),
        };
        let body = String::from_utf8(envelope.to_body()).unwrap();
        assert_eq!(
            body,
            r#"{"type":"memory.created","timestamp":"2023-11-14T22:13:20.123Z","data":{"b":1,"a":1.10}}"#
        );
        let back: EventEnvelope = serde_json::from_str(&body).unwrap();
        assert_eq!(back.timestamp, envelope.timestamp);
        assert_eq!(back.data.get(), r#"{"b":1,"a":1.10}"#);
    }

    #[test]
    fn a_batch_is_an_array_of_envelopes_with_ids() {
        let data = RawValue::from_string(r#"{"n": 1}"#.into()).unwrap();
        let at = Utc.timestamp_millis_opt(1_700_000_000_123).unwrap();
        let body = batch_body(&[
            BatchedEnvelope {
                id: "evt_1",
                event_type: "a.b",
                timestamp: at,
                data: &data,
            },
            BatchedEnvelope {
                id: "evt_\"2",
                event_type: "a.c",
                timestamp: at,
                data: &data,
            },
        ]);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"[{"id":"evt_1","type":"a.b","timestamp":"2023-11-14T22:13:20.123Z","data":{"n": 1}},{"id":"evt_\"2","type":"a.c","timestamp":"2023-11-14T22:13:20.123Z","data":{"n": 1}}]"#
        );
    }

    #[test]
    fn bad_timestamp_is_an_error() {
        let err = serde_json::from_str::<EventEnvelope>(
            r#"{"type":"a","timestamp":"yesterday","data":{}}"#,
        )
        .unwrap_err();
        assert!(err.is_data(), "{err}");
    }
}
