//! Delivery statistics as `endpoints.stats` and `overview.get` show them: one summary per
//! time window.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One window's attempts summed over every five-minute bucket in it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WindowSummary {
    /// Attempts made.
    pub attempts: u64,
    /// Attempts that delivered.
    pub succeeded: u64,
    /// Attempts that failed.
    pub failed: u64,
    /// Deliveries that died.
    pub dead: u64,
    /// `succeeded / attempts`; `null` without attempts.
    pub success_rate: Option<f64>,
    /// Latency percentiles (histogram bucket bounds, at most 19 % high).
    pub latency_ms: LatencySummary,
    /// Failed attempts by error kind.
    pub errors: BTreeMap<String, u64>,
    /// Attempts by response status.
    pub statuses: BTreeMap<u16, u64>,
    /// When the latest attempt in the window was made.
    pub last_attempt_at: Option<DateTime<Utc>>,
}

/// Latency percentiles in milliseconds; `null` without attempts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Median.
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
}

/// The reply to `endpoints.stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointStats {
    /// The endpoint.
    pub endpoint_id: String,
    /// The last hour, day and week.
    pub windows: StatsWindows,
    /// How it stands against its delivery objective, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<crate::slo::SloReport>,
}

/// An endpoint's windows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatsWindows {
    /// The last hour.
    #[serde(rename = "1h")]
    pub hour: WindowSummary,
    /// The last 24 hours.
    #[serde(rename = "24h")]
    pub day: WindowSummary,
    /// The last 7 days.
    #[serde(rename = "7d")]
    pub week: WindowSummary,
}

impl StatsWindows {
    /// The windows with their wire names, shortest first.
    #[must_use]
    pub fn named(&self) -> [(&'static str, &WindowSummary); 3] {
        [("1h", &self.hour), ("24h", &self.day), ("7d", &self.week)]
    }
}
