//! What an attempt's result means: delivered, retry (maybe when the receiver asked), or
//! disable the endpoint. Pure: the HTTP layer reports facts, this decides.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hookwire_protocol::attempt::{ErrorKind, ErrorRecord};

use super::http::Sent;

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// 2xx: done.
    Delivered,
    /// Try again; `retry_after` when the receiver said when.
    Retry {
        /// Why this attempt failed.
        kind: ErrorKind,
        /// The receiver's `Retry-After`, if it sent a usable one with 429/502/503/504.
        retry_after: Option<Duration>,
    },
    /// 410 Gone: stop delivering to this endpoint.
    Disable,
}

/// Classifies an HTTP answer. `retry_after` is the raw header, honoured only with the
/// statuses where it means "come back later".
#[must_use]
pub(crate) fn classify_status(
    status: u16,
    retry_after: Option<&str>,
    now: DateTime<Utc>,
) -> Verdict {
    match status {
        200..=299 => Verdict::Delivered,
        410 => Verdict::Disable,
        300..=399 => Verdict::Retry {
            kind: ErrorKind::Redirect,
            retry_after: None,
        },
        429 | 502 | 503 | 504 => Verdict::Retry {
            kind: ErrorKind::Status,
            retry_after: retry_after.and_then(|v| parse_retry_after(v, now)),
        },
        _ => Verdict::Retry {
            kind: ErrorKind::Status,
            retry_after: None,
        },
    }
}

/// What a request's result means: a response by its status, no response as a retry.
#[must_use]
pub(crate) fn verdict(sent: &Sent, now: DateTime<Utc>) -> Verdict {
    match (&sent.response, &sent.error) {
        (Some(response), _) => classify_status(response.status, sent.retry_after.as_deref(), now),
        (None, Some((kind, _))) => Verdict::Retry {
            kind: *kind,
            retry_after: None,
        },
        (None, None) => Verdict::Retry {
            kind: ErrorKind::Request,
            retry_after: None,
        },
    }
}

/// The failure to record for a request with this `verdict`, if it failed.
#[must_use]
pub(crate) fn error_record(sent: &Sent, verdict: Verdict) -> Option<ErrorRecord> {
    match (&sent.error, verdict) {
        (Some((kind, message)), _) => Some(ErrorRecord {
            kind: *kind,
            message: message.clone(),
        }),
        (None, Verdict::Delivered) => None,
        (None, Verdict::Disable) => Some(ErrorRecord {
            kind: ErrorKind::Gone,
            message: "the receiver answered 410 Gone".into(),
        }),
        (None, Verdict::Retry { kind, .. }) => Some(ErrorRecord {
            kind,
            message: format!("status {}", sent.response.as_ref().map_or(0, |r| r.status)),
        }),
    }
}

/// Reads `Retry-After`: delay seconds (`120`) or an HTTP date
/// (`Wed, 21 Oct 2015 07:28:00 GMT`). A date in the past means now.
#[must_use]
pub(crate) fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse().ok().map(Duration::from_secs);
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2015, 10, 21, 7, 27, 0).unwrap()
    }

    #[test]
    fn success_statuses_deliver() {
        for status in [200, 201, 202, 204, 299] {
            assert_eq!(classify_status(status, None, now()), Verdict::Delivered);
        }
    }

    #[test]
    fn gone_disables() {
        assert_eq!(classify_status(410, Some("5"), now()), Verdict::Disable);
    }

    #[test]
    fn redirects_are_failures() {
        for status in [301, 302, 307, 308] {
            assert_eq!(
                classify_status(status, None, now()),
                Verdict::Retry {
                    kind: ErrorKind::Redirect,
                    retry_after: None
                }
            );
        }
    }

    #[test]
    fn retry_after_counts_only_where_it_means_later() {
        for status in [429, 502, 503, 504] {
            assert_eq!(
                classify_status(status, Some("7"), now()),
                Verdict::Retry {
                    kind: ErrorKind::Status,
                    retry_after: Some(Duration::from_secs(7))
                }
            );
        }
        for status in [400, 401, 404, 500, 501] {
            assert_eq!(
                classify_status(status, Some("7"), now()),
                Verdict::Retry {
                    kind: ErrorKind::Status,
                    retry_after: None
                }
            );
        }
        assert_eq!(
            classify_status(503, Some("soon"), now()),
            Verdict::Retry {
                kind: ErrorKind::Status,
                retry_after: None
            }
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(
            parse_retry_after("120", now()),
            Some(Duration::from_mins(2))
        );
        assert_eq!(parse_retry_after(" 0 ", now()), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now()),
            Some(Duration::from_mins(1))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now()),
            Some(Duration::ZERO),
            "a past date means now"
        );
        for bad in ["", "-5", "1.5", "tomorrow", "99999999999999999999999"] {
            assert_eq!(parse_retry_after(bad, now()), None, "{bad:?}");
        }
    }
}
