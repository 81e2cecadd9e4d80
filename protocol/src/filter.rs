//! Event-type filters with NATS wildcards, as endpoints use them to choose their events.
//!
//! A filter is dot-separated tokens like an event type, where a token may also be `*`
//! (exactly one token) and the last token may be `>` (one or more tokens), with the same
//! meaning as in NATS subjects: `memory.*` matches `memory.created` but not
//! `memory.created.v2`; `orders.>` matches both `orders.paid` and `orders.paid.eu`, but
//! not `orders` itself.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::subject::EventType;

const MAX_FILTER_LEN: usize = 255;
const MAX_FILTER_TOKENS: usize = 16;

/// A filter that was refused, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid event-type filter {filter:?}: {reason}; filters are dot-separated tokens of A-Z, a-z, 0-9, '-' and '_', where '*' stands for one token and a final '>' for one or more"
)]
pub struct FilterError {
    /// The refused filter.
    pub filter: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// A validated event-type filter such as `memory.*` or `orders.>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventTypeFilter(String);

impl EventTypeFilter {
    /// Validates a filter.
    pub fn new(filter: &str) -> Result<Self, FilterError> {
        let refuse = |reason| FilterError {
            filter: filter.to_owned(),
            reason,
        };
        if filter.is_empty() {
            return Err(refuse("it is empty"));
        }
        if filter.len() > MAX_FILTER_LEN {
            return Err(refuse("it is longer than 255 characters"));
        }
        let tokens: Vec<&str> = filter.split('.').collect();
        if tokens.len() > MAX_FILTER_TOKENS {
            return Err(refuse("it has more than 16 tokens"));
        }
        let last = tokens.len() - 1;
        for (i, token) in tokens.iter().enumerate() {
            match *token {
                "" => return Err(refuse("it has an empty token")),
                "*" => {}
                ">" if i == last => {}
                ">" => return Err(refuse("'>' may only be the last token")),
                t if t
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') => {}
                _ => return Err(refuse("a token has a character that is not allowed")),
            }
        }
        Ok(Self(filter.to_owned()))
    }

    /// The filter that matches every event type.
    #[must_use]
    pub fn all() -> Self {
        Self(">".to_owned())
    }

    /// The filter as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when `event_type` is one of the types this filter selects.
    #[must_use]
    pub fn matches(&self, event_type: &EventType) -> bool {
        let mut types = event_type.tokens();
        for pattern in self.0.split('.') {
            match (pattern, types.next()) {
                (">", Some(_)) => return true,
                ("*", Some(_)) => {}
                (literal, Some(token)) if literal == token => {}
                _ => return false,
            }
        }
        types.next().is_none()
    }
}

impl fmt::Display for EventTypeFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for EventTypeFilter {
    type Err = FilterError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for EventTypeFilter {
    type Error = FilterError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(&s)
    }
}

impl From<EventTypeFilter> for String {
    fn from(value: EventTypeFilter) -> String {
        value.0
    }
}

/// True when any of `filters` matches `event_type`; an empty list matches every type.
#[must_use]
pub fn any_matches(filters: &[EventTypeFilter], event_type: &EventType) -> bool {
    filters.is_empty() || filters.iter().any(|f| f.matches(event_type))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(filter: &str, event_type: &str) -> bool {
        EventTypeFilter::new(filter)
            .unwrap()
            .matches(&EventType::new(event_type).unwrap())
    }

    #[test]
    fn literal_filters_match_exactly() {
        assert!(matches("memory.created", "memory.created"));
        assert!(!matches("memory.created", "memory.deleted"));
        assert!(!matches("memory.created", "memory"));
        assert!(!matches("memory.created", "memory.created.v2"));
        assert!(!matches("memory", "memory.created"));
    }

    #[test]
    fn star_matches_exactly_one_token() {
        assert!(matches("memory.*", "memory.created"));
        assert!(!matches("memory.*", "memory"));
        assert!(!matches("memory.*", "memory.created.v2"));
        assert!(matches("*.created", "memory.created"));
        assert!(!matches("*.created", "memory.deleted"));
        assert!(matches("*", "memory"));
        assert!(!matches("*", "memory.created"));
        assert!(matches("a.*.c", "a.b.c"));
        assert!(!matches("a.*.c", "a.c"));
    }

    #[test]
    fn tail_matches_one_or_more_tokens() {
        assert!(matches("orders.>", "orders.paid"));
        assert!(matches("orders.>", "orders.paid.eu"));
        assert!(!matches("orders.>", "orders"));
        assert!(!matches("orders.>", "refunds.paid"));
        assert!(matches(">", "anything"));
        assert!(matches(">", "any.thing.at.all"));
        assert!(matches("*.>", "a.b"));
        assert!(!matches("*.>", "a"));
    }

    #[test]
    fn filters_are_validated() {
        for ok in ["a", "a.b", "*", ">", "a.*", "a.>", "*.*.>", "A-b_9.*"] {
            assert!(EventTypeFilter::new(ok).is_ok(), "{ok} should be valid");
        }
        for bad in [
            "", ".", "a.", "a..b", ">.a", "a.>.b", "a*", "a>", "a b", "é", "**",
        ] {
            assert!(
                EventTypeFilter::new(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
        assert!(EventTypeFilter::new(&"a".repeat(256)).is_err());
        assert!(EventTypeFilter::new(&vec!["*"; 17].join(".")).is_err());
        let err = EventTypeFilter::new("a.>.b").unwrap_err();
        assert_eq!(err.reason, "'>' may only be the last token");
    }

    #[test]
    fn empty_filter_list_matches_everything() {
        let t = EventType::new("x.y").unwrap();
        assert!(any_matches(&[], &t));
        assert!(any_matches(&[EventTypeFilter::all()], &t));
        let only_a = [EventTypeFilter::new("a.*").unwrap()];
        assert!(!any_matches(&only_a, &t));
    }

    #[test]
    fn filters_deserialize_with_validation() {
        let f: EventTypeFilter = serde_json::from_str("\"a.*\"").unwrap();
        assert_eq!(f.as_str(), "a.*");
        assert!(serde_json::from_str::<EventTypeFilter>("\"a.>.b\"").is_err());
    }
}
