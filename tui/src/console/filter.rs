//! The filter languages typed after `/`.
//!
//! Live view: space-separated terms, all of which must match.
//! `status:failed|succeeded|retrying|dead`, `endpoint:ID`, `type:FILTER` (NATS wildcards),
//! `code:5xx|404`, anything else is free text matched against the event id, endpoint id,
//! type and error.
//!
//! Deliveries search: `endpoint:ID status:succeeded|retrying|dead type:FILTER since:WHEN
//! until:WHEN` and free text the event id contains, turned into a `deliveries.list` request.

use hookwire_protocol::attempt::{AttemptRecord, Outcome};
use hookwire_protocol::delivery::ListDeliveries;
use hookwire_protocol::{EventType, EventTypeFilter};

/// One term of a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    /// The attempt failed (any outcome but success).
    Failed,
    /// The delivery is in this state after the attempt.
    Outcome(Outcome),
    Endpoint(String),
    Type(EventTypeFilter),
    /// A status class (`5xx`: 5) or an exact status.
    StatusClass(u16),
    Status(u16),
    Text(String),
}

/// A parsed filter; the empty filter matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LiveFilter {
    terms: Vec<Term>,
}

impl LiveFilter {
    /// Parses `text`; the error names the term that is not understood.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let terms = text
            .split_whitespace()
            .map(|word| match word.split_once(':') {
                Some(("status", value)) => match value {
                    "failed" => Ok(Term::Failed),
                    "succeeded" => Ok(Term::Outcome(Outcome::Succeeded)),
                    "retrying" => Ok(Term::Outcome(Outcome::Retrying)),
                    "dead" => Ok(Term::Outcome(Outcome::Dead)),
                    _ => Err(format!(
                        "status:{value}? use failed, succeeded, retrying or dead"
                    )),
                },
                Some(("endpoint", id)) if !id.is_empty() => Ok(Term::Endpoint(id.to_owned())),
                Some(("type", filter)) => EventTypeFilter::new(filter)
                    .map(Term::Type)
                    .map_err(|e| format!("type:{filter}: {e}")),
                Some(("code", code)) => parse_code(code),
                _ => Ok(Term::Text(word.to_lowercase())),
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { terms })
    }

    /// Whether `record` passes every term.
    pub(crate) fn matches(&self, record: &AttemptRecord) -> bool {
        let status = record.response.as_ref().map(|r| r.status);
        self.terms.iter().all(|term| match term {
            Term::Failed => record.error.is_some(),
            Term::Outcome(outcome) => record.outcome == *outcome,
            Term::Endpoint(id) => record.endpoint_id == *id,
            Term::Type(filter) => {
                EventType::new(&record.event_type).is_ok_and(|t| filter.matches(&t))
            }
            Term::StatusClass(class) => status.is_some_and(|s| s / 100 == *class),
            Term::Status(code) => status == Some(*code),
            Term::Text(text) => [
                record.event_id.as_str(),
                record.endpoint_id.as_str(),
                record.event_type.as_str(),
                record.error.as_ref().map_or("", |e| e.message.as_str()),
            ]
            .iter()
            .any(|field| field.to_lowercase().contains(text)),
        })
    }
}

/// Reads a deliveries search into a `deliveries.list` request.
pub(crate) fn deliveries_query(
    text: &str,
    now: chrono::DateTime<chrono::Utc>,
    limit: u32,
) -> Result<ListDeliveries, String> {
    let mut query = ListDeliveries {
        limit: Some(limit),
        ..ListDeliveries::default()
    };
    let mut words = Vec::new();
    for word in text.split_whitespace() {
        match word.split_once(':') {
            Some(("endpoint", id)) if !id.is_empty() => query.endpoint_id = Some(id.to_owned()),
            Some(("status", "succeeded")) => query.state = Some(Outcome::Succeeded),
            Some(("status", "retrying")) => query.state = Some(Outcome::Retrying),
            Some(("status", "dead")) => query.state = Some(Outcome::Dead),
            Some(("status", other)) => {
                return Err(format!("status:{other}? use succeeded, retrying or dead"));
            }
            Some(("type", filter)) => {
                EventTypeFilter::new(filter).map_err(|e| format!("type:{filter}: {e}"))?;
                query.event_type = Some(filter.to_owned());
            }
            Some((key @ ("since" | "until"), when)) => {
                let at = crate::when::parse(when, now).map_err(|e| format!("{key}: {e}"))?;
                if key == "since" {
                    query.since = Some(at);
                } else {
                    query.until = Some(at);
                }
            }
            _ => words.push(word),
        }
    }
    if !words.is_empty() {
        query.event_id = Some(words.join(" "));
    }
    Ok(query)
}

