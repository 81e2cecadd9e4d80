//! A delivery task: one event for one endpoint, as it travels through the tasks, retry and
//! dead-letter streams. Metadata rides in headers, the event's JSON is the payload, so a
//! worker needs no second read to deliver it.

use async_nats::HeaderMap;
use bytes::Bytes;
use hookwire_protocol::{EventType, Tenant};

const TENANT: &str = "Hookwire-Tenant";
const ENDPOINT: &str = "Hookwire-Endpoint";
const EVENT_ID: &str = "Hookwire-Event-Id";
const EVENT_SEQ: &str = "Hookwire-Event-Seq";
const EVENT_TYPE: &str = "Hookwire-Event-Type";
const EVENT_TIME: &str = "Hookwire-Event-Time";
const ATTEMPT: &str = "Hookwire-Attempt";
const CORRELATION: &str = hookwire_protocol::headers::CORRELATION_ID;
const DUE: &str = "Hookwire-Due";
const LAST_ERROR: &str = "Hookwire-Last-Error";
const SERIES_START: &str = "Hookwire-Series-Start";
const PACED: &str = "Hookwire-Paced";
const BATCH: &str = "Hookwire-Batch";
const ORDER_KEY: &str = "Hookwire-Order-Key";
const TRACE: &str = "Hookwire-Traceparent";

/// A task message that could not be read; it is dead-lettered rather than retried forever.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum TaskError {
    /// The message has no headers at all.
    #[error("malformed task message: no headers")]
    NoHeaders,
    /// A header is missing or holds no valid value.
    #[error("malformed task message: {header} {problem}")]
    Header {
        /// The header.
        header: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The tenant or event type header is not a valid name.
    #[error("malformed task message: {0}")]
    Name(#[from] hookwire_protocol::subject::SubjectError),
}

/// One event for one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Task {
    /// The tenant.
    pub tenant: Tenant,
    /// The endpoint to deliver to.
    pub endpoint_id: String,
    /// The event id; the `webhook-id`.
    pub event_id: String,
    /// The event's sequence in the events stream.
    pub event_seq: u64,
    /// The event type.
    pub event_type: EventType,
    /// When the event was published, Unix milliseconds.
    pub event_time_ms: i64,
    /// The number of the attempt this task is for (1 for the first).
    pub attempt: u32,
    /// The attempt that started the current retry schedule: 1, or the first attempt after a
    /// requeue from the dead letters (attempt numbers keep counting, the schedule restarts).
    pub series_start: u32,
    /// The publisher's correlation id.
    pub correlation_id: Option<String>,
    /// The event's W3C `traceparent`, when it carried a valid one.
    pub traceparent: Option<String>,
    /// Unix milliseconds before which the attempt must not run (in a retry tier).
    pub due_ms: Option<i64>,
    /// It waited for a rate-limit slot that is now its own.
    pub paced: bool,
    /// For a batch: how many events it carries. Then `event_id` is the batch id, the event
    /// fields are its first event's, and `data` holds every event
    /// ([`crate::delivery::batch::Member`]s as a JSON array).
    pub batch: Option<u32>,
    /// For an ordered endpoint: the event's key (its lane).
    pub order_key: Option<String>,
    /// The event's JSON, as published.
    pub data: Bytes,
}

impl Task {
    /// The id JetStream de-duplicates this task's publish on: one per attempt of a delivery
    /// and, for a task coming back from a retry tier, per due time, so a task parked twice
    /// for the same attempt (a paused endpoint) is never mistaken for a duplicate.
    #[must_use]
    pub(crate) fn msg_id(&self) -> String {
        match self.due_ms {
            Some(due) => format!(
                "{}:{}:{}:{due}",
                self.event_id, self.endpoint_id, self.attempt
            ),
            None => format!("{}:{}:{}", self.event_id, self.endpoint_id, self.attempt),
        }
    }

