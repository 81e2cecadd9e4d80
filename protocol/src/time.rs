//! Times in requests: RFC 3339, with an error that says so.
//!
//! chrono's own message for a bad time ("input contains invalid characters") names neither
//! the format nor the value; request fields use these instead (`#[serde(with = ...)]`), so
//! an error reads `since: expected an RFC 3339 time such as 2026-11-22T08:00:00Z, got
//! "yesterday"`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

fn parse<E: serde::de::Error>(text: &str) -> Result<DateTime<Utc>, E> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            E::custom(format!(
                "expected an RFC 3339 time such as 2026-11-22T08:00:00Z, got {text:?}"
            ))
        })
}

/// A required time.
pub mod rfc3339 {
    use super::{DateTime, Deserialize, Deserializer, Serialize, Serializer, Utc};

    /// Reads an RFC 3339 time.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        super::parse(&text)
    }

    /// Writes it as chrono does.
    pub fn serialize<S: Serializer>(time: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        time.serialize(s)
    }
}

/// An optional time (`null` or absent is none).
pub mod rfc3339_option {
    use super::{DateTime, Deserialize, Deserializer, Serialize, Serializer, Utc};

    /// Reads an RFC 3339 time or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| super::parse(&text))
            .transpose()
    }

    /// Writes it as chrono does.
    #[allow(
        clippy::ref_option,
        reason = "serde's `with` passes the field by reference"
    )]
    pub fn serialize<S: Serializer>(time: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        time.serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    struct Window {
        #[serde(with = "rfc3339")]
        since: DateTime<Utc>,
        #[serde(default, with = "rfc3339_option")]
        until: Option<DateTime<Utc>>,
    }

    #[test]
    fn reads_rfc3339_and_names_the_format_otherwise() {
        let window: Window =
            serde_json::from_str(r#"{"since":"2026-11-22T08:00:00+01:00"}"#).unwrap();
        assert_eq!(window.since.to_rfc3339(), "2026-11-22T07:00:00+00:00");
        assert_eq!(window.until, None);
        let back: Window = serde_json::from_value(serde_json::to_value(&window).unwrap()).unwrap();
        assert_eq!(back, window);
        let error = serde_json::from_str::<Window>(r#"{"since":"yesterday"}"#).unwrap_err();
        assert!(error.to_string().contains("RFC 3339"), "{error}");
        assert!(error.to_string().contains("\"yesterday\""), "{error}");
        let error = serde_json::from_str::<Window>(r#"{"since":"2026-11-22T08:00:00Z","until":5}"#)
            .unwrap_err();
        assert!(error.to_string().contains("invalid type"), "{error}");
    }
}
