//! Dead letters on the wire: deliveries that used up their attempts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One dead letter as `dead-letters.list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Its sequence in the dead-letter stream: the handle for `requeue`.
    pub seq: u64,
    /// The endpoint.
    pub endpoint_id: String,
    /// The event.
    pub event_id: String,
    /// The event type.
    pub event_type: String,
    /// Attempts made.
    pub attempts: u32,
    /// The last failure.
    pub last_error: Option<String>,
    /// When it died.
    pub dead_at: DateTime<Utc>,
    /// For a batch (`event_id` is the batch id, `event_type` its first event's): how many
    /// events it carries; requeued and purged as a unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<u32>,
}

/// `dead-letters.list`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ListDeadLetters {
    /// Only this endpoint's.
    #[serde(default, with = "crate::endpoint::id_option")]
    pub endpoint_id: Option<String>,
    /// Page size, 1–500 (default 100).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Start after this sequence (the previous page's `next_cursor`).
    #[serde(default)]
    pub cursor: Option<u64>,
}

/// The reply to `dead-letters.list`, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeadLetterPage {
    /// The dead letters.
    pub dead_letters: Vec<DeadLetter>,
    /// Pass as `cursor` for the next page; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<u64>,
}

/// `dead-letters.requeue` and `dead-letters.purge`: one dead letter by `seq`, or every dead
/// letter of `endpoint_id`. Exactly one of the two.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DeadLetterSelection {
    /// One dead letter.
    #[serde(default)]
    pub seq: Option<u64>,
    /// All of one endpoint.
    #[serde(default, with = "crate::endpoint::id_option")]
    pub endpoint_id: Option<String>,
}

/// The reply to `dead-letters.requeue`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requeued {
    /// Dead letters sent back for delivery.
    pub requeued: u64,
}

/// The reply to `dead-letters.purge`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purged {
    /// Dead letters deleted.
    pub purged: u64,
}
