//! Per-endpoint statistics in five-minute buckets: attempt counts, outcomes, failure
//! reasons and a latency histogram, summed over a window on request. Pure: the store
//! reads and writes the buckets.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use hookwire_protocol::attempt::{AttemptRecord, Outcome};
use hookwire_protocol::stats::{LatencySummary, WindowSummary};
use serde::{Deserialize, Serialize};

/// The width of one bucket, in seconds.
pub(crate) const BUCKET_SECS: i64 = 300;
/// Latency bucket `k` holds attempts up to `2^(k/4)` ms (1 ms … 65.5 s); one more holds
/// the slower ones.
const LATENCY_BOUNDS: usize = 65;

/// The start of the bucket holding `at`, in Unix seconds.
#[must_use]
pub(crate) fn bucket_of(at: DateTime<Utc>) -> i64 {
    bucket_of_secs(at.timestamp())
}

/// The start of the bucket holding Unix second `secs`.
#[must_use]
pub(crate) fn bucket_of_secs(secs: i64) -> i64 {
    secs.div_euclid(BUCKET_SECS) * BUCKET_SECS
}

/// The upper bound of latency bucket `k`, in milliseconds.
fn latency_bound_ms(k: usize) -> f64 {
    2f64.powf(f64::from(u32::try_from(k).unwrap_or(u32::MAX)) / 4.0)
}

fn latency_bucket(latency_ms: f64) -> usize {
    (0..LATENCY_BOUNDS)
        .find(|k| latency_ms <= latency_bound_ms(*k))
        .unwrap_or(LATENCY_BOUNDS)
}

/// Everything counted for one endpoint in one bucket (or summed over a window).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StatsBucket {
    /// Attempts made.
    pub attempts: u64,
    /// Attempts that delivered.
    pub succeeded: u64,
    /// Attempts that failed.
    pub failed: u64,
    /// Deliveries that died.
    pub dead: u64,
    /// Failed attempts by error kind.
    pub errors: BTreeMap<String, u64>,
    /// Attempts by response status.
    pub statuses: BTreeMap<u16, u64>,
    /// Attempts per latency bucket; trailing empty buckets are not stored.
    pub latency: Vec<u64>,
    /// When the latest attempt counted was made (absent in buckets written before it
    /// was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_at: Option<DateTime<Utc>>,
}

impl StatsBucket {
    /// Counts one attempt.
    pub(crate) fn add(&mut self, record: &AttemptRecord) {
        self.attempts += 1;
        if record.error.is_none() {
            self.succeeded += 1;
        } else {
            self.failed += 1;
        }
        if record.outcome == Outcome::Dead {
            self.dead += 1;
        }
        if let Some(error) = &record.error {
            *self
                .errors
                .entry(error.kind.as_str().to_owned())
                .or_default() += 1;
        }
        if let Some(response) = &record.response {
            *self.statuses.entry(response.status).or_default() += 1;
        }
        let k = latency_bucket(record.latency_ms);
        if self.latency.len() <= k {
            self.latency.resize(k + 1, 0);
        }
        self.latency[k] += 1;
        self.last_at = self.last_at.max(Some(record.at));
    }

    /// Adds `other`'s counts to this one.
    pub(crate) fn merge(&mut self, other: &Self) {
        self.attempts += other.attempts;
        self.succeeded += other.succeeded;
        self.failed += other.failed;
        self.dead += other.dead;
        for (kind, n) in &other.errors {
            *self.errors.entry(kind.clone()).or_default() += n;
        }
        for (status, n) in &other.statuses {
            *self.statuses.entry(*status).or_default() += n;
        }
        if self.latency.len() < other.latency.len() {
            self.latency.resize(other.latency.len(), 0);
        }
        for (mine, theirs) in self.latency.iter_mut().zip(&other.latency) {
            *mine += theirs;
        }
        self.last_at = self.last_at.max(other.last_at);
    }

    /// The latency at `quantile` (0–1): the upper bound of the bucket it falls in (at most
    /// 19 % above the true value), `None` without attempts.
    #[must_use]
    pub(crate) fn latency_ms(&self, quantile: f64) -> Option<f64> {
        let total: u64 = self.latency.iter().sum();
        if total == 0 {
            return None;
        }
        #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
        let rank = (quantile * total as f64).ceil().max(1.0);
        let mut seen = 0;
        for (k, n) in self.latency.iter().enumerate() {
            seen += n;
            #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
            if seen as f64 >= rank {
                return Some(latency_bound_ms(k));
            }
        }
        Some(latency_bound_ms(LATENCY_BOUNDS))
    }

