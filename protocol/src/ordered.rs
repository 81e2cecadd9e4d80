//! Ordered delivery on the wire: the keys whose head failed and waits (blocked keys), and
//! the operator's way past one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A key of an ordered endpoint whose first event failed and holds the key's later events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockedKey {
    /// The lane: what `endpoints.skip-head` names.
    pub lane: String,
    /// The key (at most 256 characters of it).
    pub key: String,
    /// The event at the head.
    pub event_id: String,
    /// Its sequence in the events stream.
    pub event_seq: u64,
    /// Attempts made at it.
    pub attempts: u32,
    /// Why the last one failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the next attempt is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Since when the key waits.
    pub since: DateTime<Utc>,
}

/// The reply to `endpoints.blocked-keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockedKeys {
    /// The endpoint's blocked keys, longest blocked first.
    pub keys: Vec<BlockedKey>,
}

/// `endpoints.skip-head`: moves a lane's head aside so the key's next event goes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkipHead {
    /// The endpoint.
    #[serde(with = "crate::endpoint::id")]
    pub id: String,
    /// The lane (from `endpoints.blocked-keys`).
    pub lane: String,
    /// Keep the head as a dead letter (to requeue later) instead of dropping it.
    #[serde(default)]
    pub dead_letter: bool,
}

/// The reply to `endpoints.skip-head`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedHead {
    /// The event moved aside.
    pub event_id: String,
    /// Whether it went to the dead letters.
    pub dead_lettered: bool,
}

impl SkipHead {
    /// Checks the lane's form: 32 hex digits.
    pub fn validate(&self) -> Result<(), crate::admin::AdminError> {
        if self.lane.len() == 32 && self.lane.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(())
        } else {
            Err(crate::admin::AdminError::invalid(
                "lane",
                "32 hex digits, as endpoints.blocked-keys shows it",
            ))
        }
    }
}
