//! Deliveries on the wire: where one delivery stands, and the `deliveries.*` requests and
//! replies.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::admin::AdminError;
use crate::attempt::{AttemptRecord, BatchMember, ErrorKind, Outcome};
use crate::filter::EventTypeFilter;
use crate::subject::EventType;
use crate::subject::Tenant;

const MAX_EVENT_ID_TEXT: usize = 128;

/// Where one delivery (one event for one endpoint) stands, as of its latest indexed attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// The tenant.
    pub tenant: Tenant,
    /// The endpoint.
    pub endpoint_id: String,
    /// The event.
    pub event_id: String,
    /// The event's stream sequence.
    pub event_seq: u64,
    /// The event type.
    pub event_type: String,
    /// Succeeded, retrying or dead.
    pub state: Outcome,
    /// Attempts made so far.
    pub attempts: u32,
    /// The last response status, if any.
    pub last_status: Option<u16>,
    /// The last failure, if the last attempt failed.
    pub last_error: Option<ErrorKind>,
    /// When the next attempt is due, while retrying.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the last attempt was made.
    pub updated_at: DateTime<Utc>,
    /// A test send (`endpoints.test`), not a published event.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub test: bool,
    /// The batch it went in (its attempts are the batch's), for an endpoint in batch mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_id: Option<String>,
}

impl DeliveryRecord {
    /// The delivery as `record`, its latest attempt, leaves it.
    #[must_use]
    pub fn from_attempt(record: &AttemptRecord) -> Self {
        Self {
            tenant: record.tenant.clone(),
            endpoint_id: record.endpoint_id.clone(),
            event_id: record.event_id.clone(),
            event_seq: record.event_seq,
            event_type: record.event_type.clone(),
            state: record.outcome,
            attempts: record.attempt,
            last_status: record.response.as_ref().map(|r| r.status),
            last_error: record.error.as_ref().map(|e| e.kind),
            next_attempt_at: record.next_attempt_at,
            updated_at: record.at,
            test: record.test,
            batch_id: None,
        }
    }

    /// The delivery of `member`, one event of the batch `record` attempted.
    #[must_use]
    pub fn of_member(record: &AttemptRecord, member: &BatchMember) -> Self {
        Self {
            event_id: member.event_id.clone(),
            event_seq: member.event_seq,
            event_type: member.event_type.clone(),
            batch_id: Some(record.event_id.clone()),
            ..Self::from_attempt(record)
        }
    }
}

/// `deliveries.get` and `deliveries.redeliver`: one event for one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryId {
    /// The endpoint.
    #[serde(with = "crate::endpoint::id")]
    pub endpoint_id: String,
    /// The event (the `webhook-id`).
    pub event_id: String,
}

/// The reply to `deliveries.get`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryDetail {
    /// Where it stands.
    pub delivery: DeliveryRecord,
    /// Every attempt, oldest first.
    pub attempts: Vec<AttemptRecord>,
    /// The event's data as published (the body each attempt sent wraps it); `null` once
    /// the event has aged out of the stream.
    pub event_data: Option<serde_json::Value>,
}

/// The reply to `deliveries.list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryPage {
    /// Deliveries, most recently attempted first.
    pub deliveries: Vec<DeliveryRecord>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// The reply to `deliveries.redeliver`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redelivered {
    /// Always true: the delivery is queued.
    pub queued: bool,
    /// The attempt number it was queued as.
    pub attempt: u32,
}

/// The reply to `deliveries.redeliver-failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedeliveredFailed {
    /// Deliveries sent again.
    pub redelivered: u64,
    /// True when more were dead than one request sends (10,000): ask again.
    pub more: bool,
}

/// `deliveries.list`: newest first, every filter optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ListDeliveries {
    /// Only this endpoint's.
    #[serde(default, with = "crate::endpoint::id_option")]
    pub endpoint_id: Option<String>,
    /// Only types matching this filter (`orders.*`, `orders.>`).
    #[serde(default)]
    pub event_type: Option<String>,
    /// Only deliveries in this state.
    #[serde(default)]
    pub state: Option<Outcome>,
    /// Only deliveries last attempted at or after this time.
    #[serde(default, with = "crate::time::rfc3339_option")]
    pub since: Option<DateTime<Utc>>,
    /// Only deliveries last attempted before this time.
    #[serde(default, with = "crate::time::rfc3339_option")]
    pub until: Option<DateTime<Utc>>,
    /// Only event ids containing this text.
    #[serde(default)]
    pub event_id: Option<String>,
    /// Continue from the previous page's `next_cursor`.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Page size, 1–500 (default 100).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// `deliveries.redeliver-failed`: every dead delivery of an endpoint since a time.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RedeliverFailed {
    /// The endpoint.
    #[serde(with = "crate::endpoint::id")]
    pub endpoint_id: String,
    /// Deliveries that died at or after this time.
    #[serde(with = "crate::time::rfc3339")]
    pub since: DateTime<Utc>,
}

