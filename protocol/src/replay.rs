//! Replay on the wire: every event of a time window re-delivered to one endpoint, as a job
//! with an id, progress, and at most one run per id.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::admin::AdminError;
use crate::filter::EventTypeFilter;
use crate::subject::validate_token;

/// The longest window one job may cover.
pub const MAX_WINDOW_DAYS: i64 = 90;
const MAX_JOB_ID_LEN: usize = 64;
const MAX_FILTERS: usize = 16;

/// `replay.start`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StartReplay {
    /// The endpoint to deliver to.
    #[serde(with = "crate::endpoint::id")]
    pub endpoint_id: String,
    /// The window's start (inclusive), RFC 3339.
    #[serde(with = "crate::time::rfc3339")]
    pub since: DateTime<Utc>,
    /// The window's end (exclusive), RFC 3339; now when absent.
    #[serde(default, with = "crate::time::rfc3339_option")]
    pub until: Option<DateTime<Utc>>,
    /// Only these types (the endpoint's own filters apply as well).
    #[serde(default)]
    pub event_types: Option<Vec<String>>,
    /// A caller-chosen id: starting the same id again returns the same job instead of
    /// replaying twice. Generated when absent.
    #[serde(default)]
    pub job_id: Option<String>,
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplayState {
    /// Reading the window and queueing deliveries.
    Running,
    /// Every event of the window was looked at.
    Completed,
    /// Stopped by an error; `error` says which.
    Failed,
}

impl ReplayState {
    /// The state's wire name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }
}

/// A replay job as `replay.start`, `replay.get` and `replay.list` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayJob {
    /// The job id.
    pub id: String,
    /// The endpoint delivered to.
    pub endpoint_id: String,
    /// The window's start.
    pub since: DateTime<Utc>,
    /// The window's end.
    pub until: DateTime<Utc>,
    /// The type filters asked for (empty: every type the endpoint takes).
    pub event_types: Vec<EventTypeFilter>,
    /// Running, completed or failed.
    pub state: ReplayState,
    /// Events of the tenant in the window looked at so far.
    pub scanned: u64,
    /// Deliveries queued so far.
    pub queued: u64,
    /// The events-stream sequence to continue from.
    pub next_seq: u64,
    /// The last events-stream sequence the job covers (the stream's end when it started).
    pub last_seq: u64,
    /// Set when the stream no longer holds the window's start: the oldest event kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncated_to: Option<DateTime<Utc>>,
    /// Why the job failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When it was started.
    pub created_at: DateTime<Utc>,
    /// When it last made progress.
    pub updated_at: DateTime<Utc>,
}

/// The reply to `replay.preview`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayPreview {
    /// Events in the window the endpoint (and the request's type filters) take: what a
    /// replay started now would queue.
    pub events: u64,
    /// Events of the tenant read in the window.
    pub scanned: u64,
    /// False when counting stopped after its time budget: `events` is then a lower bound.
    pub complete: bool,
    /// The window's end.
    pub until: DateTime<Utc>,
    /// Set when the stream no longer holds the window's start: the oldest event kept.
    pub truncated_to: Option<DateTime<Utc>>,
}

/// The reply to `replay.list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayJobs {
    /// The tenant's jobs, newest first.
    pub jobs: Vec<ReplayJob>,
}

/// `replay.get`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReplayId {
    /// The job.
    pub job_id: String,
}

