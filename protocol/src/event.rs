//! Events read back from the events stream: `events.get` and `events.list`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::delivery::DeliveryRecord;

/// `events.get`: one event by stream sequence or by id (exactly one of the two).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GetEvent {
    /// The event's sequence in the events stream.
    #[serde(default)]
    pub seq: Option<u64>,
    /// The event id (found through the deliveries it caused).
    #[serde(default)]
    pub id: Option<String>,
}

/// `events.list`: a tenant's events in stream order.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ListEvents {
    /// Only types matching this filter.
    #[serde(default)]
    pub event_type: Option<String>,
    /// Only events published at or after this time.
    #[serde(default, with = "crate::time::rfc3339_option")]
    pub since: Option<DateTime<Utc>>,
    /// Continue after this stream sequence (the previous page's `next_cursor`).
    #[serde(default)]
    pub cursor: Option<u64>,
    /// Page size, 1–500 (default 100).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// One event as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventSummary {
    /// Its sequence in the events stream.
    pub seq: u64,
    /// Its id (`null` for an event whose id header was refused).
    pub id: Option<String>,
    /// Its type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// When the stream stored it.
    pub published_at: DateTime<Utc>,
    /// The size of its body.
    pub bytes: usize,
    /// The published JSON (`events.get` only; `null` for a body that is not JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

/// The reply to `events.get`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventDetail {
    /// The event, with its data.
    pub event: EventSummary,
    /// The deliveries it caused, one per endpoint.
    pub deliveries: Vec<DeliveryRecord>,
}

/// The reply to `events.list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventPage {
    /// Events in stream order.
    pub events: Vec<EventSummary>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<u64>,
}
