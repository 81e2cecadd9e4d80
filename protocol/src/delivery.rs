//! Delivery queries on the wire: `deliveries.list` and `deliveries.redeliver-failed`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::admin::AdminError;
use crate::attempt::Outcome;
use crate::filter::EventTypeFilter;
use crate::subject::EventType;

const MAX_EVENT_ID_TEXT: usize = 128;

/// `deliveries.list`: newest first, every filter optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListDeliveries {
    /// Only this endpoint's.
    #[serde(default)]
    pub endpoint_id: Option<String>,
    /// Only types matching this filter (`orders.*`, `orders.>`).
    #[serde(default)]
    pub event_type: Option<String>,
    /// Only deliveries in this state.
    #[serde(default)]
    pub state: Option<Outcome>,
    /// Only deliveries last attempted at or after this time.
    #[serde(default)]
    pub since: Option<DateTime<Utc>>,
    /// Only deliveries last attempted before this time.
    #[serde(default)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedeliverFailed {
    /// The endpoint.
    pub endpoint_id: String,
    /// Deliveries that died at or after this time.
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
    /// The request's filters, checked.
    pub fn query(&self) -> Result<DeliveryQuery, AdminError> {
        if let Some(id) = &self.endpoint_id {
            crate::endpoint::validate_id(id)
                .map_err(|e| AdminError::invalid("endpoint_id", e.message))?;
        }
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
        serde_json::from_str::<ListDeliveries>(json)
            .unwrap()
            .query()
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