impl StartReplay {
    /// Checks the request; returns the job id (`generated_id` when none is given), the
    /// window's end and the type filters.
    pub fn validate(
        &self,
        generated_id: String,
        now: DateTime<Utc>,
    ) -> Result<(String, DateTime<Utc>, Vec<EventTypeFilter>), AdminError> {
        crate::endpoint::validate_id(&self.endpoint_id)
            .map_err(|e| AdminError::invalid("endpoint_id", e.message))?;
        let id = match &self.job_id {
            Some(id) => validate_job_id(id).map(|()| id.clone())?,
            None => generated_id,
        };
        let until = self.until.unwrap_or(now).min(now);
        if self.since >= until {
            return Err(AdminError::invalid(
                "since",
                "must be before until (and before now)",
            ));
        }
        if until - self.since > chrono::TimeDelta::days(MAX_WINDOW_DAYS) {
            return Err(AdminError::invalid(
                "since",
                format!("the window may span at most {MAX_WINDOW_DAYS} days"),
            ));
        }
        let filters = self.event_types.clone().unwrap_or_default();
        if filters.len() > MAX_FILTERS {
            return Err(AdminError::invalid("event_types", "at most 16 filters"));
        }
        let filters = filters
            .iter()
            .map(|f| {
                EventTypeFilter::new(f)
                    .map_err(|e| AdminError::invalid("event_types", e.to_string()))
            })
            .collect::<Result<_, _>>()?;
        Ok((id, until, filters))
    }
}

/// Checks a job id: 1–64 of `A-Z a-z 0-9 - _`.
pub fn validate_job_id(id: &str) -> Result<(), AdminError> {
    if id.len() > MAX_JOB_ID_LEN {
        return Err(AdminError::invalid(
            "job_id",
            "must be at most 64 characters",
        ));
    }
    validate_token("job id", id).map_err(|e| AdminError::invalid("job_id", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000, 0).unwrap()
    }

    fn request(since_secs_ago: i64, until_secs_ago: Option<i64>) -> StartReplay {
        StartReplay {
            endpoint_id: "ep_1".into(),
            since: now() - chrono::TimeDelta::seconds(since_secs_ago),
            until: until_secs_ago.map(|s| now() - chrono::TimeDelta::seconds(s)),
            ..StartReplay::default()
        }
    }

    fn field(result: Result<(String, DateTime<Utc>, Vec<EventTypeFilter>), AdminError>) -> String {
        result.unwrap_err().field.unwrap()
    }

    #[test]
    fn a_window_ends_now_at_the_latest() {
        let (id, until, filters) = request(3600, None).validate("gen".into(), now()).unwrap();
        assert_eq!((id.as_str(), until), ("gen", now()));
        assert!(filters.is_empty());
        let (_, until, _) = request(3600, Some(-600))
            .validate("gen".into(), now())
            .unwrap();
        assert_eq!(until, now(), "a window cannot reach into the future");
        let (_, until, _) = request(3600, Some(60))
            .validate("gen".into(), now())
            .unwrap();
        assert_eq!(until, now() - chrono::TimeDelta::seconds(60));
    }

    #[test]
    fn bad_windows_ids_and_filters_are_named() {
        assert_eq!(
            field(request(60, Some(120)).validate("g".into(), now())),
            "since"
        );
        assert_eq!(
            field(request(60, Some(60)).validate("g".into(), now())),
            "since"
        );
        assert_eq!(
            field(request(-60, None).validate("g".into(), now())),
            "since"
        );
        let too_long = request(91 * 86_400, None);
        assert_eq!(field(too_long.validate("g".into(), now())), "since");
        let bad_id = StartReplay {
            job_id: Some("a.b".into()),
            ..request(60, None)
        };
        assert_eq!(field(bad_id.validate("g".into(), now())), "job_id");
        let bad_filter = StartReplay {
            event_types: Some(vec!["a.>.b".into()]),
            ..request(60, None)
        };
        assert_eq!(field(bad_filter.validate("g".into(), now())), "event_types");
        let bad_endpoint = StartReplay {
            endpoint_id: "a b".into(),
            ..request(60, None)
        };
        assert_eq!(
            field(bad_endpoint.validate("g".into(), now())),
            "endpoint_id"
        );
    }

    #[test]
    fn requests_refuse_unknown_fields() {
        assert!(
            serde_json::from_str::<StartReplay>(
                r#"{"endpoint_id":"e","since":"2026-01-01T00:00:00Z","speed":9}"#
            )
            .is_err()
        );
        assert!(
            serde_json::from_str::<StartReplay>(r#"{"endpoint_id":"e","since":"yesterday"}"#)
                .is_err()
        );
    }
}