/// A validated delivery filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryQuery {
    /// Only this endpoint's.
    pub endpoint_id: Option<String>,
    /// Only matching types.
    pub event_type: Option<EventTypeFilter>,
    /// Only this state.
    pub state: Option<Outcome>,
    /// Last attempted at or after, Unix milliseconds.
    pub since_ms: Option<i64>,
    /// Last attempted before, Unix milliseconds.
    pub until_ms: Option<i64>,
    /// Event ids containing this.
    pub event_id_contains: Option<String>,
}

impl ListDeliveries {
    /// The request's filters, checked (the endpoint id was checked as the request was
    /// read: `endpoint::id_option`).
    pub fn query(&self) -> Result<DeliveryQuery, AdminError> {
        let event_type = self
            .event_type
            .as_deref()
            .map(EventTypeFilter::new)
            .transpose()
            .map_err(|e| AdminError::invalid("event_type", e.to_string()))?;
        if let (Some(since), Some(until)) = (self.since, self.until)
            && since >= until
        {
            return Err(AdminError::invalid("since", "must be before until"));
        }
        if self
            .event_id
            .as_ref()
            .is_some_and(|t| t.is_empty() || t.len() > MAX_EVENT_ID_TEXT)
        {
            return Err(AdminError::invalid("event_id", "must be 1-128 characters"));
        }
        Ok(DeliveryQuery {
            endpoint_id: self.endpoint_id.clone(),
            event_type,
            state: self.state,
            since_ms: self.since.map(|t| t.timestamp_millis()),
            until_ms: self.until.map(|t| t.timestamp_millis()),
            event_id_contains: self.event_id.clone(),
        })
    }
}

impl DeliveryQuery {
    /// Whether a delivery passes the filters other than time (the store ranges over time).
    #[must_use]
    pub fn matches(
        &self,
        endpoint_id: &str,
        event_type: &str,
        state: Outcome,
        event_id: &str,
    ) -> bool {
        self.endpoint_id.as_deref().is_none_or(|e| e == endpoint_id)
            && self.state.is_none_or(|s| s == state)
            && self
                .event_id_contains
                .as_deref()
                .is_none_or(|text| event_id.contains(text))
            && self
                .event_type
                .as_ref()
                .is_none_or(|filter| EventType::new(event_type).is_ok_and(|t| filter.matches(&t)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(json: &str) -> Result<DeliveryQuery, AdminError> {
        AdminError::parse::<ListDeliveries>(json.as_bytes())?.query()
    }

    #[test]
    fn filters_combine() {
        let q = query(
            r#"{"endpoint_id":"ep_1","event_type":"orders.*","state":"dead","event_id":"42"}"#,
        )
        .unwrap();
        assert!(q.matches("ep_1", "orders.paid", Outcome::Dead, "evt_42_x"));
        assert!(!q.matches("ep_2", "orders.paid", Outcome::Dead, "evt_42"));
        assert!(!q.matches("ep_1", "orders.paid.late", Outcome::Dead, "evt_42"));
        assert!(!q.matches("ep_1", "orders.paid", Outcome::Succeeded, "evt_42"));
        assert!(!q.matches("ep_1", "orders.paid", Outcome::Dead, "evt_43"));
        assert!(
            query("{}")
                .unwrap()
                .matches("any", "a.b", Outcome::Retrying, "x")
        );
    }

    #[test]
    fn bad_filters_are_named() {
        let field = |json: &str| query(json).unwrap_err().field.unwrap();
        assert_eq!(field(r#"{"event_type":"a.>.b"}"#), "event_type");
        assert_eq!(field(r#"{"endpoint_id":"a b"}"#), "endpoint_id");
        assert_eq!(field(r#"{"event_id":""}"#), "event_id");
        assert_eq!(
            field(r#"{"since":"2026-01-02T00:00:00Z","until":"2026-01-01T00:00:00Z"}"#),
            "since"
        );
        assert!(serde_json::from_str::<ListDeliveries>(r#"{"state":"lost"}"#).is_err());
        assert!(serde_json::from_str::<ListDeliveries>(r#"{"colour":1}"#).is_err());
    }
}