    /// The headers that carry this task, with `Nats-Msg-Id` set.
    #[must_use]
    pub(crate) fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            hookwire_protocol::headers::NATS_MSG_ID,
            self.msg_id().as_str(),
        );
        headers.insert(TENANT, self.tenant.as_str());
        headers.insert(ENDPOINT, self.endpoint_id.as_str());
        headers.insert(EVENT_ID, self.event_id.as_str());
        headers.insert(EVENT_SEQ, self.event_seq.to_string().as_str());
        headers.insert(EVENT_TYPE, self.event_type.as_str());
        headers.insert(EVENT_TIME, self.event_time_ms.to_string().as_str());
        headers.insert(ATTEMPT, self.attempt.to_string().as_str());
        if self.series_start != 1 {
            headers.insert(SERIES_START, self.series_start.to_string().as_str());
        }
        if let Some(id) = &self.correlation_id {
            headers.insert(CORRELATION, id.as_str());
        }
        if let Some(parent) = &self.traceparent {
            headers.insert(TRACE, parent.as_str());
        }
        if let Some(due) = self.due_ms {
            headers.insert(DUE, due.to_string().as_str());
        }
        if self.paced {
            headers.insert(PACED, "1");
        }
        if let Some(size) = self.batch {
            headers.insert(BATCH, size.to_string().as_str());
        }
        if let Some(key) = &self.order_key {
            // Header values carry no line breaks; the lane is named by the key's digest.
            let one_line: String = key.chars().filter(|c| !c.is_control()).take(256).collect();
            headers.insert(ORDER_KEY, one_line.as_str());
        }
        headers
    }

    /// Which entry of a retry schedule follows this attempt's failure (1 for the first).
    #[must_use]
    pub(crate) fn schedule_position(&self) -> u32 {
        self.attempt.saturating_sub(self.series_start) + 1
    }

    /// The last error recorded on a dead letter.
    #[must_use]
    pub(crate) fn last_error(headers: &HeaderMap) -> Option<String> {
        headers.get(LAST_ERROR).map(|v| v.as_str().to_owned())
    }

    /// The headers of this task as a dead letter, with the last error.
    #[must_use]
    pub(crate) fn dead_letter_headers(&self, last_error: &str) -> HeaderMap {
        let mut headers = self.headers();
        let one_line: String = last_error
            .chars()
            .filter(|c| !c.is_control())
            .take(512)
            .collect();
        headers.insert(LAST_ERROR, one_line.as_str());
        headers
    }

    /// Reads a task from a message's headers and payload.
    pub(crate) fn from_message(
        headers: Option<&HeaderMap>,
        data: Bytes,
    ) -> Result<Self, TaskError> {
        let headers = headers.ok_or(TaskError::NoHeaders)?;
        let bad =
            |header: &'static str, problem: &'static str| TaskError::Header { header, problem };
        let text = |name: &'static str| {
            headers
                .get(name)
                .map(|v| v.as_str().to_owned())
                .ok_or_else(|| bad(name, "is missing"))
        };
        let number = |name: &'static str| -> Result<i64, TaskError> {
            text(name)?
                .parse()
                .map_err(|_| bad(name, "is not a number"))
        };
        let tenant = Tenant::new(&text(TENANT)?)?;
        let event_type = EventType::new(&text(EVENT_TYPE)?)?;
        let positive = |name: &'static str| -> Result<u64, TaskError> {
            u64::try_from(number(name)?).map_err(|_| bad(name, "is negative"))
        };
        Ok(Self {
            tenant,
            endpoint_id: text(ENDPOINT)?,
            event_id: text(EVENT_ID)?,
            event_seq: positive(EVENT_SEQ)?,
            event_type,
            event_time_ms: number(EVENT_TIME)?,
            attempt: u32::try_from(positive(ATTEMPT)?)
                .map_err(|_| bad(ATTEMPT, "is out of range"))?,
            series_start: match headers.get(SERIES_START) {
                Some(_) => u32::try_from(positive(SERIES_START)?)
                    .map_err(|_| bad(SERIES_START, "is out of range"))?,
                None => 1,
            },
            correlation_id: headers.get(CORRELATION).map(|v| v.as_str().to_owned()),
            traceparent: headers.get(TRACE).map(|v| v.as_str().to_owned()),
            due_ms: headers.get(DUE).map(|_| number(DUE)).transpose()?,
            paced: headers.get(PACED).is_some(),
            batch: match headers.get(BATCH) {
                Some(_) => Some(
                    u32::try_from(positive(BATCH)?).map_err(|_| bad(BATCH, "is out of range"))?,
                ),
                None => None,
            },
            order_key: headers.get(ORDER_KEY).map(|v| v.as_str().to_owned()),
            data,
        })
    }

    /// The lane of an ordered task: a digest of its key, so any key names a subject token.
    #[must_use]
    pub(crate) fn lane(&self) -> String {
        use sha2::{Digest as _, Sha256};
        let digest = Sha256::digest(self.order_key.as_deref().unwrap_or_default().as_bytes());
        hex::encode(&digest[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> Task {
        Task {
            tenant: Tenant::new("acme").unwrap(),
            endpoint_id: "ep_1".into(),
            event_id: "evt_1".into(),
            event_seq: 42,
            event_type: EventType::new("memory.created").unwrap(),
            event_time_ms: 1_700_000_000_000,
            attempt: 3,
            series_start: 2,
            correlation_id: Some("corr-9".into()),
            traceparent: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()),
            due_ms: Some(1_700_000_005_000),
            paced: false,
            batch: None,
            order_key: None,
            data: Bytes::from_static(br#"{"a":1}"#),
        }
    }

    #[test]
    fn round_trips_through_headers() {
        let original = task();
        let headers = original.headers();
        assert_eq!(
            headers.get("Nats-Msg-Id").unwrap().as_str(),
            "evt_1:ep_1:3:1700000005000"
        );
        let back = Task::from_message(Some(&headers), original.data.clone()).unwrap();
        assert_eq!(back, original);
        let plain = Task {
            correlation_id: None,
            traceparent: None,
            due_ms: None,
            ..task()
        };
        assert_eq!(plain.msg_id(), "evt_1:ep_1:3");
        assert_eq!(
            Task::from_message(Some(&plain.headers()), plain.data.clone()).unwrap(),
            plain
        );
        let batch = Task {
            batch: Some(37),
            ..task()
        };
        assert_eq!(
            Task::from_message(Some(&batch.headers()), batch.data.clone()).unwrap(),
            batch
        );
    }

    #[test]
    fn the_schedule_restarts_with_a_series() {
        assert_eq!(
            Task {
                attempt: 1,
                series_start: 1,
                ..task()
            }
            .schedule_position(),
            1
        );
        assert_eq!(
            Task {
                attempt: 4,
                series_start: 1,
                ..task()
            }
            .schedule_position(),
            4
        );
        assert_eq!(
            Task {
                attempt: 10,
                series_start: 10,
                ..task()
            }
            .schedule_position(),
            1
        );
        assert_eq!(
            Task {
                attempt: 11,
                series_start: 10,
                ..task()
            }
            .schedule_position(),
            2
        );
    }

    #[test]
    fn malformed_tasks_are_errors() {
        assert!(Task::from_message(None, Bytes::new()).is_err());
        for (name, value) in [
            (ATTEMPT, "three"),
            (ATTEMPT, "-1"),
            (EVENT_SEQ, "x"),
            (TENANT, "Bad Tenant"),
            (EVENT_TYPE, "a..b"),
            (DUE, "soon"),
            (BATCH, "many"),
        ] {
            let mut headers = task().headers();
            headers.insert(name, value);
            assert!(
                Task::from_message(Some(&headers), Bytes::new()).is_err(),
                "{name}={value}"
            );
        }
    }

    #[test]
    fn dead_letters_carry_a_one_line_error() {
        let headers = task().dead_letter_headers("status 500\r\nInjected: yes");
        assert_eq!(
            headers.get(LAST_ERROR).unwrap().as_str(),
            "status 500Injected: yes"
        );
    }
}
