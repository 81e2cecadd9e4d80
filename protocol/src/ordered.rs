//! Ordered delivery on the wire: the keys whose head failed and waits (blocked keys), and
//! the operator's way past one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How many partitions the lanes are spread over; each has one owner instance at a time.
/// Fixed: a lane's partition must never change while it holds events.
pub const PARTITIONS: u8 = 16;

/// The partition of `lane` (a hex digest): its first byte modulo [`PARTITIONS`]; a lane
/// that is not hex (never built by hookwired) goes to partition 0.
#[must_use]
pub fn partition(lane: &str) -> u8 {
    lane.get(..2)
        .and_then(|head| u8::from_str_radix(head, 16).ok())
        .map_or(0, |byte| byte % PARTITIONS)
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lane_s_partition_comes_from_its_first_byte() {
        assert_eq!(partition("00ff"), 0);
        assert_eq!(partition("0f00"), 15);
        assert_eq!(partition("10"), 0);
        assert_eq!(partition("ff"), 15);
        assert_eq!(partition("1a"), 10);
        let seen: std::collections::BTreeSet<u8> = (0..=255u8)
            .map(|byte| partition(&format!("{byte:02x}")))
            .collect();
        assert_eq!(
            seen.len(),
            usize::from(PARTITIONS),
            "every partition is used"
        );
        assert!(seen.iter().all(|p| *p < PARTITIONS));
    }

    #[test]
    fn a_lane_that_is_not_hex_goes_to_partition_0() {
        assert_eq!(partition(""), 0);
        assert_eq!(partition("z"), 0);
        assert_eq!(partition("zz00"), 0);
        assert_eq!(partition("é"), 0);
    }
}