    /// The window's summary as `endpoints.stats` shows it.
    #[must_use]
    pub(crate) fn summary(&self) -> WindowSummary {
        #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
        let success_rate =
            (self.attempts > 0).then(|| self.succeeded as f64 / self.attempts as f64);
        WindowSummary {
            attempts: self.attempts,
            succeeded: self.succeeded,
            failed: self.failed,
            dead: self.dead,
            success_rate,
            latency_ms: LatencySummary {
                p50: self.latency_ms(0.50),
                p95: self.latency_ms(0.95),
                p99: self.latency_ms(0.99),
            },
            errors: self.errors.clone(),
            statuses: self.statuses.clone(),
            last_attempt_at: self.last_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;
    use hookwire_protocol::Tenant;
    use hookwire_protocol::attempt::{ErrorKind, ErrorRecord, ResponseRecord};

    fn attempt(status: Option<u16>, latency_ms: f64, outcome: Outcome) -> AttemptRecord {
        AttemptRecord {
            tenant: Tenant::default(),
            endpoint_id: "ep".into(),
            event_id: "evt".into(),
            event_seq: 1,
            event_type: "a.b".into(),
            attempt: 1,
            at: Utc::now(),
            latency_ms,
            url: "http://127.0.0.1/".into(),
            request_headers: BTreeMap::new(),
            response: status.map(|status| ResponseRecord {
                status,
                headers: BTreeMap::new(),
                body: String::new(),
            }),
            error: match status {
                Some(200..=299) => None,
                Some(_) => Some(ErrorRecord {
                    kind: ErrorKind::Status,
                    message: String::new(),
                }),
                None => Some(ErrorRecord {
                    kind: ErrorKind::Timeout,
                    message: String::new(),
                }),
            },
            outcome,
            next_attempt_at: None,
            correlation_id: None,
            test: false,
            batch: None,
            slo_met: None,
        }
    }

    #[test]
    fn buckets_are_five_minutes_aligned() {
        let at = Utc.timestamp_opt(1_800_000_123, 0).unwrap();
        assert_eq!(bucket_of(at), 1_800_000_000);
        assert_eq!(
            bucket_of(Utc.timestamp_opt(1_799_999_999, 0).unwrap()),
            1_799_999_700
        );
    }

    #[test]
    fn attempts_count_by_outcome_reason_and_status() {
        let mut bucket = StatsBucket::default();
        bucket.add(&attempt(Some(200), 3.0, Outcome::Succeeded));
        bucket.add(&attempt(Some(503), 10.0, Outcome::Retrying));
        bucket.add(&attempt(None, 15_000.0, Outcome::Dead));
        assert_eq!(
            (
                bucket.attempts,
                bucket.succeeded,
                bucket.failed,
                bucket.dead
            ),
            (3, 1, 2, 1)
        );
        assert_eq!(bucket.errors["status"], 1);
        assert_eq!(bucket.errors["timeout"], 1);
        assert_eq!(bucket.statuses[&200], 1);
        assert_eq!(bucket.statuses[&503], 1);
        let summary = bucket.summary();
        assert!((summary.success_rate.unwrap() - 1.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn percentiles_fall_in_the_right_bucket() {
        let mut bucket = StatsBucket::default();
        for _ in 0..90 {
            bucket.add(&attempt(Some(200), 4.0, Outcome::Succeeded));
        }
        for _ in 0..10 {
            bucket.add(&attempt(Some(200), 900.0, Outcome::Succeeded));
        }
        let p50 = bucket.latency_ms(0.5).unwrap();
        assert!((4.0..4.0 * 1.19).contains(&p50), "{p50}");
        let p95 = bucket.latency_ms(0.95).unwrap();
        assert!((900.0..900.0 * 1.19).contains(&p95), "{p95}");
        assert_eq!(StatsBucket::default().latency_ms(0.5), None);
        let mut slow = StatsBucket::default();
        slow.add(&attempt(None, 1e9, Outcome::Retrying));
        assert!(slow.latency_ms(0.99).unwrap() > 65_000.0);
    }

    #[test]
    fn merging_adds_every_count() {
        let mut a = StatsBucket::default();
        a.add(&attempt(Some(200), 1.0, Outcome::Succeeded));
        let mut b = StatsBucket::default();
        b.add(&attempt(Some(500), 2000.0, Outcome::Dead));
        let mut sum = a.clone();
        sum.merge(&b);
        assert_eq!((sum.attempts, sum.failed, sum.dead), (2, 1, 1));
        assert_eq!(sum.latency.iter().sum::<u64>(), 2);
        let mut other_way = b;
        other_way.merge(&a);
        assert_eq!(other_way, sum);
    }

    #[test]
    fn the_latest_attempt_time_survives_adding_and_merging() {
        let mut early = attempt(Some(200), 1.0, Outcome::Succeeded);
        early.at = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
        let mut late = early.clone();
        late.at = Utc.timestamp_opt(1_800_000_100, 0).unwrap();
        let mut a = StatsBucket::default();
        a.add(&late);
        a.add(&early);
        assert_eq!(a.last_at, Some(late.at));
        let mut b = StatsBucket::default();
        b.merge(&a);
        b.merge(&StatsBucket::default());
        assert_eq!(b.last_at, Some(late.at));
        assert_eq!(b.summary().last_attempt_at, Some(late.at));
    }
}