fn parse_code(code: &str) -> Result<Term, String> {
    let invalid = || format!("code:{code}? use a status (404) or a class (5xx)");
    match code.as_bytes() {
        [class @ b'1'..=b'5', b'x', b'x'] => Ok(Term::StatusClass(u16::from(class - b'0'))),
        _ => code
            .parse::<u16>()
            .ok()
            .filter(|c| (100..=599).contains(c))
            .map(Term::Status)
            .ok_or_else(invalid),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use hookwire_protocol::Tenant;
    use hookwire_protocol::attempt::{ErrorKind, ErrorRecord, ResponseRecord};
    use std::collections::BTreeMap;

    pub(crate) fn attempt(endpoint: &str, event_type: &str, status: Option<u16>) -> AttemptRecord {
        AttemptRecord {
            tenant: Tenant::default(),
            endpoint_id: endpoint.into(),
            event_id: format!("evt-{endpoint}"),
            event_seq: 1,
            event_type: event_type.into(),
            attempt: 1,
            at: chrono::Utc::now(),
            latency_ms: 3.0,
            url: "http://127.0.0.1/".into(),
            request_headers: BTreeMap::new(),
            response: status.map(|status| ResponseRecord {
                status,
                headers: BTreeMap::new(),
                body: String::new(),
            }),
            error: match status {
                Some(200..=299) => None,
                _ => Some(ErrorRecord {
                    kind: ErrorKind::Status,
                    message: "Connection Refused".into(),
                }),
            },
            outcome: if status.is_some_and(|s| s < 300) {
                Outcome::Succeeded
            } else {
                Outcome::Retrying
            },
            next_attempt_at: None,
            correlation_id: None,
            test: false,
            batch: None,
            slo_met: None,
        }
    }

    fn keeps(filter: &str, record: &AttemptRecord) -> bool {
        LiveFilter::parse(filter).unwrap().matches(record)
    }

    #[test]
    fn terms_combine_and_all_must_match() {
        let ok = attempt("ep_a", "memory.created", Some(200));
        let failed = attempt("ep_b", "memory.deleted", Some(503));
        assert!(keeps("", &ok));
        assert!(keeps("status:failed", &failed) && !keeps("status:failed", &ok));
        assert!(keeps("status:succeeded", &ok) && keeps("status:retrying", &failed));
        assert!(keeps("endpoint:ep_a", &ok) && !keeps("endpoint:ep_a", &failed));
        assert!(keeps("type:memory.*", &failed) && !keeps("type:orders.>", &failed));
        assert!(keeps("code:5xx", &failed) && !keeps("code:5xx", &ok));
        assert!(keeps("code:503", &failed) && !keeps("code:500", &failed));
        assert!(keeps(
            "status:failed endpoint:ep_b code:5xx type:memory.*",
            &failed
        ));
        assert!(!keeps("status:failed endpoint:ep_a", &failed));
        let timeout = attempt("ep_c", "a.b", None);
        assert!(
            !keeps("code:5xx", &timeout),
            "no response has no status class"
        );
    }

    #[test]
    fn free_text_searches_ids_types_and_errors_ignoring_case() {
        let failed = attempt("ep_b", "memory.deleted", Some(503));
        assert!(keeps("refused", &failed));
        assert!(keeps("EVT-EP_B", &failed));
        assert!(keeps("deleted", &failed));
        assert!(!keeps("orders", &failed));
    }

    #[test]
    fn deliveries_searches_become_list_requests() {
        use chrono::TimeZone as _;
        let now = chrono::Utc.timestamp_opt(1_800_000_000, 0).unwrap();
        let query = deliveries_query(
            "endpoint:ep_1 status:dead type:orders.* since:2h order-7",
            now,
            50,
        )
        .unwrap();
        assert_eq!(
            query,
            ListDeliveries {
                endpoint_id: Some("ep_1".to_owned()),
                event_type: Some("orders.*".to_owned()),
                state: Some(Outcome::Dead),
                since: Some(now - chrono::TimeDelta::hours(2)),
                event_id: Some("order-7".to_owned()),
                limit: Some(50),
                ..ListDeliveries::default()
            }
        );
        assert_eq!(
            deliveries_query("", now, 10).unwrap(),
            ListDeliveries {
                limit: Some(10),
                ..ListDeliveries::default()
            }
        );
        for bad in ["status:failed", "since:soon", "type:a.>.b"] {
            let error = deliveries_query(bad, now, 10).unwrap_err();
            assert!(error.contains(bad.split(':').next().unwrap()), "{error}");
        }
    }

    #[test]
    fn bad_terms_are_named() {
        for (text, named) in [
            ("status:lost", "status:lost"),
            ("code:6xx", "code:6xx"),
            ("code:abc", "code:abc"),
            ("type:a.>.b", "type:a.>.b"),
        ] {
            let error = LiveFilter::parse(text).unwrap_err();
            assert!(error.contains(named), "{error}");
        }
    }
}

/// Fuzz targets for both filter languages (see `protocol/tests/fuzz.rs` for the approach).
#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::tests::attempt;
    use super::*;

    fn texty() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "((status|endpoint|type|code|since|until):[a-z0-9.*>-]{0,12} ?){0,5}",
        ]
    }

    proptest! {
        #[test]
        fn the_live_filter_parses_or_refuses_and_never_panics_matching(text in texty()) {
            if let Ok(filter) = LiveFilter::parse(&text) {
                let _ = filter.matches(&attempt("ep_1", "orders.paid", Some(500)));
                let _ = filter.matches(&attempt("ep_2", "a.b", None));
            }
        }

        #[test]
        fn the_deliveries_search_reads_or_refuses(text in texty(), limit in any::<u32>()) {
            if let Ok(query) = deliveries_query(&text, chrono::Utc::now(), limit) {
                // What the console would send is a request hookwired reads, or refuses
                // naming the field (an endpoint id the search took as given).
                let body = serde_json::to_vec(&query).unwrap();
                let read = hookwire_protocol::admin::AdminError::parse::<ListDeliveries>(&body);
                prop_assert!(read.as_ref().map_or_else(|e| e.field.is_some(), |_| true), "{:?}", read);
            }
        }
    }
}
